package main_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

const (
	npiA = "1234567893" // valid NPI check digits
	npiB = "1245319599"
)

// clinic sets up a practice, two practitioners and a clinician token on p.
func clinic(t *testing.T, p *proc) (clinician string) {
	t.Helper()
	steps := []struct {
		method, path string
		body         any
	}{
		{"PUT", "/v1/practice", map[string]any{"name": "Riverside Family Medicine", "timezone": "America/New_York", "billingNpi": npiA, "taxId": "12-3456789", "policy": map[string]any{}}},
		{"PUT", "/v1/practitioners/" + npiA, map[string]any{"name": "Dr. A", "kind": "physician", "credential": "MD"}},
		{"PUT", "/v1/practitioners/" + npiB, map[string]any{"name": "NP B", "kind": "np", "credential": "NP"}},
	}
	for _, s := range steps {
		if r := p.do(s.method, s.path, adminToken, s.body); r.status != 201 && r.status != 200 {
			t.Fatalf("%s %s: got %d %s, want 201", s.method, s.path, r.status, r.body)
		}
	}
	r := p.do("POST", "/v1/tokens", adminToken, map[string]any{"role": "clinician", "name": "nurse app"})
	clinician, _ = r.json(t)["token"].(string)
	if clinician == "" {
		t.Fatalf("clinician token: got %d %s", r.status, r.body)
	}
	return clinician
}

func carePlan(id string) map[string]any {
	return map[string]any{
		"id": id, "kind": "comprehensive", "establishedAt": "2025-01-10T10:00:00-05:00", "authorNpi": npiA, "electronic": true,
		"problems":        []any{map[string]any{"code": "I50.22", "description": "Chronic systolic heart failure"}, map[string]any{"code": "E11.65", "description": "Type 2 diabetes with hyperglycemia"}},
		"expectedOutcome": "Stable weight, no admissions", "prognosis": "Fair",
		"goals":              []any{map[string]any{"conditionCode": "E11.65", "description": "Lower HbA1c", "measure": "HbA1c", "target": "< 8.0 %"}},
		"symptomManagement":  "Daily weights; call if gain > 2 lb/day",
		"interventions":      []any{map[string]any{"description": "Weekly nurse call", "responsible": map[string]any{"name": "RN Jo", "role": "rn"}}},
		"medications":        []any{map[string]any{"name": "Metformin", "dose": "500 mg", "frequency": "twice daily"}},
		"communityResources": []any{map[string]any{"name": "Meals on Wheels", "purpose": "nutrition"}},
		"coordination":       []any{map[string]any{"name": "Dr. Heart", "role": "cardiology", "purpose": "HF co-management"}},
		"reviewSchedule":     map[string]any{"intervalMonths": 3},
	}
}

func enroll(t *testing.T, p *proc, clinician, id string) {
	t.Helper()
	steps := []struct {
		path string
		body any
	}{
		{"/v1/patients", map[string]any{"id": id, "mrn": "MRN-" + id, "name": map[string]any{"given": "Ada", "family": "Lovelace"}, "birthDate": "1948-02-03", "mbi": "1EG4TE5MK73", "billingPractitionerNpi": npiA}},
		{"/v1/patients/" + id + "/conditions", map[string]any{"code": "I50.22", "description": "Chronic systolic heart failure", "expectedDurationMonths": 120, "significantRisk": true}},
		{"/v1/patients/" + id + "/conditions", map[string]any{"code": "E11.65", "description": "Type 2 diabetes with hyperglycemia", "expectedDurationMonths": 120, "significantRisk": true}},
		{"/v1/patients/" + id + "/consents", map[string]any{"id": "c-" + id, "program": "ccm", "practitionerNpi": npiA, "method": "verbal", "decision": "accepted", "obtainedAt": "2025-01-10T10:30:00-05:00", "obtainedBy": "RN Jo", "disclosures": []string{"availability_and_cost_sharing", "one_practitioner_per_month", "right_to_stop"}}},
		{"/v1/patients/" + id + "/care-plans", carePlan("plan-" + id)},
		{"/v1/patients/" + id + "/care-plans/plan-" + id + "/copies", map[string]any{"providedAt": "2025-01-10T11:00:00-05:00", "to": "patient", "method": "portal"}},
	}
	for _, s := range steps {
		if r := p.do("POST", s.path, clinician, s.body); r.status != 201 {
			t.Fatalf("POST %s: got %d %s, want 201", s.path, r.status, r.body)
		}
	}
}

