// Package eventlogtest is the contract suite every eventlog.Log
// implementation must pass (STYLE.md rule 15). Run it from the
// implementation's tests with Run and a Harness that starts the real backend.
package eventlogtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/errs"
	"github.com/carelog/carelog/pkg/eventlog"
)

// Instance is one log over one store, as the harness opened it.
type Instance interface {
	// Log is the log under test.
	Log() eventlog.Log
	// Restart stops the backend (as a shutdown would), starts it again on the
	// same store and returns the reopened log.
	Restart(t *testing.T) eventlog.Log
	// TamperedCopy copies the store into a fresh log, passing each stored
	// event through edit (by sequence) without resealing it: edit may change
	// it, or return keep=false to drop it. The copy keeps the original order
	// unless swap names two sequences to exchange.
	TamperedCopy(t *testing.T, edit func(seq uint64, e *events.Envelope) (keep bool), swap [2]uint64) eventlog.Log
}

// Harness opens fresh, empty instances.
type Harness struct {
	Open func(t *testing.T) Instance
}

// Run runs the whole contract suite.
func Run(t *testing.T, h Harness) {
	tests := []struct {
		name string
		fn   func(*testing.T, Harness)
	}{
		{"AppendAndReadBack", testAppendAndReadBack},
		{"InvalidEnvelopeWritesNothing", testInvalid},
		{"ConcurrentAppendsOneWins", testConcurrentOneWins},
		{"StaleRevisionConflicts", testStaleRevision},
		{"DuplicateReturnsOriginal", testDuplicate},
		{"DuplicateAfterLaterAppends", testDuplicateAfterLater},
		{"AnyRevisionChainsUnderConcurrency", testAnyConcurrent},
		{"StreamHistoryInOrder", testStreamOrder},
		{"LongStreamAndSnapshot", testLongStream},
		{"ReadAllInLogOrder", testReadAllOrder},
		{"SubscribeCatchesUpThenFollows", testSubscribe},
		{"TamperedPayloadDetected", testTamperedPayload},
		{"RemovedEventDetected", testRemoved},
		{"ReorderedEventsDetected", testReordered},
		{"RestartLosesNothing", testRestart},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, h) })
	}
}

var t0 = time.Date(2025, 3, 4, 15, 0, 0, 0, time.UTC)

