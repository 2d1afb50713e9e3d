package postgres_test

import (
	"context"
	"errors"
	"fmt"
	neturl "net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/carelog/carelog/pkg/errs"
	"github.com/carelog/carelog/pkg/testenv"
	"github.com/carelog/carelog/services/billing/internal/postgres"
	"github.com/carelog/carelog/services/billing/internal/readmodel"
	"github.com/carelog/carelog/services/billing/internal/readmodel/storetest"
	"github.com/carelog/carelog/services/billing/rules"
)

// pg serves every test in this package; each test takes its own database.
var pg *testenv.Postgres

func TestMain(m *testing.M) {
	if url := os.Getenv(crashChildEnv); url != "" {
		// Re-executed by TestCrashMidProjectionIsExactlyOnce.
		os.Exit(runCrashChild(url))
	}
	var err error
	pg, err = testenv.StartPostgres()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	if err := pg.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = max(code, 1)
	}
	os.Exit(code)
}

// open returns a store on a new database, closed at the end of the test.
func open(t *testing.T) *postgres.Store {
	t.Helper()
	return openURL(t, pg.NewDatabase(t))
}

func openURL(t *testing.T, url string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), url)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) readmodel.Store { return open(t) })
}

// TestStoreEveryWriteCopied and TestStoreNoWriteCopied run the suite with
// each write path alone: COPY for every table with a row (binary tuples
// encoded by the store, through pgx for batches), and pipelined single-row
// upserts for every commit however large.
func TestStoreEveryWriteCopied(t *testing.T) {
	storetest.Run(t, func(t *testing.T) readmodel.Store {
		s := open(t)
		postgres.SetCopyThreshold(s, 1)
		return s
	})
}

func TestStoreNoWriteCopied(t *testing.T) {
	storetest.Run(t, func(t *testing.T) readmodel.Store {
		s := open(t)
		postgres.SetCopyThreshold(s, 1<<30)
		return s
	})
}

// TestStoreUnderICUCollation runs the suite on databases whose default
// collation is ICU en-US (where "p-10" < "p-9" and "a" < "B"), as a
// production database may be: the orders must still be byte order.
func TestStoreUnderICUCollation(t *testing.T) {
	storetest.Run(t, func(t *testing.T) readmodel.Store { return openURL(t, icuDatabase(t)) })
}

// icuDatabase creates an empty database with the ICU en-US collation,
// dropped at the end of the test (testenv's cleanup of the name it chose).
func icuDatabase(t *testing.T) string {
	t.Helper()
	dbURL := pg.NewDatabase(t)
	u, err := neturl.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	name := pgx.Identifier{strings.TrimPrefix(u.Path, "/")}.Sanitize()
	execSQL(t, pg.URL(), "DROP DATABASE "+name)
	conn, err := pgx.Connect(context.Background(), pg.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), "CREATE DATABASE "+name+" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US'"); err != nil {
		t.Fatalf("create an ICU database (Debian's PostgreSQL is built with ICU, as CI installs it): %v", err)
	}
	return dbURL
}

func TestOpenMigratesOnceUnderConcurrency(t *testing.T) {
	t.Parallel()
	url := pg.NewDatabase(t)
	var wg sync.WaitGroup
	errc := make(chan error, 6)
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := postgres.Open(context.Background(), url)
			if err == nil {
				s.Close()
			}
			errc <- err
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Errorf("concurrent Open: %v", err)
		}
	}
	var versions, checkpoints int
	query(t, url, "SELECT count(*) FROM billing.schema_migrations", &versions)
	query(t, url, "SELECT count(*) FROM billing.billing_checkpoint", &checkpoints)
	if want := postgres.Migrations(); versions != want || checkpoints != 1 {
		t.Errorf("after 6 concurrent Opens: %d migrations recorded, %d checkpoint rows; want %d and 1", versions, checkpoints, want)
	}
}

