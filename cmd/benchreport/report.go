package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

const (
	implCarelog = "carelog"
	implRaw     = "raw"
	opsPerSec   = "ops/s (1e9/(ns/op))"
)

// pairLine is one reported pair.
type pairLine struct {
	name        string
	metric      string // the unit compared, or opsPerSec
	carelog     float64
	raw         float64
	carelogRuns int
	rawRuns     int
	// latency is true when metric is a latency (lower is better, bounded
	// by -max) rather than a rate (higher is better, bounded by -min).
	latency bool
	// tail is the p99 counterpart of a p50 latency metric, when both sides
	// report it on every run: shown, never bounded.
	tail                 string
	carelogTail, rawTail float64
}

// ratio is carelog/raw: for a rate below 1 Carelog is slower than raw, for
// a latency above 1.
func (p pairLine) ratio() float64 { return p.carelog / p.raw }

// String is the report line: "NAME: carelog X/s, raw Y/s, ratio R" for a
// rate, "NAME: carelog p50 Xµs, raw p50 Yµs, ratio R" for a latency metric
// p50-µs (followed by ", p99 carelog Xµs, raw Yµs" when p99-µs is there too).
func (p pairLine) String() string {
	if !p.latency {
		return fmt.Sprintf("%s: carelog %.0f/s, raw %.0f/s, ratio %.2f", p.name, p.carelog, p.raw, p.ratio())
	}
	s := fmt.Sprintf("%s: carelog %s, raw %s, ratio %.2f", p.name, latencyValue(p.metric, p.carelog), latencyValue(p.metric, p.raw), p.ratio())
	if p.tail != "" {
		q, _ := splitLatency(p.tail)
		s += fmt.Sprintf(", %s carelog %s, raw %s", q, value(p.carelogTail, p.tail), value(p.rawTail, p.tail))
	}
	return s
}

// latencyValue prints v of unit "p50-µs" as "p50 162µs", of a unit without
// a quantile ("ms") as "162ms".
func latencyValue(unit string, v float64) string {
	q, _ := splitLatency(unit)
	if q == "" {
		return value(v, unit)
	}
	return q + " " + value(v, unit)
}

// splitLatency splits a latency unit "p50-µs" into "p50" and "µs"; a unit
// without '-' is ("", unit).
func splitLatency(unit string) (quantile, u string) {
	if i := strings.LastIndexByte(unit, '-'); i > 0 {
		return unit[:i], unit[i+1:]
	}
	return "", unit
}

// value prints a latency of unit ("p50-µs" or "µs") with three significant
// digits at most, and no decimals from 100 on: 1043µs, 162µs, 12.3µs.
func value(v float64, unit string) string {
	_, unit = splitLatency(unit)
	if v >= 100 {
		return fmt.Sprintf("%.0f%s", v, unit)
	}
	return strconv.FormatFloat(v, 'g', 3, 64) + unit
}

// tailUnit is the p99 unit matching a p50 one ("p50-µs" → "p99-µs"), or "".
func tailUnit(unit string) string {
	if rest, ok := strings.CutPrefix(unit, "p50-"); ok {
		return "p99-" + rest
	}
	return ""
}

type report struct {
	pairs    []pairLine
	warnings []string
}

type groupKey struct{ pkg, name string }

type group struct {
	key   groupKey
	sides map[string][]result // impl -> runs
	order []string            // impls in order of appearance
}

