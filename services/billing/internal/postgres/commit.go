package postgres

import (
	"cmp"
	"context"
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
	w, err := encodeChanges(c)
	if err != nil {
		return wrap(op, err)
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return wrap(op, err)
	}
	// A no-op after Commit; a rollback that fails closes the connection.
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	applied, err := w.write(ctx, tx, to, s.copyThreshold)
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
	}
}

// rowKey is a row's key values in table key order (unused trailing entries
// empty).
type rowKey [4]string

// rowSet is the encoded rows of one table, one row per key.
type rowSet struct {
	t    *table
	rows [][]any
	keys []rowKey
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

func encodeChanges(c readmodel.Changes) (*writes, error) {
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
	}, patientMonthRow); err != nil {
		return nil, err
	}
	if w.totals, err = encodeRows(minuteTotals, c.Totals, func(t readmodel.MinuteTotal) rowKey {
		return rowKey{t.Month, t.PatientID, t.Program, t.Role}
	}, minuteTotalRow); err != nil {
		return nil, err
	}
	if w.batches, err = encodeRows(batches, c.Batches, func(b readmodel.Batch) rowKey { return rowKey{b.ID} }, batchRow); err != nil {
		return nil, err
	}
	if w.patients, err = encodeRows(patients, c.Patients, func(p readmodel.Patient) rowKey { return rowKey{p.PatientID} }, patientRow); err != nil {
		return nil, err
	}
	return w, nil
}

// encodeRows encodes vs, keeping for each key only its last row (one
// statement may not write a key twice) at the place of its first. Large
// sets are encoded on GOMAXPROCS goroutines.
func encodeRows[T any](t *table, vs []T, key func(T) rowKey, row func(T) ([]any, error)) (rowSet, error) {
	enc := make([][]any, len(vs))
	errc := make([]error, len(vs))
	encodeRange := func(lo, hi int) {
		for i := lo; i < hi; i++ {
			enc[i], errc[i] = row(vs[i])
		}
	}
	if workers := min(runtime.GOMAXPROCS(0), len(vs)/parallelEncode+1); workers > 1 {
		var wg sync.WaitGroup
		per := (len(vs) + workers - 1) / workers
		for lo := 0; lo < len(vs); lo += per {
			wg.Add(1)
			go func() { defer wg.Done(); encodeRange(lo, min(lo+per, len(vs))) }()
		}
		wg.Wait()
	} else {
		encodeRange(0, len(vs))
	}
	set := rowSet{t: t, rows: make([][]any, 0, len(vs)), keys: make([]rowKey, 0, len(vs))}
	for i := range vs {
		if errc[i] != nil {
			return set, errc[i]
		}
	}
	// Rows in strictly increasing key order have no duplicate (the
	// projection writes them sorted by patient, then month): no map.
	distinct := true
	var prev rowKey
	for i, v := range vs {
		k := key(v)
		if i > 0 && compareKeys(prev, k) >= 0 {
			distinct = false
			break
		}
		prev = k
	}
	if distinct {
		for i, v := range vs {
			set.rows = append(set.rows, enc[i])
			set.keys = append(set.keys, key(v))
		}
		return set, nil
	}
	at := make(map[rowKey]int, len(vs))
	for i, v := range vs {
		if errc[i] != nil {
			return set, errc[i]
		}
		k := key(v)
		if j, ok := at[k]; ok {
			set.rows[j] = enc[i]
			continue
		}
		at[k] = len(set.rows)
		set.rows = append(set.rows, enc[i])
		set.keys = append(set.keys, k)
	}
	return set, nil
}

// compareKeys orders keys by their second column, then the first, third
// and fourth: patient before month, as the projection sorts its rows.
func compareKeys(a, b rowKey) int {
	return cmp.Or(strings.Compare(a[1], b[1]), strings.Compare(a[0], b[0]), strings.Compare(a[2], b[2]), strings.Compare(a[3], b[3]))
}

// write applies w in tx and advances the checkpoint to through; applied is
// false when the checkpoint is already at or beyond through (tx must then be
// rolled back).
func (w *writes) write(ctx context.Context, tx pgx.Tx, through int64, copyThreshold int) (applied bool, err error) {
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
		if len(s.rows) < copyThreshold {
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
			if _, err := tx.CopyFrom(ctx, s.t.name, s.t.cols, pgx.CopyFromRows(s.rows)); err != nil {
				return false, err
			}
		}
		small = &pgx.Batch{}
	}
	for _, s := range w.sets() {
		if len(s.rows) >= copyThreshold {
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
