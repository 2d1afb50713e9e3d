package natsserver_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/carelog/carelog/pkg/natsserver"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// start starts a node on cfg and shuts it down at the end of the test.
func start(t *testing.T, cfg natsserver.Config) *natsserver.Server {
	t.Helper()
	s, err := natsserver.Start(cfg)
	if err != nil {
		t.Fatalf("Start: got %v, want nil", err)
	}
	t.Cleanup(s.Shutdown)
	return s
}

// connect opens an in-process connection closed at the end of the test.
func connect(t *testing.T, s *natsserver.Server) *nats.Conn {
	t.Helper()
	nc, err := s.Connect()
	if err != nil {
		t.Fatalf("Connect: got %v, want nil", err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func ctx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func acceptGood(token string) (string, *natsserver.Permissions, bool) {
	if token != "good" {
		return "", nil, false
	}
	return "client", &natsserver.Permissions{
		Publish:   &server.SubjectPermission{Allow: []string{"allowed.>"}},
		Subscribe: &server.SubjectPermission{Allow: []string{"_INBOX.>"}},
	}, true
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  natsserver.Config
		want []string // substrings of the error; none means valid
	}{
		{"in-process only", natsserver.Config{DataDir: "/tmp/x"}, nil},
		{"listen with auth", natsserver.Config{DataDir: "/tmp/x", Listen: "127.0.0.1:0", Authenticate: acceptGood}, nil},
		{"missing DataDir", natsserver.Config{}, []string{"DataDir is required"}},
		{"listen without auth", natsserver.Config{DataDir: "/tmp/x", Listen: "127.0.0.1:4222"}, []string{"Listen requires Authenticate"}},
		{"bad listen", natsserver.Config{DataDir: "/tmp/x", Listen: "no-port", Authenticate: acceptGood}, []string{`Listen "no-port"`}},
		{"every problem at once", natsserver.Config{Listen: "no-port"}, []string{"DataDir is required", `Listen "no-port"`, "Listen requires Authenticate"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("got %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("got nil, want an error containing %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("got %q, want it to contain %q", err.Error(), w)
				}
			}
			if got := strings.Count(err.Error(), "natsserver:"); got != len(tt.want) {
				t.Errorf("problems reported: got %d (%q), want %d", got, err.Error(), len(tt.want))
			}
			if _, serr := natsserver.Start(tt.cfg); serr == nil || serr.Error() != err.Error() {
				t.Errorf("Start: got %v, want the Validate error %v", serr, err)
			}
		})
	}
}

func TestDataDirLock(t *testing.T) {
	dir := t.TempDir()
	first := start(t, natsserver.Config{DataDir: dir})

	second, err := natsserver.Start(natsserver.Config{DataDir: dir})
	if !errors.Is(err, natsserver.ErrLocked) {
		if second != nil {
			second.Shutdown()
		}
		t.Fatalf("second Start while the first runs: got %v, want ErrLocked", err)
	}
	if second != nil {
		t.Errorf("second Start: got a server, want nil")
	}
	// The refused Start must not have disturbed the running node.
	nc := connect(t, first)
	if err := nc.Flush(); err != nil {
		t.Errorf("first node after refused Start: got %v, want nil", err)
	}

	first.Shutdown()
	third := start(t, natsserver.Config{DataDir: dir})
	if err := connect(t, third).Flush(); err != nil {
		t.Errorf("Start after Shutdown: flush got %v, want nil", err)
	}
}

func TestShutdownTwice(t *testing.T) {
	dir := t.TempDir()
	s, err := natsserver.Start(natsserver.Config{DataDir: dir})
	if err != nil {
		t.Fatalf("Start: got %v, want nil", err)
	}
	s.Shutdown()
	s.Shutdown()
	// The lock was released exactly once and the directory is reusable.
	again := start(t, natsserver.Config{DataDir: dir})
	again.Shutdown()
	again.Shutdown()
	last := start(t, natsserver.Config{DataDir: dir})
	if err := connect(t, last).Flush(); err != nil {
		t.Errorf("flush after two double shutdowns: got %v, want nil", err)
	}
}

func TestInProcessJetStream(t *testing.T) {
	s := start(t, natsserver.Config{DataDir: t.TempDir()})
	if got := s.ClientURL(); got != "" {
		t.Errorf("ClientURL without Listen: got %q, want %q", got, "")
	}
	nc := connect(t, s)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("jetstream.New: got %v, want nil", err)
	}
	c := ctx(t)
	st, err := js.CreateStream(c, jetstream.StreamConfig{Name: "EVENTS", Subjects: []string{"events.>"}, Storage: jetstream.FileStorage})
	if err != nil {
		t.Fatalf("CreateStream: got %v, want nil", err)
	}
	ack, err := js.Publish(c, "events.a", []byte("one"))
	if err != nil {
		t.Fatalf("Publish: got %v, want nil", err)
	}
	if ack.Stream != "EVENTS" || ack.Sequence != 1 {
		t.Errorf("ack: got %s/%d, want EVENTS/1", ack.Stream, ack.Sequence)
	}
	info, err := st.Info(c)
	if err != nil {
		t.Fatalf("Info: got %v, want nil", err)
	}
	if info.State.Msgs != 1 {
		t.Errorf("stream messages: got %d, want 1", info.State.Msgs)
	}
}

