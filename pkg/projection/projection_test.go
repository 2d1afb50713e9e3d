package projection_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/carelog/carelog/pkg/errs"
	"github.com/carelog/carelog/pkg/eventlog"
	"github.com/carelog/carelog/pkg/eventlog/eventlogtest"
	"github.com/carelog/carelog/pkg/eventlog/jetstream"
	"github.com/carelog/carelog/pkg/projection"
	"github.com/carelog/carelog/pkg/testenv"
)

// recorder is a projection that records what it applied, in order.
type recorder struct {
	checkpoint    uint64
	checkpointErr error
	failAt        uint64 // Apply fails at this sequence (0: never)
	failErr       error

	mu      sync.Mutex
	applied []uint64
	ids     []string
}

func (r *recorder) Name() string { return "recorder" }

func (r *recorder) Checkpoint(context.Context) (uint64, error) {
	return r.checkpoint, r.checkpointErr
}

func (r *recorder) Apply(_ context.Context, rec eventlog.Record) error {
	if rec.Sequence == r.failAt {
		return r.failErr
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.applied = append(r.applied, rec.Sequence)
	r.ids = append(r.ids, rec.ID)
	return nil
}

func (r *recorder) seen() ([]uint64, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.applied), slices.Clone(r.ids)
}

func ctx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