func TestClinicalEnrollmentEndToEnd(t *testing.T) {
	dir := t.TempDir()
	p := serve(t, dir, []string{"CARELOG_ADMIN_TOKEN=" + adminToken})
	clinician := clinic(t, p)
	enroll(t, p, clinician, "p-1")

	summary := p.do("GET", "/v1/patients/p-1", clinician, nil)
	s := summary.json(t)
	conditions, _ := s["conditions"].([]any)
	consents, _ := s["consents"].([]any)
	plans, _ := s["carePlans"].([]any)
	if summary.status != 200 || len(conditions) != 2 || len(consents) != 1 || len(plans) != 1 {
		t.Fatalf("summary: got %d with %d conditions, %d consents, %d plans: %s", summary.status, len(conditions), len(consents), len(plans), summary.body)
	}
	plan, _ := plans[0].(map[string]any)
	if copies, _ := plan["copies"].([]any); len(copies) != 1 || plan["complete"] != true {
		t.Fatalf("plan: got %v, want complete with one copy", plan)
	}
	if elig, _ := s["eligibility"].(map[string]any); elig["ccm"] != true {
		t.Fatalf("eligibility: got %v, want two qualifying chronic conditions for CCM", elig)
	}

	// Retrying the consent with the same id writes nothing and answers 200.
	consent := map[string]any{"id": "c-p-1", "program": "ccm", "practitionerNpi": npiA, "method": "verbal", "decision": "accepted", "obtainedAt": "2025-01-10T10:30:00-05:00", "obtainedBy": "RN Jo", "disclosures": []string{"availability_and_cost_sharing", "one_practitioner_per_month", "right_to_stop"}}
	if r := p.do("POST", "/v1/patients/p-1/consents", clinician, consent); r.status != 200 {
		t.Fatalf("consent retry: got %d %s, want 200", r.status, r.body)
	}
	consent["method"] = "written"
	wantError(t, p.do("POST", "/v1/patients/p-1/consents", clinician, consent), 409, "conflict", "")

	// Restart after SIGKILL: nothing acknowledged is lost, the read model is
	// rebuilt identical.
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
	p.done <- nil
	q := serve(t, dir, []string{"CARELOG_ADMIN_TOKEN=" + adminToken})
	again := q.do("GET", "/v1/patients/p-1", clinician, nil)
	if again.status != 200 || !bytes.Equal(again.body, summary.body) {
		t.Fatalf("after kill -9: got %d\n%s\nwant\n%s", again.status, again.body, summary.body)
	}
}

