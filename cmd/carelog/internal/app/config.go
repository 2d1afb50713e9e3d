package app

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"
)

// Config is the all-in-one server's configuration. Flags fill it, then the
// environment (CARELOG_ADMIN_TOKEN); nothing below main reads either.
type Config struct {
	// Addr is the HTTP listen address.
	Addr string
	// DataDir holds the embedded NATS store (ignored with NATSURL).
	DataDir string
	// NATSURL switches to an external NATS server; "" embeds one.
	NATSURL string
	// NATSToken authenticates to the external NATS server.
	NATSToken string
	// NATSListen exposes the embedded NATS server on this address; clients
	// authenticate with a Carelog token.
	NATSListen string
	// Replicas is the replication factor of the event log stream and the
	// token bucket when Carelog creates them (1 embedded; 3 on a cluster).
	Replicas int
	// PostgresURL switches projections to PostgreSQL; "" keeps them in memory.
	PostgresURL string
	// AdminToken is honoured as an admin bearer token (CARELOG_ADMIN_TOKEN).
	AdminToken string
	// ShutdownTimeout bounds the graceful drain of in-flight requests.
	ShutdownTimeout time.Duration
	// Version is reported in /openapi.json and the startup log.
	Version string
}

// Defaults for Config.
const (
	DefaultAddr    = "127.0.0.1:8080"
	DefaultDataDir = "./carelog-data"
)

// WithDefaults fills unset fields.
func (c Config) WithDefaults() Config {
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = 15 * time.Second
	}
	if c.Version == "" {
		c.Version = "dev"
	}
	return c
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		errs = append(errs, fmt.Errorf("--addr %q: %v", c.Addr, err))
	}
	if c.NATSURL == "" && c.DataDir == "" {
		errs = append(errs, errors.New("--data-dir is required with the embedded NATS server"))
	}
	if c.NATSURL != "" && c.NATSListen != "" {
		errs = append(errs, errors.New("--nats-listen exposes the embedded server and cannot be used with --nats-url"))
	}
	if c.NATSListen != "" {
		if _, _, err := net.SplitHostPort(c.NATSListen); err != nil {
			errs = append(errs, fmt.Errorf("--nats-listen %q: %v", c.NATSListen, err))
		}
	}
	if c.NATSURL != "" {
		if u, err := url.Parse(c.NATSURL); err != nil || u.Host == "" {
			errs = append(errs, fmt.Errorf("--nats-url %q is not a URL like nats://host:4222", c.NATSURL))
		}
	}
	if c.PostgresURL != "" {
		if u, err := url.Parse(c.PostgresURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			errs = append(errs, errors.New("--postgres-url must be a postgres:// URL"))
		}
	}
	if c.Replicas < 0 || c.Replicas > 5 {
		errs = append(errs, errors.New("--replicas must be between 1 and 5"))
	}
	if c.NATSURL == "" && c.Replicas > 1 {
		errs = append(errs, errors.New("--replicas above 1 needs a NATS cluster (--nats-url); the embedded node relies on fsync per write"))
	}
	if c.ShutdownTimeout < 0 {
		errs = append(errs, errors.New("shutdown timeout must not be negative"))
	}
	return errors.Join(errs...)
}
