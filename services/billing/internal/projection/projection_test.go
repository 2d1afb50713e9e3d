package projection_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/services/billing/internal/memory"
	"github.com/carelog/carelog/services/billing/internal/projection"
	"github.com/carelog/carelog/services/billing/internal/readmodel"
	"github.com/carelog/carelog/services/billing/rules"
)

func lines(ev rules.Evaluation) string {
	s := ""
	for _, l := range ev.Lines {
		s += l.Code + "x" + string(rune('0'+l.Units)) + " "
	}
	return s
}

func TestProjectionEvaluatesPatientMonths(t *testing.T) {
	log := openLog(t)
	w := newWriter(t, log)
	w.setup("America/New_York")
	w.enroll("p-1")
	e1 := w.entry("p-1", "e-1", "rn", at(2025, 3, 4, 10, 0), 25)
	w.entry("p-1", "e-2", "ma", at(2025, 3, 12, 10, 0), 14)
	w.entry("p-1", "e-3", "front_desk", at(2025, 3, 13, 10, 0), 10)

	r := start(t, log, newStore(), projection.Config{})
	r.caughtUp(t)
	pm := r.row(t, "p-1", "2025-03")
	ev := pm.Evaluation
	if ev.Status != rules.StatusBillable || ev.CountedMinutes != 39 || lines(ev) != "99490x1 " {
		t.Fatalf("March: got %s %d min %s, want billable 39 min 99490x1: %s", ev.Status, ev.CountedMinutes, lines(ev), mustJSON(ev))
	}
	if !slices.Contains(ev.Lines[0].Evidence, e1.ID) {
		t.Errorf("evidence: got %v, want it to name %s", ev.Lines[0].Evidence, e1.ID)
	}
	last, _ := log.LastSequence(ctx(t))
	if pm.AsOfSequence != last {
		t.Errorf("AsOfSequence: got %d, want %d (the last event touching the month)", pm.AsOfSequence, last)
	}
	// The activity range runs from the December visit to March.
	for _, m := range []string{"2024-12", "2025-01", "2025-02"} {
		if got := r.row(t, "p-1", m).Evaluation; got.Status != rules.StatusNotBillable || got.CountedMinutes != 0 {
			t.Errorf("%s: got %s %d min, want not_billable with 0 minutes", m, got.Status, got.CountedMinutes)
		}
	}
	if _, ok, _ := r.store.PatientMonth(ctx(t), "p-1", "2025-04"); ok {
		t.Error("2025-04 (no activity): got a row, want none")
	}
	totals, _ := r.store.Totals(ctx(t), "2025-03")
	want := `[{"patientId":"p-1","month":"2025-03","program":"ccm","role":"front_desk","minutes":10,"counted":0},{"patientId":"p-1","month":"2025-03","program":"ccm","role":"ma","minutes":14,"counted":14},{"patientId":"p-1","month":"2025-03","program":"ccm","role":"rn","minutes":25,"counted":25}]`
	if got := mustJSON(totals); got != want {
		t.Errorf("totals:\n got %s\nwant %s", got, want)
	}
	funnel, _ := r.store.Patients(ctx(t))
	if len(funnel) != 1 || funnel[0].ConsentStatus != "granted" || funnel[0].QualifyingConditions != 2 || funnel[0].CopyProvidedAt == nil {
		t.Errorf("funnel: got %s", mustJSON(funnel))
	}

	// Live: a further entry crosses 40 minutes.
	w.entry("p-1", "e-4", "rn", at(2025, 3, 20, 10, 0), 1)
	r.caughtUp(t)
	if got := r.row(t, "p-1", "2025-03").Evaluation; lines(got) != "99490x1 99439x1 " {
		t.Errorf("after 40 minutes: got %s, want 99490x1 99439x1", lines(got))
	}
	// An entry in May extends the range through April.
	w.entry("p-1", "e-5", "rn", at(2025, 5, 2, 10, 0), 5)
	r.caughtUp(t)
	if got := r.row(t, "p-1", "2025-04").Evaluation; got.Status != rules.StatusNotBillable || !got.HasReason(rules.ReasonBelowThreshold) {
		t.Errorf("April: got %s %v, want not_billable below_threshold", got.Status, got.Reasons)
	}
}

