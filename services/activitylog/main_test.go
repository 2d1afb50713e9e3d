package activitylog_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/carelog/carelog/pkg/auth"
	"github.com/carelog/carelog/pkg/eventlog/jetstream"
	"github.com/carelog/carelog/pkg/natsserver"
	"github.com/carelog/carelog/pkg/openapi"
	"github.com/carelog/carelog/pkg/servicehost"
	"github.com/carelog/carelog/services/activitylog"
)

// childEnv, when set to a data directory, makes the test binary run the
// service as a crash-test child (see TestKillDuringBatch).
const childEnv = "CARELOG_ACTIVITYLOG_CHILD_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(childEnv); dir != "" {
		if err := runChild(dir); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// runChild serves the service as the all-in-one does, with an embedded
// JetStream node (SyncAlways) on dir, on a free port it prints as
// "listening http://<addr>", until SIGTERM (or SIGKILL).
func runChild(dir string) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	srv, err := natsserver.Start(natsserver.Config{DataDir: dir})
	if err != nil {
		return err
	}
	defer srv.Shutdown()
	nc, err := srv.Connect()
	if err != nil {
		return err
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
	tokens, err := auth.OpenStore(ctx, js, time.Now, auth.WithStaticAdmin(adminToken))
	if err != nil {
		return err
	}
	defer tokens.Close()
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	spec := openapi.NewSpec()
	h := servicehost.New(servicehost.Config{Addr: "127.0.0.1:0", Title: "crash child"}, logger, nc, log, tokens, spec)
	defer h.Close()
	svc, err := activitylog.New(activitylog.Config{}, activitylog.Deps{Log: log, Logger: logger, Spec: spec, Now: time.Now})
	if err != nil {
		return err
	}
	if err := h.Mount(svc); err != nil {
		return err
	}
	if err := h.Listen(); err != nil {
		return err
	}
	fmt.Printf("listening http://%s\n", h.Addr())
	return h.Run(ctx)
}

// binDir holds the service binary built for the end-to-end tests.
var binDir string

// serviceBinary builds cmd/carelog-activitylog once per test run.
var serviceBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "carelog-activitylog-e2e-")
	if err != nil {
		return "", err
	}
	binDir = dir
	bin := filepath.Join(dir, "carelog-activitylog")
	build := exec.Command("go", "build", "-o", bin, "./cmd/carelog-activitylog")
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})
