package batches

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/errs"
	"github.com/carelog/carelog/pkg/eventlog"
	"github.com/carelog/carelog/pkg/projection"
	"github.com/carelog/carelog/services/billing/internal/readmodel"
	"github.com/carelog/carelog/services/billing/rules"
)

// batchEvents reads the month's batch stream.
func batchEvents(t *testing.T, log eventlog.Log, month string) ([]eventlog.Record, []events.ClaimBatchClosed) {
	t.Helper()
	var recs []eventlog.Record
	var ps []events.ClaimBatchClosed
	for rec, err := range log.ReadStream(context.Background(), events.BatchStream(month), 0) {
		if err != nil {
			t.Fatalf("read batch stream: %v", err)
		}
		p, err := decode(rec)
		if err != nil {
			t.Fatal(err)
		}
		recs, ps = append(recs, rec), append(ps, p)
	}
	return recs, ps
}

func patientsOf(lines []readmodel.BatchLine) []string {
	var out []string
	for _, l := range lines {
		if len(out) == 0 || out[len(out)-1] != l.PatientID {
			out = append(out, l.PatientID)
		}
	}
	return out
}

func codesOf(lines []readmodel.BatchLine) []string {
	var out []string
	for _, l := range lines {
		out = append(out, fmt.Sprintf("%s:%s×%d", l.PatientID, l.Code, l.Units))
	}
	return out
}

// replayTo rebuilds a fresh store from the log up to seq with the same
// projection and recomputes month's batch: the audit service's verification
// (issue 6) in miniature.
func replayTo(t *testing.T, log eventlog.Log, month string, seq uint64) string {
	t.Helper()
	ctx := context.Background()
	store := openStore(t)
	p := newMinutesProjection(store)
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
	rows, err := store.Month(ctx, month)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Compute(month, rows, seq)
	if err != nil {
		t.Fatalf("recompute at %d: %v", seq, err)
	}
	return Hash(c)
}

func TestCloseMonth(t *testing.T) {
	ctx := context.Background()
	n := startNode(t)
	clk := &testClock{now: testNow}
	r := startReplica(t, n.log, clk)
	recordMinutes(t, n.log, "p-1", 25)
	recordMinutes(t, n.log, "p-2", 10)
	last := recordMinutes(t, n.log, "p-3", 45)

	res, err := r.closer.Close(ctx, CloseRequest{Month: "2025-03", Meta: meta("")})
	if err != nil {
		t.Fatalf("Close: %v", err)
	}
	b := res.Batch
	if !res.Created || b.ID != "batch-2025-03-1" || b.Month != "2025-03" || !b.ClosedAt.Equal(testNow) {
		t.Errorf("got created %v, id %s, month %s, closedAt %v; want true, batch-2025-03-1, 2025-03, %v", res.Created, b.ID, b.Month, b.ClosedAt, testNow)
	}
	if got, want := codesOf(b.Lines), []string{"p-1:99490×1", "p-3:99490×1", "p-3:99439×1"}; !reflect.DeepEqual(got, want) {
		t.Errorf("lines: got %v, want %v (p-2 has 10 minutes)", got, want)
	}
	if b.LogSequence != last {
		t.Errorf("logSequence: got %d, want %d (the last event the read model applied)", b.LogSequence, last)
	}
	if b.Totals.Patients != 2 || b.Totals.Lines != 3 || b.Totals.Units["99490"] != 2 || b.Totals.ExpectedRevenueCent != 2*6000+4600 {
		t.Errorf("totals: got %+v", b.Totals)
	}
	if b.Lines[0].Evidence[0] == "" || len(b.Lines[2].Evidence) != 1 {
		t.Errorf("evidence: got %v", b.Lines)
	}

	recs, ps := batchEvents(t, n.log, "2025-03")
	if len(recs) != 1 {
		t.Fatalf("batch stream: got %d events, want 1", len(recs))
	}
	rec, p := recs[0], ps[0]
	if rec.Type != events.TypeClaimBatchClosed || rec.Actor.Role != "biller" || rec.ID != b.EventID || rec.Sequence != b.Sequence || rec.Sequence <= p.LogSequence {
		t.Errorf("event: got %s by %s, id %s seq %d (logSequence %d); want claim_batch.closed by biller, id %s seq %d", rec.Type, rec.Actor.Role, rec.ID, rec.Sequence, p.LogSequence, b.EventID, b.Sequence)
	}
	if len(p.ContentHash) != 64 || p.ContentHash != b.ContentHash || Hash(ContentOf(p)) != p.ContentHash {
		t.Errorf("content hash: event %s, read model %s, recomputed from the event %s", p.ContentHash, b.ContentHash, Hash(ContentOf(p)))
	}
	// The read model marks the months billed.
	for pid, want := range map[string]string{"p-1": b.ID, "p-2": "", "p-3": b.ID} {
		row, _, err := r.store.PatientMonth(ctx, pid, "2025-03")
		if err != nil {
			t.Fatal(err)
		}
		if row.BatchID != want {
			t.Errorf("%s: got batch %q, want %q", pid, row.BatchID, want)
		}
	}
	// Replaying the log to logSequence reproduces the hash byte for byte.
	if got := replayTo(t, n.log, "2025-03", p.LogSequence); got != p.ContentHash {
		t.Errorf("replay to %d: got hash %s, want %s", p.LogSequence, got, p.ContentHash)
	}
	// A second process rebuilding from the log holds the same batch.
	r2 := startReplica(t, n.log, clk)
	if err := r2.runner.CaughtUp(ctx); err != nil {
		t.Fatal(err)
	}
	b2, ok, err := r2.store.Batch(ctx, b.ID)
	if err != nil || !ok || !reflect.DeepEqual(b2, b) {
		t.Errorf("rebuilt read model: got %+v (ok %v, err %v), want %+v", b2, ok, err, b)
	}
}