func TestCorrectionsVoidsAndMonthBoundaries(t *testing.T) {
	log := openLog(t)
	w := newWriter(t, log)
	w.setup("America/New_York")
	w.enroll("p-1")
	w.entry("p-1", "e-1", "rn", at(2025, 3, 10, 10, 0), 12)
	w.entry("p-1", "e-2", "rn", at(2025, 3, 31, 23, 50), 25) // 10 to March, 15 to April
	r := start(t, log, newStore(), projection.Config{})
	r.caughtUp(t)
	if got := r.row(t, "p-1", "2025-03").Evaluation; got.CountedMinutes != 22 || lines(got) != "99490x1 " {
		t.Fatalf("March: got %d min %s, want 22 min 99490x1", got.CountedMinutes, lines(got))
	}
	if got := r.row(t, "p-1", "2025-04").Evaluation; got.CountedMinutes != 15 {
		t.Fatalf("April: got %d min, want 15", got.CountedMinutes)
	}
	// A correction moves e-1 to April: both months change.
	c := entryPayload("p-1", "e-1", "rn", at(2025, 4, 3, 10, 0), 12)
	w.patient("p-1", events.TypeTimeCorrected, events.TimeCorrected{EntryID: "e-1", Entry: events.TimeEntry(c), Reason: "wrong date"})
	r.caughtUp(t)
	if got := r.row(t, "p-1", "2025-03").Evaluation; got.CountedMinutes != 10 || got.Status != rules.StatusNotBillable {
		t.Errorf("March after the correction: got %s %d min, want not_billable 10", got.Status, got.CountedMinutes)
	}
	if got := r.row(t, "p-1", "2025-04").Evaluation; got.CountedMinutes != 27 || lines(got) != "99490x1 " {
		t.Errorf("April after the correction: got %d min %s, want 27 min 99490x1", got.CountedMinutes, lines(got))
	}
	// A void takes it out, reported as voided.
	w.patient("p-1", events.TypeTimeVoided, events.TimeVoided{EntryID: "e-1", Reason: "duplicate"})
	r.caughtUp(t)
	got := r.row(t, "p-1", "2025-04").Evaluation
	if got.CountedMinutes != 15 || !slices.Contains(got.Excluded, rules.Excluded{EntryID: "e-1", Minutes: 12, Code: rules.ExcludedVoided}) {
		t.Errorf("April after the void: got %d min, excluded %v; want 15 and e-1 voided", got.CountedMinutes, got.Excluded)
	}
	// The practice moves to Los Angeles: 23:50 New York is 20:50 there, so
	// e-2 lies wholly in March.
	w.practice(events.TypePracticeConfigured, events.PracticeConfigured{Name: "Riverside", Timezone: "America/Los_Angeles", BillingNPI: npiA, TaxID: "123456789"})
	r.caughtUp(t)
	if got := r.row(t, "p-1", "2025-03").Evaluation; got.CountedMinutes != 25 || lines(got) != "99490x1 " {
		t.Errorf("March in Los Angeles: got %d min %s, want 25 min 99490x1", got.CountedMinutes, lines(got))
	}
}

