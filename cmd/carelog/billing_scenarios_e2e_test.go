package main_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/carelog/carelog/services/billing/rules/scenariotest"
)

// TestBillingScenarios runs every worked example of ccm-rules.md §7
// (testdata/scenarios.json, a copy of shared/domain/scenarios.json) through
// the real binary's HTTP API, as a clinic would: the practice (with the
// scenario's time zone) and its scenarioPractitioners, the patient, conditions,
// consent (with the disclosures the scenario's elements name) and its
// revocation, care plan and its copy, complexity, encounters (the last visit
// with the billing practitioner, a TCM visit), external claims and the time
// entries (POST /v1/time-entries); then GET
// /v1/billing/months/{month}/patients/{id} as a biller and compares status,
// lines (code, units), reason codes, and the minutes and date of service
// where the scenario states them.
//
// The notation is read by services/billing/rules/scenariotest, as the rules'
// scenario test reads it (defaults ⊕ overrides; variants apply their
// overrides to the defaults and move the dated defaults with a moved service
// month; expect.next_month evaluates the following month of the same
// patient; "MD:DrA" is DrA's own time; names stand for NPIs). Each case is
// its own patient; the practice is reconfigured when a case's time zone or
// policy differs from the previous one. tcm_lines and rpm_lines belong to
// other evaluations and are not checked, as in the rules' test.
func TestBillingScenarios(t *testing.T) {
	set := scenariotest.Load(t, billingScenarioFile)
	p := serve(t, t.TempDir(), []string{"CARELOG_ADMIN_TOKEN=" + adminToken})
	c := newBillingClinic(t, p)
	cases := scenariotest.Cases(t, set)
	if len(cases) == 0 {
		t.Fatal("no scenario cases")
	}
	passed := 0
	for _, x := range cases {
		sc := billingCase{x}
		ok := t.Run(sc.Name, func(t *testing.T) {
			c.practice(t, sc.Config.PracticeTZ, sc.Config.Policy)
			if sc.Reuse == "" {
				c.record(t, sc)
			}
			ev := c.evaluation(t, sc.Month, sc.patient())
			for _, d := range sc.check(ev) {
				t.Error(d)
			}
			if t.Failed() {
				b, _ := json.MarshalIndent(ev, "", "  ")
				t.Logf("evaluation: %s", b)
			}
		})
		if ok {
			passed++
		}
	}
	t.Logf("billing scenarios through the binary: %d/%d passed", passed, len(cases))
}

// TestBillingScenarioCopyIsCurrent fails when testdata/scenarios.json
// differs from shared/domain/scenarios.json (when shared/ can be found
// above the working directory).
func TestBillingScenarioCopyIsCurrent(t *testing.T) {
	scenariotest.CheckCopy(t, billingScenarioFile)
}

const billingScenarioFile = "testdata/scenarios.json"

// ---- the clinic ------------------------------------------------------------------------

// scenarioPractitioners maps the notation's names onto registered NPIs (valid check
// digits) and kinds.
var scenarioPractitioners = map[string]struct{ npi, name, kind, credential string }{
	"DrA": {"1234567893", "Dr. Avery", "physician", "MD"},
	"DrB": {"1245319599", "Dr. Brooks", "physician", "MD"},
	"DrD": {"1306849450", "Dr. Diaz", "physician", "MD"},
	"DrN": {"1679576722", "Dr. Nguyen", "physician", "MD"},
}

// scenarioNPI maps "DrD (cardiology)" to DrD's NPI.
func scenarioNPI(t *testing.T, name string) string {
	t.Helper()
	n := scenariotest.Practitioner(name)
	if n == "" {
		return ""
	}
	pr, ok := scenarioPractitioners[n]
	if !ok {
		t.Fatalf("unknown practitioner %q in the scenarios", name)
	}
	return pr.npi
}

type billingClinic struct {
	p                 *proc
	clinician, biller string
	tz, policy        string
	configured        bool
}

