package cli

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/carelog/carelog/cmd/carelog/internal/app"
)

func newServe(stdout, stderr io.Writer, env Env) *cobra.Command {
	var cfg app.Config
	var logLevel string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run every Carelog service in one process (embedded NATS JetStream by default)",
		Long: `Run every Carelog service in one process on one HTTP listener.

By default NATS JetStream runs embedded, storing into --data-dir; no other
service is needed. --nats-url and --postgres-url switch to an external NATS
server and PostgreSQL projections.

Environment: CARELOG_ADMIN_TOKEN is accepted as an admin bearer token; without
it, an admin token is created on first start and printed once on stdout.
CARELOG_NATS_TOKEN authenticates to an external NATS server.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.AdminToken = env("CARELOG_ADMIN_TOKEN")
			if cfg.NATSToken == "" {
				cfg.NATSToken = env("CARELOG_NATS_TOKEN")
			}
			if cfg.PostgresURL == "" {
				cfg.PostgresURL = env("CARELOG_POSTGRES_URL")
			}
			cfg.Version = Version
			logger, err := newLogger(stderr, logLevel)
			if err != nil {
				return err
			}
			a, err := app.New(cmd.Context(), cfg, logger, stdout)
			if err != nil {
				logger.Error("carelog failed to start", "err", err)
				return err
			}
			defer a.Close()
			return a.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Addr, "addr", app.DefaultAddr, "HTTP listen address")
	f.StringVar(&cfg.DataDir, "data-dir", app.DefaultDataDir, "directory of the embedded NATS JetStream store")
	f.StringVar(&cfg.NATSURL, "nats-url", "", "use this external NATS server instead of the embedded one")
	f.StringVar(&cfg.NATSListen, "nats-listen", "", "expose the embedded NATS server on this address (clients authenticate with a Carelog token)")
	f.IntVar(&cfg.Replicas, "replicas", 0, "replicas of the event log stream and token bucket when created (3 on a NATS cluster)")
	f.StringVar(&cfg.PostgresURL, "postgres-url", "", "keep projections in this PostgreSQL database (env CARELOG_POSTGRES_URL) instead of memory")
	f.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", 0, "bound on draining in-flight requests at shutdown (default 15s)")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	return cmd
}
