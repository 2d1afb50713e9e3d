package projection_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/eventlog"
	"github.com/carelog/carelog/pkg/eventlog/jetstream"
	pkgprojection "github.com/carelog/carelog/pkg/projection"
	"github.com/carelog/carelog/pkg/testenv"
	"github.com/carelog/carelog/services/billing/internal/billingtest"
	"github.com/carelog/carelog/services/billing/internal/memory"
	"github.com/carelog/carelog/services/billing/internal/projection"
	"github.com/carelog/carelog/services/billing/internal/readmodel"
)

var ny = func() *time.Location {
	l, err := time.LoadLocation("America/New_York")
	if err != nil {
		panic(err)
	}
	return l
}()

func at(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, ny) }

const (
	npiA = "1234567893"
	npiB = "1245319599"
)

func ctx(t testing.TB) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

func openLog(t testing.TB) *jetstream.Log {
	t.Helper()
	l, err := jetstream.Open(ctx(t), testenv.Connect(t, testenv.JetStream(t, "")), jetstream.Config{})
	if err != nil {
		t.Fatalf("jetstream.Open: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// writer appends real events; recorded is the recording time of the next
// ones (advance it to test asOf and late entries).
type writer struct {
	t        testing.TB
	log      eventlog.Log
	recorded time.Time
	n        atomic.Int64
}

func newWriter(t testing.TB, log eventlog.Log) *writer {
	return &writer{t: t, log: log, recorded: at(2025, 4, 2, 9, 0)}
}

func (w *writer) append(stream, patientID string, typ events.Type, payload any) eventlog.Record {
	w.t.Helper()
	env, err := events.DefaultRegistry().New(typ, payload)
	if err != nil {
		w.t.Fatalf("New %s: %v", typ, err)
	}
	env.ID = fmt.Sprintf("ev-%d", w.n.Add(1))
	env.Stream, env.PatientID = stream, patientID
	env.OccurredAt, env.RecordedAt = w.recorded, w.recorded
	env.Actor = events.Actor{ID: "tok-1", Role: "clinician", App: "test"}
	res, err := w.log.Append(context.Background(), eventlog.Any, env)
	if err != nil {
		w.t.Fatalf("Append %s: %v", typ, err)
	}
	return eventlog.Record{Sequence: res.Sequence, Envelope: res.Event}
}

func (w *writer) patient(id string, typ events.Type, payload any) eventlog.Record {
	w.t.Helper()
	return w.append(events.PatientStream(id), id, typ, payload)
}

func (w *writer) practice(typ events.Type, payload any) eventlog.Record {
	w.t.Helper()
	return w.append(events.PracticeStream, "", typ, payload)
}

// setup writes the practice (New York, default policy) and its two
// practitioners.
func (w *writer) setup(tz string) {
	w.t.Helper()
	w.practice(events.TypePracticeConfigured, events.PracticeConfigured{Name: "Riverside", Timezone: tz, BillingNPI: npiA, TaxID: "123456789", Policy: json.RawMessage(`{}`)})
	w.practice(events.TypePractitionerRegistered, events.PractitionerRegistered{NPI: npiA, Name: "Dr. A", Kind: "physician", Credential: "MD"})
	w.practice(events.TypePractitionerRegistered, events.PractitionerRegistered{NPI: npiB, Name: "NP B", Kind: "np", Credential: "NP"})
}

var disclosures = billingtest.Disclosures

// enroll writes a CCM-ready patient: enrolment, two chronic conditions,
// last visit 2024-12-10, consent and a complete care plan with its copy.
func (w *writer) enroll(id string) {
	w.t.Helper()
	w.patient(id, events.TypePatientEnrolled, events.PatientEnrolled{ID: id, MRN: "M-" + id, Name: events.PersonName{Given: "Ada", Family: "L"}, BirthDate: "1948-02-03", MBI: "1EG4TE5MK73", BillingPractitionerNPI: npiA})
	for _, c := range []string{"I50.22", "E11.65"} {
		w.patient(id, events.TypeConditionRecorded, events.ConditionRecorded{Code: c, Description: "chronic", ExpectedDurationMonths: 120, SignificantRisk: true})
	}
	visit := at(2024, 12, 10, 9, 0)
	end := visit.Add(30 * time.Minute)
	w.patient(id, events.TypeEncounterRecorded, events.EncounterRecorded{ID: "visit-" + id, Kind: "office_visit", PractitionerNPI: npiA, Start: visit, End: &end, CCMDiscussed: true})
	w.patient(id, events.TypeConsentGranted, events.ConsentGranted{ID: "c-" + id, Program: "ccm", PractitionerNPI: npiA, Method: "verbal", ObtainedAt: at(2024, 12, 10, 10, 30), ObtainedBy: "RN Jo", Disclosures: disclosures})
	w.patient(id, events.TypeCarePlanEstablished, plan("plan-"+id, at(2024, 12, 10, 11, 0)))
	w.patient(id, events.TypeCarePlanCopyProvided, events.CarePlanCopyProvided{PlanID: "plan-" + id, ProvidedAt: at(2024, 12, 10, 12, 0), To: "patient", Method: "portal"})
}

// enrollWithMarchEntries enrolls p-0 … p-(n-1), each with one 25-minute
// nurse entry, on March 3+i 2025.
func (w *writer) enrollWithMarchEntries(n int) {
	for i := range n {
		id := fmt.Sprintf("p-%d", i)
		w.enroll(id)
		w.entry(id, "e-"+id, "rn", at(2025, 3, 3+i, 10, 0), 25)
	}
}

func plan(id string, established time.Time) events.CarePlanEstablished {
	return billingtest.CompletePlan(id, npiA, established)
}

func (w *writer) entry(patientID, id, role string, start time.Time, minutes int, programs ...string) eventlog.Record {
	w.t.Helper()
	if len(programs) == 0 {
		programs = []string{"ccm"}
	}
	return w.patient(patientID, events.TypeTimeRecorded, entryPayload(patientID, id, role, start, minutes, programs...))
}

func entryPayload(patientID, id, role string, start time.Time, minutes int, programs ...string) events.TimeRecorded {
	return events.TimeRecorded{ID: id, PatientID: patientID, Staff: events.Staff{ID: role + "-1", Name: "Staff " + role, Role: role},
		Programs: programs, StartedAt: start, Minutes: minutes, Activity: "medication_reconciliation",
		Notes: "Reviewed home glucose log with patient and adjusted diet plan", Outcome: "completed"}
}

// running is a projection with its runner, running until the test ends.
type running struct {
	proj   *projection.Projection
	runner *pkgprojection.Runner
	store  readmodel.Store
	cancel context.CancelFunc
	done   chan error
}

func start(t testing.TB, log eventlog.Log, store readmodel.Store, cfg projection.Config) *running {
	t.Helper()
	r := &running{proj: projection.New(log, store, cfg), store: store, done: make(chan error, 1)}
	r.runner = pkgprojection.NewRunner(log, r.proj)
	c, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- r.runner.Run(c) }()
	t.Cleanup(r.stop)
	return r
}

func (r *running) stop() {
	if r.cancel == nil {
		return
	}
	r.cancel()
	<-r.done
	r.cancel = nil
}

func (r *running) caughtUp(t testing.TB) {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.runner.CaughtUp(c); err != nil {
		t.Fatalf("CaughtUp: %v", err)
	}
}

func (r *running) row(t testing.TB, patientID, month string) readmodel.PatientMonth {
	t.Helper()
	pm, ok, err := r.store.PatientMonth(ctx(t), patientID, month)
	if err != nil || !ok {
		t.Fatalf("PatientMonth(%s, %s): got ok=%v err=%v, want a row", patientID, month, ok, err)
	}
	return pm
}

// dump is every row of the store for months, as JSON, for comparisons.
func dump(t testing.TB, s readmodel.Store, months ...string) string {
	t.Helper()
	out := map[string]any{}
	for _, m := range months {
		rows, err := s.Month(ctx(t), m)
		if err != nil {
			t.Fatal(err)
		}
		totals, _ := s.Totals(ctx(t), m)
		batches, _ := s.Batches(ctx(t), m)
		out[m] = map[string]any{"rows": rows, "totals": totals, "batches": batches}
	}
	patients, _ := s.Patients(ctx(t))
	out["patients"] = patients
	b, err := json.MarshalIndent(out, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func newStore() *memory.Store { return memory.New() }

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
