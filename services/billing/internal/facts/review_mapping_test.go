package facts_test

// Review of the contract → event → facts → rules.Facts mapping
// (api/contract.md): every billing-relevant request field that reaches an
// event payload arrives in rules.Facts with its value.

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/eventlog"
	"github.com/carelog/carelog/services/billing/internal/facts"
	"github.com/carelog/carelog/services/billing/rules"
)

// reviewPractice folds a practice.configured (New York, policy as given)
// and the registration of npiA as a physician.
func reviewPractice(t *testing.T, l *log, policy string) facts.Practice {
	t.Helper()
	pr := facts.NewPractice()
	cfg := events.PracticeConfigured{Name: "Clinic", Timezone: "America/New_York", BillingNPI: npiA, TaxID: "123456789"}
	if policy != "" {
		cfg.Policy = json.RawMessage(policy)
	}
	var ok bool
	if pr, ok = pr.Apply(l.practice(events.TypePracticeConfigured, cfg)); !ok {
		t.Fatal("practice.configured not applied")
	}
	if pr, ok = pr.Apply(l.practice(events.TypePractitionerRegistered,
		events.PractitionerRegistered{NPI: npiA, Name: "Dr A", Kind: "physician", Credential: "MD"})); !ok {
		t.Fatal("practitioner.registered not applied")
	}
	return pr
}

func reviewApply(t *testing.T, p *facts.Patient, recs ...eventlog.Record) {
	t.Helper()
	for _, r := range recs {
		if ch := p.Apply(r); !ch.Applied {
			t.Fatalf("%s (%s) not applied", r.Type, r.ID)
		}
	}
}

// withField returns rec with key set to value in its JSON payload: what a
// payload would carry if the service wrote the field.
func withField(t *testing.T, rec eventlog.Record, key string, value any) eventlog.Record {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(rec.Data, &m); err != nil {
		t.Fatal(err)
	}
	m[key] = value
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	rec.Data = b
	return rec
}

func ptr[T any](v T) *T { return &v }

