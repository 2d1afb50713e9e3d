package command_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/command"
	"github.com/carelog/carelog/pkg/errs"
	"github.com/carelog/carelog/pkg/eventlog"
	"github.com/carelog/carelog/pkg/eventlog/eventlogtest"
	"github.com/carelog/carelog/pkg/eventlog/jetstream"
	"github.com/carelog/carelog/pkg/natsserver"
	"github.com/carelog/carelog/pkg/testenv"
)

// tally is the test's stream state: how many events, which ids, in order.
// Fold treats it as a value (it never changes a tally it was given).
type tally struct {
	N   int
	IDs []string
}

func initial() tally { return tally{} }

func fold(s tally, rec eventlog.Record) tally {
	return tally{N: s.N + 1, IDs: append(slices.Clone(s.IDs), rec.ID)}
}

// countingFold returns fold and the number of events it has folded, to see
// what the executor read from the log.
func countingFold() (command.Fold[tally], *atomic.Int64) {
	var n atomic.Int64
	return func(s tally, rec eventlog.Record) tally {
		n.Add(1)
		return fold(s, rec)
	}, &n
}

// errFull is what atMost refuses with.
var errFull = errs.E("test.decide", errs.Conflict, "a stream holds at most its limit of events")

// atMost is the test's rule: at most limit events per stream.
func atMost(limit int) command.Decide[tally] {
	return func(s tally, _ *events.Envelope) error {
		if s.N >= limit {
			return errFull
		}
		return nil
	}
}

func ctx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

