package accesslog

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/errs"
)

// Query selects access records: one patient's (PatientID) or every record
// (empty), after the cursor After (a record Sequence), recorded at or after
// Since, at most Limit (default DefaultLimit, at most MaxLimit).
type Query struct {
	PatientID string
	After     uint64
	Since     time.Time
	Limit     int
}

// Page limits of List.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// Entry is a stored access record with its position in the access log.
type Entry struct {
	Sequence uint64 `json:"sequence"`
	Record
}

// Page is one page of access records, oldest first. NextAfter is the cursor
// of the next page, 0 on the last page.
type Page struct {
	Records   []Entry `json:"records"`
	NextAfter uint64  `json:"nextAfter,omitempty"`
}

// List reads access records in the order they were stored: from the
// patient's own subject when q.PatientID is set (no scan of other
// patients' records). Records still queued in a Recorder are not yet
// visible. Errors: errs.Invalid for a malformed patient id, errs.Unavailable
// when the stream cannot be read.
func (r *Recorder) List(ctx context.Context, q Query) (Page, error) {
	const op = "accesslog.List"
	subject := SubjectPrefix + "*"
	if q.PatientID != "" {
		if !events.ValidID(q.PatientID) && q.PatientID != NoPatient {
			return Page{}, errs.Field(op, "patientId", "is not a valid patient id")
		}
		subject = SubjectPrefix + q.PatientID
	}
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	limit = min(limit, MaxLimit)
	s, err := r.js.Stream(ctx, Stream)
	if err != nil {
		return Page{}, errs.Wrap(op, errs.Unavailable, err)
	}
	last, err := s.GetLastMsgForSubject(ctx, subject)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return Page{Records: []Entry{}}, nil
	}
	if err != nil {
		return Page{}, errs.Wrap(op, errs.Unavailable, err)
	}
	if q.After >= last.Sequence {
		return Page{Records: []Entry{}}, nil
	}
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}, InactiveThreshold: 30 * time.Second}
	switch {
	case q.After > 0:
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, q.After+1
	case !q.Since.IsZero():
		since := q.Since
		cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, &since
	}
	cons, err := r.js.OrderedConsumer(ctx, Stream, cfg)
	if err != nil {
		return Page{}, errs.Wrap(op, errs.Unavailable, err)
	}
	msgs, err := cons.Messages(jetstream.PullMaxMessages(min(limit+1, 512)))
	if err != nil {
		return Page{}, errs.Wrap(op, errs.Unavailable, err)
	}
	defer msgs.Stop()
	stop := context.AfterFunc(ctx, msgs.Stop)
	defer stop()
	page := Page{Records: []Entry{}}
	for {
		m, err := msgs.Next()
		if err != nil {
			return Page{}, errs.Wrap(op, errs.Unavailable, err)
		}
		meta, err := m.Metadata()
		if err != nil {
			return Page{}, errs.Wrap(op, errs.Internal, err)
		}
		seq := meta.Sequence.Stream
		var e Entry
		if err := json.Unmarshal(m.Data(), &e.Record); err != nil {
			return Page{}, errs.Wrap(op, errs.Internal, err)
		}
		e.Sequence = seq
		if !e.At.Before(q.Since) {
			if len(page.Records) == limit {
				page.NextAfter = page.Records[len(page.Records)-1].Sequence
				return page, nil
			}
			page.Records = append(page.Records, e)
		}
		if seq >= last.Sequence {
			return page, nil
		}
	}
}
