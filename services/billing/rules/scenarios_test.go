package rules

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/carelog/carelog/services/billing/rules/scenariotest"
)

// testdata/scenarios.json is a copy of shared/domain/scenarios.json (the
// worked examples of ccm-rules.md §7), kept here so the test does not depend
// on where shared/ is checked out. TestScenarioCopyIsCurrent compares the
// two when shared/ can be found. scenariotest reads its notation (as the
// end-to-end test in cmd/carelog does); this file turns its cases into Facts
// and checks the Evaluation.
const scenarioFile = "testdata/scenarios.json"

// scenarioCase is one of scenariotest's cases, translated into Facts.
type scenarioCase struct{ scenariotest.Case }

func (c scenarioCase) facts(t *testing.T) Facts {
	t.Helper()
	cfg := c.Config
	loc := c.Location(t)
	local := func(s string) time.Time { return scenariotest.ParseLocal(t, s, loc) }
	npi := scenariotest.Practitioner(cfg.BillingPractitioner)
	f := Facts{
		PatientID:           "p-" + c.Name,
		Month:               MustMonth(c.Month),
		Location:            loc,
		BillingPractitioner: Practitioner{NPI: npi, Kind: practitionerKind(cfg.PractitionerType)},
	}
	if cfg.Policy != nil {
		b, _ := json.Marshal(cfg.Policy)
		if err := json.Unmarshal(b, &f.Policy); err != nil {
			t.Fatalf("%s: policy: %v", c.Name, err)
		}
	}
	for i, dx := range cfg.ChronicConditions {
		f.Conditions = append(f.Conditions, Condition{
			Code: dx.Dx, ExpectedDurationMonths: scenariotest.ExpectedMonths(t, dx.ExpectedMonths),
			SignificantRisk: dx.SignificantRisk, EventID: fmt.Sprintf("ev-dx-%d", i+1),
		})
	}
	if k := cfg.Consent; k != nil && (k.Documented == nil || *k.Documented) {
		cons := Consent{
			ID: "consent-1", Program: Program(strings.ToLower(k.Program)), PractitionerNPI: scenariotest.Practitioner(k.Practitioner),
			Method: k.Mode, Decision: k.Decision, ObtainedAt: local(k.ObtainedAt), ObtainedBy: "staff",
			Disclosures: scenariotest.Disclosures(k.Elements), EventID: "ev-consent",
		}
		if k.RevokedAt != nil {
			cons.RevokedAt = local(*k.RevokedAt)
		}
		f.Consents = append(f.Consents, cons)
	}
	if p := cfg.CarePlan; p != nil {
		plan := CarePlan{
			ID: "plan-1", Kind: p.Kind, EstablishedAt: local(p.EstablishedAt), AuthorNPI: scenariotest.Practitioner(p.By),
			Electronic: p.Electronic == nil || *p.Electronic, EventID: "ev-careplan",
		}
		if p.ElementsComplete != nil && !*p.ElementsComplete {
			plan.MissingElements = []string{"measurable_treatment_goals"}
		}
		if p.CopyGivenAt != nil {
			plan.Copies = []CarePlanCopy{{ProvidedAt: local(*p.CopyGivenAt), To: "patient", Method: "portal", EventID: "ev-careplan-copy"}}
		}
		f.CarePlans = append(f.CarePlans, plan)
	}
	switch {
	case cfg.MDM != nil:
		d := local(cfg.MDM.Date)
		f.Complexity = append(f.Complexity, ComplexityDecision{
			Month: DateOf(d, loc).MonthOf(), Level: cfg.MDM.Level, PractitionerNPI: scenariotest.Practitioner(cfg.MDM.By), DecidedAt: d, EventID: "ev-mdm",
		})
	case cfg.ComplexDesignation:
		// Designated complex without this month's MDM: the designation
		// comes from an earlier month's decision.
		prev := MustMonth(c.Month).AddMonths(-1)
		f.Complexity = append(f.Complexity, ComplexityDecision{Month: prev, Level: MDMModerate, PractitionerNPI: npi, DecidedAt: prev.Start(loc), EventID: "ev-mdm-prev"})
	}
	if cfg.LastVisit != nil {
		start := local(*cfg.LastVisit).Add(9 * time.Hour)
		f.Encounters = append(f.Encounters, Encounter{
			ID: "visit-last", Kind: EncounterOfficeVisit, PractitionerNPI: npi, Start: start, End: start.Add(30 * time.Minute),
			CCMDiscussed: true, EventID: "ev-visit-last",
		})
	}
	for i, d := range cfg.InpatientDays {
		start := local(d)
		f.Encounters = append(f.Encounters, Encounter{
			ID: fmt.Sprintf("stay-%d", i+1), Kind: EncounterInpatientStay, Start: start, End: start.AddDate(0, 0, 1), EventID: fmt.Sprintf("ev-stay-%d", i+1),
		})
	}
	if tcm := cfg.TCM; tcm != nil {
		start := local(tcm.FaceToFace).Add(9 * time.Hour)
		f.Encounters = append(f.Encounters, Encounter{
			ID: "tcm-visit", Kind: EncounterTCM, Code: tcm.Code, PractitionerNPI: scenariotest.Practitioner(tcm.By),
			Start: start, End: start.Add(30 * time.Minute), EventID: "ev-tcm",
		})
	}
	for i, en := range cfg.Encounters {
		enc := Encounter{
			ID: fmt.Sprintf("enc-%d", i+1), Kind: en.Kind, Code: en.Code, PractitionerNPI: scenariotest.Practitioner(en.By),
			Start: local(en.Start), TimeBased: en.TimeBased, CCMDiscussed: en.CCMDiscussed, G0506: en.G0506, EventID: fmt.Sprintf("ev-enc-%d", i+1),
		}
		if en.End != "" {
			enc.End = local(en.End)
		}
		f.Encounters = append(f.Encounters, enc)
	}
	for i, cl := range cfg.OtherClaims {
		dos, err := ParseDate(cl.DOS)
		if err != nil {
			t.Fatalf("%s: claim dos: %v", c.Name, err)
		}
		f.ExternalClaims = append(f.ExternalClaims, ExternalClaim{
			Code: cl.Code, PractitionerNPI: scenariotest.Practitioner(cl.By), ServiceMonth: dos.MonthOf(), DateOfService: dos, EventID: fmt.Sprintf("ev-claim-%d", i+1),
		})
	}
	if cfg.DateOfDeath != nil {
		d, err := ParseDate(*cfg.DateOfDeath)
		if err != nil {
			t.Fatalf("%s: date of death: %v", c.Name, err)
		}
		f.Patient.DeceasedDate = d
	}
	for i, raw := range c.Entries {
		f.TimeEntries = append(f.TimeEntries, c.entry(t, i, raw, loc))
	}
	return f
}

