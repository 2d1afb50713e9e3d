package postgres

import (
	"bytes"
	"cmp"
	"context"
	"io"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/carelog/carelog/services/billing/internal/readmodel"
)

// defaultCopyThreshold is the number of rows of one table from which Commit
// writes them with COPY rather than one pipelined INSERT ... ON CONFLICT DO
// UPDATE per row. Below it, the extra round trips of COPY (describe, copy,
// delete) cost more than they save.
const defaultCopyThreshold = 64

// parallelEncode is the number of rows of one table from which Commit
// encodes them (JSON) on several goroutines.
const parallelEncode = 1024

// advanceCheckpoint moves the checkpoint to $1 if that is forward, locking
// the row until the transaction ends. Zero rows affected means the commit is
// stale: its events were already applied. A concurrent writer blocks on the
// row lock and then sees the new value (READ COMMITTED re-checks the row), so
// two writers cannot both apply the same sequence.
const advanceCheckpoint = "UPDATE billing.billing_checkpoint SET through = $1 WHERE through < $1"

// deleteTotalsOf deletes every minute total of the patient-months named by
// the parallel arrays $1 (months) and $2 (patient ids).
const deleteTotalsOf = `DELETE FROM billing.minute_totals t
USING unnest($1::text[], $2::text[]) AS k(month, patient_id)
WHERE t.month = k.month AND t.patient_id = k.patient_id`

// Commit applies c and moves the checkpoint to through in one transaction
// (see readmodel.Store). A commit whose through is not above the checkpoint
// changes nothing and returns nil. Within c, a key given twice takes its
// last row; TotalsReplaced is applied before Totals.
//
// Writes are batched, per table: below copyThreshold rows, pipelined
// INSERT ... ON CONFLICT DO UPDATE statements, all sent in one round trip
// with the checkpoint update; from copyThreshold rows on, one DELETE of the
// rows' keys (pipelined with the checkpoint update) and one binary COPY of
// the rows into the table — a whole-row replace, as an upsert is, at the
// cost of a bulk load (see BenchmarkUpsert). Errors are Unavailable when a
// retry may succeed (connection lost, context done), Internal otherwise;
// after any error nothing of c is visible.
func (s *Store) Commit(ctx context.Context, c readmodel.Changes, through uint64) error {
	const op = "postgres.Commit"
	to, err := seq(through)
	if err != nil {
		return wrap(op, err)
	}
	w, err := encodeChanges(c, s.copyThreshold)
	if err != nil {
		return wrap(op, err)
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return wrap(op, err)
	}
	// A no-op after Commit; a rollback that fails closes the connection.
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	applied, err := w.write(ctx, tx, to)
	if err != nil {
		return wrap(op, err)
	}
	if !applied {
		return nil
	}
	return wrap(op, tx.Commit(ctx))
}

// table describes one read-model table and its statements.
type table struct {
	name pgx.Identifier
	cols []string
	key  []string // the primary key columns, in rowKey order
	// upsert writes one row, $1..$n in cols order.
	upsert string
	// deleteKeys deletes the rows whose keys are in the parallel text
	// arrays $1..$k (key order).
	deleteKeys string
	// copyFrom copies binary tuples of cols into the table.
	copyFrom string
}

func newTable(name string, cols, key []string) *table {
	var set []string
	for _, c := range cols {
		if !slices.Contains(key, c) {
			set = append(set, c+" = EXCLUDED."+c)
		}
	}
	target := "billing." + name
	params := make([]string, len(cols))
	for i := range cols {
		params[i] = "$" + strconv.Itoa(i+1)
	}
	arrays, match := make([]string, len(key)), make([]string, len(key))
	for i, k := range key {
		arrays[i] = "$" + strconv.Itoa(i+1) + "::text[]"
		match[i] = "t." + k + " = k." + k
	}
	return &table{
		name: pgx.Identifier{"billing", name},
		cols: cols,
		key:  key,
		upsert: "INSERT INTO " + target + " (" + strings.Join(cols, ", ") + ") VALUES (" + strings.Join(params, ", ") + ")" +
			" ON CONFLICT (" + strings.Join(key, ", ") + ") DO UPDATE SET " + strings.Join(set, ", "),
		deleteKeys: "DELETE FROM " + target + " t USING unnest(" + strings.Join(arrays, ", ") + ") AS k(" + strings.Join(key, ", ") + ")" +
			" WHERE " + strings.Join(match, " AND "),
		copyFrom: "COPY " + target + " (" + strings.Join(cols, ", ") + ") FROM STDIN (FORMAT binary)",
	}
}

// rowKey is a row's key values in table key order (unused trailing entries
// empty).
type rowKey [4]string

// rowSet is the encoded rows of one table, one row per key: as binary COPY
// tuples (in pooled chunks) when the table is copied and has a tuple
// encoder, as []any otherwise (upserts, or COPY through pgx).
type rowSet struct {
	t      *table
	keys   []rowKey
	rows   [][]any
	tuples [][]byte // binary COPY tuples, in chunks (chunkPool)
	copied bool     // at least the Store's copyThreshold rows
}

