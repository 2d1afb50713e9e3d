// Package activitylog is the activity-log service: time entries as audit-grade evidence, their corrections and voids, encounters and external claims (ccm-rules.md §3, §6).
//
// The service exports Config, New, Routes, Run and Close for its own binary
// and the all-in-one (STYLE.md rule 2); everything else lives in internal/.
// Its endpoints arrive with their own issue; until then it mounts none.
package activitylog

import (
	"context"
	"log/slog"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/carelog/carelog/pkg/eventlog"
	"github.com/carelog/carelog/pkg/natsapi"
	"github.com/carelog/carelog/pkg/openapi"
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
}

// Service is the activitylog service.
type Service struct {
	cfg  Config
	deps Deps
}

// New returns the service; it starts nothing.
func New(cfg Config, deps Deps) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Service{cfg: cfg, deps: deps}, nil
}

// Routes mounts the service's endpoints on g (mounted at /v1, behind
// authentication).
func (s *Service) Routes(g *echo.Group) {}

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
