package natsapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/carelog/carelog/pkg/auth"
	"github.com/carelog/carelog/pkg/errs"
	"github.com/carelog/carelog/pkg/httpapi"
	"github.com/carelog/carelog/pkg/natsapi"
	"github.com/carelog/carelog/pkg/natsserver"
	"github.com/carelog/carelog/pkg/testenv"
)

const adminToken = "static-admin-token-0123456789"

var createThing = natsapi.Command{Subject: "carelog.cmd.things.create", Method: http.MethodPost, Path: "/v1/patients/:id/things"}

// echoed is what the test handler answers: what it was given.
type echoed struct {
	ID             string          `json:"id"`
	Body           json.RawMessage `json:"body"`
	IdempotencyKey string          `json:"idempotencyKey"`
	RequestID      string          `json:"requestId"`
	Role           auth.Role       `json:"role"`
}

// api is a service's echo as main wires it, with one write route that
// echoes its input; calls counts the handler's invocations.
type api struct {
	e       *echo.Echo
	calls   atomic.Int64
	started chan struct{} // receives when a handler starts, if non-nil
	release chan struct{} // handlers wait for it to close, if non-nil
}

func newAPI(t *testing.T, s *natsserver.Server) *api {
	t.Helper()
	js, err := natsjs.New(testenv.Connect(t, s))
	if err != nil {
		t.Fatalf("jetstream.New: %v", err)
	}
	st, err := auth.OpenStore(ctx(t), js, nil, auth.WithStaticAdmin(adminToken))
	if err != nil {
		t.Fatalf("auth.OpenStore: %v", err)
	}
	t.Cleanup(st.Close)
	a := &api{e: httpapi.NewEcho(slog.New(slog.NewTextHandler(io.Discard, nil)))}
	v1 := a.e.Group("/v1", auth.Middleware(st))
	v1.POST("/patients/:id/things", func(c echo.Context) error {
		a.calls.Add(1)
		if a.started != nil {
			a.started <- struct{}{}
		}
		if a.release != nil {
			<-a.release
		}
		body, err := io.ReadAll(c.Request().Body)
		if err != nil {
			return err
		}
		p, _ := auth.FromContext(c)
		return c.JSON(http.StatusCreated, echoed{
			ID: c.Param("id"), Body: body, IdempotencyKey: c.Request().Header.Get("Idempotency-Key"),
			RequestID: httpapi.RequestIDOf(c), Role: p.Role,
		})
	}, auth.Require(auth.Clinician))
	return a
}

func sameJSON(a, b []byte) bool {
	var va, vb any
	return json.Unmarshal(a, &va) == nil && json.Unmarshal(b, &vb) == nil && reflect.DeepEqual(va, vb)
}

func ctx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

