// Package eventlog is the port to Carelog's log of record: an append-only,
// totally ordered sequence of sealed events, partitioned into streams (one
// per patient) for ordering, optimistic concurrency and hash chaining.
//
// Implementations (jetstream here; EventStoreDB later) must pass the contract
// suite in eventlog/eventlogtest. The guarantees every implementation gives:
//
//   - Durability: Append returns only after the event is durably stored; an
//     acknowledged event survives a crash of the process.
//   - Immutability: events are never rewritten or deleted; a correction is a
//     new event.
//   - Concurrency: Append with an expected Revision succeeds only if the
//     stream's last event is still that revision; otherwise it returns an
//     errs.Conflict error wrapping *ConflictError and writes nothing.
//   - Idempotency: appending an event whose ID was already appended (within
//     the implementation's duplicate window) writes nothing and returns the
//     original event and position with Duplicate set.
//   - Integrity: each event's Hash chains to the previous event of its stream;
//     reads verify the chain and stop with an *IntegrityError at the first
//     altered, missing, inserted or reordered event.
//   - Order: Sequence is the global log order; ReadAll and Subscribe deliver
//     events in strictly increasing Sequence.
package eventlog

import (
	"context"
	"fmt"
	"iter"
	"math"

	"github.com/carelog/carelog/events"
)

// Record is a stored event with its global log position.
type Record struct {
	// Sequence is the event's position in the whole log (1-based).
	Sequence uint64 `json:"sequence"`
	events.Envelope
}

// Revision identifies the last event of a stream as this log reports it (the
// Sequence of that event). It is opaque to callers: take it from the last
// Record read from the stream or from an AppendResult.
type Revision uint64

const (
	// NoStream expects the stream to have no events yet.
	NoStream Revision = 0
	// Any appends after whatever the stream's last event is. The event is
	// still chained and guarded against concurrent appends internally.
	Any Revision = math.MaxUint64
)

// AppendResult reports where an event was stored.
type AppendResult struct {
	// Sequence is the event's log position; also the stream's new Revision.
	Sequence uint64
	// Duplicate is true when the event ID had already been appended: nothing
	// was written and Event is the originally stored event.
	Duplicate bool
	// Event is the stored event, sealed (PrevHash and Hash set).
	Event events.Envelope
}

// Log is the event log port. Implementations are safe for concurrent use.
type Log interface {
	// Append seals e, linking it to the last event of e.Stream, and stores it
	// if the stream is still at expected. Errors: errs.Invalid for a malformed
	// envelope, errs.Conflict (wrapping *ConflictError) for a stale expected
	// revision, errs.Unavailable when the log cannot be reached.
	Append(ctx context.Context, expected Revision, e events.Envelope) (AppendResult, error)

	// ReadStream yields the events of one stream with Sequence >= from, in
	// order, verifying the hash chain. From 0 or 1 reads the whole stream and
	// also verifies that the first event starts the chain. The iteration
	// covers the stream as it was when ReadStream was called.
	ReadStream(ctx context.Context, stream string, from uint64) iter.Seq2[Record, error]

	// ReadAll yields every event with Sequence >= from in log order, up to the
	// log's last event when ReadAll was called, verifying each event's hash
	// and, for streams whose first event is seen, the chain links.
	ReadAll(ctx context.Context, from uint64) iter.Seq2[Record, error]

	// Subscribe calls fn for every event with Sequence >= from in log order,
	// then for each new event as it is appended, until ctx is done (returns
	// nil) or fn returns an error (returned). Integrity failures are returned
	// as *IntegrityError.
	Subscribe(ctx context.Context, from uint64, fn func(Record) error) error

	// LastSequence is the Sequence of the newest event in the log, 0 if empty.
	LastSequence(ctx context.Context) (uint64, error)

	// Close releases the log's resources; it does not close connections the
	// caller passed in.
	Close() error
}

// ConflictError says a stream was not at the expected revision.
type ConflictError struct {
	Stream   string
	Expected Revision
}

func (e *ConflictError) Error() string {
	if e.Expected == NoStream {
		return fmt.Sprintf("stream %s already has events", e.Stream)
	}
	return fmt.Sprintf("stream %s has moved past revision %d", e.Stream, e.Expected)
}

// IntegrityError reports the first event of a read that failed verification.
// Err wraps events.ErrTampered (content does not match its hash) or
// events.ErrChainBroken (an event is missing, inserted or out of order).
type IntegrityError struct {
	Sequence uint64
	EventID  string
	Stream   string
	Err      error
}

func (e *IntegrityError) Error() string {
	return fmt.Sprintf("integrity check failed at sequence %d (event %s, stream %s): %v", e.Sequence, e.EventID, e.Stream, e.Err)
}

func (e *IntegrityError) Unwrap() error { return e.Err }
