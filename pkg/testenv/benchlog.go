package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
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
			fmt.Fprintf(os.Stderr, "bench: populated the %s log in %v\n", l.Name, time.Since(start).Round(time.Millisecond))
		}
	})
	if l.err != nil {
		b.Fatal(l.err)
	}
	return l.dir
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
