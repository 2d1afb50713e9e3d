package activitylog_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/eventlog/jetstream"
	"github.com/carelog/carelog/pkg/testenv"
)

// Benchmarks come in pairs, carelog and raw, under one name; `make bench`
// prints each pair as one line with the ratio (cmd/benchreport):
//
//	Ingest/path=batch: carelog X/s, raw Y/s, ratio R
//
// One op ingests benchEntries time entries for benchPatients enrolled
// patients (entry i is patient i mod 500, so every batch spans all of them):
//
//   - path=batch/impl=carelog: POST /v1/time-entries/batch over real HTTP,
//     batches of 1,000 sent by 16 concurrent clients (the 10 batches of an op
//     are all in flight at once, as when several clinical apps sync);
//   - path=single/impl=carelog: one POST /v1/time-entries per entry from 16
//     concurrent clients;
//   - impl=raw: the floor beneath both, 16 goroutines doing a durable
//     js.Publish (acknowledged, SyncAlways) of an event-sized message per
//     entry: no HTTP, no validation, no hash chain, no concurrency guard.
//
// Every side runs on its own embedded JetStream node with SyncAlways on a
// fresh b.TempDir(); the carelog side is the real host (servicehost: echo,
// token authentication, the service mounted as in production) behind an
// httptest server, with a real clinician token.
const (
	benchEntries  = 10_000
	benchPatients = 500
	benchClients  = 16
	benchBatch    = 1_000
)

func BenchmarkIngest(b *testing.B) {
	b.Run("path=batch/impl=carelog", func(b *testing.B) {
		e := benchEnv(b)
		client := benchClient()
		runClients(b, func(op int, work chan<- func() error) {
			for k := 0; k < benchEntries/benchBatch; k++ {
				items := make([]any, benchBatch)
				for i := range items {
					items[i] = benchEntry(op, k*benchBatch+i)
				}
				body, _ := json.Marshal(map[string]any{"entries": items})
				work <- func() error {
					res, err := post(client, e.url+"/v1/time-entries/batch", e.clinician, body)
					if err != nil {
						return err
					}
					var out batchResponse
					if err := json.Unmarshal(res, &out); err != nil || out.Summary.Stored != benchBatch {
						return fmt.Errorf("batch: got %+v (%v), want %d stored", out.Summary, err, benchBatch)
					}
					return nil
				}
			}
		})
	})
	b.Run("path=batch/impl=raw", func(b *testing.B) { rawPublish(b) })
	b.Run("path=single/impl=carelog", func(b *testing.B) {
		e := benchEnv(b)
		client := benchClient()
		runClients(b, func(op int, work chan<- func() error) {
			for i := range benchEntries {
				body, _ := json.Marshal(benchEntry(op, i))
				work <- func() error {
					_, err := post(client, e.url+"/v1/time-entries", e.clinician, body)
					return err
				}
			}
		})
	})
	b.Run("path=single/impl=raw", func(b *testing.B) { rawPublish(b) })
}

// benchEnv is the service with benchPatients enrolled patients.
func benchEnv(b *testing.B) *env {
	b.Helper()
	e := setup(b)
	var wg sync.WaitGroup
	for w := range benchClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := w; p < benchPatients; p += benchClients {
				e.enroll(fmt.Sprintf("p-%d", p))
			}
		}()
	}
	wg.Wait()
	return e
}

func benchEntry(op, i int) map[string]any {
	return with(timeEntry(fmt.Sprintf("op%d-%d", op, i), fmt.Sprintf("p-%d", i%benchPatients)),
		"startedAt", now.Add(-time.Duration(i%600+30)*time.Minute).Format(time.RFC3339))
}

func benchClient() *http.Client {
	return &http.Client{Timeout: 5 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: benchClients, MaxConnsPerHost: benchClients}}
}

func post(client *http.Client, url, token string, body []byte) ([]byte, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusOK && res.StatusCode != http.StatusCreated {
		return nil, fmt.Errorf("status %d: %s", res.StatusCode, out)
	}
	return out, nil
}

// runClients runs b.N ops; each op's requests (prepared outside the timer
// by produce) are executed by benchClients concurrent workers. It reports
// entries per second.
func runClients(b *testing.B, produce func(op int, work chan<- func() error)) {
	b.Helper()
	var elapsed time.Duration
	for op := range b.N {
		b.StopTimer()
		var jobs []func() error
		ch := make(chan func() error)
		go func() { produce(op, ch); close(ch) }()
		for j := range ch {
			jobs = append(jobs, j)
		}
		b.StartTimer()
		elapsed += runJobs(b, jobs)
	}
	b.ReportMetric(float64(b.N*benchEntries)/elapsed.Seconds(), "events/s")
}

func runJobs(b *testing.B, jobs []func() error) time.Duration {
	var next atomic.Int64
	errc := make(chan error, benchClients)
	start := time.Now()
	var wg sync.WaitGroup
	for range benchClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(len(jobs)) {
					return
				}
				if err := jobs[i](); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	d := time.Since(start)
	close(errc)
	for err := range errc {
		b.Fatal(err)
	}
	return d
}

// rawPublish is the floor: durable publishes of event-sized messages to
// the log's stream (created by jetstream.Open with its production
// settings), with no service reading it.
func rawPublish(b *testing.B) {
	nc := testenv.Connect(b, testenv.JetStream(b, ""))
	if _, err := jetstream.Open(context.Background(), nc, jetstream.Config{}); err != nil {
		b.Fatal(err)
	}
	js, err := natsjs.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	data, _ := json.Marshal(events.TimeRecorded{ID: "op0-0", PatientID: "p-0", Staff: events.Staff{ID: "rn-4", Name: "Rita Nurse", Role: "rn"},
		Programs: []string{"ccm"}, StartedAt: now, Minutes: 20, Activity: "medication_reconciliation", Notes: goodNotes, Outcome: "completed"})
	env := events.Envelope{ID: "entry-op0-0", Type: events.TypeTimeRecorded, Version: 1, Stream: "patient.p-0", PatientID: "p-0",
		OccurredAt: now, RecordedAt: now, Actor: events.Actor{ID: "tok", Role: "clinician", App: "bench"}, Data: data}
	if err := env.Seal(""); err != nil {
		b.Fatal(err)
	}
	body, err := env.Encode()
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	runClients(b, func(op int, work chan<- func() error) {
		for i := range benchEntries {
			subject := fmt.Sprintf("carelog.patient.p-%d", i%benchPatients)
			work <- func() error {
				_, err := js.Publish(context.Background(), subject, body)
				return err
			}
		}
	})
}
