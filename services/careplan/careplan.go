// Package careplan is the care-plan service: comprehensive and disease-specific care plans, their revisions, copies given to the patient, and the month's medical decision making (ccm-rules.md §5, T11).
//
// The service exports Config, New, Routes, Commands, Run and Close for its
// own binary and the all-in-one (STYLE.md rule 2); everything else lives in
// internal/, except package plan, the care plan as other services read it.
//
// Endpoints (api/contract.md, Clinical facts), under /v1:
//
//	POST /patients/{id}/care-plans                      clinician, admin
//	POST /patients/{id}/care-plans/{planId}/revisions   clinician, admin
//	POST /patients/{id}/care-plans/{planId}/copies      clinician, admin
//	POST /patients/{id}/complexity                      clinician, admin
//	GET  /patients/{id}/care-plans/{planId}             clinician, biller, auditor, admin
//
// and the NATS commands carelog.cmd.care-plans.{establish,revise,copy} and
// carelog.cmd.complexity.record for the four writes. Every write appends one
// event to the patient's stream through the command executor: per-patient
// optimistic concurrency with bounded retries, idempotent by event id.
package careplan

import (
	"context"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/carelog/carelog/pkg/command"
	"github.com/carelog/carelog/pkg/natsapi"
	"github.com/carelog/carelog/pkg/servicehost"
	"github.com/carelog/carelog/services/careplan/internal/domain"
	"github.com/carelog/carelog/services/careplan/internal/httpapi"
)

// DefaultCachedStreams is the default of Config.CachedStreams.
const DefaultCachedStreams = 10000

// Config configures the service. The zero value is valid and takes the
// defaults.
type Config struct {
	// CachedStreams bounds how many patients' folded states the command
	// executor keeps in memory (LRU); 0 means DefaultCachedStreams.
	CachedStreams int
}

// Validate reports every configuration problem at once.
func (c Config) Validate() error {
	var problems []error
	if c.CachedStreams < 0 {
		problems = append(problems, errors.New("careplan: CachedStreams must not be negative"))
	}
	return errors.Join(problems...)
}

// Deps are the service's collaborators (servicehost.Deps).
type Deps = servicehost.Deps

// Service is the careplan service.
type Service struct {
	cfg      Config
	deps     Deps
	handlers *httpapi.Handlers
}

// New returns the service; it starts nothing. Log and Spec are required;
// a nil Logger is slog.Default and a nil Now is time.Now.
func New(cfg Config, deps Deps) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	deps, err := deps.WithDefaults("careplan")
	if err != nil {
		return nil, err
	}
	if cfg.CachedStreams == 0 {
		cfg.CachedStreams = DefaultCachedStreams
	}
	exec := command.New(deps.Log, domain.Initial, domain.Evolve, cfg.CachedStreams)
	return &Service{cfg: cfg, deps: deps, handlers: httpapi.New(exec, deps.Now)}, nil
}

// Routes mounts the service's endpoints on g (mounted at /v1, behind
// authentication) and describes them in Deps.Spec.
func (s *Service) Routes(g *echo.Group) { s.handlers.Register(g, s.deps.Spec) }

// The API prefix Routes is mounted under; NATS commands name full paths.
const apiPrefix = "/v1"

// Commands lists the NATS command subjects served by the same handlers as
// the HTTP routes (pkg/natsapi). Path parameters travel as headers
// Carelog-Param-Id and Carelog-Param-PlanId (NATS header names are
// case-sensitive), the token as Authorization, and Idempotency-Key as over
// HTTP.
func (s *Service) Commands() []natsapi.Command {
	return []natsapi.Command{
		{Subject: "carelog.cmd.care-plans.establish", Method: http.MethodPost, Path: apiPrefix + httpapi.PathCarePlans},
		{Subject: "carelog.cmd.care-plans.revise", Method: http.MethodPost, Path: apiPrefix + httpapi.PathRevisions},
		{Subject: "carelog.cmd.care-plans.copy", Method: http.MethodPost, Path: apiPrefix + httpapi.PathCopies},
		{Subject: "carelog.cmd.complexity.record", Method: http.MethodPost, Path: apiPrefix + httpapi.PathComplexity},
	}
}

// Run runs the service's background work until ctx is done. The service has
// none: its state is folded on demand by the command executor.
func (s *Service) Run(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

// Close releases the service's resources; it holds none of its own.
func (s *Service) Close() error { return nil }
