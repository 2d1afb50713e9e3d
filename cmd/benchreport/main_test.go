package main

import (
	"bytes"
	"math"
	"reflect"
	"strings"
	"testing"
)

func TestParseLine(t *testing.T) {
	tests := []struct {
		line string
		want result
		ok   bool
	}{
		{
			line: "BenchmarkAppend/writers=16/impl=carelog-2   \t    2000\t    296056 ns/op\t      3378 events/s",
			want: result{name: "BenchmarkAppend/writers=16/impl=carelog-2", iters: 2000, metrics: map[string]float64{"ns/op": 296056, "events/s": 3378}},
			ok:   true,
		},
		{
			line: "BenchmarkReplay/impl=raw-2  10  1.5e+07 ns/op  66666.7 events/s  1024 B/op  12 allocs/op",
			want: result{name: "BenchmarkReplay/impl=raw-2", iters: 10, metrics: map[string]float64{"ns/op": 1.5e7, "events/s": 66666.7, "B/op": 1024, "allocs/op": 12}},
			ok:   true,
		},
		{line: "BenchmarkAppend/writers=16/impl=carelog-2", ok: false}, // name printed before log output
		{line: "BenchmarkAppend-2  abc  12 ns/op", ok: false},
		{line: "BenchmarkAppend-2  10  twelve ns/op", ok: false},
		{line: "BenchmarkAppend-2  10  12", ok: false},
		{line: "Benchmark  10  12 ns/op", ok: false},
		{line: "pkg: github.com/carelog/carelog/pkg/eventlog/jetstream", ok: false},
		{line: "goos: linux", ok: false},
		{line: "ok  \tgithub.com/carelog/carelog/pkg\t12.3s", ok: false},
		{line: "    bench_test.go:40: BenchmarkX 10 12 ns/op", ok: false},
		{line: "", ok: false},
	}
	for _, tt := range tests {
		got, ok := parseLine(tt.line)
		if ok != tt.ok {
			t.Errorf("parseLine(%q) ok = %v, want %v", tt.line, ok, tt.ok)
			continue
		}
		if ok && !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseLine(%q) = %+v, want %+v", tt.line, got, tt.want)
		}
	}
}

func TestSplitName(t *testing.T) {
	tests := []struct{ full, name, impl string }{
		{"BenchmarkAppend/writers=16/impl=carelog-2", "Append/writers=16", "carelog"},
		{"BenchmarkAppend/writers=16/impl=raw-16", "Append/writers=16", "raw"},
		{"BenchmarkReplay/impl=raw-2", "Replay", "raw"},
		{"BenchmarkReplay/impl=carelog", "Replay", "carelog"}, // GOMAXPROCS=1: no suffix
		{"BenchmarkAppend/impl=carelog/writers=4-8", "Append/writers=4", "carelog"},
		{"BenchmarkHash-4", "Hash", ""},
		{"BenchmarkHash/size=1k-4", "Hash/size=1k", ""},
		{"BenchmarkAppend/impl=carelog#01-2", "Append", "carelog#01"},
	}
	for _, tt := range tests {
		name, impl := splitName(tt.full)
		if name != tt.name || impl != tt.impl {
			t.Errorf("splitName(%q) = %q, %q; want %q, %q", tt.full, name, impl, tt.name, tt.impl)
		}
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		xs   []float64
		want float64
	}{
		{[]float64{5}, 5},
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{10, 10, 1000, 9, 11}, 10}, // an outlier does not move it
		{[]float64{2, 1}, 1.5},
	}
	for _, tt := range tests {
		in := append([]float64(nil), tt.xs...)
		if got := median(tt.xs); got != tt.want {
			t.Errorf("median(%v) = %v, want %v", tt.xs, got, tt.want)
		}
		if !reflect.DeepEqual(in, tt.xs) {
			t.Errorf("median modified its input: %v -> %v", in, tt.xs)
		}
	}
}

