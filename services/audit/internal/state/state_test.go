package state_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/eventlog"
	"github.com/carelog/carelog/services/audit/internal/state"
)

var ny = mustLoc("America/New_York")

func mustLoc(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

// at is a New York wall-clock time.
func at(year int, month time.Month, day, hour, minute int) time.Time {
	return time.Date(year, month, day, hour, minute, 0, 0, ny)
}

const (
	patient = "p-1"
	npiA    = "1234567893"
	npiB    = "1245319599"
)

// fact is one event of a given history: what happened when (occurred) and
// when Carelog recorded it.
type fact struct {
	typ      events.Type
	occurred time.Time
	recorded time.Time
	payload  any
}

// history builds patient p-1's records in the order given, with sequences
// 1, 2, … and event ids ev-1, ev-2, …
func history(t *testing.T, facts ...fact) []eventlog.Record {
	t.Helper()
	out := make([]eventlog.Record, 0, len(facts))
	for i, f := range facts {
		env, err := events.DefaultRegistry().New(f.typ, f.payload)
		if err != nil {
			t.Fatalf("New %s: %v", f.typ, err)
		}
		seq := uint64(i + 1)
		env.ID = fmt.Sprintf("ev-%d", seq)
		env.Stream, env.PatientID = events.PatientStream(patient), patient
		env.OccurredAt, env.RecordedAt = f.occurred, f.recorded
		env.Actor = events.Actor{ID: "tok-1", Role: "clinician"}
		out = append(out, eventlog.Record{Sequence: seq, Envelope: env})
	}
	return out
}

// recordedNow is a fact recorded when it happened.
func recordedNow(typ events.Type, when time.Time, payload any) fact {
	return fact{typ, when, when, payload}
}

func enrolment(when time.Time) fact {
	return recordedNow(events.TypePatientEnrolled, when, events.PatientEnrolled{
		ID: patient, MRN: "M1", Name: events.PersonName{Given: "Ada", Family: "Lovelace"}, BirthDate: "1948-02-03",
		MBI: "1EG4TE5MK73", BillingPractitionerNPI: npiA})
}

func grant(id string, obtained, recorded time.Time) fact {
	return fact{events.TypeConsentGranted, obtained, recorded, events.ConsentGranted{
		ID: id, Program: "ccm", PractitionerNPI: npiA, Method: "verbal", ObtainedAt: obtained, ObtainedBy: "RN Jo",
		Disclosures: []string{"availability_and_cost_sharing", "one_practitioner_per_month", "right_to_stop"}}}
}

func decline(id string, obtained time.Time) fact {
	return recordedNow(events.TypeConsentDeclined, obtained, events.ConsentDeclined{
		ID: id, Program: "pcm", PractitionerNPI: npiB, Method: "written", ObtainedAt: obtained, ObtainedBy: "RN Jo"})
}

func revoke(id string, revokedAt, recorded time.Time) fact {
	return fact{events.TypeConsentRevoked, revokedAt, recorded, events.ConsentRevoked{
		ConsentID: id, RevokedAt: revokedAt, RecordedBy: "RN Jo", Reason: "moving away"}}
}

func condition(code, onset string, recorded time.Time) fact {
	return recordedNow(events.TypeConditionRecorded, recorded, events.ConditionRecorded{
		Code: code, Description: "chronic", ExpectedDurationMonths: 12, SignificantRisk: true, OnsetDate: onset})
}

func establish(id string, when time.Time) fact {
	return recordedNow(events.TypeCarePlanEstablished, when, events.CarePlanEstablished{
		ID: id, Kind: "comprehensive", EstablishedAt: when, AuthorNPI: npiA, Electronic: true,
		Problems:        []events.CarePlanProblem{{Code: "I50.22", Description: "HF"}},
		ExpectedOutcome: "stable", Prognosis: "fair",
		Goals:             []events.CarePlanGoal{{ConditionCode: "I50.22", Description: "weight", Measure: "kg", Target: "< 80"}},
		SymptomManagement: "daily weights",
		Interventions:     []events.CarePlanIntervention{{Description: "calls", Responsible: events.ResponsibleParty{Name: "RN Jo", Role: "rn"}}},
		Medications:       []events.Medication{{Name: "Metformin", Dose: "500 mg", Frequency: "bid"}},
		ReviewSchedule:    events.ReviewSchedule{IntervalMonths: 3},
	})
}

func revise(planID string, revisedAt, recorded time.Time, prognosis string) fact {
	return fact{events.TypeCarePlanRevised, revisedAt, recorded, events.CarePlanRevised{
		PlanID: planID, RevisedAt: revisedAt, AuthorNPI: npiA, Prognosis: &prognosis,
		CommunityResources: []events.CommunityResource{{Name: "Meals", Purpose: "food"}}}}
}

func copyOf(planID string, when time.Time) fact {
	return recordedNow(events.TypeCarePlanCopyProvided, when, events.CarePlanCopyProvided{PlanID: planID, ProvidedAt: when, To: "patient", Method: "portal"})
}

func timeEntry(id string, start, recorded time.Time) fact {
	return fact{events.TypeTimeRecorded, start, recorded, events.TimeRecorded{
		ID: id, PatientID: patient, Staff: events.Staff{ID: "rn-1", Name: "RN Jo", Role: "rn"}, Programs: []string{"ccm"},
		StartedAt: start, Minutes: 20, Activity: "medication_reconciliation", Notes: "reviewed", Outcome: "completed"}}
}

// Shared moments: consent on 3 Mar 2025, revoked on 20 Mar 2025 (recorded
// on 2 Apr when late), audited at various moments.
var (
	enrolledAt = at(2025, 3, 1, 9, 0)
	obtained   = at(2025, 3, 3, 10, 0)
	revokedAt  = at(2025, 3, 20, 15, 0)
	late       = at(2025, 4, 2, 9, 0)
	later      = at(2025, 6, 1, 9, 0)
)

func TestFoldConsents(t *testing.T) {
	tests := []struct {
		name        string
		given       []fact
		effectiveAt time.Time
		asOf        time.Time
		loc         *time.Location
		then        func(t *testing.T, s state.State)
	}{
		{
			name:        "effectiveAt before the revocation: in force",
			given:       []fact{enrolment(enrolledAt), grant("c-1", obtained, obtained), revoke("c-1", revokedAt, revokedAt)},
			effectiveAt: revokedAt.Add(-time.Minute), asOf: later, loc: ny,
			then: func(t *testing.T, s state.State) {
				c := oneConsent(t, s)
				if c.Status != state.StatusInForce || c.Revocation != nil {
					t.Errorf("got status %s, revocation %+v, want in_force without revocation", c.Status, c.Revocation)
				}
				wantPrograms(t, s, state.ProgramConsent{Program: "ccm", InForce: true, ConsentID: "c-1", Status: state.StatusInForce, PractitionerNPI: npiA})
			},
		},
		{
			name:        "effectiveAt at or after the revocation: revoked, billable through the month's end",
			given:       []fact{enrolment(enrolledAt), grant("c-1", obtained, obtained), revoke("c-1", revokedAt, revokedAt)},
			effectiveAt: revokedAt, asOf: later, loc: ny,
			then: func(t *testing.T, s state.State) {
				c := oneConsent(t, s)
				if c.Status != state.StatusRevoked || c.Revocation == nil {
					t.Fatalf("got status %s, revocation %+v, want revoked with revocation", c.Status, c.Revocation)
				}
				want := state.Revocation{RevokedAt: revokedAt, RecordedBy: "RN Jo", Reason: "moving away", EventID: "ev-3", RecordedAt: revokedAt, BillableThrough: "2025-03-31"}
				if got := *c.Revocation; !got.RevokedAt.Equal(want.RevokedAt) || !got.RecordedAt.Equal(want.RecordedAt) ||
					got.RecordedBy != want.RecordedBy || got.Reason != want.Reason || got.EventID != want.EventID || got.BillableThrough != want.BillableThrough {
					t.Errorf("got revocation %+v, want %+v", got, want)
				}
				wantPrograms(t, s, state.ProgramConsent{Program: "ccm", InForce: false, ConsentID: "c-1", Status: state.StatusRevoked, PractitionerNPI: npiA})
			},
		},
		{
			name: "revoked late on the month's last evening: the month is the practice zone's",
			given: []fact{enrolment(enrolledAt), grant("c-1", obtained, obtained),
				revoke("c-1", at(2025, 3, 31, 22, 30), at(2025, 3, 31, 22, 30))},
			effectiveAt: later, asOf: later, loc: ny,
			then: func(t *testing.T, s state.State) {
				if got := oneConsent(t, s).Revocation.BillableThrough; got != "2025-03-31" {
					t.Errorf("got billableThrough %s, want 2025-03-31 (New York)", got)
				}
			},
		},
		{
			name: "nil zone reads the month in UTC",
			given: []fact{enrolment(enrolledAt), grant("c-1", obtained, obtained),
				revoke("c-1", at(2025, 3, 31, 22, 30), at(2025, 3, 31, 22, 30))},
			effectiveAt: later, asOf: later, loc: nil,
			then: func(t *testing.T, s state.State) {
				if got := oneConsent(t, s).Revocation.BillableThrough; got != "2025-04-30" {
					t.Errorf("got billableThrough %s, want 2025-04-30 (UTC)", got)
				}
			},
		},
		{
			name:        "asOf before a late-recorded revocation: still in force",
			given:       []fact{enrolment(enrolledAt), grant("c-1", obtained, obtained), revoke("c-1", revokedAt, late)},
			effectiveAt: later, asOf: late.Add(-time.Second), loc: ny,
			then: func(t *testing.T, s state.State) {
				if c := oneConsent(t, s); c.Status != state.StatusInForce || c.Revocation != nil {
					t.Errorf("got status %s, revocation %+v, want in_force: the revocation was not known", c.Status, c.Revocation)
				}
				if s.AsOfSequence != 2 {
					t.Errorf("got asOfSequence %d, want 2", s.AsOfSequence)
				}
			},
		},
		{
			name:        "asOf at the late revocation's recording: revoked",
			given:       []fact{enrolment(enrolledAt), grant("c-1", obtained, obtained), revoke("c-1", revokedAt, late)},
			effectiveAt: later, asOf: late, loc: ny,
			then: func(t *testing.T, s state.State) {
				if c := oneConsent(t, s); c.Status != state.StatusRevoked || !c.Revocation.RecordedAt.Equal(late) {
					t.Errorf("got status %s, revocation %+v, want revoked, recorded %v", c.Status, c.Revocation, late)
				}
			},
		},
		{
			name:        "effectiveAt before the consent was obtained: omitted",
			given:       []fact{enrolment(enrolledAt), grant("c-1", obtained, obtained)},
			effectiveAt: obtained.Add(-time.Minute), asOf: later, loc: ny,
			then: func(t *testing.T, s state.State) {
				if len(s.Consents) != 0 || len(s.Programs) != 0 {
					t.Errorf("got consents %+v, programs %+v, want none", s.Consents, s.Programs)
				}
			},
		},
		{
			name:        "consent obtained earlier but recorded after asOf: omitted",
			given:       []fact{enrolment(enrolledAt), grant("c-1", obtained, late)},
			effectiveAt: later, asOf: late.Add(-time.Second), loc: ny,
			then: func(t *testing.T, s state.State) {
				if len(s.Consents) != 0 {
					t.Errorf("got consents %+v, want none", s.Consents)
				}
			},
		},
		{
			name:        "declined",
			given:       []fact{enrolment(enrolledAt), decline("c-2", obtained)},
			effectiveAt: later, asOf: later, loc: ny,
			then: func(t *testing.T, s state.State) {
				c := oneConsent(t, s)
				if c.Decision != state.DecisionDeclined || c.Status != state.StatusDeclined || c.Disclosures == nil {
					t.Errorf("got decision %s, status %s, disclosures %v, want declined, declined, []", c.Decision, c.Status, c.Disclosures)
				}
				wantPrograms(t, s, state.ProgramConsent{Program: "pcm", InForce: false, ConsentID: "c-2", Status: state.StatusDeclined, PractitionerNPI: npiB})
			},
		},
		{
			name: "a new consent after a revocation is the program's consent",
			given: []fact{enrolment(enrolledAt), grant("c-1", obtained, obtained), revoke("c-1", revokedAt, revokedAt),
				grant("c-3", at(2025, 5, 2, 10, 0), at(2025, 5, 2, 10, 0))},
			effectiveAt: later, asOf: later, loc: ny,
			then: func(t *testing.T, s state.State) {
				if len(s.Consents) != 2 || s.Consents[0].Status != state.StatusRevoked || s.Consents[1].Status != state.StatusInForce {
					t.Fatalf("got consents %+v, want c-1 revoked then c-3 in force", s.Consents)
				}
				wantPrograms(t, s, state.ProgramConsent{Program: "ccm", InForce: true, ConsentID: "c-3", Status: state.StatusInForce, PractitionerNPI: npiA})
			},
		},
		{
			name:        "a revocation of no known consent is skipped",
			given:       []fact{enrolment(enrolledAt), revoke("c-9", revokedAt, revokedAt)},
			effectiveAt: later, asOf: later, loc: ny,
			then: func(t *testing.T, s state.State) {
				if s.Skipped != 1 || !slices.Equal(s.SkippedEventIDs, []string{"ev-2"}) || len(s.Consents) != 0 {
					t.Errorf("got skipped %d %v, consents %+v, want 1 [ev-2], none", s.Skipped, s.SkippedEventIDs, s.Consents)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := state.Fold(patient, history(t, tt.given...), tt.effectiveAt, tt.asOf, tt.loc)
			tt.then(t, s)
		})
	}
}

func oneConsent(t *testing.T, s state.State) state.Consent {
	t.Helper()
	if len(s.Consents) != 1 {
		t.Fatalf("got %d consents (%+v), want 1", len(s.Consents), s.Consents)
	}
	return s.Consents[0]
}

func wantPrograms(t *testing.T, s state.State, want ...state.ProgramConsent) {
	t.Helper()
	if !slices.Equal(s.Programs, want) {
		t.Errorf("got programs %+v, want %+v", s.Programs, want)
	}
}

func TestFoldPatientFacts(t *testing.T) {
	recordedLate := at(2025, 4, 10, 9, 0)
	tests := []struct {
		name        string
		given       []fact
		effectiveAt time.Time
		asOf        time.Time
		then        func(t *testing.T, s state.State)
	}{
		{
			name:        "enrolment known",
			given:       []fact{enrolment(enrolledAt)},
			effectiveAt: later, asOf: later,
			then: func(t *testing.T, s state.State) {
				want := state.Enrollment{MRN: "M1", Name: events.PersonName{Given: "Ada", Family: "Lovelace"}, BirthDate: "1948-02-03",
					MBI: "1EG4TE5MK73", BillingPractitionerNPI: npiA, EnrolledAt: enrolledAt, EventID: "ev-1", RecordedAt: enrolledAt}
				if !s.Enrolled || s.Enrollment == nil || *s.Enrollment != want {
					t.Errorf("got enrolled %v %+v, want %+v", s.Enrolled, s.Enrollment, want)
				}
			},
		},
		{
			name:        "asOf before the enrolment: not enrolled",
			given:       []fact{enrolment(enrolledAt)},
			effectiveAt: later, asOf: enrolledAt.Add(-time.Second),
			then: func(t *testing.T, s state.State) {
				if s.Enrolled || s.Enrollment != nil || s.AsOfSequence != 0 {
					t.Errorf("got enrolled %v %+v, asOfSequence %d, want not enrolled, 0", s.Enrolled, s.Enrollment, s.AsOfSequence)
				}
			},
		},
		{
			name:        "asOf before a late-recorded condition omits it",
			given:       []fact{enrolment(enrolledAt), condition("I50.22", "2020-01-01", enrolledAt), condition("E11.65", "2019-05-01", recordedLate)},
			effectiveAt: later, asOf: recordedLate.Add(-time.Second),
			then: func(t *testing.T, s state.State) {
				wantCodes(t, s, "I50.22")
			},
		},
		{
			name:        "a late-recorded condition is known from its recording on, back to its onset",
			given:       []fact{enrolment(enrolledAt), condition("I50.22", "2020-01-01", enrolledAt), condition("E11.65", "2019-05-01", recordedLate)},
			effectiveAt: at(2025, 3, 2, 0, 0), asOf: recordedLate,
			then: func(t *testing.T, s state.State) {
				wantCodes(t, s, "I50.22", "E11.65")
				if got := s.Conditions[1]; got.EventID != "ev-3" || !got.RecordedAt.Equal(recordedLate) || got.OnsetDate != "2019-05-01" {
					t.Errorf("got %+v, want ev-3 recorded %v with onset 2019-05-01", got, recordedLate)
				}
			},
		},
		{
			name:        "onset after effectiveAt's date omits it; onset on that date keeps it",
			given:       []fact{enrolment(enrolledAt), condition("I50.22", "2025-05-02", enrolledAt), condition("E11.65", "2025-05-01", enrolledAt)},
			effectiveAt: at(2025, 5, 1, 8, 0), asOf: later,
			then: func(t *testing.T, s state.State) {
				wantCodes(t, s, "E11.65")
			},
		},
		{
			name:        "no onset: stands at any moment once known, as billing reads it",
			given:       []fact{enrolment(enrolledAt), condition("I50.22", "", at(2025, 3, 5, 9, 0))},
			effectiveAt: at(2025, 3, 4, 9, 0), asOf: later,
			then: func(t *testing.T, s state.State) {
				wantCodes(t, s, "I50.22")
			},
		},
		{
			name:        "no onset, recorded after asOf: unknown",
			given:       []fact{enrolment(enrolledAt), condition("I50.22", "", at(2025, 3, 5, 9, 0))},
			effectiveAt: at(2025, 3, 6, 9, 0), asOf: at(2025, 3, 5, 8, 0),
			then: func(t *testing.T, s state.State) {
				wantCodes(t, s)
			},
		},
		{
			name: "date of death known and reached",
			given: []fact{enrolment(enrolledAt),
				recordedNow(events.TypePatientDied, at(2025, 5, 10, 9, 0), events.PatientDied{DeceasedDate: "2025-05-08"})},
			effectiveAt: at(2025, 5, 8, 0, 0), asOf: later,
			then: func(t *testing.T, s state.State) {
				if s.DeceasedDate != "2025-05-08" || s.DeceasedEventID != "ev-2" {
					t.Errorf("got deceased %q %q, want 2025-05-08 ev-2", s.DeceasedDate, s.DeceasedEventID)
				}
			},
		},
		{
			name: "date of death after effectiveAt: not shown",
			given: []fact{enrolment(enrolledAt),
				recordedNow(events.TypePatientDied, at(2025, 5, 10, 9, 0), events.PatientDied{DeceasedDate: "2025-05-08"})},
			effectiveAt: at(2025, 5, 7, 23, 59), asOf: later,
			then: func(t *testing.T, s state.State) {
				if s.DeceasedDate != "" {
					t.Errorf("got deceased %q, want none", s.DeceasedDate)
				}
			},
		},
		{
			name: "complexity, encounters and external claims by effectiveAt",
			given: []fact{
				enrolment(enrolledAt),
				recordedNow(events.TypeComplexityRecorded, at(2025, 3, 10, 9, 0), events.ComplexityRecorded{Month: "2025-03", Level: "high", PractitionerNPI: npiA, DecidedAt: at(2025, 3, 10, 9, 0)}),
				recordedNow(events.TypeComplexityRecorded, at(2025, 4, 10, 9, 0), events.ComplexityRecorded{Month: "2025-04", Level: "low", PractitionerNPI: npiA, DecidedAt: at(2025, 4, 10, 9, 0)}),
				recordedNow(events.TypeEncounterRecorded, at(2025, 3, 12, 9, 0), events.EncounterRecorded{ID: "en-1", Kind: "office_visit", Code: "99214", PractitionerNPI: npiA, Start: at(2025, 3, 12, 9, 0), CCMDiscussed: true}),
				recordedNow(events.TypeEncounterRecorded, at(2025, 4, 12, 9, 0), events.EncounterRecorded{ID: "en-2", Kind: "office_visit", Start: at(2025, 4, 12, 9, 0)}),
				fact{events.TypeExternalClaimRecorded, at(2025, 3, 1, 0, 0), at(2025, 3, 20, 9, 0), events.ExternalClaimRecorded{Code: "99490", PractitionerNPI: npiB, ServiceMonth: "2025-03", Status: "paid"}},
				fact{events.TypeExternalClaimRecorded, at(2025, 4, 1, 0, 0), at(2025, 3, 20, 9, 0), events.ExternalClaimRecorded{Code: "99490", PractitionerNPI: npiB, ServiceMonth: "2025-04"}},
			},
			effectiveAt: at(2025, 3, 31, 23, 59), asOf: later,
			then: func(t *testing.T, s state.State) {
				if len(s.ComplexityDecisions) != 1 || s.ComplexityDecisions[0].Month != "2025-03" || s.ComplexityDecisions[0].EventID != "ev-2" {
					t.Errorf("got complexity %+v, want the March decision ev-2", s.ComplexityDecisions)
				}
				if len(s.Encounters) != 1 || s.Encounters[0].ID != "en-1" || !s.Encounters[0].CCMDiscussed {
					t.Errorf("got encounters %+v, want en-1 with CCM discussed", s.Encounters)
				}
				want := []state.ExternalClaim{{Code: "99490", PractitionerNPI: npiB, ServiceMonth: "2025-03", Status: "paid", EventID: "ev-6", RecordedAt: at(2025, 3, 20, 9, 0)}}
				if !slices.Equal(s.ExternalClaims, want) {
					t.Errorf("got claims %+v, want %+v", s.ExternalClaims, want)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := state.Fold(patient, history(t, tt.given...), tt.effectiveAt, tt.asOf, ny)
			tt.then(t, s)
		})
	}
}

func wantCodes(t *testing.T, s state.State, want ...string) {
	t.Helper()
	got := []string{}
	for _, c := range s.Conditions {
		got = append(got, c.Code)
	}
	if !slices.Equal(got, append([]string{}, want...)) {
		t.Errorf("got conditions %v, want %v", got, want)
	}
}

func TestFoldCarePlans(t *testing.T) {
	est := at(2025, 3, 4, 10, 0)
	rev1 := at(2025, 3, 20, 10, 0)
	rev2 := at(2025, 4, 15, 10, 0)
	given := []fact{
		enrolment(enrolledAt),
		establish("cp-1", est),
		revise("cp-1", rev1, rev1, "good"),
		copyOf("cp-1", at(2025, 3, 25, 10, 0)),
		copyOf("cp-1", at(2025, 4, 20, 10, 0)),
		revise("cp-1", rev2, late.Add(20*24*time.Hour), "guarded"), // recorded 22 Apr
	}
	tests := []struct {
		name        string
		effectiveAt time.Time
		asOf        time.Time
		then        func(t *testing.T, s state.State)
	}{
		{
			name:        "before the plan was established: no plan",
			effectiveAt: est.Add(-time.Minute), asOf: later,
			then: func(t *testing.T, s state.State) {
				if len(s.CarePlans) != 0 {
					t.Errorf("got plans %+v, want none", s.CarePlans)
				}
			},
		},
		{
			name:        "established, no revision yet: version 1 with the established elements",
			effectiveAt: rev1.Add(-time.Minute), asOf: later,
			then: func(t *testing.T, s state.State) {
				p := onePlan(t, s)
				if p.Version != 1 || len(p.Revisions) != 0 || p.Elements.Prognosis != "fair" || len(p.Elements.CommunityResources) != 0 || p.Elements.CommunityResources == nil {
					t.Errorf("got version %d, revisions %+v, prognosis %q, community %v, want 1, none, fair, []", p.Version, p.Revisions, p.Elements.Prognosis, p.Elements.CommunityResources)
				}
				if p.EventID != "ev-2" || p.AuthorNPI != npiA || !p.Electronic || p.Kind != "comprehensive" {
					t.Errorf("got %+v, want ev-2 by %s, electronic, comprehensive", p, npiA)
				}
			},
		},
		{
			name:        "one revision by effectiveAt; the copy after effectiveAt is omitted",
			effectiveAt: at(2025, 3, 24, 10, 0), asOf: later,
			then: func(t *testing.T, s state.State) {
				p := onePlan(t, s)
				if p.Version != 2 || p.Elements.Prognosis != "good" || len(p.Elements.CommunityResources) != 1 {
					t.Errorf("got version %d, prognosis %q, community %v, want 2, good, Meals", p.Version, p.Elements.Prognosis, p.Elements.CommunityResources)
				}
				want := []state.CarePlanRevision{{EventID: "ev-3", RevisedAt: rev1, RecordedAt: rev1, AuthorNPI: npiA, Changed: []string{"prognosis", "communityResources"}}}
				if len(p.Revisions) != 1 || p.Revisions[0].EventID != want[0].EventID || !p.Revisions[0].RevisedAt.Equal(rev1) ||
					!slices.Equal(p.Revisions[0].Changed, want[0].Changed) {
					t.Errorf("got revisions %+v, want %+v", p.Revisions, want)
				}
				if len(p.Copies) != 0 {
					t.Errorf("got copies %+v, want none", p.Copies)
				}
			},
		},
		{
			name:        "both revisions and both copies by effectiveAt",
			effectiveAt: later, asOf: later,
			then: func(t *testing.T, s state.State) {
				p := onePlan(t, s)
				if p.Version != 3 || p.Elements.Prognosis != "guarded" || len(p.Copies) != 2 || p.Copies[0].EventID != "ev-4" {
					t.Errorf("got version %d, prognosis %q, copies %+v, want 3, guarded, ev-4 and ev-5", p.Version, p.Elements.Prognosis, p.Copies)
				}
			},
		},
		{
			name:        "asOf before the late-recorded second revision: version 2",
			effectiveAt: later, asOf: at(2025, 4, 21, 10, 0),
			then: func(t *testing.T, s state.State) {
				p := onePlan(t, s)
				if p.Version != 2 || p.Elements.Prognosis != "good" || len(p.Copies) != 2 {
					t.Errorf("got version %d, prognosis %q, %d copies, want 2, good, 2", p.Version, p.Elements.Prognosis, len(p.Copies))
				}
				if s.AsOfSequence != 5 {
					t.Errorf("got asOfSequence %d, want 5", s.AsOfSequence)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := state.Fold(patient, history(t, given...), tt.effectiveAt, tt.asOf, ny)
			tt.then(t, s)
		})
	}
}

func onePlan(t *testing.T, s state.State) state.CarePlan {
	t.Helper()
	if len(s.CarePlans) != 1 {
		t.Fatalf("got %d plans (%+v), want 1", len(s.CarePlans), s.CarePlans)
	}
	return s.CarePlans[0]
}

func TestFoldAsOfSequenceAndSkipped(t *testing.T) {
	recs := history(t,
		enrolment(enrolledAt),
		timeEntry("te-1", at(2025, 3, 5, 10, 0), at(2025, 3, 5, 10, 30)),
		fact{events.TypeTimeVoided, at(2025, 3, 6, 10, 0), at(2025, 3, 6, 10, 0), events.TimeVoided{EntryID: "te-1", Reason: "duplicate"}},
		timeEntry("te-2", at(2025, 3, 7, 10, 0), late),
	)
	// Records appended after ev-4 were recorded after it, like every log.
	undecodable := recs[3]
	undecodable.Sequence, undecodable.ID, undecodable.Type, undecodable.Data = 5, "ev-5", events.TypeConditionRecorded, json.RawMessage(`{"code":7}`)
	unknown := recs[3]
	unknown.Sequence, unknown.ID, unknown.Type = 6, "ev-6", "condition.resolved"
	other := recs[3]
	other.Sequence, other.ID, other.Stream = 7, "ev-7", events.PatientStream("p-2")
	practice := recs[3]
	practice.Sequence, practice.ID, practice.Type, practice.Data = 8, "ev-8", events.TypePracticeConfigured, json.RawMessage(`{"name":"x","timezone":"UTC","billingNpi":"","taxId":""}`)
	recs = append(recs, undecodable, unknown, other, practice)

	tests := []struct {
		name         string
		asOf         time.Time
		wantSeq      uint64
		wantSkipped  []string
		wantActivity time.Time
	}{
		{"everything known", later, 8, []string{"ev-5", "ev-6", "ev-7", "ev-8"}, enrolledAt},
		{"asOf before the late time entry", late.Add(-time.Second), 3, []string{}, enrolledAt},
		{"asOf before anything", enrolledAt.Add(-time.Second), 0, []string{}, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s state.State
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("got panic %v, want none", r)
					}
				}()
				s = state.Fold(patient, recs, later, tt.asOf, ny)
			}()
			if s.AsOfSequence != tt.wantSeq {
				t.Errorf("got asOfSequence %d, want %d", s.AsOfSequence, tt.wantSeq)
			}
			if s.Skipped != len(tt.wantSkipped) || !slices.Equal(s.SkippedEventIDs, tt.wantSkipped) {
				t.Errorf("got skipped %d %v, want %v", s.Skipped, s.SkippedEventIDs, tt.wantSkipped)
			}
			if !s.FirstActivityAt.Equal(tt.wantActivity) {
				t.Errorf("got firstActivityAt %v, want %v", s.FirstActivityAt, tt.wantActivity)
			}
			if len(s.Conditions) != 0 {
				t.Errorf("got conditions %+v, want none (the undecodable one is skipped)", s.Conditions)
			}
		})
	}
}

