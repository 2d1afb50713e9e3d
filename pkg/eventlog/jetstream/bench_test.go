package jetstream_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/eventlog"
	"github.com/carelog/carelog/pkg/eventlog/eventlogtest"
	"github.com/carelog/carelog/pkg/eventlog/jetstream"
	"github.com/carelog/carelog/pkg/natsserver"
	"github.com/carelog/carelog/pkg/testenv"
	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
)

// Benchmarks come in pairs, carelog and raw, under one name; `make bench`
// prints each pair as one line with the ratio (cmd/benchreport).

// BenchmarkAppend compares a durable Append through the port (seal, hash
// chain, optimistic concurrency, dedupe id) with a raw js.Publish of an
// event-sized message, both on an embedded node with SyncAlways.
func BenchmarkAppend(b *testing.B) {
	for _, writers := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("writers=%d/impl=carelog", writers), func(b *testing.B) {
			_, nc := benchServer(b)
			l, err := jetstream.Open(context.Background(), nc, jetstream.Config{})
			if err != nil {
				b.Fatal(err)
			}
			var next atomic.Int64
			runWriters(b, writers, func(w int) error {
				rev := map[string]eventlog.Revision{}
				for {
					i := next.Add(1)
					if i > int64(b.N) {
						return nil
					}
					stream := fmt.Sprintf("patient.b-%d-%d", w, i%8)
					res, err := l.Append(context.Background(), rev[stream], eventlogtest.Event(fmt.Sprintf("e-%d", i), stream, int(i)))
					if err != nil {
						return err
					}
					rev[stream] = eventlog.Revision(res.Sequence)
				}
			})
		})
		b.Run(fmt.Sprintf("writers=%d/impl=raw", writers), func(b *testing.B) {
			_, nc := benchServer(b)
			if _, err := jetstream.Open(context.Background(), nc, jetstream.Config{}); err != nil {
				b.Fatal(err)
			}
			js, _ := natsjs.New(nc)
			body := sampleBody(b)
			var next atomic.Int64
			runWriters(b, writers, func(w int) error {
				for {
					i := next.Add(1)
					if i > int64(b.N) {
						return nil
					}
					if _, err := js.Publish(context.Background(), fmt.Sprintf("carelog.patient.b-%d-%d", w, i%8), body); err != nil {
						return err
					}
				}
			})
		})
	}
}

func runWriters(b *testing.B, writers int, fn func(w int) error) {
	b.Helper()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	errc := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() { defer wg.Done(); errc <- fn(w) }()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	close(errc)
	for err := range errc {
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
}

func sampleBody(b *testing.B) []byte {
	e := eventlogtest.Event("e-1", "patient.p-1", 1)
	if err := e.Seal(""); err != nil {
		b.Fatal(err)
	}
	body, err := e.Encode()
	if err != nil {
		b.Fatal(err)
	}
	return body
}

func benchServer(b *testing.B) (*natsserver.Server, *nats.Conn) {
	b.Helper()
	srv, err := natsserver.Start(natsserver.Config{DataDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(srv.Shutdown)
	nc, err := srv.Connect()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(nc.Close)
	return srv, nc
}

const replayEvents = 200_000

// replayLog is the benchmark log, populated on first use.
var replayLog = &testenv.BenchLog{Name: "replay", Populate: populate}

// populate writes replayEvents sealed, chained events over 10,000 patients
// (testenv.WriteLog).
func populate(dir string) error {
	_, err := testenv.WriteLog(dir, func(w *testenv.LogWriter) error {
		for i := range replayEvents {
			p := fmt.Sprintf("r-%d", i%10_000)
			if err := w.Append(eventlogtest.Event(fmt.Sprintf("e-%d", i), events.PatientStream(p), i)); err != nil {
				return err
			}
		}
		return nil
	})
	return err
}

// BenchmarkReplay compares reading the whole log through the port (decode,
// hash and chain verification) with a raw ordered consumer that only counts
// messages. One op is one full replay of replayEvents events.
func BenchmarkReplay(b *testing.B) {
	dir := replayLog.Dir(b) // TestMain removes it at exit
	run := func(b *testing.B, replay func(*nats.Conn) (int, error)) {
		srv, err := natsserver.Start(natsserver.Config{DataDir: dir})
		if err != nil {
			b.Fatal(err)
		}
		defer srv.Shutdown()
		nc, err := srv.Connect()
		if err != nil {
			b.Fatal(err)
		}
		defer nc.Close()
		b.ResetTimer()
		start := time.Now()
		for range b.N {
			n, err := replay(nc)
			if err != nil {
				b.Fatal(err)
			}
			if n != replayEvents {
				b.Fatalf("replayed %d events, want %d", n, replayEvents)
			}
		}
		b.ReportMetric(float64(b.N*replayEvents)/time.Since(start).Seconds(), "events/s")
	}
	b.Run("impl=carelog", func(b *testing.B) {
		run(b, func(nc *nats.Conn) (int, error) {
			l, err := jetstream.Open(context.Background(), nc, jetstream.Config{})
			if err != nil {
				return 0, err
			}
			n := 0
			for _, err := range l.ReadAll(context.Background(), 0) {
				if err != nil {
					return n, err
				}
				n++
			}
			return n, nil
		})
	})
	b.Run("impl=raw", func(b *testing.B) {
		run(b, func(nc *nats.Conn) (int, error) {
			return testenv.RawReplay(context.Background(), nc, "CARELOG", testenv.CountMessages(replayEvents))
		})
	})
}
