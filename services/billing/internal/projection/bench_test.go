package projection_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/eventlog/jetstream"
	"github.com/carelog/carelog/pkg/natsserver"
	pkgprojection "github.com/carelog/carelog/pkg/projection"
	"github.com/carelog/carelog/pkg/testenv"
	"github.com/carelog/carelog/services/billing/internal/memory"
	"github.com/carelog/carelog/services/billing/internal/projection"
)

// BenchmarkRebuild compares rebuilding the billing projection from the log
// into the in-memory store (decode, hash chain, fold, evaluation of every
// patient-month, commit) with a raw ordered consumer that only counts the
// same messages. The log holds rebuildEvents events: rebuildPatients
// CCM-ready patients (7 set-up events each) with time entries spread over
// eight months of 2025.
func BenchmarkRebuild(b *testing.B) {
	dir := rebuildLog.Dir(b)
	run := func(b *testing.B, replay func(*nats.Conn) (int, error)) {
		srv, err := natsserver.Start(natsserver.Config{DataDir: dir})
		if err != nil {
			b.Fatal(err)
		}
		defer srv.Shutdown()
		nc, err := srv.Connect()
		if err != nil {
			b.Fatal(err)
		}
		defer nc.Close()
		b.ResetTimer()
		start, cpu0 := time.Now(), testenv.CPUTime()
		for range b.N {
			n, err := replay(nc)
			if err != nil {
				b.Fatal(err)
			}
			if n != rebuildEvents {
				b.Fatalf("replayed %d events, want %d", n, rebuildEvents)
			}
		}
		b.ReportMetric(float64(b.N*rebuildEvents)/time.Since(start).Seconds(), "events/s")
		// CPU time per event of the whole process (server included): a
		// measure that holds on a machine shared with other work.
		b.ReportMetric(float64((testenv.CPUTime()-cpu0).Nanoseconds())/float64(b.N*rebuildEvents), "cpu-ns/event")
	}
	b.Run("impl=carelog", func(b *testing.B) {
		run(b, func(nc *nats.Conn) (int, error) {
			ctx := context.Background()
			l, err := jetstream.Open(ctx, nc, jetstream.Config{})
			if err != nil {
				return 0, err
			}
			store := memory.New()
			r := pkgprojection.NewRunner(l, projection.New(l, store, projection.Config{}))
			c, cancel := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- r.Run(c) }()
			err = r.CaughtUp(ctx)
			cancel()
			if e := <-done; err == nil {
				err = e
			}
			return int(r.Position()), err
		})
	})
	b.Run("impl=raw", func(b *testing.B) {
		run(b, func(nc *nats.Conn) (int, error) {
			return testenv.RawReplay(context.Background(), nc, "CARELOG", testenv.CountMessages(rebuildEvents))
		})
	})
}

const (
	rebuildPatients = 5000
	entriesPerMonth = 4
	rebuildMonths   = 8
	setupPerPatient = 7
	practiceEvents  = 3
	rebuildEvents   = practiceEvents + rebuildPatients*(setupPerPatient+entriesPerMonth*rebuildMonths)
)

// benchWriter writes the set-up events of env_test.go's writer through pub.
type benchWriter struct {
	pub func(stream, patientID string, typ events.Type, payload any, recorded time.Time) error
}

func (w benchWriter) setup() error {
	rec := at(2024, 11, 1, 9, 0)
	for _, e := range []struct {
		typ     events.Type
		payload any
	}{
		{events.TypePracticeConfigured, events.PracticeConfigured{Name: "Riverside", Timezone: "America/New_York", BillingNPI: npiA, TaxID: "123456789"}},
		{events.TypePractitionerRegistered, events.PractitionerRegistered{NPI: npiA, Name: "Dr. A", Kind: "physician", Credential: "MD"}},
		{events.TypePractitionerRegistered, events.PractitionerRegistered{NPI: npiB, Name: "NP B", Kind: "np", Credential: "NP"}},
	} {
		if err := w.pub(events.PracticeStream, "", e.typ, e.payload, rec); err != nil {
			return err
		}
	}
	return nil
}

