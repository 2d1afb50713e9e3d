package rules

import (
	"testing"
	"time"
)

// Review of ccm-rules.md §1.2 (codes, thresholds and units by service year),
// §3 (time rules T1–T12) and the §8 ambiguities touching them, against the
// engine, written against the document by a second reader. Each case cites
// the rule it checks.

type rvCase struct {
	name     string
	month    string         // service month; "" is 2025-03
	loc      *time.Location // nil: New York
	setup    func(f *Facts)
	want     want
	unbilled *int // nil: not checked
}

func runRV(t *testing.T, cases []rvCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, ev := evaluateIn(c.month, func(f *Facts) {
				if c.loc != nil {
					f.Location = c.loc
				}
				c.setup(f)
			})
			checkEvaluation(t, ev, c.want)
			if c.unbilled != nil && ev.UnbilledMinutes != *c.unbilled {
				t.Errorf("unbilledMinutes: got %d, want %d", ev.UnbilledMinutes, *c.unbilled)
			}
		})
	}
}

func rvEntries(es ...TimeEntry) func(*Facts) {
	return func(f *Facts) { f.TimeEntries = append(f.TimeEntries, es...) }
}

func rvMA(id, start string, minutes int, opts ...entryOpt) TimeEntry {
	return entry(id, RoleMA, start, minutes, opts...)
}

func rvComplex(level string, es []TimeEntry) func(*Facts) {
	return func(f *Facts) {
		f.TimeEntries = es
		f.Complexity = []ComplexityDecision{{Month: f.Month, Level: level, PractitionerNPI: drA, DecidedAt: f.Month.Start(f.Location).Add(11 * 24 * time.Hour), EventID: "ev-mdm"}}
	}
}