// openLog opens a log over a fresh connection to s, as one process would.
func openLog(t *testing.T, s *natsserver.Server) *jetstream.Log {
	t.Helper()
	l, err := jetstream.Open(ctx(t), testenv.Connect(t, s), jetstream.Config{})
	if err != nil {
		t.Fatalf("jetstream.Open: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func newLog(t *testing.T) *jetstream.Log {
	t.Helper()
	return openLog(t, testenv.JetStream(t, ""))
}

func execute(t *testing.T, x *command.Executor[tally], e events.Envelope, d command.Decide[tally]) command.Result[tally] {
	t.Helper()
	res, err := x.Execute(ctx(t), e, d)
	if err != nil {
		t.Fatalf("Execute(%s): %v", e.ID, err)
	}
	return res
}

func streamIDs(t *testing.T, l eventlog.Log, stream string) []string {
	t.Helper()
	var out []string
	for _, r := range eventlogtest.Stream(t, l, stream, 0) {
		out = append(out, r.ID)
	}
	return out
}

func TestExecuteAppends(t *testing.T) {
	l := newLog(t)
	x := command.New(l, initial, fold, 16)
	const stream = "patient.p-1"

	first := execute(t, x, eventlogtest.Event("e-1", stream, 1), atMost(3))
	if !first.Created || first.Record.ID != "e-1" || first.Record.Sequence == 0 || first.Record.Hash == "" {
		t.Errorf("first result: got created %v, id %s, sequence %d, hash %q; want created e-1 with a sequence and a hash",
			first.Created, first.Record.ID, first.Record.Sequence, first.Record.Hash)
	}
	if want := (tally{N: 1, IDs: []string{"e-1"}}); first.State.N != want.N || !slices.Equal(first.State.IDs, want.IDs) {
		t.Errorf("first state: got %+v, want %+v", first.State, want)
	}

	second := execute(t, x, eventlogtest.Event("e-2", stream, 2), atMost(3))
	if !second.Created || second.Record.Sequence <= first.Record.Sequence {
		t.Errorf("second result: got created %v, sequence %d; want created after %d", second.Created, second.Record.Sequence, first.Record.Sequence)
	}
	if second.Record.PrevHash != first.Record.Hash {
		t.Errorf("second prevHash: got %q, want the first event's hash %q", second.Record.PrevHash, first.Record.Hash)
	}
	if want := []string{"e-1", "e-2"}; second.State.N != 2 || !slices.Equal(second.State.IDs, want) {
		t.Errorf("second state: got %+v, want N 2, ids %v", second.State, want)
	}
	if got, want := streamIDs(t, l, stream), []string{"e-1", "e-2"}; !slices.Equal(got, want) {
		t.Errorf("stream: got %v, want %v", got, want)
	}
}

func TestExecuteNeedsIDAndStream(t *testing.T) {
	x := command.New(newLog(t), initial, fold, 16)
	noID := eventlogtest.Event("e-1", "patient.p-1", 1)
	noID.ID = ""
	noStream := eventlogtest.Event("e-1", "patient.p-1", 1)
	noStream.Stream = ""
	for name, e := range map[string]events.Envelope{"no id": noID, "no stream": noStream} {
		_, err := x.Execute(ctx(t), e, atMost(3))
		if got := errs.KindOf(err); got != errs.Internal {
			t.Errorf("%s: got %v (kind %s), want an internal error", name, err, got)
		}
	}
}

func TestExecuteReplay(t *testing.T) {
	const stream = "patient.p-1"
	reformatted := eventlogtest.Event("e-1", stream, 1)
	reformatted.Data = []byte(`{ "note" : "care <coordination> & follow-up", "n" : 1 }`)
	laterFields := eventlogtest.Event("e-1", stream, 1)
	laterFields.RecordedAt = laterFields.RecordedAt.Add(time.Hour) // a retry is recorded later
	laterFields.CorrelationID = "retry-request"

	tests := []struct {
		name  string
		retry events.Envelope
		fresh bool // retry through a new executor (the cache dropped)
	}{
		{"same executor", eventlogtest.Event("e-1", stream, 1), false},
		{"new executor", eventlogtest.Event("e-1", stream, 1), true},
		{"key order and spacing differ", reformatted, false},
		{"metadata differs", laterFields, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLog(t)
			x := command.New(l, initial, fold, 16)
			orig := execute(t, x, eventlogtest.Event("e-1", stream, 1), atMost(3))
			execute(t, x, eventlogtest.Event("e-2", stream, 2), atMost(3))
			if tt.fresh {
				x = command.New(l, initial, fold, 16)
			}
			decided := 0
			res := execute(t, x, tt.retry, func(s tally, p *events.Envelope) error {
				decided++
				return nil
			})
			if res.Created {
				t.Errorf("created: got true, want false (a replay)")
			}
			if res.Record.Sequence != orig.Record.Sequence || res.Record.Hash != orig.Record.Hash {
				t.Errorf("record: got sequence %d hash %s, want the original's %d %s",
					res.Record.Sequence, res.Record.Hash, orig.Record.Sequence, orig.Record.Hash)
			}
			if res.State.N != 2 {
				t.Errorf("state: got N %d, want 2 (the stream's current state)", res.State.N)
			}
			if decided != 0 {
				t.Errorf("decide calls: got %d, want 0 for a replay", decided)
			}
			if got, want := streamIDs(t, l, stream), []string{"e-1", "e-2"}; !slices.Equal(got, want) {
				t.Errorf("stream after the replay: got %v, want %v", got, want)
			}
		})
	}
}

func TestExecuteSameIDDifferentRequest(t *testing.T) {
	const stream = "patient.p-1"
	otherType := eventlogtest.Event("e-1", stream, 1)
	otherType.Type = "test.other"
	tests := []struct {
		name               string
		retry              events.Envelope
		fresh, otherStream bool
	}{
		{"different payload", eventlogtest.Event("e-1", stream, 2), false, false},
		{"different payload, new executor", eventlogtest.Event("e-1", stream, 2), true, false},
		{"different type", otherType, false, false},
		// Event ids are unique in the whole log (within its duplicate window).
		{"same request on another stream", eventlogtest.Event("e-1", "patient.p-2", 1), false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLog(t)
			x := command.New(l, initial, fold, 16)
			execute(t, x, eventlogtest.Event("e-1", stream, 1), atMost(3))
			if tt.fresh {
				x = command.New(l, initial, fold, 16)
			}
			_, err := x.Execute(ctx(t), tt.retry, atMost(3))
			if !errors.Is(err, errs.ErrConflict) {
				t.Fatalf("error: got %v, want a conflict", err)
			}
			_, field, msg := errs.Public(err)
			if msg == "" {
				t.Errorf("conflict message: got empty, want one naming the id")
			}
			if tt.otherStream && field != "id" {
				t.Errorf("conflict field: got %q, want \"id\" (the id is taken by another stream)", field)
			}
			if got, want := streamIDs(t, l, stream), []string{"e-1"}; !slices.Equal(got, want) {
				t.Errorf("stream: got %v, want %v", got, want)
			}
			if got := streamIDs(t, l, "patient.p-2"); len(got) != 0 {
				t.Errorf("other stream: got %v, want no events", got)
			}
		})
	}
}

