// Package scenariotest translates the notation of shared/domain/scenarios.json
// (the worked examples of ccm-rules.md §7) for the two tests that run them:
// the rules engine's test (services/billing/rules, which builds Facts) and
// the end-to-end test through the binary (cmd/carelog, which posts the same
// facts through the HTTP API). It holds what both read the same way: the
// file's data model, defaults ⊕ overrides, the expansion into cases
// (variants and follow-up months, with the dated defaults moved along with
// a moved service month), the time entries, and the notation's names mapped
// onto the contract's strings. Each test keeps its own translation into
// facts and its own check of the evaluation.
//
// It imports nothing of Carelog, so the rules package's internal test can
// use it without an import cycle.
package scenariotest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the practices' time zones without relying on the host's tzdata
)

// Set is the file: defaults plus scenarios that override them.
type Set struct {
	Defaults  map[string]json.RawMessage `json:"defaults"`
	Scenarios []Scenario                 `json:"scenarios"`
}

// Scenario is one worked example.
type Scenario struct {
	ID        string                     `json:"id"`
	Title     string                     `json:"title"`
	Overrides map[string]json.RawMessage `json:"overrides"`
	Entries   [][]any                    `json:"entries"`
	Expect    Expect                     `json:"expect"`
	Variants  []Variant                  `json:"variants"`
	Rules     []string                   `json:"rules"`
	Ambiguous bool                       `json:"ambiguous"`
}

// Variant is a scenario's variation: its own overrides (on the defaults),
// entries and expectation.
type Variant struct {
	Overrides  map[string]json.RawMessage `json:"overrides"`
	Entries    [][]any                    `json:"entries"`
	EntriesUTC [][]any                    `json:"entries_utc"`
	Expect     Expect                     `json:"expect"`
	Note       string                     `json:"note"`
}

// Expect is what a scenario's month should evaluate to.
type Expect struct {
	Lines           [][]any `json:"lines"`
	Refuse          string  `json:"refuse"`
	Hold            string  `json:"hold"`
	CountedMinutes  *int    `json:"counted_minutes"`
	UnbilledMinutes *int    `json:"unbilled_minutes"`
	CarriedToNext   *int    `json:"carried_to_next_month"`
	DOSNotAfter     string  `json:"dos_not_after"`
	NextMonth       *Expect `json:"next_month"`
}

// Config is defaults ⊕ overrides in the file's notation.
type Config struct {
	ServiceMonth        string         `json:"service_month"`
	PracticeTZ          string         `json:"practice_tz"`
	BillingPractitioner string         `json:"billing_practitioner"`
	PractitionerType    string         `json:"practitioner_type"`
	ChronicConditions   []Condition    `json:"chronic_conditions"`
	LastVisit           *string        `json:"last_visit_with_billing_practitioner"`
	Consent             *Consent       `json:"consent"`
	CarePlan            *CarePlan      `json:"care_plan"`
	ComplexDesignation  bool           `json:"complex_designation"`
	MDM                 *MDM           `json:"mdm"`
	InpatientDays       []string       `json:"inpatient_days"`
	OtherClaims         []Claim        `json:"other_claims_same_month"`
	DateOfDeath         *string        `json:"date_of_death"`
	TCM                 *TCM           `json:"tcm"`
	Encounters          []Encounter    `json:"encounters"`
	Policy              map[string]any `json:"policy"`
}

// Condition is one of chronic_conditions.
type Condition struct {
	Dx              string `json:"dx"`
	ExpectedMonths  string `json:"expected_months"`
	SignificantRisk bool   `json:"significant_risk"`
}

// Consent is the consent on file (documented unless Documented is false).
type Consent struct {
	Program      string   `json:"program"`
	Practitioner string   `json:"practitioner"`
	ObtainedAt   string   `json:"obtained_at"`
	Mode         string   `json:"mode"`
	Documented   *bool    `json:"documented"`
	Elements     []string `json:"elements"`
	RevokedAt    *string  `json:"revoked_at"`
	Decision     string   `json:"decision"`
}