// Event builds an unsealed test event for stream with a small JSON payload.
func Event(id, stream string, n int) events.Envelope {
	data, _ := json.Marshal(map[string]any{"n": n, "note": "care <coordination> & follow-up"})
	patient := ""
	if len(stream) > 8 && stream[:8] == "patient." {
		patient = stream[8:]
	}
	return events.Envelope{
		ID: id, Type: "test.happened", Version: 1, Stream: stream, PatientID: patient,
		OccurredAt: t0.Add(time.Duration(n) * time.Minute), RecordedAt: t0.Add(time.Duration(n)*time.Minute + time.Second),
		Actor: events.Actor{ID: "rn-4", Role: "clinician", App: "contract-suite"},
		Data:  data,
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

func mustAppend(t *testing.T, l eventlog.Log, rev eventlog.Revision, e events.Envelope) eventlog.AppendResult {
	t.Helper()
	res, err := l.Append(ctx(t), rev, e)
	if err != nil {
		t.Fatalf("Append(%s): %v", e.ID, err)
	}
	return res
}

// Stream collects a whole stream, failing the test on any error.
func Stream(t *testing.T, l eventlog.Log, stream string, from uint64) []eventlog.Record {
	t.Helper()
	var out []eventlog.Record
	for rec, err := range l.ReadStream(ctx(t), stream, from) {
		if err != nil {
			t.Fatalf("ReadStream(%s, %d): %v", stream, from, err)
		}
		out = append(out, rec)
	}
	return out
}

// All collects the whole log from a sequence, failing the test on error.
func All(t *testing.T, l eventlog.Log, from uint64) []eventlog.Record {
	t.Helper()
	var out []eventlog.Record
	for rec, err := range l.ReadAll(ctx(t), from) {
		if err != nil {
			t.Fatalf("ReadAll(%d): %v", from, err)
		}
		out = append(out, rec)
	}
	return out
}

func ids(recs []eventlog.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.ID
	}
	return out
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func testAppendAndReadBack(t *testing.T, h Harness) {
	l := h.Open(t).Log()
	e := Event("e-1", "patient.p-1", 1)
	res := mustAppend(t, l, eventlog.NoStream, e)
	if res.Sequence == 0 || res.Duplicate {
		t.Fatalf("got sequence %d duplicate %v, want a new position", res.Sequence, res.Duplicate)
	}
	if res.Event.Hash == "" || res.Event.PrevHash != "" {
		t.Fatalf("got hash %q prevHash %q, want sealed first event", res.Event.Hash, res.Event.PrevHash)
	}
	res2 := mustAppend(t, l, eventlog.Revision(res.Sequence), Event("e-2", "patient.p-1", 2))
	if res2.Event.PrevHash != res.Event.Hash {
		t.Fatalf("got prevHash %q, want %q", res2.Event.PrevHash, res.Event.Hash)
	}
	got := Stream(t, l, "patient.p-1", 0)
	if len(got) != 2 {
		t.Fatalf("got %d events, want 2", len(got))
	}
	r := got[0]
	if r.Sequence != res.Sequence || r.ID != e.ID || r.Type != e.Type || r.Version != 1 || r.PatientID != "p-1" ||
		!r.OccurredAt.Equal(e.OccurredAt) || !r.RecordedAt.Equal(e.RecordedAt) || r.Actor != e.Actor || r.Hash != res.Event.Hash {
		t.Fatalf("got %+v, want the appended event %+v at %d", r, e, res.Sequence)
	}
	var payload map[string]any
	if err := json.Unmarshal(r.Data, &payload); err != nil || payload["note"] != "care <coordination> & follow-up" {
		t.Fatalf("got payload %s (%v), want the original note", r.Data, err)
	}
	if last, err := l.LastSequence(ctx(t)); err != nil || last != res2.Sequence {
		t.Fatalf("got LastSequence %d (%v), want %d", last, err, res2.Sequence)
	}
}

func testInvalid(t *testing.T, h Harness) {
	l := h.Open(t).Log()
	bad := []events.Envelope{
		func() events.Envelope { e := Event("e-1", "patient.p-1", 1); e.ID = ""; return e }(),
		func() events.Envelope { e := Event("e-2", "patient.p.1", 1); return e }(),
		func() events.Envelope { e := Event("e-3", "patient.p-1", 1); e.Data = []byte("{"); return e }(),
		func() events.Envelope { e := Event("e-4", "nosuchcategory.x", 1); return e }(),
	}
	for _, e := range bad {
		_, err := l.Append(ctx(t), eventlog.Any, e)
		if errs.KindOf(err) != errs.Invalid {
			t.Errorf("Append(%q on %q): got %v, want an invalid error", e.ID, e.Stream, err)
		}
	}
	if last, err := l.LastSequence(ctx(t)); err != nil || last != 0 {
		t.Fatalf("got LastSequence %d (%v), want 0: rejected events must write nothing", last, err)
	}
}

func testConcurrentOneWins(t *testing.T, h Harness) {
	l := h.Open(t).Log()
	first := mustAppend(t, l, eventlog.NoStream, Event("e-0", "patient.p-1", 0))
	const n = 8
	var wg sync.WaitGroup
	results := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, results[i] = l.Append(ctx(t), eventlog.Revision(first.Sequence), Event(fmt.Sprintf("c-%d", i), "patient.p-1", i+1))
		}()
	}
	wg.Wait()
	wins := 0
	for i, err := range results {
		var ce *eventlog.ConflictError
		switch {
		case err == nil:
			wins++
		case errors.As(err, &ce) && errors.Is(err, errs.ErrConflict):
			if ce.Stream != "patient.p-1" || ce.Expected != eventlog.Revision(first.Sequence) {
				t.Errorf("writer %d: got conflict %+v, want stream patient.p-1 at %d", i, ce, first.Sequence)
			}
		default:
			t.Errorf("writer %d: got %v, want success or a conflict", i, err)
		}
	}
	if wins != 1 {
		t.Fatalf("got %d winners, want exactly 1", wins)
	}
	if got := Stream(t, l, "patient.p-1", 0); len(got) != 2 {
		t.Fatalf("got %d events, want 2", len(got))
	}
}

