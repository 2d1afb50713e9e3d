package careplan_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/auth"
	"github.com/carelog/carelog/pkg/eventlog"
	"github.com/carelog/carelog/pkg/eventlog/jetstream"
	"github.com/carelog/carelog/pkg/httpapi"
	"github.com/carelog/carelog/pkg/natsapi"
	"github.com/carelog/carelog/pkg/natsserver"
	"github.com/carelog/carelog/pkg/openapi"
	"github.com/carelog/carelog/pkg/testenv"
	"github.com/carelog/carelog/services/careplan"
)

// now is the pinned service clock: 2025-03-14 15:00 UTC.
var now = time.Date(2025, 3, 14, 15, 0, 0, 0, time.UTC)

const (
	adminToken = "test-admin-token-0123456789"
	npi        = "1234567893"
	patientID  = "p-1"
)

// env is the service on the real thing: the real echo with Carelog's
// conventions and the token middleware, a real token store and event log on
// an embedded JetStream node, served over httptest.
type env struct {
	t         *testing.T
	ns        *natsserver.Server
	tokens    *auth.Store
	log       *jetstream.Log
	nc        *nats.Conn
	echo      http.Handler
	svc       *careplan.Service
	spec      *openapi.Spec
	url       string
	clinician string
	biller    string
	auditor   string
}

func setup(t *testing.T) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ns := testenv.JetStream(t, "")
	nc := testenv.Connect(t, ns)
	log, err := jetstream.Open(ctx, nc, jetstream.Config{})
	if err != nil {
		t.Fatalf("jetstream.Open: %v", err)
	}
	t.Cleanup(func() { log.Close() })
	js, err := natsjs.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	store, err := auth.OpenStore(ctx, js, func() time.Time { return now }, auth.WithStaticAdmin(adminToken))
	if err != nil {
		t.Fatalf("auth.OpenStore: %v", err)
	}
	t.Cleanup(store.Close)
	token := func(role auth.Role) string {
		tok, err := store.Create(ctx, role, string(role)+" app")
		if err != nil {
			t.Fatalf("create %s token: %v", role, err)
		}
		return tok.Bearer
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	spec := openapi.NewSpec()
	svc, err := careplan.New(careplan.Config{}, careplan.Deps{Log: log, Logger: logger, Spec: spec, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatalf("careplan.New: %v", err)
	}
	e := httpapi.NewEcho(logger)
	svc.Routes(e.Group("/v1", auth.Middleware(store)))
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	env := &env{t: t, ns: ns, tokens: store, log: log, nc: nc, echo: e, svc: svc, spec: spec, url: srv.URL,
		clinician: token(auth.Clinician), biller: token(auth.Biller), auditor: token(auth.Auditor)}
	env.enroll(patientID)
	// Document fails when a mounted route has no operation.
	if _, err := spec.Document("test", "0", e.Routes()); err != nil {
		t.Fatalf("openapi: %v", err)
	}
	return env
}

// enroll appends patient.enrolled directly through the log (the consent
// service owns POST /v1/patients).
func (e *env) enroll(id string) {
	e.t.Helper()
	data, _ := json.Marshal(events.PatientEnrolled{ID: id, MRN: "mrn-1", Name: events.PersonName{Given: "Ada", Family: "Lovelace"},
		BirthDate: "1950-01-01", MBI: "1EG4TE5MK73", BillingPractitionerNPI: npi})
	_, err := e.log.Append(context.Background(), eventlog.NoStream, events.Envelope{
		ID: "patient-" + id, Type: events.TypePatientEnrolled, Version: 1, Stream: events.PatientStream(id), PatientID: id,
		OccurredAt: now, RecordedAt: now, Actor: events.Actor{ID: "test", Role: "admin"}, Data: data,
	})
	if err != nil {
		e.t.Fatalf("enroll %s: %v", id, err)
	}
}

// streamTypes lists the types of the patient's events in order.
func (e *env) streamTypes(id string) []events.Type {
	e.t.Helper()
	var out []events.Type
	for rec, err := range e.log.ReadStream(context.Background(), events.PatientStream(id), 0) {
		if err != nil {
			e.t.Fatalf("ReadStream: %v", err)
		}
		out = append(out, rec.Type)
	}
	return out
}

func (e *env) lastSequence() uint64 {
	e.t.Helper()
	n, err := e.log.LastSequence(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

type response struct {
	status int
	body   map[string]any
	raw    string
}

func (r response) errorField() (code, field string) {
	er, _ := r.body["error"].(map[string]any)
	code, _ = er["code"].(string)
	field, _ = er["field"].(string)
	return code, field
}

// do sends a request; body is JSON-encoded unless it is a string.
func (e *env) do(method, path, token string, body any, headers ...string) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := response{status: resp.StatusCode, raw: string(raw)}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			e.t.Fatalf("%s %s: body is not JSON: %s", method, path, raw)
		}
	}
	return r
}

