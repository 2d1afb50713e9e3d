package bench_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/eventlog/jetstream"
	"github.com/carelog/carelog/pkg/natsserver"
	pkgprojection "github.com/carelog/carelog/pkg/projection"
	"github.com/carelog/carelog/pkg/testenv"
	"github.com/carelog/carelog/services/billing/internal/memory"
	"github.com/carelog/carelog/services/billing/internal/postgres"
	"github.com/carelog/carelog/services/billing/internal/projection"
	"github.com/carelog/carelog/services/billing/internal/readmodel"
)

// The rebuild benchmark replays one log of rebuildEvents events, written
// once per process, through the billing projection into each store, beside
// the raw engine beneath it in the same run:
//
//   - store=memory: impl=carelog is the projection (fold, rules engine,
//     memory.Store) fed by the jetstream log port (decode, hash-chain
//     verification) through pkg/projection.Runner until caught up; impl=raw
//     is an ordered consumer that only counts the messages.
//   - store=postgres: impl=carelog is the same projection into
//     postgres.Store (reset, untimed, before each run); impl=raw is an
//     ordered consumer whose messages are streamed by one COPY into a table
//     of one row per event (sequence, subject, body as bytea): the least
//     work that moves the log into PostgreSQL.
//
// events/s is log events per second.

const (
	rebuildEvents   = 1_000_000
	rebuildPatients = 100_000
)

var npis = []string{"1234567893", "1245319599", "1306849450"}

// rebuildLog is the benchmark log, populated on first use.
var rebuildLog = &testenv.BenchLog{Name: "billing-rebuild", Populate: populate}

// populate writes rebuildEvents sealed, chained events with catalogue
// payloads: the practice (configuration and three practitioners), then each
// patient's onboarding (patient.enrolled, two condition.recorded,
// consent.granted, careplan.established with every element, an initiating
// office visit, and for nine in ten careplan.copy_provided), then
// activity.time_recorded entries by nurses, medical assistants and the
// practitioners spread over February and March 2025 in time order, for the
// rest of the events. It uses a plain nats-server without SyncAlways and
// async publishes: only the stored log matters, not how fast it was
// written.
func populate(dir string) error {
	n, err := testenv.WriteLog(dir, func(lw *testenv.LogWriter) error {
		return write(&writer{lw: lw, reg: events.DefaultRegistry()})
	})
	if err == nil && n != rebuildEvents {
		err = fmt.Errorf("populate: wrote %d events, want %d", n, rebuildEvents)
	}
	return err
}

func write(w *writer) error {
	rng := rand.New(rand.NewPCG(1, 1))
	t0 := time.Date(2025, time.January, 6, 9, 0, 0, 0, time.UTC)

	w.add(t0, "", events.PracticeStream, events.TypePracticeConfigured, events.PracticeConfigured{
		Name: "Bench Family Medicine", Timezone: "America/New_York", BillingNPI: "1679576722", TaxID: "123456789"})
	for i, npi := range npis {
		w.add(t0, "", events.PracticeStream, events.TypePractitionerRegistered, events.PractitionerRegistered{
			NPI: npi, Name: fmt.Sprintf("Dr Bench %d", i), Kind: "physician", Credential: "MD"})
	}
	disclosures := []string{"availability_and_cost_sharing", "one_practitioner_per_month", "right_to_stop"}
	for i := range rebuildPatients {
		id := fmt.Sprintf("p-%06d", i)
		stream := events.PatientStream(id)
		npi := npis[i%len(npis)]
		at := t0.Add(time.Duration(i) * 20 * time.Second) // onboarding through January
		w.add(at, id, stream, events.TypePatientEnrolled, events.PatientEnrolled{ID: id, MRN: "MRN" + id,
			Name: events.PersonName{Given: "Pat", Family: fmt.Sprintf("Bench%d", i)}, BirthDate: "1948-05-17",
			MBI: "1EG4TE5MK73", BillingPractitionerNPI: npi})
		w.add(at, id, stream, events.TypeConditionRecorded, events.ConditionRecorded{Code: "I50.22", Description: "Chronic systolic heart failure", ExpectedDurationMonths: 60, SignificantRisk: true})
		w.add(at, id, stream, events.TypeConditionRecorded, events.ConditionRecorded{Code: "E11.65", Description: "Type 2 diabetes with hyperglycemia", ExpectedDurationMonths: 60, SignificantRisk: true})
		w.add(at, id, stream, events.TypeEncounterRecorded, events.EncounterRecorded{ID: "v-" + id, Kind: "office_visit", Code: "99214",
			PractitionerNPI: npi, Start: at.Add(-time.Hour), End: ptr(at.Add(-40 * time.Minute)), CCMDiscussed: true})
		w.add(at, id, stream, events.TypeConsentGranted, events.ConsentGranted{ID: "c-" + id, Program: "ccm", PractitionerNPI: npi,
			Method: "verbal", ObtainedAt: at, ObtainedBy: "rn-1", Disclosures: disclosures})
		w.add(at, id, stream, events.TypeCarePlanEstablished, carePlan("cp-"+id, npi, at.Add(time.Hour)))
		if i%10 != 0 {
			w.add(at, id, stream, events.TypeCarePlanCopyProvided, events.CarePlanCopyProvided{PlanID: "cp-" + id, ProvidedAt: at.Add(2 * time.Hour), To: "patient", Method: "portal"})
		}
	}
	// Activity, in time order over February and March.
	entries := rebuildEvents - w.lw.N()
	feb := time.Date(2025, time.February, 1, 13, 0, 0, 0, time.UTC)
	span := time.Date(2025, time.April, 1, 0, 0, 0, 0, time.UTC).Sub(feb)
	roles := []string{"rn", "rn", "rn", "lpn", "ma", "physician"}
	for k := range entries {
		i := rng.IntN(rebuildPatients)
		id := fmt.Sprintf("p-%06d", i)
		// span/entries first: span*k overflows int64 nanoseconds.
		at := feb.Add(span / time.Duration(entries) * time.Duration(k)).Truncate(time.Minute)
		role := roles[rng.IntN(len(roles))]
		staff := events.Staff{ID: role + "-" + strconv.Itoa(rng.IntN(20)), Name: "Staff " + role, Role: role}
		if role == "physician" {
			staff = events.Staff{ID: "dr-" + npis[i%len(npis)], Name: "Dr Bench", Role: role, NPI: npis[i%len(npis)]}
		}
		w.add(at, id, events.PatientStream(id), events.TypeTimeRecorded, events.TimeRecorded{
			ID: fmt.Sprintf("te-%07d", k), PatientID: id, Staff: staff, Programs: []string{"ccm"},
			StartedAt: at, Minutes: 5 + rng.IntN(21), Activity: "medication reconciliation",
			Notes: "Reviewed medication list with the patient by phone; adherence discussed.", Outcome: "completed",
		})
	}
	return w.err
}