func TestServiceMonths(t *testing.T) {
	tests := []struct {
		name        string
		given       []fact
		effectiveAt time.Time
		loc         *time.Location
		want        []string
	}{
		{
			name:        "across a year boundary",
			given:       []fact{enrolment(at(2024, 11, 20, 9, 0)), grant("c-1", at(2024, 11, 21, 9, 0), at(2024, 11, 21, 9, 0))},
			effectiveAt: at(2025, 2, 3, 9, 0),
			loc:         ny,
			want:        []string{"2024-11", "2024-12", "2025-01", "2025-02"},
		},
		{
			name: "time entry late on the month's last evening belongs to the practice zone's month",
			given: []fact{enrolment(at(2025, 2, 10, 9, 0)),
				timeEntry("te-1", at(2025, 1, 31, 23, 30), at(2025, 2, 10, 9, 5))}, // 04:30 UTC on 1 Feb
			effectiveAt: at(2025, 3, 1, 0, 30), // 05:30 UTC on 1 Mar
			loc:         ny,
			want:        []string{"2025-01", "2025-02", "2025-03"},
		},
		{
			name: "the same history read in UTC",
			given: []fact{enrolment(at(2025, 2, 10, 9, 0)),
				timeEntry("te-1", at(2025, 1, 31, 23, 30), at(2025, 2, 10, 9, 5))},
			effectiveAt: at(2025, 3, 1, 0, 30),
			loc:         time.UTC,
			want:        []string{"2025-02", "2025-03"},
		},
		{
			name:        "effectiveAt near midnight before the first of the month stays in the earlier month",
			given:       []fact{enrolment(at(2025, 1, 5, 9, 0))},
			effectiveAt: at(2025, 2, 28, 23, 59), // 04:59 UTC on 1 Mar
			loc:         ny,
			want:        []string{"2025-01", "2025-02"},
		},
		{
			name:        "at most the 24 most recent months",
			given:       []fact{enrolment(at(2021, 6, 1, 9, 0))},
			effectiveAt: at(2025, 3, 15, 9, 0),
			loc:         ny,
			want:        monthsFrom(2023, 4, 24),
		},
		{
			name:        "nothing known by effectiveAt",
			given:       []fact{enrolment(at(2025, 6, 1, 9, 0))},
			effectiveAt: at(2025, 5, 1, 9, 0),
			loc:         ny,
			want:        []string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := state.Fold(patient, history(t, tt.given...), tt.effectiveAt, later.AddDate(5, 0, 0), tt.loc)
			got := s.ServiceMonths(tt.loc)
			if got == nil || !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func monthsFrom(year int, month time.Month, n int) []string {
	out := []string{}
	for i := range n {
		out = append(out, time.Date(year, month+time.Month(i), 1, 0, 0, 0, 0, time.UTC).Format("2006-01"))
	}
	return out
}

// TestStateJSON freezes the top-level field names and checks that lists of
// an empty state marshal as [] and Months as null until the caller fills it.
func TestStateJSON(t *testing.T) {
	s := state.Fold(patient, nil, later, later, ny)
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	var got map[string]json.RawMessage
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	keys := make([]string, 0, len(got))
	for k := range got {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{"asOf", "asOfSequence", "carePlans", "complexityDecisions", "conditions", "consents", "effectiveAt", "encounters",
		"enrolled", "externalClaims", "months", "patientId", "programs", "skipped", "skippedEventIds"}
	if !slices.Equal(keys, want) {
		t.Errorf("got keys %v, want %v", keys, want)
	}
	for _, k := range []string{"carePlans", "complexityDecisions", "conditions", "consents", "encounters", "externalClaims", "programs", "skippedEventIds"} {
		if string(got[k]) != "[]" {
			t.Errorf("got %s = %s, want []", k, got[k])
		}
	}
	if string(got["months"]) != "null" {
		t.Errorf("got months = %s, want null", got["months"])
	}

	full := state.Fold(patient, history(t, enrolment(enrolledAt), grant("c-1", obtained, obtained), revoke("c-1", revokedAt, revokedAt)), later, later, ny)
	b, err = json.Marshal(full)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	for _, k := range []string{`"enrollment":{"mrn":"M1"`, `"billingPractitionerNpi":"1234567893"`, `"status":"revoked"`,
		`"billableThrough":"2025-03-31"`, `"programs":[{"program":"ccm","inForce":false,"consentId":"c-1"`, `"firstActivityAt":"2025-03-01T09:00:00-05:00"`} {
		if !strings.Contains(string(b), k) {
			t.Errorf("got %s, want it to contain %s", b, k)
		}
	}
}
