package activitylog_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/accesslog"
	"github.com/carelog/carelog/pkg/auth"
	"github.com/carelog/carelog/pkg/eventlog"
	"github.com/carelog/carelog/pkg/eventlog/jetstream"
	"github.com/carelog/carelog/pkg/natsserver"
	"github.com/carelog/carelog/pkg/openapi"
	"github.com/carelog/carelog/pkg/servicehost"
	"github.com/carelog/carelog/pkg/testenv"
	"github.com/carelog/carelog/services/activitylog"
)

// now is the pinned service clock: 2025-03-14 15:00 UTC.
var now = time.Date(2025, 3, 14, 15, 0, 0, 0, time.UTC)

const (
	adminToken = "test-admin-token-0123456789"
	npi        = "1234567893"
	goodNotes  = "Reconciled medication list after discharge; stopped duplicate lisinopril"
)

// env is the service on the real thing: the real host (echo with Carelog's
// conventions, token authentication on /v1, the NATS command bridge) with a
// real token store and event log on an embedded JetStream node (SyncAlways),
// served over httptest.
type env struct {
	t      testing.TB
	ns     *natsserver.Server
	nc     *nats.Conn
	log    *jetstream.Log
	tokens *auth.Store
	host   *servicehost.Host
	svc    *activitylog.Service
	spec   *openapi.Spec
	url    string

	clinician, biller, auditor string
}

func setup(t testing.TB) *env { return setupWith(t, activitylog.Config{}) }

func setupWith(t testing.TB, cfg activitylog.Config) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ns := testenv.JetStream(t, "")
	nc := testenv.Connect(t, ns)
	log, err := jetstream.Open(ctx, nc, jetstream.Config{})
	if err != nil {
		t.Fatalf("jetstream.Open: %v", err)
	}
	js, err := natsjs.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := auth.OpenStore(ctx, js, time.Now, auth.WithStaticAdmin(adminToken))
	if err != nil {
		t.Fatalf("auth.OpenStore: %v", err)
	}
	t.Cleanup(tokens.Close)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	access, err := accesslog.Open(ctx, js, 0, logger)
	if err != nil {
		t.Fatalf("accesslog.Open: %v", err)
	}
	spec := openapi.NewSpec()
	host := servicehost.New(servicehost.Config{Title: "test", AccessLog: access}, logger, nc, log, tokens, spec)
	svc, err := activitylog.New(cfg, activitylog.Deps{Log: log, Logger: logger, Spec: spec, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatalf("activitylog.New: %v", err)
	}
	if err := host.Mount(svc); err != nil {
		t.Fatalf("Mount: %v", err)
	}
	t.Cleanup(host.Close)
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(runCtx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	srv := httptest.NewServer(host.Handler())
	t.Cleanup(srv.Close)
	token := func(role auth.Role) string {
		tok, err := tokens.Create(ctx, role, string(role)+" app")
		if err != nil {
			t.Fatalf("create %s token: %v", role, err)
		}
		return tok.Bearer
	}
	return &env{t: t, ns: ns, nc: nc, log: log, tokens: tokens, host: host, svc: svc, spec: spec, url: srv.URL,
		clinician: token(auth.Clinician), biller: token(auth.Biller), auditor: token(auth.Auditor)}
}

// appendEvent writes an event of another service directly to the log.
func (e *env) appendEvent(id string, typ events.Type, stream, pid string, payload any) {
	e.t.Helper()
	data, err := json.Marshal(payload)
	if err != nil {
		e.t.Fatal(err)
	}
	_, err = e.log.Append(context.Background(), eventlog.Any, events.Envelope{
		ID: id, Type: typ, Version: 1, Stream: stream, PatientID: pid,
		OccurredAt: now, RecordedAt: now, Actor: events.Actor{ID: "test", Role: "admin"}, Data: data,
	})
	if err != nil {
		e.t.Fatalf("append %s: %v", id, err)
	}
}

// enroll appends patient.enrolled (the consent service owns POST /v1/patients).
func (e *env) enroll(ids ...string) {
	e.t.Helper()
	for _, id := range ids {
		e.appendEvent("patient-"+id, events.TypePatientEnrolled, events.PatientStream(id), id, events.PatientEnrolled{
			ID: id, MRN: "mrn-" + id, Name: events.PersonName{Given: "Ada", Family: "Lovelace"},
			BirthDate: "1950-01-01", MBI: "1EG4TE5MK73", BillingPractitionerNPI: npi})
	}
}

// configure appends practice.configured (the consent service owns PUT /v1/practice).
func (e *env) configure(tz, policy string) {
	e.t.Helper()
	e.appendEvent(fmt.Sprintf("practice-%d", time.Now().UnixNano()), events.TypePracticeConfigured, events.PracticeStream, "",
		events.PracticeConfigured{Name: "Clinic", Timezone: tz, BillingNPI: npi, TaxID: "123456789", Policy: json.RawMessage(policy)})
}

// patientEvents lists the events of a patient's stream in order.
func (e *env) patientEvents(pid string) []eventlog.Record {
	e.t.Helper()
	var out []eventlog.Record
	for rec, err := range e.log.ReadStream(context.Background(), events.PatientStream(pid), 0) {
		if err != nil {
			e.t.Fatalf("ReadStream: %v", err)
		}
		out = append(out, rec)
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
	body   []byte
}

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response %d is not a JSON object: %v: %s", r.status, err, r.body)
	}
	return m
}

// do sends a request; body is a string (sent as is) or a value (JSON).
func (e *env) do(method, path, token string, body any, header ...string) response {
	e.t.Helper()
	return doHTTP(e.t, e.url, method, path, token, body, header...)
}

func doHTTP(t testing.TB, base, method, path, token string, body any, header ...string) response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		switch b := body.(type) {
		case string:
			rd = bytes.NewReader([]byte(b))
		default:
			j, err := json.Marshal(b)
			if err != nil {
				t.Fatal(err)
			}
			rd = bytes.NewReader(j)
		}
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{res.StatusCode, b}
}

// wantStatus fails unless r has status.
func wantStatus(t testing.TB, r response, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("got status %d (%s), want %d", r.status, r.body, status)
	}
}

// wantError fails unless r is the contract's error with status, code and
// (when given) field, with a message.
func wantError(t testing.TB, r response, status int, code, field string) map[string]any {
	t.Helper()
	wantStatus(t, r, status)
	e, _ := r.json(t)["error"].(map[string]any)
	if e["code"] != code || (field != "" && e["field"] != field) || e["message"] == "" {
		t.Fatalf("got error %v, want code %q field %q with a message", e, code, field)
	}
	return e
}

// timeEntry is a valid time entry body; edit it before sending.
func timeEntry(id, pid string) map[string]any {
	return map[string]any{
		"id": id, "patientId": pid,
		"staff":     map[string]any{"id": "rn-4", "name": "Rita Nurse", "role": "rn"},
		"programs":  []string{"ccm"},
		"startedAt": "2025-03-14T08:30:00-05:00", "minutes": 20,
		"activity": "medication_reconciliation", "notes": goodNotes, "outcome": "completed",
	}
}

func with(m map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
			continue
		}
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

func num(v any) uint64 {
	f, _ := v.(float64)
	return uint64(f)
}

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// sameJSON reports whether two JSON documents are equal as values.
func sameJSON(a, b []byte) bool {
	var va, vb any
	if json.Unmarshal(a, &va) != nil || json.Unmarshal(b, &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}
