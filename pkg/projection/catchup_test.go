package projection

import (
	"context"
	"fmt"
	"runtime/debug"
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
	if got, want := gcPercent(), CatchUpGCPercent; got != want {
		t.Fatalf("GC percent while held: %d, want %d", got, want)
	}
	if got, want := memoryLimit(), int64(avail/4*3); got != want {
		t.Fatalf("memory limit while held: %d, want %d (3/4 of %d)", got, want, avail)
	}
	r2 := holdCatchUpGC()
	r1()
	r1() // a second release of the same hold changes nothing
	if got := gcPercent(); got != CatchUpGCPercent {
		t.Fatalf("GC percent with one hold left: %d, want %d", got, CatchUpGCPercent)
	}
	r2()
	if got := gcPercent(); got != 123 {
		t.Fatalf("GC percent after the last release: %d, want 123", got)
	}
	if got := memoryLimit(); got != 1<<62 {
		t.Fatalf("memory limit after the last release: %d, want %d", got, int64(1<<62))
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
	mu   sync.Mutex
	seen map[uint64]int
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

type gcFlushProbe struct{ *gcProbe }

func (gcFlushProbe) Flush(context.Context) error { return nil }

// A Runner applies a backlog of at least catchUpMinEvents (lowered to 20
// here) under the catch-up GC percent and the events after it under the
// process's own; a shorter backlog changes nothing; the policy ends with
// the Runner.
func TestRunnerCatchesUpUnderTheCatchUpGCPolicy(t *testing.T) {
	for _, tc := range []struct {
		name     string
		backlog  int
		flusher  bool
		wantGCAt map[uint64]int // event sequence → GC percent it was applied under
	}{
		{"backlog", 30, false, map[uint64]int{1: CatchUpGCPercent, 29: CatchUpGCPercent, 31: 123}},
		{"backlog, flusher", 30, true, map[uint64]int{1: CatchUpGCPercent, 29: CatchUpGCPercent, 31: 123}},
		{"short", 5, false, map[uint64]int{1: 123, 6: 123}},
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
			for seq, want := range tc.wantGCAt {
				if got := probe.at(seq); got != want {
					t.Errorf("event %d applied with GC percent %d, want %d", seq, got, want)
				}
			}
			if got := gcPercent(); got != 123 {
				t.Errorf("GC percent after the Runner stopped: %d, want 123", got)
			}
		})
	}
}
