package facts

import (
	"time"

	"github.com/carelog/carelog/pkg/eventlog"
)

// AsOf returns the records recorded at or before asOf (RecordedAt <= asOf),
// in their order: what the log held at that moment, for "what did billing
// show then" (contract.md, ?asOf=). Records are appended to the log in
// recording order, so this is a prefix of each stream.
func AsOf(records []eventlog.Record, asOf time.Time) []eventlog.Record {
	out := make([]eventlog.Record, 0, len(records))
	for _, r := range records {
		if !r.RecordedAt.After(asOf) {
			out = append(out, r)
		}
	}
	return out
}

// FoldPractice folds practice-stream records (in log order) into a Practice.
func FoldPractice(records []eventlog.Record) Practice {
	p := NewPractice()
	for _, r := range records {
		p, _ = p.Apply(r)
	}
	return p
}

// FoldPatient folds one patient's stream records (in log order).
func FoldPatient(id string, records []eventlog.Record) *Patient {
	p := NewPatient(id)
	for _, r := range records {
		p.Apply(r)
	}
	return p
}
