package consent_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/carelog/carelog/pkg/auth"
	"github.com/carelog/carelog/pkg/eventlog/jetstream"
	pkghttp "github.com/carelog/carelog/pkg/httpapi"
	"github.com/carelog/carelog/pkg/natsapi"
	"github.com/carelog/carelog/pkg/natsserver"
	"github.com/carelog/carelog/pkg/openapi"
	"github.com/carelog/carelog/pkg/testenv"
	"github.com/carelog/carelog/services/consent"
)

const adminToken = "consent-test-admin-token-0123456789"

// start is the pinned service clock of every test.
var start = time.Date(2025, 3, 14, 15, 0, 0, 0, time.UTC)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

// node is a real embedded JetStream node with the event log and the token
// store on it.
type node struct {
	dir    string
	srv    *natsserver.Server
	nc     *nats.Conn
	log    *jetstream.Log
	tokens *auth.Store
}

func startNode(t *testing.T, dir string, clk *clock) *node {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	n := &node{dir: dir, srv: testenv.JetStream(t, dir)}
	n.nc = testenv.Connect(t, n.srv)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var err error
	if n.log, err = jetstream.Open(ctx, n.nc, jetstream.Config{}); err != nil {
		t.Fatalf("jetstream.Open: %v", err)
	}
	js, err := natsjs.New(n.nc)
	if err != nil {
		t.Fatal(err)
	}
	if n.tokens, err = auth.OpenStore(ctx, js, clk.Now, auth.WithStaticAdmin(adminToken)); err != nil {
		t.Fatalf("auth.OpenStore: %v", err)
	}
	t.Cleanup(n.tokens.Close)
	return n
}

// shutdown stops the node (tokens, connection, server), as a process exit
// would.
func (n *node) shutdown() {
	n.tokens.Close()
	n.nc.Close()
	n.srv.Shutdown()
}

// app is the consent service mounted as the all-in-one mounts it: one echo
// with pkg/httpapi's conventions, /v1 behind auth.Middleware, the NATS
// command bridge, and Run in the background.
type app struct {
	t      *testing.T
	node   *node
	svc    *consent.Service
	echo   *echo.Echo
	spec   *openapi.Spec
	http   *httptest.Server
	cmds   *natsapi.Server
	cancel context.CancelFunc
	done   chan error
}

func startApp(t *testing.T, n *node, clk *clock) *app {
	t.Helper()
	a := &app{t: t, node: n, spec: openapi.NewSpec(), done: make(chan error, 1)}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	var err error
	a.svc, err = consent.New(consent.Config{}, consent.Deps{Log: n.log, Logger: logger, Spec: a.spec, Now: clk.Now})
	if err != nil {
		t.Fatalf("consent.New: %v", err)
	}
	a.echo = pkghttp.NewEcho(logger)
	a.svc.Routes(a.echo.Group("/v1", auth.Middleware(n.tokens)))
	a.http = httptest.NewServer(a.echo)
	if a.cmds, err = natsapi.Serve(n.nc, a.echo, a.svc.Commands()); err != nil {
		t.Fatalf("natsapi.Serve: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	go func() { a.done <- a.svc.Run(ctx) }()
	t.Cleanup(a.stop)
	return a
}

// stop stops the service; safe to call twice.
func (a *app) stop() {
	if a.cancel == nil {
		return
	}
	a.cmds.Close()
	a.http.Close()
	a.cancel()
	if err := <-a.done; err != nil {
		a.t.Errorf("Run: got %v, want nil after cancel", err)
	}
	a.svc.Close()
	a.cancel = nil
}

type response struct {
	status int
	raw    []byte
	err    pkghttp.ErrorDetail
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.raw, v); err != nil {
		t.Fatalf("decode %s: %v", r.raw, err)
	}
}

// do sends an HTTP request; headers come in name, value pairs.
func (a *app) do(method, path, token, body string, headers ...string) response {
	a.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, a.http.URL+path, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := a.http.Client().Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	out := response{status: res.StatusCode, raw: bytes.TrimSpace(raw)}
	if res.StatusCode >= 400 {
		var eb pkghttp.ErrorBody
		if err := json.Unmarshal(raw, &eb); err != nil {
			a.t.Fatalf("%s %s: error body %s: %v", method, path, raw, err)
		}
		out.err = eb.Error
	}
	return out
}

// must sends a request and fails unless the status is want.
func (a *app) must(want int, method, path, token, body string, headers ...string) response {
	a.t.Helper()
	r := a.do(method, path, token, body, headers...)
	if r.status != want {
		a.t.Fatalf("%s %s: got %d %s, want %d", method, path, r.status, r.raw, want)
	}
	return r
}

func (n *node) last(t *testing.T) uint64 {
	t.Helper()
	seq, err := n.log.LastSequence(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return seq
}

func (n *node) token(t *testing.T, role auth.Role) string {
	t.Helper()
	tok, err := n.tokens.Create(context.Background(), role, string(role)+"-test")
	if err != nil {
		t.Fatal(err)
	}
	return tok.Bearer
}
