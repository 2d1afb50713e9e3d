package batches

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/eventlog"
	pkgprojection "github.com/carelog/carelog/pkg/projection"
	"github.com/carelog/carelog/services/billing/internal/billingtest"
	"github.com/carelog/carelog/services/billing/internal/projection"
	"github.com/carelog/carelog/services/billing/rules"
)

// These tests close months over the real billing projection
// (internal/projection: facts folded from the log, evaluated by the rules
// engine) and check decision 5 end to end: replaying the log to a batch's
// logSequence into a fresh projection and recomputing gives its hash.

var newYork = func() *time.Location {
	l, err := time.LoadLocation("America/New_York")
	if err != nil {
		panic(err)
	}
	return l
}()

// clinic appends real clinical events.
type clinic struct {
	t   *testing.T
	log eventlog.Log
	n   int
}

func (w *clinic) append(stream, patientID string, typ events.Type, payload any) eventlog.Record {
	w.t.Helper()
	env, err := events.DefaultRegistry().New(typ, payload)
	if err != nil {
		w.t.Fatalf("New %s: %v", typ, err)
	}
	w.n++
	env.ID = fmt.Sprintf("ev-%d", w.n)
	env.Stream, env.PatientID = stream, patientID
	recorded := time.Date(2025, 3, 31, 18, 0, 0, 0, newYork)
	env.OccurredAt, env.RecordedAt = recorded, recorded
	env.Actor = events.Actor{ID: "tok-1", Role: "clinician", App: "test"}
	res, err := w.log.Append(context.Background(), eventlog.Any, env)
	if err != nil {
		w.t.Fatalf("Append %s: %v", typ, err)
	}
	return eventlog.Record{Sequence: res.Sequence, Envelope: res.Event}
}

func (w *clinic) patient(id string, typ events.Type, payload any) eventlog.Record {
	w.t.Helper()
	return w.append(events.PatientStream(id), id, typ, payload)
}

func (w *clinic) setup() {
	w.t.Helper()
	w.append(events.PracticeStream, "", events.TypePracticeConfigured, events.PracticeConfigured{Name: "Riverside", Timezone: "America/New_York", BillingNPI: npi, TaxID: "123456789", Policy: json.RawMessage(`{}`)})
	w.append(events.PracticeStream, "", events.TypePractitionerRegistered, events.PractitionerRegistered{NPI: npi, Name: "Dr. A", Kind: "physician", Credential: "MD"})
}

// enroll writes a CCM-ready patient: two chronic conditions, a recent
// visit, consent with every disclosure, a complete care plan and its copy.
func (w *clinic) enroll(id string) {
	w.t.Helper()
	at := func(m time.Month, d, h int) time.Time { return time.Date(2024, m, d, h, 0, 0, 0, newYork) }
	w.patient(id, events.TypePatientEnrolled, events.PatientEnrolled{ID: id, MRN: "M-" + id, Name: events.PersonName{Given: "Ada", Family: "L"}, BirthDate: "1948-02-03", MBI: "1EG4TE5MK73", BillingPractitionerNPI: npi})
	for _, c := range []string{"I50.22", "E11.65"} {
		w.patient(id, events.TypeConditionRecorded, events.ConditionRecorded{Code: c, Description: "chronic", ExpectedDurationMonths: 120, SignificantRisk: true})
	}
	visit := at(12, 10, 9)
	end := visit.Add(30 * time.Minute)
	w.patient(id, events.TypeEncounterRecorded, events.EncounterRecorded{ID: "visit-" + id, Kind: "office_visit", PractitionerNPI: npi, Start: visit, End: &end, CCMDiscussed: true})
	w.patient(id, events.TypeConsentGranted, events.ConsentGranted{ID: "c-" + id, Program: "ccm", PractitionerNPI: npi, Method: "verbal", ObtainedAt: at(12, 10, 10), ObtainedBy: "RN Jo",
		Disclosures: billingtest.Disclosures})
	w.patient(id, events.TypeCarePlanEstablished, billingtest.CompletePlan("plan-"+id, npi, at(12, 10, 11)))
	w.patient(id, events.TypeCarePlanCopyProvided, events.CarePlanCopyProvided{PlanID: "plan-" + id, ProvidedAt: at(12, 10, 12), To: "patient", Method: "portal"})
}

// minutes records an RN's minutes for id in March 2025 (day d).
func (w *clinic) minutes(id, entry string, d, minutes int) eventlog.Record {
	w.t.Helper()
	return w.patient(id, events.TypeTimeRecorded, events.TimeRecorded{ID: entry, PatientID: id, Staff: events.Staff{ID: "rn-1", Name: "RN Jo", Role: "rn"},
		Programs: []string{"ccm"}, StartedAt: time.Date(2025, 3, d, 10, 0, 0, 0, newYork), Minutes: minutes, Activity: "medication_reconciliation",
		Notes: "Reviewed home glucose log", Outcome: "completed"})
}

// billingReplica is a process's billing read side: the real projection.
func billingReplica(t *testing.T, log eventlog.Log, clk *testClock) *replica {
	t.Helper()
	store := openStore(t)
	runner := pkgprojection.NewRunner(log, projection.New(log, store, projection.Config{}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runner.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("runner: got %v, want nil after cancel", err)
		}
	})
	return &replica{store: store, runner: runner, closer: &Closer{Log: log, Store: store, Runner: runner, Now: clk.Now}}
}

