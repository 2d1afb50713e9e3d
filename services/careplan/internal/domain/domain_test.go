package domain_test

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/errs"
	"github.com/carelog/carelog/pkg/eventlog"
	"github.com/carelog/carelog/services/careplan/internal/domain"
	"github.com/carelog/carelog/services/careplan/plan"
)

// now is the pinned clock of every test.
var now = time.Date(2025, 3, 14, 15, 0, 0, 0, time.UTC)

const npi = "1234567893"

var established = now.Add(-10 * 24 * time.Hour) // 2025-03-04

func record(seq uint64, id string, typ events.Type, payload any) eventlog.Record {
	data, err := json.Marshal(payload)
	if err != nil {
		panic(err)
	}
	return eventlog.Record{Sequence: seq, Envelope: events.Envelope{
		ID: id, Type: typ, Version: 1, Stream: "patient.p-1", PatientID: "p-1",
		OccurredAt: now, RecordedAt: now, Data: data,
	}}
}

func enrolled() eventlog.Record {
	return record(1, "patient-p-1", events.TypePatientEnrolled, events.PatientEnrolled{ID: "p-1", MRN: "m", MBI: "1EG4TE5MK73",
		Name: events.PersonName{Given: "A", Family: "B"}, BirthDate: "1950-01-01", BillingPractitionerNPI: npi})
}

func fullPlan() events.CarePlanEstablished {
	return events.CarePlanEstablished{
		ID: "cp-1", Kind: "comprehensive", EstablishedAt: established, AuthorNPI: npi, Electronic: true,
		Problems:        []events.CarePlanProblem{{Code: "I50.22", Description: "heart failure"}, {Code: "E11.65"}},
		ExpectedOutcome: "stable", Prognosis: "fair",
		Goals:             []events.CarePlanGoal{{ConditionCode: "E11.65", Description: "glucose control", Measure: "HbA1c", Target: "< 8 %", TargetDate: "2025-09-01"}},
		SymptomManagement: "daily weights",
		Interventions: []events.CarePlanIntervention{{Description: "weekly call", ConditionCode: "I50.22",
			Responsible: events.ResponsibleParty{Name: "R. Nurse", Role: "rn", StaffID: "rn-4"}}},
		Medications:        []events.Medication{{Name: "metformin", Dose: "500 mg", Frequency: "bid"}},
		CommunityResources: []events.CommunityResource{{Name: "Meals on Wheels", Purpose: "meals"}},
		Coordination:       []events.CoordinationContact{{Name: "Dr. Heart", Role: "cardiology", NPI: npi, Purpose: "titration"}},
		ReviewSchedule:     events.ReviewSchedule{IntervalMonths: 3, NextReviewDate: "2025-06-01"},
	}
}

func establishedRec() eventlog.Record {
	return record(2, "careplan-cp-1", events.TypeCarePlanEstablished, fullPlan())
}

func fold(given ...eventlog.Record) domain.State {
	s := domain.Initial()
	for _, r := range given {
		s = domain.Evolve(s, r)
	}
	return s
}

func ptr[T any](v T) *T { return &v }

// wantErr is what a decide function must return: "" for success, else the
// kind and, for invalid input, the field.
type wantErr struct {
	kind  errs.Kind
	field string
}

var ok = wantErr{}

func invalid(field string) wantErr { return wantErr{errs.Invalid, field} }

var (
	notFound = wantErr{kind: errs.NotFound}
	conflict = wantErr{kind: errs.Conflict}
)

func check(t *testing.T, err error, want wantErr) {
	t.Helper()
	if want.kind == "" {
		if err != nil {
			t.Fatalf("got %v, want no error", err)
		}
		return
	}
	var e *errs.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v, want a %s error", err, want.kind)
	}
	if e.Kind != want.kind || e.Field != want.field {
		t.Fatalf("got %s on field %q (%v), want %s on field %q", e.Kind, e.Field, err, want.kind, want.field)
	}
}

