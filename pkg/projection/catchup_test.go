package projection

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/carelog/carelog/pkg/eventlog"
	"github.com/carelog/carelog/pkg/eventlog/eventlogtest"
	"github.com/carelog/carelog/pkg/eventlog/jetstream"
	"github.com/carelog/carelog/pkg/testenv"
)

// gcPercent reads the process's GC percent.
func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

func memoryLimit() int64 { return debug.SetMemoryLimit(-1) }

// withGC runs the test with GC percent 123 and no memory limit, and the
// environment the policy reads cleared (set with want), restoring the
// process's settings afterwards.
func withGC(t *testing.T, gogc string) {
	t.Helper()
	t.Setenv("GOGC", gogc)
	t.Setenv("GOMEMLIMIT", "")
	prevGC, prevLimit := debug.SetGCPercent(123), debug.SetMemoryLimit(1<<62)
	t.Cleanup(func() { debug.SetGCPercent(prevGC); debug.SetMemoryLimit(prevLimit) })
}

func TestCatchUpGCHoldsNestAndRestore(t *testing.T) {
	avail := availableMemory()
	if avail == 0 {
		t.Fatal("availableMemory: 0 on a Linux test machine")
	}
	withGC(t, "")
	r1 := holdCatchUpGC()
	if got := gcPercent(); got < CatchUpGCPercent {
		t.Fatalf("GC percent while held: %d, want at least %d", got, CatchUpGCPercent)
	}
	if got, want := memoryLimit(), int64(avail/4*3); got != want {
		t.Fatalf("memory limit while held: %d, want %d (3/4 of %d)", got, want, avail)
	}
	r2 := holdCatchUpGC()
	r1()
	r1() // a second release of the same hold changes nothing
	if got := gcPercent(); got < CatchUpGCPercent {
		t.Fatalf("GC percent with one hold left: %d, want at least %d", got, CatchUpGCPercent)
	}
	r2()
	if got := gcPercent(); got != 123 {
		t.Fatalf("GC percent after the last release: %d, want 123", got)
	}
	if got := memoryLimit(); got != 1<<62 {
		t.Fatalf("memory limit after the last release: %d, want %d", got, int64(1<<62))
	}
}

