package facts_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/eventlog"
	"github.com/carelog/carelog/services/billing/internal/billingtest"
)

var ny = mustLoc("America/New_York")

func mustLoc(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

// at is a New York wall-clock time in 2025.
func at(month time.Month, day, hour, minute int) time.Time {
	return time.Date(2025, month, day, hour, minute, 0, 0, ny)
}

// log builds records with increasing sequences, ids ev-<seq>, recorded at
// the given time (or a fixed one).
type log struct {
	t        *testing.T
	seq      uint64
	recorded time.Time
}

func newLog(t *testing.T) *log {
	return &log{t: t, recorded: at(3, 1, 8, 0)}
}

func (l *log) rec(stream string, typ events.Type, payload any) eventlog.Record {
	l.t.Helper()
	env, err := events.DefaultRegistry().New(typ, payload)
	if err != nil {
		l.t.Fatalf("New %s: %v", typ, err)
	}
	l.seq++
	env.ID = fmt.Sprintf("ev-%d", l.seq)
	env.Stream = stream
	env.OccurredAt, env.RecordedAt = l.recorded, l.recorded
	env.Actor = events.Actor{ID: "tok-1", Role: "clinician"}
	return eventlog.Record{Sequence: l.seq, Envelope: env}
}

func (l *log) p(typ events.Type, payload any) eventlog.Record {
	l.t.Helper()
	return l.rec(events.PatientStream("p-1"), typ, payload)
}

func (l *log) practice(typ events.Type, payload any) eventlog.Record {
	l.t.Helper()
	return l.rec(events.PracticeStream, typ, payload)
}

const (
	npiA = "1234567893"
	npiB = "1245319599"
)

func enrolled() events.PatientEnrolled {
	return events.PatientEnrolled{ID: "p-1", MRN: "M1", Name: events.PersonName{Given: "Ada", Family: "L"}, BirthDate: "1948-02-03", MBI: "1EG4TE5MK73", BillingPractitionerNPI: npiA}
}

func condition(code string, months int) events.ConditionRecorded {
	return events.ConditionRecorded{Code: code, Description: "chronic", ExpectedDurationMonths: months, SignificantRisk: true}
}

var allDisclosures = billingtest.Disclosures

func granted(id string, obtained time.Time) events.ConsentGranted {
	return events.ConsentGranted{ID: id, Program: "ccm", PractitionerNPI: npiA, Method: "verbal", ObtainedAt: obtained, ObtainedBy: "RN Jo", Disclosures: allDisclosures}
}

func completePlan(id string, established time.Time) events.CarePlanEstablished {
	return billingtest.CompletePlan(id, npiA, established)
}

func timeEntry(id string, start time.Time, minutes int) events.TimeRecorded {
	return events.TimeRecorded{ID: id, PatientID: "p-1", Staff: events.Staff{ID: "rn-1", Name: "RN Jo", Role: "rn"},
		Programs: []string{"ccm"}, StartedAt: start, Minutes: minutes, Activity: "medication_reconciliation",
		Notes: "Reviewed home glucose log with patient and adjusted diet plan", Outcome: "completed"}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