func TestEstablish(t *testing.T) {
	with := func(f func(*events.CarePlanEstablished)) events.CarePlanEstablished {
		e := fullPlan()
		f(&e)
		return e
	}
	tests := []struct {
		name  string
		given []eventlog.Record
		when  events.CarePlanEstablished
		then  wantErr
	}{
		{"complete plan", []eventlog.Record{enrolled()}, fullPlan(), ok},
		{"incomplete plan is stored, not refused", []eventlog.Record{enrolled()},
			events.CarePlanEstablished{ID: "cp-2", Kind: "disease_specific", EstablishedAt: established, AuthorNPI: npi}, ok},
		{"established within the clock skew", []eventlog.Record{enrolled()},
			with(func(e *events.CarePlanEstablished) { e.EstablishedAt = now.Add(4 * time.Minute) }), ok},
		{"patient not enrolled", nil, fullPlan(), notFound},
		{"patient not enrolled, other events only", []eventlog.Record{record(1, "x", events.TypeConditionRecorded, events.ConditionRecorded{Code: "I50.22"})},
			fullPlan(), notFound},
		{"plan id taken", []eventlog.Record{enrolled(), establishedRec()},
			with(func(e *events.CarePlanEstablished) { e.EstablishedAt = now }), conflict},
		{"no id", []eventlog.Record{enrolled()}, with(func(e *events.CarePlanEstablished) { e.ID = "" }), invalid("id")},
		{"id with a dot", []eventlog.Record{enrolled()}, with(func(e *events.CarePlanEstablished) { e.ID = "cp.1" }), invalid("id")},
		{"id too long", []eventlog.Record{enrolled()}, with(func(e *events.CarePlanEstablished) {
			e.ID = "c1234567890123456789012345678901234567890123456789012345678901234"
		}), invalid("id")},
		{"no kind", []eventlog.Record{enrolled()}, with(func(e *events.CarePlanEstablished) { e.Kind = "" }), invalid("kind")},
		{"unknown kind", []eventlog.Record{enrolled()}, with(func(e *events.CarePlanEstablished) { e.Kind = "basic" }), invalid("kind")},
		{"no establishedAt", []eventlog.Record{enrolled()}, with(func(e *events.CarePlanEstablished) { e.EstablishedAt = time.Time{} }), invalid("establishedAt")},
		{"establishedAt in the future", []eventlog.Record{enrolled()},
			with(func(e *events.CarePlanEstablished) { e.EstablishedAt = now.Add(6 * time.Minute) }), invalid("establishedAt")},
		{"no authorNpi", []eventlog.Record{enrolled()}, with(func(e *events.CarePlanEstablished) { e.AuthorNPI = "" }), invalid("authorNpi")},
		{"authorNpi with a bad check digit", []eventlog.Record{enrolled()},
			with(func(e *events.CarePlanEstablished) { e.AuthorNPI = "1234567890" }), invalid("authorNpi")},
		{"problem without a code", []eventlog.Record{enrolled()},
			with(func(e *events.CarePlanEstablished) { e.Problems[1].Code = "" }), invalid("problems[1].code")},
		{"problem code not ICD-10-CM", []eventlog.Record{enrolled()},
			with(func(e *events.CarePlanEstablished) { e.Problems[0].Code = "150.22" }), invalid("problems[0].code")},
		{"goal without a description", []eventlog.Record{enrolled()},
			with(func(e *events.CarePlanEstablished) { e.Goals[0].Description = " " }), invalid("goals[0].description")},
		{"goal without a measure is stored (incomplete)", []eventlog.Record{enrolled()},
			with(func(e *events.CarePlanEstablished) { e.Goals[0].Measure = "" }), ok},
		{"goal condition code malformed", []eventlog.Record{enrolled()},
			with(func(e *events.CarePlanEstablished) { e.Goals[0].ConditionCode = "diabetes" }), invalid("goals[0].conditionCode")},
		{"goal target date malformed", []eventlog.Record{enrolled()},
			with(func(e *events.CarePlanEstablished) { e.Goals[0].TargetDate = "2025-9-1" }), invalid("goals[0].targetDate")},
		{"intervention without a description", []eventlog.Record{enrolled()},
			with(func(e *events.CarePlanEstablished) { e.Interventions[0].Description = "" }), invalid("interventions[0].description")},
		{"intervention without a responsible name", []eventlog.Record{enrolled()},
			with(func(e *events.CarePlanEstablished) { e.Interventions[0].Responsible.Name = "" }), invalid("interventions[0].responsible.name")},
		{"intervention without a responsible role", []eventlog.Record{enrolled()},
			with(func(e *events.CarePlanEstablished) { e.Interventions[0].Responsible.Role = "" }), invalid("interventions[0].responsible.role")},
		{"intervention with an unknown role", []eventlog.Record{enrolled()},
			with(func(e *events.CarePlanEstablished) { e.Interventions[0].Responsible.Role = "doctor" }), invalid("interventions[0].responsible.role")},
		{"intervention for the caregiver", []eventlog.Record{enrolled()},
			with(func(e *events.CarePlanEstablished) {
				e.Interventions[0].Responsible = events.ResponsibleParty{Name: "Daughter", Role: "caregiver"}
			}), ok},
		{"intervention staff id malformed", []eventlog.Record{enrolled()},
			with(func(e *events.CarePlanEstablished) { e.Interventions[0].Responsible.StaffID = "rn 4" }), invalid("interventions[0].responsible.staffId")},
		{"medication without a name", []eventlog.Record{enrolled()},
			with(func(e *events.CarePlanEstablished) { e.Medications[0].Name = "" }), invalid("medications[0].name")},
		{"community resource without a name", []eventlog.Record{enrolled()},
			with(func(e *events.CarePlanEstablished) { e.CommunityResources[0].Name = "" }), invalid("communityResources[0].name")},
		{"coordination contact without a name", []eventlog.Record{enrolled()},
			with(func(e *events.CarePlanEstablished) { e.Coordination[0].Name = "" }), invalid("coordination[0].name")},
		{"coordination contact with a bad NPI", []eventlog.Record{enrolled()},
			with(func(e *events.CarePlanEstablished) { e.Coordination[0].NPI = "123" }), invalid("coordination[0].npi")},
		{"negative review interval", []eventlog.Record{enrolled()},
			with(func(e *events.CarePlanEstablished) { e.ReviewSchedule.IntervalMonths = -1 }), invalid("reviewSchedule.intervalMonths")},
		{"review interval over a year", []eventlog.Record{enrolled()},
			with(func(e *events.CarePlanEstablished) { e.ReviewSchedule.IntervalMonths = 13 }), invalid("reviewSchedule.intervalMonths")},
		{"next review date malformed", []eventlog.Record{enrolled()},
			with(func(e *events.CarePlanEstablished) { e.ReviewSchedule.NextReviewDate = "June" }), invalid("reviewSchedule.nextReviewDate")},
		{"bad input is reported before a missing patient", nil,
			with(func(e *events.CarePlanEstablished) { e.Kind = "x" }), invalid("kind")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check(t, domain.Establish(fold(tt.given...), tt.when, now), tt.then)
		})
	}
}

