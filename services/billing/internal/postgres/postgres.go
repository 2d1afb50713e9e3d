// Package postgres is the PostgreSQL store of the billing read models
// (readmodel.Store, ARCHITECTURE.md decision 3): durable, shared by many
// readers, queryable by BI tools. It passes the contract suite in
// readmodel/storetest, so it answers every query as the in-memory store does.
//
// The tables live in the schema "billing" (see migrations/), created and
// upgraded by Open. The checkpoint is one row, billing.billing_checkpoint,
// written in the same transaction as the rows it covers, so each event takes
// effect exactly once across crashes and restarts.
//
// Values round-trip exactly: evaluations are stored as json (their text,
// migration 0002), batch lines and totals as jsonb, and read back as
// written; instants keep their nanoseconds and are returned in UTC. Reads
// never return nil slices (or a nil Units map), even inside an evaluation
// written with nil ones.
//
// Text values cannot hold NUL characters in PostgreSQL (neither text nor
// jsonb): a Commit carrying one fails with an Internal error.
//
// Bulk writes skip looking for rows the projection marks new
// (readmodel.Changes.PatientMonthsNew): during a rebuild most rows are, and
// deleting their absent predecessors was a third of a commit's time.
package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/carelog/carelog/pkg/errs"
	"github.com/carelog/carelog/services/billing/internal/readmodel"
)

// Store is the PostgreSQL readmodel.Store. It is safe for concurrent use:
// one writer (Commit, Reset) and any number of readers, each query answered
// from one consistent snapshot.
type Store struct {
	pool          *pgxpool.Pool
	copyThreshold int // see defaultCopyThreshold
}

var _ readmodel.Store = (*Store)(nil)

// Open connects to the database at url (a postgres:// URL or DSN; pool
// settings such as pool_max_conns go in it), applies the embedded
// migrations that are not yet applied, and returns the store. Call Close.
func Open(ctx context.Context, url string) (*Store, error) {
	const op = "postgres.Open"
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, errs.Wrap(op, errs.Invalid, err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, wrap(op, err)
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, wrap(op, err)
	}
	return &Store{pool: pool, copyThreshold: defaultCopyThreshold}, nil
}

// Durable implements readmodel.Store.
func (s *Store) Durable() bool { return true }

// Close closes the connections; calls after Close fail.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// Checkpoint is the last log sequence committed (0 for an empty store).
func (s *Store) Checkpoint(ctx context.Context) (uint64, error) {
	var through int64
	if err := s.pool.QueryRow(ctx, "SELECT through FROM billing.billing_checkpoint").Scan(&through); err != nil {
		return 0, wrap("postgres.Checkpoint", err)
	}
	return uint64(through), nil
}

// Reset empties every table and sets the checkpoint to 0, in one
// transaction.
func (s *Store) Reset(ctx context.Context) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `TRUNCATE billing.patient_months, billing.minute_totals, billing.batches, billing.patients;
UPDATE billing.billing_checkpoint SET through = 0`)
		return err
	})
	return wrap("postgres.Reset", err)
}

// PatientMonth returns one patient-month; ok is false when absent.
func (s *Store) PatientMonth(ctx context.Context, patientID, month string) (readmodel.PatientMonth, bool, error) {
	const op = "postgres.PatientMonth"
	rows, err := s.pool.Query(ctx, "SELECT "+patientMonthSelect+" FROM billing.patient_months WHERE month = $1 AND patient_id = $2", month, patientID)
	if err != nil {
		return readmodel.PatientMonth{}, false, wrap(op, err)
	}
	pms, err := collect(rows, scanPatientMonth)
	if err != nil || len(pms) == 0 {
		return readmodel.PatientMonth{}, false, wrap(op, err)
	}
	return pms[0], true, nil
}