// Every bad input of the contract is refused with the documented error
// naming the field, and writes no event (the next good write's sequence is
// the one after the last good write).
func TestClinicalBadInputsWriteNothing(t *testing.T) {
	p := serve(t, t.TempDir(), []string{"CARELOG_ADMIN_TOKEN=" + adminToken})
	clinician := clinic(t, p)
	enroll(t, p, clinician, "p-1")
	biller := p.do("POST", "/v1/tokens", adminToken, map[string]any{"role": "biller", "name": "billing desk"}).json(t)["token"].(string)

	future := time.Now().Add(48 * time.Hour).Format(time.RFC3339)
	consent := func(mod func(map[string]any)) map[string]any {
		c := map[string]any{"program": "ccm", "practitionerNpi": npiA, "method": "verbal", "decision": "accepted", "obtainedAt": "2025-02-01T10:00:00-05:00", "obtainedBy": "RN Jo", "disclosures": []string{"availability_and_cost_sharing"}}
		mod(c)
		return c
	}
	cases := []struct {
		name, method, path, token string
		body                      any
		status                    int
		code, field               string
	}{
		{"future consent", "POST", "/v1/patients/p-1/consents", clinician, consent(func(c map[string]any) { c["obtainedAt"] = future }), 400, "invalid", "obtainedAt"},
		{"unknown program", "POST", "/v1/patients/p-1/consents", clinician, consent(func(c map[string]any) { c["program"] = "rpm" }), 400, "invalid", "program"},
		{"unknown method", "POST", "/v1/patients/p-1/consents", clinician, consent(func(c map[string]any) { c["method"] = "telepathy" }), 400, "invalid", "method"},
		{"unknown decision", "POST", "/v1/patients/p-1/consents", clinician, consent(func(c map[string]any) { c["decision"] = "maybe" }), 400, "invalid", "decision"},
		{"missing disclosure list", "POST", "/v1/patients/p-1/consents", clinician, consent(func(c map[string]any) { delete(c, "disclosures") }), 400, "invalid", "disclosures"},
		{"bad NPI", "POST", "/v1/patients/p-1/consents", clinician, consent(func(c map[string]any) { c["practitionerNpi"] = "1234567890" }), 400, "invalid", "practitionerNpi"},
		{"unknown field", "POST", "/v1/patients/p-1/consents", clinician, consent(func(c map[string]any) { c["witness"] = "x" }), 400, "invalid", "witness"},
		{"bad ICD-10", "POST", "/v1/patients/p-1/conditions", clinician, map[string]any{"code": "XYZ", "description": "x", "expectedDurationMonths": 12, "significantRisk": true}, 400, "invalid", "code"},
		{"bad practitioner NPI", "PUT", "/v1/practitioners/1234567890", adminToken, map[string]any{"name": "Dr. X", "kind": "physician", "credential": "MD"}, 400, "invalid", "npi"},
		{"revocation before consent", "POST", "/v1/patients/p-1/consents/c-p-1/revocation", clinician, map[string]any{"revokedAt": "2024-12-01T10:00:00-05:00", "recordedBy": "RN Jo"}, 400, "invalid", "revokedAt"},
		{"future care plan", "POST", "/v1/patients/p-1/care-plans", clinician, func() any { c := carePlan("plan-2"); c["establishedAt"] = future; return c }(), 400, "invalid", "establishedAt"},
		{"unknown copy method", "POST", "/v1/patients/p-1/care-plans/plan-p-1/copies", clinician, map[string]any{"providedAt": "2025-01-11T10:00:00-05:00", "to": "patient", "method": "pigeon"}, 400, "invalid", "method"},
		{"missing token", "POST", "/v1/patients/p-1/conditions", "", map[string]any{"code": "I10", "description": "Hypertension", "expectedDurationMonths": 12, "significantRisk": true}, 401, "unauthorized", ""},
		{"wrong role", "POST", "/v1/patients/p-1/conditions", biller, map[string]any{"code": "I10", "description": "Hypertension", "expectedDurationMonths": 12, "significantRisk": true}, 403, "forbidden", ""},
		{"unknown patient", "POST", "/v1/patients/p-404/conditions", clinician, map[string]any{"code": "I10", "description": "Hypertension", "expectedDurationMonths": 12, "significantRisk": true}, 404, "not_found", ""},
	}
	last := sequenceOf(t, p.do("POST", "/v1/patients/p-1/complexity", clinician, map[string]any{"month": "2025-02", "level": "moderate", "practitionerNpi": npiA, "decidedAt": "2025-02-03T09:00:00-05:00"}))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantError(t, p.do(c.method, c.path, c.token, c.body), c.status, c.code, c.field)
		})
	}
	next := sequenceOf(t, p.do("POST", "/v1/patients/p-1/complexity", clinician, map[string]any{"month": "2025-03", "level": "high", "practitionerNpi": npiA, "decidedAt": "2025-03-03T09:00:00-05:00"}))
	if next != last+1 {
		t.Fatalf("got sequence %d after the bad inputs, want %d: a rejected request wrote an event", next, last+1)
	}
}

