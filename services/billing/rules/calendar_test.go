package rules

import (
	"encoding/json"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestTimeZoneAttribution covers T3, T12 and A9: minutes belong to the
// billing location's local calendar month, entries are split at local
// midnight, and DST changes neither add nor remove minutes of work.
func TestTimeZoneAttribution(t *testing.T) {
	la := mustLoc("America/Los_Angeles")
	cases := []struct {
		name     string
		month    string
		loc      *time.Location
		entries  []TimeEntry
		policy   func(*Policy)
		counted  int
		excluded map[ReasonCode]int
	}{
		{
			name: "C39 split at local midnight at month end", month: "2025-03", loc: ny,
			entries: one(rn("r1", "2025-03-10T10:00", 12), rn("r2", "2025-03-31T23:50", 25)),
			counted: 22, excluded: map[ReasonCode]int{ExcludedOtherMonth: 15},
		},
		{
			name: "an entry from the month before counts its part after local midnight", month: "2025-03", loc: ny,
			entries: one(rn("r1", "2025-02-28T23:45", 30)),
			counted: 15, excluded: map[ReasonCode]int{ExcludedOtherMonth: 15},
		},
		{
			name: "A9 entry_start: an entry belongs to the month it started in", month: "2025-03", loc: ny,
			entries: one(rn("r1", "2025-03-31T23:50", 25), rn("r2", "2025-02-28T23:45", 30)),
			policy:  func(p *Policy) { p.MonthBoundary = EntryStart },
			counted: 25,
		},
		{
			name: "DST starts (2025-03-09 02:00 EST → 03:00 EDT): 60 minutes of work stay 60", month: "2025-03", loc: ny,
			entries: one(rn("r1", "2025-03-09T01:30", 60)),
			counted: 60,
		},
		{
			name: "DST ends (2025-11-02 02:00 EDT → 01:00 EST): the repeated hour counts once per minute worked", month: "2025-11", loc: ny,
			entries: one(entry("r1", RoleRN, "2025-11-02T00:30", 120)),
			counted: 120,
		},
		{
			name: "DST ends: two entries in the repeated hour are distinct minutes", month: "2025-11", loc: ny,
			entries: one(
				rn("r1", "2025-11-02T01:10", 20, startUTC("2025-11-02T05:10:00Z")), // 01:10 EDT
				rn("r2", "2025-11-02T01:10", 20, startUTC("2025-11-02T06:10:00Z")), // 01:10 EST
			),
			counted: 40,
		},
		{
			name: "C39 variant: 2024-03-01T02:30Z is 29 Feb 18:30 in Los Angeles (leap day)", month: "2024-02", loc: la,
			entries: one(
				rn("r1", "2024-02-20T10:00", 8, startUTC("2024-02-20T18:00:00Z")),
				rn("r2", "2024-03-01T10:00", 15, startUTC("2024-03-01T02:30:00Z")),
			),
			counted: 23,
		},
		{
			name: "2024-03-01T05:30Z is March in New York", month: "2024-02", loc: ny,
			entries: one(rn("r2", "2024-03-01T10:00", 15, startUTC("2024-03-01T05:30:00Z"))),
			counted: 0,
		},
		{
			name: "2024-03-01T05:30Z is February in Los Angeles", month: "2024-02", loc: la,
			entries: one(rn("r2", "2024-03-01T10:00", 15, startUTC("2024-03-01T05:30:00Z"))),
			counted: 15,
		},
		{
			name: "leap day: an entry crossing midnight at the end of 29 February", month: "2024-02", loc: ny,
			entries: one(rn("r1", "2024-02-29T23:50", 30)),
			counted: 10, excluded: map[ReasonCode]int{ExcludedOtherMonth: 20},
		},
		{
			name: "an entry spanning a whole month counts only the month's minutes", month: "2025-02", loc: ny,
			entries: one(rn("r1", "2025-01-31T23:00", 28*24*60+120)),
			counted: 28 * 24 * 60, excluded: map[ReasonCode]int{ExcludedOtherMonth: 120},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := factsIn(c.month)
			f.Location = c.loc
			f.TimeEntries = c.entries
			if c.policy != nil {
				c.policy(&f.Policy)
			}
			ev := Evaluate(f)
			if ev.CountedMinutes != c.counted {
				t.Errorf("countedMinutes: got %d, want %d", ev.CountedMinutes, c.counted)
			}
			got := excludedTotals(ev)
			if len(got) != len(c.excluded) {
				t.Errorf("excluded: got %v, want %v", got, c.excluded)
			}
			for code, n := range c.excluded {
				if got[code] != n {
					t.Errorf("excluded %s: got %d, want %d", code, got[code], n)
				}
			}
		})
	}
}

