package main_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The end-to-end tests drive the real binary, built once by TestMain.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "carelog-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "carelog")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build carelog:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const adminToken = "e2e-admin-token-0123456789"

// proc is a running `carelog serve`.
type proc struct {
	t       *testing.T
	cmd     *exec.Cmd
	addr    string
	natsURL string
	mu      sync.Mutex
	stdout  bytes.Buffer
	stderr  bytes.Buffer
	done    chan error
}

var servingLine = regexp.MustCompile(`"msg":"carelog serving"`)

// serve starts `carelog serve` on a free port with extra args and env, and
// waits (with a deadline) until it logs that it is serving.
func serve(t *testing.T, dataDir string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, done: make(chan error, 1)}
	p.cmd = exec.Command(binary, append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir}, args...)...)
	p.cmd.Env = append(os.Environ(), env...)
	startProc(t, p)
	return p
}

// startProc starts p.cmd and waits (with a deadline) until it logs that it
// is serving.
func startProc(t *testing.T, p *proc) {
	t.Helper()
	outPipe, _ := p.cmd.StdoutPipe()
	errPipe, _ := p.cmd.StderrPipe()
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan map[string]any, 1)
	go func() { p.copy(&p.stdout, outPipe, nil) }()
	go func() { p.copy(&p.stderr, errPipe, ready) }()
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("carelog stderr:\n%s", p.Stderr())
		}
	})
	select {
	case line := <-ready:
		p.addr = "http://" + line["addr"].(string)
		if n, _ := line["nats"].(string); strings.Contains(n, "nats://") {
			p.natsURL = n[strings.Index(n, "nats://"):]
		}
	case err := <-p.done:
		t.Fatalf("carelog exited before serving: %v\nstderr:\n%s", err, p.Stderr())
	case <-time.After(30 * time.Second):
		t.Fatalf("carelog not serving within 30s\nstderr:\n%s", p.Stderr())
	}
}

func (p *proc) copy(dst *bytes.Buffer, r io.Reader, ready chan map[string]any) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		p.mu.Lock()
		dst.WriteString(line + "\n")
		p.mu.Unlock()
		if ready != nil && servingLine.MatchString(line) {
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) == nil {
				ready <- m
				ready = nil
			}
		}
	}
}

func (p *proc) Stdout() string { p.mu.Lock(); defer p.mu.Unlock(); return p.stdout.String() }
func (p *proc) Stderr() string { p.mu.Lock(); defer p.mu.Unlock(); return p.stderr.String() }

// stop sends SIGTERM and waits for a clean exit.
func (p *proc) stop() {
	p.t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		p.done <- err // for the cleanup
		if err != nil {
			p.t.Fatalf("carelog exit after SIGTERM: got %v, want status 0", err)
		}
	case <-time.After(30 * time.Second):
		p.t.Fatal("carelog did not exit within 30s of SIGTERM")
	}
}

type response struct {
	status int
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response %d is not JSON: %v: %s", r.status, err, r.body)
	}
	return m
}

func (p *proc) do(method, path, token string, body any) response {
	p.t.Helper()
	var rd io.Reader
	if body != nil {
		switch b := body.(type) {
		case string:
			rd = strings.NewReader(b)
		default:
			j, _ := json.Marshal(b)
			rd = bytes.NewReader(j)
		}
	}
	req, _ := http.NewRequest(method, p.addr+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{res.StatusCode, b}
}

func wantError(t *testing.T, r response, status int, code, field string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("got status %d (%s), want %d", r.status, r.body, status)
	}
	e, _ := r.json(t)["error"].(map[string]any)
	if e["code"] != code || (field != "" && e["field"] != field) || e["message"] == "" {
		t.Fatalf("got error %v, want code %q field %q with a message", e, code, field)
	}
}

