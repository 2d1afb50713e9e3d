package auth_test

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/carelog/carelog/pkg/auth"
	"github.com/carelog/carelog/pkg/natsserver"
)

// natsNode starts an embedded node listening on a random local port whose
// clients authenticate with Carelog tokens, wired as main wires it: the
// authenticator refuses everyone until the store is open.
func natsNode(t *testing.T) (*natsserver.Server, *auth.Store) {
	t.Helper()
	var store atomic.Pointer[auth.Store]
	s, err := natsserver.Start(natsserver.Config{
		DataDir: t.TempDir(),
		Listen:  "127.0.0.1:0",
		Authenticate: func(token string) (string, *natsserver.Permissions, bool) {
			st := store.Load()
			if st == nil {
				return "", nil, false
			}
			return auth.NATSAuthenticator(st)(token)
		},
	})
	if err != nil {
		t.Fatalf("natsserver.Start: %v", err)
	}
	t.Cleanup(s.Shutdown)
	nc, err := s.Connect()
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("jetstream.New: %v", err)
	}
	st := openStore(t, js, nil)
	store.Store(st)
	return s, st
}

// client connects over the network with tok; asynchronous errors (the
// server's permission violations) arrive on the returned channel.
func client(t *testing.T, s *natsserver.Server, tok string) (*nats.Conn, <-chan error) {
	t.Helper()
	errc := make(chan error, 16)
	nc, err := nats.Connect(s.ClientURL(), nats.Token(tok), nats.MaxReconnects(0),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			select {
			case errc <- err:
			default:
			}
		}))
	if err != nil {
		t.Fatalf("nats.Connect: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc, errc
}

func wantViolation(t *testing.T, errc <-chan error, subject string) {
	t.Helper()
	select {
	case err := <-errc:
		if !errors.Is(err, nats.ErrPermissionViolation) || !strings.Contains(err.Error(), subject) {
			t.Errorf("got %v, want a permissions violation for %s", err, subject)
		}
	case <-time.After(5 * time.Second):
		t.Errorf("got no error within 5s, want a permissions violation for %s", subject)
	}
}

func TestNATSAuthenticator(t *testing.T) {
	s, st := natsNode(t)
	clinician := create(t, st, auth.Clinician, "nurse app")
	admin := create(t, st, auth.Admin, "ops")
	revoked := create(t, st, auth.Clinician, "old app")
	if err := st.Revoke(t.Context(), revoked.ID); err != nil {
		t.Fatalf("Revoke: %v", err)
	}

	// Refused at connect.
	for name, tok := range map[string]string{"no token": "", "bad token": "clg_aaaaaaaaaaaaaaaa_bbbb", "revoked": revoked.Bearer} {
		opts := []nats.Option{nats.MaxReconnects(0)}
		if tok != "" {
			opts = append(opts, nats.Token(tok))
		}
		if nc, err := nats.Connect(s.ClientURL(), opts...); err == nil {
			nc.Close()
			t.Errorf("%s: got a connection, want refused", name)
		} else if !errors.Is(err, nats.ErrAuthorization) {
			t.Errorf("%s: got %v, want %v", name, err, nats.ErrAuthorization)
		}
	}

	// The service side: an admin connection answering commands and watching
	// every carelog subject.
	svc, svcErrs := client(t, s, admin.Bearer)
	if _, err := svc.Subscribe("carelog.cmd.>", func(m *nats.Msg) { m.Respond([]byte(`{"ok":true}`)) }); err != nil {
		t.Fatalf("admin Subscribe carelog.cmd.>: %v", err)
	}
	seen, err := svc.SubscribeSync("carelog.>")
	if err != nil {
		t.Fatalf("admin SubscribeSync carelog.>: %v", err)
	}
	if err := svc.Flush(); err != nil {
		t.Fatalf("admin Flush: %v", err)
	}

	nc, errc := client(t, s, clinician.Bearer)

	// A command request and its reply go through.
	reply, err := nc.Request("carelog.cmd.time-entries.record", []byte(`{}`), 5*time.Second)
	if err != nil || string(reply.Data) != `{"ok":true}` {
		t.Fatalf("clinician command: got %v, %v, want the reply", reply, err)
	}

	// Writing the event log directly is refused.
	if err := nc.Publish("carelog.patient.p1", []byte(`{"forged":true}`)); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	wantViolation(t, errc, "carelog.patient.p1")

	// Reading it is refused.
	if _, err := nc.SubscribeSync("carelog.>"); err != nil {
		t.Fatalf("SubscribeSync: %v", err)
	}
	wantViolation(t, errc, "carelog.>")

	// The JetStream API is out of reach too.
	if err := nc.Publish("$JS.API.STREAM.NAMES", nil); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	wantViolation(t, errc, "$JS.API.STREAM.NAMES")

	// The forged event never reached anyone: the first message the admin saw
	// on carelog.> is the command, and after it a later marker command.
	if _, err := nc.Request("carelog.cmd.marker", nil, 5*time.Second); err != nil {
		t.Fatalf("marker command: %v", err)
	}
	for _, want := range []string{"carelog.cmd.time-entries.record", "carelog.cmd.marker"} {
		m, err := seen.NextMsg(5 * time.Second)
		if err != nil || m.Subject != want {
			t.Fatalf("admin saw %v, %v, want %s", m, err, want)
		}
	}

	// The admin may publish and read anything.
	if err := svc.Publish("carelog.patient.p1", []byte(`{}`)); err != nil {
		t.Fatalf("admin Publish: %v", err)
	}
	if m, err := seen.NextMsg(5 * time.Second); err != nil || m.Subject != "carelog.patient.p1" {
		t.Errorf("admin read: got %v, %v, want carelog.patient.p1", m, err)
	}
	select {
	case err := <-svcErrs:
		t.Errorf("admin connection: got %v, want no errors", err)
	default:
	}
}