// TestDayRulesOnDSTDays: day-based rules (inpatient days, visit dates, date
// of death) use local days, which last 23 or 25 hours on DST days.
func TestDayRulesOnDSTDays(t *testing.T) {
	f := factsIn("2025-11")
	f.Encounters = append(f.Encounters, Encounter{ID: "stay", Kind: EncounterInpatientStay, Start: at("2025-11-02T00:00"), End: at("2025-11-03T00:00")})
	// 23:00 on 1 Nov to 01:00 on 3 Nov: 60 minutes before the stay's day,
	// the 25 hours of 2 Nov, 60 minutes after it.
	f.TimeEntries = one(rn("r1", "2025-11-01T23:00", 27*60))
	ev := Evaluate(f)
	if got := excludedTotals(ev)[ExcludedInpatientStay]; got != 25*60 {
		t.Errorf("inpatient minutes on the 25-hour day: got %d, want %d", got, 25*60)
	}
	if ev.CountedMinutes != 120 {
		t.Errorf("countedMinutes: got %d, want 120", ev.CountedMinutes)
	}

	f = factsIn("2025-03")
	f.Patient.DeceasedDate = date("2025-03-09")
	f.TimeEntries = one(rn("r1", "2025-03-09T00:00", 24*60))
	ev = Evaluate(f)
	if ev.CountedMinutes != 23*60 || excludedTotals(ev)[ExcludedAfterDeath] != 60 {
		t.Errorf("date of death on the 23-hour day: got counted %d, after_death %d, want %d and 60",
			ev.CountedMinutes, excludedTotals(ev)[ExcludedAfterDeath], 23*60)
	}
}

func TestMonthAndDate(t *testing.T) {
	m := MustMonth("2024-02")
	if got := m.LastDay().String(); got != "2024-02-29" {
		t.Errorf("LastDay: got %s, want 2024-02-29", got)
	}
	if got := MustMonth("2025-02").LastDay().String(); got != "2025-02-28" {
		t.Errorf("LastDay: got %s, want 2025-02-28", got)
	}
	if got := m.AddMonths(-2).String(); got != "2023-12" {
		t.Errorf("AddMonths: got %s, want 2023-12", got)
	}
	if got := MustMonth("2025-12").AddMonths(1).String(); got != "2026-01" {
		t.Errorf("AddMonths: got %s, want 2026-01", got)
	}
	if got := date("2024-02-29").AddYears(-1).String(); got != "2023-03-01" {
		t.Errorf("AddYears: got %s, want 2023-03-01", got)
	}
	if got := m.End(ny).Sub(m.Start(ny)); got != 29*24*time.Hour {
		t.Errorf("February 2024 length: got %v, want 696h", got)
	}
	if got := MustMonth("2025-03").End(ny).Sub(MustMonth("2025-03").Start(ny)); got != 31*24*time.Hour-time.Hour {
		t.Errorf("March 2025 in New York: got %v, want 743h (DST)", got)
	}
	if _, err := ParseMonth("2025-13"); err == nil {
		t.Error("ParseMonth(2025-13): got nil error, want one")
	}
	var v struct {
		M Month `json:"m"`
		D Date  `json:"d"`
		Z Date  `json:"z"`
	}
	if err := json.Unmarshal([]byte(`{"m":"2025-03","d":"2025-03-18","z":""}`), &v); err != nil {
		t.Fatal(err)
	}
	if v.M != MustMonth("2025-03") || v.D != date("2025-03-18") || !v.Z.IsZero() {
		t.Errorf("JSON: got %+v, want 2025-03, 2025-03-18, zero", v)
	}
	b, _ := json.Marshal(v)
	if string(b) != `{"m":"2025-03","d":"2025-03-18","z":""}` {
		t.Errorf("JSON: got %s", b)
	}
	if unixMinute(time.Unix(-30, 0)) != -1 {
		t.Errorf("unixMinute floors before the epoch: got %d, want -1", unixMinute(time.Unix(-30, 0)))
	}
}