// pair groups results by package and pair name and reports each group that
// has both an impl=carelog and an impl=raw side, in order of first appearance.
// A pair compares the rate unit when both sides report it on every run, else
// the latency unit (lower is better) when both report that on every run,
// else 1e9/(ns/op) operations per second.
func pair(results []result, unit, latency string) report {
	var rep report
	groups := map[groupKey]*group{}
	var order []*group
	var noImpl []string
	for _, r := range results {
		name, impl := splitName(r.name)
		if impl == "" {
			if !slices.Contains(noImpl, r.name) {
				noImpl = append(noImpl, r.name)
			}
			continue
		}
		k := groupKey{r.pkg, name}
		g := groups[k]
		if g == nil {
			g = &group{key: k, sides: map[string][]result{}}
			groups[k] = g
			order = append(order, g)
		}
		if _, seen := g.sides[impl]; !seen {
			g.order = append(g.order, impl)
		}
		g.sides[impl] = append(g.sides[impl], r)
	}

	names := map[string]int{} // pair name -> packages reporting it
	for _, g := range order {
		c, r := g.sides[implCarelog], g.sides[implRaw]
		for _, impl := range g.order {
			if impl != implCarelog && impl != implRaw {
				rep.warnings = append(rep.warnings, fmt.Sprintf("%s: impl=%s is neither carelog nor raw; not compared%s", g.key.name, impl, inPkg(g.key.pkg)))
			}
		}
		switch {
		case len(c) == 0 && len(r) == 0:
			continue
		case len(c) == 0:
			rep.warnings = append(rep.warnings, fmt.Sprintf("unpaired: %s has impl=raw but no impl=carelog%s", g.key.name, inPkg(g.key.pkg)))
			continue
		case len(r) == 0:
			rep.warnings = append(rep.warnings, fmt.Sprintf("unpaired: %s has impl=carelog but no impl=raw%s", g.key.name, inPkg(g.key.pkg)))
			continue
		}
		metric := unit
		cv, okC := values(c, unit)
		rv, okR := values(r, unit)
		if (!okC || !okR) && latency != "" {
			lc, okLC := values(c, latency)
			lr, okLR := values(r, latency)
			if okLC && okLR {
				p := pairLine{name: g.key.name, metric: latency, latency: true, carelog: median(lc), raw: median(lr), carelogRuns: len(lc), rawRuns: len(lr)}
				if tail := tailUnit(latency); tail != "" {
					tc, okTC := values(c, tail)
					tr, okTR := values(r, tail)
					if okTC && okTR {
						p.tail, p.carelogTail, p.rawTail = tail, median(tc), median(tr)
					}
				}
				if p.raw == 0 {
					rep.warnings = append(rep.warnings, fmt.Sprintf("%s: raw %s is 0; ratio undefined, not compared", g.key.name, latency))
					continue
				}
				names[p.name]++
				rep.pairs = append(rep.pairs, p)
				continue
			}
		}
		if !okC || !okR {
			metric = opsPerSec
			cv, okC = opsValues(c)
			rv, okR = opsValues(r)
			if !okC || !okR {
				rep.warnings = append(rep.warnings, fmt.Sprintf("%s: neither %s nor ns/op on every run; not compared%s", g.key.name, unit, inPkg(g.key.pkg)))
				continue
			}
			rep.warnings = append(rep.warnings, fmt.Sprintf("%s: %s missing on some run; comparing 1e9/(ns/op) ops/s instead", g.key.name, unit))
		}
		p := pairLine{name: g.key.name, metric: metric, carelog: median(cv), raw: median(rv), carelogRuns: len(cv), rawRuns: len(rv)}
		if p.raw == 0 {
			rep.warnings = append(rep.warnings, fmt.Sprintf("%s: raw %s is 0; ratio undefined, not compared", g.key.name, metric))
			continue
		}
		names[p.name]++
		rep.pairs = append(rep.pairs, p)
	}
	for _, p := range rep.pairs {
		if n := names[p.name]; n > 1 {
			rep.warnings = append(rep.warnings, fmt.Sprintf("%s is reported by %d packages; -min %s applies to each", p.name, n, p.name))
			names[p.name] = 0
		}
	}
	if len(noImpl) > 0 {
		rep.warnings = append(rep.warnings, fmt.Sprintf("%d benchmark(s) without an impl= element, not compared: %v", len(noImpl), noImpl))
	}
	return rep
}

func inPkg(pkg string) string {
	if pkg == "" {
		return ""
	}
	return " (" + pkg + ")"
}

// values returns unit's value from every run, false if a run lacks it.
func values(runs []result, unit string) ([]float64, bool) {
	out := make([]float64, 0, len(runs))
	for _, r := range runs {
		v, ok := r.metrics[unit]
		if !ok {
			return nil, false
		}
		out = append(out, v)
	}
	return out, true
}

// opsValues returns 1e9/(ns/op) for every run, false if a run lacks a
// positive ns/op.
func opsValues(runs []result) ([]float64, bool) {
	out := make([]float64, 0, len(runs))
	for _, r := range runs {
		ns, ok := r.metrics["ns/op"]
		if !ok || ns <= 0 {
			return nil, false
		}
		out = append(out, 1e9/ns)
	}
	return out, true
}

// median of a non-empty slice; the mean of the middle two for an even count.
func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// check returns one message per bound that fails: a -min bound on a rate
// pair whose ratio is below it, a -max bound on a latency pair whose ratio is
// above it, a bound of the wrong kind for its pair (-min on a latency, -max on
// a rate), or a bound that names no pair (a renamed benchmark must not pass
// its threshold silently).
func check(pairs []pairLine, mins, maxs []bound) []string {
	var fails []string
	for _, kind := range []struct {
		flag    string
		bounds  []bound
		latency bool
	}{{"-min", mins, false}, {"-max", maxs, true}} {
		for _, b := range kind.bounds {
			limit := strconv.FormatFloat(b.ratio, 'g', -1, 64)
			found := false
			for _, p := range pairs {
				if p.name != b.name {
					continue
				}
				found = true
				r := p.ratio()
				switch {
				case p.latency != kind.latency && p.latency:
					fails = append(fails, fmt.Sprintf("%s: -min %s=%s bounds a rate, but the pair compares latency %s (lower is better); use -max", p.name, b.name, limit, p.metric))
				case p.latency != kind.latency:
					fails = append(fails, fmt.Sprintf("%s: -max %s=%s bounds a latency, but the pair compares rate %s (higher is better); use -min", p.name, b.name, limit, p.metric))
				case !p.latency && r < b.ratio:
					fails = append(fails, fmt.Sprintf("%s: ratio %s is below the bound %s (carelog %.0f/s, raw %.0f/s)",
						p.name, strconv.FormatFloat(r, 'f', 4, 64), limit, p.carelog, p.raw))
				case p.latency && r > b.ratio:
					fails = append(fails, fmt.Sprintf("%s: ratio %s is above the bound %s (carelog %s %g, raw %s %g)",
						p.name, strconv.FormatFloat(r, 'f', 4, 64), limit, p.metric, p.carelog, p.metric, p.raw))
				}
			}
			if !found {
				fails = append(fails, fmt.Sprintf("%s %s=%s names no reported pair", kind.flag, b.name, limit))
			}
		}
	}
	return fails
}