func TestRevise(t *testing.T) {
	base := func(f func(*events.CarePlanRevised)) events.CarePlanRevised {
		r := events.CarePlanRevised{PlanID: "cp-1", RevisedAt: now.Add(-time.Hour), AuthorNPI: npi, Prognosis: ptr("good")}
		if f != nil {
			f(&r)
		}
		return r
	}
	given := []eventlog.Record{enrolled(), establishedRec()}
	tests := []struct {
		name  string
		given []eventlog.Record
		when  events.CarePlanRevised
		then  wantErr
	}{
		{"one element", given, base(nil), ok},
		{"emptying an element is a change", given, base(func(r *events.CarePlanRevised) {
			r.Prognosis, r.Medications = nil, []events.Medication{}
		}), ok},
		{"only the electronic flag", given, base(func(r *events.CarePlanRevised) { r.Prognosis, r.Electronic = nil, ptr(false) }), ok},
		{"revised the moment it was established", given, base(func(r *events.CarePlanRevised) { r.RevisedAt = established }), ok},
		{"nothing changed", given, base(func(r *events.CarePlanRevised) { r.Prognosis = nil }), wantErr{kind: errs.Invalid}},
		{"revision before establishment", given, base(func(r *events.CarePlanRevised) { r.RevisedAt = established.Add(-time.Second) }),
			invalid("revisedAt")},
		{"revision in the future", given, base(func(r *events.CarePlanRevised) { r.RevisedAt = now.Add(time.Hour) }), invalid("revisedAt")},
		{"no revisedAt", given, base(func(r *events.CarePlanRevised) { r.RevisedAt = time.Time{} }), invalid("revisedAt")},
		{"no authorNpi", given, base(func(r *events.CarePlanRevised) { r.AuthorNPI = "" }), invalid("authorNpi")},
		{"bad authorNpi", given, base(func(r *events.CarePlanRevised) { r.AuthorNPI = "12345678901" }), invalid("authorNpi")},
		{"bad element shape", given, base(func(r *events.CarePlanRevised) {
			r.Interventions = []events.CarePlanIntervention{{Description: "call", Responsible: events.ResponsibleParty{Name: "X", Role: "nurse"}}}
		}), invalid("interventions[0].responsible.role")},
		{"bad review schedule", given, base(func(r *events.CarePlanRevised) { r.ReviewSchedule = &events.ReviewSchedule{IntervalMonths: 24} }),
			invalid("reviewSchedule.intervalMonths")},
		{"unknown plan", given, base(func(r *events.CarePlanRevised) { r.PlanID = "cp-9" }), notFound},
		{"unknown patient", nil, base(nil), notFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check(t, domain.Revise(fold(tt.given...), tt.when, now), tt.then)
		})
	}
}