func TestSpanSet(t *testing.T) {
	var s spanSet
	s = s.add(span{10, 20}).add(span{30, 40}).add(span{15, 32}).add(span{50, 50})
	if len(s) != 1 || s[0] != (span{10, 40}) {
		t.Errorf("add: got %v, want [{10 40}]", s)
	}
	kept, removed := spanSet{{0, 100}}.cut(spanSet{{10, 20}, {50, 60}})
	if kept.total() != 80 || removed.total() != 20 || len(kept) != 3 {
		t.Errorf("cut: got kept %v removed %v, want 80 and 20 minutes", kept, removed)
	}
	kept, removed = spanSet{{0, 10}}.cut(nil)
	if kept.total() != 10 || removed.total() != 0 {
		t.Errorf("cut by nothing: got kept %v removed %v", kept, removed)
	}
}

// TestSpanSetCut holds cut to its definition minute by minute on random
// sets, normalized or not: kept is ss minus w, removed ss within w, each
// as the one normalized span set of those minutes.
func TestSpanSetCut(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	random := func() spanSet {
		var ss spanSet
		for range rng.IntN(5) {
			lo := int64(rng.IntN(40))
			ss = append(ss, span{lo, lo + int64(rng.IntN(10)) - 1})
		}
		if rng.IntN(2) == 0 {
			var n spanSet
			for _, s := range ss {
				n = n.add(s)
			}
			return n
		}
		return ss
	}
	covers := func(ss spanSet, m int64) bool {
		for _, s := range ss {
			if s.lo <= m && m < s.hi {
				return true
			}
		}
		return false
	}
	normal := func(in func(int64) bool) spanSet {
		var out spanSet
		for m := int64(-1); m < 60; m++ {
			if in(m) {
				out = out.add(span{m, m + 1})
			}
		}
		return out
	}
	for i := range 20000 {
		ss, w := random(), random()
		kept, removed := ss.cut(w)
		wantKept := normal(func(m int64) bool { return covers(ss, m) && !covers(w, m) })
		wantRemoved := normal(func(m int64) bool { return covers(ss, m) && covers(w, m) })
		if !slices.Equal(kept, wantKept) || !slices.Equal(removed, wantRemoved) {
			t.Fatalf("case %d: %v.cut(%v) = %v, %v; want %v, %v", i, ss, w, kept, removed, wantKept, wantRemoved)
		}
	}
}

// Midnight is the first instant of the date, also on a day whose midnight
// a DST change skips (Asunción, 1 October 2023: 00:00 −04 → 01:00 −03), and
// Month.Start/End follow it.
func TestMidnightSkippedByDST(t *testing.T) {
	asuncion := mustLoc("America/Asuncion")
	for _, tc := range []struct {
		d    Date
		want string
	}{
		{Date{2023, time.October, 1}, "2023-10-01T04:00:00Z"},
		{Date{2023, time.September, 30}, "2023-09-30T04:00:00Z"},
		{Date{2023, time.October, 2}, "2023-10-02T03:00:00Z"},
	} {
		if got := tc.d.Midnight(asuncion).UTC().Format(time.RFC3339); got != tc.want {
			t.Errorf("%s.Midnight(Asuncion) = %s, want %s", tc.d, got, tc.want)
		}
	}
	m := Month{2023, time.September}
	if got := m.End(asuncion).UTC().Format(time.RFC3339); got != "2023-10-01T04:00:00Z" {
		t.Errorf("September 2023 ends at %s in Asuncion, want 2023-10-01T04:00:00Z", got)
	}
	if got := m.AddMonths(1).Start(asuncion); !got.Equal(m.End(asuncion)) {
		t.Errorf("October starts at %s, September ends at %s", got, m.End(asuncion))
	}
	if got := (Month{2025, time.March}).Start(ny).UTC().Format(time.RFC3339); got != "2025-03-01T05:00:00Z" {
		t.Errorf("March 2025 starts at %s in New York, want 2025-03-01T05:00:00Z", got)
	}
}
