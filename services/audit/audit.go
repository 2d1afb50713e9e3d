// Package audit is the audit service: patient history replay, as-of state, claim-batch verification, tamper evidence and the access log (ccm-rules.md §6).
//
// The service exports Config, New, Routes, Run and Close for its own binary
// and the all-in-one (STYLE.md rule 2); everything else lives in internal/:
// the patient history reader with its hash-chain check (internal/history),
// the bitemporal state fold (internal/state), the audit packet
// (internal/evidence) and the HTTP adapter (internal/httpapi). Claim batch
// verification and point-in-time evaluations come from the billing
// service's audit API (services/billing/audit.go), which replays the log of
// record into fresh projections.
//
// The service keeps no state of its own: every answer is read from the log
// (and the access log) at request time.
package audit

import (
	"context"
	"log/slog"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/carelog/carelog/pkg/accesslog"
	"github.com/carelog/carelog/pkg/eventlog"
	"github.com/carelog/carelog/pkg/natsapi"
	"github.com/carelog/carelog/pkg/openapi"
	"github.com/carelog/carelog/pkg/servicehost"
	"github.com/carelog/carelog/services/audit/internal/httpapi"
)

// Config configures the service.
type Config struct{}

// Validate reports every configuration problem at once.
func (Config) Validate() error { return nil }

// Deps are the service's collaborators, owned by the caller.
type Deps struct {
	Log    eventlog.Log
	Logger *slog.Logger
	Spec   *openapi.Spec
	// Now is the service clock (time.Now in production, pinned in tests).
	Now func() time.Time
	// Access is the access log GET /v1/audit/access-log lists (usually a
	// *accesslog.Recorder); nil answers that route with 503.
	Access httpapi.AccessLog
}

// Service is the audit service.
type Service struct {
	cfg  Config
	deps Deps
}

// New returns the service; it starts nothing.
func New(cfg Config, deps Deps) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	d, err := servicehost.Deps{Log: deps.Log, Logger: deps.Logger, Spec: deps.Spec, Now: deps.Now}.WithDefaults("audit")
	if err != nil {
		return nil, err
	}
	deps.Logger, deps.Now = d.Logger, d.Now
	if r, ok := deps.Access.(*accesslog.Recorder); ok && r == nil {
		deps.Access = nil // a typed nil would pass the handlers' nil check
	}
	return &Service{cfg: cfg, deps: deps}, nil
}

// Routes mounts the service's endpoints on g (mounted at /v1, behind
// authentication).
func (s *Service) Routes(g *echo.Group) {
	h := &httpapi.Handlers{Log: s.deps.Log, Access: s.deps.Access, Now: s.deps.Now}
	h.Mount(g, s.deps.Spec)
}

// Commands lists the NATS command subjects served by the same handlers as
// the HTTP routes (pkg/natsapi).
func (s *Service) Commands() []natsapi.Command { return nil }

// Run runs the service's background work until ctx is done.
func (s *Service) Run(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

// Close releases the service's resources.
func (s *Service) Close() error { return nil }
