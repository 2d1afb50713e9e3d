package facts_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/eventlog"
	"github.com/carelog/carelog/services/billing/internal/facts"
	"github.com/carelog/carelog/services/billing/rules"
)

// history builds random patient streams for the tests of the fold's
// contracts: an enrolment first, then every event type billing reads,
// with corrections, voids and revocations of earlier ids (and of unknown
// ones), duplicate recordings, care plans revised and copied, and enough
// time entries in some streams for the fold to index them.
type history struct {
	r       *rand.Rand
	l       *log
	entries int
	// revoked: the consent a revocation of the id would revoke is revoked
	// already. The fold keeps a consent's latest revocation only, so the
	// streams revoke each consent once.
	revoked map[string]bool
}

func (h *history) pick(ss ...string) string { return ss[h.r.IntN(len(ss))] }

func (h *history) text() string {
	return h.pick("", " ", "x", "Dr \"Q\" <é>", "I50.22", "Meals & Wheels", "1234567893", "medication reconciliation")
}

func (h *history) when() time.Time {
	t := time.Date(2025, time.Month(1+h.r.IntN(5)), 1+h.r.IntN(28), h.r.IntN(24), h.r.IntN(60), 0, 0, time.UTC)
	if h.r.IntN(8) == 0 { // an hour around a New York month boundary
		t = time.Date(2025, time.Month(2+h.r.IntN(3)), 1, 0, 0, 0, 0, ny).Add(time.Duration(h.r.IntN(120)-60) * time.Minute)
	}
	return t.In([]*time.Location{time.UTC, ny, time.FixedZone("", 5*3600+1800)}[h.r.IntN(3)])
}

func (h *history) entry(id string) events.TimeEntry {
	e := events.TimeEntry(timeEntry(id, h.when(), 5+h.r.IntN(40)))
	e.Staff = events.Staff{ID: h.text(), Name: h.text(), Role: h.pick("rn", "physician", "", "Nurse"), NPI: h.text()}
	e.Programs = [][]string{nil, {}, {"ccm"}, {"pcm"}, {"ccm", "pcm"}, {"x"}}[h.r.IntN(6)]
	e.Activity, e.Outcome, e.SessionID = h.pick("care_coordination", "medication reconciliation", ""), h.pick("completed", "unanswered", "x"), h.pick("", "s-1")
	switch h.r.IntN(30) {
	case 0:
		e.Minutes = -5
	case 1:
		e.Minutes = 60 * 24 * 31 * 30 // wider than the index's buckets
	}
	return e
}

func (h *history) elements() events.CarePlanRevised {
	var r events.CarePlanRevised
	if h.r.IntN(2) == 0 {
		r.Goals = []events.CarePlanGoal{}
		for range h.r.IntN(3) {
			r.Goals = append(r.Goals, events.CarePlanGoal{Measure: h.text(), Target: h.text()})
		}
	}
	if h.r.IntN(2) == 0 {
		r.Interventions = []events.CarePlanIntervention{}
		for range h.r.IntN(3) {
			r.Interventions = append(r.Interventions, events.CarePlanIntervention{Description: h.text(), Responsible: events.ResponsibleParty{Name: h.text()}})
		}
	}
	if h.r.IntN(3) == 0 {
		r.Medications = []events.Medication{{Name: h.text()}}
	}
	if h.r.IntN(3) == 0 {
		s := h.text()
		r.Prognosis = &s
	}
	if h.r.IntN(3) == 0 {
		r.ReviewSchedule = &events.ReviewSchedule{IntervalMonths: h.r.IntN(3)}
	}
	if h.r.IntN(3) == 0 {
		e := h.r.IntN(2) == 0
		r.Electronic = &e
	}
	return r
}

func (h *history) next() eventlog.Record {
	entryID := func() string { return fmt.Sprintf("e-%d", h.r.IntN(h.entries+2)) }
	planID := h.pick("plan-1", "plan-2")
	switch k := h.r.IntN(100); {
	case k < 40:
		h.entries++
		id := fmt.Sprintf("e-%d", h.entries)
		if h.r.IntN(10) == 0 {
			id = entryID() // recorded again
		}
		return h.l.p(events.TypeTimeRecorded, events.TimeRecorded(h.entry(id)))
	case k < 50:
		id := entryID()
		return h.l.p(events.TypeTimeCorrected, events.TimeCorrected{EntryID: id, Entry: h.entry(id), Reason: "x"})
	case k < 55:
		return h.l.p(events.TypeTimeVoided, events.TimeVoided{EntryID: entryID(), Reason: "x"})
	case k < 58:
		return h.l.p(events.TypePatientDied, events.PatientDied{DeceasedDate: h.pick("2025-03-18", "2025-05-01")})
	case k < 62:
		c := condition(h.pick("I50.22", "E11.65", "I10"), 6+h.r.IntN(30))
		c.Description = h.text()
		return h.l.p(events.TypeConditionRecorded, c)
	case k < 68:
		c := granted(h.pick("c-1", "c-2"), h.when())
		if h.r.IntN(3) == 0 {
			return h.l.p(events.TypeConsentDeclined, events.ConsentDeclined(c))
		}
		h.revoked[c.ID] = false
		return h.l.p(events.TypeConsentGranted, c)
	case k < 72:
		id := h.pick("c-1", "c-2", "c-3")
		if h.revoked[id] {
			id = "c-3" // never granted
		}
		h.revoked[id] = true
		return h.l.p(events.TypeConsentRevoked, events.ConsentRevoked{ConsentID: id, RevokedAt: h.when()})
	case k < 76:
		p := completePlan(planID, h.when())
		r := h.elements()
		if r.Goals != nil {
			p.Goals = r.Goals
		}
		p.Kind = h.pick("comprehensive", "disease_specific")
		return h.l.p(events.TypeCarePlanEstablished, p)
	case k < 84:
		r := h.elements()
		r.PlanID, r.RevisedAt, r.AuthorNPI = planID, h.when(), npiB
		return h.l.p(events.TypeCarePlanRevised, r)
	case k < 90:
		return h.l.p(events.TypeCarePlanCopyProvided, events.CarePlanCopyProvided{PlanID: planID, ProvidedAt: h.when(), To: "patient", Method: "portal"})
	case k < 93:
		return h.l.p(events.TypeComplexityRecorded, events.ComplexityRecorded{Month: h.pick("2025-03", ""), Level: "high", PractitionerNPI: npiA, DecidedAt: h.when()})
	case k < 96:
		return h.l.p(events.TypeExternalClaimRecorded, events.ExternalClaimRecorded{Code: "99490", PractitionerNPI: npiB, ServiceMonth: h.pick("2025-02", ""), DateOfService: "2025-04-03"})
	}
	s := h.when()
	end := s.Add(time.Duration(h.r.IntN(200)) * time.Minute)
	return h.l.p(events.TypeEncounterRecorded, events.EncounterRecorded{ID: "v-1", Kind: "office_visit", Code: "99214", PractitionerNPI: npiA, Start: s, End: &end})
}

