package request_test

import (
	"context"
	"encoding/json"
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
	"github.com/carelog/carelog/pkg/auth"
	"github.com/carelog/carelog/pkg/errs"
	"github.com/carelog/carelog/pkg/eventlog"
	"github.com/carelog/carelog/pkg/eventlog/jetstream"
	"github.com/carelog/carelog/pkg/httpapi"
	"github.com/carelog/carelog/pkg/natsserver"
	"github.com/carelog/carelog/pkg/request"
	"github.com/carelog/carelog/pkg/testenv"
)

const (
	adminToken = "static-admin-token-0123456789"
	route      = "/v1/patients/:id/things"
)

// now is the pinned service clock, in a zone other than UTC.
var now = time.Date(2025, 3, 14, 9, 30, 0, 0, time.FixedZone("CST", -6*3600))

func ctx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

// service is a service's echo as main wires it: conventions, /v1 behind
// auth. Its write route runs FromEcho and keeps what it returned.
type service struct {
	e     *echo.Echo
	store *auth.Store
	meta  request.Meta
	err   error
}

func newService(t *testing.T, s *natsserver.Server) *service {
	t.Helper()
	js, err := natsjs.New(testenv.Connect(t, s))
	if err != nil {
		t.Fatalf("jetstream.New: %v", err)
	}
	st, err := auth.OpenStore(ctx(t), js, nil, auth.WithStaticAdmin(adminToken))
	if err != nil {
		t.Fatalf("auth.OpenStore: %v", err)
	}
	t.Cleanup(st.Close)
	svc := &service{e: httpapi.NewEcho(slog.New(slog.NewTextHandler(io.Discard, nil))), store: st}
	handler := func(c echo.Context) error {
		svc.meta, svc.err = request.FromEcho(c, now)
		if svc.err != nil {
			return svc.err
		}
		return request.Written(c, c.QueryParam("replay") == "", map[string]string{"id": c.Param("id")})
	}
	svc.e.Group("/v1", auth.Middleware(st)).POST("/patients/:id/things", handler)
	svc.e.POST("/open/things", handler) // not behind auth: no principal
	return svc
}

func (s *service) call(t *testing.T, target string, headers map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	s.meta, s.err = request.Meta{}, nil
	r := httptest.NewRequest(http.MethodPost, target, strings.NewReader(`{}`))
	r.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	s.e.ServeHTTP(w, r)
	return w
}

func errorDetail(t *testing.T, w *httptest.ResponseRecorder) httpapi.ErrorDetail {
	t.Helper()
	var b httpapi.ErrorBody
	if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil {
		t.Fatalf("error body %s: %v", w.Body, err)
	}
	return b.Error
}

