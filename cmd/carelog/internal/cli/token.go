package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"github.com/carelog/carelog/cmd/carelog/internal/app"
	"github.com/carelog/carelog/pkg/auth"
	"github.com/carelog/carelog/pkg/natsserver"
)

func newToken(stdout, stderr io.Writer, env Env) *cobra.Command {
	var dataDir, natsURL string
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Manage API tokens (also available to admins as /v1/tokens)",
	}
	cmd.PersistentFlags().StringVar(&dataDir, "data-dir", app.DefaultDataDir, "data directory of a stopped embedded server")
	cmd.PersistentFlags().StringVar(&natsURL, "nats-url", "", "NATS server of a running Carelog (admin token in CARELOG_NATS_TOKEN)")

	var role, name string
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a token; prints the secret once on stdout",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := auth.ParseRole(role)
			if err != nil {
				return usageError{err}
			}
			return withStore(cmd.Context(), dataDir, natsURL, env, func(st *auth.Store) error {
				tok, err := st.Create(cmd.Context(), r, name)
				if err != nil {
					return err
				}
				fmt.Fprintf(stderr, "created token %s (%s, role %s); the secret below is shown once\n", tok.ID, tok.Name, tok.Role)
				fmt.Fprintln(stdout, tok.Bearer)
				return nil
			})
		},
	}
	create.Flags().StringVar(&role, "role", "", "clinician, biller, auditor or admin")
	create.Flags().StringVar(&name, "name", "", "who or what will use the token (1-64 characters)")
	create.MarkFlagRequired("role")
	create.MarkFlagRequired("name")

	list := &cobra.Command{
		Use:   "list",
		Short: "List tokens (never their secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withStore(cmd.Context(), dataDir, natsURL, env, func(st *auth.Store) error {
				recs, err := st.List(cmd.Context())
				if err != nil {
					return err
				}
				fmt.Fprintf(stdout, "%-26s %-10s %-25s %s\n", "ID", "ROLE", "CREATED", "NAME")
				for _, r := range recs {
					state := ""
					if r.RevokedAt != nil {
						state = " (revoked)"
					}
					fmt.Fprintf(stdout, "%-26s %-10s %-25s %s%s\n", r.ID, r.Role, r.CreatedAt.Format(time.RFC3339), r.Name, state)
				}
				return nil
			})
		},
	}
	cmd.AddCommand(create, list)
	return cmd
}

// withStore opens the token store of a stopped embedded server's data
// directory, or of a running Carelog's NATS server.
func withStore(ctx context.Context, dataDir, natsURL string, env Env, fn func(*auth.Store) error) error {
	return withNATS(dataDir, natsURL, env, func(nc *nats.Conn) error {
		js, err := natsjs.New(nc)
		if err != nil {
			return err
		}
		st, err := auth.OpenStore(ctx, js, time.Now)
		if err != nil {
			return err
		}
		defer st.Close()
		return fn(st)
	})
}

// withNATS connects to a running Carelog's NATS server (natsURL, token in
// CARELOG_NATS_TOKEN), or starts the embedded node on a stopped server's
// data directory.
func withNATS(dataDir, natsURL string, env Env, fn func(*nats.Conn) error) error {
	var nc *nats.Conn
	var err error
	if natsURL != "" {
		opts := []nats.Option{nats.Name("carelog-cli")}
		if t := env("CARELOG_NATS_TOKEN"); t != "" {
			opts = append(opts, nats.Token(t))
		}
		nc, err = nats.Connect(natsURL, opts...)
	} else {
		var srv *natsserver.Server
		srv, err = natsserver.Start(natsserver.Config{DataDir: dataDir})
		if errors.Is(err, natsserver.ErrLocked) {
			return fmt.Errorf("%w: carelog serve is running on %s; use its API, or pass --nats-url of its --nats-listen address", err, dataDir)
		}
		if err != nil {
			return err
		}
		defer srv.Shutdown()
		nc, err = srv.Connect()
	}
	if err != nil {
		return fmt.Errorf("connect to NATS: %w", err)
	}
	defer nc.Close()
	return fn(nc)
}