// CarePlan is the care plan and its copy to the patient.
type CarePlan struct {
	EstablishedAt    string  `json:"established_at"`
	By               string  `json:"by"`
	Electronic       *bool   `json:"electronic"`
	ElementsComplete *bool   `json:"elements_complete"`
	CopyGivenAt      *string `json:"copy_given_at"`
	Kind             string  `json:"kind"`
}

// MDM is the month's complexity decision.
type MDM struct {
	Level string `json:"level"`
	By    string `json:"by"`
	Date  string `json:"date"`
}

// Claim is one of other_claims_same_month.
type Claim struct {
	Code string `json:"code"`
	By   string `json:"by"`
	DOS  string `json:"dos"`
}

// TCM is a transitional care management visit.
type TCM struct {
	Discharge  string `json:"discharge"`
	Code       string `json:"code"`
	By         string `json:"by"`
	FaceToFace string `json:"face_to_face"`
}

// Encounter is one of encounters.
type Encounter struct {
	Kind         string `json:"kind"`
	Code         string `json:"code"`
	By           string `json:"by"`
	Start        string `json:"start"`
	End          string `json:"end"`
	TimeBased    bool   `json:"time_based"`
	CCMDiscussed bool   `json:"ccm_discussed"`
	G0506        bool   `json:"g0506"`
}

// Load reads a scenarios file.
func Load(t *testing.T, path string) Set {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	var s Set
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	return s
}

// Merge applies overrides on defaults, key by key (a null override clears).
func Merge(t *testing.T, layers ...map[string]json.RawMessage) Config {
	t.Helper()
	m := map[string]json.RawMessage{}
	for _, l := range layers {
		for k, v := range l {
			m[k] = v
		}
	}
	b, _ := json.Marshal(m)
	var c Config
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatalf("scenario config: %v", err)
	}
	return c
}

// Case is one evaluation to run: a scenario, one of its variants, or a
// follow-up month.
type Case struct {
	Name    string
	Config  Config
	Entries [][]any
	UTC     bool   // the entries' starts are RFC 3339 instants (entries_utc)
	Shift   int    // months to shift the inherited entries with the service month
	Month   string // the month to evaluate, "YYYY-MM"
	Expect  Expect
	// Reuse, for a next month, is the case whose facts (and patient) this
	// one evaluates again.
	Reuse string
}

// Cases expands the file into cases. Notation decisions:
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
func Cases(t *testing.T, set Set) []Case {
	t.Helper()
	var out []Case
	base := Merge(t, set.Defaults)
	for _, s := range set.Scenarios {
		cfg := Merge(t, set.Defaults, s.Overrides)
		c := Case{Name: s.ID, Config: cfg, Entries: s.Entries, Month: cfg.ServiceMonth, Expect: s.Expect}
		out = append(out, c)
		if nm := s.Expect.NextMonth; nm != nil {
			n := c
			n.Name, n.Reuse, n.Expect = s.ID+"/next_month", s.ID, *nm
			n.Month = addMonths(t, cfg.ServiceMonth, 1)
			out = append(out, n)
		}
		for i, v := range s.Variants {
			vc := Merge(t, set.Defaults, v.Overrides)
			shift := monthIndex(t, vc.ServiceMonth) - monthIndex(t, base.ServiceMonth)
			c := Case{Name: fmt.Sprintf("%s/variant%d", s.ID, i+1), Config: vc, Month: vc.ServiceMonth, Expect: v.Expect}
			_, moved := v.Overrides["service_month"]
			switch {
			case v.EntriesUTC != nil:
				c.Entries, c.UTC = v.EntriesUTC, true
			case v.Entries != nil:
				c.Entries = v.Entries
			default:
				c.Entries = s.Entries
				if moved {
					c.Shift = shift
				}
			}
			if moved {
				c.Config = shiftDefaults(t, vc, v.Overrides, shift)
			}
			out = append(out, c)
		}
	}
	return out
}

