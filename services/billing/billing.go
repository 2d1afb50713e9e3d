// Package billing is the billing service: the CMS rules engine, monthly projections, patient-month evaluations and claim batches (ccm-rules.md §1, §2, §3).
//
// The service exports Config, New, Routes, Commands, Run and Close for its
// own binary and the all-in-one (STYLE.md rule 2); everything else lives in
// internal/: the facts fold (internal/facts), the projection that evaluates
// patient-months with the rules engine (internal/projection) into a read
// store (internal/memory, or internal/postgres), the evaluation and summary
// endpoints (internal/httpapi) and the claim batches with their exports
// (internal/batches).
//
// Reads come from the projection, which Run keeps current with the log
// (pkg/projection.Runner); every GET first waits until it has applied the
// log as it stood at the request, so a client reads its own writes. With
// the in-memory store (the default) the projection is rebuilt from the log
// at every start; with PostgreSQL it resumes after the store's checkpoint.
package billing

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/carelog/carelog/pkg/eventlog"
	"github.com/carelog/carelog/pkg/natsapi"
	"github.com/carelog/carelog/pkg/openapi"
	pkgprojection "github.com/carelog/carelog/pkg/projection"
	"github.com/carelog/carelog/pkg/servicehost"
	"github.com/carelog/carelog/services/billing/internal/batches"
	"github.com/carelog/carelog/services/billing/internal/httpapi"
	"github.com/carelog/carelog/services/billing/internal/memory"
	"github.com/carelog/carelog/services/billing/internal/postgres"
	"github.com/carelog/carelog/services/billing/internal/projection"
	"github.com/carelog/carelog/services/billing/internal/readmodel"
)

// Config configures the service. The zero value takes every default.
type Config struct {
	// PostgresURL, when set and Deps.Store is nil, keeps the read models in
	// PostgreSQL (internal/postgres, migrated at New); empty keeps them in
	// memory.
	PostgresURL string
	// FlushEvery is how many events the projection buffers before it
	// commits on its own while catching up (default 100,000 into
	// PostgreSQL, none into memory: see internal/projection.Config); it
	// always commits when it reaches the end of the log.
	FlushEvery int
	// EvaluationWorkers is how many goroutines evaluate patient-months
	// (default GOMAXPROCS).
	EvaluationWorkers int
}

// Validate reports every configuration problem at once.
func (c Config) Validate() error {
	var problems []error
	if c.FlushEvery < 0 {
		problems = append(problems, errors.New("billing: FlushEvery must not be negative"))
	}
	if c.EvaluationWorkers < 0 {
		problems = append(problems, errors.New("billing: EvaluationWorkers must not be negative"))
	}
	return errors.Join(problems...)
}

// Deps are the service's collaborators, owned by the caller.
type Deps struct {
	Log    eventlog.Log
	Logger *slog.Logger
	Spec   *openapi.Spec
	// Now is the service clock (time.Now in production, pinned in tests).
	Now func() time.Time
	// Store keeps the read models; nil means a new in-memory store (or
	// PostgreSQL with Config.PostgresURL). A store passed in stays the
	// caller's to close.
	Store readmodel.Store
}

// Service is the billing service.
type Service struct {
	cfg       Config
	deps      Deps
	store     readmodel.Store
	ownsStore bool
	proj      *projection.Projection
	runner    *pkgprojection.Runner
	handlers  *httpapi.Handlers
	closer    *batches.Closer
}

// New returns the service; it starts nothing but, with PostgresURL, opens
// and migrates the database. Log and Spec are required; Logger defaults to
// slog.Default and Now to time.Now.
func New(cfg Config, deps Deps) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	base, err := servicehost.Deps{Log: deps.Log, Logger: deps.Logger, Spec: deps.Spec, Now: deps.Now}.WithDefaults("billing")
	if err != nil {
		return nil, err
	}
	deps.Logger, deps.Now = base.Logger, base.Now
	s := &Service{cfg: cfg, deps: deps, store: deps.Store}
	if s.store == nil {
		if cfg.PostgresURL != "" {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			pg, err := postgres.Open(ctx, cfg.PostgresURL)
			if err != nil {
				return nil, err
			}
			s.store = pg
		} else {
			s.store = memory.New()
		}
		s.ownsStore = true
	}
	s.proj = projection.New(deps.Log, s.store, projection.Config{FlushEvery: cfg.FlushEvery, Workers: cfg.EvaluationWorkers})
	s.runner = pkgprojection.NewRunner(deps.Log, s.proj)
	s.handlers = &httpapi.Handlers{Log: deps.Log, Store: s.store, Runner: s.runner, Projection: s.proj}
	s.closer = &batches.Closer{Log: deps.Log, Store: s.store, Runner: s.runner, Now: deps.Now, Location: s.location}
	return s, nil
}

// location is the practice's time zone once configured (nil before: the
// closer then reads months conservatively).
func (s *Service) location(ctx context.Context) (*time.Location, error) {
	if err := s.runner.CaughtUp(ctx); err != nil {
		return nil, err
	}
	p := s.proj.Practice()
	if p.Timezone == "" {
		return nil, nil
	}
	return p.Location, nil
}

// Routes mounts the service's endpoints on g (mounted at /v1, behind
// authentication), registering each in Deps.Spec: the evaluations, month
// summaries and funnel (internal/httpapi) and the claim batches
// (internal/batches).
func (s *Service) Routes(g *echo.Group) {
	s.handlers.Mount(g, s.deps.Spec)
	batches.Routes(g, s.deps.Spec, s.closer, batches.X12Config{})
}

// Commands lists the NATS command subjects served by the same handlers as
// the HTTP routes (pkg/natsapi): carelog.cmd.claim-batches.close.
func (s *Service) Commands() []natsapi.Command { return batches.Commands() }

// Run keeps the billing projection current with the log until ctx is done
// (nil) or the projection fails (an errs.Unavailable error; reads then
// answer 503).
func (s *Service) Run(ctx context.Context) error {
	s.deps.Logger.Info("read model catching up with the log", "projection", projection.Name)
	err := s.runner.Run(ctx)
	if err != nil {
		s.deps.Logger.Error("billing read model stopped", "projection", projection.Name, "err", err)
	}
	return err
}

// Ready reports whether the projection has applied every event in the log
// at the time of the call, waiting at most until ctx is done (the host adds
// it to /readyz).
func (s *Service) Ready(ctx context.Context) error { return s.runner.CaughtUp(ctx) }

// Close releases the service's resources: the store it opened.
func (s *Service) Close() error {
	if s.ownsStore {
		return s.store.Close()
	}
	return nil
}
