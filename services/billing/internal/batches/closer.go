package batches

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/errs"
	"github.com/carelog/carelog/pkg/eventlog"
	"github.com/carelog/carelog/pkg/request"
	"github.com/carelog/carelog/services/billing/internal/readmodel"
	"github.com/carelog/carelog/services/billing/rules"
)

// EventPrefix starts the id of every claim_batch.closed event.
const EventPrefix = "claim-batch"

// Runner is the part of the billing projection's runner (pkg/projection)
// the closer waits on.
type Runner interface {
	// CaughtUp waits until every event in the log at call time is applied.
	CaughtUp(ctx context.Context) error
	// WaitFor waits until the event at seq is applied.
	WaitFor(ctx context.Context, seq uint64) error
}

// Closer closes service months into claim batches. Safe for concurrent use,
// also across processes sharing the log: the month's batch stream revision
// guards every append.
type Closer struct {
	// Log is the log of record; batches go to events.BatchStream(month).
	Log eventlog.Log
	// Store is the billing read model the projection fed by Runner writes.
	Store  readmodel.Store
	Runner Runner
	// Now is the service clock.
	Now func() time.Time
	// Location returns the practice's time zone, which decides when a month
	// is over. Nil, or a nil zone, is conservative: a month has started once
	// it has started anywhere (UTC+14) and is over once it is over everywhere
	// (UTC−12).
	Location func(ctx context.Context) (*time.Location, error)
	// Retries bounds the recompute cycles after concurrent closes (default 8).
	Retries int
	// Wait bounds each wait for the projection (default 10s).
	Wait time.Duration
}

// CloseRequest asks to close Month.
type CloseRequest struct {
	Month string
	// Force allows closing the month still in progress (§8 A8).
	Force bool
	// Meta carries the actor, correlation id and Idempotency-Key
	// (pkg/request); RecordedAt is replaced by the closer's clock. A request
	// with the Idempotency-Key (and route) of an earlier close gets that
	// close's batch back, however long ago it was: the batch stream is the
	// record of keys. Without a key every call is a new close.
	Meta request.Meta
}

// CloseResult is a closed batch as the read model holds it.
type CloseResult struct {
	Batch readmodel.Batch
	// Created is false when the request replayed an earlier close.
	Created bool
}

// Close closes req.Month: it takes every billable patient-month of the month
// that is in no batch yet, appends one claim_batch.closed event with them and
// returns the batch once the projection has applied it (so later reads
// agree). Guarantees:
//   - The batch is Compute of a consistent snapshot of the read model: its
//     LogSequence is the checkpoint the rows reflect exactly, so a replay to
//     LogSequence reproduces its ContentHash.
//   - No patient-month enters two batches: the snapshot reflects every batch
//     in the month's stream at the revision the append expects; a concurrent
//     close moves the stream, the append fails, and the batch is recomputed
//     (at most Retries times, then errs.Conflict).
//
// Errors: errs.Invalid for a malformed or future month; errs.Conflict for
// the month in progress without Force, for nothing left to bill (wrapping
// ErrNothingToBill) or for a close that kept losing races; errs.Unavailable
// when the projection does not catch up in time.
func (c *Closer) Close(ctx context.Context, req CloseRequest) (CloseResult, error) {
	const op = "batches.Close"
	m, err := parseMonth(req.Month)
	if err != nil {
		return CloseResult{}, err
	}
	stream := events.BatchStream(req.Month)
	eventID := req.Meta.EventID(EventPrefix, stream, "")
	retries := c.Retries
	if retries <= 0 {
		retries = 8
	}
	checked := false
	for attempt := 0; ; attempt++ {
		st, err := c.load(ctx, stream)
		if err != nil {
			return CloseResult{}, err
		}
		if rec, ok := st.byEvent[eventID]; ok {
			return c.result(ctx, rec, false)
		}
		if !checked {
			if err := c.checkMonth(ctx, m, req.Force); err != nil {
				return CloseResult{}, err
			}
			checked = true
		}
		if err := c.wait(ctx, c.Runner.CaughtUp); err != nil {
			return CloseResult{}, err
		}
		rows, seq, err := c.snapshot(ctx, req.Month, uint64(st.rev))
		if err != nil {
			return CloseResult{}, err
		}
		content, err := Compute(req.Month, rows, seq)
		if err != nil {
			return CloseResult{}, err
		}
		for _, l := range content.Lines {
			// The read model marks billed months; the stream is the record.
			// Disagreement is a projection bug: refuse rather than bill twice.
			if id, ok := st.billed[l.PatientID]; ok {
				return CloseResult{}, errs.E(op, errs.Internal, "patient-month %s/%s is in batch %s but the read model shows it unbilled", l.PatientID, req.Month, id)
			}
		}
		now := c.Now().UTC()
		payload := events.ClaimBatchClosed{
			ID: fmt.Sprintf("batch-%s-%d", req.Month, st.count+1), Month: req.Month, ClosedAt: now,
			LogSequence: content.LogSequence, ContentHash: Hash(content),
			Lines: content.Lines, Totals: content.Totals,
		}
		meta := req.Meta
		meta.RecordedAt = now
		env, err := meta.Event(eventID, events.TypeClaimBatchClosed, stream, "", now, payload)
		if err != nil {
			return CloseResult{}, err
		}
		res, err := c.Log.Append(ctx, st.rev, env)
		if _, ok := errors.AsType[*eventlog.ConflictError](err); ok {
			if attempt < retries {
				continue // another close moved the stream: recompute
			}
			return CloseResult{}, errs.E(op, errs.Conflict, "%s was being closed concurrently; retry", req.Month)
		}
		if err != nil {
			return CloseResult{}, err
		}
		return c.result(ctx, eventlog.Record{Sequence: res.Sequence, Envelope: res.Event}, !res.Duplicate)
	}
}

