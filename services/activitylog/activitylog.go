// Package activitylog is the activity-log service: time entries as audit-grade evidence, their corrections and voids, encounters and external claims (ccm-rules.md §3, §6).
//
// The service exports Config, New, Routes, Commands, Run and Close for its
// own binary and the all-in-one (STYLE.md rule 2); everything else lives in
// internal/: the evidence rules and the patient-stream state in
// internal/domain, the HTTP handlers (also served over NATS, pkg/natsapi)
// in internal/httpapi, the time-entry projection in internal/readmodel.
//
// Time entries, corrections, voids, encounters and external claims are
// events of the patient's stream (events.PatientStream), so one patient's
// history is one subject. Writes go through one pkg/command executor for
// patient streams; a correction or a void is a new event referencing the
// entry, which stays in the log. Reads, the entry-id → patient index (for
// the routes without a patient in the path) and the practice settings this
// service uses (time zone, policy lateEntryDays) come from an in-memory
// projection that Run rebuilds from the log on every start.
package activitylog

import (
	"context"
	"errors"

	// The practice time zone decides the month of an entry; it must not
	// depend on the host's zoneinfo files.
	_ "time/tzdata"

	"github.com/labstack/echo/v4"

	"github.com/carelog/carelog/pkg/command"
	"github.com/carelog/carelog/pkg/natsapi"
	"github.com/carelog/carelog/pkg/projection"
	"github.com/carelog/carelog/pkg/servicehost"
	"github.com/carelog/carelog/services/activitylog/internal/domain"
	"github.com/carelog/carelog/services/activitylog/internal/httpapi"
	"github.com/carelog/carelog/services/activitylog/internal/readmodel"
)

// Config configures the service. The zero value takes every default.
type Config struct {
	// CachedPatients bounds the patient stream states kept in memory by the
	// write side (default 10000).
	CachedPatients int
	// BatchWorkers is how many patients' entries one batch appends
	// concurrently (default 64); each patient's entries go in order.
	BatchWorkers int
	// BatchMaxEntries is the most entries one batch may hold (default and
	// maximum 1000, api/contract.md).
	BatchMaxEntries int
	// BatchBodyLimit is the largest batch request body in bytes (default
	// 8 MiB, the embedded NATS server's largest message).
	BatchBodyLimit int64
	// NotesMinChars is the shortest note accepted (default 10 characters).
	// It is a deployment setting rather than a practice policy: rules.Policy
	// (the practice's policy object) holds the billing ambiguities of
	// ccm-rules.md §8, and the documentation floor is the same for every
	// practice.
	NotesMinChars int
	// NotesMinWords is how many distinct meaningful words notes must hold
	// besides the program, the minutes and contact filler (default 1: the
	// contract refuses notes that only restate the program and the minutes;
	// a deployment may ask for more).
	NotesMinWords int
}

// Defaults.
const (
	defaultCachedPatients = 10000
	defaultBatchWorkers   = 64
	maxBatchEntries       = 1000
	defaultBatchBodyLimit = 8 << 20
)

// Validate reports every configuration problem at once.
func (c Config) Validate() error {
	var problems []error
	if c.CachedPatients < 0 {
		problems = append(problems, errors.New("activitylog: CachedPatients must not be negative"))
	}
	if c.BatchWorkers < 0 || c.BatchWorkers > 1024 {
		problems = append(problems, errors.New("activitylog: BatchWorkers must be between 0 (default) and 1024"))
	}
	if c.BatchMaxEntries < 0 || c.BatchMaxEntries > maxBatchEntries {
		problems = append(problems, errors.New("activitylog: BatchMaxEntries must be between 0 (default) and 1000"))
	}
	if c.BatchBodyLimit < 0 {
		problems = append(problems, errors.New("activitylog: BatchBodyLimit must not be negative"))
	}
	if c.NotesMinChars < 0 || c.NotesMinChars > domain.MaxNotes {
		problems = append(problems, errors.New("activitylog: NotesMinChars must be between 0 (default) and 4000"))
	}
	if c.NotesMinWords < 0 || c.NotesMinWords > 50 {
		problems = append(problems, errors.New("activitylog: NotesMinWords must be between 0 (default) and 50"))
	}
	return errors.Join(problems...)
}

func (c Config) withDefaults() Config {
	def := domain.DefaultRules()
	for _, d := range []struct {
		v   *int
		def int
	}{
		{&c.CachedPatients, defaultCachedPatients}, {&c.BatchWorkers, defaultBatchWorkers},
		{&c.BatchMaxEntries, maxBatchEntries}, {&c.NotesMinChars, def.NotesMinChars}, {&c.NotesMinWords, def.NotesMinWords},
	} {
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if c.BatchBodyLimit == 0 {
		c.BatchBodyLimit = defaultBatchBodyLimit
	}
	return c
}

// Deps are the service's collaborators (servicehost.Deps).
type Deps = servicehost.Deps

// Service is the activitylog service.
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
	deps, err := deps.WithDefaults("activitylog")
	if err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	rules := domain.DefaultRules()
	rules.NotesMinChars, rules.NotesMinWords = cfg.NotesMinChars, cfg.NotesMinWords
	store := readmodel.New()
	runner := projection.NewRunner(deps.Log, store)
	s := &Service{cfg: cfg, deps: deps, store: store, runner: runner}
	s.handlers = &httpapi.Handlers{
		Patients:       command.New(deps.Log, func() domain.Patient { return domain.Patient{} }, domain.Evolve, cfg.CachedPatients),
		Store:          store,
		Runner:         runner,
		Rules:          rules,
		BatchMax:       cfg.BatchMaxEntries,
		BatchWorkers:   cfg.BatchWorkers,
		BatchBodyLimit: cfg.BatchBodyLimit,
		Now:            deps.Now,
	}
	return s, nil
}

// Routes mounts the service's endpoints on g (mounted at /v1, behind
// authentication), registering each in Deps.Spec.
func (s *Service) Routes(g *echo.Group) { s.handlers.Mount(g, s.deps.Spec) }

// Commands lists the NATS command subjects served by the same handlers as
// the HTTP routes (pkg/natsapi): carelog.cmd.time-entries.record, .batch,
// .correct and .void, carelog.cmd.encounters.record and
// carelog.cmd.external-claims.record.
func (s *Service) Commands() []natsapi.Command { return httpapi.Commands() }

// Run rebuilds the read model from the log and keeps it current until ctx
// is done (nil) or the projection fails (an errs.Unavailable error; reads,
// corrections and voids then answer 503).
func (s *Service) Run(ctx context.Context) error {
	s.deps.Logger.Info("activitylog read model rebuilding", "projection", readmodel.Name)
	err := s.runner.Run(ctx)
	if err != nil {
		s.deps.Logger.Error("activitylog read model stopped", "projection", readmodel.Name, "err", err)
	}
	return err
}

// Ready reports whether the read model has applied every event in the log
// at the time of the call, waiting at most until ctx is done (servicehost
// adds it to /readyz).
func (s *Service) Ready(ctx context.Context) error { return s.runner.CaughtUp(ctx) }

// Close releases the service's resources. The service holds none beyond
// what Run stops with its context.
func (s *Service) Close() error { return nil }