// TestExecuteSameCommandConcurrently sends one command (a client retrying
// through several processes at once): exactly one append, every caller gets
// that event.
func TestExecuteSameCommandConcurrently(t *testing.T) {
	const (
		stream = "patient.p-1"
		n      = 10
	)
	s := testenv.JetStream(t, "")
	l1, l2 := openLog(t, s), openLog(t, s)
	xs := []*command.Executor[tally]{command.New(l1, initial, fold, 16), command.New(l2, initial, fold, 16)}
	results := make([]command.Result[tally], n)
	errList := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			results[i], errList[i] = xs[i%2].Execute(ctx(t), eventlogtest.Event("e-1", stream, 1), atMost(n))
		})
	}
	wg.Wait()
	created := 0
	for i := range n {
		if errList[i] != nil {
			t.Fatalf("caller %d: got error %v, want success", i, errList[i])
		}
		if results[i].Created {
			created++
		}
		if results[i].Record.Sequence != results[0].Record.Sequence || results[i].Record.ID != "e-1" {
			t.Errorf("caller %d: got event %s at %d, want e-1 at %d", i, results[i].Record.ID, results[i].Record.Sequence, results[0].Record.Sequence)
		}
		if results[i].State.N != 1 {
			t.Errorf("caller %d: got state N %d, want 1", i, results[i].State.N)
		}
	}
	if created != 1 {
		t.Errorf("callers told created: got %d, want 1", created)
	}
	if got, want := streamIDs(t, l1, stream), []string{"e-1"}; !slices.Equal(got, want) {
		t.Errorf("stream: got %v, want %v", got, want)
	}
}

func TestExecuteDecideRefuses(t *testing.T) {
	const stream = "patient.p-1"
	l := newLog(t)
	x := command.New(l, initial, fold, 16)

	// Refused on an empty stream: nothing written, the stream stays absent.
	errNo := errs.Field("test.decide", "n", "must be positive")
	_, err := x.Execute(ctx(t), eventlogtest.Event("e-0", stream, 0), func(tally, *events.Envelope) error { return errNo })
	if err != errNo {
		t.Errorf("refused first command: got %v, want the decide error %v", err, errNo)
	}
	if s, rev, err := x.Load(ctx(t), stream); err != nil || s.N != 0 || rev != eventlog.NoStream {
		t.Errorf("Load after the refusal: got %+v, revision %d, %v; want empty, NoStream", s, rev, err)
	}

	for i := 1; i <= 3; i++ {
		execute(t, x, eventlogtest.Event(fmt.Sprintf("e-%d", i), stream, i), atMost(3))
	}
	_, err = x.Execute(ctx(t), eventlogtest.Event("e-4", stream, 4), atMost(3))
	if err != errFull {
		t.Errorf("fourth command: got %v, want the decide error %v", err, errFull)
	}
	if got, want := streamIDs(t, l, stream), []string{"e-1", "e-2", "e-3"}; !slices.Equal(got, want) {
		t.Errorf("stream: got %v, want %v", got, want)
	}
	// The refused id is free: the same id is accepted once the rule allows it.
	res := execute(t, x, eventlogtest.Event("e-4", stream, 4), atMost(4))
	if !res.Created || res.State.N != 4 {
		t.Errorf("e-4 under a limit of 4: got created %v, N %d; want created, N 4", res.Created, res.State.N)
	}
}

// TestExecuteRetriesConflicts makes another writer append between the
// executor's read and its append (from inside decide, which runs between the
// two), so the executor's append conflicts deterministically.
func TestExecuteRetriesConflicts(t *testing.T) {
	const stream = "patient.p-1"
	tests := []struct {
		name        string
		retries     int
		wantErr     bool
		wantDecides int
	}{
		{"retried", 1, false, 2},
		{"no retries left", 0, true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := testenv.JetStream(t, "")
			l, other := openLog(t, s), openLog(t, s)
			x := command.New(l, initial, fold, 16)
			x.Retries = tt.retries
			execute(t, x, eventlogtest.Event("e-1", stream, 1), atMost(10))

			decides := 0
			res, err := x.Execute(ctx(t), eventlogtest.Event("e-3", stream, 3), func(s tally, p *events.Envelope) error {
				decides++
				if decides == 1 {
					if _, err := other.Append(ctx(t), eventlog.Any, eventlogtest.Event("e-2", stream, 2)); err != nil {
						t.Errorf("other writer's Append: %v", err)
					}
				}
				return atMost(10)(s, p)
			})
			if decides != tt.wantDecides {
				t.Errorf("decide calls: got %d, want %d", decides, tt.wantDecides)
			}
			if tt.wantErr {
				var ce *eventlog.ConflictError
				if !errors.Is(err, errs.ErrConflict) || !errors.As(err, &ce) {
					t.Fatalf("error: got %v, want a conflict wrapping *eventlog.ConflictError", err)
				}
				if got, want := streamIDs(t, l, stream), []string{"e-1", "e-2"}; !slices.Equal(got, want) {
					t.Errorf("stream: got %v, want %v", got, want)
				}
				return
			}
			if err != nil {
				t.Fatalf("Execute: %v", err)
			}
			if want := []string{"e-1", "e-2", "e-3"}; !res.Created || !slices.Equal(res.State.IDs, want) {
				t.Errorf("result: got created %v, state %+v; want created with ids %v", res.Created, res.State, want)
			}
			if got, want := streamIDs(t, l, stream), []string{"e-1", "e-2", "e-3"}; !slices.Equal(got, want) {
				t.Errorf("stream: got %v, want %v", got, want)
			}
		})
	}
}

