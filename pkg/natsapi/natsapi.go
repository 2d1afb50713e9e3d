// Package natsapi serves Carelog's write API over NATS request/reply on
// subjects carelog.cmd.<resource>.<action> (api/contract.md, last paragraph
// of Clinical facts), for clinical apps that speak NATS.
//
// Each request is dispatched to the very HTTP handler that serves the REST
// route, so validation, authorization, idempotency and the reply body are
// the same by construction:
//
//   - the message body is the HTTP request body;
//   - headers Authorization ("Bearer <token>") and Idempotency-Key are passed
//     through; path parameters travel as Carelog-Param-<Name> headers (for
//     example Carelog-Param-Id: p-1 for /v1/patients/:id/consents);
//   - the reply body is the HTTP response body, and the reply header
//     Carelog-Status carries the HTTP status (201, 200, 400, 409, …).
//
// Subscriptions use a queue group, so several Carelog processes share the
// load and each request is handled once.
package natsapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/nats-io/nats.go"

	"github.com/carelog/carelog/pkg/errs"
)

// Header names of the NATS command API.
const (
	HeaderStatus      = "Carelog-Status"
	HeaderParamPrefix = "Carelog-Param-"
	QueueGroup        = "carelog"
)

// Command maps a subject to an HTTP route.
type Command struct {
	// Subject is carelog.cmd.<resource>.<action>.
	Subject string
	// Method and Path name the HTTP route (echo syntax, :param).
	Method string
	Path   string
}

// Params lists the route's path parameters.
func (c Command) Params() []string {
	var out []string
	for _, seg := range strings.Split(c.Path, "/") {
		if strings.HasPrefix(seg, ":") {
			out = append(out, seg[1:])
		}
	}
	return out
}

// Server is a set of command subscriptions.
type Server struct {
	subs []*nats.Subscription
	// ended[i] is closed when subs[i]'s message loop has ended: drained, or
	// its connection closed. The loop runs the handler, so no request of
	// that subscription is in progress any more.
	ended []chan struct{}
}

// Serve subscribes every command on nc and dispatches requests to h. It
// returns once the server has registered the subscriptions.
func Serve(nc *nats.Conn, h http.Handler, cmds []Command) (*Server, error) {
	s := &Server{}
	for _, c := range cmds {
		sub, err := nc.QueueSubscribe(c.Subject, QueueGroup, func(m *nats.Msg) {
			s.handle(h, c, m)
		})
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("natsapi: subscribe %s: %w", c.Subject, err)
		}
		ended := make(chan struct{})
		var once sync.Once
		end := func(string) { once.Do(func() { close(ended) }) }
		sub.SetClosedHandler(end)
		if !sub.IsValid() {
			end("") // closed before the handler was set, which then never runs
		}
		s.subs = append(s.subs, sub)
		s.ended = append(s.ended, ended)
	}
	// Subscriptions reach the server asynchronously: wait for it to have
	// them, so that a request sent once Serve has returned finds a responder.
	if err := nc.Flush(); err != nil {
		s.Close()
		return nil, fmt.Errorf("natsapi: subscribe: %w", err)
	}
	return s, nil
}

// Close drains the subscriptions and returns once every request delivered
// to them (in progress or waiting in the subscription) has been handled and
// answered. (Drain itself is asynchronous: returning earlier would let the
// caller close the connection under requests already taken from the queue
// group, which would then never be answered.)
func (s *Server) Close() error {
	for _, sub := range s.subs {
		sub.Drain() // fails only when the subscription or connection is already closed
	}
	for _, ended := range s.ended {
		<-ended
	}
	return nil
}

func (s *Server) handle(h http.Handler, c Command, m *nats.Msg) {
	if m.Reply == "" {
		return // a command without a reply subject cannot be answered; ignore
	}
	req, err := request(c, m)
	if err != nil {
		reply(m, http.StatusBadRequest, errorBody(err))
		return
	}
	w := &recorder{header: http.Header{}, status: http.StatusOK}
	h.ServeHTTP(w, req)
	reply(m, w.status, w.body.Bytes())
}

func request(c Command, m *nats.Msg) (*http.Request, error) {
	path := c.Path
	for _, p := range c.Params() {
		name := HeaderParamPrefix + strings.ToUpper(p[:1]) + p[1:]
		v := m.Header.Get(name)
		if v == "" {
			return nil, errs.Field("natsapi", name, "is required for %s", c.Subject)
		}
		path = strings.Replace(path, ":"+p, escapeSegment(v), 1)
	}
	req, err := http.NewRequestWithContext(context.Background(), c.Method, path, bytes.NewReader(m.Data))
	if err != nil {
		return nil, errs.Wrap("natsapi", errs.Invalid, err)
	}
	req.RemoteAddr = "nats"
	req.Header.Set("Content-Type", "application/json")
	for _, k := range []string{"Authorization", "Idempotency-Key", "X-Request-Id", "X-Carelog-App"} {
		if v := m.Header.Get(k); v != "" {
			req.Header.Set(k, v)
		}
	}
	return req, nil
}

// escapeSegment writes v as one path segment escaped only where net/url
// must escape it, so that the router routes on the decoded path and the
// handler's path parameter is v itself, as for an HTTP client that writes
// the URL the same way. (url.PathEscape also escapes ',' and ';', which
// makes net/url keep the raw path; echo then routes on it and hands the
// handler the still-escaped value.) A '/' has to stay escaped to remain
// inside the segment, so such a value reaches echo's handler escaped, as
// the same request over HTTP would.
func escapeSegment(v string) string {
	return strings.ReplaceAll((&url.URL{Path: v}).EscapedPath(), "/", "%2F")
}

func reply(m *nats.Msg, status int, body []byte) {
	out := nats.NewMsg(m.Reply)
	out.Header.Set(HeaderStatus, strconv.Itoa(status))
	out.Data = body
	m.RespondMsg(out)
}

func errorBody(err error) []byte {
	k, field, msg := errs.Public(err)
	detail := map[string]any{"code": k, "message": msg}
	if field != "" {
		detail["field"] = field
	}
	b, _ := json.Marshal(map[string]any{"error": detail})
	return b
}

// recorder is the minimal http.ResponseWriter the dispatch needs.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
	wrote  bool
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.body.Write(b)
}

// Status reads the HTTP status of a reply (0 when absent).
func Status(m *nats.Msg) int {
	n, _ := strconv.Atoi(m.Header.Get(HeaderStatus))
	return n
}