func TestClaimBatchBillsAndPostCloseChange(t *testing.T) {
	log := openLog(t)
	w := newWriter(t, log)
	w.setup("America/New_York")
	w.enroll("p-1")
	w.enroll("p-2")
	w.entry("p-1", "e-1", "rn", at(2025, 3, 4, 10, 0), 45)
	w.entry("p-2", "e-2", "rn", at(2025, 3, 4, 10, 0), 10)
	r := start(t, log, newStore(), projection.Config{})
	r.caughtUp(t)
	before := r.row(t, "p-1", "2025-03")
	if lines(before.Evaluation) != "99490x1 99439x1 " {
		t.Fatalf("before the batch: got %s", lines(before.Evaluation))
	}
	logSeq, _ := r.store.Checkpoint(ctx(t))
	var claim []events.ClaimLine
	for _, l := range before.Evaluation.Lines {
		claim = append(claim, events.ClaimLine{PatientID: "p-1", Code: l.Code, Units: l.Units, DateOfService: l.DateOfService, PractitionerNPI: l.PractitionerNPI, Diagnoses: l.Diagnoses, Evidence: l.Evidence})
	}
	// A fact recorded between the snapshot and the batch event is not in
	// the billed evaluation.
	w.entry("p-1", "e-3", "rn", at(2025, 3, 25, 10, 0), 20)
	batch := w.append(events.BatchStream("2025-03"), "", events.TypeClaimBatchClosed, events.ClaimBatchClosed{
		ID: "batch-2025-03-1", Month: "2025-03", ClosedAt: at(2025, 4, 2, 9, 0), LogSequence: logSeq, ContentHash: "abc",
		Lines: claim, Totals: events.ClaimBatchTotals{Patients: 1, Lines: 2, Units: 2, UnitsByCode: map[string]int{"99490": 1, "99439": 1}}})
	r.caughtUp(t)

	pm := r.row(t, "p-1", "2025-03")
	if pm.BatchID != "batch-2025-03-1" || pm.BilledEvaluation == nil || pm.Evaluation.Status != rules.StatusBilled {
		t.Fatalf("after the batch: got batch %q billed %v status %s", pm.BatchID, pm.BilledEvaluation != nil, pm.Evaluation.Status)
	}
	if be := pm.BilledEvaluation; be.Status != rules.StatusBilled || be.CountedMinutes != 45 || lines(*be) != "99490x1 99439x1 " || be.HasFlag(rules.FlagPostCloseChange) {
		t.Errorf("billed evaluation: got %s %d min %s %v, want billed 45 min as billed, no post_close_change", be.Status, be.CountedMinutes, lines(*be), be.Flags)
	}
	// 65 minutes now: 99439 x2, not what was billed.
	if !pm.Evaluation.HasFlag(rules.FlagPostCloseChange) || lines(pm.Evaluation) != "99490x1 99439x2 " {
		t.Errorf("evaluation: got %s %v, want 99490x1 99439x2 with post_close_change", lines(pm.Evaluation), pm.Evaluation.Flags)
	}
	if pm.AsOfSequence != batch.Sequence {
		t.Errorf("AsOfSequence: got %d, want the batch event %d", pm.AsOfSequence, batch.Sequence)
	}
	if b, ok, _ := r.store.Batch(ctx(t), "batch-2025-03-1"); !ok || len(b.Lines) != 2 || b.Totals.ExpectedRevenueCent != 10600 || b.Sequence != batch.Sequence {
		t.Errorf("batch row: got %s", mustJSON(b))
	}
	funnel, _ := r.store.Patients(ctx(t))
	if funnel[0].FirstBilledMonth != "2025-03" || funnel[1].FirstBilledMonth != "" {
		t.Errorf("first billed months: got %q %q, want 2025-03 and none", funnel[0].FirstBilledMonth, funnel[1].FirstBilledMonth)
	}
	if got := r.row(t, "p-2", "2025-03"); got.BatchID != "" || got.Evaluation.Status != rules.StatusNotBillable {
		t.Errorf("p-2: got batch %q %s, want not billed", got.BatchID, got.Evaluation.Status)
	}
	// A later void keeps the month billed.
	w.patient("p-1", events.TypeTimeVoided, events.TimeVoided{EntryID: "e-1", Reason: "wrong patient"})
	r.caughtUp(t)
	if got := r.row(t, "p-1", "2025-03").Evaluation; got.Status != rules.StatusBilled || !got.HasFlag(rules.FlagPostCloseChange) || got.CountedMinutes != 20 {
		t.Errorf("after a void: got %s %d min %v, want billed, 20 min, post_close_change", got.Status, got.CountedMinutes, got.Flags)
	}
}