func (e *env) want(r response, status int) {
	e.t.Helper()
	if r.status != status {
		e.t.Fatalf("got %d %s, want %d", r.status, r.raw, status)
	}
}

// ---- request bodies --------------------------------------------------------------

type obj = map[string]any

func fullPlan(id string) obj {
	return obj{
		"id": id, "kind": "comprehensive", "establishedAt": "2025-03-03T10:00:00-06:00", "authorNpi": npi, "electronic": true,
		"problems":          []obj{{"code": "I50.22", "description": "Chronic systolic heart failure"}, {"code": "E11.65"}},
		"expectedOutcome":   "No admissions",
		"prognosis":         "Fair",
		"goals":             []obj{{"conditionCode": "E11.65", "description": "Glucose control", "measure": "HbA1c", "target": "< 8 %", "targetDate": "2025-09-01"}},
		"symptomManagement": "Daily weights",
		"interventions": []obj{{"description": "Weekly call", "conditionCode": "I50.22",
			"responsible": obj{"name": "R. Nurse", "role": "rn", "staffId": "rn-4"}, "frequency": "weekly"}},
		"medications":                   []obj{{"name": "Metformin", "dose": "500 mg", "frequency": "twice daily"}},
		"communityResources":            []obj{{"name": "Meals on Wheels", "purpose": "low-sodium meals"}},
		"coordination":                  []obj{{"name": "Dr. Heart", "role": "cardiology", "npi": npi, "purpose": "titration"}},
		"reviewSchedule":                obj{"intervalMonths": 3, "nextReviewDate": "2025-06-03"},
		"cognitiveFunctionalAssessment": "Independent in ADLs",
	}
}

