// Command benchreport turns `go test -bench` output into one line per
// carelog/raw benchmark pair, so that `make bench` shows how far Carelog's
// API stays from the engine beneath it.
//
// It reads the benchmark output on stdin, echoes it to stderr (unless -q) and
// prints to stdout, for each pair,
//
//	NAME: carelog X/s, raw Y/s, ratio R
//
// Two benchmarks pair when their names are equal once the "Benchmark" prefix,
// the trailing -GOMAXPROCS and the impl=<x> path element are removed, and they
// were run in the same package: BenchmarkAppend/writers=16/impl=carelog-2 and
// BenchmarkAppend/writers=16/impl=raw-2 form the pair Append/writers=16.
//
// X and Y are the medians, over repeated runs (-count N), of the metric named
// by -unit (default events/s), a rate: higher is better. A pair whose sides do
// not both report that unit but both report the latency metric named by
// -latency (default p50-µs, lower is better) is printed as
//
//	NAME: carelog p50 Xµs, raw p50 Yµs, ratio R, p99 carelog Aµs, raw Bµs
//
// (the p99 part when both sides also report p99-µs). Otherwise both sides use
// 1e9/(ns/op) operations per second. R is always carelog/raw: for a rate R < 1
// means Carelog is slower than raw, for a latency R > 1 does.
//
// Exit status: 0 when at least one pair was reported and every -min and -max
// bound holds; 1 when no pair was found, a bound failed, named no pair or is of
// the wrong kind for its pair (-min bounds rates from below, -max latencies
// from above), or the input reports a failing test or benchmark; 2 on a usage
// error.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// bound is one -min NAME=RATIO.
type bound struct {
	name  string
	ratio float64
}

// bounds collects repeated -min flags.
type bounds []bound

func (b *bounds) String() string {
	parts := make([]string, len(*b))
	for i, x := range *b {
		parts[i] = x.name + "=" + strconv.FormatFloat(x.ratio, 'g', -1, 64)
	}
	return strings.Join(parts, ",")
}

// Set parses NAME=RATIO, splitting at the last '=' since names hold '='
// themselves (Append/writers=16=0.5).
func (b *bounds) Set(s string) error {
	x, err := parseBound(s)
	if err != nil {
		return err
	}
	*b = append(*b, x)
	return nil
}

func parseBound(s string) (bound, error) {
	i := strings.LastIndexByte(s, '=')
	if i <= 0 || i == len(s)-1 {
		return bound{}, fmt.Errorf("want NAME=RATIO, got %q", s)
	}
	r, err := strconv.ParseFloat(s[i+1:], 64)
	if err != nil || r < 0 {
		return bound{}, fmt.Errorf("ratio in %q is not a non-negative number", s)
	}
	return bound{name: strings.TrimPrefix(s[:i], "Benchmark"), ratio: r}, nil
}

const usage = `usage: go test -bench . [-count N] ./... | benchreport [-q] [-unit events/s] [-latency p50-µs] [-min NAME=RATIO ...] [-max NAME=RATIO ...]

Pairs impl=carelog with impl=raw benchmarks and prints one line per pair:
  NAME: carelog X/s, raw Y/s, ratio R          (a rate: higher is better)
  NAME: carelog p50 Xµs, raw p50 Yµs, ratio R  (a latency: lower is better)
X and Y are medians over repeated runs; R = carelog/raw.

`

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("benchreport", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	quiet := fs.Bool("q", false, "do not echo the input to stderr")
	unit := fs.String("unit", "events/s", "rate metric to compare (must end in /s); without it, 1e9/(ns/op) ops/s")
	latency := fs.String("latency", "p50-µs", "latency metric (lower is better) compared for pairs that lack the -unit rate; \"\" to never compare latency")
	var mins, maxs bounds
	fs.Var(&mins, "min", "fail (exit 1) when rate pair NAME's ratio carelog/raw is below RATIO, as NAME=RATIO (repeatable), e.g. Append/writers=16=0.5")
	fs.Var(&maxs, "max", "fail (exit 1) when latency pair NAME's ratio carelog/raw is above RATIO, as NAME=RATIO (repeatable), e.g. History=3")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "benchreport: unexpected arguments %q (input is read from stdin)\n", fs.Args())
		fs.Usage()
		return 2
	}
	if !strings.HasSuffix(*unit, "/s") || len(*unit) <= 2 {
		fmt.Fprintf(stderr, "benchreport: -unit %q is not a rate (X/s): the report prints X/s and ratio carelog/raw, higher is better\n", *unit)
		return 2
	}

	var echo io.Writer
	if !*quiet {
		echo = stderr
	}
	in, err := read(stdin, echo)
	if err != nil {
		fmt.Fprintf(stderr, "benchreport: read input: %v\n", err)
		return 1
	}
	rep := pair(in.results, *unit, *latency)

	for _, p := range rep.pairs {
		fmt.Fprintln(stdout, p.String())
	}
	for _, p := range rep.pairs {
		fmt.Fprintf(stderr, "benchreport: %s: %s, carelog n=%d, raw n=%d\n", p.name, p.metric, p.carelogRuns, p.rawRuns)
	}
	for _, w := range rep.warnings {
		fmt.Fprintf(stderr, "benchreport: warning: %s\n", w)
	}

	status := 0
	for _, f := range in.failures {
		fmt.Fprintf(stderr, "benchreport: FAIL: input reports a failure: %s\n", f)
		status = 1
	}
	if len(rep.pairs) == 0 {
		fmt.Fprintf(stderr, "benchreport: FAIL: no impl=carelog/impl=raw benchmark pair in the input (%d benchmark results read)\n", len(in.results))
		status = 1
	}
	for _, msg := range check(rep.pairs, mins, maxs) {
		fmt.Fprintf(stderr, "benchreport: FAIL: %s\n", msg)
		status = 1
	}
	return status
}

