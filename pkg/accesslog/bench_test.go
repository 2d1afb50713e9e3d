package accesslog_test

import (
	"bytes"
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
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/carelog/carelog/pkg/accesslog"
	"github.com/carelog/carelog/pkg/auth"
	"github.com/carelog/carelog/pkg/httpapi"
	"github.com/carelog/carelog/pkg/testenv"
)

// BenchmarkPatientRead measures what recording reads costs a read (issue 6:
// recording must not slow reads materially): the same authenticated GET of
// a patient with the access-log middleware (impl=carelog) and without it
// (impl=raw), in requests/s, in a loop that reads as fast as it can: the
// recorder's queue fills and reads then wait for the store, so this is the
// bound under saturation. Records are stored in atomic batches; the time
// includes storing them all at the end.
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

// BenchmarkRecord compares the recorder (queue, atomic batches pipelined,
// acknowledgements awaited, retries) with raw atomic batch publishes of the
// same records to the same stream (batches of 512, each committed before
// the next, as plain NATS requests), in records/s. Atomic batches are
// stored with one fsync per batch (SyncAlways), which is what lets every
// read be recorded without holding the reads back (BenchmarkPatientRead).
func BenchmarkRecord(b *testing.B) {
	srv := testenv.JetStream(b, "")
	nc := testenv.Connect(b, srv)
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	rec := accesslog.Record{At: time.Now().UTC(), PatientID: "p-1", TokenID: "t-1", Role: "clinician", Method: "GET", Route: "/v1/patients/:id", Status: 200, Kind: "read"}
	r, err := accesslog.Open(ctx, js, 1, logger) // creates the stream for both sides
	if err != nil {
		b.Fatal(err)
	}
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
		start := time.Now()
		run := start.UnixNano() // ids unique across runs: the stream deduplicates
		for done, batch := 0, 0; done < b.N; batch++ {
			n := min(512, b.N-done)
			for i := range n {
				rec.ID = fmt.Sprintf("raw-%d-%d-%d", run, batch, i)
				data, _ := json.Marshal(rec)
				m := nats.NewMsg(accesslog.SubjectPrefix + "p-1")
				m.Data = data
				m.Header.Set(jetstream.MsgIDHeader, rec.ID)
				m.Header.Set("Nats-Batch-Id", fmt.Sprintf("raw-%d-%d", run, batch))
				m.Header.Set("Nats-Batch-Sequence", fmt.Sprint(i+1))
				if i < n-1 {
					if err := nc.PublishMsg(m); err != nil {
						b.Fatal(err)
					}
					continue
				}
				m.Header.Set("Nats-Batch-Commit", "1")
				reply, err := nc.RequestMsg(m, 30*time.Second)
				if err != nil {
					b.Fatal(err)
				}
				if bytes.Contains(reply.Data, []byte(`"error"`)) {
					b.Fatalf("batch refused: %s", reply.Data)
				}
			}
			done += n
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "records/s")
	})
	if err := r.Close(ctx); err != nil {
		b.Fatal(err)
	}
}