// Restarting the projection on the same store and log, after more events,
// gives exactly the rows of a rebuild from scratch; so does any flush size.
func TestRestartAndFlushSizesGiveIdenticalRows(t *testing.T) {
	log := openLog(t)
	w := newWriter(t, log)
	w.setup("America/New_York")
	// p-4 has no event after the restart: the resumed projection meets it
	// only through the store and the log.
	for _, id := range []string{"p-1", "p-2", "p-3", "p-4"} {
		w.enroll(id)
	}
	w.entry("p-1", "e-1", "rn", at(2025, 3, 4, 10, 0), 25)
	w.entry("p-2", "e-2", "rn", at(2025, 3, 5, 10, 0), 45)
	w.entry("p-3", "e-3", "ma", at(2025, 2, 5, 10, 0), 15)
	w.entry("p-4", "e-5", "ma", at(2025, 2, 5, 10, 0), 25)

	store := newStore()
	first := start(t, log, store, projection.Config{})
	first.caughtUp(t)
	// p-1's March is billed before the restart: the resumed projection
	// reads its billed state back from the store.
	early, _ := store.Checkpoint(ctx(t))
	var claim1 []events.ClaimLine
	for _, l := range first.row(t, "p-1", "2025-03").Evaluation.Lines {
		claim1 = append(claim1, events.ClaimLine{PatientID: "p-1", Code: l.Code, Units: l.Units, DateOfService: l.DateOfService, PractitionerNPI: l.PractitionerNPI, Diagnoses: l.Diagnoses, Evidence: l.Evidence})
	}
	w.append(events.BatchStream("2025-03"), "", events.TypeClaimBatchClosed, events.ClaimBatchClosed{
		ID: "batch-2025-03-0", Month: "2025-03", ClosedAt: at(2025, 4, 1, 9, 0), LogSequence: early, Lines: claim1,
		Totals: events.ClaimBatchTotals{Patients: 1, Lines: len(claim1)}})
	first.caughtUp(t)
	logSeq, _ := store.Checkpoint(ctx(t))
	p2 := first.row(t, "p-2", "2025-03").Evaluation
	first.stop()

	// While it is down: a batch bills p-2, and facts arrive for every patient.
	var claim []events.ClaimLine
	for _, l := range p2.Lines {
		claim = append(claim, events.ClaimLine{PatientID: "p-2", Code: l.Code, Units: l.Units, DateOfService: l.DateOfService, PractitionerNPI: l.PractitionerNPI, Diagnoses: l.Diagnoses, Evidence: l.Evidence})
	}
	w.append(events.BatchStream("2025-03"), "", events.TypeClaimBatchClosed, events.ClaimBatchClosed{
		ID: "batch-2025-03-1", Month: "2025-03", ClosedAt: at(2025, 4, 2, 9, 0), LogSequence: logSeq, Lines: claim,
		Totals: events.ClaimBatchTotals{Patients: 1, Lines: len(claim)}})
	w.entry("p-1", "e-4", "rn", at(2025, 3, 20, 10, 0), 20)
	w.patient("p-2", events.TypeTimeVoided, events.TimeVoided{EntryID: "e-2", Reason: "wrong patient"})
	w.patient("p-3", events.TypeConsentRevoked, events.ConsentRevoked{ConsentID: "c-p-3", RevokedAt: at(2025, 2, 20, 9, 0), RecordedBy: "RN Jo"})
	w.practice(events.TypePractitionerRegistered, events.PractitionerRegistered{NPI: npiB, Name: "NP B", Kind: "np", Credential: "FNP"})

	months := []string{"2024-12", "2025-01", "2025-02", "2025-03"}
	resumed := start(t, log, store, projection.Config{})
	resumed.caughtUp(t)
	got := dump(t, store, months...)
	june := rules.MustMonth("2025-06")
	otf, err := resumed.proj.Unevaluated(ctx(t), june, nil)
	if err != nil || len(otf) != 4 {
		t.Fatalf("Unevaluated after the restart: got %d rows, %v; want 4", len(otf), err)
	}
	if pm, ok, err := resumed.proj.Evaluate(ctx(t), "p-4", june); err != nil || !ok || pm.Evaluation.Status != rules.StatusNotBillable {
		t.Errorf("Evaluate p-4 after the restart: got %v %v %s", ok, err, pm.Evaluation.Status)
	}
	resumed.stop()

	for _, cfg := range []projection.Config{{}, {FlushEvery: 1}, {FlushEvery: 7, Workers: 1}} {
		fresh := newStore()
		r := start(t, log, fresh, cfg)
		r.caughtUp(t)
		if want := dump(t, fresh, months...); got != want {
			t.Fatalf("FlushEvery %d: resumed and rebuilt stores differ:\nresumed %s\nrebuilt %s", cfg.FlushEvery, got, want)
		}
		r.stop()
	}
	fresh := newStore()
	r := start(t, log, fresh, projection.Config{})
	r.caughtUp(t)
	if want, _ := r.proj.Unevaluated(ctx(t), june, nil); mustJSON(otf) != mustJSON(want) {
		t.Errorf("on-the-fly evaluations differ after a restart:\nresumed %s\nrebuilt %s", mustJSON(otf), mustJSON(want))
	}
	if pm := r.row(t, "p-1", "2025-03"); pm.BatchID != "batch-2025-03-0" || pm.Evaluation.Status != rules.StatusBilled || !pm.Evaluation.HasFlag(rules.FlagPostCloseChange) {
		t.Errorf("p-1 after restart: got batch %q %s %v, want billed in batch-2025-03-0 with post_close_change (e-4 came later)", pm.BatchID, pm.Evaluation.Status, pm.Evaluation.Flags)
	}
	pm := r.row(t, "p-2", "2025-03")
	if pm.BatchID != "batch-2025-03-1" || pm.Evaluation.Status != rules.StatusBilled || !pm.Evaluation.HasFlag(rules.FlagPostCloseChange) {
		t.Errorf("p-2 after restart: got %s %v, want billed with post_close_change", pm.Evaluation.Status, pm.Evaluation.Flags)
	}
}