// TestReviewFieldMapping: every billing-relevant field of the contract's
// write requests, as the services write it into the payload, reaches
// rules.Facts unchanged.
func TestReviewFieldMapping(t *testing.T) {
	l := newLog(t)
	pr := reviewPractice(t, l, `{"afterRevocation":"count_to_month_end","lateEntryDays":3}`)
	if pr.Location.String() != "America/New_York" || pr.Policy.AfterRevocation != rules.CountToMonthEnd || pr.Policy.LateEntryDays != 3 {
		t.Errorf("practice: zone %v policy %+v", pr.Location, pr.Policy)
	}

	en := enrolled()
	en.DeceasedDate = "2025-03-28"
	cond := events.ConditionRecorded{Code: "I50.22", Description: "HF", ExpectedDurationMonths: 24, SignificantRisk: true, OnsetDate: "2020-01-02"}
	ok := granted("c-1", at(1, 5, 9, 0))
	ok.Method, ok.Disclosures = "written", []string{"availability_and_cost_sharing", "right_to_stop"}
	declined := granted("c-2", at(2, 1, 9, 0))
	declined.Program = "pcm"
	plan := completePlan("cp-1", at(1, 5, 10, 0))
	visitEnd := at(3, 10, 9, 30)
	stayEnd := at(3, 15, 12, 0)
	entry := timeEntry("e-1", at(3, 4, 10, 0), 25)
	entry.Staff = events.Staff{ID: "dr-a", Name: "Dr A", Role: "physician", NPI: npiA}
	entry.Programs = []string{"tcm", "ccm"}
	entry.Outcome, entry.SessionID, entry.EncounterID = "unanswered", "s-1", "v-1"
	corrected := events.TimeEntry(timeEntry("e-2", at(3, 6, 10, 0), 10))
	corrected.Minutes = 12

	p := facts.NewPatient("p-1")
	reviewApply(t, p,
		l.p(events.TypePatientEnrolled, en),
		l.p(events.TypeConditionRecorded, cond),
		l.p(events.TypeConsentGranted, ok),
		l.p(events.TypeConsentDeclined, events.ConsentDeclined(declined)),
		l.p(events.TypeConsentRevoked, events.ConsentRevoked{ConsentID: "c-1", RevokedAt: at(3, 20, 9, 0), RecordedBy: "RN"}),
		l.p(events.TypeCarePlanEstablished, plan),
		l.p(events.TypeCarePlanRevised, events.CarePlanRevised{PlanID: "cp-1", RevisedAt: at(2, 1, 9, 0), AuthorNPI: npiA,
			Electronic: ptr(false), Medications: []events.Medication{}}),
		l.p(events.TypeCarePlanCopyProvided, events.CarePlanCopyProvided{PlanID: "cp-1", ProvidedAt: at(1, 6, 9, 0), To: "caregiver", Method: "mail"}),
		l.p(events.TypeComplexityRecorded, events.ComplexityRecorded{Month: "2025-03", Level: "high", PractitionerNPI: npiA, DecidedAt: at(3, 12, 9, 0)}),
		l.p(events.TypeEncounterRecorded, events.EncounterRecorded{ID: "v-1", Kind: "office_visit", Code: "99214", PractitionerNPI: npiA,
			Start: at(3, 10, 9, 0), End: &visitEnd, TimeBased: true, CCMDiscussed: true, G0506: true}),
		l.p(events.TypeEncounterRecorded, events.EncounterRecorded{ID: "s-1", Kind: "snf_stay", Start: at(3, 12, 9, 0), End: &stayEnd}),
		l.p(events.TypeExternalClaimRecorded, events.ExternalClaimRecorded{Code: "99490", PractitionerNPI: npiB, ServiceMonth: "2025-03", DateOfService: "2025-03-31", Status: "denied"}),
		l.p(events.TypeTimeRecorded, entry),
		l.p(events.TypeTimeRecorded, timeEntry("e-2", at(3, 6, 10, 0), 10)),
		l.p(events.TypeTimeCorrected, events.TimeCorrected{EntryID: "e-2", Entry: corrected, Reason: "typo"}),
		l.p(events.TypeTimeRecorded, timeEntry("e-3", at(3, 7, 10, 0), 5)),
		l.p(events.TypeTimeVoided, events.TimeVoided{EntryID: "e-3", Reason: "wrong patient"}),
	)
	f := p.Facts(march, pr, nil)

	if f.Location.String() != "America/New_York" || f.Policy.AfterRevocation != rules.CountToMonthEnd {
		t.Errorf("facts practice: %v %+v", f.Location, f.Policy)
	}
	if f.BillingPractitioner != (rules.Practitioner{NPI: npiA, Kind: rules.KindPhysician}) {
		t.Errorf("billing practitioner %+v", f.BillingPractitioner)
	}
	if f.Patient.DeceasedDate.String() != "2025-03-28" || f.Patient.BirthDate.String() != "1948-02-03" {
		t.Errorf("patient %+v", f.Patient)
	}
	if c := f.Conditions[0]; c.Code != "I50.22" || c.Description != "HF" || c.ExpectedDurationMonths != 24 || !c.SignificantRisk || c.OnsetDate.String() != "2020-01-02" {
		t.Errorf("condition %+v", c)
	}
	if len(f.Consents) != 2 {
		t.Fatalf("consents %+v", f.Consents)
	}
	if c := f.Consents[0]; c.ID != "c-1" || c.Program != rules.ProgramCCM || c.Decision != rules.DecisionAccepted || c.Method != "written" ||
		c.PractitionerNPI != npiA || !c.ObtainedAt.Equal(at(1, 5, 9, 0)) || c.ObtainedBy != "RN Jo" ||
		!slices.Equal(c.Disclosures, ok.Disclosures) || !c.RevokedAt.Equal(at(3, 20, 9, 0)) {
		t.Errorf("granted consent %+v", c)
	}
	if c := f.Consents[1]; c.Decision != rules.DecisionDeclined || c.Program != rules.ProgramPCM || !c.RevokedAt.IsZero() {
		t.Errorf("declined consent %+v", c)
	}
	if cp := f.CarePlans[0]; cp.Kind != "comprehensive" || cp.Electronic || !slices.Equal(cp.MissingElements, []string{"medication_management"}) ||
		cp.AuthorNPI != npiA || len(cp.Copies) != 1 || cp.Copies[0].To != "caregiver" || cp.Copies[0].Method != "mail" || !cp.Copies[0].ProvidedAt.Equal(at(1, 6, 9, 0)) {
		t.Errorf("care plan %+v", cp)
	}
	if d := f.Complexity[0]; d.Month != march || d.Level != "high" || d.PractitionerNPI != npiA || !d.DecidedAt.Equal(at(3, 12, 9, 0)) {
		t.Errorf("complexity %+v", d)
	}
	if e := f.Encounters[0]; e.ID != "v-1" || e.Kind != "office_visit" || e.Code != "99214" || e.PractitionerNPI != npiA ||
		!e.End.Equal(visitEnd) || !e.TimeBased || !e.CCMDiscussed || !e.G0506 {
		t.Errorf("visit %+v", e)
	}
	if e := f.Encounters[1]; e.Kind != "snf_stay" || !e.End.Equal(stayEnd) || e.PractitionerNPI != "" {
		t.Errorf("stay %+v", e)
	}
	if c := f.ExternalClaims[0]; c.Code != "99490" || c.PractitionerNPI != npiB || c.ServiceMonth != march || c.DateOfService.String() != "2025-03-31" || c.Status != "denied" {
		t.Errorf("external claim %+v", c)
	}
	if len(f.TimeEntries) != 3 {
		t.Fatalf("entries %+v", f.TimeEntries)
	}
	if e := f.TimeEntries[0]; e.ID != "e-1" || e.Staff != (rules.Staff{ID: "dr-a", Name: "Dr A", Role: rules.RolePhysician, NPI: npiA}) ||
		!slices.Equal(e.Programs, []rules.Program{rules.ProgramTCM, rules.ProgramCCM}) || !e.StartedAt.Equal(at(3, 4, 10, 0)) ||
		e.Minutes != 25 || e.Activity != "medication_reconciliation" || e.Outcome != "unanswered" || e.SessionID != "s-1" || e.EncounterID != "v-1" {
		t.Errorf("entry %+v", e)
	}
	if e := f.TimeEntries[1]; e.Minutes != 12 || e.CorrectedFrom == "" || e.Voided {
		t.Errorf("corrected entry %+v", e)
	}
	if e := f.TimeEntries[2]; !e.Voided || e.Minutes != 5 {
		t.Errorf("voided entry %+v", e)
	}
}

