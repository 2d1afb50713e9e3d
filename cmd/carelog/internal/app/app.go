// Package app wires the all-in-one Carelog server: the embedded (or an
// external) NATS JetStream node, the event log, the token store, every
// service's routes on one echo listener, and the operational endpoints
// /healthz, /readyz, /metrics and /openapi.json. It is wiring only: no
// service behaves differently inside it (STYLE.md rule 5).
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"
	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/carelog/carelog/pkg/auth"
	"github.com/carelog/carelog/pkg/errs"
	"github.com/carelog/carelog/pkg/eventlog/jetstream"
	"github.com/carelog/carelog/pkg/httpapi"
	"github.com/carelog/carelog/pkg/natsserver"
	"github.com/carelog/carelog/pkg/openapi"
	"github.com/carelog/carelog/services/activitylog"
	"github.com/carelog/carelog/services/audit"
	"github.com/carelog/carelog/services/billing"
	"github.com/carelog/carelog/services/careplan"
	"github.com/carelog/carelog/services/consent"
)

// service is what every Carelog service exports (STYLE.md rule 2).
type service interface {
	Routes(g *echo.Group)
	Run(ctx context.Context) error
	Close() error
}

// App is a running all-in-one server.
type App struct {
	cfg      Config
	log      *slog.Logger
	srv      *natsserver.Server // nil with an external NATS
	nc       *nats.Conn
	events   *jetstream.Log
	tokens   *auth.Store
	pg       *pgxpool.Pool
	echo     *echo.Echo
	ln       net.Listener
	spec     *openapi.Spec
	services []service

	closeOnce sync.Once
}

// New starts the infrastructure (NATS, event log, token store, optional
// PostgreSQL), builds every service, mounts the routes and binds the HTTP
// listener. stdout receives the one-time bootstrap admin token, never logs.
func New(ctx context.Context, cfg Config, logger *slog.Logger, stdout io.Writer) (_ *App, err error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a := &App{cfg: cfg, log: logger, spec: openapi.NewSpec()}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()

	var tokens atomic.Pointer[auth.Store]
	if cfg.NATSURL == "" {
		a.srv, err = natsserver.Start(natsserver.Config{
			DataDir: cfg.DataDir,
			Listen:  cfg.NATSListen,
			// Network clients are refused until the token store is open.
			Authenticate: func(token string) (string, *natsserver.Permissions, bool) {
				st := tokens.Load()
				if st == nil {
					return "", nil, false
				}
				return auth.NATSAuthenticator(st)(token)
			},
		})
		if err != nil {
			return nil, fmt.Errorf("start embedded NATS: %w", err)
		}
		a.nc, err = a.srv.Connect()
	} else {
		opts := []nats.Option{nats.Name("carelog"), nats.MaxReconnects(-1)}
		if cfg.NATSToken != "" {
			opts = append(opts, nats.Token(cfg.NATSToken))
		}
		a.nc, err = nats.Connect(cfg.NATSURL, opts...)
	}
	if err != nil {
		return nil, fmt.Errorf("connect to NATS: %w", err)
	}
	a.events, err = jetstream.Open(ctx, a.nc, jetstream.Config{})
	if err != nil {
		return nil, fmt.Errorf("open event log: %w", err)
	}
	js, err := natsjs.New(a.nc)
	if err != nil {
		return nil, err
	}
	a.tokens, err = auth.OpenStore(ctx, js, time.Now, auth.WithStaticAdmin(cfg.AdminToken))
	if err != nil {
		return nil, fmt.Errorf("open token store: %w", err)
	}
	tokens.Store(a.tokens)
	if err := auth.Bootstrap(ctx, a.tokens, stdout); err != nil {
		return nil, fmt.Errorf("bootstrap admin token: %w", err)
	}
	if cfg.PostgresURL != "" {
		a.pg, err = pgxpool.New(ctx, cfg.PostgresURL)
		if err != nil {
			return nil, fmt.Errorf("postgres: %w", err)
		}
		if err := a.pg.Ping(ctx); err != nil {
			return nil, fmt.Errorf("postgres: %w", err)
		}
	}

	if err := a.buildServices(); err != nil {
		return nil, err
	}
	a.buildHTTP()
	a.ln, err = net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	return a, nil
}

func (a *App) buildServices() error {
	cons, err := consent.New(consent.Config{}, consent.Deps{Log: a.events, Logger: a.log, Spec: a.spec})
	if err != nil {
		return err
	}
	plans, err := careplan.New(careplan.Config{}, careplan.Deps{Log: a.events, Logger: a.log, Spec: a.spec})
	if err != nil {
		return err
	}
	activity, err := activitylog.New(activitylog.Config{}, activitylog.Deps{Log: a.events, Logger: a.log, Spec: a.spec})
	if err != nil {
		return err
	}
	bill, err := billing.New(billing.Config{}, billing.Deps{Log: a.events, Logger: a.log, Spec: a.spec})
	if err != nil {
		return err
	}
	aud, err := audit.New(audit.Config{}, audit.Deps{Log: a.events, Logger: a.log, Spec: a.spec})
	if err != nil {
		return err
	}
	a.services = []service{cons, plans, activity, bill, aud}
	return nil
}