func with(b obj, kv ...any) obj {
	out := maps.Clone(b)
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

func without(b obj, keys ...string) obj {
	out := maps.Clone(b)
	for _, k := range keys {
		delete(out, k)
	}
	return out
}

const (
	plansPath      = "/v1/patients/" + patientID + "/care-plans"
	complexityPath = "/v1/patients/" + patientID + "/complexity"
)

func revisionsPath(plan string) string { return plansPath + "/" + plan + "/revisions" }
func copiesPath(plan string) string    { return plansPath + "/" + plan + "/copies" }

// ---- tests ----------------------------------------------------------------------

func TestEstablishAndReplay(t *testing.T) {
	e := setup(t)
	r := e.do("POST", plansPath, e.clinician, fullPlan("cp-1"))
	e.want(r, http.StatusCreated)
	b := r.body
	if b["id"] != "cp-1" || b["patientId"] != patientID || b["kind"] != "comprehensive" || b["complete"] != true ||
		b["electronic"] != true || b["authorNpi"] != npi || b["eventId"] != "careplan-cp-1" {
		t.Errorf("got %s, want plan cp-1, complete", r.raw)
	}
	if m, ok := b["missingElements"].([]any); !ok || len(m) != 0 {
		t.Errorf("missingElements: got %v, want []", b["missingElements"])
	}
	if seq, _ := b["sequence"].(float64); seq < 2 {
		t.Errorf("sequence: got %v, want the event's log position (> 1)", b["sequence"])
	}
	if b["establishedAt"] != "2025-03-03T10:00:00-06:00" {
		t.Errorf("establishedAt: got %v, want the offset kept", b["establishedAt"])
	}

	// The same request again: the original, 200, nothing written.
	again := e.do("POST", plansPath, e.clinician, fullPlan("cp-1"))
	e.want(again, http.StatusOK)
	if again.raw != r.raw {
		t.Errorf("replay: got %s, want the original %s", again.raw, r.raw)
	}
	// The same id with a different body: 409.
	c := e.do("POST", plansPath, e.clinician, with(fullPlan("cp-1"), "prognosis", "Good"))
	e.want(c, http.StatusConflict)
	if code, _ := c.errorField(); code != "conflict" {
		t.Errorf("got code %q, want conflict", code)
	}
	if got, want := e.streamTypes(patientID), []events.Type{events.TypePatientEnrolled, events.TypeCarePlanEstablished}; !slices.Equal(got, want) {
		t.Errorf("stream: got %v, want %v", got, want)
	}

	// Admin may write too.
	e.want(e.do("POST", plansPath, adminToken, fullPlan("cp-2")), http.StatusCreated)
}

func TestEstablishIncompletePlan(t *testing.T) {
	e := setup(t)
	body := obj{"id": "cp-min", "kind": "disease_specific", "establishedAt": "2025-03-10T09:00:00Z", "authorNpi": npi, "electronic": false,
		"problems": []obj{{"code": "I50.22"}},
		"goals":    []obj{{"description": "Feel better"}}}
	r := e.do("POST", plansPath, e.clinician, body)
	e.want(r, http.StatusCreated)
	want := []any{"expected_outcome_and_prognosis", "measurable_treatment_goals", "symptom_management",
		"planned_interventions", "medication_management", "coordination_with_other_providers", "periodic_review"}
	if r.body["complete"] != false || !slices.Equal(r.body["missingElements"].([]any), want) {
		t.Errorf("got complete %v, missing %v, want false and %v", r.body["complete"], r.body["missingElements"], want)
	}
	for _, k := range []string{"medications", "interventions", "copies", "revisions"} {
		if l, ok := r.body[k].([]any); !ok || len(l) != 0 {
			t.Errorf("%s: got %v, want []", k, r.body[k])
		}
	}
}

func TestEstablishWithoutIDUsesIdempotencyKey(t *testing.T) {
	e := setup(t)
	body := without(fullPlan(""), "id")
	r := e.do("POST", plansPath, e.clinician, body, "Idempotency-Key", "key-1")
	e.want(r, http.StatusCreated)
	id, _ := r.body["id"].(string)
	if !strings.HasPrefix(id, "k") || r.body["eventId"] != "careplan-"+id {
		t.Errorf("got id %q, event %v, want an id derived from the event id", id, r.body["eventId"])
	}
	again := e.do("POST", plansPath, e.clinician, body, "Idempotency-Key", "key-1")
	e.want(again, http.StatusOK)
	if again.body["id"] != id {
		t.Errorf("replay: got id %v, want %s", again.body["id"], id)
	}
	e.want(e.do("POST", plansPath, e.clinician, with(body, "prognosis", "x"), "Idempotency-Key", "key-1"), http.StatusConflict)
	if n := len(e.streamTypes(patientID)); n != 2 {
		t.Errorf("got %d events, want 2", n)
	}
}

func TestReviseCopyComplexityAndRead(t *testing.T) {
	e := setup(t)
	e.want(e.do("POST", plansPath, e.clinician, fullPlan("cp-1")), http.StatusCreated)

	// A revision that empties the goals: stored, the plan now incomplete.
	rev := obj{"revisedAt": "2025-03-12T09:00:00Z", "authorNpi": npi, "goals": []obj{}, "prognosis": "Guarded"}
	r := e.do("POST", revisionsPath("cp-1"), e.clinician, rev, "Idempotency-Key", "rev-1")
	e.want(r, http.StatusCreated)
	if r.body["planId"] != "cp-1" || r.body["complete"] != false ||
		!slices.Equal(r.body["missingElements"].([]any), []any{"measurable_treatment_goals"}) ||
		!slices.Equal(r.body["changedElements"].([]any), []any{"expected_outcome_and_prognosis", "measurable_treatment_goals"}) {
		t.Errorf("revision: got %s", r.raw)
	}
	// A second revision restores the goals.
	rev2 := obj{"revisedAt": "2025-03-13T09:00:00Z", "authorNpi": npi,
		"goals": []obj{{"description": "Weight", "measure": "kg", "target": "< 80"}}}
	e.want(e.do("POST", revisionsPath("cp-1"), e.clinician, rev2, "Idempotency-Key", "rev-2"), http.StatusCreated)
	// Replaying the first revision answers as it did then.
	again := e.do("POST", revisionsPath("cp-1"), e.clinician, rev, "Idempotency-Key", "rev-1")
	e.want(again, http.StatusOK)
	if again.raw != r.raw {
		t.Errorf("revision replay: got %s, want %s", again.raw, r.raw)
	}

	cp := obj{"providedAt": "2025-03-13T10:00:00-05:00", "to": "caregiver", "method": "portal"}
	c := e.do("POST", copiesPath("cp-1"), e.clinician, cp, "Idempotency-Key", "copy-1")
	e.want(c, http.StatusCreated)
	if c.body["to"] != "caregiver" || c.body["method"] != "portal" || c.body["providedAt"] != "2025-03-13T10:00:00-05:00" || c.body["sequence"] == nil {
		t.Errorf("copy: got %s", c.raw)
	}
	e.want(e.do("POST", copiesPath("cp-1"), e.clinician, cp, "Idempotency-Key", "copy-1"), http.StatusOK)

	cx := obj{"month": "2025-03", "level": "moderate", "practitionerNpi": npi, "decidedAt": "2025-03-14T08:00:00-05:00"}
	x := e.do("POST", complexityPath, e.clinician, cx, "Idempotency-Key", "cx-1")
	e.want(x, http.StatusCreated)
	if x.body["month"] != "2025-03" || x.body["level"] != "moderate" || x.body["practitionerNpi"] != npi {
		t.Errorf("complexity: got %s", x.raw)
	}
	e.want(e.do("POST", complexityPath, e.clinician, cx, "Idempotency-Key", "cx-1"), http.StatusOK)
	e.want(e.do("POST", complexityPath, e.clinician, with(cx, "level", "high"), "Idempotency-Key", "cx-1"), http.StatusConflict)

	want := []events.Type{events.TypePatientEnrolled, events.TypeCarePlanEstablished, events.TypeCarePlanRevised,
		events.TypeCarePlanRevised, events.TypeCarePlanCopyProvided, events.TypeComplexityRecorded}
	if got := e.streamTypes(patientID); !slices.Equal(got, want) {
		t.Errorf("stream: got %v, want %v", got, want)
	}

	// Every reader role sees the current plan.
	for _, tok := range []string{e.clinician, e.biller, e.auditor, adminToken} {
		g := e.do("GET", plansPath+"/cp-1", tok, nil)
		e.want(g, http.StatusOK)
		b := g.body
		if b["prognosis"] != "Guarded" || b["complete"] != true || b["revisionCount"] != float64(2) ||
			b["lastRevisedAt"] != "2025-03-13T09:00:00Z" || len(b["copies"].([]any)) != 1 || b["asOfSequence"] != float64(e.lastSequence()) {
			t.Errorf("get: got %s", g.raw)
		}
		if goals := b["goals"].([]any); len(goals) != 1 {
			t.Errorf("get: got goals %v, want the revised one", goals)
		}
	}
	e.want(e.do("GET", plansPath+"/cp-9", e.clinician, nil), http.StatusNotFound)
	e.want(e.do("GET", "/v1/patients/p-9/care-plans/cp-1", e.clinician, nil), http.StatusNotFound)
	e.want(e.do("GET", plansPath+"/cp-1", "", nil), http.StatusUnauthorized)
}

// Every bad input of the contract is refused with the documented error,
// naming the field, and writes nothing.
func TestBadInputWritesNothing(t *testing.T) {
	e := setup(t)
	e.want(e.do("POST", plansPath, e.clinician, fullPlan("cp-1")), http.StatusCreated)
	plan := fullPlan("cp-2")
	rev := obj{"revisedAt": "2025-03-12T09:00:00Z", "authorNpi": npi, "prognosis": "Good"}
	cp := obj{"providedAt": "2025-03-13T10:00:00Z", "to": "patient", "method": "paper"}
	cx := obj{"month": "2025-03", "level": "high", "practitionerNpi": npi, "decidedAt": "2025-03-14T08:00:00Z"}
	goal := func(kv ...any) []obj { return []obj{with(plan["goals"].([]obj)[0], kv...)} }
	intervention := func(resp obj) []obj {
		return []obj{with(plan["interventions"].([]obj)[0], "responsible", resp)}
	}

	tests := []struct {
		name    string
		method  string
		path    string
		token   string
		body    any
		headers []string
		status  int
		code    string
		field   string
	}{
		// authentication and roles
		{"no token", "POST", plansPath, "", plan, nil, 401, "unauthorized", ""},
		{"bad token", "POST", plansPath, "clg_nope_nope", plan, nil, 401, "unauthorized", ""},
		{"biller may not write", "POST", plansPath, e.biller, plan, nil, 403, "forbidden", ""},
		{"auditor may not write", "POST", plansPath, e.auditor, plan, nil, 403, "forbidden", ""},
		{"biller may not revise", "POST", revisionsPath("cp-1"), e.biller, rev, nil, 403, "forbidden", ""},
		{"biller may not record a copy", "POST", copiesPath("cp-1"), e.biller, cp, nil, 403, "forbidden", ""},
		{"auditor may not record complexity", "POST", complexityPath, e.auditor, cx, nil, 403, "forbidden", ""},
		{"no token for complexity", "POST", complexityPath, "", cx, nil, 401, "unauthorized", ""},

		// body shape (pkg/httpapi.Bind)
		{"unknown field", "POST", plansPath, e.clinician, with(plan, "colour", "red"), nil, 400, "invalid", "colour"},
		{"unknown nested field", "POST", plansPath, e.clinician, with(plan, "goals", goal("unit", "kg")), nil, 400, "invalid", "unit"},
		{"wrong type", "POST", plansPath, e.clinician, with(plan, "electronic", "yes"), nil, 400, "invalid", "electronic"},
		{"not JSON", "POST", plansPath, e.clinician, "{", nil, 400, "invalid", ""},
		{"empty body", "POST", plansPath, e.clinician, "", nil, 400, "invalid", ""},
		{"two JSON values", "POST", plansPath, e.clinician, `{"kind":"comprehensive"} {}`, nil, 400, "invalid", ""},
		{"bad Idempotency-Key", "POST", plansPath, e.clinician, plan, []string{"Idempotency-Key", strings.Repeat("k", 129)}, 400, "invalid", "Idempotency-Key"},

		// establish
		{"id with a dot", "POST", plansPath, e.clinician, with(plan, "id", "cp.2"), nil, 400, "invalid", "id"},
		{"no kind", "POST", plansPath, e.clinician, without(plan, "kind"), nil, 400, "invalid", "kind"},
		{"unknown kind", "POST", plansPath, e.clinician, with(plan, "kind", "basic"), nil, 400, "invalid", "kind"},
		{"no establishedAt", "POST", plansPath, e.clinician, without(plan, "establishedAt"), nil, 400, "invalid", "establishedAt"},
		{"establishedAt in the future", "POST", plansPath, e.clinician, with(plan, "establishedAt", "2025-03-14T15:06:00Z"), nil, 400, "invalid", "establishedAt"},
		{"establishedAt without offset", "POST", plansPath, e.clinician, with(plan, "establishedAt", "2025-03-03T10:00:00"), nil, 400, "invalid", "establishedAt"},
		{"establishedAt a date", "POST", plansPath, e.clinician, with(plan, "establishedAt", "2025-03-03"), nil, 400, "invalid", "establishedAt"},
		{"no electronic", "POST", plansPath, e.clinician, without(plan, "electronic"), nil, 400, "invalid", "electronic"},
		{"no authorNpi", "POST", plansPath, e.clinician, without(plan, "authorNpi"), nil, 400, "invalid", "authorNpi"},
		{"authorNpi check digit", "POST", plansPath, e.clinician, with(plan, "authorNpi", "1234567890"), nil, 400, "invalid", "authorNpi"},
		{"problem code", "POST", plansPath, e.clinician, with(plan, "problems", []obj{{"code": "heart failure"}}), nil, 400, "invalid", "problems[0].code"},
		{"goal description", "POST", plansPath, e.clinician, with(plan, "goals", goal("description", "")), nil, 400, "invalid", "goals[0].description"},
		{"goal target date", "POST", plansPath, e.clinician, with(plan, "goals", goal("targetDate", "soon")), nil, 400, "invalid", "goals[0].targetDate"},
		{"responsible name", "POST", plansPath, e.clinician, with(plan, "interventions", intervention(obj{"role": "rn"})), nil, 400, "invalid", "interventions[0].responsible.name"},
		{"responsible role", "POST", plansPath, e.clinician, with(plan, "interventions", intervention(obj{"name": "X", "role": "nurse"})), nil, 400, "invalid", "interventions[0].responsible.role"},
		{"medication name", "POST", plansPath, e.clinician, with(plan, "medications", []obj{{"dose": "1 mg"}}), nil, 400, "invalid", "medications[0].name"},
		{"review interval", "POST", plansPath, e.clinician, with(plan, "reviewSchedule", obj{"intervalMonths": 18}), nil, 400, "invalid", "reviewSchedule.intervalMonths"},
		{"coordination npi", "POST", plansPath, e.clinician, with(plan, "coordination", []obj{{"name": "Dr. X", "npi": "42"}}), nil, 400, "invalid", "coordination[0].npi"},
		{"unknown patient", "POST", "/v1/patients/p-404/care-plans", e.clinician, plan, nil, 404, "not_found", ""},
		{"malformed patient id", "POST", "/v1/patients/p%2E1/care-plans", e.clinician, plan, nil, 404, "not_found", ""},
		{"control: no id and no key is a new plan", "POST", plansPath, e.clinician, without(plan, "id"), nil, 201, "", ""},

		// revise
		{"revision before establishment", "POST", revisionsPath("cp-1"), e.clinician, with(rev, "revisedAt", "2025-03-03T15:59:59Z"), nil, 400, "invalid", "revisedAt"},
		{"revision in the future", "POST", revisionsPath("cp-1"), e.clinician, with(rev, "revisedAt", "2025-03-15T00:00:00Z"), nil, 400, "invalid", "revisedAt"},
		{"revision without revisedAt", "POST", revisionsPath("cp-1"), e.clinician, without(rev, "revisedAt"), nil, 400, "invalid", "revisedAt"},
		{"revision without author", "POST", revisionsPath("cp-1"), e.clinician, without(rev, "authorNpi"), nil, 400, "invalid", "authorNpi"},
		{"revision changing nothing", "POST", revisionsPath("cp-1"), e.clinician, without(rev, "prognosis"), nil, 400, "invalid", ""},
		{"revision unknown field", "POST", revisionsPath("cp-1"), e.clinician, with(rev, "kind", "disease_specific"), nil, 400, "invalid", "kind"},
		{"revision element shape", "POST", revisionsPath("cp-1"), e.clinician, with(rev, "problems", []obj{{"code": "150.22"}}), nil, 400, "invalid", "problems[0].code"},
		{"revision of an unknown plan", "POST", revisionsPath("cp-9"), e.clinician, rev, nil, 404, "not_found", ""},
		{"revision for an unknown patient", "POST", "/v1/patients/p-404/care-plans/cp-1/revisions", e.clinician, rev, nil, 404, "not_found", ""},

		// copies
		{"copy to a neighbour", "POST", copiesPath("cp-1"), e.clinician, with(cp, "to", "neighbour"), nil, 400, "invalid", "to"},
		{"copy by fax", "POST", copiesPath("cp-1"), e.clinician, with(cp, "method", "fax"), nil, 400, "invalid", "method"},
		{"copy without method", "POST", copiesPath("cp-1"), e.clinician, without(cp, "method"), nil, 400, "invalid", "method"},
		{"copy in the future", "POST", copiesPath("cp-1"), e.clinician, with(cp, "providedAt", "2025-03-20T00:00:00Z"), nil, 400, "invalid", "providedAt"},
		{"copy before the plan", "POST", copiesPath("cp-1"), e.clinician, with(cp, "providedAt", "2025-03-01T00:00:00Z"), nil, 400, "invalid", "providedAt"},
		{"copy malformed time", "POST", copiesPath("cp-1"), e.clinician, with(cp, "providedAt", "yesterday"), nil, 400, "invalid", "providedAt"},
		{"copy unknown field", "POST", copiesPath("cp-1"), e.clinician, with(cp, "email", "a@b.c"), nil, 400, "invalid", "email"},
		{"copy of an unknown plan", "POST", copiesPath("cp-9"), e.clinician, cp, nil, 404, "not_found", ""},

		// complexity
		{"complexity next month", "POST", complexityPath, e.clinician, with(cx, "month", "2025-04"), nil, 400, "invalid", "month"},
		{"complexity month malformed", "POST", complexityPath, e.clinician, with(cx, "month", "March"), nil, 400, "invalid", "month"},
		{"complexity unknown level", "POST", complexityPath, e.clinician, with(cx, "level", "extreme"), nil, 400, "invalid", "level"},
		{"complexity bad NPI", "POST", complexityPath, e.clinician, with(cx, "practitionerNpi", "1234567894"), nil, 400, "invalid", "practitionerNpi"},
		{"complexity decided in the future", "POST", complexityPath, e.clinician, with(cx, "decidedAt", "2025-03-14T16:00:00Z"), nil, 400, "invalid", "decidedAt"},
		{"complexity level as a number", "POST", complexityPath, e.clinician, with(cx, "level", 3), nil, 400, "invalid", "level"},
		{"complexity for an unknown patient", "POST", "/v1/patients/p-404/complexity", e.clinician, cx, nil, 404, "not_found", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.lastSequence()
			r := e.do(tt.method, tt.path, tt.token, tt.body, tt.headers...)
			if r.status != tt.status {
				t.Fatalf("got %d %s, want %d", r.status, r.raw, tt.status)
			}
			after := e.lastSequence()
			if tt.status >= 400 {
				code, field := r.errorField()
				if code != tt.code || field != tt.field {
					t.Errorf("got code %q field %q (%s), want %q and %q", code, field, r.raw, tt.code, tt.field)
				}
				if after != before {
					t.Errorf("got the log at %d after the request, want it at %d: a rejected request writes nothing", after, before)
				}
			} else if after != before+1 {
				t.Errorf("got the log at %d, want %d", after, before+1)
			}
		})
	}
}