func newBillingClinic(t *testing.T, p *proc) *billingClinic {
	t.Helper()
	c := &billingClinic{p: p}
	for name, pr := range scenarioPractitioners {
		c.mustCall(t, "PUT", "/v1/practitioners/"+pr.npi, adminToken, map[string]any{"name": pr.name, "kind": pr.kind, "credential": pr.credential}, 200, 201)
		_ = name
	}
	c.clinician = c.token(t, "clinician", "nurse app")
	c.biller = c.token(t, "biller", "billing desk")
	return c
}

func (c *billingClinic) token(t *testing.T, role, name string) string {
	t.Helper()
	var out struct{ Token string }
	c.mustCall(t, "POST", "/v1/tokens", adminToken, map[string]any{"role": role, "name": name}, 201).decode(t, &out)
	if out.Token == "" {
		t.Fatalf("no %s token", role)
	}
	return out.Token
}

// practice configures the practice for a case: its time zone and policy.
func (c *billingClinic) practice(t *testing.T, tz string, policy map[string]any) {
	t.Helper()
	if policy == nil {
		policy = map[string]any{}
	}
	pol, _ := json.Marshal(policy)
	if c.configured && c.tz == tz && c.policy == string(pol) {
		return
	}
	c.mustCall(t, "PUT", "/v1/practice", adminToken, map[string]any{"name": "Riverside Family Medicine", "timezone": tz,
		"billingNpi": scenarioPractitioners["DrA"].npi, "taxId": "12-3456789", "policy": policy}, 200, 201)
	c.configured, c.tz, c.policy = true, tz, string(pol)
}

type billingReply struct {
	status int
	body   []byte
}

func (r billingReply) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// call is proc.do reporting to the calling (sub)test.
func (c *billingClinic) call(t *testing.T, method, path, token string, body any) billingReply {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.p.addr+path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return billingReply{res.StatusCode, b}
}

func (c *billingClinic) mustCall(t *testing.T, method, path, token string, body any, want ...int) billingReply {
	t.Helper()
	r := c.call(t, method, path, token, body)
	for _, w := range want {
		if r.status == w {
			return r
		}
	}
	t.Fatalf("%s %s: got %d %s, want %v", method, path, r.status, r.body, want)
	return r
}

func (c *billingClinic) post(t *testing.T, path string, body any) {
	t.Helper()
	c.mustCall(t, "POST", path, c.clinician, body, 201)
}

// entryNotes say what was done, as the activity log requires (ccm-rules §6.1).
var entryNotes = []string{
	"Reviewed home glucose log with patient and adjusted diet plan",
	"Reconciled medication list after cardiology visit and updated pill organizer",
	"Coordinated home health nursing visit and confirmed wound supplies delivery",
	"Reviewed daily weights trend and reinforced fluid restriction with daughter",
	"Arranged transportation to nephrology appointment and sent lab order",
}