func newLog(t *testing.T) *jetstream.Log {
	t.Helper()
	l, err := jetstream.Open(ctx(t), testenv.Connect(t, testenv.JetStream(t, "")), jetstream.Config{})
	if err != nil {
		t.Fatalf("jetstream.Open: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// appendN appends n events to stream and returns their sequences.
func appendN(t *testing.T, l eventlog.Log, stream string, from, n int) []uint64 {
	t.Helper()
	var seqs []uint64
	for i := from; i < from+n; i++ {
		res, err := l.Append(ctx(t), eventlog.Any, eventlogtest.Event(fmt.Sprintf("%s-%d", stream[8:], i), stream, i))
		if err != nil {
			t.Fatalf("Append: %v", err)
		}
		seqs = append(seqs, res.Sequence)
	}
	return seqs
}

// run starts r.Run and returns a function that waits for it to return.
// The run is cancelled, and waited for, when the test ends.
func run(t *testing.T, r *projection.Runner) (cancel context.CancelFunc, wait func() error) {
	t.Helper()
	c, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(c) }()
	var once sync.Once
	var err error
	wait = func() error {
		once.Do(func() {
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				err = errors.New("Run did not return within 30s")
			}
		})
		return err
	}
	t.Cleanup(func() { cancel(); wait() })
	return cancel, wait
}

func waitFor(t *testing.T, r *projection.Runner, seq uint64) {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.WaitFor(c, seq); err != nil {
		t.Fatalf("WaitFor(%d): %v", seq, err)
	}
}

func TestRunAppliesEveryEventOnceInOrder(t *testing.T) {
	l := newLog(t)
	// Events before Run (catch-up) and after it (live), over two streams.
	var want []uint64
	want = append(want, appendN(t, l, "patient.a", 1, 3)...)
	want = append(want, appendN(t, l, "patient.b", 1, 2)...)
	p := &recorder{}
	r := projection.NewRunner(l, p)
	run(t, r)
	waitFor(t, r, want[len(want)-1])

	for i := 4; i <= 6; i++ {
		want = append(want, appendN(t, l, "patient.a", i, 1)...)
		want = append(want, appendN(t, l, "patient.b", i, 1)...)
	}
	if err := r.CaughtUp(ctx(t)); err != nil {
		t.Fatalf("CaughtUp: %v", err)
	}
	got, ids := p.seen()
	if !slices.Equal(got, want) {
		t.Errorf("applied sequences: got %v, want %v", got, want)
	}
	wantIDs := []string{"a-1", "a-2", "a-3", "b-1", "b-2", "a-4", "b-4", "a-5", "b-5", "a-6", "b-6"}
	if !slices.Equal(ids, wantIDs) {
		t.Errorf("applied ids: got %v, want %v", ids, wantIDs)
	}
	last, err := l.LastSequence(ctx(t))
	if err != nil {
		t.Fatalf("LastSequence: %v", err)
	}
	if got := r.Position(); got != last {
		t.Errorf("Position: got %d, want the log's last sequence %d", got, last)
	}
	if err := r.WaitFor(ctx(t), want[0]); err != nil {
		t.Errorf("WaitFor of an applied event: got %v, want nil", err)
	}
}

func TestWaitForReturnsAfterApply(t *testing.T) {
	l := newLog(t)
	p := &recorder{}
	r := projection.NewRunner(l, p)
	run(t, r)
	for i := 1; i <= 5; i++ {
		seq := appendN(t, l, "patient.a", i, 1)[0]
		waitFor(t, r, seq)
		got, _ := p.seen()
		if len(got) != i || got[i-1] != seq {
			t.Fatalf("after WaitFor(%d): got applied %v, want %d events ending with %d", seq, got, i, seq)
		}
		if pos := r.Position(); pos < seq {
			t.Errorf("Position after WaitFor(%d): got %d, want at least %d", seq, pos, seq)
		}
	}
}

func TestCaughtUp(t *testing.T) {
	l := newLog(t)
	p := &recorder{}
	r := projection.NewRunner(l, p)
	// An empty log: caught up at once, even before Run.
	if err := r.CaughtUp(ctx(t)); err != nil {
		t.Fatalf("CaughtUp on an empty log: %v", err)
	}
	want := appendN(t, l, "patient.a", 1, 20)
	run(t, r)
	if err := r.CaughtUp(ctx(t)); err != nil {
		t.Fatalf("CaughtUp: %v", err)
	}
	if got, _ := p.seen(); !slices.Equal(got, want) {
		t.Errorf("applied after CaughtUp: got %v, want %v", got, want)
	}
}

func TestWaitForGivesUpWithItsContext(t *testing.T) {
	l := newLog(t)
	seq := appendN(t, l, "patient.a", 1, 1)[0]
	r := projection.NewRunner(l, &recorder{}) // never run: it stays behind

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	for name, c := range map[string]context.Context{"cancelled": cancelled, "deadline": expired} {
		err := r.WaitFor(c, seq)
		if !errors.Is(err, errs.ErrUnavailable) {
			t.Errorf("%s: got %v, want an unavailable error", name, err)
		}
	}
	if err := r.CaughtUp(cancelled); err == nil {
		t.Errorf("CaughtUp with a cancelled context: got nil, want an error")
	}
	// What is already applied needs no waiting, whatever the context.
	if err := r.WaitFor(cancelled, 0); err != nil {
		t.Errorf("WaitFor(0) with a cancelled context: got %v, want nil", err)
	}
}

func TestApplyFailureStopsTheRunner(t *testing.T) {
	l := newLog(t)
	seqs := appendN(t, l, "patient.a", 1, 3)
	boom := errors.New("read store down")
	p := &recorder{failAt: seqs[1], failErr: boom}
	r := projection.NewRunner(l, p)

	// A waiter for a later event is released by the failure, with it.
	waitErr := make(chan error, 1)
	go func() {
		c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		waitErr <- r.WaitFor(c, seqs[2])
	}()

	_, wait := run(t, r)
	if err := wait(); !errors.Is(err, boom) {
		t.Fatalf("Run: got %v, want the Apply error %v", err, boom)
	}
	if err := <-waitErr; !errors.Is(err, boom) {
		t.Errorf("WaitFor(%d) pending during the failure: got %v, want the Apply error", seqs[2], err)
	}
	if err := r.WaitFor(ctx(t), seqs[2]); !errors.Is(err, boom) {
		t.Errorf("WaitFor(%d) after the failure: got %v, want the Apply error", seqs[2], err)
	}
	if err := r.WaitFor(ctx(t), seqs[0]); err != nil {
		t.Errorf("WaitFor(%d), applied before the failure: got %v, want nil", seqs[0], err)
	}
	if got := r.Position(); got != seqs[0] {
		t.Errorf("Position: got %d, want %d (the last event applied)", got, seqs[0])
	}
	if got, _ := p.seen(); !slices.Equal(got, seqs[:1]) {
		t.Errorf("applied: got %v, want %v (nothing after the failure)", got, seqs[:1])
	}
}

func TestCheckpointErrorStopsTheRunner(t *testing.T) {
	l := newLog(t)
	seq := appendN(t, l, "patient.a", 1, 1)[0]
	boom := errors.New("checkpoint table missing")
	p := &recorder{checkpointErr: boom}
	r := projection.NewRunner(l, p)
	_, wait := run(t, r)
	if err := wait(); !errors.Is(err, boom) {
		t.Fatalf("Run: got %v, want the Checkpoint error %v", err, boom)
	}
	if err := r.WaitFor(ctx(t), seq); !errors.Is(err, boom) {
		t.Errorf("WaitFor after the failure: got %v, want the Checkpoint error", err)
	}
	if got, _ := p.seen(); len(got) != 0 {
		t.Errorf("applied: got %v, want nothing", got)
	}
}

func TestRunResumesAfterCheckpoint(t *testing.T) {
	l := newLog(t)
	seqs := appendN(t, l, "patient.a", 1, 4)
	p := &recorder{checkpoint: seqs[1]}
	r := projection.NewRunner(l, p)
	run(t, r)
	// The checkpoint counts as applied.
	waitFor(t, r, seqs[1])
	seqs = append(seqs, appendN(t, l, "patient.a", 5, 2)...)
	waitFor(t, r, seqs[len(seqs)-1])

	got, ids := p.seen()
	if want := seqs[2:]; !slices.Equal(got, want) {
		t.Errorf("applied sequences: got %v, want %v (none at or before the checkpoint %d)", got, want, seqs[1])
	}
	if want := []string{"a-3", "a-4", "a-5", "a-6"}; !slices.Equal(ids, want) {
		t.Errorf("applied ids: got %v, want %v", ids, want)
	}
}

func TestRunStopsWithItsContext(t *testing.T) {
	l := newLog(t)
	seq := appendN(t, l, "patient.a", 1, 2)[1]
	p := &recorder{}
	r := projection.NewRunner(l, p)
	cancel, wait := run(t, r)
	waitFor(t, r, seq)
	cancel()
	if err := wait(); err != nil {
		t.Errorf("Run after cancel: got %v, want nil", err)
	}
	if got := r.Position(); got != seq {
		t.Errorf("Position after stopping: got %d, want %d", got, seq)
	}
}

// bufferer is a Flusher: it records what it applied and, at each Flush, the
// sequence of the last applied event, which only then becomes visible.
type bufferer struct {
	recorder
	flushErr error

	fmu     sync.Mutex
	flushes []uint64 // the last applied sequence at each Flush
}

func (b *bufferer) Flush(context.Context) error {
	if b.flushErr != nil {
		return b.flushErr
	}
	got, _ := b.seen()
	var last uint64
	if len(got) > 0 {
		last = got[len(got)-1]
	}
	b.fmu.Lock()
	b.flushes = append(b.flushes, last)
	b.fmu.Unlock()
	return nil
}

// visible is the last sequence flushed (0: none).
func (b *bufferer) visible() (uint64, int) {
	b.fmu.Lock()
	defer b.fmu.Unlock()
	if len(b.flushes) == 0 {
		return 0, 0
	}
	return b.flushes[len(b.flushes)-1], len(b.flushes)
}

func TestFlusherIsFlushedOnceAtTheEndOfACatchUp(t *testing.T) {
	l := newLog(t)
	want := appendN(t, l, "patient.a", 1, 30)
	want = append(want, appendN(t, l, "patient.b", 1, 30)...)
	p := &bufferer{}
	r := projection.NewRunner(l, p)
	run(t, r)
	if err := r.CaughtUp(ctx(t)); err != nil {
		t.Fatalf("CaughtUp: %v", err)
	}
	if got, _ := p.seen(); !slices.Equal(got, want) {
		t.Errorf("applied: got %v, want %v", got, want)
	}
	last := want[len(want)-1]
	if vis, n := p.visible(); vis != last || n != 1 {
		t.Errorf("flushes after the catch-up: got %d ending at %d, want 1 at %d", n, vis, last)
	}
	if got := r.Position(); got != last {
		t.Errorf("Position: got %d, want %d", got, last)
	}
}

func TestFlusherWaitForSeesFlushedEvents(t *testing.T) {
	l := newLog(t)
	p := &bufferer{}
	r := projection.NewRunner(l, p)
	run(t, r)
	for i := 1; i <= 8; i++ {
		seqs := appendN(t, l, "patient.a", 2*i-1, 2)
		waitFor(t, r, seqs[1])
		if vis, _ := p.visible(); vis < seqs[1] {
			t.Fatalf("after WaitFor(%d): got %d flushed, want at least %d", seqs[1], vis, seqs[1])
		}
		if pos, vis := r.Position(), first(p.visible()); pos > vis {
			t.Fatalf("Position %d is ahead of the last flush %d", pos, vis)
		}
	}
}

func first(a uint64, _ int) uint64 { return a }

func TestFlusherKeepsLiveEventsVisibleUnderLoad(t *testing.T) {
	l := newLog(t)
	p := &bufferer{}
	r := projection.NewRunner(l, p)
	run(t, r)
	// Concurrent writers keep appending while the runner reads: every event
	// still becomes visible once they stop.
	var wg sync.WaitGroup
	var mu sync.Mutex
	var last uint64
	errc := make(chan error, 4)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stream := fmt.Sprintf("patient.w%d", w)
			for i := 1; i <= 25; i++ {
				res, err := l.Append(ctx(t), eventlog.Any, eventlogtest.Event(fmt.Sprintf("w%d-%d", w, i), stream, i))
				if err != nil {
					errc <- err
					return
				}
				mu.Lock()
				last = max(last, res.Sequence)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatalf("Append: %v", err)
	}
	waitFor(t, r, last)
	if vis, _ := p.visible(); vis < last {
		t.Errorf("flushed: got %d, want at least %d", vis, last)
	}
	if got, _ := p.seen(); len(got) != 100 {
		t.Errorf("applied: got %d events, want 100", len(got))
	}
}

func TestFlushFailureStopsTheRunner(t *testing.T) {
	l := newLog(t)
	seq := appendN(t, l, "patient.a", 1, 3)[2]
	boom := errors.New("commit failed")
	p := &bufferer{flushErr: boom}
	r := projection.NewRunner(l, p)
	_, wait := run(t, r)
	if err := wait(); !errors.Is(err, boom) {
		t.Fatalf("Run: got %v, want the Flush error %v", err, boom)
	}
	if err := r.WaitFor(ctx(t), seq); !errors.Is(err, boom) {
		t.Errorf("WaitFor after the failure: got %v, want the Flush error", err)
	}
	if got := r.Position(); got != 0 {
		t.Errorf("Position: got %d, want 0 (nothing flushed)", got)
	}
}