// A write sent as a NATS request on carelog.cmd.<resource>.<action> is served
// by the same handler: same status and same body shape as over HTTP.
func TestNATSCommands(t *testing.T) {
	e := setup(t)
	srv, err := natsapi.Serve(e.nc, e.echo, e.svc.Commands())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	// Requests come from a second connection, as an app's would.
	client := testenv.Connect(t, e.ns)
	send := func(subject, token string, body any, headers ...string) response {
		t.Helper()
		m := nats.NewMsg(subject)
		if token != "" {
			m.Header.Set("Authorization", "Bearer "+token)
		}
		for i := 0; i+1 < len(headers); i += 2 {
			m.Header.Set(headers[i], headers[i+1])
		}
		m.Data, _ = json.Marshal(body)
		reply, err := client.RequestMsg(m, 10*time.Second)
		if err != nil {
			t.Fatalf("%s: %v", subject, err)
		}
		r := response{status: natsapi.Status(reply), raw: string(reply.Data)}
		if err := json.Unmarshal(reply.Data, &r.body); err != nil {
			t.Fatalf("%s: reply is not JSON: %s", subject, reply.Data)
		}
		return r
	}

	n := send("carelog.cmd.care-plans.establish", e.clinician, fullPlan("cp-n"), "Carelog-Param-Id", patientID)
	e.want(n, http.StatusCreated)
	h := e.do("POST", plansPath, e.clinician, fullPlan("cp-h"))
	e.want(h, http.StatusCreated)
	if got, want := slices.Sorted(maps.Keys(n.body)), slices.Sorted(maps.Keys(h.body)); !slices.Equal(got, want) {
		t.Errorf("NATS body fields: got %v, want the HTTP ones %v", got, want)
	}
	if n.body["id"] != "cp-n" || n.body["complete"] != true {
		t.Errorf("NATS body: got %s", n.raw)
	}
	// The same command over HTTP is a replay of the NATS one.
	if r := e.do("POST", plansPath, e.clinician, fullPlan("cp-n")); r.status != http.StatusOK || r.raw != n.raw {
		t.Errorf("HTTP replay of the NATS write: got %d %s, want 200 %s", r.status, r.raw, n.raw)
	}

	rev := obj{"revisedAt": "2025-03-12T09:00:00Z", "authorNpi": npi, "symptomManagement": "Weights twice daily"}
	r := send("carelog.cmd.care-plans.revise", e.clinician, rev, "Carelog-Param-Id", patientID, "Carelog-Param-PlanId", "cp-n", "Idempotency-Key", "r-1")
	e.want(r, http.StatusCreated)
	e.want(send("carelog.cmd.care-plans.revise", e.clinician, rev, "Carelog-Param-Id", patientID, "Carelog-Param-PlanId", "cp-n", "Idempotency-Key", "r-1"), http.StatusOK)
	cp := obj{"providedAt": "2025-03-13T10:00:00Z", "to": "patient", "method": "mail"}
	e.want(send("carelog.cmd.care-plans.copy", e.clinician, cp, "Carelog-Param-Id", patientID, "Carelog-Param-PlanId", "cp-n"), http.StatusCreated)
	cx := obj{"month": "2025-03", "level": "high", "practitionerNpi": npi, "decidedAt": "2025-03-14T08:00:00Z"}
	e.want(send("carelog.cmd.complexity.record", e.clinician, cx, "Carelog-Param-Id", patientID), http.StatusCreated)

	// Errors have the same shape as over HTTP, and write nothing.
	before := e.lastSequence()
	for _, tt := range []struct {
		name        string
		subject     string
		token       string
		body        any
		headers     []string
		status      int
		code, field string
	}{
		{"bad kind", "carelog.cmd.care-plans.establish", e.clinician, with(fullPlan("cp-x"), "kind", "x"), []string{"Carelog-Param-Id", patientID}, 400, "invalid", "kind"},
		{"no token", "carelog.cmd.care-plans.establish", "", fullPlan("cp-x"), []string{"Carelog-Param-Id", patientID}, 401, "unauthorized", ""},
		{"biller", "carelog.cmd.complexity.record", e.biller, cx, []string{"Carelog-Param-Id", patientID}, 403, "forbidden", ""},
		{"no patient header", "carelog.cmd.complexity.record", e.clinician, cx, nil, 400, "invalid", "Carelog-Param-Id"},
		{"no plan header", "carelog.cmd.care-plans.copy", e.clinician, cp, []string{"Carelog-Param-Id", patientID}, 400, "invalid", "Carelog-Param-PlanId"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := send(tt.subject, tt.token, tt.body, tt.headers...)
			if code, field := r.errorField(); r.status != tt.status || code != tt.code || field != tt.field {
				t.Errorf("got %d %s, want %d %s on %q", r.status, r.raw, tt.status, tt.code, tt.field)
			}
		})
	}
	if after := e.lastSequence(); after != before {
		t.Errorf("got the log at %d, want %d: rejected commands write nothing", after, before)
	}
}

