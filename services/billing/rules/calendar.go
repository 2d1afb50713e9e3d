package rules

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
)

// Month is a calendar month (a CCM service period, T3). Its JSON form is
// "YYYY-MM". The zero Month is invalid and means "not set".
type Month struct {
	Year  int
	Month time.Month
}

// ParseMonth parses "YYYY-MM".
func ParseMonth(s string) (Month, error) {
	t, err := time.Parse("2006-01", s)
	if err != nil {
		return Month{}, fmt.Errorf("rules.ParseMonth: %q is not YYYY-MM", s)
	}
	return Month{t.Year(), t.Month()}, nil
}

// MustMonth is ParseMonth for constants in tables and tests; it panics on a
// malformed literal.
func MustMonth(s string) Month {
	m, err := ParseMonth(s)
	if err != nil {
		panic(err)
	}
	return m
}

// IsZero reports whether m is unset.
func (m Month) IsZero() bool { return m.Year == 0 && m.Month == 0 }

// String is "YYYY-MM" (fmt's "%04d-%02d").
func (m Month) String() string {
	if m.Year < 0 || m.Month < 0 {
		return fmt.Sprintf("%04d-%02d", m.Year, int(m.Month))
	}
	var b [16]byte
	return string(appendPadded(append(appendPadded(b[:0], m.Year, 4), '-'), int(m.Month), 2))
}

// appendPadded appends v ≥ 0 in decimal, zero-padded to width digits (fmt's
// "%0*d"). Month and Date format with it: a rebuild formats a month and a
// date of service per evaluation, and fmt was a visible share of its time.
func appendPadded(b []byte, v, width int) []byte {
	var d [20]byte
	digits := strconv.AppendInt(d[:0], int64(v), 10)
	for range width - len(digits) {
		b = append(b, '0')
	}
	return append(b, digits...)
}

// Index is a month count usable for ordering and arithmetic.
func (m Month) Index() int { return m.Year*12 + int(m.Month) - 1 }

func monthFromIndex(i int) Month { return Month{i / 12, time.Month(i%12 + 1)} }

// AddMonths returns the month n months after m (n may be negative).
func (m Month) AddMonths(n int) Month { return monthFromIndex(m.Index() + n) }

// Before reports whether m is earlier than o.
func (m Month) Before(o Month) bool { return m.Index() < o.Index() }

// Start is local midnight of the first day of m in loc.
func (m Month) Start(loc *time.Location) time.Time {
	return m.FirstDay().Midnight(loc)
}

// End is local midnight of the first day of the next month (exclusive).
func (m Month) End(loc *time.Location) time.Time {
	return m.AddMonths(1).FirstDay().Midnight(loc)
}

// FirstDay and LastDay are the month's first and last calendar dates.
func (m Month) FirstDay() Date { return Date{m.Year, m.Month, 1} }

// LastDay is the last calendar date of m (29 February in leap years).
func (m Month) LastDay() Date {
	t := time.Date(m.Year, m.Month+1, 0, 12, 0, 0, 0, time.UTC)
	return Date{t.Year(), t.Month(), t.Day()}
}

// MarshalText implements encoding.TextMarshaler ("YYYY-MM").
func (m Month) MarshalText() ([]byte, error) {
	if m.IsZero() {
		return []byte{}, nil
	}
	return []byte(m.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler; "" is the zero Month.
func (m *Month) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*m = Month{}
		return nil
	}
	v, err := ParseMonth(string(b))
	*m = v
	return err
}

// Date is a civil calendar date with no time zone (date of death, date of
// service). Its JSON form is "YYYY-MM-DD"; the zero Date means "not set".
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// ParseDate parses "YYYY-MM-DD".
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("rules.ParseDate: %q is not YYYY-MM-DD", s)
	}
	return Date{t.Year(), t.Month(), t.Day()}, nil
}

// DateOf is the calendar date of t in loc.
func DateOf(t time.Time, loc *time.Location) Date {
	y, m, d := t.In(loc).Date()
	return Date{y, m, d}
}