func TestExecuteConcurrent(t *testing.T) {
	const (
		stream = "patient.p-1"
		n      = 10
	)
	tests := []struct {
		name      string
		executors int // each over its own connection and log, as separate processes
	}{
		{"one executor", 1},
		{"two executors", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := testenv.JetStream(t, "")
			var logs []eventlog.Log
			var xs []*command.Executor[tally]
			for range tt.executors {
				l := openLog(t, s)
				logs = append(logs, l)
				xs = append(xs, command.New(l, initial, fold, 16))
			}
			results := make([]command.Result[tally], n)
			errList := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					e := eventlogtest.Event(fmt.Sprintf("e-%d", i), stream, i)
					results[i], errList[i] = xs[i%len(xs)].Execute(ctx(t), e, atMost(n))
				})
			}
			wg.Wait()

			seqs := map[uint64]bool{}
			for i := range n {
				if errList[i] != nil {
					t.Errorf("command %d: got error %v, want success", i, errList[i])
					continue
				}
				if !results[i].Created {
					t.Errorf("command %d: got created false, want true", i)
				}
				seqs[results[i].Record.Sequence] = true
			}
			if len(seqs) != n {
				t.Errorf("distinct sequences: got %d, want %d", len(seqs), n)
			}

			recs := eventlogtest.Stream(t, logs[0], stream, 0) // verifies the chain
			if len(recs) != n {
				t.Fatalf("stream length: got %d, want %d", len(recs), n)
			}
			for i := 1; i < len(recs); i++ {
				if recs[i].PrevHash != recs[i-1].Hash {
					t.Errorf("event %d prevHash: got %s, want %s", i, recs[i].PrevHash, recs[i-1].Hash)
				}
			}
			for i, x := range xs {
				st, rev, err := x.Load(ctx(t), stream)
				if err != nil || st.N != n || rev != eventlog.Revision(recs[n-1].Sequence) {
					t.Errorf("executor %d Load: got N %d, revision %d, %v; want N %d, revision %d",
						i, st.N, rev, err, n, recs[n-1].Sequence)
				}
			}
		})
	}
}

func TestExecuteReadsOnlyNewEvents(t *testing.T) {
	const stream = "patient.p-1"
	s := testenv.JetStream(t, "")
	l, other := openLog(t, s), openLog(t, s)
	f, folded := countingFold()
	x := command.New(l, initial, f, 16)

	execute(t, x, eventlogtest.Event("e-1", stream, 1), atMost(10))
	execute(t, x, eventlogtest.Event("e-2", stream, 2), atMost(10))
	if got := folded.Load(); got != 2 {
		t.Fatalf("events folded after two commands: got %d, want 2", got)
	}

	// Another process appends two events between our commands.
	for i := 3; i <= 4; i++ {
		if _, err := other.Append(ctx(t), eventlog.Any, eventlogtest.Event(fmt.Sprintf("x-%d", i), stream, i)); err != nil {
			t.Fatalf("other writer's Append: %v", err)
		}
	}
	res := execute(t, x, eventlogtest.Event("e-5", stream, 5), atMost(10))
	if want := []string{"e-1", "e-2", "x-3", "x-4", "e-5"}; !slices.Equal(res.State.IDs, want) {
		t.Errorf("state after catching up: got %v, want %v", res.State.IDs, want)
	}
	if got := folded.Load(); got != 5 {
		t.Errorf("events folded: got %d, want 5 (each event once: the cache reads only new ones)", got)
	}

	if _, err := other.Append(ctx(t), eventlog.Any, eventlogtest.Event("x-6", stream, 6)); err != nil {
		t.Fatalf("other writer's Append: %v", err)
	}
	st, rev, err := x.Load(ctx(t), stream)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	recs := eventlogtest.Stream(t, l, stream, 0)
	if st.N != 6 || rev != eventlog.Revision(recs[len(recs)-1].Sequence) {
		t.Errorf("Load: got N %d, revision %d; want 6, %d", st.N, rev, recs[len(recs)-1].Sequence)
	}
	if got := folded.Load(); got != 6 {
		t.Errorf("events folded after Load: got %d, want 6", got)
	}
}

