package billing_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/auth"
	"github.com/carelog/carelog/pkg/eventlog"
	"github.com/carelog/carelog/pkg/eventlog/jetstream"
	pkghttp "github.com/carelog/carelog/pkg/httpapi"
	"github.com/carelog/carelog/pkg/openapi"
	"github.com/carelog/carelog/pkg/testenv"
	"github.com/carelog/carelog/services/billing"
	"github.com/carelog/carelog/services/billing/internal/billingtest"
)

const adminToken = "billing-test-admin-token-0123456789"

// clock is the pinned service clock: 2 April 2025, after March.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

var ny = func() *time.Location {
	l, err := time.LoadLocation("America/New_York")
	if err != nil {
		panic(err)
	}
	return l
}()

func at(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, ny) }

const (
	npiA = "1234567893"
	npiB = "1245319599"
)

// app is the billing service mounted as the all-in-one mounts it: one echo
// with pkg/httpapi's conventions, /v1 behind auth.Middleware, Run in the
// background, over a real embedded JetStream log and real tokens.
type app struct {
	t      *testing.T
	log    *jetstream.Log
	tokens *auth.Store
	svc    *billing.Service
	spec   *openapi.Spec
	echo   *echo.Echo
	http   *httptest.Server
	cancel context.CancelFunc
	done   chan error
	n      atomic.Int64
	// recorded is the recording time of the next events written.
	recorded time.Time
}

