package rules

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // practice time zones without relying on the host's tzdata
)

// testdata/scenarios.json is a copy of shared/domain/scenarios.json (the
// worked examples of ccm-rules.md §7), kept here so the test does not depend
// on where shared/ is checked out. TestScenarioCopyIsCurrent compares the
// two when shared/ can be found.
const scenarioFile = "testdata/scenarios.json"

// scenarioSet is the file: defaults plus scenarios that override them.
type scenarioSet struct {
	Defaults  map[string]json.RawMessage `json:"defaults"`
	Scenarios []scenario                 `json:"scenarios"`
}

type scenario struct {
	ID        string                     `json:"id"`
	Title     string                     `json:"title"`
	Overrides map[string]json.RawMessage `json:"overrides"`
	Entries   [][]any                    `json:"entries"`
	Expect    scenarioExpect             `json:"expect"`
	Variants  []scenarioVariant          `json:"variants"`
	Rules     []string                   `json:"rules"`
	Ambiguous bool                       `json:"ambiguous"`
}

type scenarioVariant struct {
	Overrides  map[string]json.RawMessage `json:"overrides"`
	Entries    [][]any                    `json:"entries"`
	EntriesUTC [][]any                    `json:"entries_utc"`
	Expect     scenarioExpect             `json:"expect"`
	Note       string                     `json:"note"`
}

type scenarioExpect struct {
	Lines           [][]any         `json:"lines"`
	Refuse          string          `json:"refuse"`
	Hold            string          `json:"hold"`
	CountedMinutes  *int            `json:"counted_minutes"`
	UnbilledMinutes *int            `json:"unbilled_minutes"`
	CarriedToNext   *int            `json:"carried_to_next_month"`
	DOSNotAfter     string          `json:"dos_not_after"`
	NextMonth       *scenarioExpect `json:"next_month"`
}

// scenarioConfig is defaults ⊕ overrides in the file's notation.
type scenarioConfig struct {
	ServiceMonth        string         `json:"service_month"`
	PracticeTZ          string         `json:"practice_tz"`
	BillingPractitioner string         `json:"billing_practitioner"`
	PractitionerType    string         `json:"practitioner_type"`
	ChronicConditions   []scenarioDx   `json:"chronic_conditions"`
	LastVisit           *string        `json:"last_visit_with_billing_practitioner"`
	Consent             *scenarioCons  `json:"consent"`
	CarePlan            *scenarioPlan  `json:"care_plan"`
	ComplexDesignation  bool           `json:"complex_designation"`
	MDM                 *scenarioMDM   `json:"mdm"`
	InpatientDays       []string       `json:"inpatient_days"`
	OtherClaims         []scenarioClm  `json:"other_claims_same_month"`
	DateOfDeath         *string        `json:"date_of_death"`
	TCM                 *scenarioTCM   `json:"tcm"`
	Encounters          []scenarioEnc  `json:"encounters"`
	Policy              map[string]any `json:"policy"`
}

type scenarioDx struct {
	Dx              string `json:"dx"`
	ExpectedMonths  string `json:"expected_months"`
	SignificantRisk bool   `json:"significant_risk"`
}

type scenarioCons struct {
	Program      string   `json:"program"`
	Practitioner string   `json:"practitioner"`
	ObtainedAt   string   `json:"obtained_at"`
	Mode         string   `json:"mode"`
	Documented   *bool    `json:"documented"`
	Elements     []string `json:"elements"`
	RevokedAt    *string  `json:"revoked_at"`
	Decision     string   `json:"decision"`
}

type scenarioPlan struct {
	EstablishedAt    string  `json:"established_at"`
	By               string  `json:"by"`
	Electronic       *bool   `json:"electronic"`
	ElementsComplete *bool   `json:"elements_complete"`
	CopyGivenAt      *string `json:"copy_given_at"`
	Kind             string  `json:"kind"`
}