// Two service instances over one log stand for two Carelog processes: their
// concurrent writes to one patient conflict on the stream's revision, are
// decided again and all land (pkg/command retries), while reads run beside
// them.
func TestConcurrentWritersOnOnePatient(t *testing.T) {
	e := setup(t)
	e.want(e.do("POST", plansPath, e.clinician, fullPlan("cp-1")), http.StatusCreated)
	other, err := careplan.New(careplan.Config{}, careplan.Deps{Log: e.log, Spec: openapi.NewSpec(), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	second := httpapi.NewEcho(slog.New(slog.NewTextHandler(io.Discard, nil)))
	other.Routes(second.Group("/v1", auth.Middleware(e.tokens)))
	srv := httptest.NewServer(second)
	t.Cleanup(srv.Close)

	const perProcess = 5
	type result struct {
		status int
		raw    string
	}
	results := make(chan result, 4*perProcess)
	var wg sync.WaitGroup
	for i := range 2 * perProcess {
		base := e.url
		if i%2 == 1 {
			base = srv.URL
		}
		wg.Go(func() {
			body, _ := json.Marshal(obj{"providedAt": "2025-03-13T10:00:00Z", "to": "patient", "method": "portal"})
			req, _ := http.NewRequest("POST", base+copiesPath("cp-1"), bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+e.clinician)
			req.Header.Set("Idempotency-Key", "copy-"+strconv.Itoa(i))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				results <- result{0, err.Error()}
				return
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			results <- result{resp.StatusCode, string(raw)}
		})
		wg.Go(func() {
			req, _ := http.NewRequest("GET", base+plansPath+"/cp-1", nil)
			req.Header.Set("Authorization", "Bearer "+e.auditor)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				results <- result{0, err.Error()}
				return
			}
			resp.Body.Close()
			results <- result{resp.StatusCode, ""}
		})
	}
	wg.Wait()
	close(results)
	for r := range results {
		if r.status != http.StatusCreated && r.status != http.StatusOK {
			t.Errorf("got %d %s, want 201 (write) or 200 (read)", r.status, r.raw)
		}
	}
	copies := 0
	for _, typ := range e.streamTypes(patientID) {
		if typ == events.TypeCarePlanCopyProvided {
			copies++
		}
	}
	if copies != 2*perProcess {
		t.Errorf("got %d copies in the stream, want %d", copies, 2*perProcess)
	}
	g := e.do("GET", plansPath+"/cp-1", e.clinician, nil)
	if n := len(g.body["copies"].([]any)); n != 2*perProcess {
		t.Errorf("got %d copies in the plan, want %d", n, 2*perProcess)
	}
}