func TestReopenKeepsRowsAndCheckpoint(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pg.NewDatabase(t)
	s := openURL(t, url)
	pm := readmodel.PatientMonth{PatientID: "p-1", Month: "2025-03", Evaluation: evaluation("p-1", "2025-03", 25), AsOfSequence: 7}
	if err := s.Commit(ctx, readmodel.Changes{PatientMonths: []readmodel.PatientMonth{pm}}, 7); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openURL(t, url)
	if cp, err := s.Checkpoint(ctx); cp != 7 || err != nil {
		t.Errorf("Checkpoint after reopen = %d, %v; want 7", cp, err)
	}
	if got, ok, err := s.PatientMonth(ctx, "p-1", "2025-03"); !ok || err != nil || got.Evaluation.CountedMinutes != 25 {
		t.Errorf("PatientMonth after reopen = %+v, %v, %v", got, ok, err)
	}
}

func TestOpenRefusesANewerSchema(t *testing.T) {
	t.Parallel()
	url := pg.NewDatabase(t)
	openURL(t, url).Close()
	execSQL(t, url, "INSERT INTO billing.schema_migrations (version, name) VALUES (999, '0999_future')")
	s, err := postgres.Open(context.Background(), url)
	if err == nil {
		s.Close()
		t.Fatal("Open on a schema from a newer release succeeded, want an error")
	}
	if !strings.Contains(err.Error(), "newer") {
		t.Errorf("Open error = %v, want it to say the schema is newer", err)
	}
}

func TestOpenBadURL(t *testing.T) {
	t.Parallel()
	_, err := postgres.Open(context.Background(), "postgres://%zz")
	if !errors.Is(err, errs.ErrInvalid) {
		t.Errorf("Open(bad url) = %v, want invalid", err)
	}
}

// TestFailedCommitLeavesNothing: a commit the server refuses (PostgreSQL
// text cannot hold NUL) changes neither rows nor checkpoint, and is
// reported as internal (not worth a retry).
func TestFailedCommitLeavesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := open(t)
	for _, n := range []int{1, 500} { // pipelined and COPY paths
		var c readmodel.Changes
		for i := range n {
			c.PatientMonths = append(c.PatientMonths, readmodel.PatientMonth{PatientID: fmt.Sprintf("p-%d", i), Month: "2025-03", Evaluation: evaluation("p", "2025-03", 1)})
		}
		c.Patients = []readmodel.Patient{{PatientID: "p-\x00"}}
		err := s.Commit(ctx, c, 5)
		if err == nil || errs.KindOf(err) != errs.Internal {
			t.Errorf("Commit with NUL (%d rows) = %v, want an internal error", n, err)
		}
		if cp, _ := s.Checkpoint(ctx); cp != 0 {
			t.Errorf("Checkpoint after a failed commit = %d, want 0", cp)
		}
		if pms, _ := s.Month(ctx, "2025-03"); len(pms) != 0 {
			t.Errorf("failed commit left %d patient-months", len(pms))
		}
	}
}

// TestConcurrentWritersApplyEachSequenceOnce: two stores on one database
// (two processes) commit the same sequences concurrently; each sequence is
// applied by exactly one of them, whole.
func TestConcurrentWritersApplyEachSequenceOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pg.NewDatabase(t)
	stores := []*postgres.Store{openURL(t, url), openURL(t, url)}
	const rows = 100
	for seq := uint64(1); seq <= 15; seq++ {
		var wg sync.WaitGroup
		for w, s := range stores {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var c readmodel.Changes
				for i := range rows {
					c.Totals = append(c.Totals, readmodel.MinuteTotal{PatientID: fmt.Sprintf("p-%03d", i), Month: "2025-03", Program: "ccm", Role: "rn", Minutes: int(seq), Counted: w})
				}
				if err := s.Commit(ctx, c, seq); err != nil {
					t.Errorf("writer %d, seq %d: %v", w, seq, err)
				}
			}()
		}
		wg.Wait()
		ts, err := stores[0].Totals(ctx, "2025-03")
		if err != nil || len(ts) != rows {
			t.Fatalf("Totals = %d rows, %v", len(ts), err)
		}
		for _, tt := range ts {
			if tt.Minutes != int(seq) || tt.Counted != ts[0].Counted {
				t.Fatalf("seq %d: rows from both writers or an old sequence: %+v and %+v", seq, ts[0], tt)
			}
		}
	}
}