// TestTimeReviewMinutesToLines: the §1.2 table at its exact band edges (2025).
func TestTimeReviewMinutesToLines(t *testing.T) {
	below := []ReasonCode{ReasonBelowThreshold}
	runRV(t, []rvCase{
		// §1.2 row 20–29, T1 (C02 counterpart of C01): RN 12 + MA 8 is exactly 20.
		{name: "T1 staff exactly 20 from two people", setup: rvEntries(rn("r1", "2025-03-04T10:00", 12), rvMA("a1", "2025-03-18T14:00", 8)),
			want: want{status: billable, lines: "99490×1", counted: n(20), pathway: PathwayClinicalStaff, program: ProgramCCM}, unbilled: n(0)},
		// §1.2 row 40–59, T2 (C04): exactly 40 gives the first 99439.
		{name: "T2 staff exactly 40", setup: rvEntries(rn("r1", "2025-03-05T10:00", 25), rvMA("a1", "2025-03-12T10:00", 15)),
			want: want{status: billable, lines: "99490×1 99439×1", counted: n(40)}, unbilled: n(0)},
		// §1.2 row 60–89, T2 (C06): exactly 60 gives the second 99439.
		{name: "T2 staff exactly 60", setup: rvEntries(rn("r1", "2025-03-05T10:00", 30), rn("r2", "2025-03-19T10:00", 30)),
			want: want{status: billable, lines: "99490×1 99439×2", counted: n(60)}, unbilled: n(0)},
		// §1.2 row 120+, T2 "max 2": 130 staff minutes stay at 99439×2, 70 unbilled.
		{name: "T2 staff 130: 99439 cap of 2", setup: rvEntries(staffMinutes(130)...),
			want: want{status: billable, lines: "99490×1 99439×2", counted: n(130)}, unbilled: n(70)},
		// §1.2 complex column, T11 (C10): exactly 60 with moderate MDM is 99487, never with 99490 (X1).
		{name: "T11 complex exactly 60", setup: rvComplex(MDMModerate, one(rn("r1", "2025-03-05T10:00", 30), rn("r2", "2025-03-19T10:00", 30))),
			want: want{status: billable, lines: "99487×1", counted: n(60), pathway: PathwayComplex}, unbilled: n(0)},
		// §1.2 complex 90–119, T2 (C12): exactly 90 gives one 99489.
		{name: "T2 complex exactly 90", setup: rvComplex(MDMHigh, one(rn("r1", "2025-03-05T10:00", 45), rn("r2", "2025-03-19T10:00", 45))),
			want: want{status: billable, lines: "99487×1 99489×1", counted: n(90)}, unbilled: n(0)},
		// §1.2 complex 120+: ⌊(150−60)/30⌋ = 3 units of 99489.
		{name: "T2 complex 150: three 99489", setup: rvComplex(MDMHigh, staffMinutes(150)),
			want: want{status: billable, lines: "99487×1 99489×3", counted: n(150)}, unbilled: n(0)},
		// §1.2 complex 120+: 149 is still two units (no midpoint, T1).
		{name: "T1 complex 149: no midpoint", setup: rvComplex(MDMHigh, staffMinutes(149)),
			want: want{status: billable, lines: "99487×1 99489×2", counted: n(149)}, unbilled: n(29)},
		// T11 + A3 (C13 counterpart): high MDM, 45 minutes: non-complex with the downgrade flag.
		{name: "A3 complex 45 falls back to 99490+99439", setup: rvComplex(MDMHigh, staffMinutes(45)),
			want: want{status: billable, lines: "99490×1 99439×1", counted: n(45), flags: []ReasonCode{FlagComplexityDowngraded}}},
		// T11: low MDM this month is non-complex even at 90 minutes (C09-like).
		{name: "T11 low MDM 90 minutes is non-complex", setup: rvComplex(MDMLow, staffMinutes(90)),
			want: want{status: billable, lines: "99490×1 99439×2", counted: n(90)}, unbilled: n(30)},
		// §1.2 physician column, T1 (C15): two 15-minute entries are exactly 30.
		{name: "T1 physician exactly 30", setup: rvEntries(md("m1", "2025-03-10T17:00", 15), md("m2", "2025-03-24T17:00", 15)),
			want: want{status: billable, lines: "99491×1", counted: n(30), pathway: PathwayPractitioner}},
		// §1.2 physician 60–89, T2 (C16): exactly 60 gives 99437×1 (2022+).
		{name: "T2 physician exactly 60", setup: rvEntries(md("m1", "2025-03-10T17:00", 30), md("m2", "2025-03-24T17:00", 30)),
			want: want{status: billable, lines: "99491×1 99437×1", counted: n(60), pathway: PathwayPractitioner}, unbilled: n(0)},
		// §1.2 physician 60–89: 89 is still one 99437 (T1 "periods under 30 minutes are not reported for 99437").
		{name: "T1 physician 89: one 99437", setup: rvEntries(mdMinutes(89)...),
			want: want{status: billable, lines: "99491×1 99437×1", counted: n(89)}, unbilled: n(29)},
		// §1.2 physician 90–119: exactly 90 gives 99437×2.
		{name: "T2 physician exactly 90", setup: rvEntries(mdMinutes(90)...),
			want: want{status: billable, lines: "99491×1 99437×2", counted: n(90)}, unbilled: n(0)},
		// §1.2 physician 120+: capped by MUE 2.
		{name: "T2 physician 125: 99437 MUE 2", setup: rvEntries(mdMinutes(125)...),
			want: want{status: billable, lines: "99491×1 99437×2", counted: n(125)}, unbilled: n(35)},
		// §1.2 physician 20–29 + A4 default "allow" (C18 counterpart): 20 is 99490.
		{name: "A4 physician exactly 20 is 99490", setup: rvEntries(md("m1", "2025-03-10T17:00", 20)),
			want: want{status: billable, lines: "99490×1", counted: n(20), pathway: PathwayClinicalStaff}},
		// §1.2 physician 0–19: nothing.
		{name: "T1 physician 19 is nothing", setup: rvEntries(md("m1", "2025-03-10T17:00", 19)),
			want: want{status: notBillable, reasons: below, counted: n(19)}},
		// T5 + A4 default: physician 19 + RN 1 combine to exactly 20 as staff time.
		{name: "T5 physician 19 + RN 1 combine to 20", setup: rvEntries(md("m1", "2025-03-10T17:00", 19), rn("r1", "2025-03-11T10:00", 1)),
			want: want{status: billable, lines: "99490×1", counted: n(20), pathway: PathwayClinicalStaff, flags: []ReasonCode{FlagPathwayPolicyApplied}}},
		// T5/X2 + A4 default: physician 40 + RN 20: combined 60 as staff, never 99491 with 99490.
		{name: "T5 physician 40 + RN 20 combine: no 99491", setup: rvEntries(md("m1", "2025-03-10T17:00", 40), rn("r1", "2025-03-14T10:00", 20)),
			want: want{status: billable, lines: "99490×1 99439×2", counted: n(60), pathway: PathwayClinicalStaff, flags: []ReasonCode{FlagPathwayPolicyApplied}}},
		// §1.2 PCM physician column: 59 is 99424 alone, 60 adds 99425.
		{name: "T2 PCM physician 59", setup: func(f *Facts) { f.TimeEntries = mdMinutes(59); pcmPatient(f) },
			want: want{status: billable, lines: "99424×1", counted: n(59), program: ProgramPCM, pathway: PathwayPCMPractitioner}},
		{name: "T2 PCM physician exactly 60", setup: func(f *Facts) { f.TimeEntries = mdMinutes(60); pcmPatient(f) },
			want: want{status: billable, lines: "99424×1 99425×1", counted: n(60), program: ProgramPCM}},
		// §1.2 PCM staff 90–119: 99427×2.
		{name: "T2 PCM staff exactly 90", setup: func(f *Facts) { f.TimeEntries = staffMinutes(90); pcmPatient(f) },
			want: want{status: billable, lines: "99426×1 99427×2", counted: n(90), program: ProgramPCM}},
		// §1.2 PCM 20–29: nothing, even for physician time (A4 is only for 99490).
		{name: "T1 PCM physician 25 is nothing", setup: func(f *Facts) { f.TimeEntries = mdMinutes(25); pcmPatient(f) },
			want: want{status: notBillable, reasons: below, counted: n(25), program: ProgramPCM}},
	})
}