func (a *App) buildHTTP() {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	e := httpapi.NewEcho(a.log)
	e.Use(httpapi.Metrics(reg))
	a.echo = e

	ops := []struct {
		path string
		h    echo.HandlerFunc
		op   openapi.Op
	}{
		{"/healthz", a.healthz, openapi.Op{Summary: "The process is up", Tag: "operations", Response: status{}}},
		{"/readyz", a.readyz, openapi.Op{Summary: "The event log and stores are reachable", Tag: "operations", Response: status{}}},
		{"/metrics", echo.WrapHandler(promhttp.HandlerFor(reg, promhttp.HandlerOpts{})), openapi.Op{Summary: "Prometheus metrics", Tag: "operations"}},
		{"/openapi.json", a.openapi, openapi.Op{Summary: "This OpenAPI document, generated from the routes", Tag: "operations"}},
	}
	for _, o := range ops {
		a.spec.Handle(e, http.MethodGet, o.path, o.h, o.op)
	}
	v1 := e.Group("/v1", auth.Middleware(a.tokens))
	auth.Routes(v1, a.spec, a.tokens)
	for _, s := range a.services {
		s.Routes(v1)
	}
}

type status struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks,omitempty"`
}

func (a *App) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, status{Status: "ok"})
}

// readyz reports ready when the event log answers and, when configured,
// PostgreSQL answers, each within two seconds.
func (a *App) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	checks := map[string]string{}
	ok := true
	if _, err := a.events.LastSequence(ctx); err != nil {
		checks["eventLog"], ok = "unreachable", false
	} else {
		checks["eventLog"] = "ok"
	}
	if a.pg != nil {
		if err := a.pg.Ping(ctx); err != nil {
			checks["postgres"], ok = "unreachable", false
		} else {
			checks["postgres"] = "ok"
		}
	}
	if !ok {
		return c.JSON(http.StatusServiceUnavailable, status{Status: "unavailable", Checks: checks})
	}
	return c.JSON(http.StatusOK, status{Status: "ok", Checks: checks})
}

func (a *App) openapi(c echo.Context) error {
	doc, err := a.spec.Document("Carelog API", a.cfg.Version, a.echo.Routes())
	if err != nil {
		return errs.Wrap("app.openapi", errs.Internal, err)
	}
	return c.JSONBlob(http.StatusOK, doc)
}

// Addr is the bound HTTP address (useful with port 0).
func (a *App) Addr() string { return a.ln.Addr().String() }

// NATSURL is the embedded server's network URL ("" unless --nats-listen).
func (a *App) NATSURL() string {
	if a.srv == nil {
		return ""
	}
	return a.srv.ClientURL()
}

// Run serves HTTP and runs the services until ctx is done, then drains
// in-flight requests (bounded by ShutdownTimeout) and stops the services.
func (a *App) Run(ctx context.Context) error {
	hs := &http.Server{Handler: a.echo, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(a.log.Handler(), slog.LevelWarn)}
	svcCtx, stopServices := context.WithCancel(context.Background())
	defer stopServices()
	errc := make(chan error, len(a.services)+1)
	var wg sync.WaitGroup
	for _, s := range a.services {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Run(svcCtx); err != nil {
				errc <- err
			}
		}()
	}
	go func() {
		if err := hs.Serve(a.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
	}()
	a.log.Info("carelog serving", "addr", a.Addr(), "nats", a.natsMode(), "projections", a.storeMode(), "version", a.cfg.Version)

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
		a.log.Error("carelog stopping after a failure", "err", runErr)
	}
	a.log.Info("carelog shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		a.log.Warn("http shutdown", "err", err)
	}
	stopServices()
	wg.Wait()
	return runErr
}

func (a *App) natsMode() string {
	switch {
	case a.cfg.NATSURL != "":
		return "external"
	case a.cfg.NATSListen != "":
		return "embedded, listening on " + a.NATSURL()
	}
	return "embedded"
}

func (a *App) storeMode() string {
	if a.pg != nil {
		return "postgres"
	}
	return "memory"
}

// Close releases everything New started, in reverse order. Safe to call
// more than once and on a partly built App.
func (a *App) Close() error {
	a.closeOnce.Do(func() {
		for i := len(a.services) - 1; i >= 0; i-- {
			if err := a.services[i].Close(); err != nil {
				a.log.Warn("service close", "err", err)
			}
		}
		if a.ln != nil {
			a.ln.Close()
		}
		if a.pg != nil {
			a.pg.Close()
		}
		if a.tokens != nil {
			a.tokens.Close()
		}
		if a.events != nil {
			a.events.Close()
		}
		if a.nc != nil {
			a.nc.Close()
		}
		if a.srv != nil {
			a.srv.Shutdown()
		}
	})
	return nil
}