// shiftDefaults moves the dated facts that a variant did not override.
func shiftDefaults(t *testing.T, c Config, overrides map[string]json.RawMessage, months int) Config {
	t.Helper()
	if months == 0 {
		return c
	}
	mv := func(s string) string { return shiftMonths(t, s, months) }
	if _, ok := overrides["consent"]; !ok && c.Consent != nil {
		k := *c.Consent
		k.ObtainedAt = mv(k.ObtainedAt)
		c.Consent = &k
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

// monthIndex is the month count of a string that starts with "YYYY-MM".
func monthIndex(t *testing.T, s string) int {
	t.Helper()
	m, err := time.Parse("2006-01", s[:7])
	if err != nil {
		t.Fatalf("month %q: %v", s, err)
	}
	return m.Year()*12 + int(m.Month()) - 1
}

// addMonths is the "YYYY-MM" n months after month's.
func addMonths(t *testing.T, month string, n int) string {
	t.Helper()
	i := monthIndex(t, month) + n
	return fmt.Sprintf("%04d-%02d", i/12, i%12+1)
}

// shiftMonths moves a "YYYY-MM-DD[Thh:mm]" string by months, keeping the rest.
func shiftMonths(t *testing.T, s string, months int) string {
	t.Helper()
	return addMonths(t, s, months) + s[7:]
}

// Location is the case's practice time zone.
func (c Case) Location(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(c.Config.PracticeTZ)
	if err != nil {
		t.Fatalf("%s: time zone %q: %v", c.Name, c.Config.PracticeTZ, err)
	}
	return loc
}

// ParseLocal parses the notation's local times and dates in loc (and
// RFC 3339 instants as they are).
func ParseLocal(t *testing.T, s string, loc *time.Location) time.Time {
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

// Entry is one time entry of the notation, [role, minutes, program(s),
// local_start, note?]. "MD:DrA" is the named practitioner's own time; other
// roles are one staff member per role.
type Entry struct {
	Role     string   // as written: "MD:DrA", "RN"
	Kind     string   // the role before any colon: "MD", "RN"
	Name     string   // the practitioner after the colon ("DrA"), or ""
	Minutes  int      // whole minutes
	Programs []string // lower case: "ccm", "pcm"
	Start    time.Time
	// From the note: a note mentioning voicemail/no answer/unanswered marks
	// an unanswered attempt, "session:X" a shared session, "voided" a
	// voided entry.
	Unanswered bool
	Session    string
	Voided     bool
}

// Entry translates the case's i-th entry; local starts are read in loc and
// moved by the case's Shift.
func (c Case) Entry(t *testing.T, i int, raw []any, loc *time.Location) Entry {
	t.Helper()
	if len(raw) < 4 {
		t.Fatalf("%s: entry %d: want [role, minutes, programs, start], got %v", c.Name, i, raw)
	}
	role, _ := raw[0].(string)
	minutes, _ := raw[1].(float64)
	startS, _ := raw[3].(string)
	var start time.Time
	if c.UTC || strings.HasSuffix(startS, "Z") {
		var err error
		if start, err = time.Parse(time.RFC3339, startS); err != nil {
			t.Fatalf("%s: entry %d start: %v", c.Name, i, err)
		}
	} else {
		start = ParseLocal(t, shiftMonths(t, startS, c.Shift), loc)
	}
	e := Entry{Role: role, Minutes: int(minutes), Programs: programs(raw[2]), Start: start}
	e.Kind, e.Name, _ = strings.Cut(role, ":")
	if len(raw) > 4 {
		note, _ := raw[4].(string)
		n := strings.ToLower(note)
		e.Unanswered = strings.Contains(n, "voicemail") || strings.Contains(n, "no answer") || strings.Contains(n, "unanswered")
		if _, s, ok := strings.Cut(n, "session:"); ok {
			e.Session = strings.Fields(s)[0]
		}
		e.Voided = strings.Contains(n, "voided")
	}
	return e
}

// programs reads "CCM" or ["CCM", "PCM"] as lower-case program names.
func programs(v any) []string {
	switch p := v.(type) {
	case string:
		return []string{strings.ToLower(p)}
	case []any:
		var out []string
		for _, x := range p {
			s, _ := x.(string)
			out = append(out, strings.ToLower(s))
		}
		return out
	}
	return nil
}

// Practitioner maps "DrD (cardiology)" to "DrD"; the notation's names stand
// in for NPIs.
func Practitioner(s string) string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// StaffRole maps the notation's role kinds ("MD", "FD", "SW", ...) onto the
// contract's staff roles.
func StaffRole(s string) string {
	switch strings.ToUpper(s) {
	case "MD", "DO":
		return "physician"
	case "FRONT_DESK", "FRONTDESK", "FD":
		return "front_desk"
	case "SW":
		return "social_worker"
	case "CM":
		return "care_manager"
	case "PHARMD":
		return "pharmacist"
	}
	return strings.ToLower(s)
}

// ExpectedMonths reads ">=12" as 12 and "<12" as 11.
func ExpectedMonths(t *testing.T, s string) int {
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

// Disclosures maps the notation's consent elements onto the contract's
// disclosures (never nil).
func Disclosures(elements []string) []string {
	has := func(e string) bool { return slices.Contains(elements, e) }
	out := []string{}
	if has("availability") && has("cost_sharing") {
		out = append(out, "availability_and_cost_sharing")
	}
	if has("one_practitioner_per_month") {
		out = append(out, "one_practitioner_per_month")
	}
	if has("right_to_stop_end_of_month") || has("right_to_stop") {
		out = append(out, "right_to_stop")
	}
	if has("electronic_sharing") {
		out = append(out, "electronic_sharing")
	}
	return out
}

// outcomeCodes maps the notation's descriptive outcome names to reason codes.
var outcomeCodes = map[string]string{
	"FEWER_THAN_2_QUALIFYING_CHRONIC_CONDITIONS": "insufficient_chronic_conditions",
	"NO_CONSENT":                        "no_consent",
	"NO_ACTIVE_CONSENT":                 "no_consent",
	"CONSENT_NOT_FOR_THIS_PRACTITIONER": "consent_other_practitioner",
	"NO_CARE_PLAN":                      "no_care_plan",
	"NO_INITIATING_VISIT":               "no_initiating_visit",
	"CCM_AND_PCM_SAME_PRACTITIONER":     "ccm_and_pcm_same_practitioner",
	"LEGACY_OVERLAP_EXCLUSION":          "overlapping_service_exclusion",
}

// OutcomeCode maps an expect.refuse or expect.hold name to the reason code
// the evaluation gives.
func OutcomeCode(s string) string {
	if c, ok := outcomeCodes[s]; ok {
		return c
	}
	if strings.HasPrefix(s, "BELOW_MIN") {
		return "below_threshold"
	}
	return strings.ToLower(s)
}

// CheckCopy fails when the copy at path (a test's testdata/scenarios.json)
// differs from shared/domain/scenarios.json, found by walking up from the
// test's working directory (shared/ may sit in the repository or beside
// it); it only logs when shared/ cannot be found.
func CheckCopy(t *testing.T, path string) {
	t.Helper()
	shared := FindShared()
	if shared == "" {
		t.Log("shared/domain/scenarios.json not found above the working directory; using the testdata copy only")
		return
	}
	a, err := os.ReadFile(shared)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Errorf("%s differs from %s: copy it again", path, shared)
	}
}

// FindShared is the path of shared/domain/scenarios.json in or beside the
// working directory or one of its parents, or "" when there is none.
func FindShared() string {
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
