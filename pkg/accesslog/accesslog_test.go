package accesslog_test

import (
	"context"
	"encoding/json"
	"fmt"
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
	v1.GET("/audit/claim-batches/:id/verification", ok)

	for _, r := range []struct{ method, path string }{
		{"GET", "/v1/patients/p-1"},
		{"POST", "/v1/patients/p-1/conditions"},
		{"GET", "/v1/billing/months/2025-03/patients/p-2"},
		{"GET", "/v1/time-entries/e-9"},
		{"GET", "/v1/practice"},
		{"GET", "/v1/patients/not.valid"},
		{"GET", "/v1/audit/claim-batches/batch-2025-03-1/verification"},
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
		{accesslog.NoPatient, "read", "/v1/audit/claim-batches/:id/verification"},
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
		wantPatient := w.patient
		if w.patient == accesslog.NoPatient {
			wantPatient = ""
			if got.Target != "id=batch-2025-03-1" {
				t.Errorf("record %d: target %q, want the batch id", i, got.Target)
			}
		}
		if raw.Subject != accesslog.SubjectPrefix+w.patient || got.PatientID != wantPatient || got.Kind != w.kind || got.Route != w.route ||
			got.Role != "admin" || got.TokenID == "" || got.Status != 200 || got.RequestID == "" || got.At.IsZero() {
			t.Errorf("record %d: got %+v on %s, want patient %s %s %s by admin", i, got, raw.Subject, w.patient, w.kind, w.route)
		}
	}
	if err := s.DeleteMsg(ctx, 1); err == nil {
		t.Fatal("DeleteMsg: got nil, want the access log to refuse deletion")
	}
}

// List pages through one patient's records or all of them, oldest first.
func TestList(t *testing.T) {
	srv := testenv.JetStream(t, "")
	nc := testenv.Connect(t, srv)
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rec, err := accesslog.Open(ctx, js, 1, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	empty, err := rec.List(ctx, accesslog.Query{PatientID: "p-1"})
	if err != nil || len(empty.Records) != 0 {
		t.Fatalf("List before any record: got %+v, %v", empty, err)
	}
	t0 := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	patients := []string{"p-1", "p-2", "p-1", "p-1", "p-2", "p-1"}
	for i, p := range patients {
		rec.Record(accesslog.Record{At: t0.Add(time.Duration(i) * time.Minute), PatientID: p, Route: "/v1/patients/:id", Method: "GET", Kind: "read", RequestID: fmt.Sprint("r-", i)})
	}
	if err := rec.Close(ctx); err != nil {
		t.Fatal(err)
	}
	var got []string
	q := accesslog.Query{PatientID: "p-1", Limit: 3}
	for pages := 0; ; pages++ {
		page, err := rec.List(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Records {
			if e.PatientID != "p-1" {
				t.Errorf("List(p-1): got a record of %s", e.PatientID)
			}
			got = append(got, e.RequestID)
		}
		if page.NextAfter == 0 {
			if pages != 1 {
				t.Errorf("4 records by 3: got %d pages, want 2", pages+1)
			}
			break
		}
		q.After = page.NextAfter
	}
	if want := "[r-0 r-2 r-3 r-5]"; fmt.Sprint(got) != want {
		t.Errorf("List(p-1): got %v, want %s", got, want)
	}
	all, err := rec.List(ctx, accesslog.Query{Since: t0.Add(4 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Records) != 2 || all.Records[0].RequestID != "r-4" || all.Records[1].RequestID != "r-5" {
		t.Errorf("List(since 4th minute): got %+v, want r-4 and r-5", all.Records)
	}
	if _, err := rec.List(ctx, accesslog.Query{PatientID: "bad.id"}); err == nil {
		t.Error("List(bad.id): got nil, want invalid")
	}
}
