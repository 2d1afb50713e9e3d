package activitylog_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/auth"
	"github.com/carelog/carelog/pkg/eventlog"
	"github.com/carelog/carelog/pkg/eventlog/jetstream"
	"github.com/carelog/carelog/pkg/natsserver"
)

// proc is a running child process (the service binary, or the test binary
// as a crash-test child) that announces its HTTP address on a line.
type proc struct {
	t    testing.TB
	cmd  *exec.Cmd
	url  string
	done chan error

	mu     sync.Mutex
	output strings.Builder
}

// start runs cmd and waits (with a deadline) for a line from which ready
// extracts the service's base URL.
func start(t testing.TB, cmd *exec.Cmd, ready func(line string) (string, bool)) *proc {
	t.Helper()
	p := &proc{t: t, cmd: cmd, done: make(chan error, 1)}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urls := make(chan string, 2)
	var wg sync.WaitGroup
	for _, r := range []io.Reader{stdout, stderr} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc := bufio.NewScanner(r)
			sc.Buffer(make([]byte, 64<<10), 1<<20)
			for sc.Scan() {
				line := sc.Text()
				p.mu.Lock()
				p.output.WriteString(line + "\n")
				p.mu.Unlock()
				if u, ok := ready(line); ok {
					urls <- u
				}
			}
		}()
	}
	go func() { wg.Wait(); p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("child output:\n%s", p.Output())
		}
	})
	select {
	case p.url = <-urls:
	case err := <-p.done:
		p.done <- err
		t.Fatalf("child exited before serving: %v\n%s", err, p.Output())
	case <-time.After(60 * time.Second):
		t.Fatalf("child not serving within 60s\n%s", p.Output())
	}
	return p
}

func (p *proc) Output() string { p.mu.Lock(); defer p.mu.Unlock(); return p.output.String() }

// kill sends SIGKILL and waits for the process to be gone.
func (p *proc) kill() {
	if p.cmd.ProcessState != nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	err := <-p.done
	p.done <- err
}

// stop sends SIGTERM and waits for a clean exit.
func (p *proc) stop() {
	p.t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		p.done <- err
		if err != nil {
			p.t.Fatalf("exit after SIGTERM: got %v, want status 0\n%s", err, p.Output())
		}
	case <-time.After(30 * time.Second):
		p.t.Fatal("no exit within 30s of SIGTERM")
	}
}

// servingURL reads the host's "carelog serving" log line.
func servingURL(line string) (string, bool) {
	if !strings.Contains(line, `"msg":"carelog serving"`) {
		return "", false
	}
	var m map[string]any
	if json.Unmarshal([]byte(line), &m) != nil {
		return "", false
	}
	addr, _ := m["addr"].(string)
	return "http://" + addr, addr != ""
}