func ptr[T any](v T) *T { return &v }

func carePlan(id, npi string, at time.Time) events.CarePlanEstablished {
	return events.CarePlanEstablished{
		ID: id, Kind: "comprehensive", EstablishedAt: at, AuthorNPI: npi, Electronic: true,
		Problems:        []events.CarePlanProblem{{Code: "I50.22", Description: "Chronic systolic heart failure"}, {Code: "E11.65", Description: "Type 2 diabetes"}},
		ExpectedOutcome: "Stable weight, fewer admissions", Prognosis: "Fair",
		Goals:              []events.CarePlanGoal{{ConditionCode: "E11.65", Description: "Glycemic control", Measure: "HbA1c", Target: "< 8.0 %"}},
		SymptomManagement:  "Daily weights; call if gain over 2 lb in a day",
		Interventions:      []events.CarePlanIntervention{{Description: "Weekly call", Responsible: events.ResponsibleParty{Name: "RN", Role: "rn"}, Frequency: "weekly"}},
		Medications:        []events.Medication{{Name: "Metformin", Dose: "500 mg", Frequency: "twice daily"}},
		CommunityResources: []events.CommunityResource{{Name: "Meals on Wheels", Purpose: "nutrition"}},
		Coordination:       []events.CoordinationContact{{Name: "Dr Heart", Role: "cardiology", Purpose: "heart failure follow-up"}},
		ReviewSchedule:     events.ReviewSchedule{IntervalMonths: 12},
	}
}

// writer builds the bench's events and appends them; the first error
// sticks.
type writer struct {
	lw  *testenv.LogWriter
	reg *events.Registry
	err error
}

func (w *writer) add(at time.Time, patientID, stream string, t events.Type, payload any) {
	if w.err != nil {
		return
	}
	e, err := w.reg.New(t, payload)
	if err != nil {
		w.err = err
		return
	}
	e.ID, e.Stream, e.PatientID = fmt.Sprintf("e-%07d", w.lw.N()+1), stream, patientID
	e.OccurredAt, e.RecordedAt = at, at.Add(3*time.Minute)
	e.Actor = events.Actor{ID: "rn-1", Role: "clinician", App: "bench"}
	w.err = w.lw.Append(e)
}

// BenchmarkRebuild: see the comment at the top of this file. One op is one
// full rebuild of rebuildEvents events.
func BenchmarkRebuild(b *testing.B) {
	dir := rebuildLog.Dir(b)
	b.Run("store=memory/impl=carelog", func(b *testing.B) {
		runRebuild(b, dir, func() (readmodel.Store, error) { return memory.New(), nil })
	})
	b.Run("store=memory/impl=raw", func(b *testing.B) {
		runRebuild(b, dir, nil)
	})
	b.Run("store=postgres/impl=carelog", func(b *testing.B) {
		ctx := context.Background()
		s, err := postgres.Open(ctx, postgresServer(b).NewDatabase(b))
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		runRebuild(b, dir, func() (readmodel.Store, error) { return s, s.Reset(ctx) })
	})
	b.Run("store=postgres/impl=raw", func(b *testing.B) {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, postgresServer(b).NewDatabase(b))
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "CREATE TABLE raw_events (sequence bigint PRIMARY KEY, subject text NOT NULL, body bytea NOT NULL)"); err != nil {
			b.Fatal(err)
		}
		runRaw(b, dir, func() error {
			_, err := conn.Exec(ctx, "TRUNCATE raw_events")
			return err
		}, func(msgs natsjs.MessagesContext) (int, error) {
			src := &copySource{msgs: msgs}
			n, err := conn.CopyFrom(ctx, pgx.Identifier{"raw_events"}, []string{"sequence", "subject", "body"}, src)
			if err == nil {
				err = src.err
			}
			return int(n), err
		})
	})
}