func evaluation(patientID, month string, minutes int) rules.Evaluation {
	return rules.Evaluation{
		PatientID: patientID, Month: month, Status: rules.StatusBillable, Program: rules.ProgramCCM, Pathway: rules.PathwayClinicalStaff,
		CountedMinutes: minutes, Lines: []rules.Line{{Code: "99490", Units: 1, DateOfService: month + "-28", PractitionerNPI: "1111111111", Diagnoses: []string{"I10"}, Evidence: []string{"ev-1"}}},
		Reasons: []rules.Reason{}, Flags: []rules.Flag{}, Excluded: []rules.Excluded{}, RuleSetVersion: rules.RuleSetVersion,
	}
}

func execSQL(t *testing.T, url, sql string) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func query(t *testing.T, url, sql string, dst any) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if err := conn.QueryRow(context.Background(), sql).Scan(dst); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// TestSQLColumnsMirrorTheEvaluation: the columns copied out of the
// evaluation for SQL readers (reads return the evaluation itself) hold its
// values on both write paths, and a count beyond integer fails the commit.
func TestSQLColumnsMirrorTheEvaluation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reasons := func(codes ...rules.ReasonCode) []rules.Reason {
		out := []rules.Reason{}
		for _, c := range codes {
			out = append(out, rules.Reason{Code: c, Message: string(c)})
		}
		return out
	}
	for _, tc := range []struct {
		name      string
		threshold int
	}{{"copied", 1}, {"upserted", 1 << 30}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			url := pg.NewDatabase(t)
			s := openURL(t, url)
			postgres.SetCopyThreshold(s, tc.threshold)
			billed := evaluation("p-2", "2025-03", 45)
			rows := []readmodel.PatientMonth{
				{PatientID: "p-1", Month: "2025-03", Evaluation: evaluation("p-1", "2025-03", 0), AsOfSequence: 7},
				{PatientID: "p-2", Month: "2025-03", Evaluation: evaluation("p-2", "2025-03", 45), AsOfSequence: 9, BatchID: "b-1", BilledEvaluation: &billed},
				{PatientID: "p-3", Month: "2025-03", Evaluation: evaluation("p-3", "2025-03", 12), AsOfSequence: 8},
			}
			rows[0].Evaluation.Status, rows[0].Evaluation.Reasons = rules.StatusNotBillable, reasons("no_consent")
			rows[2].Evaluation.Status, rows[2].Evaluation.Pathway = rules.StatusHold, rules.PathwayPractitioner
			rows[2].Evaluation.Reasons = reasons("below_threshold", "minutes_excluded_before_consent", "care_plan_copy_missing")
			if err := s.Commit(ctx, readmodel.Changes{PatientMonths: rows}, 10); err != nil {
				t.Fatalf("Commit: %v", err)
			}
			var got []string
			query(t, url, `SELECT array_agg(concat_ws('|', patient_id, month, status, program, pathway, counted_minutes, array_to_string(reasons, ','),
				coalesce(batch_id, 'NULL'), as_of_sequence, billed_evaluation IS NULL) ORDER BY patient_id) FROM billing.patient_months`, &got)
			want := []string{
				"p-1|2025-03|not_billable|ccm|clinical_staff|0|no_consent|NULL|7|t",
				"p-2|2025-03|billable|ccm|clinical_staff|45||b-1|9|f",
				"p-3|2025-03|hold|ccm|practitioner|12|below_threshold,minutes_excluded_before_consent,care_plan_copy_missing|NULL|8|t",
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("SQL columns:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			var n int
			query(t, url, `SELECT count(*) FROM billing.patient_months WHERE reasons = '{}'::text[] AND cardinality(reasons) = 0`, &n)
			if n != 1 {
				t.Fatalf("%d rows with an empty reasons array, want 1 (p-2)", n)
			}
			huge := rows[0]
			huge.PatientID, huge.Evaluation.CountedMinutes = "p-4", 1<<40
			if err := s.Commit(ctx, readmodel.Changes{PatientMonths: []readmodel.PatientMonth{huge}}, 11); errs.KindOf(err) != errs.Internal {
				t.Fatalf("Commit of %d counted minutes = %v, want an internal error", huge.Evaluation.CountedMinutes, err)
			}
		})
	}
}