func TestEvaluateOnTheFlyAndAsOf(t *testing.T) {
	log := openLog(t)
	w := newWriter(t, log)
	w.setup("America/New_York")
	w.recorded = at(2025, 3, 1, 9, 0)
	w.enroll("p-1")
	w.recorded = at(2025, 3, 10, 9, 0)
	first := w.entry("p-1", "e-1", "rn", at(2025, 3, 4, 10, 0), 15)
	w.recorded = at(2025, 3, 20, 9, 0)
	w.entry("p-1", "e-2", "rn", at(2025, 3, 18, 10, 0), 10)
	r := start(t, log, newStore(), projection.Config{})
	r.caughtUp(t)

	march := rules.MustMonth("2025-03")
	if pm, ok, err := r.proj.Evaluate(ctx(t), "p-1", rules.MustMonth("2025-06")); err != nil || !ok || pm.Evaluation.Status != rules.StatusNotBillable || pm.Evaluation.CountedMinutes != 0 {
		t.Errorf("June on the fly: got ok=%v %s, want not_billable with 0 minutes", ok, mustJSON(pm))
	}
	if _, ok, _ := r.proj.Evaluate(ctx(t), "p-9", march); ok {
		t.Error("an unknown patient: got an evaluation, want none")
	}
	pm, ok, err := projection.EvaluateAsOf(ctx(t), log, "p-1", march, at(2025, 3, 15, 0, 0))
	if err != nil || !ok {
		t.Fatalf("EvaluateAsOf: %v %v", ok, err)
	}
	if pm.Evaluation.CountedMinutes != 15 || pm.AsOfSequence != first.Sequence || pm.Evaluation.Status != rules.StatusNotBillable {
		t.Errorf("as of 15 March: got %d min, asOf %d, %s; want 15, %d, not_billable", pm.Evaluation.CountedMinutes, pm.AsOfSequence, pm.Evaluation.Status, first.Sequence)
	}
	if _, ok, _ := projection.EvaluateAsOf(ctx(t), log, "p-1", march, at(2025, 2, 1, 0, 0)); ok {
		t.Error("as of before the enrolment: got an evaluation, want none")
	}
	now, _, _ := projection.EvaluateAsOf(ctx(t), log, "p-1", march, time.Time{})
	if stored := r.row(t, "p-1", "2025-03"); mustJSON(now.Evaluation) != mustJSON(stored.Evaluation) || now.Evaluation.CountedMinutes != 25 {
		t.Errorf("no cut: got %s, want the stored evaluation %s", mustJSON(now.Evaluation), mustJSON(stored.Evaluation))
	}
}

// MinuteTotals' counted minutes add up to the evaluation's.
func TestMinuteTotalsAddUp(t *testing.T) {
	log := openLog(t)
	w := newWriter(t, log)
	w.setup("America/New_York")
	w.enroll("p-1")
	w.entry("p-1", "e-1", "rn", at(2025, 3, 4, 10, 0), 15, "tcm", "ccm")
	w.entry("p-1", "e-2", "rn", at(2025, 3, 4, 10, 5), 30) // overlaps e-1 for 10 minutes
	w.entry("p-1", "e-3", "physician", at(2025, 3, 31, 23, 40), 40)
	w.entry("p-1", "e-4", "rn", at(2025, 3, 9, 10, 0), 20, "rpm")
	r := start(t, log, newStore(), projection.Config{})
	r.caughtUp(t)
	for _, m := range []string{"2025-03", "2025-04"} {
		ev := r.row(t, "p-1", m).Evaluation
		totals, _ := r.store.Totals(ctx(t), m)
		sum := 0
		for _, x := range totals {
			sum += x.Counted
		}
		if sum != ev.CountedMinutes {
			t.Errorf("%s: totals count %d, evaluation %d: %s", m, sum, ev.CountedMinutes, mustJSON(totals))
		}
	}
}

// failingStore fails every Commit.
type failingStore struct{ *memory.Store }

func (failingStore) Commit(context.Context, readmodel.Changes, uint64) error {
	return errors.New("disk full")
}