func testStaleRevision(t *testing.T, h Harness) {
	l := h.Open(t).Log()
	a := mustAppend(t, l, eventlog.NoStream, Event("e-1", "patient.p-1", 1))
	mustAppend(t, l, eventlog.Revision(a.Sequence), Event("e-2", "patient.p-1", 2))
	for _, rev := range []eventlog.Revision{eventlog.NoStream, eventlog.Revision(a.Sequence)} {
		_, err := l.Append(ctx(t), rev, Event("e-3", "patient.p-1", 3))
		if !errors.Is(err, errs.ErrConflict) {
			t.Errorf("Append at stale revision %d: got %v, want conflict", rev, err)
		}
	}
	// Another stream is independent of this one.
	mustAppend(t, l, eventlog.NoStream, Event("f-1", "patient.p-2", 1))
	if got := ids(Stream(t, l, "patient.p-1", 0)); !equal(got, []string{"e-1", "e-2"}) {
		t.Fatalf("got %v, want [e-1 e-2]", got)
	}
}

func testDuplicate(t *testing.T, h Harness) {
	l := h.Open(t).Log()
	e := Event("e-1", "patient.p-1", 1)
	first := mustAppend(t, l, eventlog.NoStream, e)
	retry := e
	retry.RecordedAt = retry.RecordedAt.Add(time.Minute) // a retry is built again, later
	for _, rev := range []eventlog.Revision{eventlog.NoStream, eventlog.Any} {
		again, err := l.Append(ctx(t), rev, retry)
		if err != nil {
			t.Fatalf("retry at %d: %v", rev, err)
		}
		if !again.Duplicate || again.Sequence != first.Sequence || again.Event.Hash != first.Event.Hash {
			t.Fatalf("retry at %d: got seq %d dup %v hash %s, want the original %d %s", rev, again.Sequence, again.Duplicate, again.Event.Hash, first.Sequence, first.Event.Hash)
		}
	}
	if got := All(t, l, 0); len(got) != 1 {
		t.Fatalf("got %d events, want 1", len(got))
	}
}

func testDuplicateAfterLater(t *testing.T, h Harness) {
	l := h.Open(t).Log()
	e := Event("e-1", "patient.p-1", 1)
	first := mustAppend(t, l, eventlog.NoStream, e)
	mustAppend(t, l, eventlog.Revision(first.Sequence), Event("e-2", "patient.p-1", 2))
	again, err := l.Append(ctx(t), eventlog.NoStream, e)
	if err != nil || !again.Duplicate || again.Sequence != first.Sequence {
		t.Fatalf("late retry: got %+v %v, want duplicate of %d", again, err, first.Sequence)
	}
	if got := ids(Stream(t, l, "patient.p-1", 0)); !equal(got, []string{"e-1", "e-2"}) {
		t.Fatalf("got %v, want [e-1 e-2]", got)
	}
}

func testAnyConcurrent(t *testing.T, h Harness) {
	l := h.Open(t).Log()
	const n = 12
	var wg sync.WaitGroup
	errc := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := l.Append(ctx(t), eventlog.Any, Event(fmt.Sprintf("a-%d", i), "patient.p-1", i))
			errc <- err
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Fatalf("Append(Any): %v", err)
		}
	}
	if got := Stream(t, l, "patient.p-1", 0); len(got) != n {
		t.Fatalf("got %d events, want %d (chain verified)", len(got), n)
	}
}

// A stream longer than any read batch comes back whole and in order, and a
// read covers the stream as it was when the read began: events appended
// while it runs are not yielded.
func testLongStream(t *testing.T, h Harness) {
	l := h.Open(t).Log()
	const n = 2500
	rev := eventlog.NoStream
	for i := range n {
		rev = eventlog.Revision(mustAppend(t, l, rev, Event(fmt.Sprintf("e-%04d", i), "patient.p-1", i)).Sequence)
		if i%500 == 0 {
			mustAppend(t, l, eventlog.Any, Event(fmt.Sprintf("o-%04d", i), "patient.p-2", i))
		}
	}
	got := Stream(t, l, "patient.p-1", 0)
	if len(got) != n || got[0].ID != "e-0000" || got[n-1].ID != fmt.Sprintf("e-%04d", n-1) {
		t.Fatalf("got %d events (first %s), want %d from e-0000", len(got), got[0].ID, n)
	}
	read := 0
	for rec, err := range l.ReadStream(ctx(t), "patient.p-1", 0) {
		if err != nil {
			t.Fatal(err)
		}
		if read == 0 {
			rev = eventlog.Revision(mustAppend(t, l, eventlog.Any, Event("late", "patient.p-1", n)).Sequence)
		}
		if rec.ID == "late" {
			t.Fatal("an event appended during the read was yielded")
		}
		read++
	}
	if read != n {
		t.Fatalf("read %d events, want %d", read, n)
	}
}

