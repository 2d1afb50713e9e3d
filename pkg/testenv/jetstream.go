package testenv

import (
	"testing"

	"github.com/carelog/carelog/pkg/natsserver"
	"github.com/nats-io/nats.go"
)

// JetStream starts an embedded JetStream node (SyncAlways, in-process
// connections only) storing into dir, or into a fresh t.TempDir() when dir is
// "". It is shut down by t.Cleanup; call Shutdown earlier to simulate a
// restart on the same dir.
func JetStream(t testing.TB, dir string) *natsserver.Server {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	s, err := natsserver.Start(natsserver.Config{DataDir: dir})
	if err != nil {
		t.Fatalf("testenv.JetStream: %v", err)
	}
	t.Cleanup(s.Shutdown)
	return s
}

// Connect opens an in-process connection to s, closed by t.Cleanup.
func Connect(t testing.TB, s *natsserver.Server) *nats.Conn {
	t.Helper()
	nc, err := s.Connect()
	if err != nil {
		t.Fatalf("testenv.Connect: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc
}