func start(t *testing.T) *app {
	t.Helper()
	srv := testenv.JetStream(t, "")
	nc := testenv.Connect(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a := &app{t: t, spec: openapi.NewSpec(), done: make(chan error, 1), recorded: at(2025, 4, 1, 9, 0)}
	var err error
	if a.log, err = jetstream.Open(ctx, nc, jetstream.Config{}); err != nil {
		t.Fatal(err)
	}
	js, err := natsjs.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{now: time.Date(2025, 4, 2, 13, 0, 0, 0, time.UTC)}
	if a.tokens, err = auth.OpenStore(ctx, js, clk.Now, auth.WithStaticAdmin(adminToken)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.tokens.Close)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if a.svc, err = billing.New(billing.Config{}, billing.Deps{Log: a.log, Logger: logger, Spec: a.spec, Now: clk.Now}); err != nil {
		t.Fatal(err)
	}
	a.echo = pkghttp.NewEcho(logger)
	a.svc.Routes(a.echo.Group("/v1", auth.Middleware(a.tokens)))
	a.http = httptest.NewServer(a.echo)
	c, stop := context.WithCancel(context.Background())
	a.cancel = stop
	go func() { a.done <- a.svc.Run(c) }()
	t.Cleanup(func() {
		a.http.Close()
		stop()
		if err := <-a.done; err != nil {
			t.Errorf("Run: got %v, want nil after cancel", err)
		}
		a.svc.Close()
	})
	return a
}

func (a *app) token(role auth.Role) string {
	a.t.Helper()
	tok, err := a.tokens.Create(context.Background(), role, string(role)+"-test")
	if err != nil {
		a.t.Fatal(err)
	}
	return tok.Bearer
}

// write appends a real event to the log, as the service owning it would.
func (a *app) write(stream, patientID string, typ events.Type, payload any) eventlog.Record {
	a.t.Helper()
	env, err := events.DefaultRegistry().New(typ, payload)
	if err != nil {
		a.t.Fatal(err)
	}
	env.ID = fmt.Sprintf("ev-%d", a.n.Add(1))
	env.Stream, env.PatientID = stream, patientID
	env.OccurredAt, env.RecordedAt = a.recorded, a.recorded
	env.Actor = events.Actor{ID: "tok-1", Role: "clinician", App: "test"}
	res, err := a.log.Append(context.Background(), eventlog.Any, env)
	if err != nil {
		a.t.Fatal(err)
	}
	return eventlog.Record{Sequence: res.Sequence, Envelope: res.Event}
}

func (a *app) patient(id string, typ events.Type, payload any) eventlog.Record {
	a.t.Helper()
	return a.write(events.PatientStream(id), id, typ, payload)
}

func (a *app) practice() {
	a.t.Helper()
	a.recorded = at(2024, 11, 1, 9, 0)
	a.write(events.PracticeStream, "", events.TypePracticeConfigured, events.PracticeConfigured{Name: "Riverside", Timezone: "America/New_York", BillingNPI: npiA, TaxID: "123456789", Policy: json.RawMessage(`{}`)})
	a.write(events.PracticeStream, "", events.TypePractitionerRegistered, events.PractitionerRegistered{NPI: npiA, Name: "Dr. A", Kind: "physician", Credential: "MD"})
}

var disclosures = billingtest.Disclosures

// enroll writes a CCM-ready patient (consent and plan in December 2024).
func (a *app) enroll(id string) {
	a.t.Helper()
	a.recorded = at(2024, 12, 10, 13, 0)
	a.patient(id, events.TypePatientEnrolled, events.PatientEnrolled{ID: id, MRN: "M-" + id, Name: events.PersonName{Given: "Ada", Family: "L"}, BirthDate: "1948-02-03", MBI: "1EG4TE5MK73", BillingPractitionerNPI: npiA})
	for _, c := range []string{"I50.22", "E11.65"} {
		a.patient(id, events.TypeConditionRecorded, events.ConditionRecorded{Code: c, Description: "chronic", ExpectedDurationMonths: 120, SignificantRisk: true})
	}
	visit := at(2024, 12, 10, 9, 0)
	end := visit.Add(30 * time.Minute)
	a.patient(id, events.TypeEncounterRecorded, events.EncounterRecorded{ID: "visit-" + id, Kind: "office_visit", PractitionerNPI: npiA, Start: visit, End: &end, CCMDiscussed: true})
	a.patient(id, events.TypeConsentGranted, events.ConsentGranted{ID: "c-" + id, Program: "ccm", PractitionerNPI: npiA, Method: "verbal", ObtainedAt: at(2024, 12, 10, 10, 30), ObtainedBy: "RN Jo", Disclosures: disclosures})
	a.patient(id, events.TypeCarePlanEstablished, billingtest.CompletePlan("plan-"+id, npiA, at(2024, 12, 10, 11, 0)))
	a.patient(id, events.TypeCarePlanCopyProvided, events.CarePlanCopyProvided{PlanID: "plan-" + id, ProvidedAt: at(2024, 12, 10, 12, 0), To: "patient", Method: "portal"})
}

// entry records a time entry an hour after the work started.
func (a *app) entry(patientID, id, role string, start time.Time, minutes int) eventlog.Record {
	a.t.Helper()
	a.recorded = start.Add(time.Hour)
	return a.patient(patientID, events.TypeTimeRecorded, events.TimeRecorded{ID: id, PatientID: patientID,
		Staff: events.Staff{ID: role + "-1", Name: "Staff " + role, Role: role}, Programs: []string{"ccm"}, StartedAt: start, Minutes: minutes,
		Activity: "medication_reconciliation", Notes: "Reviewed home glucose log with patient and adjusted diet plan", Outcome: "completed"})
}

type response struct {
	status int
	raw    []byte
	err    pkghttp.ErrorDetail
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.raw, v); err != nil {
		t.Fatalf("decode %s: %v", r.raw, err)
	}
}

func (a *app) do(method, path, token, body string) response {
	a.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, a.http.URL+path, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := a.http.Client().Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := response{status: res.StatusCode, raw: bytes.TrimSpace(raw)}
	if res.StatusCode >= 400 {
		var eb pkghttp.ErrorBody
		if err := json.Unmarshal(raw, &eb); err != nil {
			a.t.Fatalf("%s %s: error body %s: %v", method, path, raw, err)
		}
		out.err = eb.Error
	}
	return out
}

func (a *app) must(want int, method, path, token, body string) response {
	a.t.Helper()
	r := a.do(method, path, token, body)
	if r.status != want {
		a.t.Fatalf("%s %s: got %d %s, want %d", method, path, r.status, r.raw, want)
	}
	return r
}

func wantError(t *testing.T, r response, status int, code, field string) {
	t.Helper()
	if r.status != status || string(r.err.Code) != code || (field != "" && r.err.Field != field) || r.err.Message == "" {
		t.Fatalf("got %d %+v, want %d %s field %q with a message", r.status, r.err, status, code, field)
	}
}