func testStreamOrder(t *testing.T, h Harness) {
	l := h.Open(t).Log()
	revs := map[string]eventlog.Revision{}
	var want []string
	for i := range 30 {
		s := fmt.Sprintf("patient.p-%d", i%3)
		id := fmt.Sprintf("e-%02d", i)
		revs[s] = eventlog.Revision(mustAppend(t, l, revs[s], Event(id, s, i)).Sequence)
		if i%3 == 1 {
			want = append(want, id)
		}
	}
	got := Stream(t, l, "patient.p-1", 0)
	if !equal(ids(got), want) {
		t.Fatalf("got %v, want %v", ids(got), want)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Sequence <= got[i-1].Sequence || got[i].PrevHash != got[i-1].Hash {
			t.Fatalf("event %d: got seq %d prev %s, want after %d linked to %s", i, got[i].Sequence, got[i].PrevHash, got[i-1].Sequence, got[i-1].Hash)
		}
	}
	from := got[4].Sequence
	if tail := Stream(t, l, "patient.p-1", from); !equal(ids(tail), want[4:]) {
		t.Fatalf("from %d: got %v, want %v", from, ids(tail), want[4:])
	}
	if none := Stream(t, l, "patient.p-9", 0); len(none) != 0 {
		t.Fatalf("unknown stream: got %d events, want 0", len(none))
	}
}

func testReadAllOrder(t *testing.T, h Harness) {
	l := h.Open(t).Log()
	var want []string
	revs := map[string]eventlog.Revision{}
	for i := range 25 {
		s := fmt.Sprintf("patient.p-%d", i%4)
		if i%10 == 0 {
			s = events.PracticeStream
		}
		id := fmt.Sprintf("e-%02d", i)
		revs[s] = eventlog.Revision(mustAppend(t, l, revs[s], Event(id, s, i)).Sequence)
		want = append(want, id)
	}
	got := All(t, l, 0)
	if !equal(ids(got), want) {
		t.Fatalf("got %v, want %v", ids(got), want)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Sequence <= got[i-1].Sequence {
			t.Fatalf("got sequence %d after %d, want increasing", got[i].Sequence, got[i-1].Sequence)
		}
	}
	from := got[10].Sequence
	if tail := All(t, l, from); !equal(ids(tail), want[10:]) {
		t.Fatalf("from %d: got %v, want %v", from, ids(tail), want[10:])
	}
}

func testSubscribe(t *testing.T, h Harness) {
	l := h.Open(t).Log()
	rev := eventlog.NoStream
	for i := range 5 {
		rev = eventlog.Revision(mustAppend(t, l, rev, Event(fmt.Sprintf("e-%d", i), "patient.p-1", i)).Sequence)
	}
	c, cancel := context.WithCancel(ctx(t))
	defer cancel()
	got := make(chan eventlog.Record, 100)
	done := make(chan error, 1)
	go func() { done <- l.Subscribe(c, 2, func(r eventlog.Record) error { got <- r; return nil }) }()
	for i := 5; i < 10; i++ {
		rev = eventlog.Revision(mustAppend(t, l, rev, Event(fmt.Sprintf("e-%d", i), "patient.p-1", i)).Sequence)
	}
	var seen []string
	deadline := time.After(30 * time.Second)
	for len(seen) < 9 {
		select {
		case r := <-got:
			seen = append(seen, r.ID)
		case <-deadline:
			t.Fatalf("got %v before the deadline, want 9 events", seen)
		}
	}
	want := []string{"e-1", "e-2", "e-3", "e-4", "e-5", "e-6", "e-7", "e-8", "e-9"}
	if !equal(seen, want) {
		t.Fatalf("got %v, want %v", seen, want)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Subscribe after cancel: got %v, want nil", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Subscribe did not return after cancel")
	}
}