func TestProvideCopy(t *testing.T) {
	base := func(f func(*events.CarePlanCopyProvided)) events.CarePlanCopyProvided {
		c := events.CarePlanCopyProvided{PlanID: "cp-1", ProvidedAt: now.Add(-time.Hour), To: "patient", Method: "portal"}
		if f != nil {
			f(&c)
		}
		return c
	}
	given := []eventlog.Record{enrolled(), establishedRec()}
	tests := []struct {
		name  string
		given []eventlog.Record
		when  events.CarePlanCopyProvided
		then  wantErr
	}{
		{"to the patient by portal", given, base(nil), ok},
		{"to a caregiver by mail", given, base(func(c *events.CarePlanCopyProvided) { c.To, c.Method = "caregiver", "mail" }), ok},
		{"unknown recipient", given, base(func(c *events.CarePlanCopyProvided) { c.To = "neighbour" }), invalid("to")},
		{"no recipient", given, base(func(c *events.CarePlanCopyProvided) { c.To = "" }), invalid("to")},
		{"unknown method", given, base(func(c *events.CarePlanCopyProvided) { c.Method = "fax" }), invalid("method")},
		{"no providedAt", given, base(func(c *events.CarePlanCopyProvided) { c.ProvidedAt = time.Time{} }), invalid("providedAt")},
		{"providedAt in the future", given, base(func(c *events.CarePlanCopyProvided) { c.ProvidedAt = now.Add(time.Hour) }), invalid("providedAt")},
		{"before the plan existed", given, base(func(c *events.CarePlanCopyProvided) { c.ProvidedAt = established.Add(-time.Minute) }),
			invalid("providedAt")},
		{"unknown plan", given, base(func(c *events.CarePlanCopyProvided) { c.PlanID = "cp-2" }), notFound},
		{"unknown patient", nil, base(nil), notFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check(t, domain.ProvideCopy(fold(tt.given...), tt.when, now), tt.then)
		})
	}
}

func TestRecordComplexity(t *testing.T) {
	chicago := time.FixedZone("CST", -6*3600)
	base := func(f func(*events.ComplexityRecorded)) events.ComplexityRecorded {
		c := events.ComplexityRecorded{Month: "2025-03", Level: "moderate", PractitionerNPI: npi, DecidedAt: now.Add(-time.Hour)}
		if f != nil {
			f(&c)
		}
		return c
	}
	given := []eventlog.Record{enrolled()}
	tests := []struct {
		name  string
		given []eventlog.Record
		when  events.ComplexityRecorded
		then  wantErr
	}{
		{"this month", given, base(nil), ok},
		{"a past month", given, base(func(c *events.ComplexityRecorded) {
			c.Month, c.Level, c.DecidedAt = "2025-01", "high", time.Date(2025, 1, 31, 23, 0, 0, 0, time.UTC)
		}), ok},
		{"decidedAt read in its own offset", given, base(func(c *events.ComplexityRecorded) {
			// 2025-03-01T03:00Z is still February in Chicago.
			c.Month, c.DecidedAt = "2025-02", time.Date(2025, 2, 28, 21, 0, 0, 0, chicago)
		}), ok},
		{"decidedAt after the month it is for", given, base(func(c *events.ComplexityRecorded) { c.Month = "2025-02" }), ok},
		{"next month", given, base(func(c *events.ComplexityRecorded) { c.Month = "2025-04" }), invalid("month")},
		{"no month", given, base(func(c *events.ComplexityRecorded) { c.Month = "" }), invalid("month")},
		{"month malformed", given, base(func(c *events.ComplexityRecorded) { c.Month = "2025-3" }), invalid("month")},
		{"month thirteen", given, base(func(c *events.ComplexityRecorded) { c.Month = "2025-13" }), invalid("month")},
		{"unknown level", given, base(func(c *events.ComplexityRecorded) { c.Level = "extreme" }), invalid("level")},
		{"no level", given, base(func(c *events.ComplexityRecorded) { c.Level = "" }), invalid("level")},
		{"bad NPI", given, base(func(c *events.ComplexityRecorded) { c.PractitionerNPI = "1234567892" }), invalid("practitionerNpi")},
		{"no decidedAt", given, base(func(c *events.ComplexityRecorded) { c.DecidedAt = time.Time{} }), invalid("decidedAt")},
		{"decidedAt in the future", given, base(func(c *events.ComplexityRecorded) { c.DecidedAt = now.Add(10 * time.Minute) }), invalid("decidedAt")},
		{"unknown patient", nil, base(nil), notFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check(t, domain.RecordComplexity(fold(tt.given...), tt.when, now), tt.then)
		})
	}
}