func TestFromEcho(t *testing.T) {
	svc := newService(t, testenv.JetStream(t, ""))
	nurse, err := svc.store.Create(ctx(t), auth.Clinician, "nurse app")
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	tests := []struct {
		name    string
		headers map[string]string
		want    request.Meta // CorrelationID "" means: the generated request id
	}{
		{
			name:    "static admin",
			headers: map[string]string{"Authorization": "Bearer " + adminToken, "X-Request-Id": "req-1"},
			want: request.Meta{
				Actor:         events.Actor{ID: auth.StaticAdminID, Role: "admin", App: "CARELOG_ADMIN_TOKEN"},
				CorrelationID: "req-1",
			},
		},
		{
			name:    "token name as app",
			headers: map[string]string{"Authorization": "Bearer " + nurse.Bearer, "X-Request-Id": "req-2", "Idempotency-Key": "visit 2025-03-14 #1"},
			want: request.Meta{
				Actor:          events.Actor{ID: nurse.ID, Role: "clinician", App: "nurse app"},
				CorrelationID:  "req-2",
				IdempotencyKey: "visit 2025-03-14 #1",
			},
		},
		{
			name:    "X-Carelog-App overrides",
			headers: map[string]string{"Authorization": "Bearer " + nurse.Bearer, "X-Carelog-App": "Ward Tablet 2.1_b-x"},
			want:    request.Meta{Actor: events.Actor{ID: nurse.ID, Role: "clinician", App: "Ward Tablet 2.1_b-x"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := svc.call(t, "/v1/patients/p-1/things", tt.headers)
			if w.Code != http.StatusCreated || svc.err != nil {
				t.Fatalf("status: got %d %s (FromEcho: %v), want 201", w.Code, w.Body, svc.err)
			}
			got := svc.meta
			wantCorrelation := tt.want.CorrelationID
			if wantCorrelation == "" {
				wantCorrelation = w.Header().Get("X-Request-Id")
			}
			if got.Actor != tt.want.Actor {
				t.Errorf("actor: got %+v, want %+v", got.Actor, tt.want.Actor)
			}
			if got.CorrelationID != wantCorrelation || got.CorrelationID == "" {
				t.Errorf("correlation id: got %q, want the request id %q", got.CorrelationID, wantCorrelation)
			}
			if got.IdempotencyKey != tt.want.IdempotencyKey {
				t.Errorf("idempotency key: got %q, want %q", got.IdempotencyKey, tt.want.IdempotencyKey)
			}
			if want := "POST /v1/patients/p-1/things"; got.Route != want {
				t.Errorf("route: got %q, want %q", got.Route, want)
			}
			if !got.RecordedAt.Equal(now) || got.RecordedAt.Location() != time.UTC {
				t.Errorf("recordedAt: got %v, want %v in UTC", got.RecordedAt, now.UTC())
			}
		})
	}
}

func TestFromEchoRefuses(t *testing.T) {
	svc := newService(t, testenv.JetStream(t, ""))
	admin := "Bearer " + adminToken
	tests := []struct {
		name       string
		target     string
		headers    map[string]string
		wantStatus int
		wantKind   errs.Kind
		wantField  string
	}{
		{"app with a slash", "/v1/patients/p-1/things", map[string]string{"Authorization": admin, "X-Carelog-App": "ward/tablet"}, 400, errs.Invalid, request.HeaderApp},
		{"app starting with a space", "/v1/patients/p-1/things", map[string]string{"Authorization": admin, "X-Carelog-App": " tablet"}, 400, errs.Invalid, request.HeaderApp},
		{"app too long", "/v1/patients/p-1/things", map[string]string{"Authorization": admin, "X-Carelog-App": strings.Repeat("a", 65)}, 400, errs.Invalid, request.HeaderApp},
		{"idempotency key too long", "/v1/patients/p-1/things", map[string]string{"Authorization": admin, "Idempotency-Key": strings.Repeat("k", 129)}, 400, errs.Invalid, "Idempotency-Key"},
		{"no principal", "/open/things", nil, 401, errs.Unauthorized, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := svc.call(t, tt.target, tt.headers)
			if k := errs.KindOf(svc.err); k != tt.wantKind {
				t.Errorf("FromEcho error: got %v (kind %s), want kind %s", svc.err, k, tt.wantKind)
			}
			d := errorDetail(t, w)
			if w.Code != tt.wantStatus || d.Code != tt.wantKind || d.Field != tt.wantField {
				t.Errorf("response: got %d %+v, want %d %s field %q", w.Code, d, tt.wantStatus, tt.wantKind, tt.wantField)
			}
		})
	}
}

func TestWritten(t *testing.T) {
	svc := newService(t, testenv.JetStream(t, ""))
	headers := map[string]string{"Authorization": "Bearer " + adminToken}
	for target, want := range map[string]int{
		"/v1/patients/p-1/things":          http.StatusCreated,
		"/v1/patients/p-1/things?replay=1": http.StatusOK,
	} {
		w := svc.call(t, target, headers)
		if w.Code != want || strings.TrimSpace(w.Body.String()) != `{"id":"p-1"}` {
			t.Errorf("%s: got %d %s, want %d {\"id\":\"p-1\"}", target, w.Code, w.Body, want)
		}
	}
}

func TestEventID(t *testing.T) {
	const (
		stream = "patient.p-1"
		write  = "POST /v1/patients/:id/things"
	)
	keyed := request.Meta{Route: write, IdempotencyKey: "key-1"}
	id := keyed.EventID("thing", stream, "")

	if got := (request.Meta{Route: write, IdempotencyKey: "key-1"}).EventID("thing", stream, "c-9"); got != "thing-c-9" {
		t.Errorf("with a client id: got %q, want thing-c-9 (the client id wins over the key)", got)
	}
	if got := keyed.EventID("thing", stream, ""); got != id {
		t.Errorf("same key again: got %q, want %q", got, id)
	}
	if !strings.HasPrefix(id, "thing-k") || len(id) != len("thing-k")+32 || !events.ValidID(id) {
		t.Errorf("keyed id: got %q, want thing-k and 32 hex characters, a valid id", id)
	}
	others := map[string]string{
		"other stream": keyed.EventID("thing", "patient.p-2", ""),
		"other route":  (request.Meta{Route: "POST /v1/patients/:id/others", IdempotencyKey: "key-1"}).EventID("thing", stream, ""),
		"other key":    (request.Meta{Route: write, IdempotencyKey: "key-2"}).EventID("thing", stream, ""),
	}
	for name, got := range others {
		if got == id {
			t.Errorf("%s: got %q, the same id as for key-1 on %s, want another", name, got, stream)
		}
	}
	// The fields are separated: moving text between stream and route changes the id.
	a := (request.Meta{Route: "b", IdempotencyKey: "k"}).EventID("x", "patient.a", "")
	b := (request.Meta{Route: "ab", IdempotencyKey: "k"}).EventID("x", "patient.", "")
	if a == b {
		t.Errorf("stream/route boundary: got the same id %q for both, want different", a)
	}

	unkeyed := request.Meta{Route: write}
	seen := map[string]bool{}
	for range 100 {
		got := unkeyed.EventID("thing", stream, "")
		if !strings.HasPrefix(got, "thing-") || len(got) != len("thing-")+26 || !events.ValidID(got) {
			t.Fatalf("random id: got %q, want thing- and 26 hex characters, a valid id", got)
		}
		if seen[got] {
			t.Fatalf("random id %q: got it twice, want distinct ids", got)
		}
		seen[got] = true
	}
}