// TestTimeReviewEffectiveDating: §1.2 codes by service year (§9.1): G2058 only
// in 2020, 99439 from 2021, 99437 and 99424–99427 from 2022, APCM from 2025.
func TestTimeReviewEffectiveDating(t *testing.T) {
	staff := func(m string, n int) func(*Facts) { return func(f *Facts) { f.TimeEntries = staffIn(m, n) } }
	doc := func(m string, n int) func(*Facts) { return func(f *Facts) { f.TimeEntries = mdIn(m, n) } }
	pcm := func(m string, n int, physician bool) func(*Facts) {
		return func(f *Facts) {
			if physician {
				f.TimeEntries = mdIn(m, n)
			} else {
				f.TimeEntries = staffIn(m, n)
			}
			pcmPatient(f)
		}
	}
	apcm := func(m string) func(*Facts) {
		return func(f *Facts) {
			f.TimeEntries = staffIn(m, 30)
			f.ExternalClaims = []ExternalClaim{{Code: "G0556", PractitionerNPI: drA, ServiceMonth: MustMonth(m)}}
		}
	}
	runRV(t, []rvCase{
		// §1.1 G2058 row, T2: 2020 add-on at each full 20 beyond 20.
		{name: "G2058 2020-01 first month, exactly 40", month: "2020-01", setup: staff("2020-01", 40),
			want: want{status: billable, lines: "99490×1 G2058×1", counted: n(40)}},
		{name: "G2058 2020-06 39 minutes: no add-on", month: "2020-06", setup: staff("2020-06", 39),
			want: want{status: billable, lines: "99490×1", counted: n(39)}},
		// §1.1 G2058 "max 2" [C19].
		{name: "G2058 2020-12 100 minutes: max 2", month: "2020-12", setup: staff("2020-12", 100),
			want: want{status: billable, lines: "99490×1 G2058×2", counted: n(100)}, unbilled: n(40)},
		// §1.1 99439 "Since 2021; replaced G2058".
		{name: "99439 2021-01 exactly 40", month: "2021-01", setup: staff("2021-01", 40),
			want: want{status: billable, lines: "99490×1 99439×1", counted: n(40)}},
		// Before 2020 99490 had no add-on.
		{name: "2019-12 60 minutes: 99490 alone", month: "2019-12", setup: staff("2019-12", 60),
			want: want{status: billable, lines: "99490×1", counted: n(60)}, unbilled: n(40)},
		// §1.1 99437 "New in 2022": 2021-12 physician 60 is 99491 alone.
		{name: "99437 not yet in 2021-12", month: "2021-12", setup: doc("2021-12", 60),
			want: want{status: billable, lines: "99491×1", counted: n(60), pathway: PathwayPractitioner}, unbilled: n(30)},
		{name: "99437 from 2022-01", month: "2022-01", setup: doc("2022-01", 60),
			want: want{status: billable, lines: "99491×1 99437×1", counted: n(60), pathway: PathwayPractitioner}},
		// Complex CCM in 2020 (99487/99489 exist throughout).
		{name: "complex 2020-06 exactly 90", month: "2020-06", setup: rvComplex(MDMModerate, staffIn("2020-06", 90)),
			want: want{status: billable, lines: "99487×1 99489×1", counted: n(90), pathway: PathwayComplex}},
		// §1.1 PCM: G2064/G2065 through 2021, 99424–99427 from 2022.
		{name: "PCM staff 2021-12 is G2065", month: "2021-12", setup: pcm("2021-12", 60, false),
			want: want{status: billable, lines: "G2065×1", counted: n(60), program: ProgramPCM}},
		{name: "PCM staff 2022-01 is 99426+99427", month: "2022-01", setup: pcm("2022-01", 60, false),
			want: want{status: billable, lines: "99426×1 99427×1", counted: n(60), program: ProgramPCM}},
		{name: "PCM physician 2022-01 exactly 30 is 99424", month: "2022-01", setup: pcm("2022-01", 30, true),
			want: want{status: billable, lines: "99424×1", counted: n(30), program: ProgramPCM}},
		// X9: APCM exclusions apply from 2025 only.
		{name: "X9 APCM by the same practitioner in 2024-12: no such code yet", month: "2024-12", setup: apcm("2024-12"),
			want: want{status: billable, lines: "99490×1", counted: n(30)}},
		{name: "X9 APCM by the same practitioner in 2025-01 bundles CCM", month: "2025-01", setup: apcm("2025-01"),
			want: want{status: notBillable, reasons: []ReasonCode{ReasonBundledInAPCM}, counted: n(30)}},
	})
}