// seed writes 3 events on p-1 and 1 on p-2 and returns their sequences.
func seed(t *testing.T, l eventlog.Log) []uint64 {
	t.Helper()
	a := mustAppend(t, l, eventlog.NoStream, Event("e-1", "patient.p-1", 1))
	b := mustAppend(t, l, eventlog.NoStream, Event("x-1", "patient.p-2", 1))
	c := mustAppend(t, l, eventlog.Revision(a.Sequence), Event("e-2", "patient.p-1", 2))
	d := mustAppend(t, l, eventlog.Revision(c.Sequence), Event("e-3", "patient.p-1", 3))
	return []uint64{a.Sequence, b.Sequence, c.Sequence, d.Sequence}
}

// wantIntegrity reads stream p-1 and the whole log of l and expects both to
// fail at the event with id wantID, wrapping one of wantErrs.
func wantIntegrity(t *testing.T, l eventlog.Log, wantID string, wantErrs ...error) {
	t.Helper()
	check := func(what string, seq func(yield func(eventlog.Record, error) bool)) {
		var failed error
		for _, err := range seq {
			if err != nil {
				failed = err
				break
			}
		}
		var ie *eventlog.IntegrityError
		if !errors.As(failed, &ie) {
			t.Fatalf("%s: got %v, want an IntegrityError", what, failed)
		}
		if ie.EventID != wantID {
			t.Fatalf("%s: got failure at event %q, want %q (%v)", what, ie.EventID, wantID, failed)
		}
		for _, w := range wantErrs {
			if errors.Is(failed, w) {
				return
			}
		}
		t.Fatalf("%s: got %v, want one of %v", what, failed, wantErrs)
	}
	check("ReadStream", l.ReadStream(ctx(t), "patient.p-1", 0))
	check("ReadAll", l.ReadAll(ctx(t), 0))
}

func testTamperedPayload(t *testing.T, h Harness) {
	inst := h.Open(t)
	seqs := seed(t, inst.Log())
	clean := inst.TamperedCopy(t, func(uint64, *events.Envelope) bool { return true }, [2]uint64{})
	if got := ids(Stream(t, clean, "patient.p-1", 0)); !equal(got, []string{"e-1", "e-2", "e-3"}) {
		t.Fatalf("untouched copy: got %v, want [e-1 e-2 e-3]", got)
	}
	tampered := inst.TamperedCopy(t, func(seq uint64, e *events.Envelope) bool {
		if seq == seqs[2] {
			e.Data = json.RawMessage(`{"n":2,"note":"care <coordination> & follow-up","minutes":45}`)
		}
		return true
	}, [2]uint64{})
	wantIntegrity(t, tampered, "e-2", events.ErrTampered)
}

func testRemoved(t *testing.T, h Harness) {
	inst := h.Open(t)
	seqs := seed(t, inst.Log())
	l := inst.TamperedCopy(t, func(seq uint64, _ *events.Envelope) bool { return seq != seqs[2] }, [2]uint64{})
	wantIntegrity(t, l, "e-3", events.ErrChainBroken)
}

func testReordered(t *testing.T, h Harness) {
	inst := h.Open(t)
	seqs := seed(t, inst.Log())
	l := inst.TamperedCopy(t, func(uint64, *events.Envelope) bool { return true }, [2]uint64{seqs[2], seqs[3]})
	wantIntegrity(t, l, "e-3", events.ErrChainBroken)
}

func testRestart(t *testing.T, h Harness) {
	inst := h.Open(t)
	l := inst.Log()
	rev := eventlog.NoStream
	var want []string
	for i := range 20 {
		id := fmt.Sprintf("e-%02d", i)
		rev = eventlog.Revision(mustAppend(t, l, rev, Event(id, "patient.p-1", i)).Sequence)
		want = append(want, id)
	}
	l = inst.Restart(t)
	if got := ids(Stream(t, l, "patient.p-1", 0)); !equal(got, want) {
		t.Fatalf("after restart: got %v, want %v", got, want)
	}
	// The log keeps working after a restart, chained to the old tip.
	res := mustAppend(t, l, rev, Event("e-20", "patient.p-1", 20))
	if res.Duplicate {
		t.Fatal("got duplicate, want a new event")
	}
	if got := Stream(t, l, "patient.p-1", 0); len(got) != 21 {
		t.Fatalf("got %d events, want 21", len(got))
	}
}