// pcmPatient folds a PCM patient: one high-risk condition, an accepted PCM
// consent, a complete disease-specific plan with its copy, a visit within
// the year, and the given March time entries.
func pcmPatient(t *testing.T, l *log, entries ...eventlog.Record) *facts.Patient {
	t.Helper()
	c := granted("c-1", at(1, 5, 9, 0))
	c.Program = "pcm"
	plan := completePlan("cp-1", at(1, 5, 10, 0))
	plan.Kind = "disease_specific"
	visitEnd := at(1, 5, 9, 30)
	p := facts.NewPatient("p-1")
	reviewApply(t, p,
		l.p(events.TypePatientEnrolled, enrolled()),
		l.p(events.TypeConditionRecorded, events.ConditionRecorded{Code: "I50.22", Description: "HF", ExpectedDurationMonths: 6, SignificantRisk: true}),
		l.p(events.TypeConsentGranted, c),
		l.p(events.TypeCarePlanEstablished, plan),
		l.p(events.TypeCarePlanCopyProvided, events.CarePlanCopyProvided{PlanID: "cp-1", ProvidedAt: at(1, 6, 9, 0), To: "patient", Method: "portal"}),
		l.p(events.TypeEncounterRecorded, events.EncounterRecorded{ID: "v-0", Kind: "office_visit", PractitionerNPI: npiA, Start: at(1, 5, 9, 0), End: &visitEnd, CCMDiscussed: true}),
	)
	reviewApply(t, p, entries...)
	return p
}

// A time entry's directSupervision (an addition to the contract's body for
// the practice policy pcmSupervision "direct", §8 A12) reaches the engine,
// and 35 directly supervised staff PCM minutes bill 99426.
func TestReviewDirectSupervisionReachesFacts(t *testing.T) {
	l := newLog(t)
	pr := reviewPractice(t, l, `{"pcmSupervision":"direct"}`)
	e := timeEntry("e-1", at(3, 4, 10, 0), 35)
	e.Programs = []string{"pcm"}
	rec := withField(t, l.p(events.TypeTimeRecorded, e), "directSupervision", true)
	p := pcmPatient(t, l, rec)
	f := p.Facts(march, pr, nil)
	if len(f.TimeEntries) != 1 || !f.TimeEntries[0].DirectSupervision {
		t.Errorf("a directly supervised entry reaches the engine as %+v, want DirectSupervision", f.TimeEntries)
	}
	ev := rules.Evaluate(f)
	if ev.Program != rules.ProgramPCM {
		t.Fatalf("program %s", ev.Program)
	}
	if ev.Status != rules.StatusBillable {
		t.Errorf("35 directly supervised staff PCM minutes: status %s, excluded %+v, reasons %+v; want billable 99426",
			ev.Status, ev.Excluded, ev.Reasons)
	}
}

