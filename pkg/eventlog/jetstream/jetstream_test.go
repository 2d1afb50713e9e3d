package jetstream_test

import (
	"context"
	"fmt"
	"strings"
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

func TestContract(t *testing.T) {
	eventlogtest.Run(t, eventlogtest.Harness{Open: open})
}

type instance struct {
	dir    string
	srv    *natsserver.Server
	nc     *nats.Conn
	log    *jetstream.Log
	copies atomic.Int32
}

func open(t *testing.T) eventlogtest.Instance {
	i := &instance{dir: t.TempDir()}
	i.start(t)
	return i
}

func (i *instance) start(t *testing.T) {
	t.Helper()
	i.srv = testenv.JetStream(t, i.dir)
	i.nc = testenv.Connect(t, i.srv)
	l, err := jetstream.Open(context.Background(), i.nc, jetstream.Config{})
	if err != nil {
		t.Fatalf("jetstream.Open: %v", err)
	}
	i.log = l
}

func (i *instance) Log() eventlog.Log { return i.log }

func (i *instance) Restart(t *testing.T) eventlog.Log {
	i.nc.Close()
	i.srv.Shutdown()
	i.start(t)
	return i.log
}

// TamperedCopy copies the CARELOG stream message by message into a new
// stream with its own subject prefix, editing events without resealing them:
// the way an attacker with write access to a store copy would alter history.
func (i *instance) TamperedCopy(t *testing.T, edit func(uint64, *events.Envelope) bool, swap [2]uint64) eventlog.Log {
	t.Helper()
	ctx := context.Background()
	n := i.copies.Add(1)
	prefix := fmt.Sprintf("copy%d", n)
	dst, err := jetstream.Open(ctx, i.nc, jetstream.Config{Stream: fmt.Sprintf("COPY%d", n), SubjectPrefix: prefix})
	if err != nil {
		t.Fatalf("open copy: %v", err)
	}
	js, _ := natsjs.New(i.nc)
	src, err := js.Stream(ctx, "CARELOG")
	if err != nil {
		t.Fatal(err)
	}
	last, err := i.log.LastSequence(ctx)
	if err != nil {
		t.Fatal(err)
	}
	order := make([]uint64, 0, last)
	for s := uint64(1); s <= last; s++ {
		order = append(order, s)
	}
	if swap[0] != 0 {
		order[swap[0]-1], order[swap[1]-1] = order[swap[1]-1], order[swap[0]-1]
	}
	for _, seq := range order {
		raw, err := src.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("get %d: %v", seq, err)
		}
		env, err := events.Decode(raw.Data)
		if err != nil {
			t.Fatal(err)
		}
		if !edit(seq, &env) {
			continue
		}
		body, err := env.Encode()
		if err != nil {
			t.Fatal(err)
		}
		subject := prefix + strings.TrimPrefix(raw.Subject, "carelog")
		if _, err := js.Publish(ctx, subject, body); err != nil {
			t.Fatalf("copy %d: %v", seq, err)
		}
	}
	return dst
}

// The server itself refuses to delete or purge events, even for a client
// with full permissions, and Open makes an existing stream immutable too.
func TestServerRefusesDeleteAndPurge(t *testing.T) {
	srv := testenv.JetStream(t, "")
	nc := testenv.Connect(t, srv)
	js, _ := natsjs.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := js.CreateStream(ctx, natsjs.StreamConfig{Name: "CARELOG", Subjects: []string{"carelog.patient.*"}, Storage: natsjs.FileStorage, MaxAge: time.Hour}); err != nil {
		t.Fatal(err)
	}
	l, err := jetstream.Open(ctx, nc, jetstream.Config{})
	if err != nil {
		t.Fatalf("Open over an existing stream: %v", err)
	}
	res, err := l.Append(ctx, eventlog.NoStream, eventlogtest.Event("e-1", "patient.p-1", 1))
	if err != nil {
		t.Fatal(err)
	}
	s, err := js.Stream(ctx, "CARELOG")
	if err != nil {
		t.Fatal(err)
	}
	cfg := s.CachedInfo().Config
	if !cfg.DenyDelete || !cfg.DenyPurge || cfg.MaxAge != 0 {
		t.Fatalf("got denyDelete %v denyPurge %v maxAge %v, want true true 0", cfg.DenyDelete, cfg.DenyPurge, cfg.MaxAge)
	}
	if err := s.DeleteMsg(ctx, res.Sequence); err == nil {
		t.Fatal("DeleteMsg: got nil, want the server to refuse")
	}
	if err := s.Purge(ctx); err == nil {
		t.Fatal("Purge: got nil, want the server to refuse")
	}
	if got := eventlogtest.Stream(t, l, "patient.p-1", 0); len(got) != 1 {
		t.Fatalf("got %d events, want 1", len(got))
	}
}
