package facts_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/eventlog"
	"github.com/carelog/carelog/services/billing/internal/facts"
	"github.com/carelog/carelog/services/billing/rules"
)

var march = rules.MustMonth("2025-03")

func TestPracticeApply(t *testing.T) {
	l := newLog(t)
	p0 := facts.NewPractice()
	if p0.Location != time.UTC || p0.Seq != 0 {
		t.Fatalf("NewPractice: got %v seq %d, want UTC and 0", p0.Location, p0.Seq)
	}
	cfg := l.practice(events.TypePracticeConfigured, events.PracticeConfigured{Name: "Riverside", Timezone: "America/Chicago", BillingNPI: npiA, TaxID: "123456789",
		Policy: json.RawMessage(`{"afterRevocation":"count_to_month_end","lateEntryDays":3}`)})
	p1, ok := p0.Apply(cfg)
	if !ok || p1.Location.String() != "America/Chicago" || p1.BillingNPI != npiA || p1.Seq != 1 {
		t.Fatalf("configured: got ok=%v %v %s seq %d, want America/Chicago, %s, 1", ok, p1.Location, p1.BillingNPI, p1.Seq, npiA)
	}
	if p1.Policy.AfterRevocation != rules.CountToMonthEnd || p1.Policy.LateEntryDays != 3 || p1.Policy.InpatientDays != "" {
		t.Errorf("policy: got %+v, want afterRevocation count_to_month_end, lateEntryDays 3, the rest default (empty)", p1.Policy)
	}
	p2, ok := p1.Apply(l.practice(events.TypePractitionerRegistered, events.PractitionerRegistered{NPI: npiB, Name: "NP B", Kind: "np", Credential: "NP"}))
	if !ok || p2.Kind(npiB) != rules.KindNP || p2.Kind(npiA) != "" {
		t.Fatalf("registered: got ok=%v kind %q, want np", ok, p2.Kind(npiB))
	}
	if p1.Kind(npiB) != "" {
		t.Errorf("Apply changed the receiver's practitioners: got %q for %s", p1.Kind(npiB), npiB)
	}
	// An unknown zone reads as UTC; a policy that does not decode keeps the
	// previous one.
	p3, _ := p2.Apply(l.practice(events.TypePracticeConfigured, events.PracticeConfigured{Timezone: "Mars/Olympus", Policy: json.RawMessage(`{"lateEntryDays":"x"}`)}))
	if p3.Location != time.UTC || p3.Policy.LateEntryDays != 3 {
		t.Errorf("unknown zone, bad policy: got %v, lateEntryDays %d; want UTC, 3", p3.Location, p3.Policy.LateEntryDays)
	}
	if _, ok := p3.Apply(l.p(events.TypeConditionRecorded, condition("I10", 12))); ok {
		t.Error("a patient event applied to the practice: got ok, want ignored")
	}
	var h facts.PracticeHistory
	h.Add(p1)
	h.Add(p2)
	if got := h.At(1); got.Kind(npiB) != "" || got.Seq != 1 {
		t.Errorf("History.At(1): got seq %d with %s registered, want the configuration alone", got.Seq, npiB)
	}
	if got := h.At(99); got.Seq != 2 {
		t.Errorf("History.At(99): got seq %d, want 2", got.Seq)
	}
	if got := h.At(0); got.Seq != 0 || got.Location != time.UTC {
		t.Errorf("History.At(0): got seq %d %v, want the empty practice", got.Seq, got.Location)
	}
}

// patientCase folds given into a patient and checks the March facts.
type patientCase struct {
	name  string
	given func(l *log) []eventlog.Record
	// change is checked on the last given event.
	change func(t *testing.T, c facts.Change)
	then   func(t *testing.T, p *facts.Patient, f rules.Facts)
}