func TestCloseAgainTakesOnlyNewlyBillable(t *testing.T) {
	ctx := context.Background()
	n := startNode(t)
	clk := &testClock{now: testNow}
	r := startReplica(t, n.log, clk)
	recordMinutes(t, n.log, "p-1", 25)
	recordMinutes(t, n.log, "p-2", 10)
	first, err := r.closer.Close(ctx, CloseRequest{Month: "2025-03", Meta: meta("")})
	if err != nil {
		t.Fatal(err)
	}

	_, err = r.closer.Close(ctx, CloseRequest{Month: "2025-03", Meta: meta("")})
	if errs.KindOf(err) != errs.Conflict || !errors.Is(err, ErrNothingToBill) {
		t.Fatalf("second close with nothing new: got %v, want a conflict wrapping ErrNothingToBill", err)
	}

	recordMinutes(t, n.log, "p-2", 15) // p-2 reaches 25: billable
	recordMinutes(t, n.log, "p-1", 20) // late minutes for a billed month
	second, err := r.closer.Close(ctx, CloseRequest{Month: "2025-03", Meta: meta("")})
	if err != nil {
		t.Fatal(err)
	}
	if second.Batch.ID != "batch-2025-03-2" || !reflect.DeepEqual(patientsOf(second.Batch.Lines), []string{"p-2"}) {
		t.Errorf("second batch: got %s with %v, want batch-2025-03-2 with p-2 only", second.Batch.ID, patientsOf(second.Batch.Lines))
	}
	row, _, err := r.store.PatientMonth(ctx, "p-1", "2025-03")
	if err != nil {
		t.Fatal(err)
	}
	if row.BatchID != first.Batch.ID || row.Evaluation.Status != rules.StatusBilled || !row.Evaluation.HasFlag(rules.FlagPostCloseChange) {
		t.Errorf("p-1 after late minutes: got batch %s, status %s, flags %v; want %s, billed, post_close_change", row.BatchID, row.Evaluation.Status, row.Evaluation.Flags, first.Batch.ID)
	}
	list, err := r.store.Batches(ctx, "2025-03")
	if err != nil || len(list) != 2 || list[0].ID != first.Batch.ID || list[1].ID != second.Batch.ID {
		t.Errorf("batches of the month: got %v (err %v), want both in order", list, err)
	}
	_, ps := batchEvents(t, n.log, "2025-03")
	for _, p := range ps {
		if got := replayTo(t, n.log, "2025-03", p.LogSequence); got != p.ContentHash {
			t.Errorf("%s: replay to %d gives %s, want %s", p.ID, p.LogSequence, got, p.ContentHash)
		}
	}
}