type scenarioMDM struct {
	Level string `json:"level"`
	By    string `json:"by"`
	Date  string `json:"date"`
}

type scenarioClm struct {
	Code string `json:"code"`
	By   string `json:"by"`
	DOS  string `json:"dos"`
}

type scenarioTCM struct {
	Discharge  string `json:"discharge"`
	Code       string `json:"code"`
	By         string `json:"by"`
	FaceToFace string `json:"face_to_face"`
}

type scenarioEnc struct {
	Kind         string `json:"kind"`
	Code         string `json:"code"`
	By           string `json:"by"`
	Start        string `json:"start"`
	End          string `json:"end"`
	TimeBased    bool   `json:"time_based"`
	CCMDiscussed bool   `json:"ccm_discussed"`
	G0506        bool   `json:"g0506"`
}

func loadScenarios(t *testing.T, path string) scenarioSet {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	var s scenarioSet
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	return s
}

// merge applies overrides on defaults, key by key (a null override clears).
func merge(t *testing.T, layers ...map[string]json.RawMessage) scenarioConfig {
	t.Helper()
	m := map[string]json.RawMessage{}
	for _, l := range layers {
		for k, v := range l {
			m[k] = v
		}
	}
	b, _ := json.Marshal(m)
	var c scenarioConfig
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatalf("scenario config: %v", err)
	}
	return c
}

// scenarioCase is one evaluation to run: a scenario, one of its variants,
// or a follow-up month.
type scenarioCase struct {
	name    string
	cfg     scenarioConfig
	entries [][]any
	utc     bool
	shift   int // months to shift the defaults' dated facts and the entries
	month   string
	expect  scenarioExpect
}

// scenarioCases expands the file into cases. Notation decisions:
//   - a variant applies its overrides to the defaults (C25's variant has
//     "consent on file names DrA only", which the scenario's consent:null
//     would contradict); it keeps the scenario's entries unless it gives
//     entries or entries_utc;
//   - the defaults' dates (consent, care plan, last visit) are written for
//     the default service month; when a variant moves the service month,
//     the dated facts it does not override, and the entries it inherits,
//     move by the same number of months (C39's 2024-02 variant would
//     otherwise precede its own consent and care plan);
//   - expect.next_month evaluates the following month with the same facts.
func scenarioCases(t *testing.T, set scenarioSet) []scenarioCase {
	t.Helper()
	var out []scenarioCase
	base := merge(t, set.Defaults)
	for _, s := range set.Scenarios {
		cfg := merge(t, set.Defaults, s.Overrides)
		c := scenarioCase{name: s.ID, cfg: cfg, entries: s.Entries, month: cfg.ServiceMonth, expect: s.Expect}
		out = append(out, c)
		if nm := s.Expect.NextMonth; nm != nil {
			n := c
			n.name = s.ID + "/next_month"
			n.month = MustMonth(cfg.ServiceMonth).AddMonths(1).String()
			n.expect = *nm
			out = append(out, n)
		}
		for i, v := range s.Variants {
			vc := merge(t, set.Defaults, v.Overrides)
			shift := MustMonth(vc.ServiceMonth).Index() - MustMonth(base.ServiceMonth).Index()
			c := scenarioCase{name: fmt.Sprintf("%s/variant%d", s.ID, i+1), cfg: vc, month: vc.ServiceMonth, expect: v.Expect}
			_, overridesMonth := v.Overrides["service_month"]
			switch {
			case v.EntriesUTC != nil:
				c.entries, c.utc = v.EntriesUTC, true
			case v.Entries != nil:
				c.entries = v.Entries
			default:
				c.entries = s.Entries
				if overridesMonth {
					c.shift = shift
				}
			}
			if overridesMonth {
				c.cfg = shiftDefaults(vc, v.Overrides, shift)
			}
			out = append(out, c)
		}
	}
	return out
}