func TestOperationalEndpoints(t *testing.T) {
	p := serve(t, t.TempDir(), []string{"CARELOG_ADMIN_TOKEN=" + adminToken})
	if r := p.do("GET", "/healthz", "", nil); r.status != 200 || r.json(t)["status"] != "ok" {
		t.Fatalf("healthz: got %d %s, want 200 ok", r.status, r.body)
	}
	r := p.do("GET", "/readyz", "", nil)
	if checks, _ := r.json(t)["checks"].(map[string]any); r.status != 200 || checks["eventLog"] != "ok" {
		t.Fatalf("readyz: got %d %s, want 200 with eventLog ok", r.status, r.body)
	}
	doc := p.do("GET", "/openapi.json", "", nil).json(t)
	paths, _ := doc["paths"].(map[string]any)
	for _, want := range []string{"/healthz", "/readyz", "/metrics", "/openapi.json", "/v1/tokens", "/v1/tokens/{id}"} {
		if paths[want] == nil {
			t.Errorf("openapi: path %s missing; got %d paths", want, len(paths))
		}
	}
	if doc["openapi"] != "3.0.3" {
		t.Errorf("openapi version: got %v, want 3.0.3", doc["openapi"])
	}
	m := p.do("GET", "/metrics", "", nil)
	if m.status != 200 || !strings.Contains(string(m.body), `carelog_http_requests_total{code="200",method="GET",route="/healthz"} 1`) {
		t.Fatalf("metrics: got %d, want a request counter for /healthz; body starts %q", m.status, string(m.body[:min(300, len(m.body))]))
	}
}

func TestAuthenticationAndRoles(t *testing.T) {
	p := serve(t, t.TempDir(), []string{"CARELOG_ADMIN_TOKEN=" + adminToken})
	wantError(t, p.do("GET", "/v1/tokens", "", nil), 401, "unauthorized", "")
	wantError(t, p.do("GET", "/v1/tokens", "clg_nope_nope", nil), 401, "unauthorized", "")
	wantError(t, p.do("POST", "/v1/tokens", adminToken, map[string]any{"role": "clinician", "name": "nurse app", "colour": "red"}), 400, "invalid", "colour")
	wantError(t, p.do("POST", "/v1/tokens", adminToken, map[string]any{"role": "surgeon", "name": "x"}), 400, "invalid", "role")

	r := p.do("POST", "/v1/tokens", adminToken, map[string]any{"role": "clinician", "name": "nurse app"})
	if r.status != 201 {
		t.Fatalf("create token: got %d %s, want 201", r.status, r.body)
	}
	created := r.json(t)
	clinician, _ := created["token"].(string)
	if !strings.HasPrefix(clinician, "clg_") || created["role"] != "clinician" {
		t.Fatalf("create token: got %v, want a clg_ secret with role clinician", created)
	}
	wantError(t, p.do("GET", "/v1/tokens", clinician, nil), 403, "forbidden", "")

	list := p.do("GET", "/v1/tokens", adminToken, nil)
	if list.status != 200 || strings.Contains(string(list.body), clinician) || !strings.Contains(string(list.body), "nurse app") {
		t.Fatalf("list: got %d %s, want the token listed without its secret", list.status, list.body)
	}
	if r := p.do("DELETE", "/v1/tokens/"+created["id"].(string), adminToken, nil); r.status != 204 {
		t.Fatalf("revoke: got %d %s, want 204", r.status, r.body)
	}
	wantError(t, p.do("GET", "/v1/tokens", clinician, nil), 401, "unauthorized", "")
}