func TestCatchUpPercentKeepsTheGoalAHeadroomAboveTheLiveHeap(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		name           string
		live, headroom uint64
		want           int
	}{
		{"no cycle yet", 0, 1024 * mib, maxCatchUpGCPercent},
		{"small live heap", 100 * mib, 1024 * mib, 1024},
		{"fraction of a percent rounds down", 300 * mib, 1024 * mib, 341},
		{"floor", 600 * mib, 1024 * mib, CatchUpGCPercent},
		{"live heap above the headroom", 4096 * mib, 1024 * mib, CatchUpGCPercent},
		{"cap", 1, 1024 * mib, maxCatchUpGCPercent},
		{"largest headroom", 1, HugeHeapMax, maxCatchUpGCPercent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := catchUpPercent(tc.live, tc.headroom); got != tc.want {
				t.Errorf("catchUpPercent(%d, %d) = %d, want %d", tc.live, tc.headroom, got, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		avail, want uint64
	}{
		{24 << 30, 1 << 30},  // the huge-page range is HugeHeapMax
		{4 << 30, 256 << 20}, // an eighth of the memory, halved
		{0, 0},
	} {
		if got := catchUpHeadroom(tc.avail); got != tc.want {
			t.Errorf("catchUpHeadroom(%d) = %d, want %d", tc.avail, got, tc.want)
		}
	}
}

// paceOnce sets the percent for the live heap the last cycle left.
func TestPaceOnceSetsThePercentForTheLiveHeap(t *testing.T) {
	withGC(t, "")
	keep := make([]*[1 << 10]byte, 16<<10) // ~16 MiB live
	for i := range keep {
		keep[i] = new([1 << 10]byte)
	}
	runtime.GC()
	live := liveHeap()
	if live < 16<<20 {
		t.Fatalf("live heap after a GC: %d bytes, want at least the 16 MiB kept", live)
	}
	const headroom = 512 << 20
	want := catchUpPercent(live, headroom)
	if got := paceOnce(headroom, 0); got != want || gcPercent() != want {
		t.Fatalf("paceOnce: returned %d, GC percent %d; want %d (live heap %d)", got, gcPercent(), want, live)
	}
	debug.SetGCPercent(123)
	if got := paceOnce(headroom, want); got != want || gcPercent() != 123 {
		t.Fatalf("paceOnce with the percent already set: returned %d, GC percent %d; want %d and 123 untouched", got, gcPercent(), want)
	}
	runtime.KeepAlive(keep)
}

func TestDeferCatchUpGC(t *testing.T) {
	withGC(t, "")
	if resume := deferCatchUpGC(); gcPercent() != 123 {
		t.Fatalf("GC percent deferred without the policy held: %d, want 123 untouched", gcPercent())
	} else {
		resume()
	}
	release := holdCatchUpGC()
	headroom := catchUp.headroom
	if headroom == 0 {
		t.Fatal("the policy holds no headroom")
	}
	resume1, resume2 := deferCatchUpGC(), deferCatchUpGC()
	// The heap now holds at least the live heap: the goal is at least a
	// headroom above the live heap.
	if got, floor := gcPercent(), catchUpPercent(liveHeap(), headroom); got < floor {
		t.Fatalf("GC percent deferred: %d, want at least the pacer's %d", got, floor)
	}
	resume1()
	resume1() // a second resume of the same deferral changes nothing
	if catchUp.deferred.Load() != 1 {
		t.Fatalf("deferrals left after one resume: %d, want 1", catchUp.deferred.Load())
	}
	resume2()
	if got := gcPercent(); got < CatchUpGCPercent {
		t.Fatalf("GC percent resumed: %d, want the pacer's (at least %d)", got, CatchUpGCPercent)
	}
	resume3 := deferCatchUpGC()
	release()
	if got := gcPercent(); got != 123 {
		t.Fatalf("GC percent after the release of a deferred policy: %d, want 123", got)
	}
	resume3()
	if got := gcPercent(); got != 123 {
		t.Fatalf("GC percent after resuming a released policy: %d, want 123", got)
	}
}

func TestDeferredPercentPutsTheGoalAHeadroomAboveTheHeap(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		name                 string
		live, heap, headroom uint64
		want                 int
	}{
		{"heap at the live heap: the pacer's percent", 200 * mib, 200 * mib, 1024 * mib, 512},
		{"garbage since the cycle", 200 * mib, 1000 * mib, 1024 * mib, 912},
		{"heap read below the live heap", 200 * mib, 100 * mib, 1024 * mib, 512},
		{"no cycle yet", 0, 500 * mib, 1024 * mib, maxCatchUpGCPercent},
		{"floor", 2048 * mib, 2100 * mib, 256 * mib, CatchUpGCPercent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := deferredPercent(tc.live, tc.heap, tc.headroom); got != tc.want {
				t.Errorf("deferredPercent(%d, %d, %d) = %d, want %d", tc.live, tc.heap, tc.headroom, got, tc.want)
			}
		})
	}
}

func TestCatchUpGCLeavesAnOperatorsGOGC(t *testing.T) {
	withGC(t, "50")
	release := holdCatchUpGC()
	defer release()
	if got := gcPercent(); got != 123 {
		t.Fatalf("GC percent with GOGC=50 in the environment: %d, want it untouched (123)", got)
	}
	if got := memoryLimit(); got != 1<<62 {
		t.Fatalf("memory limit with GOGC in the environment: %d, want it untouched", got)
	}
}

// gcProbe records the GC percent each event was applied under; flushing
// makes it a Flusher.
type gcProbe struct {
	mu       sync.Mutex
	seen     map[uint64]int
	flushes  []int
	deferred []bool // whether each flush ran with the next GC deferred
}

func (p *gcProbe) Name() string                               { return "gcprobe" }
func (p *gcProbe) Checkpoint(context.Context) (uint64, error) { return 0, nil }
func (p *gcProbe) Apply(_ context.Context, rec eventlog.Record) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seen[rec.Sequence] = gcPercent()
	return nil
}
func (p *gcProbe) at(seq uint64) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.seen[seq]
}