// TestTimeReviewCalendarMonth: T3, T12, A9 (split at the billing location's
// local midnight), DST and leap days.
func TestTimeReviewCalendarMonth(t *testing.T) {
	la := mustLoc("America/Los_Angeles")
	phoenix := mustLoc("America/Phoenix")
	asuncion := mustLoc("America/Asuncion")
	runRV(t, []rvCase{
		// T3: nothing carries between months (19 in February, 19 in March).
		{name: "T3 February minutes do not help March", setup: rvEntries(rn("r1", "2025-02-20T10:00", 19), rn("r2", "2025-03-20T10:00", 19)),
			want: want{status: notBillable, reasons: []ReasonCode{ReasonBelowThreshold}, counted: n(19)}},
		// T12/A9 (C39 next month): the 15 minutes after local midnight of 31 March belong to April.
		{name: "T12 C39 seen from April", month: "2025-04", setup: rvEntries(rn("r1", "2025-03-10T10:00", 12), rn("r2", "2025-03-31T23:50", 25)),
			want: want{status: notBillable, reasons: []ReasonCode{ReasonBelowThreshold}, counted: n(15), excluded: map[ReasonCode]int{ExcludedOtherMonth: 10}}},
		// T12: a UTC instant in April is 31 March 23:50 EDT in New York: 10 minutes to March.
		{name: "T12 UTC April instant is local March", setup: rvEntries(rn("r1", "2025-03-10T10:00", 12), rn("r2", "2025-03-31T23:50", 25, startUTC("2025-04-01T03:50:00Z"))),
			want: want{status: billable, lines: "99490×1", counted: n(22), excluded: map[ReasonCode]int{ExcludedOtherMonth: 15}}},
		// T12 in a zone without DST (Phoenix, UTC−7): 2025-04-01T06:30Z is 31 March 23:30.
		{name: "T12 Phoenix: 06:30Z on 1 April is March", loc: phoenix, setup: rvEntries(rn("r1", "2025-03-31T23:30", 20, startUTC("2025-04-01T06:30:00Z"))),
			want: want{status: billable, lines: "99490×1", counted: n(20)}},
		// T12 + leap day: from March 2024, an entry starting 29 Feb 23:50 counts its 20 minutes after midnight.
		{name: "T12 leap day seen from March", month: "2024-03", setup: rvEntries(rn("r1", "2024-02-29T23:50", 30)),
			want: want{status: billable, lines: "99490×1", counted: n(20), excluded: map[ReasonCode]int{ExcludedOtherMonth: 10}}},
		// T12 C39 variant counterpart: 2024-03-01T07:55Z is 29 Feb 23:55 PST: 5 minutes February, 15 March.
		{name: "T12 Los Angeles leap-day entry crossing midnight", month: "2024-02", loc: la,
			setup: rvEntries(rn("r1", "2024-02-20T10:00", 15, startUTC("2024-02-20T18:00:00Z")), rn("r2", "2024-02-29T23:55", 20, startUTC("2024-03-01T07:55:00Z"))),
			want:  want{status: billable, lines: "99490×1", counted: n(20), excluded: map[ReasonCode]int{ExcludedOtherMonth: 15}}},
		// T12 + DST spring forward (9 March 2025): 01:50 EST for 20 minutes ends 03:10 EDT; 20 minutes of work.
		{name: "T12 DST spring forward across 02:00", setup: rvEntries(rn("r1", "2025-03-09T01:50", 20)),
			want: want{status: billable, lines: "99490×1", counted: n(20)}},
		// T12 + DST fall back (2 November 2025): 01:50 EDT for 20 minutes ends 01:10 EST; 20 minutes.
		{name: "T12 DST fall back across 02:00", month: "2025-11", setup: rvEntries(rn("r1", "2025-11-02T01:50", 20, startUTC("2025-11-02T05:50:00Z"))),
			want: want{status: billable, lines: "99490×1", counted: n(20)}},
		// T12 + DST: 40 minutes crossing local midnight at the end of the 23-hour DST day stay 40 (same month).
		{name: "T12 DST day then month-internal midnight", setup: rvEntries(rn("r1", "2025-03-09T23:40", 40)),
			want: want{status: billable, lines: "99490×1 99439×1", counted: n(40)}},
		// T12/A9 in a zone whose DST starts at local midnight (Asunción,
		// 1 Oct 2023 00:00 → 01:00). 2023-10-01T03:30Z is 30 Sep 23:30 −04,
		// which is September local time.
		// A skipped midnight starts the day at the change (Date.Midnight),
		// not at 23:00 of the day before.
		{name: "T12 Asuncion: last hour of September before a midnight DST change", month: "2023-09", loc: asuncion,
			setup: rvEntries(rn("r1", "2023-09-30T23:30", 20, startUTC("2023-10-01T03:30:00Z"))),
			want:  want{status: billable, lines: "99490×1", counted: n(20)}},
		// The same entry, seen from October, is not October's.
		{name: "T12 Asuncion: that hour is not October's", month: "2023-10", loc: asuncion,
			setup: rvEntries(rn("r1", "2023-09-30T23:30", 20, startUTC("2023-10-01T03:30:00Z"))),
			want:  want{status: notBillable, reasons: []ReasonCode{ReasonBelowThreshold}, counted: n(0)}},
	})
}

