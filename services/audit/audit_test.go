package audit_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/accesslog"
	"github.com/carelog/carelog/pkg/auth"
	"github.com/carelog/carelog/pkg/eventlog"
	"github.com/carelog/carelog/pkg/eventlog/jetstream"
	pkghttp "github.com/carelog/carelog/pkg/httpapi"
	"github.com/carelog/carelog/pkg/openapi"
	"github.com/carelog/carelog/pkg/testenv"
	"github.com/carelog/carelog/services/audit"
)

const adminToken = "audit-test-admin-token-0123456789"

type env struct {
	t      *testing.T
	log    *jetstream.Log
	tokens *auth.Store
	access *accesslog.Recorder
	spec   *openapi.Spec
	srv    *httptest.Server
	echo   *echo.Echo
	n      int
}

func start(t *testing.T) *env {
	t.Helper()
	srv := testenv.JetStream(t, "")
	nc := testenv.Connect(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	e := &env{t: t, spec: openapi.NewSpec()}
	var err error
	if e.log, err = jetstream.Open(ctx, nc, jetstream.Config{}); err != nil {
		t.Fatal(err)
	}
	js, err := natsjs.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if e.tokens, err = auth.OpenStore(ctx, js, time.Now, auth.WithStaticAdmin(adminToken)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.tokens.Close)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if e.access, err = accesslog.Open(ctx, js, 1, logger); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.access.Close(context.Background()) }) // before the server stops: no batch left staged
	svc, err := audit.New(audit.Config{}, audit.Deps{Log: e.log, Logger: logger, Spec: e.spec, Access: e.access})
	if err != nil {
		t.Fatal(err)
	}
	ec := pkghttp.NewEcho(logger)
	svc.Routes(ec.Group("/v1", auth.Middleware(e.tokens), e.access.Middleware()))
	e.echo = ec
	e.srv = httptest.NewServer(ec)
	t.Cleanup(e.srv.Close)
	return e
}

func (e *env) token(role auth.Role) string {
	e.t.Helper()
	tok, err := e.tokens.Create(context.Background(), role, string(role)+"-test")
	if err != nil {
		e.t.Fatal(err)
	}
	return tok.Bearer
}

// write appends an event occurring at occurred and recorded at recorded.
func (e *env) write(patientID string, typ events.Type, occurred, recorded time.Time, payload any) uint64 {
	e.t.Helper()
	env, err := events.DefaultRegistry().New(typ, payload)
	if err != nil {
		e.t.Fatal(err)
	}
	e.n++
	env.ID = fmt.Sprintf("ev-%d", e.n)
	env.Stream, env.PatientID = events.PatientStream(patientID), patientID
	env.OccurredAt, env.RecordedAt = occurred, recorded
	env.Actor = events.Actor{ID: "tok-1", Role: "clinician", App: "test"}
	res, err := e.log.Append(context.Background(), eventlog.Any, env)
	if err != nil {
		e.t.Fatal(err)
	}
	return res.Sequence
}

func (e *env) get(path, token string, v any) int {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.srv.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			e.t.Fatalf("GET %s: %d %s: %v", path, res.StatusCode, body, err)
		}
	}
	return res.StatusCode
}

var day = func(d int, h int) time.Time { return time.Date(2026, 3, d, h, 0, 0, 0, time.UTC) }

// enrollWithRevokedConsent writes p-1: enrolled, consented on March 2,
// revoked on March 20, the revocation recorded late (March 25).
func (e *env) enrollWithRevokedConsent() (revocationSeq uint64) {
	e.write("p-1", events.TypePatientEnrolled, day(1, 9), day(1, 9), events.PatientEnrolled{ID: "p-1", MRN: "M1", Name: events.PersonName{Given: "Ada", Family: "L"}, BirthDate: "1948-02-03", MBI: "1EG4TE5MK73", BillingPractitionerNPI: "1234567893"})
	e.write("p-1", events.TypeConsentGranted, day(2, 10), day(2, 10), events.ConsentGranted{ID: "c-1", Program: "ccm", PractitionerNPI: "1234567893", Method: "verbal", ObtainedAt: day(2, 10), ObtainedBy: "RN Jo", Disclosures: []string{"availability_and_cost_sharing", "one_practitioner_per_month", "right_to_stop"}})
	return e.write("p-1", events.TypeConsentRevoked, day(20, 10), day(25, 10), events.ConsentRevoked{ConsentID: "c-1", RevokedAt: day(20, 10), RecordedBy: "RN Jo"})
}

