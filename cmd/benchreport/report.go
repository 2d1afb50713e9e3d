package main

import (
	"fmt"
	"slices"
	"strconv"
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
}

// ratio is carelog/raw: below 1 Carelog is slower than raw.
func (p pairLine) ratio() float64 { return p.carelog / p.raw }

// String is the report line, exactly "NAME: carelog X/s, raw Y/s, ratio R".
func (p pairLine) String() string {
	return fmt.Sprintf("%s: carelog %.0f/s, raw %.0f/s, ratio %.2f", p.name, p.carelog, p.raw, p.ratio())
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
func pair(results []result, unit string) report {
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

// check returns one message per -min bound that fails: the pair's ratio is
// below the bound, or no pair has that name (a renamed benchmark must not pass
// its threshold silently).
func check(pairs []pairLine, mins []bound) []string {
	var fails []string
	for _, b := range mins {
		found := false
		for _, p := range pairs {
			if p.name != b.name {
				continue
			}
			found = true
			if r := p.ratio(); r < b.ratio {
				fails = append(fails, fmt.Sprintf("%s: ratio %s is below the bound %s (carelog %.0f/s, raw %.0f/s)",
					p.name, strconv.FormatFloat(r, 'f', 4, 64), strconv.FormatFloat(b.ratio, 'g', -1, 64), p.carelog, p.raw))
			}
		}
		if !found {
			fails = append(fails, fmt.Sprintf("-min %s=%s names no reported pair", b.name, strconv.FormatFloat(b.ratio, 'g', -1, 64)))
		}
	}
	return fails
}
