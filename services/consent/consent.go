// Package consent is the consent service: practice settings, practitioners, patients, their chronic conditions, and CCM/PCM consent with its revocation (ccm-rules.md §4.1).
//
// The service exports Config, New, Routes, Commands, Run and Close for its
// own binary and the all-in-one (STYLE.md rule 2); everything else lives in
// internal/: the pure rules in internal/domain, the HTTP handlers in
// internal/httpapi, the patient summary projection in internal/readmodel.
//
// Writes go through pkg/command, one executor for the practice stream and
// one for patient streams: each command loads and folds its stream, decides,
// and appends guarded by the stream's revision, retrying a bounded number
// of times on a concurrent write. Reads come from an in-memory projection
// that Run rebuilds from the log on every start.
package consent

import (
	"context"
	"errors"

	"github.com/labstack/echo/v4"

	"github.com/carelog/carelog/pkg/command"
	"github.com/carelog/carelog/pkg/natsapi"
	"github.com/carelog/carelog/pkg/projection"
	"github.com/carelog/carelog/pkg/servicehost"
	"github.com/carelog/carelog/services/consent/internal/domain"
	"github.com/carelog/carelog/services/consent/internal/httpapi"
	"github.com/carelog/carelog/services/consent/internal/readmodel"
)

// Config configures the service.
type Config struct {
	// CachedPatients bounds the patient stream states kept in memory by the
	// write side (default 10000).
	CachedPatients int
}

// Validate reports every configuration problem at once.
func (c Config) Validate() error {
	if c.CachedPatients < 0 {
		return errors.New("consent: CachedPatients must not be negative")
	}
	return nil
}

// Deps are the service's collaborators (servicehost.Deps).
type Deps = servicehost.Deps

// Service is the consent service.
type Service struct {
	cfg      Config
	deps     Deps
	store    *readmodel.Store
	runner   *projection.Runner
	handlers *httpapi.Handlers
}

// New returns the service; it starts nothing. Log and Spec are required;
// Logger defaults to slog.Default and Now to time.Now.
func New(cfg Config, deps Deps) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	deps, err := deps.WithDefaults("consent")
	if err != nil {
		return nil, err
	}
	if cfg.CachedPatients == 0 {
		cfg.CachedPatients = 10000
	}
	store := readmodel.New()
	runner := projection.NewRunner(deps.Log, store)
	s := &Service{cfg: cfg, deps: deps, store: store, runner: runner}
	s.handlers = &httpapi.Handlers{
		Practice: command.New(deps.Log, func() domain.Practice { return domain.Practice{} }, domain.EvolvePractice, 1),
		Patients: command.New(deps.Log, func() domain.Patient { return domain.Patient{} }, domain.EvolvePatient, cfg.CachedPatients),
		Store:    store,
		Runner:   runner,
		Now:      deps.Now,
	}
	return s, nil
}

// Routes mounts the service's endpoints on g (mounted at /v1, behind
// authentication), registering each in Deps.Spec.
func (s *Service) Routes(g *echo.Group) { s.handlers.Mount(g, s.deps.Spec) }

// Commands lists the NATS command subjects served by the same handlers as
// the HTTP routes (pkg/natsapi): carelog.cmd.practice.configure,
// practitioners.register, patients.enroll, conditions.record,
// consents.record and consents.revoke.
func (s *Service) Commands() []natsapi.Command { return httpapi.Commands() }

// Run rebuilds the read model from the log and keeps it current until ctx
// is done (nil) or the projection fails (an errs.Unavailable error; reads
// then answer 503).
func (s *Service) Run(ctx context.Context) error {
	s.deps.Logger.Info("read model rebuilding from the log", "projection", readmodel.Name)
	err := s.runner.Run(ctx)
	if err != nil {
		s.deps.Logger.Error("consent read model stopped", "projection", readmodel.Name, "err", err)
	}
	return err
}

// Ready reports whether the read model has applied every event in the log
// at the time of the call, waiting at most until ctx is done (for /readyz:
// servicehost.Check{Name: "consent", Fn: svc.Ready}).
func (s *Service) Ready(ctx context.Context) error { return s.runner.CaughtUp(ctx) }

// Close releases the service's resources. The service holds none beyond
// what Run stops with its context.
func (s *Service) Close() error { return nil }