// replayBilling rebuilds the real projection from the log up to seq into a
// fresh store and recomputes month's batch.
func replayBilling(t *testing.T, log eventlog.Log, month string, seq uint64) Content {
	t.Helper()
	ctx := context.Background()
	store := openStore(t)
	p := projection.New(log, store, projection.Config{})
	if _, err := p.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	for rec, err := range log.ReadAll(ctx, 1) {
		if err != nil {
			t.Fatal(err)
		}
		if rec.Sequence > seq {
			break
		}
		if err := p.Apply(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	rows, err := store.Month(ctx, month)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Compute(month, rows, seq)
	if err != nil {
		t.Fatalf("recompute at %d: %v", seq, err)
	}
	return c
}

func TestCloseOverTheBillingProjection(t *testing.T) {
	ctx := context.Background()
	n := startNode(t)
	clk := &testClock{now: testNow}
	w := &clinic{t: t, log: n.log}
	w.setup()
	for _, id := range []string{"p-1", "p-2", "p-3"} {
		w.enroll(id)
	}
	e1 := w.minutes("p-1", "te-1", 5, 25)
	w.minutes("p-2", "te-2", 6, 10)
	w.minutes("p-3", "te-3", 7, 30)
	w.minutes("p-3", "te-4", 8, 15)
	r := billingReplica(t, n.log, clk)

	first, err := r.closer.Close(ctx, CloseRequest{Month: "2025-03", Meta: meta("")})
	if err != nil {
		t.Fatalf("Close: %v", err)
	}
	b := first.Batch
	if got, want := codesOf(b.Lines), []string{"p-1:99490×1", "p-3:99490×1", "p-3:99439×1"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("lines: got %v, want %v", got, want)
	}
	l := b.Lines[0]
	if l.DateOfService != "2025-03-31" || l.PractitionerNPI != npi || !slices.Equal(l.Diagnoses, []string{"I50.22", "E11.65"}) || !slices.Contains(l.Evidence, e1.ID) {
		t.Errorf("p-1 line: got %+v, want DOS 2025-03-31, NPI %s, both diagnoses, evidence with %s", l, npi, e1.ID)
	}
	if b.Totals.ExpectedRevenueCent == 0 {
		t.Errorf("expected revenue: got 0, want the fee schedule's")
	}
	_, ps := batchEvents(t, n.log, "2025-03")
	if len(ps) != 1 || Hash(ContentOf(ps[0])) != b.ContentHash {
		t.Fatalf("batch stream: got %d events; hash of the event's content %s, batch %s", len(ps), Hash(ContentOf(ps[0])), b.ContentHash)
	}
	if c := replayBilling(t, n.log, "2025-03", b.LogSequence); Hash(c) != b.ContentHash {
		t.Errorf("replay to %d: got hash %s, want %s\nrecomputed %s\nbatch      %s", b.LogSequence, Hash(c), b.ContentHash, CanonicalJSON(c), CanonicalJSON(ContentOf(ps[0])))
	}
	for _, id := range []string{"p-1", "p-3"} {
		row, _, err := r.store.PatientMonth(ctx, id, "2025-03")
		if err != nil || row.BatchID != b.ID || row.Evaluation.Status != rules.StatusBilled {
			t.Errorf("%s after close: got batch %q status %s (err %v), want %s billed", id, row.BatchID, row.Evaluation.Status, err, b.ID)
		}
	}

	// Late facts: p-2 becomes billable, p-1 gets more minutes after its
	// month was billed.
	w.minutes("p-2", "te-5", 20, 12)
	w.minutes("p-1", "te-6", 21, 30)
	second, err := r.closer.Close(ctx, CloseRequest{Month: "2025-03", Meta: meta("")})
	if err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if second.Batch.ID != "batch-2025-03-2" || !reflect.DeepEqual(patientsOf(second.Batch.Lines), []string{"p-2"}) {
		t.Errorf("second batch: got %s with %v, want batch-2025-03-2 with p-2 only", second.Batch.ID, codesOf(second.Batch.Lines))
	}
	row, _, err := r.store.PatientMonth(ctx, "p-1", "2025-03")
	if err != nil || row.BatchID != b.ID || !row.Evaluation.HasFlag(rules.FlagPostCloseChange) {
		t.Errorf("p-1 after late minutes: got batch %q, flags %v (err %v), want %s and post_close_change", row.BatchID, row.Evaluation.Flags, err, b.ID)
	}
	if c := replayBilling(t, n.log, "2025-03", second.Batch.LogSequence); Hash(c) != second.Batch.ContentHash {
		t.Errorf("replay to %d: got hash %s, want %s", second.Batch.LogSequence, Hash(c), second.Batch.ContentHash)
	}
	// A process rebuilt from the log holds the same batches.
	r2 := billingReplica(t, n.log, clk)
	if err := r2.runner.CaughtUp(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := r2.store.Batches(ctx, "2025-03")
	want, _ := r.store.Batches(ctx, "2025-03")
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("rebuilt batches: got %+v (err %v), want %+v", got, err, want)
	}
	if _, err := r2.closer.Close(ctx, CloseRequest{Month: "2025-03", Meta: meta("")}); !errors.Is(err, ErrNothingToBill) {
		t.Errorf("close on the rebuilt process: got %v, want nothing to bill", err)
	}
}