func TestRolesAndValidation(t *testing.T) {
	e := start(t)
	e.enrollWithRevokedConsent()
	auditor := e.token(auth.Auditor)
	routes := []string{
		"/v1/audit/patients/p-1/history", "/v1/audit/patients/p-1/state", "/v1/audit/patients/p-1/evidence?month=2026-03",
		"/v1/audit/claim-batches/batch-2026-03-1/verification", "/v1/audit/access-log",
	}
	for _, role := range []auth.Role{auth.Clinician, auth.Biller} {
		tok := e.token(role)
		for _, r := range routes {
			if got := e.get(r, tok, nil); got != http.StatusForbidden {
				t.Errorf("%s GET %s: got %d, want 403", role, r, got)
			}
		}
	}
	for _, r := range routes[:3] {
		if got := e.get(r, adminToken, nil); got != http.StatusOK {
			t.Errorf("admin GET %s: got %d, want 200", r, got)
		}
	}
	for _, c := range []struct{ path, field string }{
		{"/v1/audit/patients/p-1/history?limit=0", "limit"},
		{"/v1/audit/patients/p-1/history?limit=1001", "limit"},
		{"/v1/audit/patients/p-1/history?asOf=yesterday", "asOf"},
		{"/v1/audit/patients/p-1/history?untilSequence=-1", "untilSequence"},
		{"/v1/audit/patients/p-1/state?effectiveAt=2026-13-01", "effectiveAt"},
		{"/v1/audit/patients/p-1/evidence", "month"},
		{"/v1/audit/patients/p-1/evidence?month=2026-3", "month"},
		{"/v1/audit/patients/p-1/evidence?month=2026-03&format=pdf", "format"},
		{"/v1/audit/claim-batches/b-1/verification", "id"},
		{"/v1/audit/access-log?patientId=a.b", "patientId"},
	} {
		var body struct{ Error pkghttp.ErrorDetail }
		if got := e.get(c.path, auditor, &body); got != http.StatusBadRequest || body.Error.Field != c.field {
			t.Errorf("GET %s: got %d field %q, want 400 naming %s", c.path, got, body.Error.Field, c.field)
		}
	}
	for _, p := range []string{"/v1/audit/patients/p-9/history", "/v1/audit/patients/p-9/state", "/v1/audit/patients/p-9/evidence?month=2026-03", "/v1/audit/claim-batches/batch-2026-03-1/verification"} {
		if got := e.get(p, auditor, nil); got != http.StatusNotFound {
			t.Errorf("GET %s: got %d, want 404", p, got)
		}
	}
	doc, err := e.spec.Document("test", "1", e.echo.Routes())
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/v1/audit/patients/{id}/history", "/v1/audit/patients/{id}/state", "/v1/audit/patients/{id}/evidence", "/v1/audit/claim-batches/{id}/verification", "/v1/audit/access-log"} {
		if _, ok := d.Paths[p]["get"]; !ok {
			t.Errorf("OpenAPI: %s is not documented", p)
		}
	}
}

// The state is bitemporal: effectiveAt before the revocation shows the
// consent in force and after it revoked; asOf before the late-recorded
// revocation shows it in force whatever effectiveAt says.
func TestStateIsBitemporal(t *testing.T) {
	e := start(t)
	e.enrollWithRevokedConsent()
	auditor := e.token(auth.Auditor)
	for _, c := range []struct{ query, want string }{
		{"effectiveAt=2026-03-10T12:00:00Z", "in_force"},
		{"effectiveAt=2026-03-21T12:00:00Z", "revoked"},
		{"effectiveAt=2026-03-21", "revoked"},
		{"effectiveAt=2026-03-21T12:00:00Z&asOf=2026-03-24T00:00:00Z", "in_force"},
		{"effectiveAt=2026-03-21T12:00:00Z&asOf=2026-03-25T10:00:00Z", "revoked"},
	} {
		var st struct {
			Consents []struct{ Status string }
			Months   []struct{ Month string }
		}
		if got := e.get("/v1/audit/patients/p-1/state?"+c.query, auditor, &st); got != 200 {
			t.Fatalf("state?%s: got %d", c.query, got)
		}
		if len(st.Consents) != 1 || st.Consents[0].Status != c.want {
			t.Errorf("state?%s: got consents %+v, want one %s", c.query, st.Consents, c.want)
		}
		if len(st.Months) != 1 || st.Months[0].Month != "2026-03" {
			t.Errorf("state?%s: got months %+v, want 2026-03", c.query, st.Months)
		}
	}
	var before struct{ Consents []any }
	e.get("/v1/audit/patients/p-1/state?effectiveAt=2026-03-01T12:00:00Z", auditor, &before)
	if len(before.Consents) != 0 {
		t.Errorf("before the consent was obtained: got %v, want none", before.Consents)
	}
}

// Every audit read is itself in the access log, the patient's under the
// patient, the others under "_".
func TestAuditReadsAreRecorded(t *testing.T) {
	e := start(t)
	e.enrollWithRevokedConsent()
	auditor := e.token(auth.Auditor)
	e.get("/v1/audit/patients/p-1/history", auditor, nil)
	e.get("/v1/audit/patients/p-1/state", auditor, nil)
	e.get("/v1/audit/claim-batches/batch-2026-03-1/verification", auditor, nil)
	if err := e.access.Close(context.Background()); err != nil { // flushes every queued record
		t.Fatal(err)
	}
	var page accesslog.Page
	if got := e.get("/v1/audit/access-log?patientId=p-1", auditor, &page); got != 200 {
		t.Fatalf("access-log: got %d", got)
	}
	var routes []string
	for _, r := range page.Records {
		if r.Role != "auditor" || r.Kind != "read" {
			t.Errorf("record %+v: want an auditor's read", r)
		}
		routes = append(routes, r.Route)
	}
	if got, want := strings.Join(routes, " "), "/v1/audit/patients/:id/history /v1/audit/patients/:id/state"; got != want {
		t.Errorf("p-1's records: got %s, want %s", got, want)
	}
	e.get("/v1/audit/access-log?patientId=_", auditor, &page)
	if len(page.Records) != 1 || page.Records[0].Target != "id=batch-2026-03-1" {
		t.Errorf("records without a patient: got %+v, want the verification", page.Records)
	}
}