func TestEvent(t *testing.T) {
	m := request.Meta{
		Actor:         events.Actor{ID: "tok-1", Role: "clinician", App: "nurse app"},
		CorrelationID: "req-1",
		RecordedAt:    now.UTC(),
	}
	occurred := time.Date(2025, 3, 13, 15, 0, 0, 0, time.UTC)
	payload := events.ConsentRevoked{ConsentID: "c-1", RevokedAt: occurred, RecordedBy: "rn-4", Reason: "moved away"}
	e, err := m.Event("consent-c-1", events.TypeConsentRevoked, events.PatientStream("p-1"), "p-1", occurred, payload)
	if err != nil {
		t.Fatalf("Event: %v", err)
	}
	want := events.Envelope{
		ID: "consent-c-1", Type: events.TypeConsentRevoked, Version: events.DefaultRegistry().Latest(events.TypeConsentRevoked),
		Stream: "patient.p-1", PatientID: "p-1", OccurredAt: occurred, RecordedAt: m.RecordedAt,
		Actor: m.Actor, CorrelationID: "req-1",
	}
	wantData, _ := json.Marshal(payload)
	got := e
	got.Data = nil
	if want.Version < 1 || !equalEnvelope(got, want) || string(e.Data) != string(wantData) {
		t.Errorf("Event: got %+v data %s, want %+v data %s", got, e.Data, want, wantData)
	}

	// No occurrence time: the recording time.
	e2, err := m.Event("consent-c-2", events.TypeConsentRevoked, "patient.p-1", "p-1", time.Time{}, payload)
	if err != nil || !e2.OccurredAt.Equal(m.RecordedAt) {
		t.Errorf("Event without occurredAt: got %v, %v; want occurredAt %v", e2.OccurredAt, err, m.RecordedAt)
	}

	// What Event builds is accepted by the log as it is.
	l, err := jetstream.Open(ctx(t), testenv.Connect(t, testenv.JetStream(t, "")), jetstream.Config{})
	if err != nil {
		t.Fatalf("jetstream.Open: %v", err)
	}
	if _, err := l.Append(ctx(t), eventlog.NoStream, e); err != nil {
		t.Errorf("Append of the built event: %v", err)
	}

	if _, err := m.Event("x-1", "thing.unknown", "patient.p-1", "p-1", occurred, payload); errs.KindOf(err) != errs.Internal {
		t.Errorf("unknown type: got %v, want an internal error", err)
	}
	if _, err := m.Event("x-1", events.TypeConsentRevoked, "patient.p-1", "p-1", occurred, make(chan int)); errs.KindOf(err) != errs.Internal {
		t.Errorf("unmarshalable payload: got %v, want an internal error", err)
	}
}

func equalEnvelope(a, b events.Envelope) bool {
	return a.ID == b.ID && a.Type == b.Type && a.Version == b.Version && a.Stream == b.Stream &&
		a.PatientID == b.PatientID && a.OccurredAt.Equal(b.OccurredAt) && a.RecordedAt.Equal(b.RecordedAt) &&
		a.Actor == b.Actor && a.CorrelationID == b.CorrelationID && a.CausationID == b.CausationID &&
		a.PrevHash == "" && a.Hash == "" && b.PrevHash == "" && b.Hash == ""
}

func TestRandomID(t *testing.T) {
	a, b := request.RandomID(), request.RandomID()
	if len(a) != 26 || strings.Trim(a, "0123456789abcdef") != "" || a == b {
		t.Errorf("RandomID: got %q and %q, want two different strings of 26 lowercase hex characters", a, b)
	}
}