// keyArrays returns the keys of the rows for which keep is true as one
// array per key column, for table.deleteKeys.
func (s rowSet) keyArrays(keep func(rowKey) bool) []any {
	arrays := make([][]string, len(s.t.key))
	for _, k := range s.keys {
		if keep(k) {
			for i := range arrays {
				arrays[i] = append(arrays[i], k[i])
			}
		}
	}
	if len(arrays[0]) == 0 {
		return nil
	}
	out := make([]any, len(arrays))
	for i, a := range arrays {
		out[i] = a
	}
	return out
}

// writes is one Commit's Changes, encoded and deduplicated.
type writes struct {
	// replaced are the patient-months whose totals are deleted first;
	// replacedPatients and replacedMonths list those that are not new.
	replaced                         map[rowKey]bool
	replacedPatients, replacedMonths []string
	// fresh are the keys of patient_months and patients rows marked new
	// (readmodel.Changes.PatientMonthsNew, PatientsNew): nothing of them
	// is deleted first. A wrong mark fails the COPY on the primary key.
	fresh                 map[rowKey]bool
	patientMonths, totals rowSet
	batches, patients     rowSet
}

func (w *writes) sets() []rowSet { return []rowSet{w.patientMonths, w.totals, w.batches, w.patients} }

func encodeChanges(c readmodel.Changes, copyThreshold int) (*writes, error) {
	w := &writes{replaced: make(map[rowKey]bool, len(c.TotalsReplaced)), fresh: make(map[rowKey]bool, len(c.PatientMonths)+len(c.Patients))}
	// A key is new only when every row given for it is marked new.
	mark := func(k rowKey, isNew bool) {
		if was, seen := w.fresh[k]; !seen || was {
			w.fresh[k] = isNew
		}
	}
	for i, pm := range c.PatientMonths {
		mark(rowKey{pm.Month, pm.PatientID}, i < len(c.PatientMonthsNew) && c.PatientMonthsNew[i])
	}
	for i, p := range c.Patients {
		mark(rowKey{"patient", p.PatientID}, i < len(c.PatientsNew) && c.PatientsNew[i])
	}
	for _, k := range c.TotalsReplaced {
		key := rowKey{k.Month, k.PatientID}
		if !w.replaced[key] {
			w.replaced[key] = true
			if !w.fresh[key] {
				w.replacedPatients = append(w.replacedPatients, k.PatientID)
				w.replacedMonths = append(w.replacedMonths, k.Month)
			}
		}
	}
	var err error
	if w.patientMonths, err = encodeRows(patientMonths, c.PatientMonths, func(pm readmodel.PatientMonth) rowKey {
		return rowKey{pm.Month, pm.PatientID}
	}, patientMonthRow, patientMonthTuple, copyThreshold); err != nil {
		return nil, err
	}
	if w.totals, err = encodeRows(minuteTotals, c.Totals, func(t readmodel.MinuteTotal) rowKey {
		return rowKey{t.Month, t.PatientID, t.Program, t.Role}
	}, minuteTotalRow, minuteTotalTuple, copyThreshold); err != nil {
		return nil, err
	}
	if w.batches, err = encodeRows(batches, c.Batches, func(b readmodel.Batch) rowKey { return rowKey{b.ID} }, batchRow, nil, copyThreshold); err != nil {
		return nil, err
	}
	if w.patients, err = encodeRows(patients, c.Patients, func(p readmodel.Patient) rowKey { return rowKey{p.PatientID} }, patientRow, patientTuple, copyThreshold); err != nil {
		return nil, err
	}
	return w, nil
}