// A failing commit stops the runner with the error; nothing is reported
// as applied.
func TestCommitFailureStopsTheRunner(t *testing.T) {
	log := openLog(t)
	w := newWriter(t, log)
	w.setup("America/New_York")
	w.enroll("p-1")
	r := start(t, log, failingStore{newStore()}, projection.Config{})
	select {
	case err := <-r.done:
		r.cancel = nil
		if err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Fatalf("Run: got %v, want the commit error", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not stop")
	}
	if pos := r.runner.Position(); pos != 0 {
		t.Errorf("Position: got %d, want 0", pos)
	}
}

// flakyStore fails its failAt-th Commit (counting from 1) and no other,
// and reports itself durable or not as told.
type flakyStore struct {
	*memory.Store
	durable   bool
	failAt, n int
	mu        sync.Mutex
	through   []uint64 // the checkpoints of the commits that succeeded
}

func (s *flakyStore) Durable() bool { return s.durable }

func (s *flakyStore) Commit(ctx context.Context, c readmodel.Changes, through uint64) error {
	s.mu.Lock()
	s.n++
	fail := s.n == s.failAt
	if !fail {
		s.through = append(s.through, through)
	}
	s.mu.Unlock()
	if fail {
		return errors.New("connection reset")
	}
	return s.Store.Commit(ctx, c, through)
}

// The projection's own flushes (every FlushEvery events) commit in the
// background while the fold goes on. One of them failing stops the Runner
// with its error, before the Runner reports any later event applied; a
// restart on the same store resumes from the last commit that succeeded
// and ends with the rows of a rebuild from scratch.
func TestBackgroundCommitFailureStopsAndResumes(t *testing.T) {
	log := openLog(t)
	w := newWriter(t, log)
	w.setup("America/New_York")
	w.enrollWithMarchEntries(6)
	store := &flakyStore{Store: newStore(), failAt: 3}
	r := start(t, log, store, projection.Config{FlushEvery: 5})
	select {
	case err := <-r.done:
		r.cancel = nil
		if err == nil || !strings.Contains(err.Error(), "connection reset") {
			t.Fatalf("Run: got %v, want the failed commit's error", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not stop")
	}
	store.mu.Lock()
	good := slices.Clone(store.through)
	store.mu.Unlock()
	if len(good) < 2 {
		t.Fatalf("commits before the failure: %v, want the first two", good)
	}
	if pos, cp := r.runner.Position(), good[1]; pos > cp {
		t.Errorf("Position after the failure: %d, past the last commit that succeeded (%d)", pos, cp)
	}
	if cp, _ := store.Checkpoint(ctx(t)); cp != good[1] {
		t.Errorf("store checkpoint after the failure: %d, want %d", cp, good[1])
	}

	resumed := start(t, log, store, projection.Config{FlushEvery: 5})
	resumed.caughtUp(t)
	fresh := newStore()
	rebuilt := start(t, log, fresh, projection.Config{})
	rebuilt.caughtUp(t)
	if got, want := dump(t, store, "2025-03"), dump(t, fresh, "2025-03"); got != want {
		t.Fatalf("resumed after a failed background commit and rebuilt differ:\nresumed %s\nrebuilt %s", got, want)
	}
}

// Config.FlushEvery's default follows the store: a durable store is
// committed every defaultFlushEvery events while the projection catches
// up, a volatile one once, at the end of the log, with the same rows.
func TestDefaultFlushEveryFollowsDurability(t *testing.T) {
	defer projection.SetDefaultFlushEvery(4)()
	log := openLog(t)
	w := newWriter(t, log)
	w.setup("America/New_York")
	w.enrollWithMarchEntries(5)
	last, err := log.LastSequence(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	var every4 []uint64
	for cp := uint64(4); cp < last; cp += 4 {
		every4 = append(every4, cp)
	}
	every4 = append(every4, last)
	for _, tc := range []struct {
		durable bool
		want    []uint64
	}{
		{durable: false, want: []uint64{last}},
		{durable: true, want: every4},
	} {
		store := &flakyStore{Store: newStore(), durable: tc.durable}
		r := start(t, log, store, projection.Config{})
		r.caughtUp(t)
		r.stop()
		store.mu.Lock()
		got := slices.Clone(store.through)
		store.mu.Unlock()
		if !slices.Equal(got, tc.want) {
			t.Errorf("durable %v: commits through %v, want %v", tc.durable, got, tc.want)
		}
		rows = append(rows, dump(t, store, "2025-03"))
	}
	if rows[0] != rows[1] {
		t.Fatalf("volatile and durable stores differ:\nvolatile %s\ndurable  %s", rows[0], rows[1])
	}
}