func (w benchWriter) enroll(id string) error {
	s := events.PatientStream(id)
	rec := at(2024, 12, 10, 13, 0)
	visit := at(2024, 12, 10, 9, 0)
	end := visit.Add(30 * time.Minute)
	for _, e := range []struct {
		typ     events.Type
		payload any
	}{
		{events.TypePatientEnrolled, events.PatientEnrolled{ID: id, MRN: "M-" + id, Name: events.PersonName{Given: "Ada", Family: "L"}, BirthDate: "1948-02-03", MBI: "1EG4TE5MK73", BillingPractitionerNPI: npiA}},
		{events.TypeConditionRecorded, events.ConditionRecorded{Code: "I50.22", Description: "chronic", ExpectedDurationMonths: 120, SignificantRisk: true}},
		{events.TypeConditionRecorded, events.ConditionRecorded{Code: "E11.65", Description: "chronic", ExpectedDurationMonths: 120, SignificantRisk: true}},
		{events.TypeEncounterRecorded, events.EncounterRecorded{ID: "visit-" + id, Kind: "office_visit", PractitionerNPI: npiA, Start: visit, End: &end, CCMDiscussed: true}},
		{events.TypeConsentGranted, events.ConsentGranted{ID: "c-" + id, Program: "ccm", PractitionerNPI: npiA, Method: "verbal", ObtainedAt: at(2024, 12, 10, 10, 30), ObtainedBy: "RN Jo", Disclosures: disclosures}},
		{events.TypeCarePlanEstablished, plan("plan-"+id, at(2024, 12, 10, 11, 0))},
		{events.TypeCarePlanCopyProvided, events.CarePlanCopyProvided{PlanID: "plan-" + id, ProvidedAt: at(2024, 12, 10, 12, 0), To: "patient", Method: "portal"}},
	} {
		if err := w.pub(s, id, e.typ, e.payload, rec); err != nil {
			return err
		}
	}
	return nil
}

// rebuildLog is the benchmark log, populated on first use.
var rebuildLog = &testenv.BenchLog{Name: "billing-projection-rebuild", Populate: populate}

func TestMain(m *testing.M) {
	code := m.Run()
	rebuildLog.Remove()
	os.Exit(code)
}

// populate writes the rebuild log (testenv.WriteLog).
func populate(dir string) error {
	n, err := testenv.WriteLog(dir, func(lw *testenv.LogWriter) error {
		return write(lw)
	})
	if err == nil && n != rebuildEvents {
		err = fmt.Errorf("populate: wrote %d events, want %d", n, rebuildEvents)
	}
	return err
}

func write(lw *testenv.LogWriter) error {
	pub := func(stream, patientID string, typ events.Type, payload any, recorded time.Time) error {
		env, err := events.DefaultRegistry().New(typ, payload)
		if err != nil {
			return err
		}
		env.ID = fmt.Sprintf("ev-%d", lw.N()+1)
		env.Stream, env.PatientID = stream, patientID
		env.OccurredAt, env.RecordedAt = recorded, recorded
		env.Actor = events.Actor{ID: "tok-1", Role: "clinician", App: "bench"}
		return lw.Append(env)
	}
	w := benchWriter{pub: pub}
	if err := w.setup(); err != nil {
		return err
	}
	for i := range rebuildPatients {
		if err := w.enroll(fmt.Sprintf("p-%d", i)); err != nil {
			return err
		}
	}
	for m := range rebuildMonths {
		for k := range entriesPerMonth {
			for i := range rebuildPatients {
				id := fmt.Sprintf("p-%d", i)
				start := time.Date(2025, time.Month(1+m), 1+k*7+i%5, 9+i%8, (i*7)%60, 0, 0, ny)
				e := entryPayload(id, fmt.Sprintf("e-%d-%d-%d", i, m, k), []string{"rn", "ma", "lpn"}[(i+k)%3], start, 5+(i+k*3)%9)
				if err := pub(events.PatientStream(id), id, events.TypeTimeRecorded, e, start.Add(2*time.Hour)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