// T11: a moderate decision of the billing practitioner documents the
// month's complexity; a later "low" one of the same month (another
// encounter's MDM) does not undo it, so the month stays complex CCM.
func TestReviewLaterLowComplexityDoesNotOverride(t *testing.T) {
	l := newLog(t)
	pr := reviewPractice(t, l, "")
	p := facts.NewPatient("p-1")
	end := at(1, 5, 9, 30)
	reviewApply(t, p,
		l.p(events.TypePatientEnrolled, enrolled()),
		l.p(events.TypeConditionRecorded, condition("I50.22", 24)),
		l.p(events.TypeConditionRecorded, condition("E11.65", 24)),
		l.p(events.TypeConsentGranted, granted("c-1", at(1, 5, 9, 10))),
		l.p(events.TypeCarePlanEstablished, completePlan("cp-1", at(1, 5, 9, 20))),
		l.p(events.TypeCarePlanCopyProvided, events.CarePlanCopyProvided{PlanID: "cp-1", ProvidedAt: at(1, 5, 9, 25), To: "patient", Method: "paper"}),
		l.p(events.TypeEncounterRecorded, events.EncounterRecorded{ID: "v-1", Kind: "office_visit", PractitionerNPI: npiA, Start: at(1, 5, 9, 0), End: &end, CCMDiscussed: true}),
		l.p(events.TypeComplexityRecorded, events.ComplexityRecorded{Month: "2025-03", Level: "moderate", PractitionerNPI: npiA, DecidedAt: at(3, 5, 9, 0)}),
		l.p(events.TypeComplexityRecorded, events.ComplexityRecorded{Month: "2025-03", Level: "low", PractitionerNPI: npiA, DecidedAt: at(3, 20, 9, 0)}),
		l.p(events.TypeTimeRecorded, timeEntry("e-1", at(3, 4, 10, 0), 35)),
		l.p(events.TypeTimeRecorded, timeEntry("e-2", at(3, 18, 10, 0), 30)),
	)
	ev := rules.Evaluate(p.Facts(march, pr, nil))
	codes := []string{}
	for _, ln := range ev.Lines {
		codes = append(codes, ln.Code)
	}
	if ev.Pathway != "complex" {
		t.Fatalf("moderate (03-05) then low (03-20), 65 minutes: pathway %s, lines %s; want complex", ev.Pathway, strings.Join(codes, ","))
	}
}

// An external claim recorded again with a new status (api/contract.md
// external-claims status?) is the same claim: billed, then denied, it no
// longer blocks the month; both records stay in the facts, in log order.
func TestReviewExternalClaimStatusUpdate(t *testing.T) {
	l := newLog(t)
	pr := reviewPractice(t, l, "")
	p := facts.NewPatient("p-1")
	billed := l.p(events.TypeExternalClaimRecorded, events.ExternalClaimRecorded{Code: "99490", PractitionerNPI: npiB, ServiceMonth: "2025-03"})
	reviewApply(t, p,
		l.p(events.TypePatientEnrolled, enrolled()),
		billed,
		l.p(events.TypeExternalClaimRecorded, events.ExternalClaimRecorded{Code: "99490", PractitionerNPI: npiB, ServiceMonth: "2025-03", Status: "denied"}),
	)
	f := p.Facts(march, pr, nil)
	if len(f.ExternalClaims) != 2 || f.ExternalClaims[1].Status != "denied" {
		t.Fatalf("claims %+v, want the billed record then the denied one", f.ExternalClaims)
	}
	if ev := rules.Evaluate(f); ev.HasReason(rules.ReasonBilledByOtherPractitioner) {
		t.Errorf("billed then denied: reasons %+v, want no %s", ev.Reasons, rules.ReasonBilledByOtherPractitioner)
	}
	asOf := p.FactsThrough(march, pr, nil, billed.Sequence)
	if ev := rules.Evaluate(asOf); !ev.HasReason(rules.ReasonBilledByOtherPractitioner) {
		t.Errorf("as of the billed record: reasons %+v, want %s", ev.Reasons, rules.ReasonBilledByOtherPractitioner)
	}
}