// At the month's turn the next month has begun east of UTC, so it is not
// refused as a future month (the service does not know the practice's zone).
func TestRecordComplexityAtTheMonthsTurn(t *testing.T) {
	turn := time.Date(2025, 3, 31, 12, 0, 0, 0, time.UTC) // 2025-04-01 02:00 at UTC+14
	kiritimati := time.FixedZone("LINT", 14*3600)
	c := events.ComplexityRecorded{Month: "2025-04", Level: "low", PractitionerNPI: npi, DecidedAt: turn.In(kiritimati)}
	check(t, domain.RecordComplexity(fold(enrolled()), c, turn), ok)
	c.Month, c.DecidedAt = "2025-05", turn
	check(t, domain.RecordComplexity(fold(enrolled()), c, turn), invalid("month"))
}

func TestEvolve(t *testing.T) {
	s := fold(
		enrolled(),
		record(2, "careplan-cp-1", events.TypeCarePlanEstablished, fullPlan()),
		record(3, "x-1", events.TypeConsentGranted, events.ConsentGranted{ID: "c-1"}),
		record(4, "rev-1", events.TypeCarePlanRevised, events.CarePlanRevised{PlanID: "cp-1", RevisedAt: now, AuthorNPI: npi, Goals: []events.CarePlanGoal{}}),
		record(5, "copy-1", events.TypeCarePlanCopyProvided, events.CarePlanCopyProvided{PlanID: "cp-1", ProvidedAt: now, To: "patient", Method: "paper"}),
		record(6, "cx-1", events.TypeComplexityRecorded, events.ComplexityRecorded{Month: "2025-03", Level: "high", PractitionerNPI: npi, DecidedAt: now}),
		record(7, "cx-2", events.TypeComplexityRecorded, events.ComplexityRecorded{Month: "2025-03", Level: "moderate", PractitionerNPI: npi, DecidedAt: now}),
		// for an unknown plan: ignored, never a failure
		record(8, "rev-x", events.TypeCarePlanRevised, events.CarePlanRevised{PlanID: "cp-9", RevisedAt: now}),
		record(9, "copy-x", events.TypeCarePlanCopyProvided, events.CarePlanCopyProvided{PlanID: "cp-9"}),
		// a second establishment of cp-1 does not replace it
		record(10, "careplan-dup", events.TypeCarePlanEstablished, events.CarePlanEstablished{ID: "cp-1"}),
	)
	if !s.Enrolled {
		t.Error("Enrolled: got false, want true")
	}
	p, found := s.Plan("cp-1")
	if !found || len(s.Plans) != 1 || !slices.Equal(s.PlanIDs, []string{"cp-1"}) {
		t.Fatalf("plans: got %v (ids %v), want cp-1 only", s.Plans, s.PlanIDs)
	}
	if p.EventID != "careplan-cp-1" || p.RevisionCount != 1 || len(p.Copies) != 1 || p.Copies[0].EventID != "copy-1" {
		t.Errorf("got plan %+v, want established by careplan-cp-1, one revision, one copy", p)
	}
	if got, want := p.Missing(), []string{plan.ElementMeasurableTreatmentGoals}; !slices.Equal(got, want) {
		t.Errorf("Missing: got %v, want %v", got, want)
	}
	if got := s.Complexity["2025-03"]; len(got) != 2 || got[0].Level != "high" || got[1].EventID != "cx-2" {
		t.Errorf("complexity: got %+v, want high then moderate", got)
	}
}