// record writes a case's facts through the API.
func (c *billingClinic) record(t *testing.T, sc billingCase) {
	t.Helper()
	cfg := sc.Config
	loc := sc.Location(t)
	local := func(s string) string { return scenariotest.ParseLocal(t, s, loc).Format(time.RFC3339) }
	id := sc.patient()
	billingNPI := scenarioNPI(t, cfg.BillingPractitioner)
	enroll := map[string]any{"id": id, "mrn": "MRN-" + id, "name": map[string]any{"given": "Ada", "family": "Lovelace"},
		"birthDate": "1948-02-03", "mbi": "1EG4TE5MK73", "billingPractitionerNpi": billingNPI}
	if cfg.DateOfDeath != nil {
		enroll["deceasedDate"] = *cfg.DateOfDeath
	}
	c.post(t, "/v1/patients", enroll)
	base := "/v1/patients/" + id
	for _, dx := range cfg.ChronicConditions {
		c.post(t, base+"/conditions", map[string]any{"code": dx.Dx, "description": "Chronic condition " + dx.Dx,
			"expectedDurationMonths": scenariotest.ExpectedMonths(t, dx.ExpectedMonths), "significantRisk": dx.SignificantRisk})
	}
	if k := cfg.Consent; k != nil && (k.Documented == nil || *k.Documented) {
		decision := k.Decision
		if decision == "" {
			decision = "accepted"
		}
		consentID := "consent-" + id
		c.post(t, base+"/consents", map[string]any{"id": consentID, "program": strings.ToLower(k.Program), "practitionerNpi": scenarioNPI(t, k.Practitioner),
			"method": k.Mode, "decision": decision, "obtainedAt": local(k.ObtainedAt), "obtainedBy": "RN Jo Smith", "disclosures": scenariotest.Disclosures(k.Elements)})
		if k.RevokedAt != nil {
			c.post(t, base+"/consents/"+consentID+"/revocation", map[string]any{"revokedAt": local(*k.RevokedAt), "recordedBy": "RN Jo Smith", "reason": "patient asked to stop"})
		}
	}
	if pl := cfg.CarePlan; pl != nil {
		planID := "plan-" + id
		body := scenarioCarePlan(planID, pl.Kind, local(pl.EstablishedAt), scenarioNPI(t, pl.By), pl.Electronic == nil || *pl.Electronic)
		if pl.ElementsComplete != nil && !*pl.ElementsComplete {
			delete(body, "goals") // measurable_treatment_goals missing
		}
		c.post(t, base+"/care-plans", body)
		if pl.CopyGivenAt != nil {
			c.post(t, base+"/care-plans/"+planID+"/copies", map[string]any{"providedAt": local(*pl.CopyGivenAt), "to": "patient", "method": "portal"})
		}
	}
	switch {
	case cfg.MDM != nil:
		d := scenariotest.ParseLocal(t, cfg.MDM.Date, loc).Add(9 * time.Hour)
		c.post(t, base+"/complexity", map[string]any{"month": d.Format("2006-01"), "level": cfg.MDM.Level, "practitionerNpi": scenarioNPI(t, cfg.MDM.By), "decidedAt": d.Format(time.RFC3339)})
	case cfg.ComplexDesignation:
		// Designated complex without this month's MDM: an earlier month's
		// decision (as the rules' test translates it).
		prev := scenarioMonthStart(t, sc.Month, loc).AddDate(0, -1, 0)
		c.post(t, base+"/complexity", map[string]any{"month": prev.Format("2006-01"), "level": "moderate", "practitionerNpi": billingNPI, "decidedAt": prev.Add(9 * time.Hour).Format(time.RFC3339)})
	}
	if cfg.LastVisit != nil {
		start := scenariotest.ParseLocal(t, *cfg.LastVisit, loc).Add(9 * time.Hour)
		c.post(t, base+"/encounters", map[string]any{"id": "visit-" + id, "kind": "office_visit", "code": "99214", "practitionerNpi": billingNPI,
			"start": start.Format(time.RFC3339), "end": start.Add(30 * time.Minute).Format(time.RFC3339), "ccmDiscussed": true})
	}
	for i, d := range cfg.InpatientDays {
		start := scenariotest.ParseLocal(t, d, loc)
		c.post(t, base+"/encounters", map[string]any{"id": fmt.Sprintf("stay-%d-%s", i+1, id), "kind": "inpatient_stay",
			"start": start.Format(time.RFC3339), "end": start.AddDate(0, 0, 1).Format(time.RFC3339)})
	}
	if tcm := cfg.TCM; tcm != nil {
		start := scenariotest.ParseLocal(t, tcm.FaceToFace, loc).Add(9 * time.Hour)
		c.post(t, base+"/encounters", map[string]any{"id": "tcm-" + id, "kind": "tcm", "code": tcm.Code, "practitionerNpi": scenarioNPI(t, tcm.By),
			"start": start.Format(time.RFC3339), "end": start.Add(30 * time.Minute).Format(time.RFC3339)})
	}
	for i, en := range cfg.Encounters {
		body := map[string]any{"id": fmt.Sprintf("enc-%d-%s", i+1, id), "kind": en.Kind, "start": local(en.Start)}
		if en.Code != "" {
			body["code"] = en.Code
		}
		if en.By != "" {
			body["practitionerNpi"] = scenarioNPI(t, en.By)
		}
		if en.End != "" {
			body["end"] = local(en.End)
		}
		for k, v := range map[string]bool{"timeBased": en.TimeBased, "ccmDiscussed": en.CCMDiscussed, "g0506": en.G0506} {
			if v {
				body[k] = true
			}
		}
		c.post(t, base+"/encounters", body)
	}
	for _, cl := range cfg.OtherClaims {
		c.post(t, base+"/external-claims", map[string]any{"code": cl.Code, "practitionerNpi": scenarioNPI(t, cl.By), "serviceMonth": cl.DOS[:7], "dateOfService": cl.DOS})
	}
	for i, raw := range sc.Entries {
		c.post(t, "/v1/time-entries", sc.entry(t, i, raw, loc))
	}
}

