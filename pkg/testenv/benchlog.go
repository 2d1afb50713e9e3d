package testenv

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/eventlog/jetstream"
)

// BenchLog is a large event log a package's benchmarks share: populated
// once per process, on first use (so `go test` without -bench builds
// nothing), in a temporary directory that Remove deletes (call it from
// TestMain after m.Run).
type BenchLog struct {
	// Name prefixes the directory and names the log in the progress line.
	Name string
	// Populate writes the log into dir.
	Populate func(dir string) error

	once sync.Once
	dir  string
	err  error
}

// Dir returns the populated directory, populating it on first use; a
// population failure fails b.
func (l *BenchLog) Dir(b testing.TB) string {
	b.Helper()
	l.once.Do(func() {
		l.dir, l.err = os.MkdirTemp("", "carelog-"+l.Name+"-")
		if l.err == nil {
			start := time.Now()
			l.err = l.Populate(l.dir)
			populated := time.Since(start)
			if l.err == nil {
				l.err = settle(l.dir)
			}
			fmt.Fprintf(os.Stderr, "bench: populated the %s log in %v (on disk %v later)\n", l.Name,
				populated.Round(time.Millisecond), (time.Since(start) - populated).Round(time.Millisecond))
		}
	})
	if l.err != nil {
		b.Fatal(l.err)
	}
	return l.dir
}

// settle writes the files under dir to disk and collects what populating
// them left on the heap, so that neither runs during the timed replays: the
// kernel writes a fresh log back ~30 s after it was written (dirty page
// expiry), in the middle of the first benchmark's runs.
func settle(dir string) error {
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		return f.Sync()
	})
	runtime.GC()
	return err
}

// Remove deletes the directory, if it was made.
func (l *BenchLog) Remove() {
	if l.dir != "" {
		os.RemoveAll(l.dir)
	}
}

// BulkServer starts a plain in-process nats-server on the JetStream store in
// dir (natsserver's layout, dir/jetstream) without SyncAlways, for writing
// benchmark logs fast: only the stored data matters, not how durably it was
// written. stop closes the connection and shuts the server down.
func BulkServer(dir string) (nc *nats.Conn, stop func(), err error) {
	ns, err := server.NewServer(&server.Options{JetStream: true, StoreDir: filepath.Join(dir, "jetstream"), DontListen: true, NoSigs: true})
	if err != nil {
		return nil, nil, err
	}
	ns.Start()
	shutdown := func() { ns.Shutdown(); ns.WaitForShutdown() }
	if !ns.ReadyForConnections(30 * time.Second) {
		shutdown()
		return nil, nil, errors.New("testenv.BulkServer: server not ready")
	}
	if nc, err = nats.Connect("", nats.InProcessServer(ns)); err != nil {
		shutdown()
		return nil, nil, err
	}
	return nc, func() { nc.Close(); shutdown() }, nil
}

// RawReplay is the raw engine's replay beneath the event log port, the raw
// side of the replay and rebuild benchmarks: an ordered consumer over the
// whole stream, pulling 1024 messages at a time, whose messages consume
// takes; it returns what consume returns (how many messages it took).
func RawReplay(ctx context.Context, nc *nats.Conn, stream string, consume func(natsjs.MessagesContext) (int, error)) (int, error) {
	js, err := natsjs.New(nc)
	if err != nil {
		return 0, err
	}
	cons, err := js.OrderedConsumer(ctx, stream, natsjs.OrderedConsumerConfig{})
	if err != nil {
		return 0, err
	}
	msgs, err := cons.Messages(natsjs.PullMaxMessages(1024))
	if err != nil {
		return 0, err
	}
	defer msgs.Stop()
	return consume(msgs)
}

// CountMessages is a RawReplay consume that takes n messages and only
// counts them.
func CountMessages(n int) func(natsjs.MessagesContext) (int, error) {
	return func(msgs natsjs.MessagesContext) (int, error) {
		for i := range n {
			if _, err := msgs.Next(); err != nil {
				return i, err
			}
		}
		return n, nil
	}
}

// WriteLog populates a benchmark log in dir, for a BenchLog's Populate: it
// starts BulkServer, creates the log's stream (jetstream.Open) and hands
// write a LogWriter; it returns, with the number of events written, once
// every publish is acknowledged.
func WriteLog(dir string, write func(w *LogWriter) error) (int, error) {
	nc, stop, err := BulkServer(dir)
	if err != nil {
		return 0, err
	}
	defer stop()
	ctx := context.Background()
	l, err := jetstream.Open(ctx, nc, jetstream.Config{})
	if err != nil {
		return 0, err
	}
	js, err := natsjs.New(nc, natsjs.WithPublishAsyncMaxPending(4096))
	if err != nil {
		return 0, err
	}
	w := &LogWriter{js: js, log: l, last: map[string]string{}}
	if err := write(w); err != nil {
		return w.n, err
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(10 * time.Minute):
		return w.n, errors.New("testenv.WriteLog: publishes not acknowledged")
	}
	return w.n, nil
}

// LogWriter appends events to a benchmark log as the jetstream adapter
// stores them (subject, type and version headers), without its checks.
type LogWriter struct {
	js   natsjs.JetStream
	log  *jetstream.Log
	last map[string]string // stream → hash of its last event
	n    int
}

// Append seals e onto its stream's last event and publishes it
// asynchronously.
func (w *LogWriter) Append(e events.Envelope) error {
	if err := e.Seal(w.last[e.Stream]); err != nil {
		return err
	}
	body, err := e.Encode()
	if err != nil {
		return err
	}
	msg := nats.NewMsg(w.log.Subject(e.Stream))
	msg.Data = body
	msg.Header.Set(jetstream.HeaderType, string(e.Type))
	msg.Header.Set(jetstream.HeaderVersion, strconv.Itoa(e.Version))
	if _, err := w.js.PublishMsgAsync(msg, natsjs.WithStallWait(time.Minute)); err != nil {
		return err
	}
	w.last[e.Stream] = e.Hash
	w.n++
	return nil
}

// N is the number of events appended so far.
func (w *LogWriter) N() int { return w.n }
