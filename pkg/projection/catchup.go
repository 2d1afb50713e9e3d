package projection

import (
	"bufio"
	"bytes"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"sync"
)

// Catch-up memory policy. A Runner that replays a long backlog (every
// in-memory read model at start, `carelog projections rebuild`) allocates
// fast while its read model's live heap keeps growing. With the default
// GOGC=100 the collector marks that whole growing heap again each time
// allocation has doubled it. A higher target marks less often but lets the
// heap grow further past the live data, and every page of heap the process
// touches for the first time is a page fault, which on virtual machines
// costs ~10 µs (the billing rebuild benchmark, 1,000,000 events and a live
// heap of ~0.5 GB at the end, faulted ~470k pages at 800 % against ~265k at
// 200 %). Measured there on 2 cores, in fresh processes (paired runs),
// 200 % replays 6–13 % faster than 800 % and ~10 % faster than 100 %, at a
// peak RSS of ~1 GB instead of ~1.8 GB. So while any Runner of the process
// catches up on at least catchUpMinEvents events, the process runs with a
// GC percent of CatchUpGCPercent, bounded by a soft memory limit of three
// quarters of the machine's (or its cgroup's) memory; when the last such
// Runner reaches the end of the log the previous settings come back.
//
// The first catch-up of the process also grows the heap by an eighth of
// the memory available (at most HugeHeapMax) of address space advised for
// transparent huge pages (adviseHugeHeap, hugepages_linux.go): the read
// model then grows into huge pages, which on these VMs makes first touches
// of heap memory ~1.5 times cheaper and reused ones ~40 times. The range is
// never touched by the advice itself; the runtime's scavenger returns what
// stays unused.
//
// Operators keep the last word: with GOGC or GOMEMLIMIT in the environment
// nothing is changed, and when the memory available cannot be read the
// policy stays off rather than let the heap grow unbounded; GODEBUG=
// disablethp=1, the kernel's THP mode "never" or strict overcommit leave
// the heap's pages as they are.

// CatchUpGCPercent is the GC percent while catching up.
const CatchUpGCPercent = 200

// HugeHeapMax bounds the heap range the first catch-up advises for huge
// pages.
const HugeHeapMax = 2 << 30

// catchUpMinEvents is the backlog from which a Runner raises it (a
// variable for the tests).
var catchUpMinEvents uint64 = 50_000

var catchUp struct {
	mu        sync.Mutex
	holders   int
	prevGC    int
	prevLimit int64
	advised   bool // the huge-page range was reserved (once per process)
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
			_, _, _ = adviseHugeHeap(int(min(avail/8, HugeHeapMax)))
		}
	}
	catchUp.holders++
	var once sync.Once
	return func() {
		once.Do(func() {
			catchUp.mu.Lock()
			defer catchUp.mu.Unlock()
			catchUp.holders--
			if catchUp.holders == 0 {
				debug.SetGCPercent(catchUp.prevGC)
				debug.SetMemoryLimit(catchUp.prevLimit)
			}
		})
	}
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