func sequenceOf(t *testing.T, r response) uint64 {
	t.Helper()
	if r.status != 201 {
		t.Fatalf("got %d %s, want 201", r.status, r.body)
	}
	seq, _ := r.json(t)["sequence"].(float64)
	if seq == 0 {
		t.Fatalf("got no sequence in %s", r.body)
	}
	return uint64(seq)
}

// Commands sent over NATS give the same results as HTTP, and a service's own
// binary works against the all-in-one's NATS server.
func TestClinicalCommandsOverNATSAndServiceBinary(t *testing.T) {
	p := serve(t, t.TempDir(), []string{"CARELOG_ADMIN_TOKEN=" + adminToken}, "--nats-listen", "127.0.0.1:0")
	clinician := clinic(t, p)
	enroll(t, p, clinician, "p-1")

	nc, err := nats.Connect(p.natsURL, nats.Token(clinician))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	body, _ := json.Marshal(map[string]any{"code": "N18.31", "description": "CKD stage 3a", "expectedDurationMonths": 120, "significantRisk": true})
	msg := nats.NewMsg("carelog.cmd.conditions.record")
	msg.Data = body
	msg.Header.Set("Authorization", "Bearer "+clinician)
	msg.Header.Set("Carelog-Param-Id", "p-1")
	msg.Header.Set("Idempotency-Key", "ckd-1")
	reply, err := nc.RequestMsg(msg, 10*time.Second)
	if err != nil || reply.Header.Get("Carelog-Status") != "201" {
		t.Fatalf("NATS condition: got %v %v %s, want 201", err, reply.Header, reply.Data)
	}
	again, err := nc.RequestMsg(msg, 10*time.Second)
	if err != nil || again.Header.Get("Carelog-Status") != "200" || !bytes.Equal(again.Data, reply.Data) {
		t.Fatalf("NATS retry: got %v %s, want 200 with the original body %s", err, again.Data, reply.Data)
	}
	bad := nats.NewMsg("carelog.cmd.conditions.record")
	bad.Data = []byte(`{"code":"nope","description":"x","expectedDurationMonths":12,"significantRisk":true}`)
	bad.Header.Set("Authorization", "Bearer "+clinician)
	bad.Header.Set("Carelog-Param-Id", "p-1")
	if r, err := nc.RequestMsg(bad, 10*time.Second); err != nil || r.Header.Get("Carelog-Status") != "400" || !strings.Contains(string(r.Data), `"field":"code"`) {
		t.Fatalf("NATS bad ICD-10: got %v %s, want 400 naming code", err, r.Data)
	}

	// The consent service's own binary, against the all-in-one's NATS.
	bin := filepath.Join(t.TempDir(), "carelog-consent")
	build := exec.Command("go", "build", "-o", bin, "github.com/carelog/carelog/services/consent/cmd/carelog-consent")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build carelog-consent: %v\n%s", err, out)
	}
	svc := &proc{t: t, done: make(chan error, 1)}
	svc.cmd = exec.Command(bin, "--addr", "127.0.0.1:0", "--nats-url", p.natsURL)
	svc.cmd.Env = append(os.Environ(), "CARELOG_NATS_TOKEN="+adminToken)
	startProc(t, svc)
	r := svc.do("POST", "/v1/patients/p-1/conditions", clinician, map[string]any{"code": "I10", "description": "Essential hypertension", "expectedDurationMonths": 120, "significantRisk": true})
	if r.status != 201 {
		t.Fatalf("condition through carelog-consent: got %d %s, want 201", r.status, r.body)
	}
	sum := p.do("GET", "/v1/patients/p-1", clinician, nil).json(t)
	if conds, _ := sum["conditions"].([]any); len(conds) != 4 {
		t.Fatalf("all-in-one summary: got %d conditions, want 4 (two enrolled, one over NATS, one through carelog-consent)", len(conds))
	}
}
