package servicehost

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os/signal"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/carelog/carelog/pkg/accesslog"
	"github.com/carelog/carelog/pkg/auth"
	"github.com/carelog/carelog/pkg/eventlog"
	"github.com/carelog/carelog/pkg/eventlog/jetstream"
	"github.com/carelog/carelog/pkg/openapi"
)

// Deps are a service's collaborators, owned by the caller; every service's
// Deps is this type (or embeds its fields), and Main hands it to build.
type Deps struct {
	Log    eventlog.Log
	Logger *slog.Logger
	Spec   *openapi.Spec
	// Now is the service clock (time.Now in production, pinned in tests).
	Now func() time.Time
	// Access is the access log (optional): the audit service lists it.
	Access *accesslog.Recorder
}

// WithDefaults reports every missing required dependency (Log, Spec) at
// once, naming the service, and fills the optional ones: Logger defaults to
// slog.Default and Now to time.Now.
func (d Deps) WithDefaults(service string) (Deps, error) {
	var missing []error
	if d.Log == nil {
		missing = append(missing, fmt.Errorf("%s: Deps.Log is required", service))
	}
	if d.Spec == nil {
		missing = append(missing, fmt.Errorf("%s: Deps.Spec is required", service))
	}
	if err := errors.Join(missing...); err != nil {
		return d, err
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return d, nil
}

// Main is the body of a service's own binary (services/<name>/cmd/...): it
// runs one service against an external NATS server, with the same HTTP
// conventions, authentication and NATS commands as the all-in-one binary.
// args are the command-line arguments without the program name; getenv
// reads CARELOG_NATS_TOKEN and CARELOG_ADMIN_TOKEN. It returns the exit
// code.
func Main(name string, args []string, stderr io.Writer, getenv func(string) string, build func(Deps) (Service, error)) int {
	fs := flag.NewFlagSet("carelog-"+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "HTTP listen address")
	natsURL := fs.String("nats-url", "", "NATS server holding the Carelog event log (required)")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*level)); err != nil || *natsURL == "" {
		fmt.Fprintln(stderr, "carelog-"+name+": --nats-url is required and --log-level must be debug, info, warn or error")
		return 2
	}
	logger := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: lvl})).With("service", name)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, name, *addr, *natsURL, getenv, logger, build); err != nil {
		logger.Error("carelog-"+name+" failed", "err", err)
		return 1
	}
	return 0
}

func run(ctx context.Context, name, addr, natsURL string, getenv func(string) string, logger *slog.Logger, build func(Deps) (Service, error)) error {
	opts := []nats.Option{nats.Name("carelog-" + name), nats.MaxReconnects(-1)}
	if t := getenv("CARELOG_NATS_TOKEN"); t != "" {
		opts = append(opts, nats.Token(t))
	}
	nc, err := nats.Connect(natsURL, opts...)
	if err != nil {
		return fmt.Errorf("connect to NATS: %w", err)
	}
	defer nc.Close()
	log, err := jetstream.Open(ctx, nc, jetstream.Config{})
	if err != nil {
		return err
	}
	js, err := natsjs.New(nc)
	if err != nil {
		return err
	}
	tokens, err := auth.OpenStore(ctx, js, time.Now, auth.WithStaticAdmin(getenv("CARELOG_ADMIN_TOKEN")))
	if err != nil {
		return err
	}
	defer tokens.Close()
	access, err := accesslog.Open(ctx, js, 0, logger)
	if err != nil {
		return err
	}
	spec := openapi.NewSpec()
	h := New(Config{Addr: addr, Title: "Carelog " + name + " API", AccessLog: access}, logger, nc, log, tokens, spec)
	defer h.Close()
	svc, err := build(Deps{Log: log, Logger: logger, Spec: spec, Now: time.Now, Access: access})
	if err != nil {
		return err
	}
	if err := h.Mount(svc); err != nil {
		return err
	}
	if err := h.Listen(); err != nil {
		return err
	}
	return h.Run(ctx, "nats", "external")
}