// entry is scenariotest's entry as a TimeEntry: the role's kind as the
// staff role, a named practitioner's NPI, an unanswered attempt, a shared
// session, a voided entry.
func (c scenarioCase) entry(t *testing.T, i int, raw []any, loc *time.Location) TimeEntry {
	t.Helper()
	e := c.Entry(t, i, raw, loc)
	te := TimeEntry{
		ID: fmt.Sprintf("e-%d", i+1), EventID: fmt.Sprintf("ev-e-%d", i+1),
		Programs: programs(e.Programs), StartedAt: e.Start, Minutes: e.Minutes,
		Outcome: OutcomeCompleted, Activity: fmt.Sprintf("activity %d", i+1), RecordedAt: e.Start.Add(time.Duration(e.Minutes) * time.Minute),
	}
	te.Staff = Staff{ID: e.Role, Name: e.Role, Role: Role(scenariotest.StaffRole(e.Kind))}
	if e.Name != "" {
		te.Staff.NPI = scenariotest.Practitioner(e.Name)
	}
	if e.Unanswered {
		te.Outcome = OutcomeUnanswered
	}
	if e.Session != "" {
		te.SessionID = e.Session
		te.Activity = "session " + te.SessionID
	}
	te.Voided = e.Voided
	return te
}

// practitionerKind maps the notation's practitioner_type onto the rules'
// kinds.
func practitionerKind(s string) PractitionerKind {
	switch strings.ToUpper(s) {
	case "MD", "DO", "PHYSICIAN":
		return KindPhysician
	case "NP":
		return KindNP
	case "PA":
		return KindPA
	case "CNS":
		return KindCNS
	case "CNM":
		return KindCNM
	}
	return PractitionerKind(strings.ToLower(s))
}

// programs types the entry's program names.
func programs(ps []string) []Program {
	var out []Program
	for _, p := range ps {
		out = append(out, Program(p))
	}
	return out
}