// catchingUpFlush in a test's flushes stands for a GC percent of the
// catch-up policy (at least CatchUpGCPercent).
const catchingUpFlush = -2

// gcFlushProbe also records the GC percent of each flush, in order.
type gcFlushProbe struct{ *gcProbe }

func (p gcFlushProbe) Flush(context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.flushes = append(p.flushes, gcPercent())
	p.deferred = append(p.deferred, catchUp.deferred.Load() > 0)
	return nil
}

// A Runner applies a backlog of at least catchUpMinEvents (lowered to 20
// here) under the catch-up GC percent and the events after it under the
// process's own; a shorter backlog changes nothing; the policy ends with
// the Runner.
func TestRunnerCatchesUpUnderTheCatchUpGCPolicy(t *testing.T) {
	for _, tc := range []struct {
		name       string
		backlog    int
		flusher    bool
		catchingUp map[uint64]bool // event sequence → applied under the catch-up policy
		flushes    []int           // the GC percent of each flush (a Flusher)
	}{
		{"backlog", 30, false, map[uint64]bool{1: true, 29: true, 31: false}, nil},
		// The flush that ends the catch-up runs under the policy (the
		// next cycle deferred); the next one, live, under the process's
		// own settings.
		{"backlog, flusher", 30, true, map[uint64]bool{1: true, 29: true, 31: false}, []int{catchingUpFlush, 123}},
		{"short", 5, false, map[uint64]bool{1: false, 6: false}, nil},
		{"short, flusher", 5, true, map[uint64]bool{1: false, 6: false}, []int{123, 123}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			withGC(t, "")
			defer func(n uint64) { catchUpMinEvents = n }(catchUpMinEvents)
			catchUpMinEvents = 20
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			l, err := jetstream.Open(ctx, testenv.Connect(t, testenv.JetStream(t, "")), jetstream.Config{})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			appendEvents := func(from, n int) {
				for i := from; i < from+n; i++ {
					if _, err := l.Append(ctx, eventlog.Any, eventlogtest.Event(fmt.Sprintf("e-%d", i), "patient.p1", i)); err != nil {
						t.Fatal(err)
					}
				}
			}
			appendEvents(0, tc.backlog)
			probe := &gcProbe{seen: map[uint64]int{}}
			var proj Projection = probe
			if tc.flusher {
				proj = gcFlushProbe{probe}
			}
			r := NewRunner(l, proj)
			runCtx, stop := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- r.Run(runCtx) }()
			if err := r.WaitFor(ctx, uint64(tc.backlog)); err != nil {
				t.Fatal(err)
			}
			appendEvents(tc.backlog, 1) // after the catch-up
			if err := r.WaitFor(ctx, uint64(tc.backlog+1)); err != nil {
				t.Fatal(err)
			}
			stop()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			for seq, catchingUp := range tc.catchingUp {
				switch got := probe.at(seq); {
				case catchingUp && got < CatchUpGCPercent:
					t.Errorf("event %d applied with GC percent %d, want the catch-up policy's (at least %d)", seq, got, CatchUpGCPercent)
				case !catchingUp && got != 123:
					t.Errorf("event %d applied with GC percent %d, want the process's own (123)", seq, got)
				}
			}
			probe.mu.Lock()
			flushes, deferred := probe.flushes, probe.deferred
			probe.mu.Unlock()
			for i, d := range deferred {
				if want := i == 0 && tc.backlog >= int(catchUpMinEvents); d != want {
					t.Errorf("flush %d ran with the next GC deferred: %v, want %v", i+1, d, want)
				}
			}
			if !slices.EqualFunc(flushes, tc.flushes, func(got, want int) bool {
				return got == want || want == catchingUpFlush && got >= CatchUpGCPercent
			}) {
				t.Errorf("GC percent of each flush: %v, want %v (%d: at least %d)", flushes, tc.flushes, catchingUpFlush, CatchUpGCPercent)
			}
			if got := gcPercent(); got != 123 {
				t.Errorf("GC percent after the Runner stopped: %d, want 123", got)
			}
		})
	}
}