// encodeRows encodes vs, keeping for each key only its last row (one
// statement may not write a key twice) at the place of its first: as binary
// COPY tuples when at least copyThreshold rows remain and tuple is set, as
// []any rows otherwise. Large sets are encoded on GOMAXPROCS goroutines.
func encodeRows[T any](t *table, vs []T, key func(T) rowKey, row func(T) ([]any, error),
	tuple func(*tuples, T) error, copyThreshold int) (rowSet, error) {
	set := rowSet{t: t, keys: make([]rowKey, 0, len(vs))}
	// Rows in strictly increasing key order have no duplicate (the
	// projection writes them sorted by patient, then month): no map.
	var kept []int // indexes of vs kept, in order; nil: all
	for i, v := range vs {
		k := key(v)
		if i > 0 && compareKeys(set.keys[i-1], k) >= 0 {
			set.keys = set.keys[:0]
			kept = dedupe(vs, key, &set.keys)
			break
		}
		set.keys = append(set.keys, k)
	}
	n := len(set.keys)
	at := func(i int) T {
		if kept != nil {
			return vs[kept[i]]
		}
		return vs[i]
	}
	set.copied = n >= copyThreshold
	workers := min(runtime.GOMAXPROCS(0), n/parallelEncode+1)
	per := (n + workers - 1) / max(workers, 1)
	binary := set.copied && tuple != nil
	parts := make([][][]byte, workers)
	if !binary {
		set.rows = make([][]any, n)
	}
	err := inParallel(workers, func(w int) error {
		tb := &tuples{}
		defer func() { parts[w] = tb.chunks() }()
		for i := min(w*per, n); i < min((w+1)*per, n); i++ {
			var err error
			if binary {
				err = tuple(tb, at(i))
			} else {
				set.rows[i], err = row(at(i))
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if binary {
		set.tuples = slices.Concat(parts...)
	}
	if err != nil {
		releaseChunks(set.tuples)
		set.tuples = nil
	}
	return set, err
}

// dedupe returns the indexes of vs that encodeRows keeps (each key's last
// row, at the place of its first) and appends their keys to keys.
func dedupe[T any](vs []T, key func(T) rowKey, keys *[]rowKey) []int {
	at := make(map[rowKey]int, len(vs))
	var kept []int
	for i, v := range vs {
		k := key(v)
		if j, ok := at[k]; ok {
			kept[j] = i
			continue
		}
		at[k] = len(kept)
		kept = append(kept, i)
		*keys = append(*keys, k)
	}
	return kept
}

// inParallel runs do(0..n-1) on n goroutines (inline when n is 1) and
// returns the first error by index.
func inParallel(n int, do func(w int) error) error {
	if n <= 1 {
		return do(0)
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for w := range n {
		wg.Go(func() { errs[w] = do(w) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// compareKeys orders keys by their second column, then the first, third
// and fourth: patient before month, as the projection sorts its rows.
func compareKeys(a, b rowKey) int {
	return cmp.Or(strings.Compare(a[1], b[1]), strings.Compare(a[0], b[0]), strings.Compare(a[2], b[2]), strings.Compare(a[3], b[3]))
}

// write applies w in tx and advances the checkpoint to through; applied is
// false when the checkpoint is already at or beyond through (tx must then be
// rolled back).
func (w *writes) write(ctx context.Context, tx pgx.Tx, through int64) (applied bool, err error) {
	// First round trip: the checkpoint (taking its row lock before any row
	// is written), then the deletes: totals of replaced patient-months, and
	// the keys of every table written by COPY. Small tables' upserts join
	// it when nothing is copied.
	b := &pgx.Batch{}
	b.Queue(advanceCheckpoint, through).Exec(func(ct pgconn.CommandTag) error {
		applied = ct.RowsAffected() == 1
		return nil
	})
	if len(w.replacedPatients) > 0 {
		b.Queue(deleteTotalsOf, w.replacedMonths, w.replacedPatients)
	}
	var copied []rowSet
	for _, s := range w.sets() {
		if !s.copied {
			continue
		}
		copied = append(copied, s)
		var keep func(rowKey) bool
		switch s.t {
		case patientMonths:
			keep = func(k rowKey) bool { return !w.fresh[k] }
		case patients:
			keep = func(k rowKey) bool { return !w.fresh[rowKey{"patient", k[0]}] }
		case minuteTotals:
			// Those of replaced patient-months are gone already; a new
			// patient-month has none.
			keep = func(k rowKey) bool { return !w.replaced[rowKey{k[0], k[1]}] && !w.fresh[rowKey{k[0], k[1]}] }
		default:
			keep = func(rowKey) bool { return true }
		}
		if keys := s.keyArrays(keep); keys != nil {
			b.Queue(s.t.deleteKeys, keys...)
		}
	}
	small := b
	if len(copied) > 0 {
		if err := tx.SendBatch(ctx, b).Close(); err != nil || !applied {
			return false, err // a stale commit copies nothing
		}
		for _, s := range copied {
			if err := s.copy(ctx, tx); err != nil {
				return false, err
			}
		}
		small = &pgx.Batch{}
	}
	for _, s := range w.sets() {
		if s.copied {
			continue
		}
		for _, r := range s.rows {
			small.Queue(s.t.upsert, r...)
		}
	}
	if small.Len() > 0 {
		if err := tx.SendBatch(ctx, small).Close(); err != nil {
			return false, err
		}
	}
	return applied, nil
}

// copy writes the set with one COPY: its binary tuples straight to the
// connection, or its []any rows through pgx.
func (s rowSet) copy(ctx context.Context, tx pgx.Tx) error {
	if s.tuples == nil {
		_, err := tx.CopyFrom(ctx, s.t.name, s.t.cols, pgx.CopyFromRows(s.rows))
		return err
	}
	readers := make([]io.Reader, 0, len(s.tuples)+2)
	readers = append(readers, bytes.NewReader(copySignature))
	for _, b := range s.tuples {
		readers = append(readers, bytes.NewReader(b))
	}
	readers = append(readers, bytes.NewReader(copyTrailer))
	_, err := tx.Conn().PgConn().CopyFrom(ctx, io.MultiReader(readers...), s.t.copyFrom)
	releaseChunks(s.tuples)
	return err
}
