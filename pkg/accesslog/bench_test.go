package accesslog_test

import (
	"context"
	"encoding/json"
	"errors"
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

// BenchmarkPatientRead measures what recording reads costs a read (issue 6:
// recording must not slow reads materially): the same authenticated GET of
// a patient with the access-log middleware (impl=carelog) and without it
// (impl=raw), in requests/s. Records are published asynchronously in
// batches; the benchmark's time includes flushing them at the end.
func BenchmarkPatientRead(b *testing.B) {
	srv := testenv.JetStream(b, "")
	nc := testenv.Connect(b, srv)
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	tokens, err := auth.OpenStore(ctx, js, time.Now, auth.WithStaticAdmin(admin))
	if err != nil {
		b.Fatal(err)
	}
	defer tokens.Close()
	body := []byte(`{"id":"p-1","conditions":[]}`)
	read := func(c echo.Context) error { return c.JSONBlob(http.StatusOK, body) }
	for _, impl := range []string{"carelog", "raw"} {
		b.Run("impl="+impl, func(b *testing.B) {
			e := httpapi.NewEcho(logger)
			mw := []echo.MiddlewareFunc{auth.Middleware(tokens)}
			var rec *accesslog.Recorder
			if impl == "carelog" {
				if rec, err = accesslog.Open(ctx, js, 1, logger); err != nil {
					b.Fatal(err)
				}
				mw = append(mw, rec.Middleware())
			}
			e.Group("/v1", mw...).GET("/patients/:id", read)
			req := httptest.NewRequest("GET", "/v1/patients/p-1", nil)
			req.Header.Set("Authorization", "Bearer "+admin)
			b.ResetTimer()
			for b.Loop() {
				w := httptest.NewRecorder()
				e.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("got %d", w.Code)
				}
			}
			if rec != nil {
				if err := rec.Close(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "requests/s")
		})
	}
}

// BenchmarkRecord compares the recorder (queue, batches of async publishes,
// acknowledgements awaited, retries) with raw async publishes of the same
// records to the same stream, in records/s: the engine's durable publish
// rate (SyncAlways, one fsync per message) bounds both, and so bounds how
// many patient reads per second can be recorded before a full queue makes
// requests wait (BenchmarkPatientRead).
func BenchmarkRecord(b *testing.B) {
	srv := testenv.JetStream(b, "")
	nc := testenv.Connect(b, srv)
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	rec := accesslog.Record{At: time.Now().UTC(), PatientID: "p-1", TokenID: "t-1", Role: "clinician", Method: "GET", Route: "/v1/patients/:id", Status: 200, Kind: "read"}
	b.Run("impl=carelog", func(b *testing.B) {
		r, err := accesslog.Open(ctx, js, 1, logger)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		for range b.N {
			r.Record(rec)
		}
		if err := r.Close(ctx); err != nil { // every record stored
			b.Fatal(err)
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "records/s")
	})
	b.Run("impl=raw", func(b *testing.B) {
		data, _ := json.Marshal(rec)
		start := time.Now()
		for range b.N {
			for {
				_, err := js.PublishAsync(accesslog.SubjectPrefix+"p-1", data)
				if err == nil {
					break
				}
				if !errors.Is(err, jetstream.ErrTooManyStalledMsgs) {
					b.Fatal(err)
				}
				<-js.PublishAsyncComplete() // back-pressure: wait for the window to drain
			}
		}
		select {
		case <-js.PublishAsyncComplete():
		case <-time.After(time.Minute):
			b.Fatal("raw publishes not acknowledged within a minute")
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "records/s")
	})
}