// Month returns every patient-month of month, ordered by PatientID (byte
// order).
func (s *Store) Month(ctx context.Context, month string) ([]readmodel.PatientMonth, error) {
	const op = "postgres.Month"
	rows, err := s.pool.Query(ctx, "SELECT "+patientMonthSelect+" FROM billing.patient_months WHERE month = $1 ORDER BY patient_id", month)
	if err != nil {
		return nil, wrap(op, err)
	}
	pms, err := collect(rows, scanPatientMonth)
	return pms, wrap(op, err)
}

// Totals returns the minute totals of month ordered by PatientID, Program,
// Role (byte order).
func (s *Store) Totals(ctx context.Context, month string) ([]readmodel.MinuteTotal, error) {
	const op = "postgres.Totals"
	rows, err := s.pool.Query(ctx, "SELECT "+minuteTotalSelect+" FROM billing.minute_totals WHERE month = $1 ORDER BY patient_id, program, role", month)
	if err != nil {
		return nil, wrap(op, err)
	}
	ts, err := collect(rows, scanMinuteTotal)
	return ts, wrap(op, err)
}

// Batch returns one batch; ok is false when absent.
func (s *Store) Batch(ctx context.Context, id string) (readmodel.Batch, bool, error) {
	const op = "postgres.Batch"
	rows, err := s.pool.Query(ctx, "SELECT "+batchSelect+" FROM billing.batches WHERE id = $1", id)
	if err != nil {
		return readmodel.Batch{}, false, wrap(op, err)
	}
	bs, err := collect(rows, scanBatch)
	if err != nil || len(bs) == 0 {
		return readmodel.Batch{}, false, wrap(op, err)
	}
	return bs[0], true, nil
}

// Batches returns the batches of month ordered by LogSequence, then ID.
func (s *Store) Batches(ctx context.Context, month string) ([]readmodel.Batch, error) {
	const op = "postgres.Batches"
	rows, err := s.pool.Query(ctx, "SELECT "+batchSelect+" FROM billing.batches WHERE month = $1 ORDER BY log_sequence, id", month)
	if err != nil {
		return nil, wrap(op, err)
	}
	bs, err := collect(rows, scanBatch)
	return bs, wrap(op, err)
}

// Patients returns every funnel row ordered by PatientID (byte order).
func (s *Store) Patients(ctx context.Context) ([]readmodel.Patient, error) {
	const op = "postgres.Patients"
	rows, err := s.pool.Query(ctx, "SELECT "+patientSelect+" FROM billing.patients ORDER BY patient_id")
	if err != nil {
		return nil, wrap(op, err)
	}
	ps, err := collect(rows, scanPatient)
	return ps, wrap(op, err)
}

// collect scans every row with scan; the result is never nil.
func collect[T any](rows pgx.Rows, scan func(pgx.Rows) (T, error)) ([]T, error) {
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// errDecode marks a stored value that does not decode: a bug or a schema
// drift, never worth a retry.
var errDecode = errors.New("undecodable stored value")

// wrap classifies err for op: the server refusing a statement is Internal
// (retrying the same statement fails the same way), except for the classes
// that pass (connection, serialization and deadlock, resources, shutdown);
// every other failure (network, pool closed, context done) is Unavailable.
// A nil err gives nil.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, errDecode) {
		return errs.Wrap(op, errs.Internal, err)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code[:2] {
		case "08", "40", "53", "57", "58":
			return errs.Wrap(op, errs.Unavailable, err)
		}
		return errs.Wrap(op, errs.Internal, err)
	}
	var encErr *encodeError
	if errors.As(err, &encErr) {
		return errs.Wrap(op, errs.Internal, err)
	}
	return errs.Wrap(op, errs.Unavailable, err)
}

// encodeError is a value that cannot be written (JSON encoding failed, or a
// sequence beyond PostgreSQL's bigint).
type encodeError struct{ err error }

func (e *encodeError) Error() string { return fmt.Sprintf("encode: %v", e.err) }
func (e *encodeError) Unwrap() error { return e.err }