// Evolve returns a new state and leaves the one it was given as it was, so
// that a state handed to a reader does not change under it.
func TestEvolveDoesNotChangeEarlierStates(t *testing.T) {
	before := fold(enrolled(), establishedRec())
	after := domain.Evolve(before, record(3, "rev-1", events.TypeCarePlanRevised,
		events.CarePlanRevised{PlanID: "cp-1", RevisedAt: now, AuthorNPI: npi, Prognosis: ptr("poor")}))
	after = domain.Evolve(after, record(4, "copy-1", events.TypeCarePlanCopyProvided,
		events.CarePlanCopyProvided{PlanID: "cp-1", ProvidedAt: now, To: "patient", Method: "paper"}))
	after = domain.Evolve(after, record(5, "cp-2", events.TypeCarePlanEstablished, events.CarePlanEstablished{ID: "cp-2"}))
	after = domain.Evolve(after, record(6, "cx", events.TypeComplexityRecorded, events.ComplexityRecorded{Month: "2025-03"}))
	if p := before.Plans["cp-1"]; p.Prognosis != "fair" || p.RevisionCount != 0 || len(p.Copies) != 0 {
		t.Errorf("earlier state: got %+v, want it unchanged", p)
	}
	if len(before.Plans) != 1 || len(before.PlanIDs) != 1 || len(before.Complexity) != 0 {
		t.Errorf("earlier state: got %d plans, %d complexity months, want 1 and 0", len(before.Plans), len(before.Complexity))
	}
	if p := after.Plans["cp-1"]; p.Prognosis != "poor" || len(p.Copies) != 1 || len(after.Plans) != 2 {
		t.Errorf("later state: got %+v, want it revised with a copy, beside cp-2", p)
	}
}

func TestEvolveFromZeroState(t *testing.T) {
	s := domain.Evolve(domain.State{}, establishedRec())
	s = domain.Evolve(s, record(3, "cx", events.TypeComplexityRecorded, events.ComplexityRecorded{Month: "2025-03"}))
	if len(s.Plans) != 1 || len(s.Complexity) != 1 {
		t.Errorf("got %d plans and %d months, want 1 and 1", len(s.Plans), len(s.Complexity))
	}
}

func TestValidNPI(t *testing.T) {
	for _, tt := range []struct {
		npi  string
		want bool
	}{
		{"1234567893", true},
		{"1245319599", true},
		{"1679576722", true},
		{"1234567890", false},
		{"123456789", false},
		{"12345678933", false},
		{"123456789a", false},
		{"", false},
	} {
		if got := domain.ValidNPI(tt.npi); got != tt.want {
			t.Errorf("ValidNPI(%q): got %v, want %v", tt.npi, got, tt.want)
		}
	}
}

func TestValidICD10CM(t *testing.T) {
	for _, tt := range []struct {
		code string
		want bool
	}{
		{"I50.22", true}, {"E11.65", true}, {"N18", true}, {"Z79.4", true}, {"S72.001A", true}, {"C4A.0", true},
		{"i50.22", true}, {"I5022", true}, {"U07.1", true}, // any case, dot or not; U codes are codes
		{"I50.", false}, {"I50.22222", false}, {"150.22", false}, {"", false},
	} {
		if got := domain.ValidICD10CM(tt.code); got != tt.want {
			t.Errorf("ValidICD10CM(%q): got %v, want %v", tt.code, got, tt.want)
		}
	}
}

func TestParsers(t *testing.T) {
	const op = "test"
	for _, tt := range []struct {
		name string
		err  error
		want wantErr
	}{
		{"time with offset", second(domain.ParseTime(op, "at", "2025-03-14T09:30:00-05:00")), ok},
		{"time in UTC", second(domain.ParseTime(op, "at", "2025-03-14T09:30:00.5Z")), ok},
		{"time without offset", second(domain.ParseTime(op, "at", "2025-03-14T09:30:00")), invalid("at")},
		{"a date is not a time", second(domain.ParseTime(op, "at", "2025-03-14")), invalid("at")},
		{"no time", second(domain.ParseTime(op, "at", "")), invalid("at")},
		{"date", second(domain.ParseDate(op, "d", "2025-02-28")), ok},
		{"impossible date", second(domain.ParseDate(op, "d", "2025-02-30")), invalid("d")},
		{"month", second(domain.ParseMonth(op, "m", "2025-12")), ok},
		{"month with a day", second(domain.ParseMonth(op, "m", "2025-12-01")), invalid("m")},
		{"bool absent", second(domain.Bool(op, "electronic", nil)), invalid("electronic")},
		{"bool false", second(domain.Bool(op, "electronic", ptr(false))), ok},
	} {
		t.Run(tt.name, func(t *testing.T) { check(t, tt.err, tt.want) })
	}
}

func second[T any](_ T, err error) error { return err }
