package rules

import "sync"

// scratch is the memory an evaluation builds its working slices in, kept at
// length zero for the next evaluation. A rebuild evaluates hundreds of
// thousands of patient-months, and building these afresh each time was most
// of Evaluate's garbage. Evaluate takes a scratch from scratchPool and gives
// it back once the Evaluation is built; in between no other evaluation can
// reach it. Nothing the Evaluation holds points into it: every result slice
// is allocated for the result.
type scratch struct {
	blocking, holds []Reason // not_billable gates, holds, in the order found
	flags           []Flag   // review flags, in the order raised

	ccm, pcm []Condition
	dx       []string
	claims   []ExternalClaim
	consents []*Consent // the billing practitioner's consents (checkConsent)
	accepted []*Consent // the accepted ones among them

	refs       []entryRef
	order      []*entryRef // refs in entry order
	takenIDs   index[string]
	candidates []*entryRef // entries left to attribute minute by minute
	counted    []*entryRef // entries with counted minutes
	spans      spanStore
	windows    []window
	others     []keyedSpans // time counted for other programs, per person
	exclusions []exclusionItem
	pieces     []piece
	reached    index[key] // persons and sharing groups in the sweep
	reaches    []int64    // their reach, by position in reached
	time       []countedSpan
	evidence   index[string]
}

// maxPooledEntries bounds the scratch kept for reuse: that of an unusually
// busy month goes back to the collector.
const maxPooledEntries = 1024

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// release returns b to scratchPool at length zero, after clearing what
// refers to the evaluated Facts, so that pooled scratch keeps no patient's
// data alive. (The rest refers only to b itself or holds no pointers.)
func (b *scratch) release() {
	if cap(b.refs) > maxPooledEntries {
		return
	}
	b.blocking, b.holds, b.flags = cleared(b.blocking), cleared(b.holds), cleared(b.flags)
	b.ccm, b.pcm, b.dx = cleared(b.ccm), cleared(b.pcm), cleared(b.dx)
	b.claims, b.consents, b.accepted = cleared(b.claims), cleared(b.consents), cleared(b.accepted)
	b.refs, b.others, b.reaches = cleared(b.refs), cleared(b.others), b.reaches[:0]
	b.takenIDs.reset()
	b.reached.reset()
	b.evidence.reset()
	b.order, b.candidates, b.counted = b.order[:0], b.candidates[:0], b.counted[:0]
	b.windows, b.exclusions, b.pieces, b.time = b.windows[:0], b.exclusions[:0], b.pieces[:0], b.time[:0]
	b.spans.buf = b.spans.buf[:0]
	scratchPool.Put(b)
}

// cleared zeroes s and returns it at length zero.
func cleared[T any](s []T) []T {
	clear(s)
	return s[:0]
}

// index numbers the distinct keys it is given, in the order first given.
// An evaluation sees few (a month's entries, persons, evidence ids), and
// scanning them is cheaper than hashing; past indexScanMax keys it also
// keeps a map, so that a busy month does not take quadratic time.
type index[K comparable] struct {
	keys []K
	m    map[K]int
}

const indexScanMax = 16

// find returns k's position, if k was inserted.
func (x *index[K]) find(k K) (int, bool) {
	if x.m != nil {
		i, ok := x.m[k]
		return i, ok
	}
	for i, v := range x.keys {
		if v == k {
			return i, true
		}
	}
	return 0, false
}

// insert adds k, which find did not find, and returns its position.
func (x *index[K]) insert(k K) int {
	i := len(x.keys)
	x.keys = append(x.keys, k)
	switch {
	case x.m != nil:
		x.m[k] = i
	case len(x.keys) > indexScanMax:
		x.m = make(map[K]int, 2*len(x.keys))
		for j, v := range x.keys {
			x.m[v] = j
		}
	}
	return i
}

// reset empties x, dropping its keys (and any map: a map grown for one
// busy month is not kept for the next).
func (x *index[K]) reset() {
	x.keys, x.m = cleared(x.keys), nil
}
