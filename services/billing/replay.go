package billing

import (
	"context"
	"fmt"
	"time"

	"github.com/carelog/carelog/pkg/eventlog"
	"github.com/carelog/carelog/services/billing/internal/memory"
	"github.com/carelog/carelog/services/billing/internal/postgres"
	"github.com/carelog/carelog/services/billing/internal/projection"
	"github.com/carelog/carelog/services/billing/internal/readmodel"
	"github.com/carelog/carelog/services/billing/rules"
)

// ReplayOptions says what Replay rebuilds.
type ReplayOptions struct {
	// PostgresURL rebuilds the PostgreSQL read models (emptied first); ""
	// builds them in memory.
	PostgresURL string
	// UntilSequence stops after this log sequence (0: the log's end): the
	// read models as they were at that position.
	UntilSequence uint64
	// AsOf keeps only events recorded by then (zero: all): what billing
	// could have known at that moment.
	AsOf time.Time
	// Progress, when set, is called now and then with the events applied and
	// the events to apply.
	Progress func(done, total uint64)
}

// Replayed is a set of billing read models rebuilt by Replay.
type Replayed struct {
	store readmodel.Store
	proj  *projection.Projection
	// Events is the number of events applied; Last the last sequence read.
	Events, Last uint64
	Elapsed      time.Duration
}

// Replay rebuilds the billing read models from sequence 1 of the log (ARCHITECTURE.md
// decision 3: any projection can be rebuilt, or replayed up to a sequence or
// a point in time), with the same projection the service runs.
func Replay(ctx context.Context, log eventlog.Log, opts ReplayOptions) (*Replayed, error) {
	var store readmodel.Store = memory.New()
	if opts.PostgresURL != "" {
		pg, err := postgres.Open(ctx, opts.PostgresURL)
		if err != nil {
			return nil, err
		}
		if err := pg.Reset(ctx); err != nil {
			pg.Close()
			return nil, err
		}
		store = pg
	}
	r := &Replayed{store: store, proj: projection.New(log, store, projection.Config{})}
	end, err := log.LastSequence(ctx)
	if err != nil {
		store.Close()
		return nil, err
	}
	if opts.UntilSequence != 0 && opts.UntilSequence < end {
		end = opts.UntilSequence
	}
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if _, err := r.proj.Checkpoint(pctx); err != nil {
		store.Close()
		return nil, err
	}
	start := time.Now()
	last := time.Now()
	for rec, err := range log.ReadAll(ctx, 1) {
		if err != nil {
			store.Close()
			return nil, err
		}
		if rec.Sequence > end {
			break
		}
		r.Last = rec.Sequence
		if opts.AsOf.IsZero() || !rec.RecordedAt.After(opts.AsOf) {
			if err := r.proj.Apply(pctx, rec); err != nil {
				store.Close()
				return nil, err
			}
			r.Events++
		}
		if opts.Progress != nil && time.Since(last) > 200*time.Millisecond {
			opts.Progress(rec.Sequence, end)
			last = time.Now()
		}
		if rec.Sequence == end {
			break
		}
	}
	if err := r.proj.Flush(pctx); err != nil {
		store.Close()
		return nil, err
	}
	r.Elapsed = time.Since(start)
	if opts.Progress != nil {
		opts.Progress(end, end)
	}
	return r, nil
}

// MonthSummary is the month's summary as GET /v1/billing/months/{month}
// returns it.
func (r *Replayed) MonthSummary(ctx context.Context, month string) (projection.MonthSummary, error) {
	if _, err := rules.ParseMonth(month); err != nil {
		return projection.MonthSummary{}, fmt.Errorf("month %q: %w", month, err)
	}
	rows, err := r.store.Month(ctx, month)
	if err != nil {
		return projection.MonthSummary{}, err
	}
	return projection.Summarize(month, rows, projection.SummaryFilter{}), nil
}

// Evaluation is one patient-month's evaluation, evaluated on the fly when
// the patient had no activity that month; ok is false for an unknown
// patient.
func (r *Replayed) Evaluation(ctx context.Context, patientID, month string) (rules.Evaluation, bool, error) {
	m, err := rules.ParseMonth(month)
	if err != nil {
		return rules.Evaluation{}, false, fmt.Errorf("month %q: %w", month, err)
	}
	if pm, ok, err := r.store.PatientMonth(ctx, patientID, month); err != nil || ok {
		return pm.Evaluation, ok, err
	}
	pm, ok, err := r.proj.Evaluate(ctx, patientID, m)
	return pm.Evaluation, ok, err
}

// Close releases the rebuilt read models' store.
func (r *Replayed) Close() error { return r.store.Close() }
