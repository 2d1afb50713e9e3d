package main_test

import (
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// With --nats-listen the embedded server accepts network clients that
// present a Carelog token: admins get full access (the nats CLI), other
// roles may only send commands on carelog.cmd.> and read their replies.
func TestNATSListenAuthenticatesWithCarelogTokens(t *testing.T) {
	p := serve(t, t.TempDir(), []string{"CARELOG_ADMIN_TOKEN=" + adminToken}, "--nats-listen", "127.0.0.1:0")
	if p.natsURL == "" {
		t.Fatalf("got no NATS URL in the serving log line:\n%s", p.Stderr())
	}
	if nc, err := nats.Connect(p.natsURL, nats.Token("clg_bad_token")); err == nil {
		nc.Close()
		t.Fatal("bad token: got a connection, want refusal")
	}
	if nc, err := nats.Connect(p.natsURL); err == nil {
		nc.Close()
		t.Fatal("no token: got a connection, want refusal")
	}

	admin, err := nats.Connect(p.natsURL, nats.Token(adminToken))
	if err != nil {
		t.Fatalf("admin token: %v", err)
	}
	defer admin.Close()
	sub, err := admin.SubscribeSync("carelog.>")
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.Flush(); err != nil {
		t.Fatal(err)
	}

	r := p.do("POST", "/v1/tokens", adminToken, map[string]any{"role": "clinician", "name": "nurse app"})
	clinician, _ := r.json(t)["token"].(string)
	violations := make(chan error, 4)
	nc, err := nats.Connect(p.natsURL, nats.Token(clinician), nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		violations <- err
	}))
	if err != nil {
		t.Fatalf("clinician token: %v", err)
	}
	defer nc.Close()
	if err := nc.Publish("carelog.cmd.time-entries.record", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if m, err := sub.NextMsg(10 * time.Second); err != nil || m.Subject != "carelog.cmd.time-entries.record" {
		t.Fatalf("clinician command: got %v %v, want it delivered", m, err)
	}
	if err := nc.Publish("carelog.patient.p-1", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-violations:
		if !errors.Is(err, nats.ErrPermissionViolation) {
			t.Fatalf("clinician writing the log: got %v, want a permissions violation", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("clinician writing the log: got no permissions violation")
	}
	if m, err := sub.NextMsg(200 * time.Millisecond); err == nil {
		t.Fatalf("got %s delivered, want the clinician's write to the log refused", m.Subject)
	}
}