// stream returns a random stream of n events after an enrolment.
func stream(t *testing.T, seed uint64, n int) []eventlog.Record {
	h := &history{r: rand.New(rand.NewPCG(seed, 1)), l: newLog(t), revoked: map[string]bool{}}
	recs := []eventlog.Record{h.l.p(events.TypePatientEnrolled, enrolled())}
	for range n {
		recs = append(recs, h.next())
	}
	return recs
}

var historyMonths = []rules.Month{rules.MustMonth("2025-01"), rules.MustMonth("2025-02"), march, rules.MustMonth("2025-04"), rules.MustMonth("2025-05")}

// emptyAsNil maps the fold's empty lists to nil: a list whose facts all
// come after an as-of sequence is empty, where a fold of fewer events has
// none.
func emptyAsNil(f rules.Facts) rules.Facts {
	if len(f.Conditions) == 0 {
		f.Conditions = nil
	}
	if len(f.Complexity) == 0 {
		f.Complexity = nil
	}
	if len(f.Encounters) == 0 {
		f.Encounters = nil
	}
	if len(f.ExternalClaims) == 0 {
		f.ExternalClaims = nil
	}
	f.CarePlans = append([]rules.CarePlan{}, f.CarePlans...)
	for i := range f.CarePlans {
		if len(f.CarePlans[i].Copies) == 0 {
			f.CarePlans[i].Copies = nil
		}
	}
	return f
}

// FactsThrough a sequence is what the stream up to that sequence folds
// into: the care plans, consents, deaths and entry versions as they stood.
func TestFactsThroughIsTheFoldOfThePrefix(t *testing.T) {
	for seed := range 60 {
		n := 40
		if seed%6 == 0 {
			n = 160 // enough entries to be indexed
		}
		recs := stream(t, uint64(seed), n)
		p := facts.FoldPatient("p-1", recs)
		for k := 1; k <= len(recs); k += 1 + k/8 {
			prefix := facts.FoldPatient("p-1", recs[:k])
			for _, m := range historyMonths {
				pr := facts.Practice{Location: ny}
				got, want := emptyAsNil(p.FactsThrough(m, pr, nil, uint64(k))), emptyAsNil(prefix.Facts(m, pr, nil))
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("seed %d, %s through %d:\n got %s\nwant %s", seed, m, k, mustJSON(got), mustJSON(want))
				}
			}
		}
	}
}

// Facts hands out facts that the fold never modifies afterwards, whatever
// events follow (doc.go).
func TestFactsStayAsHandedOut(t *testing.T) {
	for seed := range 40 {
		recs := stream(t, uint64(seed)+100, 120)
		p := facts.NewPatient("p-1")
		type handed struct {
			f    rules.Facts
			json string
		}
		var out []handed
		for i, r := range recs {
			p.Apply(r)
			if i%5 == 0 {
				for _, through := range []uint64{0, r.Sequence / 2} {
					f := p.FactsThrough(march, facts.Practice{Location: ny}, nil, through)
					out = append(out, handed{f, mustJSON(f)})
				}
			}
		}
		for i, h := range out {
			if got := mustJSON(h.f); got != h.json {
				t.Fatalf("seed %d: facts %d changed after later events:\n got %s\nwant %s", seed, i, got, h.json)
			}
		}
	}
}

// Readers may run concurrently with each other (not with Apply); run with
// -race.
func TestConcurrentReaders(t *testing.T) {
	p := facts.FoldPatient("p-1", stream(t, 7, 200))
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i, m := range historyMonths {
				_ = p.FactsThrough(m, facts.Practice{Location: ny}, nil, uint64(g*i))
				_ = p.Facts(m, facts.Practice{Location: ny}, nil)
			}
			_, _ = p.Entries(), p.Funnel()
			_, _, _ = p.MonthRange(ny)
		})
	}
	wg.Wait()
}
