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
//   - A projection that buffers (Flusher) is flushed by the Runner, from
//     the goroutine that calls Apply, whenever it has applied the last event
//     in the log, and once caught up at least every MaxFlushDelay while
//     events keep arriving; Position and WaitFor count only flushed events.
package projection

import (
	"context"
	"sync"
	"time"

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

// Flusher is implemented by a projection that buffers: Apply folds each
// event into its state at once, but its readers (a store) see the effects
// only after Flush, which makes every event applied so far visible (and, for
// a durable store, commits them with their checkpoint). Buffering lets a
// projection do its expensive work once per batch of events instead of once
// per event; it may also flush on its own (for example every N events).
//
// For a Flusher the Runner advances Position only after Flush returns, so a
// reader that WaitFor-ed an event sees its effect. It calls Flush when the
// event it applied is the last in the log (it asks LastSequence whenever it
// reaches the last sequence it knew of), and, after it has reached the end
// of the log once, at the latest MaxFlushDelay after the first unflushed
// event while events keep arriving faster than it reaches the end. A Flush
// error stops the Runner, like an Apply error.
type Flusher interface {
	Flush(ctx context.Context) error
}

// MaxFlushDelay bounds how long a caught-up Flusher holds applied events
// invisible while new events keep arriving.
const MaxFlushDelay = time.Second

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
		if ctx.Err() != nil {
			return nil // stopped while starting: not a failure
		}
		return r.fail(err)
	}
	r.advance(from)
	tail, err := r.log.LastSequence(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return r.fail(err)
	}
	// A long backlog runs under the catch-up GC policy (catchup.go) until
	// the event that was last when the Runner started is applied.
	release, catchingUp := func() {}, tail >= from+catchUpMinEvents
	if catchingUp {
		release = holdCatchUpGC()
	}
	defer release()
	apply := func(rec eventlog.Record) error {
		if err := r.proj.Apply(ctx, rec); err != nil {
			return err
		}
		r.advance(rec.Sequence)
		if rec.Sequence >= tail {
			release()
		}
		return nil
	}
	if f, ok := r.proj.(Flusher); ok {
		b := &buffered{ctx: ctx, r: r, f: f, tail: tail, catchingUp: catchingUp}
		apply = func(rec eventlog.Record) error {
			if err := b.apply(rec); err != nil {
				return err
			}
			if b.live {
				release()
			}
			return nil
		}
	}
	err = r.log.Subscribe(ctx, from+1, apply)
	if err != nil && ctx.Err() == nil {
		return r.fail(err)
	}
	return nil
}

// buffered drives a Flusher (see Flusher for when it flushes).
type buffered struct {
	ctx  context.Context
	r    *Runner
	f    Flusher
	tail uint64 // the last sequence in the log, as last asked
	// catchingUp: the Runner holds the catch-up GC policy until live.
	catchingUp bool
	// live: the end of the log has been reached once; since: when the
	// oldest unflushed event was applied in live mode (zero: none).
	live  bool
	since time.Time
}

func (b *buffered) apply(rec eventlog.Record) error {
	ctx := b.ctx
	if err := b.r.proj.Apply(ctx, rec); err != nil {
		return err
	}
	if rec.Sequence >= b.tail {
		last, err := b.r.log.LastSequence(ctx)
		if err != nil {
			return err
		}
		b.tail = max(last, rec.Sequence)
	}
	switch {
	case rec.Sequence >= b.tail:
		if !b.live && b.catchingUp {
			// The flush that ends a catch-up runs with the next GC
			// cycle deferred (catchup.go).
			defer deferCatchUpGC()()
		}
		b.live = true
	case b.live && b.since.IsZero():
		b.since = time.Now()
		return nil
	case b.live && time.Since(b.since) >= MaxFlushDelay:
	default:
		return nil
	}
	if err := b.f.Flush(ctx); err != nil {
		return err
	}
	b.since = time.Time{}
	b.r.advance(rec.Sequence)
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