func TestBootstrapTokenPrintedOnceAndKeptAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	p := serve(t, dir, nil)
	tok := regexp.MustCompile(`clg_[A-Za-z0-9_]+`).FindString(p.Stdout())
	if tok == "" {
		t.Fatalf("first start: got stdout %q, want a printed admin token", p.Stdout())
	}
	if strings.Contains(p.Stderr(), tok) {
		t.Fatal("the admin token appeared in the logs")
	}
	if r := p.do("GET", "/v1/tokens", tok, nil); r.status != 200 {
		t.Fatalf("bootstrap token: got %d, want 200", r.status)
	}
	p.stop()
	if !strings.Contains(p.Stderr(), "carelog shutting down") {
		t.Fatalf("got stderr without a shutdown line, want a graceful shutdown:\n%s", p.Stderr())
	}

	q := serve(t, dir, nil)
	if strings.Contains(q.Stdout(), "clg_") {
		t.Fatalf("second start: got stdout %q, want no new token", q.Stdout())
	}
	if r := q.do("GET", "/v1/tokens", tok, nil); r.status != 200 {
		t.Fatalf("bootstrap token after restart: got %d, want 200", r.status)
	}
}

func TestTokenCommand(t *testing.T) {
	dir := t.TempDir()
	p := serve(t, dir, []string{"CARELOG_ADMIN_TOKEN=" + adminToken})
	out, err := exec.Command(binary, "token", "create", "--data-dir", dir, "--role", "biller", "--name", "billing desk").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "running") {
		t.Fatalf("token create while serving: got %v %q, want an error saying serve is running", err, out)
	}
	p.stop()

	cmd := exec.Command(binary, "token", "create", "--data-dir", dir, "--role", "biller", "--name", "billing desk")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("token create: %v: %s", err, stderr.String())
	}
	biller := strings.TrimSpace(stdout.String())
	if !strings.HasPrefix(biller, "clg_") {
		t.Fatalf("token create: got stdout %q, want only the secret", stdout.String())
	}
	if out, err := exec.Command(binary, "token", "create", "--data-dir", dir, "--role", "janitor", "--name", "x").CombinedOutput(); err == nil {
		t.Fatalf("token create with a bad role: got success %q, want an error", out)
	}

	q := serve(t, dir, nil)
	wantError(t, q.do("GET", "/v1/tokens", biller, nil), 403, "forbidden", "")
	if r := q.do("GET", "/v1/tokens", adminToken, nil); r.status != 401 {
		t.Fatalf("env admin token without the env: got %d, want 401", r.status)
	}
}

func TestLogsCarryNoPatientData(t *testing.T) {
	p := serve(t, t.TempDir(), []string{"CARELOG_ADMIN_TOKEN=" + adminToken})
	const secret = "p-Margaret-Hale-1947"
	p.do("GET", "/v1/patients/"+secret+"?mrn=MRN-99812", adminToken, nil)
	p.do("GET", "/v1/no-such-route/"+secret, adminToken, nil)
	p.do("POST", "/v1/tokens", adminToken, `{"role":"clinician","name":"`+secret+`"}`)
	p.stop()
	for _, s := range []string{secret, "MRN-99812", adminToken} {
		if strings.Contains(p.Stderr(), s) {
			t.Errorf("logs contain %q:\n%s", s, p.Stderr())
		}
	}
	for _, route := range []string{`"route":"/v1/patients/:id"`, `"route":"(unmatched)"`} {
		if !strings.Contains(p.Stderr(), route) && !strings.Contains(p.Stderr(), `"route":"/v1/*"`) {
			t.Errorf("got no access-log line with %s:\n%s", route, p.Stderr())
		}
	}
}

func TestBadFlagsExitNonZero(t *testing.T) {
	cases := []struct {
		args []string
		code int
		says string
	}{
		{[]string{"serve", "--no-such-flag"}, 2, "unknown flag"},
		{[]string{"serve", "--addr", "nonsense", "--data-dir", t.TempDir()}, 1, "--addr"},
		{[]string{"serve", "--nats-url", "nats://127.0.0.1:1", "--nats-listen", "127.0.0.1:0"}, 1, "--nats-listen"},
	}
	for _, c := range cases {
		out, err := exec.Command(binary, c.args...).CombinedOutput()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != c.code || !strings.Contains(string(out), c.says) {
			t.Errorf("carelog %v: got %v %q, want exit %d mentioning %q", c.args, err, out, c.code, c.says)
		}
	}
}
