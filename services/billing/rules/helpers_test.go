package rules

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"
)

const (
	drA = "1111111111" // the billing practitioner
	drB = "2222222222" // another practitioner
)

func mustLoc(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

var ny = mustLoc("America/New_York")

// at parses a New York local time "2006-01-02T15:04" (or a date).
func at(s string) time.Time {
	for _, layout := range []string{"2006-01-02T15:04", time.DateOnly} {
		if t, err := time.ParseInLocation(layout, s, ny); err == nil {
			return t
		}
	}
	panic("bad time " + s)
}

func date(s string) Date {
	d, err := ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// baseFacts is a CCM-eligible patient for March 2025: three qualifying
// conditions, a complete consent and care plan with a copy, and a visit with
// the billing practitioner when CCM started. Tests add entries and change
// one thing.
func baseFacts() Facts {
	return Facts{
		PatientID:           "p-1",
		Month:               MustMonth("2025-03"),
		Location:            ny,
		BillingPractitioner: Practitioner{NPI: drA, Kind: KindPhysician},
		Conditions: []Condition{
			{Code: "I50.22", ExpectedDurationMonths: 60, SignificantRisk: true, EventID: "ev-dx-1"},
			{Code: "E11.65", ExpectedDurationMonths: 60, SignificantRisk: true, EventID: "ev-dx-2"},
			{Code: "N18.31", ExpectedDurationMonths: 60, SignificantRisk: true, EventID: "ev-dx-3"},
		},
		Consents: []Consent{{
			ID: "c-1", Program: ProgramCCM, PractitionerNPI: drA, Method: MethodVerbal, Decision: DecisionAccepted,
			ObtainedAt: at("2024-12-10T10:30"), ObtainedBy: "rn-1", EventID: "ev-consent",
			Disclosures: []string{DisclosureAvailabilityAndCostSharing, DisclosureOnePractitionerPerMonth, DisclosureRightToStop},
		}},
		CarePlans: []CarePlan{{
			ID: "cp-1", Kind: CarePlanComprehensive, EstablishedAt: at("2024-12-10T11:00"), AuthorNPI: drA, Electronic: true,
			EventID: "ev-plan", Copies: []CarePlanCopy{{ProvidedAt: at("2024-12-10T11:30"), To: "patient", Method: "portal", EventID: "ev-copy"}},
		}},
		Encounters: []Encounter{{
			ID: "v-0", Kind: EncounterOfficeVisit, PractitionerNPI: drA, Start: at("2024-12-10T09:00"), End: at("2024-12-10T09:30"),
			CCMDiscussed: true, EventID: "ev-visit-0",
		}},
	}
}

type entryOpt func(*TimeEntry)

func entry(id string, role Role, start string, minutes int, opts ...entryOpt) TimeEntry {
	t := TimeEntry{
		ID: id, EventID: "ev-" + id, Staff: Staff{ID: string(role) + "-1", Name: string(role), Role: role},
		Programs: []Program{ProgramCCM}, StartedAt: at(start), Minutes: minutes, Activity: "activity-" + id,
		Outcome: OutcomeCompleted,
	}
	t.RecordedAt = t.StartedAt.Add(time.Duration(minutes) * time.Minute)
	for _, o := range opts {
		o(&t)
	}
	return t
}

func rn(id, start string, minutes int, opts ...entryOpt) TimeEntry {
	return entry(id, RoleRN, start, minutes, opts...)
}

// md is the billing practitioner's own time.
func md(id, start string, minutes int, opts ...entryOpt) TimeEntry {
	return entry(id, RolePhysician, start, minutes, append([]entryOpt{func(t *TimeEntry) {
		t.Staff = Staff{ID: "dr-a", Name: "Dr A", Role: RolePhysician, NPI: drA}
	}}, opts...)...)
}

func tags(ps ...Program) entryOpt    { return func(t *TimeEntry) { t.Programs = ps } }
func session(id string) entryOpt     { return func(t *TimeEntry) { t.SessionID = id } }
func activity(a string) entryOpt     { return func(t *TimeEntry) { t.Activity = a } }
func unanswered() entryOpt           { return func(t *TimeEntry) { t.Outcome = OutcomeUnanswered } }
func voided() entryOpt               { return func(t *TimeEntry) { t.Voided = true } }
func inEncounter(id string) entryOpt { return func(t *TimeEntry) { t.EncounterID = id } }
func recorded(s string) entryOpt     { return func(t *TimeEntry) { t.RecordedAt = at(s) } }
func directlySupervised() entryOpt   { return func(t *TimeEntry) { t.DirectSupervision = true } }
func startUTC(s string) entryOpt {
	return func(t *TimeEntry) {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			panic(err)
		}
		t.StartedAt = v
		t.RecordedAt = v.Add(time.Duration(t.Minutes) * time.Minute)
	}
}

// staffIn spreads n RN minutes over separate days of month.
func staffIn(month string, n int) []TimeEntry {
	var out []TimeEntry
	for day := 3; n > 0; day++ {
		m := min(n, 25)
		out = append(out, rn(fmt.Sprintf("s%02d", day), fmt.Sprintf("%s-%02dT10:00", month, day), m))
		n -= m
	}
	return out
}

// mdIn spreads n of the billing practitioner's minutes over month.
func mdIn(month string, n int) []TimeEntry {
	var out []TimeEntry
	for day := 3; n > 0; day++ {
		m := min(n, 25)
		out = append(out, md(fmt.Sprintf("m%02d", day), fmt.Sprintf("%s-%02dT16:00", month, day), m))
		n -= m
	}
	return out
}

func staffMinutes(n int) []TimeEntry { return staffIn("2025-03", n) }
func mdMinutes(n int) []TimeEntry    { return mdIn("2025-03", n) }

// factsIn is baseFacts moved to another service month, with consent, care
// plan and the starting visit moved by as many months.
func factsIn(month string) Facts {
	f := baseFacts()
	m := MustMonth(month)
	shift := m.Index() - f.Month.Index()
	f.Month = m
	f.Consents[0].ObtainedAt = f.Consents[0].ObtainedAt.AddDate(0, shift, 0)
	f.CarePlans[0].EstablishedAt = f.CarePlans[0].EstablishedAt.AddDate(0, shift, 0)
	f.CarePlans[0].Copies[0].ProvidedAt = f.CarePlans[0].Copies[0].ProvidedAt.AddDate(0, shift, 0)
	f.Encounters[0].Start = f.Encounters[0].Start.AddDate(0, shift, 0)
	f.Encounters[0].End = f.Encounters[0].End.AddDate(0, shift, 0)
	return f
}

// pcmPatient makes f a single-condition patient whose entries are tagged PCM.
func pcmPatient(f *Facts) {
	f.Conditions = f.Conditions[:1]
	for i := range f.TimeEntries {
		f.TimeEntries[i].Programs = []Program{ProgramPCM}
	}
}

func complexMDM(level, npi string) ComplexityDecision {
	return ComplexityDecision{Month: MustMonth("2025-03"), Level: level, PractitionerNPI: npi, DecidedAt: at("2025-03-12T12:00"), EventID: "ev-mdm"}
}

func claim(code, npi string) ExternalClaim {
	return ExternalClaim{Code: code, PractitionerNPI: npi, ServiceMonth: MustMonth("2025-03"), EventID: "ev-claim-" + code}
}

// want is what a table case checks. Lines are "CODE×units" joined by
// spaces; Reasons, Excluded and Flags are compared exactly (nil: none).
type want struct {
	status   Status
	lines    string
	reasons  []ReasonCode
	excluded map[ReasonCode]int
	flags    []ReasonCode
	counted  *int // nil: not checked
	pathway  Pathway
	program  Program
	dos      string
}

func lineCodes(ls []Line) string {
	parts := make([]string, len(ls))
	for i, l := range ls {
		parts[i] = fmt.Sprintf("%s×%d", l.Code, l.Units)
	}
	return strings.Join(parts, " ")
}

func codeSet[T any](xs []T, code func(T) ReasonCode) string {
	var cs []string
	for _, x := range xs {
		cs = append(cs, string(code(x)))
	}
	sort.Strings(cs)
	return strings.Join(cs, ",")
}

func wantSet(cs []ReasonCode) string {
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = string(c)
	}
	sort.Strings(s)
	return strings.Join(s, ",")
}