// TestTimeReviewPersonsAndSessions: same-person overlap (union), different
// people in parallel, shared sessions (A10), duplicates.
func TestTimeReviewPersonsAndSessions(t *testing.T) {
	runRV(t, []rvCase{
		// overlapping_time: an entry nested in another of the same person counts once.
		{name: "same person, nested entry", setup: rvEntries(rn("r1", "2025-03-05T10:00", 30), rn("r2", "2025-03-05T10:05", 10)),
			want: want{status: billable, lines: "99490×1", counted: n(30), excluded: map[ReasonCode]int{ExcludedOverlappingTime: 10}}},
		// overlapping_time for the billing practitioner: 20 + 20 overlapping by 10 is 30 → 99491.
		{name: "same practitioner, overlapping entries", setup: rvEntries(md("m1", "2025-03-10T17:00", 20), md("m2", "2025-03-10T17:10", 20)),
			want: want{status: billable, lines: "99491×1", counted: n(30), pathway: PathwayPractitioner, excluded: map[ReasonCode]int{ExcludedOverlappingTime: 10}}},
		// A10: different people, different activities, same time: both count.
		{name: "A10 different people in parallel both count", setup: rvEntries(rn("r1", "2025-03-05T10:00", 20), rvMA("a1", "2025-03-05T10:10", 20)),
			want: want{status: billable, lines: "99490×1 99439×1", counted: n(40)}},
		// A10 (C40-like): a shared call logged by RN and MA counts once.
		{name: "A10 shared session logged by two staff", setup: rvEntries(rn("r1", "2025-03-05T10:00", 20, session("call-1")), rvMA("a1", "2025-03-05T10:00", 20, session("call-1"))),
			want: want{status: billable, lines: "99490×1", counted: n(20), excluded: map[ReasonCode]int{ExcludedSharedSession: 20}}},
		// A10: a shared session where the second person joins late and stays longer: wall-clock 10:00–10:30.
		{name: "A10 shared session, staggered", setup: rvEntries(rn("r1", "2025-03-05T10:00", 20, session("call-1")), rvMA("a1", "2025-03-05T10:10", 20, session("call-1"))),
			want: want{status: billable, lines: "99490×1", counted: n(30), excluded: map[ReasonCode]int{ExcludedSharedSession: 10}}},
		// A10 + T5: shared session of the practitioner and an RN, plus 15 RN minutes:
		// session counted once (as the practitioner's), combined as staff (A4 default).
		{name: "A10 practitioner and RN share a session, plus RN time", setup: rvEntries(
			md("m1", "2025-03-05T10:00", 25, session("call-1")), rn("r1", "2025-03-05T10:00", 25, session("call-1")), rn("r2", "2025-03-06T10:00", 15)),
			want: want{status: billable, lines: "99490×1 99439×1", counted: n(40), flags: []ReasonCode{FlagPathwayPolicyApplied}, excluded: map[ReasonCode]int{ExcludedSharedSession: 25}}},
		// duplicate_entry: the same person, start and minutes recorded twice.
		{name: "duplicate recorded twice by the practitioner", setup: rvEntries(md("m1", "2025-03-10T17:00", 30), md("m2", "2025-03-10T17:00", 30)),
			want: want{status: billable, lines: "99491×1", counted: n(30), excluded: map[ReasonCode]int{ExcludedDuplicateEntry: 30}}},
	})
}

