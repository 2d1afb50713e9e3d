package accesslog_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/carelog/carelog/pkg/accesslog"
	"github.com/carelog/carelog/pkg/auth"
	"github.com/carelog/carelog/pkg/httpapi"
	"github.com/carelog/carelog/pkg/testenv"
)

const admin = "accesslog-test-admin-token"

// Reads and writes that touch a patient are recorded with who, what and
// when; requests that touch no patient are not; Close makes every record
// durable.
func TestRecordsPatientAccess(t *testing.T) {
	srv := testenv.JetStream(t, "")
	nc := testenv.Connect(t, srv)
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	rec, err := accesslog.Open(ctx, js, 1, logger)
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := auth.OpenStore(ctx, js, time.Now, auth.WithStaticAdmin(admin))
	if err != nil {
		t.Fatal(err)
	}
	defer tokens.Close()
	e := httpapi.NewEcho(logger)
	v1 := e.Group("/v1", auth.Middleware(tokens), rec.Middleware())
	ok := func(c echo.Context) error { return c.NoContent(http.StatusOK) }
	v1.GET("/patients/:id", ok)
	v1.POST("/patients/:id/conditions", ok)
	v1.GET("/billing/months/:month/patients/:patientId", ok)
	v1.GET("/time-entries/:id", func(c echo.Context) error { accesslog.SetPatient(c, "p-3"); return ok(c) })
	v1.GET("/practice", ok)

	for _, r := range []struct{ method, path string }{
		{"GET", "/v1/patients/p-1"},
		{"POST", "/v1/patients/p-1/conditions"},
		{"GET", "/v1/billing/months/2025-03/patients/p-2"},
		{"GET", "/v1/time-entries/e-9"},
		{"GET", "/v1/practice"},
		{"GET", "/v1/patients/not.valid"},
	} {
		req := httptest.NewRequest(r.method, r.path, nil)
		req.Header.Set("Authorization", "Bearer "+admin)
		e.ServeHTTP(httptest.NewRecorder(), req)
	}
	if err := rec.Close(ctx); err != nil {
		t.Fatal(err)
	}

	s, err := js.Stream(ctx, accesslog.Stream)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ patient, kind, route string }{
		{"p-1", "read", "/v1/patients/:id"},
		{"p-1", "write", "/v1/patients/:id/conditions"},
		{"p-2", "read", "/v1/billing/months/:month/patients/:patientId"},
		{"p-3", "read", "/v1/time-entries/:id"},
	}
	if n := s.CachedInfo().State.Msgs; n != uint64(len(want)) {
		t.Fatalf("got %d access records, want %d", n, len(want))
	}
	for i, w := range want {
		raw, err := s.GetMsg(ctx, uint64(i+1))
		if err != nil {
			t.Fatal(err)
		}
		var got accesslog.Record
		if err := json.Unmarshal(raw.Data, &got); err != nil {
			t.Fatal(err)
		}
		if raw.Subject != accesslog.SubjectPrefix+w.patient || got.PatientID != w.patient || got.Kind != w.kind || got.Route != w.route ||
			got.Role != "admin" || got.TokenID == "" || got.Status != 200 || got.RequestID == "" || got.At.IsZero() {
			t.Errorf("record %d: got %+v on %s, want patient %s %s %s by admin", i, got, raw.Subject, w.patient, w.kind, w.route)
		}
	}
	if err := s.DeleteMsg(ctx, 1); err == nil {
		t.Fatal("DeleteMsg: got nil, want the access log to refuse deletion")
	}
}
