// Package command executes commands against one event stream of the log:
// load the stream, fold it into state, decide, append the resulting event
// guarded by the stream's revision, and retry the cycle on a conflict
// (STYLE.md rules 9 and 10). Services supply the pure parts (fold, decide);
// this package owns the I/O.
//
// Contracts:
//   - Idempotency: a command carries its event id, derived by the caller from
//     the client's id or Idempotency-Key. If the stream already holds an
//     event with that id, nothing is written: a request with the same type
//     and payload gets the original record back (Created false); a different
//     one gets an errs.Conflict naming the id. This holds for ever, not only
//     within the log's duplicate window, because the stream is the record.
//   - Decide only validates against the state; it must not change the
//     proposed event's payload, so that a retry can be recognized by it.
//   - Concurrency: commands on one stream are serialized within the process
//     and guarded by the expected revision across processes; a conflict
//     reloads the stream and decides again, at most Retries times.
//   - Caching: each stream's folded state is cached (bounded, LRU) with its
//     revision; a command checks the stream's tip and reads only the events
//     appended since. Fold must not keep references to the state it returns
//     that a later fold could change in a way visible to earlier readers; the
//     cache only ever advances a state, never branches it.
package command

import (
	"bytes"
	"container/list"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/errs"
	"github.com/carelog/carelog/pkg/eventlog"
)

// Fold applies one stored event to a stream's state. It is pure and never
// fails: events were validated when they were decided.
type Fold[S any] func(S, eventlog.Record) S

// Result is the outcome of a command.
type Result[S any] struct {
	// Record is the stored event: the new one, or the original on a replay.
	Record eventlog.Record
	// Created is false when the command was an idempotent replay.
	Created bool
	// State is the stream's current state: after the new event, or, on a
	// replay, as it is now (later events included).
	State S
}

// Executor runs commands for one kind of stream state. Safe for concurrent
// use.
type Executor[S any] struct {
	log     eventlog.Log
	initial func() S
	fold    Fold[S]
	// Retries bounds the reload-and-decide cycles after conflicts.
	Retries int

	mu      sync.Mutex
	entries map[string]*list.Element
	lru     *list.List
	max     int
}

type entry[S any] struct {
	stream string
	mu     sync.Mutex // serializes commands on the stream
	loaded bool
	rev    eventlog.Revision
	last   string // hash of the event at rev
	state  S
	ids    map[string]stored // event id → what it carried
}

type stored struct {
	seq  uint64
	typ  events.Type
	data json.RawMessage
}

// New returns an executor caching up to maxStreams stream states.
func New[S any](log eventlog.Log, initial func() S, fold Fold[S], maxStreams int) *Executor[S] {
	if maxStreams < 1 {
		maxStreams = 1
	}
	return &Executor[S]{log: log, initial: initial, fold: fold, Retries: 8,
		entries: map[string]*list.Element{}, lru: list.New(), max: maxStreams}
}

// Decide validates a proposed event against the stream's state. It returns
// an errs error (typically errs.Invalid naming the field and rule,
// errs.NotFound or errs.Conflict) to refuse the command.
type Decide[S any] func(state S, proposed *events.Envelope) error

// Execute runs a command: proposed is the event to append (ID and Stream
// set, not sealed). See the package doc for the guarantees.
func (x *Executor[S]) Execute(ctx context.Context, proposed events.Envelope, decide Decide[S]) (Result[S], error) {
	const op = "command.Execute"
	if proposed.ID == "" || proposed.Stream == "" {
		return Result[S]{}, errs.E(op, errs.Internal, "proposed event needs an id and a stream")
	}
	e := x.entry(proposed.Stream)
	e.mu.Lock()
	defer e.mu.Unlock()
	for attempt := 0; ; attempt++ {
		if err := x.catchUp(ctx, e); err != nil {
			return Result[S]{}, err
		}
		if prev, ok := e.ids[proposed.ID]; ok {
			return x.replay(ctx, e, prev, proposed)
		}
		candidate := proposed
		if err := decide(e.state, &candidate); err != nil {
			return Result[S]{}, err
		}
		res, err := x.log.Append(ctx, e.rev, candidate)
		var ce *eventlog.ConflictError
		if errors.As(err, &ce) && attempt < x.Retries {
			continue // another writer moved the stream: reload and decide again
		}
		if err != nil {
			return Result[S]{}, err
		}
		rec := eventlog.Record{Sequence: res.Sequence, Envelope: res.Event}
		if res.Duplicate {
			// Appended concurrently by a retry in another process, or the
			// id is taken by an event of another stream (the log's
			// duplicate window spans every stream): then the request's id
			// is what conflicts, as a service's own check of its read
			// model says when that model has caught up.
			e.loaded = false
			if err := x.catchUp(ctx, e); err != nil {
				return Result[S]{}, err
			}
			prev, ok := e.ids[proposed.ID]
			if !ok {
				return Result[S]{}, &errs.Error{Op: "command.Execute", Kind: errs.Conflict, Field: "id",
					Message: "id is already used by another record; use a new id"}
			}
			return x.replay(ctx, e, prev, proposed)
		}
		x.apply(e, rec)
		return Result[S]{Record: rec, Created: true, State: e.state}, nil
	}
}