func serve(t *testing.T, nc *nats.Conn, h http.Handler) *natsapi.Server {
	t.Helper()
	srv, err := natsapi.Serve(nc, h, []natsapi.Command{createThing})
	if err != nil {
		t.Fatalf("Serve: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

func msg(subject, body string, headers map[string]string) *nats.Msg {
	m := nats.NewMsg(subject)
	m.Data = []byte(body)
	for k, v := range headers {
		m.Header.Set(k, v)
	}
	return m
}

func request(t *testing.T, nc *nats.Conn, m *nats.Msg) *nats.Msg {
	t.Helper()
	reply, err := nc.RequestMsg(m, 10*time.Second)
	if err != nil {
		t.Fatalf("RequestMsg(%s): %v", m.Subject, err)
	}
	return reply
}

func TestServe(t *testing.T) {
	s := testenv.JetStream(t, "")
	a := newAPI(t, s)
	nc := testenv.Connect(t, s)
	serve(t, nc, a.e)

	const body = `{"minutes":20,"note":"call <re> meds & labs"}`
	tests := []struct {
		name       string
		headers    map[string]string
		body       string
		wantStatus int
		want       echoed    // for 201
		wantCode   errs.Kind // for errors
		wantField  string
	}{
		{
			name:       "created",
			headers:    map[string]string{"Authorization": "Bearer " + adminToken, "Carelog-Param-Id": "p-1", "Idempotency-Key": "key-1", "X-Request-Id": "req-1"},
			body:       body,
			wantStatus: http.StatusCreated,
			want:       echoed{ID: "p-1", Body: json.RawMessage(body), IdempotencyKey: "key-1", RequestID: "req-1", Role: auth.Admin},
		},
		{
			name:       "param needing escapes",
			headers:    map[string]string{"Authorization": "Bearer " + adminToken, "Carelog-Param-Id": "p 1ä?x=%2F#y;z,w", "X-Request-Id": "req-2"},
			body:       body,
			wantStatus: http.StatusCreated,
			want:       echoed{ID: "p 1ä?x=%2F#y;z,w", Body: json.RawMessage(body), RequestID: "req-2", Role: auth.Admin},
		},
		{
			// A '/' must stay escaped to stay in its segment; echo then hands
			// the handler the raw segment, as it does over HTTP.
			name:       "param with a slash",
			headers:    map[string]string{"Authorization": "Bearer " + adminToken, "Carelog-Param-Id": "p/1 2", "X-Request-Id": "req-3"},
			body:       body,
			wantStatus: http.StatusCreated,
			want:       echoed{ID: "p%2F1%202", Body: json.RawMessage(body), RequestID: "req-3", Role: auth.Admin},
		},
		{
			name:       "missing param",
			headers:    map[string]string{"Authorization": "Bearer " + adminToken},
			body:       body,
			wantStatus: http.StatusBadRequest,
			wantCode:   errs.Invalid,
			wantField:  "Carelog-Param-Id",
		},
		{
			name:       "missing authorization",
			headers:    map[string]string{"Carelog-Param-Id": "p-1"},
			body:       body,
			wantStatus: http.StatusUnauthorized,
			wantCode:   errs.Unauthorized,
		},
		{
			name:       "unknown token",
			headers:    map[string]string{"Authorization": "Bearer clg_nope_nope", "Carelog-Param-Id": "p-1"},
			body:       body,
			wantStatus: http.StatusUnauthorized,
			wantCode:   errs.Unauthorized,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reply := request(t, nc, msg(createThing.Subject, tt.body, tt.headers))
			if got := natsapi.Status(reply); got != tt.wantStatus {
				t.Fatalf("status: got %d (%s), want %d", got, reply.Data, tt.wantStatus)
			}
			if tt.wantStatus == http.StatusCreated {
				var got echoed
				if err := json.Unmarshal(reply.Data, &got); err != nil {
					t.Fatalf("reply %s: %v", reply.Data, err)
				}
				if got.ID != tt.want.ID || !sameJSON(got.Body, tt.want.Body) || got.IdempotencyKey != tt.want.IdempotencyKey ||
					got.RequestID != tt.want.RequestID || got.Role != tt.want.Role {
					t.Errorf("reply: got id %q, body %s, key %q, request id %q, role %s; want %q, %s, %q, %q, %s",
						got.ID, got.Body, got.IdempotencyKey, got.RequestID, got.Role,
						tt.want.ID, tt.want.Body, tt.want.IdempotencyKey, tt.want.RequestID, tt.want.Role)
				}
			} else {
				var got httpapi.ErrorBody
				dec := json.NewDecoder(strings.NewReader(string(reply.Data)))
				dec.DisallowUnknownFields()
				if err := dec.Decode(&got); err != nil {
					t.Fatalf("reply %s is not the contract's error shape: %v", reply.Data, err)
				}
				if got.Error.Code != tt.wantCode || got.Error.Field != tt.wantField || got.Error.Message == "" {
					t.Errorf("error: got %+v, want code %s, field %q and a message", got.Error, tt.wantCode, tt.wantField)
				}
			}
			if tt.headers["Carelog-Param-Id"] == "" {
				return
			}
			// The same request over HTTP gets the same answer.
			target := "/v1/patients/" + strings.ReplaceAll((&url.URL{Path: tt.headers["Carelog-Param-Id"]}).EscapedPath(), "/", "%2F") + "/things"
			req := httptest.NewRequest(http.MethodPost, target, strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/json")
			for k, v := range tt.headers {
				if !strings.HasPrefix(k, natsapi.HeaderParamPrefix) {
					req.Header.Set(k, v)
				}
			}
			w := httptest.NewRecorder()
			a.e.ServeHTTP(w, req)
			if w.Code != tt.wantStatus || w.Body.String() != string(reply.Data) {
				t.Errorf("over HTTP: got %d %s, want the NATS reply %d %s", w.Code, w.Body, tt.wantStatus, reply.Data)
			}
		})
	}
}

func TestServeIgnoresMessagesWithoutReply(t *testing.T) {
	s := testenv.JetStream(t, "")
	a := newAPI(t, s)
	nc := testenv.Connect(t, s)
	serve(t, nc, a.e)
	headers := map[string]string{"Authorization": "Bearer " + adminToken, "Carelog-Param-Id": "p-1"}
	if err := nc.PublishMsg(msg(createThing.Subject, `{}`, headers)); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	// Messages of one subscription are handled in order: once this reply is
	// in, the message before it has been handled.
	if got := natsapi.Status(request(t, nc, msg(createThing.Subject, `{}`, headers))); got != http.StatusCreated {
		t.Fatalf("request: got status %d, want 201", got)
	}
	if got := a.calls.Load(); got != 1 {
		t.Errorf("handler calls: got %d, want 1 (a message without a reply subject is not executed)", got)
	}
}

// TestServeQueueGroup runs two servers, as two processes would: each request
// is handled once.
func TestServeQueueGroup(t *testing.T) {
	s := testenv.JetStream(t, "")
	a := newAPI(t, s)
	serve(t, testenv.Connect(t, s), a.e)
	serve(t, testenv.Connect(t, s), a.e)
	nc := testenv.Connect(t, s)
	const n = 20
	headers := map[string]string{"Authorization": "Bearer " + adminToken, "Carelog-Param-Id": "p-1"}
	for range n {
		if got := natsapi.Status(request(t, nc, msg(createThing.Subject, `{}`, headers))); got != http.StatusCreated {
			t.Fatalf("request: got status %d, want 201", got)
		}
	}
	if got := a.calls.Load(); got != n {
		t.Errorf("handler calls: got %d, want %d (once per request)", got, n)
	}
}

func TestCloseDrains(t *testing.T) {
	s := testenv.JetStream(t, "")
	a := newAPI(t, s)
	a.started, a.release = make(chan struct{}, 16), make(chan struct{})
	srv := serve(t, testenv.Connect(t, s), a.e)
	nc := testenv.Connect(t, s)
	headers := map[string]string{"Authorization": "Bearer " + adminToken, "Carelog-Param-Id": "p-1"}

	// Three requests reach the server before Close: one in progress, two
	// waiting in the subscription.
	const n = 3
	inbox := nats.NewInbox()
	replies, err := nc.SubscribeSync(inbox)
	if err != nil {
		t.Fatalf("SubscribeSync: %v", err)
	}
	for range n {
		m := msg(createThing.Subject, `{}`, headers)
		m.Reply = inbox
		if err := nc.PublishMsg(m); err != nil {
			t.Fatalf("Publish: %v", err)
		}
	}
	if err := nc.Flush(); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	// Each handler waits for its own release.
	started := func(i int) {
		t.Helper()
		select {
		case <-a.started:
		case <-time.After(10 * time.Second):
			t.Fatalf("request %d did not reach the handler within 10s", i)
		}
	}
	started(1)

	closed := make(chan struct{})
	go func() {
		srv.Close()
		close(closed)
	}()
	for i := 1; i <= n; i++ {
		if i > 1 {
			started(i)
		}
		// Close must not return while request i is in progress: give it
		// a moment to do so wrongly.
		select {
		case <-closed:
			t.Fatalf("Close returned while request %d of %d was in progress", i, n)
		case <-time.After(100 * time.Millisecond):
		}
		a.release <- struct{}{}
	}
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return within 10s of the last request's end")
	}
	if got := a.calls.Load(); got != n {
		t.Errorf("handler calls when Close returned: got %d, want %d (every request received before Close)", got, n)
	}
	var statuses []int
	for range n {
		r, err := replies.NextMsg(10 * time.Second)
		if err != nil {
			t.Fatalf("reply: %v", err)
		}
		statuses = append(statuses, natsapi.Status(r))
	}
	if want := []int{201, 201, 201}; !slices.Equal(statuses, want) {
		t.Errorf("reply statuses: got %v, want %v", statuses, want)
	}

	// After Close nobody answers.
	_, err = nc.RequestMsg(msg(createThing.Subject, `{}`, headers), 2*time.Second)
	if !errors.Is(err, nats.ErrNoResponders) && !errors.Is(err, nats.ErrTimeout) {
		t.Errorf("request after Close: got %v, want no responders or a timeout", err)
	}
	if got := a.calls.Load(); got != n {
		t.Errorf("handler calls after Close: got %d, want %d", got, n)
	}
}

func TestServeStatusOfAMessageWithoutIt(t *testing.T) {
	if got := natsapi.Status(nats.NewMsg("x")); got != 0 {
		t.Errorf("Status without the header: got %d, want 0", got)
	}
}

func TestCommandParams(t *testing.T) {
	tests := []struct {
		path string
		want []string
	}{
		{"/v1/practice", nil},
		{"/v1/patients/:id/consents", []string{"id"}},
		{"/v1/patients/:id/entries/:entryId", []string{"id", "entryId"}},
	}
	for _, tt := range tests {
		if got := (natsapi.Command{Path: tt.path}).Params(); !slices.Equal(got, tt.want) {
			t.Errorf("Params(%s): got %v, want %v", tt.path, got, tt.want)
		}
	}
}

func TestServeTwoParams(t *testing.T) {
	s := testenv.JetStream(t, "")
	e := httpapi.NewEcho(slog.New(slog.NewTextHandler(io.Discard, nil)))
	e.PUT("/v1/patients/:id/entries/:entryId", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"id": c.Param("id"), "entryId": c.Param("entryId")})
	})
	nc := testenv.Connect(t, s)
	cmd := natsapi.Command{Subject: "carelog.cmd.entries.correct", Method: http.MethodPut, Path: "/v1/patients/:id/entries/:entryId"}
	srv, err := natsapi.Serve(nc, e, []natsapi.Command{cmd})
	if err != nil {
		t.Fatalf("Serve: %v", err)
	}
	t.Cleanup(func() { srv.Close() })

	reply := request(t, nc, msg(cmd.Subject, `{}`, map[string]string{"Carelog-Param-Id": "p-1", "Carelog-Param-EntryId": "t-9"}))
	if got, want := string(reply.Data), `{"entryId":"t-9","id":"p-1"}`+"\n"; natsapi.Status(reply) != 200 || got != want {
		t.Errorf("reply: got %d %q, want 200 %q", natsapi.Status(reply), got, want)
	}
	reply = request(t, nc, msg(cmd.Subject, `{}`, map[string]string{"Carelog-Param-Id": "p-1"}))
	var got httpapi.ErrorBody
	if err := json.Unmarshal(reply.Data, &got); err != nil || natsapi.Status(reply) != 400 || got.Error.Field != "Carelog-Param-EntryId" {
		t.Errorf("without entryId: got %d %s, want 400 naming Carelog-Param-EntryId", natsapi.Status(reply), reply.Data)
	}
}

// TestCloseAfterConnectionClosed: Close returns when the connection went
// first (nothing is left to drain), and may be called again.
func TestCloseAfterConnectionClosed(t *testing.T) {
	s := testenv.JetStream(t, "")
	a := newAPI(t, s)
	nc := testenv.Connect(t, s)
	srv, err := natsapi.Serve(nc, a.e, []natsapi.Command{createThing})
	if err != nil {
		t.Fatalf("Serve: %v", err)
	}
	nc.Close()
	for i := 1; i <= 2; i++ {
		closed := make(chan error, 1)
		go func() { closed <- srv.Close() }()
		select {
		case err := <-closed:
			if err != nil {
				t.Errorf("Close %d: got %v, want nil", i, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("Close %d after the connection closed: did not return within 10s", i)
		}
	}
}