func TestNetworkAuthentication(t *testing.T) {
	s := start(t, natsserver.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", Authenticate: acceptGood})
	url := s.ClientURL()
	if !strings.HasPrefix(url, "nats://127.0.0.1:") || strings.HasSuffix(url, ":0") {
		t.Fatalf("ClientURL: got %q, want nats://127.0.0.1:<port>", url)
	}

	refused := []struct {
		name string
		opts []nats.Option
	}{
		{"no token", nil},
		{"bad token", []nats.Option{nats.Token("bad")}},
		{"user and password", []nats.Option{nats.UserInfo("good", "good")}},
	}
	for _, tt := range refused {
		t.Run("refused "+tt.name, func(t *testing.T) {
			nc, err := nats.Connect(url, append(tt.opts, nats.NoReconnect(), nats.Timeout(5*time.Second))...)
			if err == nil {
				nc.Close()
				t.Fatalf("Connect: got nil error, want an authorization error")
			}
			if !errors.Is(err, nats.ErrAuthorization) && !strings.Contains(strings.ToLower(err.Error()), "authorization") {
				t.Errorf("Connect: got %v, want an authorization error", err)
			}
		})
	}

	t.Run("good token", func(t *testing.T) {
		internal := connect(t, s)
		// The internal connection may subscribe to anything.
		all, err := internal.SubscribeSync(">")
		if err != nil {
			t.Fatalf("internal subscribe >: got %v, want nil", err)
		}
		if err := internal.Flush(); err != nil {
			t.Fatalf("internal flush: got %v, want nil", err)
		}

		asyncErrs := make(chan error, 8)
		nc, err := nats.Connect(url, nats.Token("good"), nats.NoReconnect(),
			nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { asyncErrs <- err }))
		if err != nil {
			t.Fatalf("Connect with good token: got %v, want nil", err)
		}
		t.Cleanup(nc.Close)

		if err := nc.Publish("allowed.x", []byte("hi")); err != nil {
			t.Fatalf("publish allowed.x: got %v, want nil", err)
		}
		if err := nc.Flush(); err != nil {
			t.Fatalf("flush: got %v, want nil", err)
		}
		msg, err := all.NextMsg(5 * time.Second)
		if err != nil {
			t.Fatalf("internal receiving allowed.x: got %v, want the message", err)
		}
		if msg.Subject != "allowed.x" || string(msg.Data) != "hi" {
			t.Errorf("received: got %s %q, want allowed.x %q", msg.Subject, msg.Data, "hi")
		}
		select {
		case err := <-asyncErrs:
			t.Fatalf("async error after allowed publish: got %v, want none", err)
		default:
		}

		if err := nc.Publish("denied.x", []byte("no")); err != nil {
			t.Fatalf("publish denied.x: got %v, want the violation reported asynchronously", err)
		}
		select {
		case err := <-asyncErrs:
			if !errors.Is(err, nats.ErrPermissionViolation) || !strings.Contains(err.Error(), "denied.x") {
				t.Errorf("async error: got %v, want a permissions violation for denied.x", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("async error: got none within 5s, want a permissions violation")
		}
		// The denied message never reached subscribers; the next one does.
		if err := internal.Publish("denied.y", []byte("internal")); err != nil {
			t.Fatalf("internal publish denied.y: got %v, want nil", err)
		}
		msg, err = all.NextMsg(5 * time.Second)
		if err != nil {
			t.Fatalf("internal receiving denied.y: got %v, want the message", err)
		}
		if msg.Subject != "denied.y" {
			t.Errorf("next message: got %s, want denied.y (denied.x must not be delivered)", msg.Subject)
		}
		if !nc.IsConnected() {
			t.Errorf("client after violation: got disconnected, want connected")
		}
	})
}

func TestDataSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	s := start(t, natsserver.Config{DataDir: dir})
	nc := connect(t, s)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("jetstream.New: got %v, want nil", err)
	}
	c := ctx(t)
	if _, err := js.CreateStream(c, jetstream.StreamConfig{Name: "EVENTS", Subjects: []string{"events.>"}, Storage: jetstream.FileStorage}); err != nil {
		t.Fatalf("CreateStream: got %v, want nil", err)
	}
	if _, err := js.Publish(c, "events.consent", []byte(`{"v":1}`)); err != nil {
		t.Fatalf("Publish: got %v, want nil", err)
	}
	nc.Close()
	s.Shutdown()

	s2 := start(t, natsserver.Config{DataDir: dir})
	js2, err := jetstream.New(connect(t, s2))
	if err != nil {
		t.Fatalf("jetstream.New after restart: got %v, want nil", err)
	}
	st, err := js2.Stream(c, "EVENTS")
	if err != nil {
		t.Fatalf("Stream after restart: got %v, want nil", err)
	}
	info, err := st.Info(c)
	if err != nil {
		t.Fatalf("Info after restart: got %v, want nil", err)
	}
	if info.State.Msgs != 1 {
		t.Errorf("messages after restart: got %d, want 1", info.State.Msgs)
	}
	m, err := st.GetMsg(c, 1)
	if err != nil {
		t.Fatalf("GetMsg(1) after restart: got %v, want nil", err)
	}
	if m.Subject != "events.consent" || string(m.Data) != `{"v":1}` {
		t.Errorf("message after restart: got %s %q, want events.consent %q", m.Subject, m.Data, `{"v":1}`)
	}
}