// IsZero reports whether d is unset.
func (d Date) IsZero() bool { return d == Date{} }

// String is "YYYY-MM-DD" (fmt's "%04d-%02d-%02d").
func (d Date) String() string {
	if d.Year < 0 || d.Month < 0 || d.Day < 0 {
		return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
	}
	var b [32]byte
	out := append(appendPadded(b[:0], d.Year, 4), '-')
	out = append(appendPadded(out, int(d.Month), 2), '-')
	return string(appendPadded(out, d.Day, 2))
}

// MonthOf is the calendar month d falls in.
func (d Date) MonthOf() Month { return Month{d.Year, d.Month} }

// AddDays returns d shifted by n days (calendar arithmetic, leap-year aware).
func (d Date) AddDays(n int) Date {
	t := time.Date(d.Year, d.Month, d.Day+n, 12, 0, 0, 0, time.UTC)
	return Date{t.Year(), t.Month(), t.Day()}
}

// AddYears returns d shifted by n years; 29 February maps to 1 March.
func (d Date) AddYears(n int) Date {
	t := time.Date(d.Year+n, d.Month, d.Day, 12, 0, 0, 0, time.UTC)
	return Date{t.Year(), t.Month(), t.Day()}
}

// Compare returns -1, 0 or +1 as d is before, equal to or after o.
func (d Date) Compare(o Date) int {
	a, b := d.key(), o.key()
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (d Date) key() int { return d.Year*10000 + int(d.Month)*100 + d.Day }

// Midnight is the instant the date starts in loc. On a day whose midnight is
// skipped by a DST change, it is the first instant of that day.
func (d Date) Midnight(loc *time.Location) time.Time {
	t := time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
	// For a skipped midnight time.Date may answer an instant of the day
	// before (the old offset's midnight); the day then starts at the
	// change, which falls on a quarter hour in every zone.
	for DateOf(t, loc).Compare(d) < 0 {
		t = t.Truncate(15 * time.Minute).Add(15 * time.Minute)
	}
	return t
}

// MarshalText implements encoding.TextMarshaler ("YYYY-MM-DD").
func (d Date) MarshalText() ([]byte, error) {
	if d.IsZero() {
		return []byte{}, nil
	}
	return []byte(d.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler; "" is the zero Date.
func (d *Date) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = Date{}
		return nil
	}
	v, err := ParseDate(string(b))
	*d = v
	return err
}

// The engine measures time in whole minutes since the Unix epoch: an entry's
// start is truncated to its minute, and its end is start plus its minutes
// (elapsed time, so DST changes neither add nor remove work).

const (
	minMinute int64 = math.MinInt64 / 2
	maxMinute int64 = math.MaxInt64 / 2
)

func unixMinute(t time.Time) int64 {
	s := t.Unix()
	if s < 0 && s%60 != 0 {
		return s/60 - 1
	}
	return s / 60
}

func minuteTime(m int64) time.Time { return time.Unix(m*60, 0) }

// span is a half-open interval [lo, hi) of Unix minutes.
type span struct{ lo, hi int64 }

func (s span) len() int64 { return s.hi - s.lo }

// spanSet is a sorted list of disjoint, non-empty spans.
type spanSet []span

func (ss spanSet) total() int64 {
	var n int64
	for _, s := range ss {
		n += s.len()
	}
	return n
}

// add returns the union of ss and s.
func (ss spanSet) add(s span) spanSet {
	if s.len() <= 0 {
		return ss
	}
	out := make(spanSet, 0, len(ss)+1)
	placed := false
	for _, x := range ss {
		switch {
		case x.hi < s.lo:
			out = append(out, x)
		case s.hi < x.lo:
			if !placed {
				out = append(out, s)
				placed = true
			}
			out = append(out, x)
		default:
			s = span{min(s.lo, x.lo), max(s.hi, x.hi)}
		}
	}
	if !placed {
		out = append(out, s)
	}
	return out
}

// cut splits ss into the parts outside w (kept) and inside w (removed).
// Both results are normalized (sorted, disjoint, touching spans merged), so
// they depend only on the minutes ss and w cover: kept is ss minus w,
// removed ss within w. Neither input is modified, and either result may
// share ss's array (span sets are never modified in place). When w misses
// ss or covers it whole, as it does for nearly every entry and window, cut
// allocates nothing.
func (ss spanSet) cut(w spanSet) (kept, removed spanSet) {
	ss, w = ss.normalized(), w.normalized()
	if len(w) == 0 || len(ss) == 0 {
		return ss, nil
	}
	switch overlap(ss, w) {
	case 0:
		return ss, nil
	case ss.total():
		return nil, ss
	}
	j := 0
	for _, s := range ss {
		for j < len(w) && w[j].hi <= s.lo {
			j++
		}
		lo := s.lo
		for lo < s.hi {
			if j == len(w) || w[j].lo >= s.hi {
				kept = kept.appendSorted(span{lo, s.hi})
				break
			}
			x := w[j]
			if x.lo > lo {
				kept = kept.appendSorted(span{lo, x.lo})
				lo = x.lo
			}
			hi := min(x.hi, s.hi)
			removed = removed.appendSorted(span{lo, hi})
			lo = hi
			if x.hi <= s.hi {
				j++ // x may reach into the next span of ss otherwise
			}
		}
	}
	return kept, removed
}

// overlap is the number of minutes normalized sets a and b have in common.
func overlap(a, b spanSet) int64 {
	var n int64
	for i, j := 0, 0; i < len(a) && j < len(b); {
		if lo, hi := max(a[i].lo, b[j].lo), min(a[i].hi, b[j].hi); lo < hi {
			n += hi - lo
		}
		if a[i].hi < b[j].hi {
			i++
		} else {
			j++
		}
	}
	return n
}

// appendSorted appends s, which starts no earlier than the last span, merging
// it into the last span when they overlap or touch.
func (ss spanSet) appendSorted(s span) spanSet {
	if n := len(ss); n > 0 && ss[n-1].hi >= s.lo {
		ss[n-1].hi = max(ss[n-1].hi, s.hi)
		return ss
	}
	return append(ss, s)
}

// normalized returns ss sorted, with empty spans dropped and overlapping or
// touching spans merged: ss itself when it already is.
func (ss spanSet) normalized() spanSet {
	ok := true
	for i, s := range ss {
		if s.hi <= s.lo || (i > 0 && ss[i-1].hi >= s.lo) {
			ok = false
			break
		}
	}
	if ok {
		return ss
	}
	var out spanSet
	for _, s := range ss {
		out = out.add(s)
	}
	return out
}

// spanStore holds span sets in one array that an evaluator reuses, so that
// building the month's windows and the entries' spans allocates nothing once
// the array has grown. The sets it returns have no spare capacity (appending
// to one never writes into another) and stay valid when the array grows
// (they keep the old one).
type spanStore struct{ buf []span }

// union returns the normalized set of the minutes of spans.
func (st *spanStore) union(spans ...span) spanSet {
	from := len(st.buf)
	st.buf = append(st.buf, spans...)
	return st.normalize(from)
}

// add returns ss ∪ s, as ss.add(s) does.
func (st *spanStore) add(ss spanSet, s span) spanSet {
	from := len(st.buf)
	st.buf = append(append(st.buf, ss...), s)
	return st.normalize(from)
}

// normalize turns the spans appended since from into a normalized set, in
// place, and returns it (nil when it is empty, as a set built by add is).
func (st *spanStore) normalize(from int) spanSet {
	tail := st.buf[from:]
	slices.SortFunc(tail, func(a, b span) int { return cmp.Compare(a.lo, b.lo) })
	out := tail[:0]
	for _, s := range tail {
		switch n := len(out); {
		case s.hi <= s.lo:
		case n > 0 && out[n-1].hi >= s.lo:
			out[n-1].hi = max(out[n-1].hi, s.hi)
		default:
			out = append(out, s)
		}
	}
	st.buf = st.buf[:from+len(out)]
	if len(out) == 0 {
		return nil
	}
	return spanSet(out[:len(out):len(out)])
}