// streamState is what the closer needs of a month's batch stream.
type streamState struct {
	rev     eventlog.Revision
	count   int                        // batches so far
	byEvent map[string]eventlog.Record // event id → record
	billed  map[string]string          // patient id → batch id
}

func (c *Closer) load(ctx context.Context, stream string) (streamState, error) {
	st := streamState{rev: eventlog.NoStream, byEvent: map[string]eventlog.Record{}, billed: map[string]string{}}
	for rec, err := range c.Log.ReadStream(ctx, stream, 0) {
		if err != nil {
			return streamState{}, err
		}
		st.rev = eventlog.Revision(rec.Sequence)
		st.byEvent[rec.ID] = rec
		if rec.Type != events.TypeClaimBatchClosed {
			continue
		}
		p, err := decode(rec)
		if err != nil {
			return streamState{}, err
		}
		st.count++
		for _, l := range p.Lines {
			st.billed[l.PatientID] = p.ID
		}
	}
	return st, nil
}

func decode(rec eventlog.Record) (events.ClaimBatchClosed, error) {
	v, err := events.DefaultRegistry().Decode(rec.Envelope)
	if err != nil {
		return events.ClaimBatchClosed{}, errs.Wrap("batches.decode", errs.Internal, err)
	}
	p, ok := v.(*events.ClaimBatchClosed)
	if !ok {
		return events.ClaimBatchClosed{}, errs.E("batches.decode", errs.Internal, "event %s is %s, not a claim batch", rec.ID, rec.Type)
	}
	return *p, nil
}

// result waits until the projection has applied rec and returns its batch
// from the read model.
func (c *Closer) result(ctx context.Context, rec eventlog.Record, created bool) (CloseResult, error) {
	const op = "batches.Close"
	p, err := decode(rec)
	if err != nil {
		return CloseResult{}, err
	}
	if err := c.wait(ctx, func(ctx context.Context) error { return c.Runner.WaitFor(ctx, rec.Sequence) }); err != nil {
		return CloseResult{}, err
	}
	b, ok, err := c.Store.Batch(ctx, p.ID)
	if err != nil {
		return CloseResult{}, err
	}
	if !ok {
		return CloseResult{}, errs.E(op, errs.Internal, "batch %s (sequence %d) is not in the read model after it was applied", p.ID, rec.Sequence)
	}
	return CloseResult{Batch: b, Created: created}, nil
}

// snapshotTries bounds the attempts at reading a month between two commits
// of the projection.
const snapshotTries = 64

// snapshot reads the month's rows together with the checkpoint they reflect
// exactly. Commit writes rows and checkpoint atomically and the checkpoint
// only grows, so equal checkpoints before and after the read mean that no
// commit landed in between. (The runner's Position is not used: it can move
// between reading it and reading the rows, and the batch would then claim a
// position its rows do not reflect.) The checkpoint must cover atLeast, the
// batch stream revision the append will expect.
func (c *Closer) snapshot(ctx context.Context, month string, atLeast uint64) ([]readmodel.PatientMonth, uint64, error) {
	const op = "batches.snapshot"
	for range snapshotTries {
		before, err := c.Store.Checkpoint(ctx)
		if err != nil {
			return nil, 0, err
		}
		if before < atLeast {
			return nil, 0, errs.E(op, errs.Unavailable, "the billing read model (at %d) has not committed the month's batches (through %d); retry", before, atLeast)
		}
		rows, err := c.Store.Month(ctx, month)
		if err != nil {
			return nil, 0, err
		}
		after, err := c.Store.Checkpoint(ctx)
		if err != nil {
			return nil, 0, err
		}
		if after == before {
			return rows, before, nil
		}
		if err := ctx.Err(); err != nil {
			return nil, 0, errs.Wrap(op, errs.Unavailable, err)
		}
	}
	return nil, 0, errs.E(op, errs.Unavailable, "the billing read model kept changing while %s was read; retry", month)
}

func (c *Closer) wait(ctx context.Context, f func(context.Context) error) error {
	d := c.Wait
	if d <= 0 {
		d = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return f(ctx)
}

// phase is where a month stands relative to now.
type phase int

const (
	past phase = iota
	current
	future
)

// monthPhase: future before the month starts in loc, current until it ends,
// past after. A nil loc is the conservative reading described on Closer.
func monthPhase(m rules.Month, now time.Time, loc *time.Location) phase {
	startLoc, endLoc := loc, loc
	if loc == nil {
		startLoc = time.FixedZone("UTC+14", 14*3600)
		endLoc = time.FixedZone("UTC-12", -12*3600)
	}
	switch {
	case now.Before(m.Start(startLoc)):
		return future
	case now.Before(m.End(endLoc)):
		return current
	}
	return past
}

func (c *Closer) checkMonth(ctx context.Context, m rules.Month, force bool) error {
	const op = "batches.Close"
	var loc *time.Location
	if c.Location != nil {
		var err error
		if loc, err = c.Location(ctx); err != nil {
			return err
		}
	}
	switch monthPhase(m, c.Now(), loc) {
	case future:
		return errs.Field(op, "month", "must not be in the future")
	case current:
		if !force {
			return errs.E(op, errs.Conflict, "%s is still in progress: claims are assembled after the month closes (ccm-rules §8 A8); pass force=true to close it now", m)
		}
	}
	return nil
}
