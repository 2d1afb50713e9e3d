// Package servicehost runs Carelog services behind one HTTP listener: echo
// with the house conventions (pkg/httpapi), bearer-token authentication on
// /v1, the operational endpoints /healthz, /readyz, /metrics and
// /openapi.json, and the services' NATS command subjects (pkg/natsapi). The
// all-in-one binary and every service's own binary use it, so a service
// behaves the same in both (STYLE.md rule 5).
package servicehost

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/carelog/carelog/pkg/accesslog"
	"github.com/carelog/carelog/pkg/auth"
	"github.com/carelog/carelog/pkg/errs"
	"github.com/carelog/carelog/pkg/eventlog"
	"github.com/carelog/carelog/pkg/httpapi"
	"github.com/carelog/carelog/pkg/natsapi"
	"github.com/carelog/carelog/pkg/openapi"
)

// Service is what every Carelog service exports (STYLE.md rule 2).
type Service interface {
	Routes(g *echo.Group)
	Commands() []natsapi.Command
	Run(ctx context.Context) error
	Close() error
}

// Check is a named readiness check; it returns nil when ready.
type Check struct {
	Name string
	Fn   func(ctx context.Context) error
}

// Config configures a host.
type Config struct {
	// AccessLog, when set, records every request that touches a patient's
	// data; the host flushes it at shutdown.
	AccessLog       *accesslog.Recorder
	Addr            string
	Title           string
	Version         string
	ShutdownTimeout time.Duration
}

// Host serves services. Build with New, add services with Mount, then Run.
type Host struct {
	cfg      Config
	log      *slog.Logger
	nc       *nats.Conn
	events   eventlog.Log
	echo     *echo.Echo
	v1       *echo.Group
	spec     *openapi.Spec
	checks   []Check
	services []Service
	commands *natsapi.Server
	ln       net.Listener
	// tampered is the first integrity failure a service met in the log
	// (nil while the log verifies); see Run.
	tampered atomic.Pointer[eventlog.IntegrityError]
}

// New builds the HTTP side: echo, metrics, operations, /v1 with tokens'
// authentication and the token administration routes. Nothing listens yet.
func New(cfg Config, logger *slog.Logger, nc *nats.Conn, events eventlog.Log, tokens *auth.Store, spec *openapi.Spec) *Host {
	if cfg.ShutdownTimeout == 0 {
		cfg.ShutdownTimeout = 15 * time.Second
	}
	h := &Host{cfg: cfg, log: logger, nc: nc, events: events, spec: spec}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	e := httpapi.NewEcho(logger)
	e.Use(httpapi.Metrics(reg))
	h.echo = e
	h.checks = []Check{{Name: "eventLog", Fn: func(ctx context.Context) error {
		_, err := events.LastSequence(ctx)
		return err
	}}}
	for _, o := range []struct {
		path string
		h    echo.HandlerFunc
		op   openapi.Op
	}{
		{"/healthz", h.healthz, openapi.Op{Summary: "The process is up", Tag: "operations", Response: status{}}},
		{"/readyz", h.readyz, openapi.Op{Summary: "The event log, stores and projections are ready", Tag: "operations", Response: status{}}},
		{"/metrics", echo.WrapHandler(promhttp.HandlerFor(reg, promhttp.HandlerOpts{})), openapi.Op{Summary: "Prometheus metrics", Tag: "operations"}},
		{"/openapi.json", h.openapi, openapi.Op{Summary: "This OpenAPI document, generated from the routes", Tag: "operations"}},
	} {
		spec.Handle(e, http.MethodGet, o.path, o.h, o.op)
	}
	h.v1 = e.Group("/v1", auth.Middleware(tokens), h.refuseWritesWhenTampered)
	if cfg.AccessLog != nil {
		h.v1.Use(cfg.AccessLog.Middleware())
	}
	auth.Routes(h.v1, spec, tokens)
	return h
}

// AddCheck adds a readiness check.
func (h *Host) AddCheck(c Check) { h.checks = append(h.checks, c) }

// Mount mounts services' routes on /v1 and subscribes their commands.
func (h *Host) Mount(services ...Service) error {
	var cmds []natsapi.Command
	for _, s := range services {
		s.Routes(h.v1)
		cmds = append(cmds, s.Commands()...)
		// A service with read models reports whether they have caught up.
		if r, ok := s.(interface{ Ready(context.Context) error }); ok {
			name := strings.TrimPrefix(fmt.Sprintf("%T", s), "*")
			name, _, _ = strings.Cut(name, ".")
			h.AddCheck(Check{Name: name, Fn: r.Ready})
		}
	}
	h.services = append(h.services, services...)
	srv, err := natsapi.Serve(h.nc, h.echo, cmds)
	if err != nil {
		return err
	}
	h.commands = srv
	return nil
}

// Listen binds the HTTP address (port 0 picks one).
func (h *Host) Listen() error {
	ln, err := net.Listen("tcp", h.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", h.cfg.Addr, err)
	}
	h.ln = ln
	return nil
}