// Load returns a stream's current state and revision (NoStream if empty).
func (x *Executor[S]) Load(ctx context.Context, stream string) (S, eventlog.Revision, error) {
	e := x.entry(stream)
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := x.catchUp(ctx, e); err != nil {
		var zero S
		return zero, 0, err
	}
	return e.state, e.rev, nil
}

func (x *Executor[S]) replay(ctx context.Context, e *entry[S], prev stored, proposed events.Envelope) (Result[S], error) {
	if prev.typ != proposed.Type || !sameJSON(prev.data, proposed.Data) {
		return Result[S]{}, errs.E("command.Execute", errs.Conflict,
			"id %s was already used for a different request; use a new id", proposed.ID)
	}
	for rec, err := range x.log.ReadStream(ctx, proposed.Stream, prev.seq) {
		if err != nil {
			return Result[S]{}, err
		}
		return Result[S]{Record: rec, Created: false, State: e.state}, nil
	}
	return Result[S]{}, errs.E("command.Execute", errs.Internal, "event %s vanished from its stream", proposed.ID)
}

// catchUp brings e up to the stream's tip, reading only what it lacks.
func (x *Executor[S]) catchUp(ctx context.Context, e *entry[S]) error {
	from := uint64(1)
	if !e.loaded {
		e.state, e.rev, e.last, e.ids = x.initial(), eventlog.NoStream, "", map[string]stored{}
	} else {
		from = uint64(e.rev) + 1
	}
	for rec, err := range x.log.ReadStream(ctx, e.stream, from) {
		if err != nil {
			e.loaded = false
			return err
		}
		if rec.PrevHash != e.last {
			// The log verifies links within what it reads; the link from the
			// cached tip to the first new event is checked here.
			e.loaded = false
			return &errs.Error{Op: "command.Execute", Kind: errs.Internal, Err: &eventlog.IntegrityError{
				Sequence: rec.Sequence, EventID: rec.ID, Stream: rec.Stream,
				Err: fmt.Errorf("%w: does not link to the stream's previous event", events.ErrChainBroken)}}
		}
		x.apply(e, rec)
	}
	e.loaded = true
	return nil
}

func (x *Executor[S]) apply(e *entry[S], rec eventlog.Record) {
	e.state = x.fold(e.state, rec)
	e.rev = eventlog.Revision(rec.Sequence)
	e.last = rec.Hash
	e.ids[rec.ID] = stored{seq: rec.Sequence, typ: rec.Type, data: rec.Data}
}

func (x *Executor[S]) entry(stream string) *entry[S] {
	x.mu.Lock()
	defer x.mu.Unlock()
	if el, ok := x.entries[stream]; ok {
		x.lru.MoveToFront(el)
		return el.Value.(*entry[S])
	}
	e := &entry[S]{stream: stream}
	x.entries[stream] = x.lru.PushFront(e)
	for x.lru.Len() > x.max {
		old := x.lru.Back()
		x.lru.Remove(old)
		delete(x.entries, old.Value.(*entry[S]).stream)
	}
	return e
}

// sameJSON reports whether two JSON documents are equal as values (key
// order and spacing ignored).
func sameJSON(a, b json.RawMessage) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var va, vb any
	if json.Unmarshal(a, &va) != nil || json.Unmarshal(b, &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}

// Payload marshals a payload for a proposed event, reporting a marshal
// failure as an internal error.
func Payload(v any) (json.RawMessage, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, errs.Wrap("command.Payload", errs.Internal, fmt.Errorf("marshal payload: %w", err))
	}
	return b, nil
}
