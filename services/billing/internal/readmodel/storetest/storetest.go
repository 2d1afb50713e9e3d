// Package storetest is the contract suite of readmodel.Store (STYLE.md rule
// 15): every store runs it, so the in-memory and PostgreSQL stores answer
// every query identically. It checks each method and each contract of the
// port: the checkpoint and exactly-once Commit, whole-row upserts, totals
// replacement, query orders (byte order of the keys), absent rows, Reset,
// exact round trips (evaluations with every field, nanosecond instants in
// UTC, empty slices), isolation from the caller's values, large commits,
// concurrent readers during commits, and a simulated practice evaluated by
// the real rules engine.
//
// Use it from a store's tests:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) readmodel.Store { ... a new, empty store, closed by t.Cleanup ... })
//	}
//
// Simulate and Dump are exported for tests that compare two stores directly.
package storetest

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carelog/carelog/services/billing/internal/readmodel"
	"github.com/carelog/carelog/services/billing/rules"
)

// Run runs the suite. open returns a new, empty store for one test and
// arranges for it to be closed (t.Cleanup); it is called from parallel
// subtests.
func Run(t *testing.T, open func(t *testing.T) readmodel.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s readmodel.Store)
	}{
		{"EmptyStore", testEmptyStore},
		{"CommitReadBack", testCommitReadBack},
		{"UpsertReplacesWholeRow", testUpsertReplacesWholeRow},
		{"LastRowOfAKeyWinsWithinACommit", testLastRowWins},
		{"TotalsReplaced", testTotalsReplaced},
		{"StaleCommitIgnored", testStaleCommitIgnored},
		{"QueryOrder", testQueryOrder},
		{"AbsentRows", testAbsentRows},
		{"Reset", testReset},
		{"NilSlicesReadAsEmpty", testNilSlicesReadAsEmpty},
		{"InstantsReadBackInUTC", testInstantsInUTC},
		{"IsolatedFromCaller", testIsolatedFromCaller},
		{"LargeCommits", testLargeCommits},
		{"RowsMarkedNew", testRowsMarkedNew},
		{"ConcurrentReaders", testConcurrentReaders},
		{"SimulatedMonth", testSimulatedMonth},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

func commit(t *testing.T, s readmodel.Store, c readmodel.Changes, through uint64) {
	t.Helper()
	if err := s.Commit(context.Background(), c, through); err != nil {
		t.Fatalf("Commit(through %d): %v", through, err)
	}
}

// commitBoth commits to the store and to the oracle.
func commitBoth(t *testing.T, s readmodel.Store, m *model, c readmodel.Changes, through uint64) {
	t.Helper()
	commit(t, s, c, through)
	m.apply(c, through)
}

func testEmptyStore(t *testing.T, s readmodel.Store) {
	ctx := context.Background()
	cp, err := s.Checkpoint(ctx)
	if err != nil || cp != 0 {
		t.Fatalf("Checkpoint = %d, %v; want 0, nil", cp, err)
	}
	pms, err := s.Month(ctx, "2025-03")
	if err != nil || pms == nil || len(pms) != 0 {
		t.Errorf("Month = %#v, %v; want [] (not nil), nil", pms, err)
	}
	ts, err := s.Totals(ctx, "2025-03")
	if err != nil || ts == nil || len(ts) != 0 {
		t.Errorf("Totals = %#v, %v; want [] (not nil), nil", ts, err)
	}
	bs, err := s.Batches(ctx, "2025-03")
	if err != nil || bs == nil || len(bs) != 0 {
		t.Errorf("Batches = %#v, %v; want [] (not nil), nil", bs, err)
	}
	ps, err := s.Patients(ctx)
	if err != nil || ps == nil || len(ps) != 0 {
		t.Errorf("Patients = %#v, %v; want [] (not nil), nil", ps, err)
	}
	if _, ok, err := s.PatientMonth(ctx, "p-1", "2025-03"); ok || err != nil {
		t.Errorf("PatientMonth = ok %v, %v; want false, nil", ok, err)
	}
	if _, ok, err := s.Batch(ctx, "b-1"); ok || err != nil {
		t.Errorf("Batch = ok %v, %v; want false, nil", ok, err)
	}
}

// testCommitReadBack writes one row of every kind with every field set and
// reads each back through every query that returns it.
func testCommitReadBack(t *testing.T, s readmodel.Store) {
	m := newModel()
	c := readmodel.Changes{
		PatientMonths: []readmodel.PatientMonth{
			patientMonth("p-1", "2025-03", 1, 41),
			billedPatientMonth("p-2", "2025-03", "b-1", 42),
			patientMonth("p-1", "2025-02", 3, 17),
		},
		TotalsReplaced: []readmodel.PatientMonthKey{{PatientID: "p-1", Month: "2025-03"}},
		Totals: []readmodel.MinuteTotal{
			minuteTotal("p-1", "2025-03", "ccm", "rn", 35),
			minuteTotal("p-1", "2025-03", "ccm", "physician", 12),
			minuteTotal("p-2", "2025-03", "pcm", "ma", 0),
		},
		Batches:  []readmodel.Batch{batch("b-1", "2025-03", 40)},
		Patients: []readmodel.Patient{patient("p-1", 0), patient("p-2", 1)},
	}
	commitBoth(t, s, m, c, 42)
	m.checkAgainst(t, s)
}

func testUpsertReplacesWholeRow(t *testing.T, s readmodel.Store) {
	m := newModel()
	commitBoth(t, s, m, readmodel.Changes{
		PatientMonths: []readmodel.PatientMonth{billedPatientMonth("p-1", "2025-03", "b-1", 10)},
		Totals:        []readmodel.MinuteTotal{minuteTotal("p-1", "2025-03", "ccm", "rn", 30)},
		Batches:       []readmodel.Batch{batch("b-1", "2025-03", 9)},
		Patients:      []readmodel.Patient{patient("p-1", 0)},
	}, 10)
	// The same keys with fewer fields set: nothing of the old rows remains.
	pm := readmodel.PatientMonth{PatientID: "p-1", Month: "2025-03", Evaluation: billable("p-1", "2025-03", 22), AsOfSequence: 11}
	b := readmodel.Batch{ID: "b-1", Month: "2025-03", LogSequence: 11, Lines: []readmodel.BatchLine{}, Totals: readmodel.BatchTotals{Units: map[string]int{}}}
	p := readmodel.Patient{PatientID: "p-1", ConsentStatus: "none"}
	commitBoth(t, s, m, readmodel.Changes{
		PatientMonths: []readmodel.PatientMonth{pm},
		Totals:        []readmodel.MinuteTotal{{PatientID: "p-1", Month: "2025-03", Program: "ccm", Role: "rn", Minutes: 31}},
		Batches:       []readmodel.Batch{b},
		Patients:      []readmodel.Patient{p},
	}, 11)
	m.checkAgainst(t, s)
	got, _, _ := s.PatientMonth(context.Background(), "p-1", "2025-03")
	if got.BatchID != "" || got.BilledEvaluation != nil {
		t.Errorf("after upsert: BatchID %q, BilledEvaluation %v; want both cleared", got.BatchID, got.BilledEvaluation)
	}
}

func testLastRowWins(t *testing.T, s readmodel.Store) {
	m := newModel()
	c := readmodel.Changes{
		PatientMonths: []readmodel.PatientMonth{patientMonth("p-1", "2025-03", 1, 5), patientMonth("p-2", "2025-03", 2, 5), patientMonth("p-1", "2025-03", 3, 6)},
		Totals:        []readmodel.MinuteTotal{minuteTotal("p-1", "2025-03", "ccm", "rn", 10), minuteTotal("p-1", "2025-03", "ccm", "rn", 25)},
		Batches:       []readmodel.Batch{batch("b-1", "2025-03", 1), batch("b-1", "2025-03", 4)},
		Patients:      []readmodel.Patient{patient("p-1", 0), patient("p-1", 1)},
	}
	commitBoth(t, s, m, c, 6)
	m.checkAgainst(t, s)
	got, _, _ := s.PatientMonth(context.Background(), "p-1", "2025-03")
	if got.AsOfSequence != 6 {
		t.Errorf("PatientMonth AsOfSequence = %d, want 6 (the last row given)", got.AsOfSequence)
	}
}

func testTotalsReplaced(t *testing.T, s readmodel.Store) {
	ctx := context.Background()
	m := newModel()
	commitBoth(t, s, m, readmodel.Changes{Totals: []readmodel.MinuteTotal{
		minuteTotal("p-1", "2025-03", "ccm", "rn", 20),
		minuteTotal("p-1", "2025-03", "ccm", "ma", 5),
		minuteTotal("p-1", "2025-03", "pcm", "rn", 7),
		minuteTotal("p-1", "2025-02", "ccm", "rn", 40), // another month of p-1
		minuteTotal("p-2", "2025-03", "ccm", "rn", 33), // another patient
	}}, 1)
	// Replace p-1's March: only the new totals remain; February and p-2 stay.
	commitBoth(t, s, m, readmodel.Changes{
		TotalsReplaced: []readmodel.PatientMonthKey{{PatientID: "p-1", Month: "2025-03"}},
		Totals:         []readmodel.MinuteTotal{minuteTotal("p-1", "2025-03", "ccm", "physician", 9)},
	}, 2)
	m.checkAgainst(t, s)
	ts, err := s.Totals(ctx, "2025-03")
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 2 || ts[0].Role != "physician" || ts[1].PatientID != "p-2" {
		t.Errorf("Totals(2025-03) = %+v, want p-1/ccm/physician then p-2/ccm/rn", ts)
	}
	// Replaced with nothing: the patient-month has no totals left.
	commitBoth(t, s, m, readmodel.Changes{TotalsReplaced: []readmodel.PatientMonthKey{{PatientID: "p-1", Month: "2025-03"}, {PatientID: "p-9", Month: "2025-03"}}}, 3)
	// A total for a key not replaced is an upsert that keeps its siblings.
	commitBoth(t, s, m, readmodel.Changes{Totals: []readmodel.MinuteTotal{
		minuteTotal("p-2", "2025-03", "ccm", "rn", 34),
		minuteTotal("p-2", "2025-03", "ccm", "lpn", 4),
	}}, 4)
	// Replaced and re-given in one commit, plus many keys at once.
	var keys []readmodel.PatientMonthKey
	var totals []readmodel.MinuteTotal
	for i := range 150 {
		id := fmt.Sprintf("q-%d", i)
		keys = append(keys, readmodel.PatientMonthKey{PatientID: id, Month: "2025-03"})
		totals = append(totals, minuteTotal(id, "2025-03", "ccm", "rn", i), minuteTotal(id, "2025-03", "ccm", "ma", i+1))
	}
	commitBoth(t, s, m, readmodel.Changes{Totals: totals}, 5)
	commitBoth(t, s, m, readmodel.Changes{TotalsReplaced: append(keys, readmodel.PatientMonthKey{PatientID: "p-2", Month: "2025-03"}), Totals: totals[:100]}, 6)
	m.checkAgainst(t, s)
	// One patient-month's totals need not come together: interleaved with
	// another's, one of its keys given twice (the later wins).
	commitBoth(t, s, m, readmodel.Changes{
		TotalsReplaced: []readmodel.PatientMonthKey{{PatientID: "r-1", Month: "2025-03"}, {PatientID: "r-2", Month: "2025-03"}},
		Totals: []readmodel.MinuteTotal{
			minuteTotal("r-1", "2025-03", "ccm", "rn", 11),
			minuteTotal("r-2", "2025-03", "ccm", "rn", 12),
			minuteTotal("r-1", "2025-03", "ccm", "ma", 13),
			minuteTotal("r-1", "2025-03", "ccm", "rn", 14),
		},
	}, 7)
	m.checkAgainst(t, s)
	if ts, err := s.Totals(ctx, "2025-03"); err != nil {
		t.Fatal(err)
	} else if got := totalsOf(ts, "r-1"); got != "ccm/ma=13 ccm/rn=14" {
		t.Errorf("r-1's totals after an interleaved commit: %s, want ccm/ma=13 ccm/rn=14", got)
	}
}

// totalsOf lists patientID's totals in ts as program/role=minutes.
func totalsOf(ts []readmodel.MinuteTotal, patientID string) string {
	var out []string
	for _, t := range ts {
		if t.PatientID == patientID {
			out = append(out, fmt.Sprintf("%s/%s=%d", t.Program, t.Role, t.Minutes))
		}
	}
	return strings.Join(out, " ")
}

func testStaleCommitIgnored(t *testing.T, s readmodel.Store) {
	ctx := context.Background()
	m := newModel()
	first := readmodel.Changes{
		PatientMonths: []readmodel.PatientMonth{patientMonth("p-1", "2025-03", 1, 10)},
		Totals:        []readmodel.MinuteTotal{minuteTotal("p-1", "2025-03", "ccm", "rn", 20)},
		Batches:       []readmodel.Batch{batch("b-1", "2025-03", 9)},
		Patients:      []readmodel.Patient{patient("p-1", 0)},
	}
	commitBoth(t, s, m, first, 10)
	other := readmodel.Changes{
		PatientMonths:  []readmodel.PatientMonth{patientMonth("p-1", "2025-03", 2, 10), patientMonth("p-2", "2025-03", 2, 10)},
		TotalsReplaced: []readmodel.PatientMonthKey{{PatientID: "p-1", Month: "2025-03"}},
		Totals:         []readmodel.MinuteTotal{minuteTotal("p-2", "2025-03", "ccm", "rn", 50)},
		Batches:        []readmodel.Batch{batch("b-1", "2025-03", 10), batch("b-2", "2025-03", 10)},
		Patients:       []readmodel.Patient{patient("p-1", 1), patient("p-2", 1)},
	}
	// Large too, so a store that writes large commits differently is
	// checked on that path as well.
	for i := range 200 {
		other.PatientMonths = append(other.PatientMonths, patientMonth(fmt.Sprintf("s-%d", i), "2025-03", i, 10))
	}
	for _, through := range []uint64{10, 9, 1, 0} {
		if err := s.Commit(ctx, other, through); err != nil {
			t.Fatalf("stale Commit(through %d) = %v, want nil (ignored)", through, err)
		}
		m.apply(other, through) // ignored by the oracle too
		m.checkAgainst(t, s)
	}
	// An empty commit still advances the checkpoint.
	commitBoth(t, s, m, readmodel.Changes{}, 11)
	m.checkAgainst(t, s)
	// And a later commit applies.
	commitBoth(t, s, m, other, 12)
	m.checkAgainst(t, s)
	if cp, _ := s.Checkpoint(ctx); cp != 12 {
		t.Errorf("Checkpoint = %d, want 12", cp)
	}
}

// testQueryOrder writes keys out of order over several commits, keys whose
// byte order differs from numeric and from case-insensitive or locale
// order, and checks each query's order and filter.
func testQueryOrder(t *testing.T, s readmodel.Store) {
	ctx := context.Background()
	m := newModel()
	ids := []string{"p-9", "p-10", "P-1", "p-b", "p-B", "p-a", "p-é", "p-z", "p-Z", "p_1", "p-"}
	for i, id := range ids {
		c := readmodel.Changes{
			PatientMonths: []readmodel.PatientMonth{patientMonth(id, "2025-03", i, uint64(i+1)), patientMonth(id, "2025-04", i, uint64(i+1))},
			Totals: []readmodel.MinuteTotal{
				minuteTotal(id, "2025-03", "pcm", "rn", i), minuteTotal(id, "2025-03", "ccm", "rn", i),
				minuteTotal(id, "2025-03", "ccm", "physician", i), minuteTotal(id, "2025-03", "ccm", "MA", i),
				minuteTotal(id, "2025-04", "ccm", "rn", i),
			},
			Patients: []readmodel.Patient{patient(id, i)},
		}
		commitBoth(t, s, m, c, uint64(i+1))
	}
	// Batches: log sequences out of order, a tie broken by ID (byte order),
	// another month to be filtered out.
	commitBoth(t, s, m, readmodel.Changes{Batches: []readmodel.Batch{
		batch("b-30", "2025-03", 30), batch("b-2", "2025-03", 20), batch("b-10", "2025-03", 20),
		batch("b-1", "2025-03", 10), batch("b-0", "2025-04", 15),
	}}, 100)
	m.checkAgainst(t, s)

	sorted := append([]string(nil), ids...)
	sort.Strings(sorted)
	pms, _ := s.Month(ctx, "2025-03")
	var got []string
	for _, pm := range pms {
		got = append(got, pm.PatientID)
	}
	if fmt.Sprint(got) != fmt.Sprint(sorted) {
		t.Errorf("Month order = %q, want byte order %q", got, sorted)
	}
	bs, _ := s.Batches(ctx, "2025-03")
	got = nil
	for _, b := range bs {
		got = append(got, b.ID)
	}
	if want := []string{"b-1", "b-10", "b-2", "b-30"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Batches order = %q, want %q (LogSequence, then ID)", got, want)
	}
}

func testAbsentRows(t *testing.T, s readmodel.Store) {
	ctx := context.Background()
	commit(t, s, readmodel.Changes{
		PatientMonths: []readmodel.PatientMonth{patientMonth("p-1", "2025-03", 1, 1)},
		Batches:       []readmodel.Batch{batch("b-1", "2025-03", 1)},
	}, 1)
	for _, k := range [][2]string{{"p-1", "2025-02"}, {"p-2", "2025-03"}, {"P-1", "2025-03"}, {"p-1", "2025-3"}, {"", ""}} {
		pm, ok, err := s.PatientMonth(ctx, k[0], k[1])
		if ok || err != nil {
			t.Errorf("PatientMonth(%q, %q) = ok %v, %v; want false, nil", k[0], k[1], ok, err)
		}
		if pm.PatientID != "" || pm.Evaluation.Lines != nil {
			t.Errorf("PatientMonth(%q, %q) absent returned %+v, want the zero value", k[0], k[1], pm)
		}
	}
	for _, id := range []string{"b-2", "B-1", ""} {
		if b, ok, err := s.Batch(ctx, id); ok || err != nil || b.ID != "" {
			t.Errorf("Batch(%q) = %q, ok %v, %v; want zero, false, nil", id, b.ID, ok, err)
		}
	}
	for _, month := range []string{"2025-02", "2025-3", ""} {
		if pms, err := s.Month(ctx, month); err != nil || len(pms) != 0 {
			t.Errorf("Month(%q) = %d rows, %v; want none", month, len(pms), err)
		}
	}
}

func testReset(t *testing.T, s readmodel.Store) {
	ctx := context.Background()
	commit(t, s, readmodel.Changes{
		PatientMonths: []readmodel.PatientMonth{patientMonth("p-1", "2025-03", 1, 50)},
		Totals:        []readmodel.MinuteTotal{minuteTotal("p-1", "2025-03", "ccm", "rn", 20)},
		Batches:       []readmodel.Batch{batch("b-1", "2025-03", 49)},
		Patients:      []readmodel.Patient{patient("p-1", 0)},
	}, 50)
	if err := s.Reset(ctx); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	newModel().checkAgainst(t, s)
	testEmptyStore(t, s)
	// A rebuild starts again from sequence 1.
	m := newModel()
	commitBoth(t, s, m, readmodel.Changes{PatientMonths: []readmodel.PatientMonth{patientMonth("p-2", "2025-03", 2, 1)}}, 1)
	m.checkAgainst(t, s)
}

// testNilSlicesReadAsEmpty: queries never return nil slices, also inside
// rows (rules.Evaluation promises [] in JSON; so do batch lines and units).
func testNilSlicesReadAsEmpty(t *testing.T, s readmodel.Store) {
	ctx := context.Background()
	bare := rules.Evaluation{PatientID: "p-1", Month: "2025-03", Status: rules.StatusNotBillable}
	withLine := bare
	withLine.Lines = []rules.Line{{Code: "99490", Units: 1}}
	commit(t, s, readmodel.Changes{
		PatientMonths: []readmodel.PatientMonth{
			{PatientID: "p-1", Month: "2025-03", Evaluation: bare, BilledEvaluation: &withLine, BatchID: "b-1"},
			{PatientID: "p-2", Month: "2025-03", Evaluation: withLine},
		},
		Batches: []readmodel.Batch{
			{ID: "b-1", Month: "2025-03"},
			{ID: "b-2", Month: "2025-03", LogSequence: 1, Lines: []readmodel.BatchLine{{PatientID: "p-2", Code: "99490"}}},
		},
	}, 1)
	checkEval := func(what string, ev rules.Evaluation) {
		t.Helper()
		if ev.Lines == nil || ev.Reasons == nil || ev.Flags == nil || ev.Excluded == nil {
			t.Errorf("%s: nil slice in %+v, want [] for lines, reasons, flags, excluded", what, ev)
		}
		for _, l := range ev.Lines {
			if l.Diagnoses == nil || l.Evidence == nil {
				t.Errorf("%s: line %+v has a nil slice, want []", what, l)
			}
		}
	}
	pms, err := s.Month(ctx, "2025-03")
	if err != nil || len(pms) != 2 {
		t.Fatalf("Month = %d rows, %v; want 2", len(pms), err)
	}
	for _, pm := range pms {
		checkEval("Month "+pm.PatientID, pm.Evaluation)
		one, _, err := s.PatientMonth(ctx, pm.PatientID, pm.Month)
		if err != nil {
			t.Fatal(err)
		}
		checkEval("PatientMonth "+pm.PatientID, one.Evaluation)
		if one.BilledEvaluation != nil {
			checkEval("BilledEvaluation "+pm.PatientID, *one.BilledEvaluation)
		}
	}
	if pms[0].BilledEvaluation == nil {
		t.Errorf("BilledEvaluation lost")
	}
	bs, err := s.Batches(ctx, "2025-03")
	if err != nil || len(bs) != 2 {
		t.Fatalf("Batches = %d rows, %v; want 2", len(bs), err)
	}
	for _, b := range bs {
		one, _, err := s.Batch(ctx, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range []readmodel.Batch{b, one} {
			if b.Lines == nil || b.Totals.Units == nil {
				t.Errorf("batch %s: Lines %v, Units %v; want [] and {}", b.ID, b.Lines, b.Totals.Units)
			}
			for _, l := range b.Lines {
				if l.Diagnoses == nil || l.Evidence == nil {
					t.Errorf("batch %s: line %+v has a nil slice, want []", b.ID, l)
				}
			}
		}
	}
}

// testInstantsInUTC: instants written with an offset come back as the same
// instant in UTC, nanoseconds kept; the zero time, as a value or behind a
// pointer, comes back as written.
func testInstantsInUTC(t *testing.T, s readmodel.Store) {
	est := time.FixedZone("EST", -5*3600)
	local := time.Date(2025, time.March, 9, 1, 59, 59, 999_999_999, est)
	zero := time.Time{}
	p := readmodel.Patient{PatientID: "p-1", EnrolledAt: local, ConsentStatus: "granted", ConsentedAt: &local, CarePlanAt: &zero}
	b := batch("b-1", "2025-03", 1)
	b.ClosedAt = local
	empty := readmodel.Patient{PatientID: "p-2"} // zero EnrolledAt
	commit(t, s, readmodel.Changes{Patients: []readmodel.Patient{p, empty}, Batches: []readmodel.Batch{b}}, 1)

	m := newModel()
	utc := local.UTC()
	p.EnrolledAt, p.ConsentedAt = utc, &utc
	b.ClosedAt = utc
	m.apply(readmodel.Changes{Patients: []readmodel.Patient{p, empty}, Batches: []readmodel.Batch{b}}, 1)
	m.checkAgainst(t, s)
}

// testIsolatedFromCaller: a store hands out no reference to what it keeps.
func testIsolatedFromCaller(t *testing.T, s readmodel.Store) {
	ctx := context.Background()
	m := newModel()
	commitBoth(t, s, m, readmodel.Changes{
		PatientMonths: []readmodel.PatientMonth{billedPatientMonth("p-1", "2025-03", "b-1", 3)},
		Batches:       []readmodel.Batch{batch("b-1", "2025-03", 2)},
		Patients:      []readmodel.Patient{patient("p-1", 0)},
	}, 3)
	// The oracle keeps its own copies of the fixtures: the values read are
	// scribbled on below.
	m.patientMonths = map[readmodel.PatientMonthKey]readmodel.PatientMonth{{PatientID: "p-1", Month: "2025-03"}: billedPatientMonth("p-1", "2025-03", "b-1", 3)}
	m.batches = map[string]readmodel.Batch{"b-1": batch("b-1", "2025-03", 2)}
	m.patients = map[string]readmodel.Patient{"p-1": patient("p-1", 0)}

	scribble := func(pm *readmodel.PatientMonth, b *readmodel.Batch, p *readmodel.Patient) {
		pm.Evaluation.Lines[0].Code = "XXXXX"
		pm.Evaluation.Lines[0].Diagnoses[0] = "XXXXX"
		pm.Evaluation.Reasons[1].Minutes = intp(999)
		pm.BilledEvaluation.Status = "XXXXX"
		b.Lines[0].Evidence[0] = "XXXXX"
		b.Totals.Units["99490"] = 999
		*p.ConsentedAt = p.ConsentedAt.AddDate(1, 0, 0)
	}
	// What was given belongs to the store (Commit takes ownership of its
	// Changes); what it returns is the caller's.
	gotPM, _, _ := s.PatientMonth(ctx, "p-1", "2025-03")
	gotB, _, _ := s.Batch(ctx, "b-1")
	ps, _ := s.Patients(ctx)
	scribble(&gotPM, &gotB, &ps[0])
	pms, _ := s.Month(ctx, "2025-03")
	bs, _ := s.Batches(ctx, "2025-03")
	scribble(&pms[0], &bs[0], &ps[0])
	m.checkAgainst(t, s)
}

// testLargeCommits writes thousands of rows of every kind in one commit, then
// overwrites half of them with duplicates inside the commit, then replaces
// totals of many patient-months.
func testLargeCommits(t *testing.T, s readmodel.Store) {
	m := newModel()
	const n = 1200
	var c readmodel.Changes
	for i := range n {
		id := fmt.Sprintf("p-%d", i)
		c.PatientMonths = append(c.PatientMonths, patientMonth(id, "2025-03", i, 1))
		c.TotalsReplaced = append(c.TotalsReplaced, readmodel.PatientMonthKey{PatientID: id, Month: "2025-03"})
		c.Totals = append(c.Totals, minuteTotal(id, "2025-03", "ccm", "rn", i%60), minuteTotal(id, "2025-03", "ccm", "ma", i%7))
		c.Patients = append(c.Patients, patient(id, i))
		if i%4 == 0 {
			c.Batches = append(c.Batches, batch(fmt.Sprintf("b-%d", i), "2025-03", uint64(i%50)))
		}
	}
	commitBoth(t, s, m, c, 1000)
	m.checkAgainst(t, s)

	c = readmodel.Changes{}
	for i := n / 2; i < n+n/2; i++ {
		id := fmt.Sprintf("p-%d", i)
		c.PatientMonths = append(c.PatientMonths, billedPatientMonth(id, "2025-03", "b-x", 2))
		c.PatientMonths = append(c.PatientMonths, patientMonth(id, "2025-03", i+1, 2)) // wins
		c.Totals = append(c.Totals, minuteTotal(id, "2025-03", "ccm", "rn", 1), minuteTotal(id, "2025-03", "ccm", "rn", 2))
		c.Patients = append(c.Patients, patient(id, i+1))
		if i%3 == 0 {
			c.Batches = append(c.Batches, batch(fmt.Sprintf("b-%d", i), "2025-03", 7), batch(fmt.Sprintf("b-%d", i), "2025-03", uint64(i)))
		}
		if i%2 == 0 {
			c.TotalsReplaced = append(c.TotalsReplaced, readmodel.PatientMonthKey{PatientID: id, Month: "2025-03"})
		}
	}
	commitBoth(t, s, m, c, 2000)
	m.checkAgainst(t, s)
}

// testRowsMarkedNew: rows marked new (Changes.PatientMonthsNew,
// PatientsNew) are stored like the others, beside updates of existing rows
// in the same commit, in commits large enough for bulk writes; a wrong mark
// (the row exists) either fails the commit, changing nothing, or is
// ignored — the store never ends with the row lost or twice.
func testRowsMarkedNew(t *testing.T, s readmodel.Store) {
	m := newModel()
	const n = 200
	changes := func(from, to, v int, isNew func(i int) bool) readmodel.Changes {
		var c readmodel.Changes
		for i := from; i < to; i++ {
			id := fmt.Sprintf("p-%d", i)
			c.PatientMonths = append(c.PatientMonths, patientMonth(id, "2025-03", v+i, 1))
			c.PatientMonthsNew = append(c.PatientMonthsNew, isNew(i))
			c.TotalsReplaced = append(c.TotalsReplaced, readmodel.PatientMonthKey{PatientID: id, Month: "2025-03"})
			c.Totals = append(c.Totals, minuteTotal(id, "2025-03", "ccm", "rn", (v+i)%60), minuteTotal(id, "2025-03", "ccm", "ma", v%7))
			c.Patients = append(c.Patients, patient(id, v+i))
			c.PatientsNew = append(c.PatientsNew, isNew(i))
		}
		return c
	}
	all := func(int) bool { return true }
	commitBoth(t, s, m, changes(0, n, 0, all), 1)
	m.checkAgainst(t, s)
	// Updates of the first n beside n new rows.
	commitBoth(t, s, m, changes(0, 2*n, 5, func(i int) bool { return i >= n }), 2)
	m.checkAgainst(t, s)
	// p-0 exists: its mark is wrong.
	wrong := changes(0, n, 9, func(i int) bool { return i == 0 })
	if err := s.Commit(context.Background(), wrong, 3); err == nil {
		m.apply(wrong, 3)
	}
	m.checkAgainst(t, s)
}

// testConcurrentReaders: readers query while a writer commits; every query
// answer is one whole commit (all rows of a month at one sequence), never
// older than a checkpoint read before it, and never goes backwards. Run it
// with -race.
func testConcurrentReaders(t *testing.T, s readmodel.Store) {
	ctx := context.Background()
	const (
		patients = 40
		commits  = 30
		readers  = 4
	)
	changes := func(seq uint64) readmodel.Changes {
		var c readmodel.Changes
		for i := range patients {
			id := fmt.Sprintf("p-%02d", i)
			c.PatientMonths = append(c.PatientMonths, patientMonth(id, "2025-03", int(seq), seq))
			c.TotalsReplaced = append(c.TotalsReplaced, readmodel.PatientMonthKey{PatientID: id, Month: "2025-03"})
			c.Totals = append(c.Totals, minuteTotal(id, "2025-03", "ccm", "rn", int(seq)))
			c.Patients = append(c.Patients, readmodel.Patient{PatientID: id, QualifyingConditions: int(seq)})
		}
		if seq%5 == 0 {
			c.Batches = []readmodel.Batch{batch(fmt.Sprintf("b-%03d", seq), "2025-03", seq)}
		}
		return c
	}
	var done atomic.Bool
	var wg sync.WaitGroup
	for r := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var last uint64
			for reads := 0; !done.Load() || reads < 3; reads++ {
				cp, err := s.Checkpoint(ctx)
				if err != nil {
					t.Errorf("reader %d: Checkpoint: %v", r, err)
					return
				}
				if cp < last {
					t.Errorf("reader %d: checkpoint went back from %d to %d", r, last, cp)
					return
				}
				last = cp
				pms, err := s.Month(ctx, "2025-03")
				if err != nil {
					t.Errorf("reader %d: Month: %v", r, err)
					return
				}
				if cp > 0 && len(pms) != patients {
					t.Errorf("reader %d: Month has %d rows at checkpoint %d, want %d", r, len(pms), cp, patients)
					return
				}
				for _, pm := range pms {
					if pm.AsOfSequence != pms[0].AsOfSequence || pm.AsOfSequence < cp {
						t.Errorf("reader %d: Month mixes commits or is older than checkpoint %d: %s at %d, %s at %d",
							r, cp, pms[0].PatientID, pms[0].AsOfSequence, pm.PatientID, pm.AsOfSequence)
						return
					}
				}
				ts, err := s.Totals(ctx, "2025-03")
				if err != nil {
					t.Errorf("reader %d: Totals: %v", r, err)
					return
				}
				for _, tt := range ts {
					if tt.Minutes != ts[0].Minutes || uint64(tt.Minutes) < cp {
						t.Errorf("reader %d: Totals mix commits or are older than checkpoint %d: %+v and %+v", r, cp, ts[0], tt)
						return
					}
				}
				ps, err := s.Patients(ctx)
				if err != nil {
					t.Errorf("reader %d: Patients: %v", r, err)
					return
				}
				for _, p := range ps {
					if p.QualifyingConditions != ps[0].QualifyingConditions {
						t.Errorf("reader %d: Patients mix commits", r)
						return
					}
				}
				if _, _, err := s.PatientMonth(ctx, "p-07", "2025-03"); err != nil {
					t.Errorf("reader %d: PatientMonth: %v", r, err)
					return
				}
				if _, err := s.Batches(ctx, "2025-03"); err != nil {
					t.Errorf("reader %d: Batches: %v", r, err)
					return
				}
			}
		}()
	}
	m := newModel()
	for seq := uint64(1); seq <= commits; seq++ {
		c := changes(seq)
		if err := s.Commit(ctx, c, seq); err != nil {
			t.Errorf("Commit(%d): %v", seq, err)
			break
		}
		m.apply(c, seq)
	}
	done.Store(true)
	wg.Wait()
	m.checkAgainst(t, s)
}

// testSimulatedMonth commits a simulated practice step by step and checks
// every query against the oracle after each step.
func testSimulatedMonth(t *testing.T, s readmodel.Store) {
	m := newModel()
	for _, st := range Simulate(150) {
		commitBoth(t, s, m, st.Changes, st.Through)
		m.checkAgainst(t, s)
		if t.Failed() {
			return
		}
	}
	// The simulation is worth its name: every status occurs.
	seen := map[rules.Status]int{}
	for _, month := range SimulatedMonths {
		for _, pm := range m.month(month) {
			seen[pm.Evaluation.Status]++
		}
	}
	for _, st := range []rules.Status{rules.StatusBillable, rules.StatusHold, rules.StatusNotBillable, rules.StatusBilled} {
		if seen[st] == 0 {
			t.Errorf("simulation has no %s month (%v): make it richer", st, seen)
		}
	}
}