// outcomeCode is the reason code of an expect.refuse or expect.hold name.
func outcomeCode(s string) ReasonCode { return ReasonCode(scenariotest.OutcomeCode(s)) }

// check compares an evaluation with the scenario's expectation and returns
// every difference.
func (c scenarioCase) check(ev Evaluation) []string {
	var diffs []string
	x := c.Expect
	wantStatus := StatusBillable
	switch {
	case x.Refuse != "":
		wantStatus = StatusNotBillable
	case x.Hold != "":
		wantStatus = StatusHold
	}
	if ev.Status != wantStatus {
		diffs = append(diffs, fmt.Sprintf("status: got %s, want %s", ev.Status, wantStatus))
	}
	for _, code := range []string{x.Refuse, x.Hold} {
		if code != "" && !ev.HasReason(outcomeCode(code)) {
			diffs = append(diffs, fmt.Sprintf("reasons: got %v, want %s (%s)", reasonCodes(ev), outcomeCode(code), code))
		}
	}
	if x.Lines != nil || wantStatus == StatusBillable {
		if got, want := lineString(ev.Lines), expectLineString(x.Lines); got != want {
			diffs = append(diffs, fmt.Sprintf("lines: got %s, want %s", got, want))
		}
	}
	if x.CountedMinutes != nil && ev.CountedMinutes != *x.CountedMinutes {
		diffs = append(diffs, fmt.Sprintf("countedMinutes: got %d, want %d", ev.CountedMinutes, *x.CountedMinutes))
	}
	if x.UnbilledMinutes != nil && ev.UnbilledMinutes != *x.UnbilledMinutes {
		diffs = append(diffs, fmt.Sprintf("unbilledMinutes: got %d, want %d", ev.UnbilledMinutes, *x.UnbilledMinutes))
	}
	if x.CarriedToNext != nil {
		if got := excludedMinutes(ev, ExcludedOtherMonth); got != *x.CarriedToNext {
			diffs = append(diffs, fmt.Sprintf("other_month minutes: got %d, want %d", got, *x.CarriedToNext))
		}
	}
	if x.DOSNotAfter != "" {
		for _, l := range ev.Lines {
			if l.DateOfService > x.DOSNotAfter {
				diffs = append(diffs, fmt.Sprintf("dateOfService: got %s, want ≤ %s", l.DateOfService, x.DOSNotAfter))
			}
		}
	}
	return diffs
}

func reasonCodes(ev Evaluation) []ReasonCode {
	var out []ReasonCode
	for _, r := range ev.Reasons {
		out = append(out, r.Code)
	}
	return out
}

func excludedMinutes(ev Evaluation, code ReasonCode) int {
	n := 0
	for _, x := range ev.Excluded {
		if x.Code == code {
			n += x.Minutes
		}
	}
	return n
}

func lineString(ls []Line) string {
	var parts []string
	for _, l := range ls {
		parts = append(parts, fmt.Sprintf("%s×%d", l.Code, l.Units))
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func expectLineString(ls [][]any) string {
	var parts []string
	for _, l := range ls {
		units, _ := l[1].(float64)
		parts = append(parts, fmt.Sprintf("%v×%d", l[0], int(units)))
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// TestScenarios runs every worked example of ccm-rules.md §7 (the file holds
// the odd-numbered ones, C01–C39, with their variants) under the default
// policy. tcm_lines and rpm_lines belong to other evaluations and are not
// checked here.
func TestScenarios(t *testing.T) {
	set := scenariotest.Load(t, scenarioFile)
	if len(set.Scenarios) == 0 {
		t.Fatal("no scenarios loaded")
	}
	for _, sc := range scenariotest.Cases(t, set) {
		c := scenarioCase{sc}
		t.Run(c.Name, func(t *testing.T) {
			ev := Evaluate(c.facts(t))
			for _, d := range c.check(ev) {
				t.Error(d)
			}
			if t.Failed() {
				b, _ := json.MarshalIndent(ev, "", "  ")
				t.Logf("evaluation: %s", b)
			}
		})
	}
}

// TestScenarioCopyIsCurrent fails when testdata/scenarios.json differs from
// shared/domain/scenarios.json, found by walking up from the test's working
// directory (shared/ may sit in the repository or beside it).
func TestScenarioCopyIsCurrent(t *testing.T) {
	scenariotest.CheckCopy(t, scenarioFile)
}
