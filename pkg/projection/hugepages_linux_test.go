package projection

import (
	"bufio"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// vmaFlags returns the VmFlags of every mapping of the process that
// overlaps [start, end), from /proc/self/smaps.
func vmaFlags(t *testing.T, start, end uintptr) [][]string {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][]string
	overlaps := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if lo, hi, ok := strings.Cut(fields[0], "-"); ok {
			a, errA := strconv.ParseUint(lo, 16, 64)
			b, errB := strconv.ParseUint(hi, 16, 64)
			if errA == nil && errB == nil {
				overlaps = uintptr(a) < end && start < uintptr(b)
				continue
			}
		}
		if rest, ok := strings.CutPrefix(line, "VmFlags:"); ok && overlaps {
			out = append(out, strings.Fields(rest))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func minorFaults() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Minflt
}

func TestAdviseHugeHeapAdvisesAnUntouchedRange(t *testing.T) {
	const n = 256 << 20
	faults := minorFaults()
	start, end, err := adviseHugeHeap(n)
	faults = minorFaults() - faults
	if err != nil {
		t.Fatalf("adviseHugeHeap: %v", err)
	}
	if thpDisabled() {
		if start != end {
			t.Fatalf("THP off on this machine, yet a range was advised: %#x-%#x", start, end)
		}
		return
	}
	if start%hugePageSize != 0 || end%hugePageSize != 0 || end-start < n-2*hugePageSize {
		t.Fatalf("advised %#x-%#x (%d bytes): want huge-page aligned and at least %d bytes", start, end, end-start, n-2*hugePageSize)
	}
	// The advice touches nothing: far fewer faults than the range's 4 KiB
	// pages (65,536).
	if faults > n/4096/8 {
		t.Fatalf("%d page faults while advising %d bytes: the range was touched", faults, n)
	}
	flags := vmaFlags(t, start, end)
	if len(flags) == 0 {
		t.Fatalf("no mapping covers the advised range %#x-%#x", start, end)
	}
	for _, f := range flags {
		if !slices.Contains(f, "hg") {
			t.Fatalf("a mapping of the advised range lacks the huge-page flag: VmFlags %v", f)
		}
	}
}

func TestAdviseHugeHeapAdvisesNothing(t *testing.T) {
	for _, tc := range []struct {
		name, godebug string
		n             int
	}{
		{"the runtime's switch off", "madvdontneed=1, disablethp=1", 64 << 20},
		{"less than two huge pages", "", 2*hugePageSize - 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("GODEBUG", tc.godebug)
			if start, end, err := adviseHugeHeap(tc.n); err != nil || start != end {
				t.Fatalf("advised %#x-%#x, %v; want nothing", start, end, err)
			}
		})
	}
}