// TestEndToEnd runs the service's own binary against a NATS server, as a
// deployment does, and drives it over HTTP and over NATS as a clinical app
// would.
func TestEndToEnd(t *testing.T) {
	bin, err := serviceBinary()
	if err != nil {
		t.Fatal(err)
	}
	const serviceToken, appToken = "service-token-0123456789", "nurse-app-nats-token-0123"
	ns, err := natsserver.Start(natsserver.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0",
		Authenticate: func(tok string) (string, *natsserver.Permissions, bool) {
			switch tok {
			case serviceToken:
				return "service", nil, true
			case appToken: // what auth.NATSAuthenticator gives a clinician's app
				return "nurse-app", &natsserver.Permissions{
					Publish:   &server.SubjectPermission{Allow: []string{auth.CommandSubjects}},
					Subscribe: &server.SubjectPermission{Allow: []string{auth.InboxSubjects}},
				}, true
			}
			return "", nil, false
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	// Enrol patients directly in the log (the consent service owns POST /v1/patients).
	inproc, err := ns.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer inproc.Close()
	log, err := jetstream.Open(context.Background(), inproc, jetstream.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"p-1", "p-2"} {
		data, _ := json.Marshal(events.PatientEnrolled{ID: id, MRN: "m", BillingPractitionerNPI: npi})
		if _, err := log.Append(context.Background(), eventlog.NoStream, events.Envelope{ID: "patient-" + id, Type: events.TypePatientEnrolled,
			Version: 1, Stream: events.PatientStream(id), PatientID: id, OccurredAt: time.Now(), RecordedAt: time.Now(),
			Actor: events.Actor{ID: "test", Role: "admin"}, Data: data}); err != nil {
			t.Fatal(err)
		}
	}

	cmd := exec.Command(bin, "--addr", "127.0.0.1:0", "--nats-url", ns.ClientURL())
	cmd.Env = append(os.Environ(), "CARELOG_NATS_TOKEN="+serviceToken, "CARELOG_ADMIN_TOKEN="+adminToken)
	p := start(t, cmd, servingURL)
	do := func(method, path, token string, body any, header ...string) response {
		t.Helper()
		return doHTTP(t, p.url, method, path, token, body, header...)
	}
	tok := do("POST", "/v1/tokens", adminToken, map[string]any{"role": "clinician", "name": "nurse app"})
	wantStatus(t, tok, http.StatusCreated)
	clinician := tok.json(t)["token"].(string)
	ready := do("GET", "/readyz", "", nil)
	wantStatus(t, ready, http.StatusOK)
	if checks, _ := ready.json(t)["checks"].(map[string]any); checks["activitylog"] != "ok" {
		t.Errorf("readyz: got %s, want the activitylog read model ok", ready.body)
	}
	if paths := do("GET", "/openapi.json", "", nil).json(t)["paths"].(map[string]any); paths["/v1/time-entries/batch"] == nil {
		t.Error("openapi.json: /v1/time-entries/batch missing")
	}

	// HTTP: record, correct, void, read the history.
	begun := time.Now().Add(-2 * time.Hour).Format(time.RFC3339)
	entry := with(timeEntry("e2e-1", "p-1"), "startedAt", begun)
	wantStatus(t, do("POST", "/v1/time-entries", clinician, entry), http.StatusCreated)
	wantStatus(t, do("POST", "/v1/time-entries", clinician, entry), http.StatusOK)
	wantError(t, do("POST", "/v1/time-entries", clinician, with(entry, "id", "e2e-x", "notes", "CCM call – 20 minutes")), http.StatusBadRequest, "invalid", "notes")
	wantStatus(t, do("POST", "/v1/time-entries/e2e-1/corrections", clinician, with(entry, "minutes", 25, "reason", "minutes mistyped")), http.StatusCreated)
	wantStatus(t, do("POST", "/v1/time-entries/e2e-1/void", clinician, map[string]any{"reason": "recorded twice"}), http.StatusCreated)
	h := do("GET", "/v1/time-entries/e2e-1", clinician, nil).json(t)
	var types []string
	for _, x := range h["history"].([]any) {
		types = append(types, x.(map[string]any)["type"].(string))
	}
	if strings.Join(types, ",") != "recorded,corrected,voided" {
		t.Errorf("history: got %v, want recorded, corrected, voided", types)
	}

	// NATS: a clinical app with its own NATS credentials sends the Carelog
	// token in Authorization.
	nc, err := nats.Connect(ns.ClientURL(), nats.Token(appToken))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	viaNATS := with(timeEntry("e2e-2", "p-2"), "startedAt", begun)
	r := natsRequest(t, nc, "carelog.cmd.time-entries.record", clinician, viaNATS)
	wantStatus(t, r, http.StatusCreated)
	if again := do("POST", "/v1/time-entries", clinician, viaNATS); again.status != http.StatusOK || !sameJSON(again.body, r.body) {
		t.Errorf("HTTP after NATS: got %d %s, want 200 %s", again.status, again.body, r.body)
	}
	wantError(t, natsRequest(t, nc, "carelog.cmd.time-entries.record", clinician, with(viaNATS, "id", "e2e-3", "staff", map[string]any{"id": "d", "name": "D", "role": "np"})),
		http.StatusBadRequest, "invalid", "staff.npi")
	batch := map[string]any{"entries": []any{with(timeEntry("e2e-b1", "p-1"), "startedAt", begun), viaNATS, with(timeEntry("e2e-b3", "p-9"), "startedAt", begun)}}
	bn := decodeBatch(t, natsRequest(t, nc, "carelog.cmd.time-entries.batch", clinician, batch))
	bh := decodeBatch(t, do("POST", "/v1/time-entries/batch", clinician, batch))
	for i, want := range [][2]string{{"stored", "duplicate"}, {"duplicate", "duplicate"}, {"rejected", "rejected"}} {
		if bn.Results[i].Status != want[0] || bh.Results[i].Status != want[1] {
			t.Errorf("batch results[%d]: got NATS %s then HTTP %s, want %s then %s", i, bn.Results[i].Status, bh.Results[i].Status, want[0], want[1])
		}
	}
	p.stop()
}
