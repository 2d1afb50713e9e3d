package bench_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/carelog/carelog/services/billing/internal/postgres"
	"github.com/carelog/carelog/services/billing/internal/readmodel"
	"github.com/carelog/carelog/services/billing/rules"
)

const (
	upsertRows  = 100_000
	upsertBatch = 5_000
)

// upsertMonths returns upsertRows patient-months with evaluations shaped like
// the engine's: a base line and an add-on with diagnoses and the evidence of
// a dozen time entries, or a not-billable month with its reasons and
// exclusions.
func upsertMonths() []readmodel.PatientMonth {
	pms := make([]readmodel.PatientMonth, upsertRows)
	for i := range pms {
		id := fmt.Sprintf("p-%06d", i)
		ev := rules.Evaluation{
			PatientID: id, Month: "2025-03", Program: rules.ProgramCCM, Pathway: rules.PathwayClinicalStaff,
			CountedMinutes: 10 + i%50, Lines: []rules.Line{}, Reasons: []rules.Reason{}, Flags: []rules.Flag{}, Excluded: []rules.Excluded{},
			RuleSetVersion: rules.RuleSetVersion,
		}
		evidence := []string{"ev-consent-" + id, "ev-plan-" + id, "ev-copy-" + id}
		for j := range 12 {
			evidence = append(evidence, fmt.Sprintf("ev-te-%s-%02d", id, j))
		}
		if i%3 != 0 {
			ev.Status = rules.StatusBillable
			dx := []string{"I50.22", "E11.65", "N18.31"}
			ev.Lines = []rules.Line{
				{Code: "99490", Units: 1, DateOfService: "2025-03-31", PractitionerNPI: "1111111111", Diagnoses: dx, Evidence: evidence},
				{Code: "99439", Units: 1, DateOfService: "2025-03-31", PractitionerNPI: "1111111111", Diagnoses: dx, Evidence: evidence},
			}
		} else {
			ev.Status = rules.StatusNotBillable
			minutes, needed := 10+i%10, 20
			ev.Reasons = []rules.Reason{{Code: rules.ReasonBelowThreshold, Message: "12 of the 20 minutes 99490 needs", Minutes: &minutes, Needed: &needed}}
			ev.Excluded = []rules.Excluded{{EntryID: "te-" + id, Minutes: 5, Code: rules.ExcludedNonClinicalStaff}}
		}
		pms[i] = readmodel.PatientMonth{PatientID: id, Month: "2025-03", Evaluation: ev, AsOfSequence: uint64(i + 1)}
	}
	return pms
}

// rawPatientMonths is the store's patient_months table without the store:
// same columns, key and index, in the default schema.
const rawPatientMonths = `CREATE TABLE raw_patient_months (
    patient_id text COLLATE "C" NOT NULL, month text COLLATE "C" NOT NULL,
    status text NOT NULL, program text NOT NULL, pathway text NOT NULL, counted_minutes integer NOT NULL,
    reasons text[] NOT NULL, batch_id text COLLATE "C", as_of_sequence bigint NOT NULL,
    evaluation jsonb NOT NULL, billed_evaluation jsonb,
    PRIMARY KEY (month, patient_id));
CREATE INDEX raw_patient_months_month_status ON raw_patient_months (month, status)`

// BenchmarkUpsert writes 100,000 patient-months in commits of 5,000 rows into
// an empty table. impl=carelog is postgres.Store.Commit: JSON encoding,
// dedupe, the checkpoint update and the delete of the rows' keys in one
// pipelined round trip, a binary COPY, one transaction per commit. impl=raw
// is pgx CopyFrom of the same rows, encoded in advance (untimed), into an
// equivalent table (same columns, key and index): no encoding, no
// checkpoint, no delete. events/s is rows per second.
func BenchmarkUpsert(b *testing.B) {
	pms := upsertMonths()
	b.Run("impl=carelog", func(b *testing.B) {
		ctx := context.Background()
		s, err := postgres.Open(ctx, postgresServer(b).NewDatabase(b))
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		runRows(b, upsertRows, func() error { return s.Reset(ctx) }, func() error {
			for i := 0; i < len(pms); i += upsertBatch {
				c := readmodel.Changes{PatientMonths: pms[i : i+upsertBatch]}
				if err := s.Commit(ctx, c, uint64(i+upsertBatch)); err != nil {
					return err
				}
			}
			return nil
		})
	})
	b.Run("impl=raw", func(b *testing.B) {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, postgresServer(b).NewDatabase(b))
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, rawPatientMonths); err != nil {
			b.Fatal(err)
		}
		// The same rows as the store writes, encoded before the clock
		// starts: raw measures pgx and PostgreSQL alone.
		rows := make([][]any, len(pms))
		for i, pm := range pms {
			eval, err := json.Marshal(pm.Evaluation)
			if err != nil {
				b.Fatal(err)
			}
			reasons := make([]string, len(pm.Evaluation.Reasons))
			for k, r := range pm.Evaluation.Reasons {
				reasons[k] = string(r.Code)
			}
			ev := pm.Evaluation
			rows[i] = []any{pm.PatientID, pm.Month, string(ev.Status), string(ev.Program), string(ev.Pathway), ev.CountedMinutes,
				reasons, nil, int64(pm.AsOfSequence), eval, nil}
		}
		cols := []string{"patient_id", "month", "status", "program", "pathway", "counted_minutes", "reasons", "batch_id", "as_of_sequence", "evaluation", "billed_evaluation"}
		runRows(b, upsertRows, func() error {
			_, err := conn.Exec(ctx, "TRUNCATE raw_patient_months")
			return err
		}, func() error {
			for i := 0; i < len(rows); i += upsertBatch {
				if _, err := conn.CopyFrom(ctx, pgx.Identifier{"raw_patient_months"}, cols, pgx.CopyFromRows(rows[i:i+upsertBatch])); err != nil {
					return err
				}
			}
			return nil
		})
	})
}

// runRows times b.N runs of op, each after an untimed reset, and reports
// rows per op as events/s.
func runRows(b *testing.B, rows int, reset, op func() error) {
	b.Helper()
	var elapsed time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		if err := reset(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		if err := op(); err != nil {
			b.Fatal(err)
		}
		elapsed += time.Since(start)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N*rows)/elapsed.Seconds(), "events/s")
}