func excludedTotals(ev Evaluation) map[ReasonCode]int {
	m := map[ReasonCode]int{}
	for _, x := range ev.Excluded {
		m[x.Code] += x.Minutes
	}
	return m
}

func checkEvaluation(t *testing.T, ev Evaluation, w want) {
	t.Helper()
	if ev.Status != w.status {
		t.Errorf("status: got %s, want %s", ev.Status, w.status)
	}
	if got := lineCodes(ev.Lines); got != w.lines {
		t.Errorf("lines: got %q, want %q", got, w.lines)
	}
	if got, want := codeSet(ev.Reasons, func(r Reason) ReasonCode { return r.Code }), wantSet(w.reasons); got != want {
		t.Errorf("reasons: got [%s], want [%s]", got, want)
	}
	if got, want := codeSet(ev.Flags, func(f Flag) ReasonCode { return f.Code }), wantSet(w.flags); got != want {
		t.Errorf("flags: got [%s], want [%s]", got, want)
	}
	got := excludedTotals(ev)
	if len(got) != len(w.excluded) {
		t.Errorf("excluded: got %v, want %v", got, w.excluded)
	} else {
		for c, n := range w.excluded {
			if got[c] != n {
				t.Errorf("excluded: got %v, want %v", got, w.excluded)
				break
			}
		}
	}
	if w.counted != nil && ev.CountedMinutes != *w.counted {
		t.Errorf("countedMinutes: got %d, want %d", ev.CountedMinutes, *w.counted)
	}
	if w.pathway != "" && ev.Pathway != w.pathway {
		t.Errorf("pathway: got %s, want %s", ev.Pathway, w.pathway)
	}
	if w.program != "" && ev.Program != w.program {
		t.Errorf("program: got %s, want %s", ev.Program, w.program)
	}
	if w.dos != "" {
		for _, l := range ev.Lines {
			if l.DateOfService != w.dos {
				t.Errorf("dateOfService of %s: got %s, want %s", l.Code, l.DateOfService, w.dos)
			}
		}
	}
	for _, r := range ev.Reasons {
		if r.Message == "" {
			t.Errorf("reason %s has no message", r.Code)
		}
	}
	for _, f := range ev.Flags {
		if f.Message == "" {
			t.Errorf("flag %s has no message", f.Code)
		}
	}
}

func n(v int) *int { return &v }

// evaluateIn evaluates the base facts of month ("" is 2025-03) after setup,
// returning the facts evaluated and the evaluation.
func evaluateIn(month string, setup func(f *Facts)) (Facts, Evaluation) {
	if month == "" {
		month = "2025-03"
	}
	f := factsIn(month)
	setup(&f)
	return f, Evaluate(f)
}
