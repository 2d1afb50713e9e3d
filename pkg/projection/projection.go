// Package projection runs read models fed from the event log: a projection
// is a pure fold of events into state plus a store (ARCHITECTURE.md decision
// 3). The Runner delivers every event in log order, tracks the position
// applied, and lets writers wait until their own event is visible
// (read-your-writes for HTTP clients).
//
// Contracts:
//   - Apply is called once per event, in strictly increasing sequence, from
//     one goroutine. A projection that keeps its state in memory starts empty
//     and is rebuilt from the log on every start (Checkpoint returns 0); a
//     durable one returns the last sequence it committed, and the Runner
//     resumes after it, so each event takes effect exactly once.
//   - Position and WaitFor are safe for concurrent use.
package projection

import (
	"context"
	"sync"

	"github.com/carelog/carelog/pkg/errs"
	"github.com/carelog/carelog/pkg/eventlog"
)

// Projection consumes events.
type Projection interface {
	// Name identifies the projection (metrics, logs, checkpoints).
	Name() string
	// Checkpoint is the last sequence already applied (0: start from the
	// beginning).
	Checkpoint(ctx context.Context) (uint64, error)
	// Apply applies one event. An error stops the runner: a projection never
	// skips an event.
	Apply(ctx context.Context, rec eventlog.Record) error
}

// Runner feeds one projection from the log.
type Runner struct {
	log  eventlog.Log
	proj Projection

	mu      sync.Mutex
	pos     uint64
	changed chan struct{} // closed and replaced whenever pos advances
	err     error
}

// NewRunner returns a runner; call Run to start it.
func NewRunner(log eventlog.Log, p Projection) *Runner {
	return &Runner{log: log, proj: p, changed: make(chan struct{})}
}

// Run applies events until ctx is done (returns nil) or applying fails.
func (r *Runner) Run(ctx context.Context) error {
	from, err := r.proj.Checkpoint(ctx)
	if err != nil {
		return r.fail(err)
	}
	r.advance(from)
	err = r.log.Subscribe(ctx, from+1, func(rec eventlog.Record) error {
		if err := r.proj.Apply(ctx, rec); err != nil {
			return err
		}
		r.advance(rec.Sequence)
		return nil
	})
	if err != nil && ctx.Err() == nil {
		return r.fail(err)
	}
	return nil
}

func (r *Runner) fail(err error) error {
	err = errs.Wrap("projection."+r.proj.Name(), errs.Unavailable, err)
	r.mu.Lock()
	r.err = err
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
	return err
}

func (r *Runner) advance(seq uint64) {
	r.mu.Lock()
	if seq > r.pos {
		r.pos = seq
		close(r.changed)
		r.changed = make(chan struct{})
	}
	r.mu.Unlock()
}

// Position is the last sequence applied.
func (r *Runner) Position() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pos
}

// WaitFor blocks until the event at seq has been applied, the runner has
// failed, or ctx is done.
func (r *Runner) WaitFor(ctx context.Context, seq uint64) error {
	for {
		r.mu.Lock()
		pos, ch, err := r.pos, r.changed, r.err
		r.mu.Unlock()
		if pos >= seq {
			return nil
		}
		if err != nil {
			return err
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return errs.E("projection.WaitFor", errs.Unavailable, "read model %s is behind the log (at %d, waiting for %d)", r.proj.Name(), pos, seq)
		}
	}
}

// CaughtUp waits until the projection has applied every event that was in
// the log when it was called.
func (r *Runner) CaughtUp(ctx context.Context) error {
	last, err := r.log.LastSequence(ctx)
	if err != nil {
		return err
	}
	return r.WaitFor(ctx, last)
}