// shiftDefaults moves the dated facts that a variant did not override.
func shiftDefaults(c scenarioConfig, overrides map[string]json.RawMessage, months int) scenarioConfig {
	if months == 0 {
		return c
	}
	mv := func(s string) string { return shiftMonths(s, months) }
	if _, ok := overrides["consent"]; !ok && c.Consent != nil {
		cons := *c.Consent
		cons.ObtainedAt = mv(cons.ObtainedAt)
		c.Consent = &cons
	}
	if _, ok := overrides["care_plan"]; !ok && c.CarePlan != nil {
		p := *c.CarePlan
		p.EstablishedAt = mv(p.EstablishedAt)
		if p.CopyGivenAt != nil {
			g := mv(*p.CopyGivenAt)
			p.CopyGivenAt = &g
		}
		c.CarePlan = &p
	}
	if _, ok := overrides["last_visit_with_billing_practitioner"]; !ok && c.LastVisit != nil {
		v := mv(*c.LastVisit)
		c.LastVisit = &v
	}
	return c
}

// shiftMonths moves a "YYYY-MM-DD[Thh:mm]" string by months, keeping the rest.
func shiftMonths(s string, months int) string {
	m := MustMonth(s[:7]).AddMonths(months)
	return m.String() + s[7:]
}

func (c scenarioCase) facts(t *testing.T) Facts {
	t.Helper()
	cfg := c.cfg
	loc, err := time.LoadLocation(cfg.PracticeTZ)
	if err != nil {
		t.Fatalf("%s: time zone %q: %v", c.name, cfg.PracticeTZ, err)
	}
	local := func(s string) time.Time { return parseLocal(t, s, loc) }
	npi := practitionerID(cfg.BillingPractitioner)
	f := Facts{
		PatientID:           "p-" + c.name,
		Month:               MustMonth(c.month),
		Location:            loc,
		BillingPractitioner: Practitioner{NPI: npi, Kind: practitionerKind(cfg.PractitionerType)},
	}
	if cfg.Policy != nil {
		b, _ := json.Marshal(cfg.Policy)
		if err := json.Unmarshal(b, &f.Policy); err != nil {
			t.Fatalf("%s: policy: %v", c.name, err)
		}
	}
	for i, dx := range cfg.ChronicConditions {
		f.Conditions = append(f.Conditions, Condition{
			Code: dx.Dx, ExpectedDurationMonths: expectedMonths(t, dx.ExpectedMonths),
			SignificantRisk: dx.SignificantRisk, EventID: fmt.Sprintf("ev-dx-%d", i+1),
		})
	}
	if k := cfg.Consent; k != nil && (k.Documented == nil || *k.Documented) {
		cons := Consent{
			ID: "consent-1", Program: Program(strings.ToLower(k.Program)), PractitionerNPI: practitionerID(k.Practitioner),
			Method: k.Mode, Decision: k.Decision, ObtainedAt: local(k.ObtainedAt), ObtainedBy: "staff",
			Disclosures: disclosures(k.Elements), EventID: "ev-consent",
		}
		if k.RevokedAt != nil {
			cons.RevokedAt = local(*k.RevokedAt)
		}
		f.Consents = append(f.Consents, cons)
	}
	if p := cfg.CarePlan; p != nil {
		plan := CarePlan{
			ID: "plan-1", Kind: p.Kind, EstablishedAt: local(p.EstablishedAt), AuthorNPI: practitionerID(p.By),
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
			Month: DateOf(d, loc).MonthOf(), Level: cfg.MDM.Level, PractitionerNPI: practitionerID(cfg.MDM.By), DecidedAt: d, EventID: "ev-mdm",
		})
	case cfg.ComplexDesignation:
		// Designated complex without this month's MDM: the designation
		// comes from an earlier month's decision.
		prev := MustMonth(c.month).AddMonths(-1)
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
			ID: "tcm-visit", Kind: EncounterTCM, Code: tcm.Code, PractitionerNPI: practitionerID(tcm.By),
			Start: start, End: start.Add(30 * time.Minute), EventID: "ev-tcm",
		})
	}
	for i, en := range cfg.Encounters {
		enc := Encounter{
			ID: fmt.Sprintf("enc-%d", i+1), Kind: en.Kind, Code: en.Code, PractitionerNPI: practitionerID(en.By),
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
			t.Fatalf("%s: claim dos: %v", c.name, err)
		}
		f.ExternalClaims = append(f.ExternalClaims, ExternalClaim{
			Code: cl.Code, PractitionerNPI: practitionerID(cl.By), ServiceMonth: dos.MonthOf(), DateOfService: dos, EventID: fmt.Sprintf("ev-claim-%d", i+1),
		})
	}
	if cfg.DateOfDeath != nil {
		d, err := ParseDate(*cfg.DateOfDeath)
		if err != nil {
			t.Fatalf("%s: date of death: %v", c.name, err)
		}
		f.Patient.DeceasedDate = d
	}
	for i, raw := range c.entries {
		f.TimeEntries = append(f.TimeEntries, c.entry(t, i, raw, loc))
	}
	return f
}