func (c *billingClinic) evaluation(t *testing.T, month, patient string) billingEvaluation {
	t.Helper()
	var ev billingEvaluation
	c.mustCall(t, "GET", "/v1/billing/months/"+month+"/patients/"+patient, c.biller, nil, 200).decode(t, &ev)
	return ev
}

// scenarioCarePlan is a complete comprehensive (or the scenario's kind) plan.
func scenarioCarePlan(id, kind, established, author string, electronic bool) map[string]any {
	if kind == "" {
		kind = "comprehensive"
	}
	return map[string]any{
		"id": id, "kind": kind, "establishedAt": established, "authorNpi": author, "electronic": electronic,
		"problems":        []any{map[string]any{"code": "I50.22", "description": "Chronic systolic heart failure"}, map[string]any{"code": "E11.65", "description": "Type 2 diabetes with hyperglycemia"}},
		"expectedOutcome": "Stable weight, no admissions", "prognosis": "Fair",
		"goals":              []any{map[string]any{"conditionCode": "E11.65", "description": "Lower HbA1c", "measure": "HbA1c", "target": "below 8.0 percent"}},
		"symptomManagement":  "Daily weights; call if gain over 2 lb in a day",
		"interventions":      []any{map[string]any{"description": "Weekly nurse call", "responsible": map[string]any{"name": "RN Jo Smith", "role": "rn"}}},
		"medications":        []any{map[string]any{"name": "Metformin", "dose": "500 mg", "frequency": "twice daily"}},
		"communityResources": []any{map[string]any{"name": "Meals on Wheels", "purpose": "nutrition"}},
		"coordination":       []any{map[string]any{"name": "Dr. Heart", "role": "cardiology", "purpose": "heart failure co-management"}},
		"reviewSchedule":     map[string]any{"intervalMonths": 3},
	}
}

// ---- the cases (scenariotest's, each its own patient) ----------------------

// billingCase is one of scenariotest's cases, recorded through the API.
type billingCase struct{ scenariotest.Case }

// patient is the case's patient id (the reused case's for a next month).
func (sc billingCase) patient() string {
	name := sc.Name
	if sc.Reuse != "" {
		name = sc.Reuse
	}
	return "scn-" + strings.ToLower(strings.ReplaceAll(name, "/", "-"))
}

