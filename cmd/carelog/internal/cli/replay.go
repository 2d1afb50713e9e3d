package cli

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/spf13/cobra"

	"github.com/carelog/carelog/cmd/carelog/internal/app"
	"github.com/carelog/carelog/pkg/eventlog/jetstream"
	"github.com/carelog/carelog/services/billing"
)

type logFlags struct{ dataDir, natsURL string }

func (f *logFlags) add(cmd *cobra.Command) {
	cmd.PersistentFlags().StringVar(&f.dataDir, "data-dir", app.DefaultDataDir, "data directory of a stopped embedded server")
	cmd.PersistentFlags().StringVar(&f.natsURL, "nats-url", "", "NATS server of a running Carelog (token in CARELOG_NATS_TOKEN)")
}

// replay opens the log and rebuilds the billing read models.
func replay(ctx context.Context, f logFlags, env Env, opts billing.ReplayOptions, fn func(*billing.Replayed) error) error {
	return withNATS(f.dataDir, f.natsURL, env, func(nc *nats.Conn) error {
		log, err := jetstream.Open(ctx, nc, jetstream.Config{})
		if err != nil {
			return err
		}
		r, err := billing.Replay(ctx, log, opts)
		if err != nil {
			return err
		}
		defer r.Close()
		return fn(r)
	})
}

func newProjections(stdout, stderr io.Writer, env Env) *cobra.Command {
	var f logFlags
	cmd := &cobra.Command{Use: "projections", Short: "Rebuild or replay read models from the event log"}
	f.add(cmd)
	var until uint64
	var asOf, pgURL string
	rebuild := &cobra.Command{
		Use:   "rebuild",
		Short: "Rebuild the billing read models from sequence 1, optionally only up to a sequence or a moment",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts := billing.ReplayOptions{UntilSequence: until, PostgresURL: pgURL, Progress: progressBar(stderr)}
			if pgURL == "" {
				opts.PostgresURL = env("CARELOG_POSTGRES_URL")
			}
			if asOf != "" {
				t, err := time.Parse(time.RFC3339, asOf)
				if err != nil {
					return usageError{fmt.Errorf("--as-of must be an RFC 3339 time: %w", err)}
				}
				opts.AsOf = t
			}
			if until != 0 && asOf != "" {
				return usageError{fmt.Errorf("give --until-seq or --as-of, not both")}
			}
			return replay(cmd.Context(), f, env, opts, func(r *billing.Replayed) error {
				where := "memory"
				if opts.PostgresURL != "" {
					where = "PostgreSQL"
				}
				rate := float64(r.Events) / r.Elapsed.Seconds()
				fmt.Fprintf(stdout, "rebuilt billing read models in %s from %d events (through sequence %d) in %s: %.0f events/s\n",
					where, r.Events, r.Last, r.Elapsed.Round(time.Millisecond), rate)
				return nil
			})
		},
	}
	rebuild.Flags().Uint64Var(&until, "until-seq", 0, "stop after this log sequence")
	rebuild.Flags().StringVar(&asOf, "as-of", "", "only events recorded by this RFC 3339 time")
	rebuild.Flags().StringVar(&pgURL, "postgres-url", "", "rebuild the PostgreSQL read models (env CARELOG_POSTGRES_URL); default memory")
	cmd.AddCommand(rebuild)
	return cmd
}

// progressBar draws a one-line progress bar on w.
func progressBar(w io.Writer) func(done, total uint64) {
	start := time.Now()
	return func(done, total uint64) {
		const width = 30
		frac := 1.0
		if total > 0 {
			frac = float64(done) / float64(total)
		}
		n := int(frac * width)
		rate := float64(done) / time.Since(start).Seconds()
		fmt.Fprintf(w, "\r[%s%s] %3.0f%% %d/%d events %.0f/s", strings.Repeat("#", n), strings.Repeat("-", width-n), frac*100, done, total, rate)
		if done >= total {
			fmt.Fprintln(w)
		}
	}
}

func newBilling(stdout, stderr io.Writer, env Env) *cobra.Command {
	var f logFlags
	cmd := &cobra.Command{Use: "billing", Short: "Billing views computed from the event log"}
	f.add(cmd)
	var month, patient string
	evaluate := &cobra.Command{
		Use:   "evaluate",
		Short: "Print the month's evaluations (or one patient's) as a table",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return replay(cmd.Context(), f, env, billing.ReplayOptions{}, func(r *billing.Replayed) error {
				if patient != "" {
					return printEvaluation(cmd.Context(), stdout, r, patient, month)
				}
				return printMonth(cmd.Context(), stdout, r, month)
			})
		},
	}
	evaluate.Flags().StringVar(&month, "month", "", "service month, YYYY-MM")
	evaluate.Flags().StringVar(&patient, "patient", "", "one patient's evaluation in detail")
	evaluate.MarkFlagRequired("month")
	cmd.AddCommand(evaluate)
	return cmd
}

func printMonth(ctx context.Context, w io.Writer, r *billing.Replayed, month string) error {
	s, err := r.MonthSummary(ctx, month)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PATIENT\tSTATUS\tPROGRAM\tPATHWAY\tMINUTES\tLINES\tREASONS")
	for _, p := range s.Patients {
		var lines, reasons []string
		for _, l := range p.Lines {
			lines = append(lines, fmt.Sprintf("%s x%d", l.Code, l.Units))
		}
		for _, c := range p.Reasons {
			reasons = append(reasons, string(c))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", p.PatientID, p.Status, p.Program, p.Pathway, p.CountedMinutes, dash(strings.Join(lines, ", ")), dash(strings.Join(reasons, ", ")))
	}
	tw.Flush()
	statuses := make([]string, 0, len(s.Totals.ByStatus))
	for k, v := range s.Totals.ByStatus {
		statuses = append(statuses, fmt.Sprintf("%s %d", k, v))
	}
	sort.Strings(statuses)
	fmt.Fprintf(w, "\n%s: %d patients (%s), %d counted minutes, expected revenue $%.2f\n",
		month, s.Totals.Patients, strings.Join(statuses, ", "), s.Totals.Minutes, float64(s.Totals.ExpectedRevenueCents)/100)
	return nil
}

func printEvaluation(ctx context.Context, w io.Writer, r *billing.Replayed, patient, month string) error {
	e, ok, err := r.Evaluation(ctx, patient, month)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("no patient %s in the log", patient)
	}
	fmt.Fprintf(w, "%s %s: %s (%s, %s), %d counted minutes\n", patient, month, e.Status, e.Program, e.Pathway, e.CountedMinutes)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if len(e.Lines) > 0 {
		fmt.Fprintln(tw, "\nCODE\tUNITS\tDATE OF SERVICE\tPRACTITIONER\tDIAGNOSES")
		for _, l := range e.Lines {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", l.Code, l.Units, l.DateOfService, l.PractitionerNPI, strings.Join(l.Diagnoses, " "))
		}
	}
	tw.Flush()
	for _, rs := range e.Reasons {
		fmt.Fprintf(w, "reason  %s: %s\n", rs.Code, rs.Message)
	}
	for _, fl := range e.Flags {
		fmt.Fprintf(w, "flag    %s: %s\n", fl.Code, fl.Message)
	}
	for _, x := range e.Excluded {
		fmt.Fprintf(w, "excluded %s: %d min (%s)\n", x.EntryID, x.Minutes, x.Code)
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