// entry translates [role, minutes, program(s), local_start, note?]. "MD:DrA"
// is the named practitioner's own time; other roles are one staff member per
// role. A note mentioning voicemail/no answer/unanswered marks an unanswered
// attempt, "session:X" a shared session, "voided" a voided entry.
func (c scenarioCase) entry(t *testing.T, i int, raw []any, loc *time.Location) TimeEntry {
	t.Helper()
	if len(raw) < 4 {
		t.Fatalf("%s: entry %d: want [role, minutes, programs, start], got %v", c.name, i, raw)
	}
	role, _ := raw[0].(string)
	minutes, _ := raw[1].(float64)
	startS, _ := raw[3].(string)
	var start time.Time
	if c.utc || strings.HasSuffix(startS, "Z") {
		var err error
		if start, err = time.Parse(time.RFC3339, startS); err != nil {
			t.Fatalf("%s: entry %d start: %v", c.name, i, err)
		}
	} else {
		start = parseLocal(t, shiftMonths(startS, c.shift), loc)
	}
	te := TimeEntry{
		ID: fmt.Sprintf("e-%d", i+1), EventID: fmt.Sprintf("ev-e-%d", i+1),
		Programs: programs(raw[2]), StartedAt: start, Minutes: int(minutes),
		Outcome: OutcomeCompleted, Activity: fmt.Sprintf("activity %d", i+1), RecordedAt: start.Add(time.Duration(minutes) * time.Minute),
	}
	kind, name, _ := strings.Cut(role, ":")
	te.Staff = Staff{ID: role, Name: role, Role: staffRole(kind)}
	if name != "" {
		te.Staff.NPI = practitionerID(name)
	}
	if len(raw) > 4 {
		note, _ := raw[4].(string)
		n := strings.ToLower(note)
		if strings.Contains(n, "voicemail") || strings.Contains(n, "no answer") || strings.Contains(n, "unanswered") {
			te.Outcome = OutcomeUnanswered
		}
		if _, s, ok := strings.Cut(n, "session:"); ok {
			te.SessionID = strings.Fields(s)[0]
			te.Activity = "session " + te.SessionID
		}
		te.Voided = strings.Contains(n, "voided")
	}
	return te
}

func parseLocal(t *testing.T, s string, loc *time.Location) time.Time {
	t.Helper()
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05", time.DateOnly} {
		if v, err := time.ParseInLocation(layout, s, loc); err == nil {
			return v
		}
	}
	if v, err := time.Parse(time.RFC3339, s); err == nil {
		return v
	}
	t.Fatalf("unparseable time %q", s)
	return time.Time{}
}

// practitionerID maps "DrD (cardiology)" to "DrD"; the notation's names
// stand in for NPIs.
func practitionerID(s string) string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

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