func scenarioMonthStart(t *testing.T, month string, loc *time.Location) time.Time {
	t.Helper()
	m, err := time.ParseInLocation("2006-01", month, loc)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// entry is scenariotest's entry as the body of POST /v1/time-entries:
// "MD:DrA" is DrA's own time (role physician with DrA's NPI); other roles
// are one staff member per role.
func (sc billingCase) entry(t *testing.T, i int, raw []any, loc *time.Location) map[string]any {
	t.Helper()
	e := sc.Entry(t, i, raw, loc)
	staff := map[string]any{"id": strings.ToLower(e.Kind) + "-1", "name": "Staff " + e.Kind, "role": scenariotest.StaffRole(e.Kind)}
	if e.Name != "" {
		staff["id"], staff["name"], staff["npi"] = strings.ToLower(e.Name), scenarioPractitioners[e.Name].name, scenarioNPI(t, e.Name)
	}
	outcome := "completed"
	if e.Unanswered {
		outcome = "unanswered"
	}
	return map[string]any{
		"id": fmt.Sprintf("%s-e%d", sc.patient(), i+1), "patientId": sc.patient(), "staff": staff, "programs": e.Programs,
		"startedAt": e.Start.Format(time.RFC3339), "minutes": e.Minutes, "activity": "care_coordination",
		"notes": entryNotes[i%len(entryNotes)], "outcome": outcome,
	}
}

// billingEvaluation is the evaluation JSON as a client reads it.
type billingEvaluation struct {
	PatientID       string `json:"patientId"`
	Month           string `json:"month"`
	Status          string `json:"status"`
	Program         string `json:"program"`
	Pathway         string `json:"pathway"`
	CountedMinutes  int    `json:"countedMinutes"`
	UnbilledMinutes int    `json:"unbilledMinutes"`
	Lines           []struct {
		Code          string `json:"code"`
		Units         int    `json:"units"`
		DateOfService string `json:"dateOfService"`
	} `json:"lines"`
	Reasons []struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"reasons"`
	Flags []struct {
		Code string `json:"code"`
	} `json:"flags"`
	Excluded []struct {
		EntryID string `json:"entryId"`
		Minutes int    `json:"minutes"`
		Code    string `json:"code"`
	} `json:"excluded"`
	AsOfSequence uint64 `json:"asOfSequence"`
}

// check compares an evaluation with the case's expectation, as the rules'
// scenario test does, and returns every difference.
func (sc billingCase) check(ev billingEvaluation) []string {
	var diffs []string
	x := sc.Expect
	want := "billable"
	switch {
	case x.Refuse != "":
		want = "not_billable"
	case x.Hold != "":
		want = "hold"
	}
	if ev.Status != want {
		diffs = append(diffs, fmt.Sprintf("status: got %s, want %s", ev.Status, want))
	}
	var reasons []string
	for _, r := range ev.Reasons {
		reasons = append(reasons, r.Code)
	}
	for _, code := range []string{x.Refuse, x.Hold} {
		if code == "" {
			continue
		}
		found := false
		for _, r := range reasons {
			found = found || r == scenariotest.OutcomeCode(code)
		}
		if !found {
			diffs = append(diffs, fmt.Sprintf("reasons: got %v, want %s (%s)", reasons, scenariotest.OutcomeCode(code), code))
		}
	}
	if x.Lines != nil || want == "billable" {
		var got, exp []string
		for _, l := range ev.Lines {
			got = append(got, fmt.Sprintf("%s×%d", l.Code, l.Units))
		}
		for _, l := range x.Lines {
			units, _ := l[1].(float64)
			exp = append(exp, fmt.Sprintf("%v×%d", l[0], int(units)))
		}
		if strings.Join(got, " ") != strings.Join(exp, " ") {
			diffs = append(diffs, fmt.Sprintf("lines: got %v, want %v", got, exp))
		}
	}
	if x.CountedMinutes != nil && ev.CountedMinutes != *x.CountedMinutes {
		diffs = append(diffs, fmt.Sprintf("countedMinutes: got %d, want %d", ev.CountedMinutes, *x.CountedMinutes))
	}
	if x.UnbilledMinutes != nil && ev.UnbilledMinutes != *x.UnbilledMinutes {
		diffs = append(diffs, fmt.Sprintf("unbilledMinutes: got %d, want %d", ev.UnbilledMinutes, *x.UnbilledMinutes))
	}
	if x.CarriedToNext != nil {
		n := 0
		for _, e := range ev.Excluded {
			if e.Code == "other_month" {
				n += e.Minutes
			}
		}
		if n != *x.CarriedToNext {
			diffs = append(diffs, fmt.Sprintf("other_month minutes: got %d, want %d", n, *x.CarriedToNext))
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