func TestPatientApply(t *testing.T) {
	allChange := func(t *testing.T, c facts.Change) {
		t.Helper()
		if !c.Applied || !c.All {
			t.Errorf("change: got %+v, want applied to every month", c)
		}
	}
	tests := []patientCase{
		{
			name:   "patient.enrolled",
			given:  func(l *log) []eventlog.Record { return []eventlog.Record{l.p(events.TypePatientEnrolled, enrolled())} },
			change: allChange,
			then: func(t *testing.T, p *facts.Patient, f rules.Facts) {
				if !p.Enrolled || p.BillingNPI != npiA || f.BillingPractitioner.NPI != npiA || f.Patient.EventID != "ev-1" {
					t.Errorf("got enrolled=%v npi %s, patient %+v; want enrolled, %s, eventId ev-1", p.Enrolled, p.BillingNPI, f.Patient, npiA)
				}
				if f.Patient.BirthDate.String() != "1948-02-03" || !f.Patient.DeceasedDate.IsZero() {
					t.Errorf("dates: got %+v", f.Patient)
				}
			},
		},
		{
			name: "patient.enrolled with a date of death, then patient.died",
			given: func(l *log) []eventlog.Record {
				e := enrolled()
				e.DeceasedDate = "2025-04-02"
				return []eventlog.Record{l.p(events.TypePatientEnrolled, e), l.p(events.TypePatientDied, events.PatientDied{DeceasedDate: "2025-03-18"})}
			},
			change: allChange,
			then: func(t *testing.T, p *facts.Patient, f rules.Facts) {
				if got := f.Patient.DeceasedDate.String(); got != "2025-03-18" {
					t.Errorf("deceased: got %s, want 2025-03-18 (the later event)", got)
				}
			},
		},
		{
			name: "condition.recorded",
			given: func(l *log) []eventlog.Record {
				c := condition("E11.65", 120)
				c.OnsetDate = "2019-05-01"
				return []eventlog.Record{l.p(events.TypeConditionRecorded, c)}
			},
			change: allChange,
			then: func(t *testing.T, p *facts.Patient, f rules.Facts) {
				want := []rules.Condition{{Code: "E11.65", Description: "chronic", ExpectedDurationMonths: 120, SignificantRisk: true, OnsetDate: rules.Date{Year: 2019, Month: 5, Day: 1}, EventID: "ev-1"}}
				if mustJSON(f.Conditions) != mustJSON(want) {
					t.Errorf("conditions: got %+v, want %+v", f.Conditions, want)
				}
			},
		},
		{
			name: "consent.granted and consent.declined",
			given: func(l *log) []eventlog.Record {
				d := granted("c-2", at(1, 5, 9, 0))
				d.Program, d.PractitionerNPI = "pcm", npiB
				return []eventlog.Record{
					l.p(events.TypeConsentGranted, granted("c-1", at(1, 10, 10, 30))),
					l.p(events.TypeConsentDeclined, events.ConsentDeclined(d)),
				}
			},
			change: allChange,
			then: func(t *testing.T, p *facts.Patient, f rules.Facts) {
				if len(f.Consents) != 2 {
					t.Fatalf("consents: got %d, want 2", len(f.Consents))
				}
				g, d := f.Consents[0], f.Consents[1]
				if g.Decision != rules.DecisionAccepted || g.Program != rules.ProgramCCM || g.EventID != "ev-1" || !slices.Equal(g.Disclosures, allDisclosures) || !g.RevokedAt.IsZero() {
					t.Errorf("granted: got %+v", g)
				}
				if d.Decision != rules.DecisionDeclined || d.Program != rules.ProgramPCM || d.PractitionerNPI != npiB || d.EventID != "ev-2" {
					t.Errorf("declined: got %+v", d)
				}
			},
		},
		{
			name: "consent.revoked",
			given: func(l *log) []eventlog.Record {
				return []eventlog.Record{
					l.p(events.TypeConsentGranted, granted("c-1", at(1, 10, 10, 30))),
					l.p(events.TypeConsentRevoked, events.ConsentRevoked{ConsentID: "c-1", RevokedAt: at(3, 15, 9, 0), RecordedBy: "RN Jo"}),
				}
			},
			change: allChange,
			then: func(t *testing.T, p *facts.Patient, f rules.Facts) {
				if len(f.Consents) != 1 || !f.Consents[0].RevokedAt.Equal(at(3, 15, 9, 0)) {
					t.Errorf("consents: got %+v, want c-1 revoked on 2025-03-15 09:00", f.Consents)
				}
			},
		},
		{
			name: "consent.revoked of an unknown consent",
			given: func(l *log) []eventlog.Record {
				return []eventlog.Record{l.p(events.TypeConsentRevoked, events.ConsentRevoked{ConsentID: "nope", RevokedAt: at(3, 15, 9, 0)})}
			},
			change: func(t *testing.T, c facts.Change) {
				if c.Applied {
					t.Errorf("change: got %+v, want not applied", c)
				}
			},
			then: func(t *testing.T, p *facts.Patient, f rules.Facts) {},
		},
		{
			name: "careplan.established complete, then a copy",
			given: func(l *log) []eventlog.Record {
				return []eventlog.Record{
					l.p(events.TypeCarePlanEstablished, completePlan("plan-1", at(1, 10, 11, 0))),
					l.p(events.TypeCarePlanCopyProvided, events.CarePlanCopyProvided{PlanID: "plan-1", ProvidedAt: at(1, 10, 12, 0), To: "patient", Method: "portal"}),
				}
			},
			change: allChange,
			then: func(t *testing.T, p *facts.Patient, f rules.Facts) {
				want := []rules.CarePlan{{ID: "plan-1", Kind: "comprehensive", EstablishedAt: at(1, 10, 11, 0), AuthorNPI: npiA, Electronic: true,
					MissingElements: []string{}, Copies: []rules.CarePlanCopy{{ProvidedAt: at(1, 10, 12, 0), To: "patient", Method: "portal", EventID: "ev-2"}}, EventID: "ev-1"}}
				if mustJSON(f.CarePlans) != mustJSON(want) {
					t.Errorf("care plans: got %+v, want %+v", f.CarePlans, want)
				}
			},
		},
		{
			name: "careplan.established incomplete, then revised complete",
			given: func(l *log) []eventlog.Record {
				cp := completePlan("plan-1", at(1, 10, 11, 0))
				goals := cp.Goals
				cp.Goals, cp.CommunityResources = nil, nil
				return []eventlog.Record{
					l.p(events.TypeCarePlanEstablished, cp),
					l.p(events.TypeCarePlanRevised, events.CarePlanRevised{PlanID: "plan-1", RevisedAt: at(2, 1, 9, 0), AuthorNPI: npiA, Goals: goals}),
				}
			},
			change: allChange,
			then: func(t *testing.T, p *facts.Patient, f rules.Facts) {
				if got := f.CarePlans[0].MissingElements; !slices.Equal(got, []string{"community_resources"}) {
					t.Errorf("missing after the revision: got %v, want [community_resources]", got)
				}
				if got := p.FactsThrough(march, facts.NewPractice(), nil, 1).CarePlans[0].MissingElements; !slices.Equal(got, []string{"measurable_treatment_goals", "community_resources"}) {
					t.Errorf("missing through the establishment: got %v, want [measurable_treatment_goals community_resources]", got)
				}
			},
		},
		{
			name: "disease-specific plan needs no community resources",
			given: func(l *log) []eventlog.Record {
				cp := completePlan("plan-1", at(1, 10, 11, 0))
				cp.Kind, cp.CommunityResources = "disease_specific", nil
				return []eventlog.Record{l.p(events.TypeCarePlanEstablished, cp)}
			},
			change: allChange,
			then: func(t *testing.T, p *facts.Patient, f rules.Facts) {
				if got := f.CarePlans[0].MissingElements; len(got) != 0 {
					t.Errorf("missing: got %v, want none", got)
				}
			},
		},
		{
			name: "copy of an unknown plan",
			given: func(l *log) []eventlog.Record {
				return []eventlog.Record{l.p(events.TypeCarePlanCopyProvided, events.CarePlanCopyProvided{PlanID: "x", ProvidedAt: at(1, 10, 12, 0), To: "patient", Method: "mail"})}
			},
			change: func(t *testing.T, c facts.Change) {
				if c.Applied {
					t.Errorf("change: got %+v, want not applied", c)
				}
			},
			then: func(t *testing.T, p *facts.Patient, f rules.Facts) {},
		},
		{
			name: "complexity.recorded",
			given: func(l *log) []eventlog.Record {
				return []eventlog.Record{l.p(events.TypeComplexityRecorded, events.ComplexityRecorded{Month: "2025-03", Level: "high", PractitionerNPI: npiA, DecidedAt: at(3, 12, 9, 0)})}
			},
			change: allChange,
			then: func(t *testing.T, p *facts.Patient, f rules.Facts) {
				want := []rules.ComplexityDecision{{Month: march, Level: "high", PractitionerNPI: npiA, DecidedAt: at(3, 12, 9, 0), EventID: "ev-1"}}
				if mustJSON(f.Complexity) != mustJSON(want) {
					t.Errorf("complexity: got %+v, want %+v", f.Complexity, want)
				}
			},
		},
		{
			name: "encounter.recorded",
			given: func(l *log) []eventlog.Record {
				end := at(3, 5, 0, 0)
				return []eventlog.Record{
					l.p(events.TypeEncounterRecorded, events.EncounterRecorded{ID: "stay-1", Kind: "inpatient_stay", Start: at(3, 3, 0, 0), End: &end}),
					l.p(events.TypeEncounterRecorded, events.EncounterRecorded{ID: "v-1", Kind: "office_visit", Code: "99214", PractitionerNPI: npiA, Start: at(3, 10, 9, 0), TimeBased: true, CCMDiscussed: true}),
				}
			},
			change: allChange,
			then: func(t *testing.T, p *facts.Patient, f rules.Facts) {
				want := []rules.Encounter{
					{ID: "stay-1", Kind: "inpatient_stay", Start: at(3, 3, 0, 0), End: at(3, 5, 0, 0), EventID: "ev-1"},
					{ID: "v-1", Kind: "office_visit", Code: "99214", PractitionerNPI: npiA, Start: at(3, 10, 9, 0), TimeBased: true, CCMDiscussed: true, EventID: "ev-2"},
				}
				if mustJSON(f.Encounters) != mustJSON(want) {
					t.Errorf("encounters: got %+v, want %+v", f.Encounters, want)
				}
			},
		},
		{
			name: "external_claim.recorded",
			given: func(l *log) []eventlog.Record {
				return []eventlog.Record{l.p(events.TypeExternalClaimRecorded, events.ExternalClaimRecorded{Code: "G0181", PractitionerNPI: npiA, ServiceMonth: "2025-03", DateOfService: "2025-03-31", Status: "paid"})}
			},
			change: func(t *testing.T, c facts.Change) {
				if !c.Applied || c.All || c.Month != march {
					t.Errorf("change: got %+v, want March only", c)
				}
			},
			then: func(t *testing.T, p *facts.Patient, f rules.Facts) {
				want := []rules.ExternalClaim{{Code: "G0181", PractitionerNPI: npiA, ServiceMonth: march, DateOfService: rules.Date{Year: 2025, Month: 3, Day: 31}, Status: "paid", EventID: "ev-1"}}
				if mustJSON(f.ExternalClaims) != mustJSON(want) {
					t.Errorf("claims: got %+v, want %+v", f.ExternalClaims, want)
				}
			},
		},
		{
			name: "activity.time_recorded",
			given: func(l *log) []eventlog.Record {
				e := timeEntry("e-1", at(3, 4, 10, 0), 11)
				e.Programs, e.SessionID, e.EncounterID = []string{"tcm", "ccm"}, "s-1", "v-1"
				e.Staff.NPI = npiA
				return []eventlog.Record{l.p(events.TypeTimeRecorded, e)}
			},
			change: func(t *testing.T, c facts.Change) {
				want := facts.Span{Start: at(3, 4, 10, 0), End: at(3, 4, 10, 11)}
				if !c.Applied || c.All || c.NSpans != 1 || !c.Spans[0].Start.Equal(want.Start) || !c.Spans[0].End.Equal(want.End) {
					t.Errorf("change: got %+v, want the entry's span", c)
				}
			},
			then: func(t *testing.T, p *facts.Patient, f rules.Facts) {
				want := []rules.TimeEntry{{ID: "e-1", EventID: "ev-1", Staff: rules.Staff{ID: "rn-1", Name: "RN Jo", Role: "rn", NPI: npiA},
					Programs: []rules.Program{"tcm", "ccm"}, StartedAt: at(3, 4, 10, 0), Minutes: 11, Activity: "medication_reconciliation",
					Outcome: "completed", SessionID: "s-1", EncounterID: "v-1", RecordedAt: at(3, 1, 8, 0)}}
				if mustJSON(f.TimeEntries) != mustJSON(want) {
					t.Errorf("entries:\n got %+v\nwant %+v", f.TimeEntries, want)
				}
			},
		},
		{
			name: "activity.time_corrected",
			given: func(l *log) []eventlog.Record {
				first := l.p(events.TypeTimeRecorded, timeEntry("e-1", at(3, 4, 10, 0), 11))
				l.recorded = at(3, 20, 8, 0)
				c := events.TimeEntry(timeEntry("e-1", at(4, 2, 10, 0), 25))
				return []eventlog.Record{first, l.p(events.TypeTimeCorrected, events.TimeCorrected{EntryID: "e-1", Entry: c, Reason: "wrong day"})}
			},
			change: func(t *testing.T, c facts.Change) {
				if !c.Applied || c.All || c.NSpans != 2 || !c.Spans[0].Start.Equal(at(3, 4, 10, 0)) || !c.Spans[1].Start.Equal(at(4, 2, 10, 0)) {
					t.Errorf("change: got %+v, want the old and the new span", c)
				}
			},
			then: func(t *testing.T, p *facts.Patient, f rules.Facts) {
				if len(f.TimeEntries) != 0 {
					t.Errorf("March entries: got %+v, want none (moved to April)", f.TimeEntries)
				}
				apr := p.Facts(rules.MustMonth("2025-04"), facts.NewPractice(), nil).TimeEntries
				if len(apr) != 1 || apr[0].Minutes != 25 || apr[0].EventID != "ev-2" || apr[0].CorrectedFrom != "ev-1" || !apr[0].RecordedAt.Equal(at(3, 1, 8, 0)) {
					t.Errorf("April entries: got %+v, want the corrected version (25 min, ev-2 from ev-1, recorded at the original time)", apr)
				}
				through := p.FactsThrough(march, facts.NewPractice(), nil, 1).TimeEntries
				if len(through) != 1 || through[0].Minutes != 11 {
					t.Errorf("March through sequence 1: got %+v, want the original 11 minutes", through)
				}
			},
		},
		{
			name: "activity.time_voided",
			given: func(l *log) []eventlog.Record {
				return []eventlog.Record{
					l.p(events.TypeTimeRecorded, timeEntry("e-1", at(3, 4, 10, 0), 11)),
					l.p(events.TypeTimeVoided, events.TimeVoided{EntryID: "e-1", Reason: "wrong patient"}),
					l.p(events.TypeTimeCorrected, events.TimeCorrected{EntryID: "e-1", Entry: events.TimeEntry(timeEntry("e-1", at(3, 4, 10, 0), 30)), Reason: "late"}),
				}
			},
			change: func(t *testing.T, c facts.Change) {
				if !c.Applied || c.NSpans != 1 {
					t.Errorf("change: got %+v, want applied (to the voided entry's month)", c)
				}
			},
			then: func(t *testing.T, p *facts.Patient, f rules.Facts) {
				if len(f.TimeEntries) != 1 || !f.TimeEntries[0].Voided || f.TimeEntries[0].Minutes != 11 {
					t.Errorf("entries: got %+v, want e-1 voided with its 11 minutes (a void is final)", f.TimeEntries)
				}
				ev := rules.Evaluate(f)
				if len(ev.Excluded) != 1 || ev.Excluded[0].Code != rules.ExcludedVoided {
					t.Errorf("excluded: got %+v, want e-1 voided", ev.Excluded)
				}
			},
		},
		{
			name: "an entry across midnight at month end belongs to both months",
			given: func(l *log) []eventlog.Record {
				return []eventlog.Record{l.p(events.TypeTimeRecorded, timeEntry("e-1", at(3, 31, 23, 50), 25))}
			},
			change: func(t *testing.T, c facts.Change) {
				first, last := facts.SpanMonths(c.Spans[0], ny)
				if first != march || last != rules.MustMonth("2025-04") {
					t.Errorf("span months: got %s–%s, want 2025-03–2025-04", first, last)
				}
			},
			then: func(t *testing.T, p *facts.Patient, f rules.Facts) {
				apr := p.Facts(rules.MustMonth("2025-04"), facts.Practice{Location: ny}, nil)
				if len(f.TimeEntries) != 1 || len(apr.TimeEntries) != 1 {
					t.Errorf("entries: got %d in March and %d in April, want 1 and 1", len(f.TimeEntries), len(apr.TimeEntries))
				}
				if len(p.Facts(rules.MustMonth("2025-05"), facts.Practice{Location: ny}, nil).TimeEntries) != 0 {
					t.Error("May: got the entry, want none")
				}
			},
		},
		{
			name: "an event billing does not read",
			given: func(l *log) []eventlog.Record {
				r := l.p(events.TypeConditionRecorded, condition("I10", 12))
				r.Type = "audit.something"
				return []eventlog.Record{r}
			},
			change: func(t *testing.T, c facts.Change) {
				if c.Applied {
					t.Errorf("change: got %+v, want not applied", c)
				}
			},
			then: func(t *testing.T, p *facts.Patient, f rules.Facts) {
				if p.LastSeq != 0 {
					t.Errorf("LastSeq: got %d, want 0", p.LastSeq)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLog(t)
			recs := tc.given(l)
			p := facts.NewPatient("p-1")
			var c facts.Change
			for _, r := range recs {
				c = p.Apply(r)
			}
			tc.change(t, c)
			tc.then(t, p, p.Facts(march, facts.Practice{Location: ny}, nil))
		})
	}
}

func TestUnknownEventTypeIsIgnoredByTheRegistry(t *testing.T) {
	l := newLog(t)
	r := l.p(events.TypeTimeRecorded, timeEntry("e-1", at(3, 4, 10, 0), 11))
	r.Type = "activity.unknown"
	p := facts.NewPatient("p-1")
	if c := p.Apply(r); c.Applied || len(p.Entries()) != 0 {
		t.Errorf("got %+v with %d entries, want ignored", c, len(p.Entries()))
	}
}

func TestFactsThrough(t *testing.T) {
	l := newLog(t)
	p := facts.NewPatient("p-1")
	for _, r := range []eventlog.Record{
		l.p(events.TypePatientEnrolled, enrolled()),                                                         // 1
		l.p(events.TypeConsentGranted, granted("c-1", at(1, 10, 10, 30))),                                   // 2
		l.p(events.TypeTimeRecorded, timeEntry("e-1", at(3, 4, 10, 0), 11)),                                 // 3
		l.p(events.TypeConditionRecorded, condition("I10", 12)),                                             // 4
		l.p(events.TypeConsentRevoked, events.ConsentRevoked{ConsentID: "c-1", RevokedAt: at(3, 15, 9, 0)}), // 5
		l.p(events.TypeTimeRecorded, timeEntry("e-2", at(3, 20, 10, 0), 9)),                                 // 6
	} {
		p.Apply(r)
	}
	f := p.FactsThrough(march, facts.Practice{Location: ny}, nil, 3)
	if len(f.Conditions) != 0 || len(f.Consents) != 1 || !f.Consents[0].RevokedAt.IsZero() || len(f.TimeEntries) != 1 {
		t.Errorf("through 3: got %d conditions, consents %+v, %d entries; want 0, c-1 not revoked, 1", len(f.Conditions), f.Consents, len(f.TimeEntries))
	}
	all := p.Facts(march, facts.Practice{Location: ny}, nil)
	if len(all.Conditions) != 1 || all.Consents[0].RevokedAt.IsZero() || len(all.TimeEntries) != 2 {
		t.Errorf("all: got %d conditions, consents %+v, %d entries; want 1, revoked, 2", len(all.Conditions), all.Consents, len(all.TimeEntries))
	}
}

func TestMonthRange(t *testing.T) {
	l := newLog(t)
	p := facts.NewPatient("p-1")
	if _, _, ok := p.MonthRange(ny); ok || len(p.Months(ny)) != 0 {
		t.Fatal("no activity: got a range, want none")
	}
	p.Apply(l.p(events.TypePatientEnrolled, enrolled()))
	p.Apply(l.p(events.TypeConsentGranted, granted("c-1", at(1, 10, 10, 30))))
	if _, _, ok := p.MonthRange(ny); ok {
		t.Fatal("enrolment and consent only: got a range, want none (they are not activity)")
	}
	visit := time.Date(2024, 12, 10, 9, 0, 0, 0, ny)
	p.Apply(l.p(events.TypeEncounterRecorded, events.EncounterRecorded{ID: "v", Kind: "office_visit", PractitionerNPI: npiA, Start: visit}))
	p.Apply(l.p(events.TypeTimeRecorded, timeEntry("e-1", at(3, 31, 23, 50), 25)))
	got := p.Months(ny)
	want := []rules.Month{rules.MustMonth("2024-12"), rules.MustMonth("2025-01"), rules.MustMonth("2025-02"), march, rules.MustMonth("2025-04")}
	if !slices.Equal(got, want) {
		t.Errorf("Months: got %v, want %v (the visit's month to the entry's last, gaps filled)", got, want)
	}
	// In UTC the entry lies wholly in April: the range follows the zone.
	if first, last, _ := p.MonthRange(time.UTC); first != rules.MustMonth("2024-12") || last != rules.MustMonth("2025-04") {
		t.Errorf("MonthRange(UTC): got %s–%s", first, last)
	}
	p.Apply(l.p(events.TypeExternalClaimRecorded, events.ExternalClaimRecorded{Code: "99490", PractitionerNPI: npiB, ServiceMonth: "2025-06"}))
	p.Apply(l.p(events.TypeComplexityRecorded, events.ComplexityRecorded{Month: "2024-10", Level: "low", PractitionerNPI: npiA, DecidedAt: visit}))
	if first, last, _ := p.MonthRange(ny); first != rules.MustMonth("2024-10") || last != rules.MustMonth("2025-06") {
		t.Errorf("with a claim and a complexity month: got %s–%s, want 2024-10–2025-06", first, last)
	}
	// A correction moving the last entry back keeps the range (its months
	// keep their evaluations to update).
	p.Apply(l.p(events.TypeTimeCorrected, events.TimeCorrected{EntryID: "e-1", Entry: events.TimeEntry(timeEntry("e-1", at(2, 1, 10, 0), 25))}))
	if _, last, _ := p.MonthRange(ny); last != rules.MustMonth("2025-06") {
		t.Errorf("after moving the entry: last got %s, want 2025-06", last)
	}
}

func TestAsOf(t *testing.T) {
	l := newLog(t)
	var recs []eventlog.Record
	for i, d := range []int{1, 2, 3} {
		l.recorded = at(3, d, 12, 0)
		recs = append(recs, l.p(events.TypeConditionRecorded, condition("I1"+string(rune('0'+i)), 12)))
	}
	got := facts.AsOf(recs, at(3, 2, 12, 0))
	if len(got) != 2 || got[1].Sequence != 2 {
		t.Errorf("AsOf: got %d records, want the first 2 (recordedAt <= asOf)", len(got))
	}
	if p := facts.FoldPatient("p-1", got); len(p.Facts(march, facts.NewPractice(), nil).Conditions) != 2 {
		t.Error("FoldPatient: want 2 conditions")
	}
	pr := facts.FoldPractice([]eventlog.Record{l.practice(events.TypePracticeConfigured, events.PracticeConfigured{Timezone: "America/Denver"})})
	if pr.Location.String() != "America/Denver" {
		t.Errorf("FoldPractice: got %v", pr.Location)
	}
}

func TestFunnel(t *testing.T) {
	l := newLog(t)
	p := facts.NewPatient("p-1")
	if got := p.Funnel(); got.ConsentStatus != "none" || got.ConsentedAt != nil {
		t.Errorf("empty: got %+v", got)
	}
	d := granted("c-0", at(1, 2, 9, 0))
	for _, r := range []eventlog.Record{
		l.p(events.TypePatientEnrolled, enrolled()),
		l.p(events.TypeConditionRecorded, condition("E11.9", 120)),
		l.p(events.TypeConditionRecorded, condition("E11.65", 120)), // same category
		l.p(events.TypeConditionRecorded, condition("I50.22", 120)),
		l.p(events.TypeConditionRecorded, condition("J18.9", 1)), // acute
		l.p(events.TypeConsentDeclined, events.ConsentDeclined(d)),
		l.p(events.TypeConsentGranted, granted("c-1", at(1, 10, 10, 30))),
		l.p(events.TypeCarePlanEstablished, completePlan("plan-1", at(1, 10, 11, 0))),
		l.p(events.TypeCarePlanCopyProvided, events.CarePlanCopyProvided{PlanID: "plan-1", ProvidedAt: at(1, 10, 12, 0), To: "patient", Method: "portal"}),
		l.p(events.TypeConsentRevoked, events.ConsentRevoked{ConsentID: "c-1", RevokedAt: at(3, 15, 9, 0)}),
		l.p(events.TypePatientDied, events.PatientDied{DeceasedDate: "2025-03-20"}),
	} {
		p.Apply(r)
	}
	got := p.Funnel()
	if got.PatientID != "p-1" || got.QualifyingConditions != 2 || got.ConsentStatus != "revoked" || got.BillingPractitionerNPI != npiA || got.DeceasedDate != "2025-03-20" {
		t.Errorf("funnel: got %s", mustJSON(got))
	}
	if got.ConsentedAt == nil || !got.ConsentedAt.Equal(at(1, 10, 10, 30)) || got.DeclinedAt == nil || got.RevokedAt == nil || got.CarePlanAt == nil || got.CopyProvidedAt == nil {
		t.Errorf("funnel milestones: got %s", mustJSON(got))
	}
}

// A patient-month folded from events evaluates as the rules say: the
// fold's output is the engine's input.
func TestFactsEvaluate(t *testing.T) {
	l := newLog(t)
	p := facts.NewPatient("p-1")
	for _, r := range []eventlog.Record{
		l.p(events.TypePatientEnrolled, enrolled()),
		l.p(events.TypeConditionRecorded, condition("I50.22", 120)),
		l.p(events.TypeConditionRecorded, condition("E11.65", 120)),
		l.p(events.TypeEncounterRecorded, events.EncounterRecorded{ID: "v", Kind: "office_visit", PractitionerNPI: npiA, Start: time.Date(2024, 12, 10, 9, 0, 0, 0, ny)}),
		l.p(events.TypeConsentGranted, granted("c-1", time.Date(2024, 12, 10, 10, 30, 0, 0, ny))),
		l.p(events.TypeCarePlanEstablished, completePlan("plan-1", time.Date(2024, 12, 10, 11, 0, 0, 0, ny))),
		l.p(events.TypeCarePlanCopyProvided, events.CarePlanCopyProvided{PlanID: "plan-1", ProvidedAt: time.Date(2024, 12, 10, 12, 0, 0, 0, ny), To: "patient", Method: "portal"}),
		l.p(events.TypeTimeRecorded, timeEntry("e-1", at(3, 4, 10, 0), 25)),
		l.p(events.TypeTimeRecorded, timeEntry("e-2", at(3, 12, 10, 0), 14)),
	} {
		p.Apply(r)
	}
	pr := facts.Practice{Location: ny, Practitioners: map[string]rules.PractitionerKind{npiA: rules.KindPhysician}}
	ev := rules.Evaluate(p.Facts(march, pr, nil))
	if ev.Status != rules.StatusBillable || ev.CountedMinutes != 39 || len(ev.Lines) != 1 || ev.Lines[0].Code != "99490" {
		t.Fatalf("evaluation: got %s", mustJSON(ev))
	}
	if want := []string{"ev-5", "ev-6", "ev-7", "ev-8", "ev-9"}; !slices.Equal(ev.Lines[0].Evidence, want) {
		t.Errorf("evidence: got %v, want %v", ev.Lines[0].Evidence, want)
	}
	billed := &rules.BilledMonth{BatchID: "b-1", Lines: []rules.Line{{Code: "99490", Units: 1}, {Code: "99439", Units: 1}}}
	if ev := rules.Evaluate(p.Facts(march, pr, billed)); ev.Status != rules.StatusBilled || !ev.HasFlag(rules.FlagPostCloseChange) {
		t.Errorf("billed with other lines: got %s %v, want billed with post_close_change", ev.Status, ev.Flags)
	}
}