// result is one benchmark result line.
type result struct {
	pkg     string
	name    string // full name as printed, e.g. BenchmarkReplay/impl=raw-2
	iters   int64
	metrics map[string]float64 // unit -> value, e.g. "ns/op" -> 296056
}

type input struct {
	results  []result
	failures []string // lines that report a failing test, benchmark or package
}

// read consumes r line by line, echoing each line to echo (when not nil) as it
// arrives so that long benchmark runs show progress.
func read(r io.Reader, echo io.Writer) (input, error) {
	var in input
	pkg := ""
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			if echo != nil {
				io.WriteString(echo, line)
				if !strings.HasSuffix(line, "\n") {
					io.WriteString(echo, "\n")
				}
			}
			line = strings.TrimRight(line, "\r\n")
			switch {
			case strings.HasPrefix(line, "pkg:"):
				pkg = strings.TrimSpace(strings.TrimPrefix(line, "pkg:"))
			case isFailure(line):
				in.failures = append(in.failures, strings.TrimSpace(line))
			default:
				if res, ok := parseLine(line); ok {
					res.pkg = pkg
					in.results = append(in.results, res)
				}
			}
		}
		if err == io.EOF {
			return in, nil
		}
		if err != nil {
			return in, err
		}
	}
}

// isFailure reports lines with which go test announces a failure.
func isFailure(line string) bool {
	t := strings.TrimSpace(line)
	return t == "FAIL" || strings.HasPrefix(t, "FAIL\t") || strings.HasPrefix(t, "FAIL ") ||
		strings.HasPrefix(t, "--- FAIL:") || strings.HasPrefix(t, "panic:")
}

// parseLine parses a benchmark result line:
//
//	BenchmarkName-P  N  v1 unit1  v2 unit2 ...
//
// Lines that only start with "Benchmark" (a name printed before a benchmark's
// log output, say) are not results.
func parseLine(line string) (result, bool) {
	f := strings.Fields(line)
	if len(f) < 4 || len(f)%2 != 0 || !strings.HasPrefix(f[0], "Benchmark") || len(f[0]) == len("Benchmark") {
		return result{}, false
	}
	n, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil || n <= 0 {
		return result{}, false
	}
	res := result{name: f[0], iters: n, metrics: make(map[string]float64, (len(f)-2)/2)}
	for i := 2; i < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return result{}, false
		}
		res.metrics[f[i+1]] = v
	}
	return res, true
}

// splitName turns a full benchmark name into the pair name and the impl:
// "BenchmarkAppend/writers=16/impl=carelog-2" -> ("Append/writers=16", "carelog").
// impl is "" when no path element is impl=<x>.
func splitName(full string) (name, impl string) {
	s := strings.TrimPrefix(full, "Benchmark")
	// go test appends -GOMAXPROCS to the name unless GOMAXPROCS is 1.
	if i := strings.LastIndexByte(s, '-'); i > 0 && isDigits(s[i+1:]) {
		s = s[:i]
	}
	parts := strings.Split(s, "/")
	kept := parts[:0]
	for _, p := range parts {
		if v, ok := strings.CutPrefix(p, "impl="); ok && impl == "" {
			impl = v
			continue
		}
		kept = append(kept, p)
	}
	return strings.Join(kept, "/"), impl
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