func TestParseBound(t *testing.T) {
	tests := []struct {
		in      string
		want    bound
		wantErr bool
	}{
		{in: "Append/writers=16=0.5", want: bound{"Append/writers=16", 0.5}},
		{in: "Replay=1", want: bound{"Replay", 1}},
		{in: "BenchmarkReplay=0.25", want: bound{"Replay", 0.25}},
		{in: "Replay", wantErr: true},
		{in: "Replay=", wantErr: true},
		{in: "=0.5", wantErr: true},
		{in: "Replay=half", wantErr: true},
		{in: "Replay=-1", wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseBound(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("parseBound(%q) err = %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if !tt.wantErr && got != tt.want {
			t.Errorf("parseBound(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func parseAll(t *testing.T, s string) []result {
	t.Helper()
	in, err := read(strings.NewReader(s), nil)
	if err != nil {
		t.Fatal(err)
	}
	return in.results
}

func TestPair(t *testing.T) {
	tests := []struct {
		name     string
		input    string
		unit     string
		latency  string   // -latency; "" is the default p50-µs, "none" is ""
		want     []string // report lines
		warnings []string // substrings, one per expected warning
	}{
		{
			name: "median over count and custom unit",
			input: `pkg: p
BenchmarkAppend/writers=16/impl=carelog-2 2000 296056 ns/op 3378 events/s
BenchmarkAppend/writers=16/impl=carelog-2 2000 296056 ns/op 3000 events/s
BenchmarkAppend/writers=16/impl=carelog-2 2000 296056 ns/op 3500 events/s
BenchmarkAppend/writers=16/impl=raw-2 4000 100000 ns/op 6000 events/s
BenchmarkAppend/writers=16/impl=raw-2 4000 100000 ns/op 7000 events/s
BenchmarkAppend/writers=16/impl=raw-2 4000 100000 ns/op 99999 events/s
`,
			unit: "events/s",
			want: []string{"Append/writers=16: carelog 3378/s, raw 7000/s, ratio 0.48"},
		},
		{
			name: "order of first appearance, even count",
			input: `BenchmarkReplay/impl=carelog-2 10 1 ns/op 500 events/s
BenchmarkReplay/impl=raw-2 10 1 ns/op 400 events/s
BenchmarkAppend/writers=1/impl=carelog-2 10 1 ns/op 100 events/s
BenchmarkAppend/writers=1/impl=raw-2 10 1 ns/op 100 events/s
BenchmarkReplay/impl=carelog-2 10 1 ns/op 700 events/s
BenchmarkReplay/impl=raw-2 10 1 ns/op 600 events/s
`,
			unit: "events/s",
			want: []string{
				"Replay: carelog 600/s, raw 500/s, ratio 1.20",
				"Append/writers=1: carelog 100/s, raw 100/s, ratio 1.00",
			},
		},
		{
			name: "unit absent: 1e9/(ns/op)",
			input: `BenchmarkGet/impl=carelog-4 1000 2000 ns/op
BenchmarkGet/impl=raw-4 1000 1000 ns/op
`,
			unit:     "events/s",
			want:     []string{"Get: carelog 500000/s, raw 1000000/s, ratio 0.50"},
			warnings: []string{"Get: events/s missing"},
		},
		{
			name: "unit on one side only: both sides fall back to ops/s",
			input: `BenchmarkGet/impl=carelog-4 1000 4000 ns/op 99 events/s
BenchmarkGet/impl=raw-4 1000 1000 ns/op
`,
			unit:     "events/s",
			want:     []string{"Get: carelog 250000/s, raw 1000000/s, ratio 0.25"},
			warnings: []string{"Get: events/s missing"},
		},
		{
			name: "other unit",
			input: `BenchmarkScan/impl=carelog-2 10 5 ns/op 50 MB/s 1 events/s
BenchmarkScan/impl=raw-2 10 5 ns/op 100 MB/s 1 events/s
`,
			unit: "MB/s",
			want: []string{"Scan: carelog 50/s, raw 100/s, ratio 0.50"},
		},
		{
			name: "unpaired, other impl, no impl",
			input: `BenchmarkAppend/writers=1/impl=carelog-2 10 1 ns/op 100 events/s
BenchmarkAppend/writers=1/impl=raw-2 10 1 ns/op 200 events/s
BenchmarkAppend/writers=4/impl=carelog-2 10 1 ns/op 100 events/s
BenchmarkReplay/impl=raw-2 10 1 ns/op 100 events/s
BenchmarkReplay/impl=eventstoredb-2 10 1 ns/op 100 events/s
BenchmarkHash-2 10 1 ns/op
`,
			unit: "events/s",
			want: []string{"Append/writers=1: carelog 100/s, raw 200/s, ratio 0.50"},
			warnings: []string{
				"unpaired: Append/writers=4 has impl=carelog but no impl=raw",
				"Replay: impl=eventstoredb is neither carelog nor raw",
				"unpaired: Replay has impl=raw but no impl=carelog",
				"without an impl= element",
			},
		},
		{
			name: "pairs only within a package",
			input: `pkg: a
BenchmarkX/impl=carelog-2 10 1 ns/op 100 events/s
pkg: b
BenchmarkX/impl=raw-2 10 1 ns/op 100 events/s
`,
			unit: "events/s",
			warnings: []string{
				"unpaired: X has impl=carelog but no impl=raw (a)",
				"unpaired: X has impl=raw but no impl=carelog (b)",
			},
		},
		{
			name: "same name in two packages",
			input: `pkg: a
BenchmarkX/impl=carelog-2 10 1 ns/op 100 events/s
BenchmarkX/impl=raw-2 10 1 ns/op 100 events/s
pkg: b
BenchmarkX/impl=carelog-2 10 1 ns/op 100 events/s
BenchmarkX/impl=raw-2 10 1 ns/op 400 events/s
`,
			unit:     "events/s",
			want:     []string{"X: carelog 100/s, raw 100/s, ratio 1.00", "X: carelog 100/s, raw 400/s, ratio 0.25"},
			warnings: []string{"X is reported by 2 packages"},
		},
		{
			name: "latency: medians of p50 and p99, lower is better",
			input: `pkg: audit
BenchmarkHistory/impl=carelog-2 200 3855078 ns/op 5.110 events/op 1010 p50-µs 64226 p99-µs
BenchmarkHistory/impl=carelog-2 200 846633 ns/op 5.110 events/op 844.6 p50-µs 1689 p99-µs
BenchmarkHistory/impl=carelog-2 200 714448 ns/op 5.110 events/op 485.0 p50-µs 4881 p99-µs
BenchmarkHistory/impl=raw-2 200 187436 ns/op 5.110 events/op 172.8 p50-µs 511.4 p99-µs
BenchmarkHistory/impl=raw-2 200 241792 ns/op 5.110 events/op 191.2 p50-µs 711.7 p99-µs
BenchmarkHistory/impl=raw-2 200 353797 ns/op 5.110 events/op 130.0 p50-µs 472.8 p99-µs
`,
			unit: "events/s",
			want: []string{"History: carelog p50 845µs, raw p50 173µs, ratio 4.89, p99 carelog 4881µs, raw 511µs"},
		},
		{
			name: "latency without p99",
			input: `BenchmarkGet/impl=carelog-2 10 1 ns/op 12.5 p50-µs
BenchmarkGet/impl=raw-2 10 1 ns/op 10 p50-µs 20 p99-µs
`,
			unit: "events/s",
			want: []string{"Get: carelog p50 12.5µs, raw p50 10µs, ratio 1.25"},
		},
		{
			name: "rate preferred to latency",
			input: `BenchmarkGet/impl=carelog-2 10 1 ns/op 50 events/s 10 p50-µs
BenchmarkGet/impl=raw-2 10 1 ns/op 100 events/s 5 p50-µs
`,
			unit: "events/s",
			want: []string{"Get: carelog 50/s, raw 100/s, ratio 0.50"},
		},
		{
			name: "latency on one side only: ops/s",
			input: `BenchmarkGet/impl=carelog-2 10 2000 ns/op 10 p50-µs
BenchmarkGet/impl=raw-2 10 1000 ns/op
`,
			unit:     "events/s",
			want:     []string{"Get: carelog 500000/s, raw 1000000/s, ratio 0.50"},
			warnings: []string{"Get: events/s missing"},
		},
		{
			name: "latency disabled",
			input: `BenchmarkGet/impl=carelog-2 10 2000 ns/op 10 p50-µs
BenchmarkGet/impl=raw-2 10 1000 ns/op 5 p50-µs
`,
			unit:     "events/s",
			latency:  "none",
			want:     []string{"Get: carelog 500000/s, raw 1000000/s, ratio 0.50"},
			warnings: []string{"Get: events/s missing"},
		},
		{
			name: "custom latency unit",
			input: `BenchmarkGet/impl=carelog-2 10 1 ns/op 3 p90-ms
BenchmarkGet/impl=raw-2 10 1 ns/op 2 p90-ms
`,
			unit:    "events/s",
			latency: "p90-ms",
			want:    []string{"Get: carelog p90 3ms, raw p90 2ms, ratio 1.50"},
		},
		{
			name:     "latency raw zero",
			input:    "BenchmarkX/impl=carelog-2 10 1 ns/op 100 p50-µs\nBenchmarkX/impl=raw-2 10 1 ns/op 0 p50-µs\n",
			unit:     "events/s",
			warnings: []string{"X: raw p50-µs is 0"},
		},
		{
			name:  "raw zero",
			input: "BenchmarkX/impl=carelog-2 10 1 ns/op 100 events/s\nBenchmarkX/impl=raw-2 10 1 ns/op 0 events/s\n",
			unit:  "events/s",
			warnings: []string{
				"X: raw events/s is 0",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			latency := tt.latency
			if latency == "" {
				latency = "p50-µs"
			}
			if latency == "none" {
				latency = ""
			}
			rep := pair(parseAll(t, tt.input), tt.unit, latency)
			var got []string
			for _, p := range rep.pairs {
				got = append(got, p.String())
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("pairs:\n got %q\nwant %q", got, tt.want)
			}
			if len(rep.warnings) != len(tt.warnings) {
				t.Errorf("warnings = %q, want %d matching %q", rep.warnings, len(tt.warnings), tt.warnings)
				return
			}
			for i, w := range tt.warnings {
				if !strings.Contains(rep.warnings[i], w) {
					t.Errorf("warning %d = %q, want it to contain %q", i, rep.warnings[i], w)
				}
			}
		})
	}
}

func TestCheck(t *testing.T) {
	pairs := []pairLine{
		{name: "Append/writers=16", carelog: 3378, raw: 7000},                      // 0.4826
		{name: "Replay", carelog: 900, raw: 1000},                                  // 0.9
		{name: "History", metric: "p50-µs", latency: true, carelog: 450, raw: 150}, // 3
	}
	tests := []struct {
		name string
		mins []bound
		maxs []bound
		want []string // substrings, one per failure
	}{
		{name: "max holds", maxs: []bound{{"History", 3}}},
		{name: "max above", maxs: []bound{{"History", 2.9}}, want: []string{"History: ratio 3.0000 is above the bound 2.9 (carelog p50-µs 450, raw p50-µs 150)"}},
		{name: "min on a latency", mins: []bound{{"History", 0.5}}, want: []string{"History: -min History=0.5 bounds a rate, but the pair compares latency p50-µs (lower is better); use -max"}},
		{name: "max on a rate", maxs: []bound{{"Replay", 2}}, want: []string{"Replay: -max Replay=2 bounds a latency"}},
		{name: "max unknown name", maxs: []bound{{"Nope", 3}}, want: []string{"-max Nope=3 names no reported pair"}},
		{name: "min and max", mins: []bound{{"Replay", 1}}, maxs: []bound{{"History", 1}}, want: []string{"Replay: ratio 0.9000", "History: ratio 3.0000 is above"}},
		{name: "none", mins: nil},
		{name: "holds", mins: []bound{{"Replay", 0.9}, {"Append/writers=16", 0.48}}},
		{name: "below", mins: []bound{{"Append/writers=16", 0.5}}, want: []string{"Append/writers=16: ratio 0.4826 is below the bound 0.5"}},
		{name: "rounds to bound but below", mins: []bound{{"Append/writers=16", 0.483}}, want: []string{"ratio 0.4826 is below the bound 0.483"}},
		{name: "unknown name", mins: []bound{{"Append/writers=64", 0.5}}, want: []string{"-min Append/writers=64=0.5 names no reported pair"}},
		{name: "several", mins: []bound{{"Replay", 1}, {"Append/writers=16", 0.1}, {"Nope", 1}}, want: []string{"Replay: ratio 0.9000", "Nope"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := check(pairs, tt.mins, tt.maxs)
			if len(got) != len(tt.want) {
				t.Fatalf("check = %q, want %d failures like %q", got, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("failure %d = %q, want it to contain %q", i, got[i], w)
				}
			}
		})
	}
}

func TestPairLineFormatLatency(t *testing.T) {
	tests := []struct {
		p    pairLine
		want string
	}{
		{pairLine{name: "History", metric: "p50-µs", latency: true, carelog: 1043.4, raw: 162.1},
			"History: carelog p50 1043µs, raw p50 162µs, ratio 6.44"},
		{pairLine{name: "History", metric: "p50-µs", latency: true, carelog: 99.94, raw: 9.876, tail: "p99-µs", carelogTail: 250, rawTail: 0.5},
			"History: carelog p50 99.9µs, raw p50 9.88µs, ratio 10.12, p99 carelog 250µs, raw 0.5µs"},
		{pairLine{name: "X", metric: "ms", latency: true, carelog: 2, raw: 1},
			"X: carelog 2ms, raw 1ms, ratio 2.00"},
	}
	for _, tt := range tests {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}

func TestPairLineFormat(t *testing.T) {
	p := pairLine{name: "Append/writers=16", carelog: 3377.5, raw: 6999.49}
	if got, want := p.String(), "Append/writers=16: carelog 3378/s, raw 6999/s, ratio 0.48"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if r := p.ratio(); math.Abs(r-3377.5/6999.49) > 1e-12 {
		t.Errorf("ratio() = %v, want carelog/raw", r)
	}
}

const sample = `goos: linux
goarch: amd64
pkg: github.com/carelog/carelog/pkg/eventlog/jetstream
cpu: AMD EPYC
BenchmarkAppend/writers=16/impl=carelog-2         	    2000	    296056 ns/op	      3378 events/s
BenchmarkAppend/writers=16/impl=raw-2             	    4000	    148028 ns/op	      6756 events/s
BenchmarkReplay/impl=carelog-2                    	      10	  20000000 ns/op	    500000 events/s
BenchmarkReplay/impl=raw-2                        	      10	  10000000 ns/op	   1000000 events/s
PASS
ok  	github.com/carelog/carelog/pkg/eventlog/jetstream	42.1s
`

const latencySample = `pkg: github.com/carelog/carelog/services/audit/internal/bench
BenchmarkHistory/impl=carelog-2   200   1100000 ns/op   5.110 events/op   1000 p50-µs   3000 p99-µs
BenchmarkHistory/impl=raw-2       200    250000 ns/op   5.110 events/op    200 p50-µs    600 p99-µs
PASS
`

func TestRun(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		input      string
		status     int
		stdout     string
		stderrHas  []string
		stderrNots []string
	}{
		{
			name:   "report, echo",
			input:  sample,
			status: 0,
			stdout: "Append/writers=16: carelog 3378/s, raw 6756/s, ratio 0.50\nReplay: carelog 500000/s, raw 1000000/s, ratio 0.50\n",
			stderrHas: []string{
				"cpu: AMD EPYC\n", // echoed
				"Append/writers=16: events/s, carelog n=1, raw n=1",
			},
		},
		{
			name:       "quiet",
			args:       []string{"-q"},
			input:      sample,
			status:     0,
			stdout:     "Append/writers=16: carelog 3378/s, raw 6756/s, ratio 0.50\nReplay: carelog 500000/s, raw 1000000/s, ratio 0.50\n",
			stderrNots: []string{"cpu: AMD EPYC"},
		},
		{
			name:       "min holds",
			args:       []string{"-q", "-min", "Append/writers=16=0.5", "-min", "Replay=0.4"},
			input:      sample,
			status:     0,
			stdout:     "Append/writers=16: carelog 3378/s, raw 6756/s, ratio 0.50\nReplay: carelog 500000/s, raw 1000000/s, ratio 0.50\n",
			stderrNots: []string{"FAIL"},
		},
		{
			name:      "min fails",
			args:      []string{"-q", "-min", "Append/writers=16=0.5", "-min", "Replay=0.75"},
			input:     sample,
			status:    1,
			stdout:    "Append/writers=16: carelog 3378/s, raw 6756/s, ratio 0.50\nReplay: carelog 500000/s, raw 1000000/s, ratio 0.50\n",
			stderrHas: []string{"FAIL: Replay: ratio 0.5000 is below the bound 0.75"},
		},
		{
			name:      "no pair",
			args:      []string{"-q"},
			input:     "pkg: x\nBenchmarkHash-2 10 5 ns/op\nPASS\n",
			status:    1,
			stderrHas: []string{"no impl=carelog/impl=raw benchmark pair", "1 benchmark results read"},
		},
		{
			name:      "empty input",
			args:      []string{"-q"},
			input:     "",
			status:    1,
			stderrHas: []string{"no impl=carelog/impl=raw benchmark pair"},
		},
		{
			name:      "failing benchmark in input",
			args:      []string{"-q"},
			input:     sample + "--- FAIL: BenchmarkAppend/writers=64/impl=carelog\n    bench_test.go:50: append: timeout\nFAIL\nFAIL\tgithub.com/carelog/carelog/pkg\t3.2s\n",
			status:    1,
			stdout:    "Append/writers=16: carelog 3378/s, raw 6756/s, ratio 0.50\nReplay: carelog 500000/s, raw 1000000/s, ratio 0.50\n",
			stderrHas: []string{"FAIL: input reports a failure: --- FAIL: BenchmarkAppend/writers=64/impl=carelog"},
		},
		{
			name:   "no trailing newline, CRLF",
			args:   []string{"-q"},
			input:  "BenchmarkX/impl=carelog-2 10 1 ns/op 1 events/s\r\nBenchmarkX/impl=raw-2 10 1 ns/op 2 events/s",
			status: 0,
			stdout: "X: carelog 1/s, raw 2/s, ratio 0.50\n",
		},
		{
			name:      "max on a latency pair fails",
			args:      []string{"-q", "-max", "History=3"},
			input:     latencySample,
			status:    1,
			stdout:    "History: carelog p50 1000µs, raw p50 200µs, ratio 5.00, p99 carelog 3000µs, raw 600µs\n",
			stderrHas: []string{"FAIL: History: ratio 5.0000 is above the bound 3", "History: p50-µs, carelog n=1, raw n=1"},
		},
		{
			name:       "max on a latency pair holds",
			args:       []string{"-q", "-max", "History=5", "-min", "Replay=0.5"},
			input:      sample + latencySample,
			status:     0,
			stdout:     "Append/writers=16: carelog 3378/s, raw 6756/s, ratio 0.50\nReplay: carelog 500000/s, raw 1000000/s, ratio 0.50\nHistory: carelog p50 1000µs, raw p50 200µs, ratio 5.00, p99 carelog 3000µs, raw 600µs\n",
			stderrNots: []string{"FAIL"},
		},
		{name: "bad max", args: []string{"-max", "History"}, status: 2, stderrHas: []string{"want NAME=RATIO"}},
		{name: "bad min", args: []string{"-min", "Replay"}, status: 2, stderrHas: []string{"want NAME=RATIO"}},
		{name: "not a rate", args: []string{"-unit", "ns/op"}, status: 2, stderrHas: []string{"not a rate"}},
		{name: "positional arg", args: []string{"bench.txt"}, status: 2, stderrHas: []string{"unexpected arguments"}},
		{name: "help", args: []string{"-h"}, status: 0, stderrHas: []string{"usage: go test -bench", "-min value", "-max value", "-latency string"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			status := run(tt.args, strings.NewReader(tt.input), &stdout, &stderr)
			if status != tt.status {
				t.Errorf("status = %d, want %d; stderr:\n%s", status, tt.status, stderr.String())
			}
			if stdout.String() != tt.stdout {
				t.Errorf("stdout:\n%s\nwant:\n%s", stdout.String(), tt.stdout)
			}
			for _, s := range tt.stderrHas {
				if !strings.Contains(stderr.String(), s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr.String())
				}
			}
			for _, s := range tt.stderrNots {
				if strings.Contains(stderr.String(), s) {
					t.Errorf("stderr has %q:\n%s", s, stderr.String())
				}
			}
		})
	}
}
