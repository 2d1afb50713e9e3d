package projection

import (
	"context"
	"sync/atomic"

	"github.com/carelog/carelog/pkg/eventlog"
)

// The fold runs on its own goroutine, so that decoding payloads, folding
// and evaluating overlap with the log's reading, decoding and hash
// verification on the Runner's goroutine: Apply only queues the record
// (in batches of pipeBatch), Flush queues a flush behind the records and
// waits for it. The goroutine is started by Checkpoint and lives as long
// as the context the Runner passed it. Errors of the fold surface at the
// next Apply or Flush; the Runner then stops, and resumes from the store's
// checkpoint when restarted, so nothing is applied twice or skipped.

const (
	pipeBatch = 256
	pipeDepth = 64
)

type pipeline struct {
	in     chan pipeRequest
	free   chan []eventlog.Record // emptied batches, reused by Apply
	batch  []eventlog.Record
	cancel context.CancelFunc
	done   chan struct{}

	// err is the fold's first error (read at every Apply).
	err atomic.Pointer[error]
}

type pipeRequest struct {
	recs  []eventlog.Record
	flush chan error // when set: flush after recs and reply
}

func (pl *pipeline) failed() error {
	if err := pl.err.Load(); err != nil {
		return *err
	}
	return nil
}

func (pl *pipeline) fail(err error) {
	pl.err.CompareAndSwap(nil, &err)
}

func (p *Projection) startPipeline(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	pl := &pipeline{in: make(chan pipeRequest, pipeDepth), free: make(chan []eventlog.Record, pipeDepth+2),
		cancel: cancel, done: make(chan struct{}), batch: make([]eventlog.Record, 0, pipeBatch)}
	p.pipe = pl
	go p.loop(ctx, pl)
}

func (p *Projection) stopPipeline() {
	if pl := p.pipe; pl != nil {
		pl.cancel()
		<-pl.done
		p.pipe = nil
	}
}

func (p *Projection) loop(ctx context.Context, pl *pipeline) {
	defer close(pl.done)
	// Stopping: the commit in flight ends before the next Checkpoint reads
	// the store; its error no longer matters.
	defer func() { _ = p.waitCommit() }()
	for {
		select {
		case <-ctx.Done():
			return
		case req := <-pl.in:
			var err error
			for _, rec := range req.recs {
				if err = p.fold(ctx, rec); err != nil {
					break
				}
			}
			if err == nil && req.flush != nil {
				err = p.flush(ctx, true)
			}
			if err != nil {
				pl.fail(err)
			}
			if req.flush != nil {
				req.flush <- err
			}
			if err != nil {
				return
			}
			clear(req.recs) // keep no payload alive
			select {
			case pl.free <- req.recs[:0]:
			default:
			}
		}
	}
}

// buffer returns an empty batch, reusing one the fold is done with.
func (pl *pipeline) buffer() []eventlog.Record {
	select {
	case b := <-pl.free:
		return b
	default:
		return make([]eventlog.Record, 0, pipeBatch)
	}
}

func (pl *pipeline) send(ctx context.Context, req pipeRequest) error {
	select {
	case pl.in <- req:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-pl.done:
		if err := pl.failed(); err != nil {
			return err
		}
		return context.Canceled
	}
}

// Apply implements pkg/projection.Projection: it queues rec for the fold
// (folding it at once when the projection was not started by Checkpoint).
func (p *Projection) Apply(ctx context.Context, rec eventlog.Record) error {
	pl := p.pipe
	if pl == nil {
		return p.fold(ctx, rec)
	}
	if err := pl.failed(); err != nil {
		return err
	}
	pl.batch = append(pl.batch, rec)
	if len(pl.batch) < pipeBatch {
		return nil
	}
	req := pipeRequest{recs: pl.batch}
	pl.batch = pl.buffer()
	return pl.send(ctx, req)
}

// Flush implements pkg/projection.Flusher: once every record applied so far
// is folded, it evaluates every marked patient-month once and commits the
// rows with the checkpoint.
func (p *Projection) Flush(ctx context.Context) error {
	pl := p.pipe
	if pl == nil {
		return p.flush(ctx, true)
	}
	reply := make(chan error, 1)
	req := pipeRequest{recs: pl.batch, flush: reply}
	pl.batch = pl.buffer()
	if err := pl.send(ctx, req); err != nil {
		return err
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}