// TestTimeReviewProgramsAndExclusions: T7 program priority, T4, A7, K4, K7/A2,
// X12/A6, T8/X10, A15.
func TestTimeReviewProgramsAndExclusions(t *testing.T) {
	visit := Encounter{ID: "v-1", Kind: EncounterOfficeVisit, PractitionerNPI: drA, Start: at("2025-03-05T09:00"), End: at("2025-03-05T09:30"), EventID: "ev-v-1"}
	runRV(t, []rvCase{
		// T7 + contract priority (tcm, rpm, bhi, g0506, pcm, ccm): tag order does not matter.
		{name: "T7 tagged [ccm, tcm] counts for TCM", setup: rvEntries(rn("r1", "2025-03-10T14:00", 10, tags(ProgramCCM, ProgramTCM)), rn("r2", "2025-03-20T10:00", 22)),
			want: want{status: billable, lines: "99490×1", counted: n(22), excluded: map[ReasonCode]int{ExcludedCountedForOtherProgram: 10}}},
		{name: "T7 tagged [ccm, rpm] counts for RPM", setup: rvEntries(rn("r1", "2025-03-10T14:00", 25, tags(ProgramCCM, ProgramRPM)), rn("r2", "2025-03-20T10:00", 20)),
			want: want{status: billable, lines: "99490×1", counted: n(20), excluded: map[ReasonCode]int{ExcludedCountedForOtherProgram: 25}}},
		{name: "T7 tagged [ccm, g0506, pcm] counts for G0506", setup: rvEntries(rn("r1", "2025-03-10T14:00", 25, tags(ProgramCCM, ProgramG0506, ProgramPCM)), rn("r2", "2025-03-20T10:00", 19)),
			want: want{status: notBillable, reasons: []ReasonCode{ReasonBelowThreshold}, counted: n(19), excluded: map[ReasonCode]int{ExcludedCountedForOtherProgram: 25}}},
		// T7: the same RN logs 20 minutes of TCM and 20 of CCM with the same
		// start: the same minutes, already counted for TCM, cannot count for
		// CCM. Not a double logging (the programs differ), so whichever id
		// sorts first, the TCM entry goes to TCM and the CCM entry's minutes
		// are the ones TCM counted.
		{name: "T7 same person, same start and minutes, TCM and CCM (TCM id first)", setup: rvEntries(
			rn("a-tcm", "2025-03-10T14:00", 20, tags(ProgramTCM)), rn("b-ccm", "2025-03-10T14:00", 20)),
			want: want{status: notBillable, reasons: []ReasonCode{ReasonBelowThreshold}, counted: n(0),
				excluded: map[ReasonCode]int{ExcludedCountedForOtherProgram: 40}}},
		{name: "T7 same person, same start and minutes, TCM and CCM (CCM id first)", setup: rvEntries(
			rn("a-ccm", "2025-03-10T14:00", 20), rn("b-tcm", "2025-03-10T14:00", 20, tags(ProgramTCM))),
			want: want{status: notBillable, reasons: []ReasonCode{ReasonBelowThreshold}, counted: n(0),
				excluded: map[ReasonCode]int{ExcludedCountedForOtherProgram: 40}}},
		// T4: a front-desk entry never counts, even on a shared call.
		{name: "T4 front desk on a shared call", setup: rvEntries(
			rn("r1", "2025-03-05T10:00", 15, session("call-1")), entry("f1", RoleFrontDesk, "2025-03-05T10:00", 15, session("call-1")), rn("r2", "2025-03-06T10:00", 4)),
			want: want{status: notBillable, reasons: []ReasonCode{ReasonBelowThreshold}, counted: n(19), excluded: map[ReasonCode]int{ExcludedNonClinicalStaff: 15}}},
		// A7 default (C24-like): an unanswered call by the practitioner does not count either.
		{name: "A7 unanswered practitioner outreach", setup: rvEntries(md("m1", "2025-03-10T17:00", 5, unanswered()), md("m2", "2025-03-11T17:00", 25)),
			want: want{status: billable, lines: "99490×1", counted: n(25), excluded: map[ReasonCode]int{ExcludedUnansweredOutreach: 5}}},
		// K4 (C26-like): consent obtained mid-month; minutes before it are excluded, per minute.
		{name: "K4 consent obtained during an entry", setup: func(f *Facts) {
			f.Consents[0].ObtainedAt = at("2025-03-10T12:00")
			f.TimeEntries = one(rn("r1", "2025-03-03T10:00", 15), rn("r2", "2025-03-10T11:45", 30), rn("r3", "2025-03-20T10:00", 5))
		}, want: want{status: billable, lines: "99490×1", counted: n(20), excluded: map[ReasonCode]int{ExcludedBeforeConsent: 30}}},
		// K7/A2 default (C23): counted 25, the 10 after revocation excluded.
		{name: "A2 C23 counted 25", setup: func(f *Facts) {
			f.Consents[0].RevokedAt = at("2025-03-15T09:00")
			f.TimeEntries = one(rn("r1", "2025-03-05T10:00", 25), rn("r2", "2025-03-20T10:00", 10))
		}, want: want{status: billable, lines: "99490×1", counted: n(25), excluded: map[ReasonCode]int{ExcludedAfterRevocation: 10}}},
		// K7/A2 (C23 next month): no consent in force in April.
		{name: "A2 C23 next month", month: "2025-04", setup: func(f *Facts) {
			f.Consents[0].RevokedAt = at("2025-03-15T09:00")
			f.TimeEntries = one(rn("r1", "2025-04-05T10:00", 25))
		}, want: want{status: notBillable, reasons: []ReasonCode{ReasonNoConsent}}},
		// X12/A6 default (scenario notation: inpatient_days as whole local days).
		{name: "A6 inpatient day excluded", setup: func(f *Facts) {
			f.Encounters = append(f.Encounters, Encounter{ID: "stay", Kind: EncounterInpatientStay, Start: at("2025-03-12"), End: at("2025-03-13"), EventID: "ev-stay"})
			f.TimeEntries = one(rn("r1", "2025-03-12T10:00", 15), rn("r2", "2025-03-13T10:00", 20))
		}, want: want{status: billable, lines: "99490×1", counted: n(20), excluded: map[ReasonCode]int{ExcludedInpatientStay: 15}}},
		// T8/X10: minutes inside a billed visit are excluded; later same-day staff minutes counted and flagged (A5).
		{name: "T8 staff minutes inside a visit and later that day", setup: func(f *Facts) {
			f.Encounters = append(f.Encounters, visit)
			f.TimeEntries = one(rn("r1", "2025-03-05T09:10", 10), rn("r2", "2025-03-05T15:00", 20))
		}, want: want{status: billable, lines: "99490×1", counted: n(20), excluded: map[ReasonCode]int{ExcludedDuringBilledVisit: 10}, flags: []ReasonCode{FlagSameDayAsVisit}}},
		// A15 default (C20-like counterpart of C19): threshold not met before death.
		{name: "A15 threshold not met before death", setup: func(f *Facts) {
			f.Patient.DeceasedDate = date("2025-03-18")
			f.TimeEntries = one(rn("r1", "2025-03-06T10:00", 15), rn("r2", "2025-03-19T10:00", 10))
		}, want: want{status: notBillable, reasons: []ReasonCode{ReasonBelowThreshold}, counted: n(15), excluded: map[ReasonCode]int{ExcludedAfterDeath: 10}}},
		// A15 + A8: threshold met on the date of death; DOS is that date.
		{name: "A15 threshold met on the date of death", setup: func(f *Facts) {
			f.Patient.DeceasedDate = date("2025-03-18")
			f.TimeEntries = one(rn("r1", "2025-03-06T10:00", 10), rn("r2", "2025-03-18T10:00", 30))
		}, want: want{status: billable, lines: "99490×1 99439×1", counted: n(40), dos: "2025-03-18"}},
	})
}