func TestLoad(t *testing.T) {
	l := newLog(t)
	x := command.New(l, initial, fold, 16)

	st, rev, err := x.Load(ctx(t), "patient.empty")
	if err != nil || st.N != 0 || rev != eventlog.NoStream {
		t.Errorf("Load of an empty stream: got %+v, revision %d, %v; want empty, NoStream", st, rev, err)
	}

	// Interleave two streams so that revisions are log sequences, not counts.
	last := map[string]uint64{}
	for i := 1; i <= 3; i++ {
		for _, stream := range []string{"patient.a", "patient.b"} {
			res := execute(t, x, eventlogtest.Event(fmt.Sprintf("%s-%d", stream[8:], i), stream, i), atMost(3))
			last[stream] = res.Record.Sequence
		}
	}
	for _, stream := range []string{"patient.a", "patient.b"} {
		// A fresh executor loads from the log alone.
		for name, x := range map[string]*command.Executor[tally]{"cached": x, "fresh": command.New(l, initial, fold, 16)} {
			st, rev, err := x.Load(ctx(t), stream)
			if err != nil || st.N != 3 || rev != eventlog.Revision(last[stream]) {
				t.Errorf("%s Load(%s): got N %d, revision %d, %v; want 3, %d", name, stream, st.N, rev, err, last[stream])
			}
		}
	}

	if _, _, err := x.Load(ctx(t), "patient.not a key"); errs.KindOf(err) != errs.Invalid {
		t.Errorf("Load of a malformed stream key: got %v, want an invalid error", err)
	}
}

func TestEvictionKeepsResultsCorrect(t *testing.T) {
	l := newLog(t)
	f, folded := countingFold()
	x := command.New(l, initial, f, 2)
	streams := []string{"patient.a", "patient.b", "patient.c"}

	// Two rounds over three streams with room for two: every command finds
	// its stream evicted and reloads it.
	for round := 1; round <= 2; round++ {
		for _, stream := range streams {
			res := execute(t, x, eventlogtest.Event(fmt.Sprintf("%s-%d", stream[8:], round), stream, round), atMost(3))
			if !res.Created || res.State.N != round {
				t.Errorf("round %d on %s: got created %v, N %d; want created, N %d", round, stream, res.Created, res.State.N, round)
			}
		}
	}
	// Round 1 folds 3; round 2 reloads each stream's first event and folds the new one.
	if got := folded.Load(); got != 9 {
		t.Errorf("events folded: got %d, want 9", got)
	}

	// A replay of an evicted stream's event is still recognized.
	res := execute(t, x, eventlogtest.Event("a-1", "patient.a", 1), atMost(3))
	if res.Created || res.State.N != 2 {
		t.Errorf("replay of a-1 after eviction: got created %v, N %d; want a replay, N 2", res.Created, res.State.N)
	}
	_, err := x.Execute(ctx(t), eventlogtest.Event("a-1", "patient.a", 7), atMost(3))
	if !errors.Is(err, errs.ErrConflict) {
		t.Errorf("a-1 with another payload after eviction: got %v, want a conflict", err)
	}
	for _, stream := range streams {
		if got := len(eventlogtest.Stream(t, l, stream, 0)); got != 2 {
			t.Errorf("%s length: got %d, want 2", stream, got)
		}
	}

	// Concurrent commands over more streams than the cache holds.
	var wg sync.WaitGroup
	errc := make(chan error, 3*len(streams))
	for _, stream := range streams {
		wg.Go(func() {
			_, err := x.Execute(ctx(t), eventlogtest.Event(stream[8:]+"-3", stream, 3), atMost(3))
			errc <- err
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Errorf("concurrent command: %v", err)
		}
	}
	for _, stream := range streams {
		st, _, err := x.Load(ctx(t), stream)
		if err != nil || st.N != 3 {
			t.Errorf("Load(%s): got N %d, %v; want 3", stream, st.N, err)
		}
	}
}

func TestPayload(t *testing.T) {
	got, err := command.Payload(map[string]int{"minutes": 20})
	if err != nil || string(got) != `{"minutes":20}` {
		t.Errorf("Payload(map): got %s, %v; want {\"minutes\":20}", got, err)
	}
	if _, err := command.Payload(make(chan int)); errs.KindOf(err) != errs.Internal {
		t.Errorf("Payload(chan): got %v, want an internal error", err)
	}
}