// Addr is the bound address.
func (h *Host) Addr() string { return h.ln.Addr().String() }

// Handler is the HTTP handler (for tests).
func (h *Host) Handler() http.Handler { return h.echo }

type status struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks,omitempty"`
}

func (h *Host) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, status{Status: "ok"})
}

// readyz runs every check with a two-second bound.
func (h *Host) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	checks := map[string]string{}
	ok := true
	if ie := h.tampered.Load(); ie != nil {
		// No event or patient id here: /readyz needs no token.
		checks["eventLogIntegrity"], ok = fmt.Sprintf("failed at sequence %d", ie.Sequence), false
	}
	for _, ch := range h.checks {
		if err := ch.Fn(ctx); err != nil {
			checks[ch.Name], ok = "not ready", false
			continue
		}
		checks[ch.Name] = "ok"
	}
	if !ok {
		return c.JSON(http.StatusServiceUnavailable, status{Status: "unavailable", Checks: checks})
	}
	return c.JSON(http.StatusOK, status{Status: "ok", Checks: checks})
}

func (h *Host) openapi(c echo.Context) error {
	doc, err := h.spec.Document(h.cfg.Title, h.cfg.Version, h.echo.Routes())
	if err != nil {
		return errs.Wrap("servicehost.openapi", errs.Internal, err)
	}
	return c.JSONBlob(http.StatusOK, doc)
}

// Run serves HTTP and runs the services until ctx is done or one of them
// fails, then stops taking commands, drains in-flight requests (bounded by
// ShutdownTimeout) and stops the services. attrs are logged with the
// "carelog serving" line.
func (h *Host) Run(ctx context.Context, attrs ...any) error {
	hs := &http.Server{Handler: h.echo, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(h.log.Handler(), slog.LevelWarn)}
	svcCtx, stopServices := context.WithCancel(context.Background())
	defer stopServices()
	errc := make(chan error, len(h.services)+1)
	var wg sync.WaitGroup
	for _, s := range h.services {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Run(svcCtx); err != nil {
				errc <- err
			}
		}()
	}
	go func() {
		if err := hs.Serve(h.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
	}()
	h.log.Info("carelog serving", append([]any{"addr", h.Addr(), "version", h.cfg.Version}, attrs...)...)

	var runErr error
wait:
	for {
		select {
		case <-ctx.Done():
			break wait
		case err := <-errc:
			if ie, ok := errors.AsType[*eventlog.IntegrityError](err); ok {
				h.tamper(ie)
				continue
			}
			runErr = err
			h.log.Error("carelog stopping after a failure", "err", runErr)
			break wait
		}
	}
	h.log.Info("carelog shutting down")
	if h.commands != nil {
		h.commands.Close()
	}
	sctx, cancel := context.WithTimeout(context.Background(), h.cfg.ShutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		h.log.Warn("http shutdown", "err", err)
	}
	stopServices()
	wg.Wait()
	if h.cfg.AccessLog != nil {
		if err := h.cfg.AccessLog.Close(sctx); err != nil {
			h.log.Error("access log not flushed", "err", err)
		}
	}
	return runErr
}

// tamper records an integrity failure of the log. The host keeps serving so
// that auditors can see it (GET /v1/audit/patients/{id}/history names the
// altered event), but it is not ready and refuses every write: nothing new
// is recorded or billed on a log that failed verification until it is
// investigated. Read models fed past the failure stop, so their reads
// answer 503.
func (h *Host) tamper(ie *eventlog.IntegrityError) {
	if h.tampered.CompareAndSwap(nil, ie) {
		h.log.Error("the event log failed integrity verification: serving reads only, refusing writes", "sequence", ie.Sequence, "eventId", ie.EventID, "err", ie.Err)
	}
}

// refuseWritesWhenTampered answers every write with 503 after an integrity
// failure (see tamper).
func (h *Host) refuseWritesWhenTampered(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if m := c.Request().Method; m != http.MethodGet && m != http.MethodHead {
			if ie := h.tampered.Load(); ie != nil {
				return errs.E("servicehost.write", errs.Unavailable, "the event log failed integrity verification at sequence %d; writes are refused until it is investigated", ie.Sequence)
			}
		}
		return next(c)
	}
}

// Close stops the command subscriptions, closes the services in reverse
// order and the listener. Safe on a partly built host.
func (h *Host) Close() {
	if h.commands != nil {
		h.commands.Close()
	}
	for i := len(h.services) - 1; i >= 0; i-- {
		if err := h.services[i].Close(); err != nil {
			h.log.Warn("service close", "err", err)
		}
	}
	if h.ln != nil {
		h.ln.Close()
	}
	if h.cfg.AccessLog != nil {
		ctx, cancel := context.WithTimeout(context.Background(), h.cfg.ShutdownTimeout)
		defer cancel()
		h.cfg.AccessLog.Close(ctx)
	}
}
