package facts_test

import (
	"testing"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/eventlog"
	"github.com/carelog/carelog/services/billing/internal/facts"
)

// BenchmarkApplyTypes applies one event of each type to a patient that holds
// a care plan (a fresh patient per operation).
func BenchmarkApplyTypes(b *testing.B) {
	l := newLog(&testing.T{})
	end := at(1, 10, 10, 0)
	recs := []struct {
		name string
		rec  eventlog.Record
	}{
		{"enrolled", l.p(events.TypePatientEnrolled, enrolled())},
		{"condition", l.p(events.TypeConditionRecorded, condition("I50.22", 120))},
		{"encounter", l.p(events.TypeEncounterRecorded, events.EncounterRecorded{ID: "v-1", Kind: "office_visit", Code: "99214", PractitionerNPI: npiA, Start: at(1, 10, 9, 0), End: &end, CCMDiscussed: true})},
		{"consent", l.p(events.TypeConsentGranted, granted("c-1", at(1, 10, 10, 30)))},
		{"plan", l.p(events.TypeCarePlanEstablished, completePlan("plan-1", at(1, 10, 11, 0)))},
		{"copy", l.p(events.TypeCarePlanCopyProvided, events.CarePlanCopyProvided{PlanID: "plan-1", ProvidedAt: at(1, 10, 12, 0), To: "patient", Method: "portal"})},
		{"entry", l.p(events.TypeTimeRecorded, timeEntry("e-1", at(3, 4, 10, 0), 11))},
	}
	for _, r := range recs {
		b.Run(r.name, func(b *testing.B) {
			b.ReportAllocs()
			ps := make([]*facts.Patient, 0, 1<<16)
			for b.Loop() {
				if len(ps) == 0 {
					b.StopTimer()
					for range 1 << 16 {
						p := facts.NewPatient("p-1")
						p.Apply(recs[4].rec)
						ps = append(ps, p)
					}
					b.StartTimer()
				}
				p := ps[len(ps)-1]
				ps = ps[:len(ps)-1]
				p.Apply(r.rec)
			}
		})
	}
}

// BenchmarkFacts evaluates the facts of a typical patient-month of a
// rebuild: an enrolled patient with two conditions, a consent, a complete
// care plan and its copy, an office visit, and time entries in February
// and March; now (Facts) and as of the last sequence (FactsThrough).
func BenchmarkFacts(b *testing.B) {
	l := newLog(&testing.T{})
	end := at(1, 10, 10, 0)
	p := facts.NewPatient("p-1")
	for _, r := range []eventlog.Record{
		l.p(events.TypePatientEnrolled, enrolled()),
		l.p(events.TypeConditionRecorded, condition("I50.22", 120)),
		l.p(events.TypeConditionRecorded, condition("E11.65", 120)),
		l.p(events.TypeEncounterRecorded, events.EncounterRecorded{ID: "v-1", Kind: "office_visit", Code: "99214", PractitionerNPI: npiA, Start: at(1, 10, 9, 0), End: &end, CCMDiscussed: true}),
		l.p(events.TypeConsentGranted, granted("c-1", at(1, 10, 10, 30))),
		l.p(events.TypeCarePlanEstablished, completePlan("plan-1", at(1, 10, 11, 0))),
		l.p(events.TypeCarePlanCopyProvided, events.CarePlanCopyProvided{PlanID: "plan-1", ProvidedAt: at(1, 10, 12, 0), To: "patient", Method: "portal"}),
		l.p(events.TypeTimeRecorded, timeEntry("e-1", at(2, 14, 10, 0), 12)),
		l.p(events.TypeTimeRecorded, timeEntry("e-2", at(3, 4, 10, 0), 11)),
		l.p(events.TypeTimeRecorded, timeEntry("e-3", at(3, 21, 15, 30), 9)),
	} {
		p.Apply(r)
	}
	pr := facts.Practice{Location: ny}
	b.Run("now", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if f := p.Facts(march, pr, nil); len(f.TimeEntries) != 2 {
				b.Fatalf("got %d entries, want 2", len(f.TimeEntries))
			}
		}
	})
	b.Run("asof", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if f := p.FactsThrough(march, pr, nil, p.LastSeq); len(f.TimeEntries) != 2 {
				b.Fatalf("got %d entries, want 2", len(f.TimeEntries))
			}
		}
	})
}
