// Package cli is the carelog command line: serve, token, projections,
// billing, audit, version. Commands parse flags and the environment, then
// call into app and the services (or, for audit, the running API); no
// command holds business rules.
package cli

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

// Env looks up an environment variable (os.Getenv in main, a map in tests).
type Env func(string) string

// Version is set at build time with -ldflags "-X .../cli.Version=...".
var Version = "dev"

// Run executes the command line and returns the process exit code.
func Run(args []string, stdout, stderr io.Writer, env Env) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	root := newRoot(stdout, stderr, env)
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			return 2
		}
		return 1
	}
	return 0
}

type usageError struct{ error }

func newRoot(stdout, stderr io.Writer, env Env) *cobra.Command {
	root := &cobra.Command{
		Use:           "carelog",
		Short:         "Carelog: event-sourced Medicare care-management (CCM) records and billing",
		SilenceUsage:  true,
		SilenceErrors: false,
		Version:       Version,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{err}
	})
	root.AddCommand(newServe(stdout, stderr, env), newToken(stdout, stderr, env),
		newProjections(stdout, stderr, env), newBilling(stdout, stderr, env), newAudit(stdout, stderr, env))
	return root
}

func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(level))); err != nil {
		return nil, usageError{errors.New("--log-level must be debug, info, warn or error")}
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l})), nil
}
