// Package history reads one patient's history for the auditor
// (GET /v1/audit/patients/{id}/history, ccm-rules.md §6): every event of the
// patient's stream, from every service, in log order, each with who, when
// (occurred and recorded) and what, together with the result of the hash-chain
// check.
//
// The history is served from the patient's own stream (one subject in the
// JetStream log), never from a scan of the whole log. Every read starts at
// the stream's first event, because the chain can only be verified from its
// start: a page of a long history costs a read of the stream up to the end of
// that page's cuts, not just of the page.
package history

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/errs"
	"github.com/carelog/carelog/pkg/eventlog"
)

// Page sizes.
const (
	// DefaultLimit is the page size when Query.Limit is 0.
	DefaultLimit = 200
	// MaxLimit is the largest page; Read clamps larger limits to it.
	MaxLimit = 1000
)

// Chain check results, as they appear in the JSON.
const (
	// Verified marks an event whose hash and link to its predecessor checked.
	Verified = "verified"
	// ProblemTampered: the event's content does not match its hash.
	ProblemTampered = "tampered"
	// ProblemChainBroken: the event does not link to the event before it (an
	// event was removed, inserted or reordered).
	ProblemChainBroken = "chain_broken"
)

// Query selects one page of a patient's history.
type Query struct {
	// PatientID is the patient whose stream is read.
	PatientID string
	// After is the page cursor: only events with Sequence > After (0: from
	// the start). Take it from the previous Page's NextAfter.
	After uint64
	// Limit is the number of events per page: 0 means DefaultLimit, more
	// than MaxLimit means MaxLimit. Callers validate what users send; Read
	// only clamps.
	Limit int
	// AsOf, when not zero, keeps only events with RecordedAt <= AsOf: what
	// the log held at that moment.
	AsOf time.Time
	// UntilSequence, when not zero, keeps only events with Sequence <=
	// UntilSequence; the read stops at the first event past it.
	UntilSequence uint64
}

// Entry is one event as the auditor sees it: its log position, the whole
// sealed envelope (id, type, version, stream, patientId, occurredAt,
// recordedAt, actor, correlationId, causationId, data, prevHash, hash) and
// its chain check.
type Entry struct {
	eventlog.Record
	// Chain is Verified: Read yields only events that passed the check.
	Chain string `json:"chain"`
}

// Chain is the result of the hash-chain check of the events read.
type Chain struct {
	// Verified is true when every event of the stream, from its first
	// through the last one read, passed. False exactly when FirstBad is set.
	Verified bool `json:"verified"`
	// Checked is the number of events, from the stream's first, whose hash
	// and link were checked and passed.
	Checked int `json:"checked"`
	// FirstBad is the first event that failed, read right after the Checked
	// good ones; nothing after it was read.
	FirstBad *Failure `json:"firstBad,omitempty"`
}

// Failure names the first event that failed the chain check.
type Failure struct {
	Sequence uint64 `json:"sequence"`
	// EventID is empty when the stored event could not even be decoded.
	EventID string `json:"eventId"`
	// Problem is ProblemTampered or ProblemChainBroken.
	Problem string `json:"problem"`
	// Message explains the failure (event id and hash prefixes, no payload).
	Message string `json:"message"`
}

// Page is one page of a patient's history.
type Page struct {
	PatientID string `json:"patientId"`
	// Events are the page's events in log order (never nil).
	Events []Entry `json:"events"`
	// Chain is the check of the stream from its first event through the last
	// one read (for an UntilSequence cut, through the last one kept).
	Chain Chain `json:"chain"`
	// Total is the number of events matching the cuts (AsOf, UntilSequence),
	// on every page; with a chain failure, those before the failure.
	Total int `json:"total"`
	// NextAfter is the cursor of the next page (Query.After); 0 when this
	// page is the last.
	NextAfter uint64 `json:"nextAfter,omitempty"`
}

// Read returns one page of the history of q.PatientID.
//
// It reads the patient's stream from its first event, verifying every hash
// and link, through the end of the stream (as it was when the read began) or
// the first event past q.UntilSequence, whichever comes first. Events
// recorded after q.AsOf are left out but still verified: RecordedAt is the
// clock of the request, not of the append, so it is not monotonic in log
// order (a command retried after a conflict lands after a later request), and
// the cut is a filter, not a stop.
//
// An integrity failure is a result, not an error: the page holds the events
// before the failing one, Chain.Verified is false and Chain.FirstBad names
// it, and the error is nil, so that the auditor sees the failure.
//
// Errors: errs.Invalid for a malformed patient id, errs.NotFound when the
// patient's stream holds no event, errs.Unavailable (wrapped, kind kept) when
// the log cannot be read.
func Read(ctx context.Context, log eventlog.Log, q Query) (Page, error) {
	const op = "history.Read"
	if !events.ValidID(q.PatientID) {
		return Page{}, errs.Field(op, "patientId", "must be 1 to 128 letters, digits, '-', '_' or ':'")
	}
	limit := q.Limit
	switch {
	case limit <= 0:
		limit = DefaultLimit
	case limit > MaxLimit:
		limit = MaxLimit
	}
	page := Page{PatientID: q.PatientID, Events: []Entry{}, Chain: Chain{Verified: true}}
	read := 0
	for rec, err := range log.ReadStream(ctx, events.PatientStream(q.PatientID), 1) {
		if err != nil {
			var ie *eventlog.IntegrityError
			if !errors.As(err, &ie) {
				return Page{}, fmt.Errorf("%s: %w", op, err)
			}
			if q.UntilSequence != 0 && ie.Sequence > q.UntilSequence {
				read++
				break // the failure lies past the cut: not part of this history
			}
			page.Chain.Verified = false
			page.Chain.FirstBad = failure(ie)
			read++
			break
		}
		read++
		if q.UntilSequence != 0 && rec.Sequence > q.UntilSequence {
			break
		}
		page.Chain.Checked++
		if !q.AsOf.IsZero() && rec.RecordedAt.After(q.AsOf) {
			continue
		}
		page.Total++
		if rec.Sequence <= q.After {
			continue
		}
		if len(page.Events) == limit {
			// Another matching event follows the full page.
			page.NextAfter = page.Events[limit-1].Sequence
			continue
		}
		page.Events = append(page.Events, Entry{Record: rec, Chain: Verified})
	}
	if read == 0 {
		return Page{}, errs.E(op, errs.NotFound, "the patient has no history")
	}
	return page, nil
}

func failure(ie *eventlog.IntegrityError) *Failure {
	f := &Failure{Sequence: ie.Sequence, EventID: ie.EventID, Problem: ProblemChainBroken}
	if errors.Is(ie.Err, events.ErrTampered) {
		f.Problem = ProblemTampered
	}
	if ie.Err != nil {
		f.Message = ie.Err.Error()
	}
	return f
}
