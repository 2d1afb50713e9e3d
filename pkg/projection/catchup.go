package projection

import (
	"bufio"
	"bytes"
	"math"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Catch-up memory policy. A Runner that replays a long backlog (every
// in-memory read model at start, `carelog projections rebuild`) allocates
// fast while its read model's live heap keeps growing. A GC percent sets
// the next GC goal in proportion to the live heap: with the default 100 the
// collector marks the whole growing heap again each time allocation has
// doubled it, most often while the heap is still small, and the read model
// is marked over and over. So while any Runner of the process catches up on
// at least catchUpMinEvents events, a pacer keeps the next GC goal a fixed
// headroom above the live heap instead (half the huge-page range below: an
// eighth of the memory available, at most HugeHeapMax/2), by setting the GC
// percent after each cycle from the live heap the cycle left, never below
// CatchUpGCPercent; a soft memory limit of three quarters of the machine's
// (or its cgroup's) memory bounds the heap. The flush that ends a Runner's
// catch-up runs with the next cycle deferred by one headroom
// (deferCatchUpGC). When the last such Runner reaches the end of the log
// the previous settings come back.
//
// Measured on the billing rebuild benchmark (1,000,000 events, a live heap
// of ~350 MB at the end of the replay, 2 cores, 24 GB): at a fixed 200 %
// the replay ran 10 GC cycles, which used ~1.5 s of CPU, at a peak RSS of
// ~1.1 GB; with a headroom of 1 GiB it ran 3, which used ~0.95 s, at a
// peak RSS of ~1.55 GB (a fixed 800 %: ~1.8 GB). The third cycle fell in
// the final flush, which evaluates every patient-month: deferred past it,
// the flush took ~0.8 s instead of ~1.2 s.
//
// The first catch-up of the process also grows the heap by an eighth of
// the memory available (at most HugeHeapMax) of address space advised for
// transparent huge pages (adviseHugeHeap, hugepages_linux.go): the read
// model then grows into huge pages, which on these VMs makes first touches
// of heap memory ~1.5 times cheaper and reused ones ~40 times, and which
// the headroom keeps the heap within. The range is never touched by the
// advice itself; the runtime's scavenger returns what stays unused.
//
// Operators keep the last word: with GOGC or GOMEMLIMIT in the environment
// nothing is changed, and when the memory available cannot be read the
// policy stays off rather than let the heap grow unbounded; GODEBUG=
// disablethp=1, the kernel's THP mode "never" or strict overcommit leave
// the heap's pages as they are.

// CatchUpGCPercent is the least GC percent while catching up.
const CatchUpGCPercent = 200

// HugeHeapMax bounds the heap range the first catch-up advises for huge
// pages.
const HugeHeapMax = 2 << 30

// catchUpMinEvents is the backlog from which a Runner raises it (a
// variable for the tests).
var catchUpMinEvents uint64 = 50_000

// maxCatchUpGCPercent bounds the GC percent the pacer sets for a small
// live heap.
const maxCatchUpGCPercent = 100_000

// pacePeriod is how often the pacer reads the live heap.
const pacePeriod = 50 * time.Millisecond

var catchUp struct {
	mu        sync.Mutex
	holders   int
	deferred  atomic.Int32 // deferCatchUpGC calls not yet resumed
	headroom  uint64
	prevGC    int
	prevLimit int64
	advised   bool          // the huge-page range was reserved (once per process)
	stopPacer chan struct{} // closed to stop the pacer
	pacerDone chan struct{} // closed when the pacer has stopped
}

// hugeHeapSize is the heap range the first catch-up advises for huge
// pages, given the memory available.
func hugeHeapSize(avail uint64) uint64 { return min(avail/8, HugeHeapMax) }

// catchUpHeadroom is how far the pacer lets the heap grow past the live
// heap, given the memory available: half the huge-page range.
func catchUpHeadroom(avail uint64) uint64 { return hugeHeapSize(avail) / 2 }

// catchUpPercent is the GC percent that puts the next GC goal headroom
// bytes above a live heap of live bytes, at least CatchUpGCPercent.
func catchUpPercent(live, headroom uint64) int {
	if live == 0 {
		return maxCatchUpGCPercent
	}
	p := headroom/live*100 + headroom%live*100/live
	return int(min(max(p, CatchUpGCPercent), maxCatchUpGCPercent))
}

// liveHeap is the heap the last GC cycle marked live, in bytes (0 before
// the first cycle).
func liveHeap() uint64 { return runtimeBytes("/gc/heap/live:bytes") }

// heapNow is the memory of the heap's objects now, live or not yet
// collected, in bytes.
func heapNow() uint64 { return runtimeBytes("/memory/classes/heap/objects:bytes") }

// runtimeBytes reads a runtime/metrics byte count (0 when the runtime does
// not report it).
func runtimeBytes(name string) uint64 {
	s := []metrics.Sample{{Name: name}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// pace keeps the GC percent set for the current live heap (paceOnce)
// every pacePeriod until stop is closed, then closes done. It skips a tick
// while a deferral is in force, and while catchUp.mu is held: a deferral or
// release is changing the settings (a release holds it until the pacer has
// stopped).
func pace(headroom uint64, last int, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(pacePeriod)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			if catchUp.mu.TryLock() {
				if catchUp.deferred.Load() == 0 {
					last = paceOnce(headroom, last)
				}
				catchUp.mu.Unlock()
			}
		}
	}
}

// paceOnce sets the GC percent that puts the next GC goal headroom bytes
// above the live heap the last cycle left, unless it is last already, and
// returns it.
func paceOnce(headroom uint64, last int) int {
	p := catchUpPercent(liveHeap(), headroom)
	if p != last {
		debug.SetGCPercent(p)
	}
	return p
}

// holdCatchUpGC applies the catch-up policy until the returned release is
// called (once; later calls do nothing). Holds nest across Runners.
func holdCatchUpGC() (release func()) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	catchUp.mu.Lock()
	defer catchUp.mu.Unlock()
	if catchUp.holders == 0 {
		avail := availableMemory()
		if avail == 0 {
			return func() {}
		}
		catchUp.prevLimit = debug.SetMemoryLimit(int64(avail / 4 * 3))
		catchUp.prevGC = debug.SetGCPercent(CatchUpGCPercent)
		if !catchUp.advised {
			catchUp.advised = true
			// Best effort: without the advice the heap keeps 4 KiB pages.
			_, _, _ = adviseHugeHeap(int(hugeHeapSize(avail)))
		}
		headroom := catchUpHeadroom(avail)
		catchUp.headroom = headroom
		catchUp.stopPacer, catchUp.pacerDone = make(chan struct{}), make(chan struct{})
		go pace(headroom, paceOnce(headroom, CatchUpGCPercent), catchUp.stopPacer, catchUp.pacerDone)
	}
	catchUp.holders++
	var once sync.Once
	return func() {
		once.Do(func() {
			catchUp.mu.Lock()
			defer catchUp.mu.Unlock()
			catchUp.holders--
			if catchUp.holders == 0 {
				close(catchUp.stopPacer)
				<-catchUp.pacerDone
				debug.SetGCPercent(catchUp.prevGC)
				debug.SetMemoryLimit(catchUp.prevLimit)
			}
		})
	}
}

// deferCatchUpGC moves the next GC goal a headroom above the heap as it
// is now (rather than above the live heap the last cycle left) while the
// catch-up policy is held, until resume is called (once; later calls do
// nothing); the pacer then sets the percent for the live heap again. A
// Runner holding the policy defers the collector so around the flush that
// ends its catch-up: that flush builds the read model's rows (the billing
// projection evaluates every patient-month of the log in it), so a cycle
// started during it marks the rows being built and little garbage, and
// slows the flush the read model's first readers wait for. The heap still
// stays within two headrooms of the live heap, and the memory limit holds.
func deferCatchUpGC() (resume func()) {
	catchUp.mu.Lock()
	defer catchUp.mu.Unlock()
	if catchUp.holders == 0 {
		return func() {}
	}
	catchUp.deferred.Add(1)
	debug.SetGCPercent(deferredPercent(liveHeap(), heapNow(), catchUp.headroom))
	var once sync.Once
	return func() {
		once.Do(func() {
			catchUp.mu.Lock()
			defer catchUp.mu.Unlock()
			if catchUp.deferred.Add(-1) == 0 && catchUp.holders > 0 {
				paceOnce(catchUp.headroom, -1)
			}
		})
	}
}

// deferredPercent is the GC percent that puts the next GC goal headroom
// bytes above a heap of heap bytes, given the live heap of the last cycle.
func deferredPercent(live, heap, headroom uint64) int {
	return catchUpPercent(live, max(heap, live)-live+headroom)
}

// availableMemory is the memory the process may use in bytes: its cgroup
// v2 limit when one is set, otherwise the machine's MemTotal; 0 when
// neither can be read (not Linux, for example).
func availableMemory() uint64 {
	total := uint64(0)
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			f := bytes.Fields(sc.Bytes())
			if len(f) >= 2 && string(f[0]) == "MemTotal:" {
				if kb, err := strconv.ParseUint(string(f[1]), 10, 64); err == nil {
					total = kb * 1024
				}
				break
			}
		}
	}
	if b, err := os.ReadFile("/sys/fs/cgroup/memory.max"); err == nil {
		if v, err := strconv.ParseUint(string(bytes.TrimSpace(b)), 10, 64); err == nil && v > 0 && v < math.MaxInt64 {
			if total == 0 || v < total {
				total = v
			}
		}
	}
	return total
}