// runRebuild times b.N rebuilds of the log in dir through the projection
// into the store newStore returns (its reset untimed); a nil newStore runs
// the raw replay instead.
func runRebuild(b *testing.B, dir string, newStore func() (readmodel.Store, error)) {
	b.Helper()
	if newStore == nil {
		runRaw(b, dir, func() error { return nil }, testenv.CountMessages(rebuildEvents))
		return
	}
	srv, nc := logServer(b, dir)
	defer srv.Shutdown()
	defer nc.Close()
	ctx := context.Background()
	var elapsed, cpu time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		l, err := jetstream.Open(ctx, nc, jetstream.Config{})
		if err != nil {
			b.Fatal(err)
		}
		store, err := newStore()
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start, cpu0 := time.Now(), testenv.CPUTime()
		runner := pkgprojection.NewRunner(l, projection.New(l, store, projection.Config{}))
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- runner.Run(runCtx) }()
		err = runner.WaitFor(ctx, rebuildEvents)
		elapsed, cpu = elapsed+time.Since(start), cpu+testenv.CPUTime()-cpu0
		b.StopTimer()
		cancel()
		if runErr := <-done; runErr != nil {
			b.Fatal(runErr)
		}
		if err != nil {
			b.Fatal(err)
		}
		if cp, err := store.Checkpoint(ctx); err != nil || cp != rebuildEvents {
			b.Fatalf("store checkpoint %d, %v after the rebuild; want %d", cp, err, rebuildEvents)
		}
		// The log's activity spans February and March for most patients
		// (populate): each month holds most patients' rows.
		for _, m := range []string{"2025-01", "2025-02", "2025-03"} {
			if rows, err := store.Month(ctx, m); err != nil || len(rows) < rebuildPatients/2 {
				b.Fatalf("%s after the rebuild: %d rows, %v; want most of the %d patients", m, len(rows), err, rebuildPatients)
			}
		}
	}
	reportRate(b, elapsed, cpu)
}

// runRaw times b.N raw replays: an ordered consumer over the whole stream
// handed to consume, which returns how many messages it took.
func runRaw(b *testing.B, dir string, reset func() error, consume func(natsjs.MessagesContext) (int, error)) {
	b.Helper()
	srv, nc := logServer(b, dir)
	defer srv.Shutdown()
	defer nc.Close()
	ctx := context.Background()
	var elapsed, cpu time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		if err := reset(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start, cpu0 := time.Now(), testenv.CPUTime()
		n, err := testenv.RawReplay(ctx, nc, "CARELOG", consume)
		elapsed, cpu = elapsed+time.Since(start), cpu+testenv.CPUTime()-cpu0
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		if n != rebuildEvents {
			b.Fatalf("replayed %d events, want %d", n, rebuildEvents)
		}
	}
	reportRate(b, elapsed, cpu)
}

// reportRate reports log events per second of the timed runs and the CPU
// time per event of the whole process (server, client, PostgreSQL's client
// side) over the same runs: the second holds on a shared machine, where
// neighbours move the first.
func reportRate(b *testing.B, elapsed, cpu time.Duration) {
	b.ReportMetric(float64(b.N*rebuildEvents)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*rebuildEvents), "cpu-ns/event")
}

// copySource streams the consumer's messages into COPY, one row per event,
// and stops after rebuildEvents.
type copySource struct {
	msgs natsjs.MessagesContext
	n    int
	row  []any
	err  error
}

func (s *copySource) Next() bool {
	if s.n == rebuildEvents {
		return false
	}
	msg, err := s.msgs.Next()
	if err != nil {
		s.err = err
		return false
	}
	meta, err := msg.Metadata()
	if err != nil {
		s.err = err
		return false
	}
	s.n++
	s.row = []any{int64(meta.Sequence.Stream), msg.Subject(), msg.Data()}
	return true
}

func (s *copySource) Values() ([]any, error) { return s.row, nil }
func (s *copySource) Err() error             { return s.err }

// logServer starts the embedded node (SyncAlways, as in production) on the
// benchmark log.
func logServer(b *testing.B, dir string) (*natsserver.Server, *nats.Conn) {
	b.Helper()
	srv, err := natsserver.Start(natsserver.Config{DataDir: dir})
	if err != nil {
		b.Fatal(err)
	}
	nc, err := srv.Connect()
	if err != nil {
		srv.Shutdown()
		b.Fatal(err)
	}
	return srv, nc
}