// TestConcurrentCloses: closers in two processes (two read models on one
// log), several requests each, while new patients become billable. No
// patient-month may land in two batches, and every billable one ends up in
// exactly one.
func TestConcurrentCloses(t *testing.T) {
	ctx := context.Background()
	n := startNode(t)
	clk := &testClock{now: testNow}
	replicas := []*replica{startReplica(t, n.log, clk), startReplica(t, n.log, clk)}
	const initial, later = 10, 10
	for i := range initial {
		recordMinutes(t, n.log, fmt.Sprintf("p-%02d", i), 20+i)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var created int
	var failures []error
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 3 {
				res, err := replicas[g%2].closer.Close(ctx, CloseRequest{Month: "2025-03", Meta: meta("")})
				mu.Lock()
				switch {
				case err == nil && res.Created:
					created++
				case err != nil && !(errs.KindOf(err) == errs.Conflict && errors.Is(err, ErrNothingToBill)):
					failures = append(failures, err)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range later {
			recordMinutes(t, n.log, fmt.Sprintf("p-%02d", initial+i), 30)
		}
	}()
	wg.Wait()
	for _, err := range failures {
		t.Errorf("concurrent close: %v", err)
	}
	// Bill whatever arrived after the last concurrent close.
	if _, err := replicas[0].closer.Close(ctx, CloseRequest{Month: "2025-03", Meta: meta("")}); err == nil {
		created++
	} else if !errors.Is(err, ErrNothingToBill) {
		t.Fatal(err)
	}

	recs, ps := batchEvents(t, n.log, "2025-03")
	if len(ps) != created || created < 1 {
		t.Errorf("got %d batch events, %d closes reported created", len(ps), created)
	}
	billedIn := map[string]string{}
	for i, p := range ps {
		if want := fmt.Sprintf("batch-2025-03-%d", i+1); p.ID != want {
			t.Errorf("batch %d: got id %s, want %s", i, p.ID, want)
		}
		if Hash(ContentOf(p)) != p.ContentHash {
			t.Errorf("%s: content hash does not match its content", p.ID)
		}
		if p.LogSequence >= recs[i].Sequence {
			t.Errorf("%s: logSequence %d not before its own event %d", p.ID, p.LogSequence, recs[i].Sequence)
		}
		for _, l := range p.Lines {
			if other, ok := billedIn[l.PatientID]; ok && other != p.ID {
				t.Errorf("patient-month %s/2025-03 is in %s and %s", l.PatientID, other, p.ID)
			}
			billedIn[l.PatientID] = p.ID
		}
	}
	var billed []string
	for pid := range billedIn {
		billed = append(billed, pid)
	}
	sort.Strings(billed)
	if len(billed) != initial+later {
		t.Errorf("billed patients: got %d %v, want all %d", len(billed), billed, initial+later)
	}
	for _, p := range ps {
		if got := replayTo(t, n.log, "2025-03", p.LogSequence); got != p.ContentHash {
			t.Errorf("%s: replay to %d gives %s, want %s", p.ID, p.LogSequence, got, p.ContentHash)
		}
	}
}

func TestCloseIdempotencyKey(t *testing.T) {
	ctx := context.Background()
	n := startNode(t)
	clk := &testClock{now: testNow}
	r := startReplica(t, n.log, clk)
	recordMinutes(t, n.log, "p-1", 25)
	first, err := r.closer.Close(ctx, CloseRequest{Month: "2025-03", Meta: meta("key-1")})
	if err != nil || !first.Created {
		t.Fatalf("first close: got %+v, %v", first, err)
	}
	clk.Set(testNow.Add(time.Hour))
	recordMinutes(t, n.log, "p-2", 30) // billable now, but the retry must not take it
	again, err := r.closer.Close(ctx, CloseRequest{Month: "2025-03", Meta: meta("key-1")})
	if err != nil {
		t.Fatal(err)
	}
	if again.Created || !reflect.DeepEqual(again.Batch, first.Batch) {
		t.Errorf("retry: got created %v, batch %+v; want the original %+v", again.Created, again.Batch, first.Batch)
	}
	// The key is remembered by the stream itself: another process answers
	// the same.
	r2 := startReplica(t, n.log, clk)
	other, err := r2.closer.Close(ctx, CloseRequest{Month: "2025-03", Meta: meta("key-1")})
	if err != nil || other.Created || other.Batch.ID != first.Batch.ID || other.Batch.ContentHash != first.Batch.ContentHash {
		t.Errorf("retry in another process: got %+v, %v", other, err)
	}
	// The key is scoped to its route: the same key on another month is
	// another request.
	m := meta("key-1")
	m.Route = "POST /v1/billing/months/2025-02/claim-batches"
	if _, err := r.closer.Close(ctx, CloseRequest{Month: "2025-02", Meta: m}); !errors.Is(err, ErrNothingToBill) {
		t.Errorf("same key, other month: got %v, want nothing to bill", err)
	}
	next, err := r.closer.Close(ctx, CloseRequest{Month: "2025-03", Meta: meta("key-2")})
	if err != nil || !next.Created || next.Batch.ID != "batch-2025-03-2" || !reflect.DeepEqual(patientsOf(next.Batch.Lines), []string{"p-2"}) {
		t.Errorf("new key: got %+v, %v; want batch-2025-03-2 with p-2", next, err)
	}
	if recs, _ := batchEvents(t, n.log, "2025-03"); len(recs) != 2 {
		t.Errorf("batch stream: got %d events, want 2", len(recs))
	}
}

func TestCloseMonthChecks(t *testing.T) {
	ctx := context.Background()
	n := startNode(t)
	clk := &testClock{now: testNow}
	r := startReplica(t, n.log, clk)
	recordMinutes(t, n.log, "p-1", 25)
	tests := []struct {
		month string
		force bool
		now   time.Time
		loc   string
		want  errs.Kind
		field string
	}{
		{month: "2025-3", want: errs.Invalid, field: "month"},
		{month: "march", want: errs.Invalid, field: "month"},
		{month: "2025-05", want: errs.Invalid, field: "month"},                                                             // future
		{month: "2025-04", want: errs.Conflict},                                                                            // in progress
		{month: "2025-04", force: true, want: errs.Conflict},                                                               // forced, but nothing to bill
		{month: "2025-03", now: time.Date(2025, 4, 1, 2, 0, 0, 0, time.UTC), loc: "America/New_York", want: errs.Conflict}, // still 31 March in New York
		{month: "2025-03", now: time.Date(2025, 4, 1, 2, 0, 0, 0, time.UTC), want: errs.Conflict},                          // not over everywhere
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s force=%v %s", tt.month, tt.force, tt.loc), func(t *testing.T) {
			c := *r.closer
			if !tt.now.IsZero() {
				c.Now = func() time.Time { return tt.now }
			}
			if tt.loc != "" {
				loc, err := time.LoadLocation(tt.loc)
				if err != nil {
					t.Fatal(err)
				}
				c.Location = func(context.Context) (*time.Location, error) { return loc, nil }
			}
			_, err := c.Close(ctx, CloseRequest{Month: tt.month, Force: tt.force, Meta: meta("")})
			if errs.KindOf(err) != tt.want {
				t.Fatalf("got %v, want kind %s", err, tt.want)
			}
			var e *errs.Error
			if tt.field != "" && (!errors.As(err, &e) || e.Field != tt.field) {
				t.Errorf("got %v, want field %s", err, tt.field)
			}
		})
	}
	if recs, _ := batchEvents(t, n.log, "2025-03"); len(recs) != 0 {
		t.Errorf("refused closes wrote %d events", len(recs))
	}
	// Forcing the month in progress closes it.
	recordMinutesAt(t, n.log, "p-9", 20, time.Date(2025, 4, 1, 15, 0, 0, 0, time.UTC))
	res, err := r.closer.Close(ctx, CloseRequest{Month: "2025-04", Force: true, Meta: meta("")})
	if err != nil || res.Batch.ID != "batch-2025-04-1" || res.Batch.Lines[0].DateOfService != "2025-04-30" {
		t.Errorf("forced close of April: got %+v, %v", res.Batch, err)
	}
}

// TestCloseWaitsForTheReadModel: a closer whose projection does not run
// answers unavailable within its Wait and writes nothing.
func TestCloseWaitsForTheReadModel(t *testing.T) {
	n := startNode(t)
	recordMinutes(t, n.log, "p-1", 25)
	store := openStore(t)
	c := &Closer{Log: n.log, Store: store, Runner: projection.NewRunner(n.log, newMinutesProjection(store)),
		Now: func() time.Time { return testNow }, Wait: 100 * time.Millisecond}
	if _, err := c.Close(context.Background(), CloseRequest{Month: "2025-03", Meta: meta("")}); errs.KindOf(err) != errs.Unavailable {
		t.Fatalf("got %v, want unavailable", err)
	}
	if recs, _ := batchEvents(t, n.log, "2025-03"); len(recs) != 0 {
		t.Errorf("got %d batch events, want none", len(recs))
	}
}
