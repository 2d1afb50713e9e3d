// Package app wires the all-in-one Carelog server: the embedded (or an
// external) NATS JetStream node, the event log, the token store, optional
// PostgreSQL, and every service on one pkg/servicehost listener. It is
// wiring only: no service behaves differently inside it (STYLE.md rule 5).
package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/carelog/carelog/pkg/accesslog"
	"github.com/carelog/carelog/pkg/auth"
	"github.com/carelog/carelog/pkg/eventlog/jetstream"
	"github.com/carelog/carelog/pkg/natsserver"
	"github.com/carelog/carelog/pkg/openapi"
	"github.com/carelog/carelog/pkg/servicehost"
	"github.com/carelog/carelog/services/activitylog"
	"github.com/carelog/carelog/services/audit"
	"github.com/carelog/carelog/services/billing"
	"github.com/carelog/carelog/services/careplan"
	"github.com/carelog/carelog/services/consent"
)

// App is a running all-in-one server.
type App struct {
	cfg    Config
	log    *slog.Logger
	srv    *natsserver.Server // nil with an external NATS
	nc     *nats.Conn
	events *jetstream.Log
	tokens *auth.Store
	pg     *pgxpool.Pool
	host   *servicehost.Host

	closeOnce sync.Once
}

// New starts the infrastructure (NATS, event log, token store, optional
// PostgreSQL), builds every service, mounts them and binds the HTTP
// listener. stdout receives the one-time bootstrap admin token, never logs.
func New(ctx context.Context, cfg Config, logger *slog.Logger, stdout io.Writer) (_ *App, err error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a := &App{cfg: cfg, log: logger}
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
		a.nc, err = Dial(cfg.NATSURL, cfg.NATSToken)
	}
	if err != nil {
		return nil, fmt.Errorf("connect to NATS: %w", err)
	}
	a.events, err = jetstream.Open(ctx, a.nc, jetstream.Config{Replicas: cfg.Replicas})
	if err != nil {
		return nil, fmt.Errorf("open event log: %w", err)
	}
	js, err := natsjs.New(a.nc)
	if err != nil {
		return nil, err
	}
	a.tokens, err = auth.OpenStore(ctx, js, time.Now, auth.WithStaticAdmin(cfg.AdminToken), auth.WithReplicas(cfg.Replicas))
	if err != nil {
		return nil, fmt.Errorf("open token store: %w", err)
	}
	tokens.Store(a.tokens)
	if err := auth.Bootstrap(ctx, a.tokens, stdout); err != nil {
		return nil, fmt.Errorf("bootstrap admin token: %w", err)
	}
	access, err := accesslog.Open(ctx, js, cfg.Replicas, logger)
	if err != nil {
		return nil, fmt.Errorf("open access log: %w", err)
	}
	spec := openapi.NewSpec()
	a.host = servicehost.New(servicehost.Config{Addr: cfg.Addr, Title: "Carelog API", Version: cfg.Version, ShutdownTimeout: cfg.ShutdownTimeout, AccessLog: access},
		logger, a.nc, a.events, a.tokens, spec)
	if cfg.PostgresURL != "" {
		a.pg, err = pgxpool.New(ctx, cfg.PostgresURL)
		if err != nil {
			return nil, fmt.Errorf("postgres: %w", err)
		}
		if err := a.pg.Ping(ctx); err != nil {
			return nil, fmt.Errorf("postgres: %w", err)
		}
		a.host.AddCheck(servicehost.Check{Name: "postgres", Fn: a.pg.Ping})
	}
	services, err := a.buildServices(spec, access)
	if err != nil {
		return nil, err
	}
	if err := a.host.Mount(services...); err != nil {
		return nil, err
	}
	if err := a.host.Listen(); err != nil {
		return nil, err
	}
	return a, nil
}

// Dial connects to an external NATS server, with a token when given.
func Dial(url, token string) (*nats.Conn, error) {
	opts := []nats.Option{nats.Name("carelog"), nats.MaxReconnects(-1)}
	if token != "" {
		opts = append(opts, nats.Token(token))
	}
	return nats.Connect(url, opts...)
}

func (a *App) buildServices(spec *openapi.Spec, access *accesslog.Recorder) ([]servicehost.Service, error) {
	cons, err := consent.New(consent.Config{}, consent.Deps{Log: a.events, Logger: a.log, Spec: spec, Now: time.Now})
	if err != nil {
		return nil, err
	}
	plans, err := careplan.New(careplan.Config{}, careplan.Deps{Log: a.events, Logger: a.log, Spec: spec, Now: time.Now})
	if err != nil {
		return nil, err
	}
	activity, err := activitylog.New(activitylog.Config{}, activitylog.Deps{Log: a.events, Logger: a.log, Spec: spec, Now: time.Now})
	if err != nil {
		return nil, err
	}
	bill, err := billing.New(billing.Config{PostgresURL: a.cfg.PostgresURL}, billing.Deps{Log: a.events, Logger: a.log, Spec: spec, Now: time.Now})
	if err != nil {
		return nil, err
	}
	aud, err := audit.New(audit.Config{}, audit.Deps{Log: a.events, Logger: a.log, Spec: spec, Now: time.Now, Access: access})
	if err != nil {
		return nil, err
	}
	return []servicehost.Service{cons, plans, activity, bill, aud}, nil
}

// Addr is the bound HTTP address (useful with port 0).
func (a *App) Addr() string { return a.host.Addr() }

// NATSURL is the embedded server's network URL ("" unless --nats-listen).
func (a *App) NATSURL() string {
	if a.srv == nil {
		return ""
	}
	return a.srv.ClientURL()
}

// Run serves until ctx is done, then shuts down gracefully.
func (a *App) Run(ctx context.Context) error {
	return a.host.Run(ctx, "nats", a.natsMode(), "projections", a.storeMode())
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
		if a.host != nil {
			a.host.Close()
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