func staffRole(s string) Role {
	switch strings.ToUpper(s) {
	case "MD", "DO":
		return RolePhysician
	case "FRONT_DESK", "FRONTDESK", "FD":
		return RoleFrontDesk
	case "SW":
		return RoleSocialWorker
	case "CM":
		return RoleCareManager
	case "PHARMD":
		return RolePharmacist
	}
	return Role(strings.ToLower(s))
}

func programs(v any) []Program {
	switch p := v.(type) {
	case string:
		return []Program{Program(strings.ToLower(p))}
	case []any:
		var out []Program
		for _, x := range p {
			s, _ := x.(string)
			out = append(out, Program(strings.ToLower(s)))
		}
		return out
	}
	return nil
}

// expectedMonths reads ">=12" as 12 and "<12" as 11.
func expectedMonths(t *testing.T, s string) int {
	t.Helper()
	s = strings.TrimSpace(s)
	less := strings.HasPrefix(s, "<") && !strings.HasPrefix(s, "<=")
	n, err := strconv.Atoi(strings.TrimLeft(s, "<>="))
	if err != nil {
		t.Fatalf("expected_months %q: %v", s, err)
	}
	if less {
		n--
	}
	return n
}

// disclosures maps the notation's consent elements onto the contract's.
func disclosures(elements []string) []string {
	has := func(e string) bool { return contains(elements, e) }
	var out []string
	if has("availability") && has("cost_sharing") {
		out = append(out, DisclosureAvailabilityAndCostSharing)
	}
	if has("one_practitioner_per_month") {
		out = append(out, DisclosureOnePractitionerPerMonth)
	}
	if has("right_to_stop_end_of_month") || has("right_to_stop") {
		out = append(out, DisclosureRightToStop)
	}
	if has("electronic_sharing") {
		out = append(out, DisclosureElectronicSharing)
	}
	return out
}

// outcomeCodes maps the notation's descriptive outcome names to reason codes.
var outcomeCodes = map[string]ReasonCode{
	"FEWER_THAN_2_QUALIFYING_CHRONIC_CONDITIONS": ReasonInsufficientChronicConditions,
	"NO_CONSENT":                        ReasonNoConsent,
	"NO_ACTIVE_CONSENT":                 ReasonNoConsent,
	"CONSENT_NOT_FOR_THIS_PRACTITIONER": ReasonConsentOtherPractitioner,
	"NO_CARE_PLAN":                      ReasonNoCarePlan,
	"NO_INITIATING_VISIT":               ReasonNoInitiatingVisit,
	"CCM_AND_PCM_SAME_PRACTITIONER":     ReasonCCMAndPCMSamePractitioner,
	"LEGACY_OVERLAP_EXCLUSION":          ReasonOverlappingServiceExclusion,
}

func outcomeCode(s string) ReasonCode {
	if c, ok := outcomeCodes[s]; ok {
		return c
	}
	if strings.HasPrefix(s, "BELOW_MIN") {
		return ReasonBelowThreshold
	}
	return ReasonCode(strings.ToLower(s))
}

// check compares an evaluation with the scenario's expectation and returns
// every difference.
func (c scenarioCase) check(ev Evaluation) []string {
	var diffs []string
	x := c.expect
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
	set := loadScenarios(t, scenarioFile)
	if len(set.Scenarios) == 0 {
		t.Fatal("no scenarios loaded")
	}
	for _, c := range scenarioCases(t, set) {
		t.Run(c.name, func(t *testing.T) {
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
	shared := findShared()
	if shared == "" {
		t.Log("shared/domain/scenarios.json not found above the working directory; using the testdata copy only")
		return
	}
	a, err := os.ReadFile(shared)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(scenarioFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Errorf("%s differs from %s: copy it again", scenarioFile, shared)
	}
}

func findShared() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		for _, p := range []string{
			filepath.Join(dir, "shared", "domain", "scenarios.json"),
			filepath.Join(dir, "..", "shared", "domain", "scenarios.json"),
		} {
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}
