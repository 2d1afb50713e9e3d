package rules

import (
	"testing"
	"time"
)

type ruleCase struct {
	name  string // starts with the rule ids it covers
	setup func(f *Facts)
	want  want
}

func entries(es ...[]TimeEntry) func(*Facts) {
	return func(f *Facts) {
		for _, e := range es {
			f.TimeEntries = append(f.TimeEntries, e...)
		}
	}
}

func one(es ...TimeEntry) []TimeEntry { return es }

func runCases(t *testing.T, cases []ruleCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := baseFacts()
			c.setup(&f)
			checkEvaluation(t, Evaluate(f), c.want)
		})
	}
}

var (
	billable    = StatusBillable
	notBillable = StatusNotBillable
	onHold      = StatusHold
)

// TestMinutesToLines covers §1.2 and T1/T2 for every pathway.
func TestMinutesToLines(t *testing.T) {
	staff := func(m int) func(*Facts) { return entries(staffMinutes(m)) }
	doc := func(m int) func(*Facts) { return entries(mdMinutes(m)) }
	complexStaff := func(m int) func(*Facts) {
		return func(f *Facts) {
			f.TimeEntries = staffMinutes(m)
			f.Complexity = []ComplexityDecision{complexMDM(MDMModerate, drA)}
		}
	}
	pcmStaff := func(m int) func(*Facts) {
		return func(f *Facts) { f.TimeEntries = staffMinutes(m); pcmPatient(f) }
	}
	pcmDoc := func(m int) func(*Facts) {
		return func(f *Facts) { f.TimeEntries = mdMinutes(m); pcmPatient(f) }
	}
	runCases(t, []ruleCase{
		{"T1 staff 0 minutes", staff(0), want{status: notBillable, reasons: []ReasonCode{ReasonBelowThreshold}, counted: n(0)}},
		{"T1 staff 19 minutes is nothing", staff(19), want{status: notBillable, reasons: []ReasonCode{ReasonBelowThreshold}, counted: n(19), pathway: PathwayClinicalStaff}},
		{"T1 staff 20 minutes", staff(20), want{status: billable, lines: "99490×1", pathway: PathwayClinicalStaff, program: ProgramCCM}},
		{"T2 staff 39 minutes: no add-on yet", staff(39), want{status: billable, lines: "99490×1"}},
		{"T2 staff 40 minutes", staff(40), want{status: billable, lines: "99490×1 99439×1"}},
		{"T2 staff 59 minutes", staff(59), want{status: billable, lines: "99490×1 99439×1"}},
		{"T2 staff 60 minutes", staff(60), want{status: billable, lines: "99490×1 99439×2"}},
		{"T2 staff 120 minutes: 99439 capped at 2", staff(120), want{status: billable, lines: "99490×1 99439×2", counted: n(120)}},
		{"T11 complex 59 minutes falls back (A3)", complexStaff(59), want{status: billable, lines: "99490×1 99439×1", flags: []ReasonCode{FlagComplexityDowngraded}}},
		{"T11 complex 60 minutes", complexStaff(60), want{status: billable, lines: "99487×1", pathway: PathwayComplex}},
		{"T2 complex 89 minutes: no 99489 yet", complexStaff(89), want{status: billable, lines: "99487×1"}},
		{"T2 complex 90 minutes", complexStaff(90), want{status: billable, lines: "99487×1 99489×1"}},
		{"T2 complex 119 minutes", complexStaff(119), want{status: billable, lines: "99487×1 99489×1"}},
		{"T2 complex 120 minutes", complexStaff(120), want{status: billable, lines: "99487×1 99489×2"}},
		{"T2 complex 400 minutes: 99489 MUE 10", complexStaff(400), want{status: billable, lines: "99487×1 99489×10"}},
		{"A4 practitioner 19 minutes", doc(19), want{status: notBillable, reasons: []ReasonCode{ReasonBelowThreshold}}},
		{"A4 practitioner 29 minutes count as staff time", doc(29), want{status: billable, lines: "99490×1", pathway: PathwayClinicalStaff}},
		{"T1 practitioner 30 minutes", doc(30), want{status: billable, lines: "99491×1", pathway: PathwayPractitioner}},
		{"T2 practitioner 59 minutes", doc(59), want{status: billable, lines: "99491×1"}},
		{"T2 practitioner 60 minutes", doc(60), want{status: billable, lines: "99491×1 99437×1"}},
		{"T2 practitioner 90 minutes", doc(90), want{status: billable, lines: "99491×1 99437×2"}},
		{"T2 practitioner 150 minutes: 99437 MUE 2", doc(150), want{status: billable, lines: "99491×1 99437×2"}},
		{"T1 PCM staff 29 minutes", pcmStaff(29), want{status: notBillable, reasons: []ReasonCode{ReasonBelowThreshold}, program: ProgramPCM, pathway: PathwayPCMStaff}},
		{"T1 PCM staff 30 minutes", pcmStaff(30), want{status: billable, lines: "99426×1", program: ProgramPCM, pathway: PathwayPCMStaff}},
		{"T2 PCM staff 59 minutes", pcmStaff(59), want{status: billable, lines: "99426×1"}},
		{"T2 PCM staff 60 minutes", pcmStaff(60), want{status: billable, lines: "99426×1 99427×1"}},
		{"A12 PCM staff 150 minutes: no cap by default", pcmStaff(150), want{status: billable, lines: "99426×1 99427×4"}},
		{"A12 PCM staff 150 minutes, practice cap 2", func(f *Facts) { pcmStaff(150)(f); f.Policy.PCMAddOnMaxUnits = 2 },
			want{status: billable, lines: "99426×1 99427×2"}},
		{"T1 PCM practitioner 29 minutes", pcmDoc(29), want{status: notBillable, reasons: []ReasonCode{ReasonBelowThreshold}, program: ProgramPCM}},
		{"T1 PCM practitioner 30 minutes", pcmDoc(30), want{status: billable, lines: "99424×1", pathway: PathwayPCMPractitioner}},
		{"T2 PCM practitioner 90 minutes", pcmDoc(90), want{status: billable, lines: "99424×1 99425×2"}},
		{"A4 PCM practitioner 35 + staff 10 combine as staff time", func(f *Facts) {
			f.TimeEntries = append(mdMinutes(35), rn("r1", "2025-03-20T10:00", 10))
			pcmPatient(f)
		}, want{status: billable, lines: "99426×1", pathway: PathwayPCMStaff, flags: []ReasonCode{FlagPathwayPolicyApplied}}},
	})
}

// TestEffectiveDating covers the code sets of old months (§9.1).
func TestEffectiveDating(t *testing.T) {
	cases := []struct {
		name  string
		month string
		setup func(f *Facts, month string)
		want  want
	}{
		{"2019: 99490 has no add-on", "2019-06", func(f *Facts, m string) { f.TimeEntries = staffIn(m, 60) }, want{status: billable, lines: "99490×1"}},
		{"2020: G2058 is the add-on", "2020-06", func(f *Facts, m string) { f.TimeEntries = staffIn(m, 60) }, want{status: billable, lines: "99490×1 G2058×2"}},
		{"2021: 99439 replaces G2058", "2021-06", func(f *Facts, m string) { f.TimeEntries = staffIn(m, 60) }, want{status: billable, lines: "99490×1 99439×2"}},
		{"2018: no 99491, practitioner time is staff time", "2018-06", func(f *Facts, m string) { f.TimeEntries = mdIn(m, 45) },
			want{status: billable, lines: "99490×1", pathway: PathwayClinicalStaff}},
		{"2019: 99491 without 99437", "2019-06", func(f *Facts, m string) { f.TimeEntries = mdIn(m, 60) }, want{status: billable, lines: "99491×1"}},
		{"2021: 99491 without 99437", "2021-06", func(f *Facts, m string) { f.TimeEntries = mdIn(m, 95) }, want{status: billable, lines: "99491×1"}},
		{"2022: 99437 exists", "2022-06", func(f *Facts, m string) { f.TimeEntries = mdIn(m, 95) }, want{status: billable, lines: "99491×1 99437×2"}},
		{"2021: PCM staff is G2065", "2021-06", func(f *Facts, m string) { f.TimeEntries = staffIn(m, 60); pcmPatient(f) },
			want{status: billable, lines: "G2065×1", program: ProgramPCM}},
		{"2021: PCM practitioner is G2064", "2021-06", func(f *Facts, m string) { f.TimeEntries = mdIn(m, 60); pcmPatient(f) },
			want{status: billable, lines: "G2064×1", program: ProgramPCM}},
		{"2019: no PCM code", "2019-06", func(f *Facts, m string) { f.TimeEntries = staffIn(m, 60); pcmPatient(f) },
			want{status: notBillable, reasons: []ReasonCode{ReasonCodeNotInEffect}, program: ProgramPCM}},
		{"2014: no CCM code (and K3 consent rules)", "2014-06", func(f *Facts, m string) { f.TimeEntries = staffIn(m, 60) },
			want{status: notBillable, reasons: []ReasonCode{ReasonCodeNotInEffect, ReasonConsentElementsIncomplete}}},
		{"X9 2024: APCM did not exist yet", "2024-06", func(f *Facts, m string) {
			f.TimeEntries = staffIn(m, 30)
			f.ExternalClaims = []ExternalClaim{{Code: "G0557", PractitionerNPI: drA, ServiceMonth: MustMonth(m)}}
		}, want{status: billable, lines: "99490×1"}},
		{"X5 2019: TCM with CCM by the same practitioner excluded", "2019-06", func(f *Facts, m string) {
			f.TimeEntries = staffIn(m, 30)
			f.ExternalClaims = []ExternalClaim{{Code: "99495", PractitionerNPI: drA, ServiceMonth: MustMonth(m)}}
		}, want{status: notBillable, reasons: []ReasonCode{ReasonOverlappingServiceExclusion}}},
		{"X5 2019: TCM by another practitioner allowed", "2019-06", func(f *Facts, m string) {
			f.TimeEntries = staffIn(m, 30)
			f.ExternalClaims = []ExternalClaim{{Code: "99496", PractitionerNPI: drB, ServiceMonth: MustMonth(m)}}
		}, want{status: billable, lines: "99490×1"}},
		{"K3 2016: verbal consent without electronic sharing", "2016-06", func(f *Facts, m string) { f.TimeEntries = staffIn(m, 30) },
			want{status: onHold, lines: "99490×1", reasons: []ReasonCode{ReasonConsentElementsIncomplete}}},
		{"K3 2016: written consent with electronic sharing", "2016-06", func(f *Facts, m string) {
			f.TimeEntries = staffIn(m, 30)
			f.Consents[0].Method = MethodWritten
			f.Consents[0].Disclosures = append(f.Consents[0].Disclosures, DisclosureElectronicSharing)
		}, want{status: billable, lines: "99490×1"}},
		{"K5 2021 (PHE): consent later the same day as the first service", "2021-06", func(f *Facts, m string) {
			f.Consents[0].ObtainedAt = at(m + "-03T14:00")
			f.TimeEntries = staffIn(m, 30)
		}, want{status: billable, lines: "99490×1", counted: n(30)}},
		{"K5 2024 (after the PHE): minutes before consent that day excluded", "2024-06", func(f *Facts, m string) {
			f.Consents[0].ObtainedAt = at(m + "-03T14:00")
			f.TimeEntries = staffIn(m, 30)
		}, want{status: notBillable, reasons: []ReasonCode{ReasonBelowThreshold}, excluded: map[ReasonCode]int{ExcludedBeforeConsent: 25}, counted: n(5)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := factsIn(c.month)
			c.setup(&f, c.month)
			checkEvaluation(t, Evaluate(f), c.want)
		})
	}
}

// TestComplexityAndPathways covers X1, X2, T5, T11 and A3, A4.
func TestComplexityAndPathways(t *testing.T) {
	prior := ComplexityDecision{Month: MustMonth("2025-02"), Level: MDMHigh, PractitionerNPI: drA, EventID: "ev-mdm-feb"}
	runCases(t, []ruleCase{
		{"A3 complex short of 60, policy not_billable", func(f *Facts) {
			f.TimeEntries = staffMinutes(59)
			f.Complexity = []ComplexityDecision{complexMDM(MDMHigh, drA)}
			f.Policy.ComplexShortfall = NotBillable
		}, want{status: notBillable, reasons: []ReasonCode{ReasonBelowThreshold}, pathway: PathwayComplex}},
		{"T11 designated complex, no MDM this month: hold, priced non-complex", func(f *Facts) {
			f.TimeEntries = staffMinutes(70)
			f.Complexity = []ComplexityDecision{prior}
		}, want{status: onHold, lines: "99490×1 99439×2", reasons: []ReasonCode{ReasonComplexityNotDocumented}}},
		{"T11 designated complex under 60 minutes: no hold, flagged downgraded", func(f *Facts) {
			f.TimeEntries = staffMinutes(50)
			f.Complexity = []ComplexityDecision{prior}
		}, want{status: billable, lines: "99490×1 99439×1", flags: []ReasonCode{FlagComplexityDowngraded}}},
		{"T11 MDM by another practitioner does not count", func(f *Facts) {
			f.TimeEntries = staffMinutes(70)
			f.Complexity = []ComplexityDecision{complexMDM(MDMHigh, drB)}
		}, want{status: onHold, lines: "99490×1 99439×2", reasons: []ReasonCode{ReasonComplexityNotDocumented}}},
		{"T11 a complexity record without a level this month: designated, not documented", func(f *Facts) {
			f.TimeEntries = staffMinutes(70)
			f.Complexity = []ComplexityDecision{{Month: MustMonth("2025-03"), PractitionerNPI: drA}}
		}, want{status: onHold, lines: "99490×1 99439×2", reasons: []ReasonCode{ReasonComplexityNotDocumented}}},
		{"T11 low MDM this month is non-complex", func(f *Facts) {
			f.TimeEntries = staffMinutes(100)
			f.Complexity = []ComplexityDecision{prior, complexMDM(MDMLow, drA)}
		}, want{status: billable, lines: "99490×1 99439×2"}},
		{"T4 practitioner time counts toward complex", func(f *Facts) {
			f.TimeEntries = append(staffMinutes(40), mdMinutes(20)...)
			f.Complexity = []ComplexityDecision{complexMDM(MDMModerate, drA)}
		}, want{status: billable, lines: "99487×1", pathway: PathwayComplex}},
		{"T5 C17: practitioner 35 + staff 25 combine as staff time (A4 default)", func(f *Facts) {
			f.TimeEntries = one(md("m1", "2025-03-10T17:00", 35), rn("r1", "2025-03-14T10:00", 25))
		}, want{status: billable, lines: "99490×1 99439×2", flags: []ReasonCode{FlagPathwayPolicyApplied}, pathway: PathwayClinicalStaff}},
		{"X2 C17 under policy practitioner: 99491 alone, staff time unbilled", func(f *Facts) {
			f.TimeEntries = one(md("m1", "2025-03-10T17:00", 35), rn("r1", "2025-03-14T10:00", 25))
			f.Policy.MixedTimePathway = PractitionerPath
		}, want{status: billable, lines: "99491×1", flags: []ReasonCode{FlagPathwayPolicyApplied}, pathway: PathwayPractitioner, counted: n(60)}},
		{"A4 policy practitioner, practitioner short of 30: combine", func(f *Facts) {
			f.TimeEntries = one(md("m1", "2025-03-10T17:00", 25), rn("r1", "2025-03-14T10:00", 25))
			f.Policy.MixedTimePathway = PractitionerPath
		}, want{status: billable, lines: "99490×1 99439×1", flags: []ReasonCode{FlagPathwayPolicyApplied}}},
		{"A4 not_counted: practitioner-only 25 minutes is nothing", func(f *Facts) {
			f.TimeEntries = mdMinutes(25)
			f.Policy.PractitionerTimeAsStaff = NotCounted
		}, want{status: notBillable, reasons: []ReasonCode{ReasonBelowThreshold}, pathway: PathwayPractitioner}},
		{"A4 not_counted: mixed month uses staff time alone", func(f *Facts) {
			f.TimeEntries = one(md("m1", "2025-03-10T17:00", 35), rn("r1", "2025-03-14T10:00", 25))
			f.Policy.PractitionerTimeAsStaff = NotCounted
		}, want{status: billable, lines: "99490×1", flags: []ReasonCode{FlagPathwayPolicyApplied}}},
		{"A4 not_counted: mixed month with little staff time uses the practitioner's", func(f *Facts) {
			f.TimeEntries = one(md("m1", "2025-03-10T17:00", 35), rn("r1", "2025-03-14T10:00", 10))
			f.Policy.PractitionerTimeAsStaff = NotCounted
		}, want{status: billable, lines: "99491×1", flags: []ReasonCode{FlagPathwayPolicyApplied}}},
		{"T4 another practitioner's time is clinical staff time", func(f *Facts) {
			f.TimeEntries = one(entry("np1", RoleNP, "2025-03-05T10:00", 30, func(t *TimeEntry) { t.Staff.NPI = drB }))
		}, want{status: billable, lines: "99490×1", pathway: PathwayClinicalStaff}},
	})
}

// TestSameMonthExclusions covers §2 X3–X12.
func TestSameMonthExclusions(t *testing.T) {
	withClaims := func(cs ...ExternalClaim) func(*Facts) {
		return func(f *Facts) { f.TimeEntries = staffMinutes(30); f.ExternalClaims = cs }
	}
	denied := claim("99490", drB)
	denied.Status = "denied"
	other := claim("99490", drB)
	other.ServiceMonth = MustMonth("2025-02")
	byDOS := ExternalClaim{Code: "99426", PractitionerNPI: drA, DateOfService: date("2025-03-31")}
	runCases(t, []ruleCase{
		{"X3 CCM billed by another practitioner", withClaims(claim("99490", drB)), want{status: notBillable, reasons: []ReasonCode{ReasonBilledByOtherPractitioner}}},
		{"X3 complex CCM billed by another practitioner", withClaims(claim("99487", drB)), want{status: notBillable, reasons: []ReasonCode{ReasonBilledByOtherPractitioner}}},
		{"X3 CCM already billed by the same practitioner", withClaims(claim("99491", drA)), want{status: notBillable, reasons: []ReasonCode{ReasonDuplicateClaim}}},
		{"X3 a denied claim does not count", withClaims(denied), want{status: billable, lines: "99490×1"}},
		{"X3 a claim of another month does not count", withClaims(other), want{status: billable, lines: "99490×1"}},
		// A claim recorded again with a new status replaces its earlier
		// record (same code, practitioner, month and date of service); the
		// latest record decides, whichever it is.
		{"X3 a billed claim later denied does not count", withClaims(claim("99490", drB), denied), want{status: billable, lines: "99490×1"}},
		{"X3 a denied claim later billed counts", withClaims(denied, claim("99490", drB)), want{status: notBillable, reasons: []ReasonCode{ReasonBilledByOtherPractitioner}}},
		{"X3 a denied claim beside another claim of the same code still blocks", func(f *Facts) {
			again := claim("99490", drB)
			again.DateOfService = date("2025-03-28")
			withClaims(again, denied)(f)
		}, want{status: notBillable, reasons: []ReasonCode{ReasonBilledByOtherPractitioner}}},
		{"X4 PCM by the same practitioner", withClaims(claim("99426", drA)), want{status: notBillable, reasons: []ReasonCode{ReasonCCMAndPCMSamePractitioner}}},
		{"X4 PCM by the same practitioner, month from the date of service", withClaims(byDOS), want{status: notBillable, reasons: []ReasonCode{ReasonCCMAndPCMSamePractitioner}}},
		{"X4 PCM by another practitioner", withClaims(claim("99424", drB)), want{status: billable, lines: "99490×1"}},
		{"X4 PCM month with CCM by the same practitioner", func(f *Facts) {
			withClaims(claim("99490", drA))(f)
			pcmPatient(f)
		}, want{status: notBillable, reasons: []ReasonCode{ReasonCCMAndPCMSamePractitioner}, program: ProgramPCM}},
		{"X4 PCM month with PCM by another practitioner", func(f *Facts) {
			withClaims(claim("99426", drB))(f)
			pcmPatient(f)
		}, want{status: billable, lines: "99426×1", program: ProgramPCM}},
		{"X4 PCM month with CCM by another practitioner", func(f *Facts) {
			withClaims(claim("99490", drB))(f)
			pcmPatient(f)
		}, want{status: billable, lines: "99426×1", program: ProgramPCM}},
		{"X5 TCM by the same practitioner since 2020", withClaims(claim("99495", drA)), want{status: billable, lines: "99490×1"}},
		{"X6 RPM in the same month", withClaims(claim("99457", drA), claim("99454", drA)), want{status: billable, lines: "99490×1"}},
		{"X7 BHI in the same month", withClaims(claim("99484", drA)), want{status: billable, lines: "99490×1"}},
		{"X8 G0181 by the same practitioner (A1 default)", withClaims(claim("G0181", drA)), want{status: notBillable, reasons: []ReasonCode{ReasonOverlappingServiceExclusion}}},
		{"X8 G0182 by the same practitioner", withClaims(claim("G0182", drA)), want{status: notBillable, reasons: []ReasonCode{ReasonOverlappingServiceExclusion}}},
		{"X8 ESRD 90951 by the same practitioner", withClaims(claim("90951", drA)), want{status: notBillable, reasons: []ReasonCode{ReasonOverlappingServiceExclusion}}},
		{"X8 ESRD 90970 by the same practitioner", withClaims(claim("90970", drA)), want{status: notBillable, reasons: []ReasonCode{ReasonOverlappingServiceExclusion}}},
		{"X8 90950 is not ESRD monthly", withClaims(claim("90950", drA)), want{status: billable, lines: "99490×1"}},
		{"X8 ESRD by another practitioner", withClaims(claim("90960", drB)), want{status: billable, lines: "99490×1"}},
		{"X8 A1 allow", func(f *Facts) {
			withClaims(claim("G0181", drA))(f)
			f.Policy.CPOAndESRDOverlap = Allow
		}, want{status: billable, lines: "99490×1"}},
		{"X8 does not apply to PCM", func(f *Facts) {
			withClaims(claim("G0181", drA))(f)
			pcmPatient(f)
		}, want{status: billable, lines: "99426×1"}},
		{"X9 APCM by the same practitioner", withClaims(claim("G0558", drA)), want{status: notBillable, reasons: []ReasonCode{ReasonBundledInAPCM}}},
		{"X9 APCM bundles PCM too", func(f *Facts) {
			withClaims(claim("G0556", drA))(f)
			pcmPatient(f)
		}, want{status: notBillable, reasons: []ReasonCode{ReasonBundledInAPCM}}},
		{"X9 APCM by another practitioner", withClaims(claim("G0557", drB)), want{status: billable, lines: "99490×1"}},
		{"A13 apcmBundling allow does not unbundle CCM", func(f *Facts) {
			withClaims(claim("G0557", drA))(f)
			f.Policy.APCMBundling = Allow
		}, want{status: notBillable, reasons: []ReasonCode{ReasonBundledInAPCM}}},
		{"X3+X4 every failing rule is reported", withClaims(claim("99490", drB), claim("99426", drA), claim("G0181", drA)),
			want{status: notBillable, reasons: []ReasonCode{ReasonBilledByOtherPractitioner, ReasonCCMAndPCMSamePractitioner, ReasonOverlappingServiceExclusion}}},
	})
}

// TestVisitsAndOtherPrograms covers T7, T8, X5–X7, X10–X12, I4 and A5, A6.
func TestVisitsAndOtherPrograms(t *testing.T) {
	visit := func(start, end string, timeBased bool) Encounter {
		return Encounter{ID: "v-1", Kind: EncounterOfficeVisit, PractitionerNPI: drA, Start: at(start), End: at(end), TimeBased: timeBased, EventID: "ev-v-1"}
	}
	stay := func(kind, start, end string) Encounter {
		e := Encounter{ID: "stay", Kind: kind, Start: at(start), EventID: "ev-stay"}
		if end != "" {
			e.End = at(end)
		}
		return e
	}
	addEnc := func(es ...Encounter) func(*Facts) {
		return func(f *Facts) { f.Encounters = append(f.Encounters, es...) }
	}
	both := func(a, b func(*Facts)) func(*Facts) { return func(f *Facts) { a(f); b(f) } }
	runCases(t, []ruleCase{
		{"T7 C31 double-tagged TCM/CCM counts for TCM", entries(one(
			rn("r1", "2025-03-04T10:00", 15, tags(ProgramTCM)),
			rn("r2", "2025-03-10T14:00", 10, tags(ProgramTCM, ProgramCCM)),
			rn("r3", "2025-03-20T10:00", 22))),
			want{status: billable, lines: "99490×1", counted: n(22), excluded: map[ReasonCode]int{ExcludedCountedForOtherProgram: 25}}},
		{"T7 RPM entry", entries(one(rn("r1", "2025-03-07T10:00", 25, tags(ProgramRPM)), rn("r2", "2025-03-21T10:00", 20))),
			want{status: billable, lines: "99490×1", counted: n(20), excluded: map[ReasonCode]int{ExcludedCountedForOtherProgram: 25}}},
		{"T7 BHI before CCM in priority", entries(one(rn("r1", "2025-03-07T10:00", 25, tags(ProgramCCM, ProgramBHI)))),
			want{status: notBillable, reasons: []ReasonCode{ReasonBelowThreshold}, counted: n(0), excluded: map[ReasonCode]int{ExcludedCountedForOtherProgram: 25}}},
		{"X11 G0506 care-planning time not counted again", entries(one(rn("r1", "2025-03-07T10:00", 25, tags(ProgramG0506, ProgramCCM)), rn("r2", "2025-03-08T10:00", 20))),
			want{status: billable, lines: "99490×1", counted: n(20), excluded: map[ReasonCode]int{ExcludedCountedForOtherProgram: 25}}},
		{"T7 PCM-tagged entry in a CCM month", entries(one(rn("r1", "2025-03-07T10:00", 25, tags(ProgramPCM)), rn("r2", "2025-03-08T10:00", 20), rn("r3", "2025-03-09T10:00", 5))),
			want{status: billable, lines: "99490×1", counted: n(25), excluded: map[ReasonCode]int{ExcludedCountedForOtherProgram: 25}}},
		{"T7 PCM/CCM double tag counts for the evaluated CCM", entries(one(rn("r1", "2025-03-07T10:00", 25, tags(ProgramPCM, ProgramCCM)))),
			want{status: billable, lines: "99490×1", counted: n(25)}},
		{"T7 the same person's minutes given to TCM cannot count again", entries(one(
			rn("r1", "2025-03-07T10:00", 30, tags(ProgramTCM)),
			rn("r2", "2025-03-07T10:15", 30),
			rn("r3", "2025-03-08T10:00", 10))),
			want{status: billable, lines: "99490×1", counted: n(25), excluded: map[ReasonCode]int{ExcludedCountedForOtherProgram: 45}}},
		{"X10 minutes marked inside a visit", both(addEnc(visit("2025-03-05T09:00", "2025-03-05T09:30", false)),
			entries(one(rn("r1", "2025-03-05T09:00", 15, inEncounter("v-1")), rn("r2", "2025-03-12T10:00", 20)))),
			want{status: billable, lines: "99490×1", counted: n(20), excluded: map[ReasonCode]int{ExcludedDuringBilledVisit: 15}}},
		{"X10 minutes overlapping a visit; A5 same-day staff time flagged", both(addEnc(visit("2025-03-05T09:00", "2025-03-05T09:30", false)),
			entries(one(rn("r1", "2025-03-05T09:20", 30)))),
			want{status: billable, lines: "99490×1", counted: n(20), excluded: map[ReasonCode]int{ExcludedDuringBilledVisit: 10}, flags: []ReasonCode{FlagSameDayAsVisit}}},
		{"A5 exclude: staff minutes on a visit date", func(f *Facts) {
			addEnc(visit("2025-03-05T09:00", "2025-03-05T09:30", false))(f)
			f.TimeEntries = one(rn("r1", "2025-03-05T15:00", 20), rn("r2", "2025-03-06T15:00", 20))
			f.Policy.SameDayStaffMinutes = Exclude
		}, want{status: billable, lines: "99490×1", counted: n(20), excluded: map[ReasonCode]int{ExcludedDuringBilledVisit: 20}}},
		{"T8 the practitioner's time on the date of a time-based E/M", both(addEnc(visit("2025-03-05T09:00", "2025-03-05T09:30", true)),
			entries(one(md("m1", "2025-03-05T17:00", 20), md("m2", "2025-03-06T17:00", 30)))),
			want{status: billable, lines: "99491×1", counted: n(30), excluded: map[ReasonCode]int{ExcludedDuringBilledVisit: 20}}},
		{"T8 the practitioner's time on the date of a visit not leveled by time", both(addEnc(visit("2025-03-05T09:00", "2025-03-05T09:30", false)),
			entries(one(md("m1", "2025-03-05T17:00", 30)))),
			want{status: billable, lines: "99491×1", counted: n(30), flags: []ReasonCode{FlagSameDayAsVisit}}},
		{"I4 time inside the initiating visit billed with G0506", func(f *Facts) {
			f.Encounters = append(f.Encounters, Encounter{ID: "v-g", Kind: EncounterOfficeVisit, PractitionerNPI: drA, Start: at("2025-03-03T09:00"), G0506: true})
			f.TimeEntries = one(md("m1", "2025-03-03T09:10", 20, inEncounter("v-g")), rn("r1", "2025-03-10T10:00", 20))
		}, want{status: billable, lines: "99490×1", counted: n(20), excluded: map[ReasonCode]int{ExcludedDuringBilledVisit: 20}, flags: []ReasonCode{}}},
		{"X12 A6 Part A days: the admission day is inpatient, the discharge day is not", both(addEnc(stay(EncounterInpatientStay, "2025-03-10T14:00", "2025-03-12T11:00")),
			entries(one(rn("r1", "2025-03-10T09:00", 10), rn("r2", "2025-03-11T16:00", 10), rn("r3", "2025-03-12T09:00", 20)))),
			want{status: billable, lines: "99490×1", counted: n(20), excluded: map[ReasonCode]int{ExcludedInpatientStay: 20}}},
		{"X12 a stay within one day is that day", both(addEnc(stay(EncounterInpatientStay, "2025-03-10T08:00", "2025-03-10T20:00")),
			entries(one(rn("r1", "2025-03-10T21:00", 10), rn("r2", "2025-03-11T09:00", 20)))),
			want{status: billable, lines: "99490×1", counted: n(20), excluded: map[ReasonCode]int{ExcludedInpatientStay: 10}}},
		{"X12 a stay ending at midnight (date-only discharge) covers the days before it", both(addEnc(stay(EncounterSNFStay, "2025-03-10T00:00", "2025-03-12T00:00")),
			entries(one(rn("r1", "2025-03-11T09:00", 10), rn("r2", "2025-03-12T09:00", 20)))),
			want{status: billable, lines: "99490×1", counted: n(20), excluded: map[ReasonCode]int{ExcludedInpatientStay: 10}}},
		{"X12 an open SNF stay runs to month end", both(addEnc(stay(EncounterSNFStay, "2025-03-20T12:00", "")),
			entries(one(rn("r1", "2025-03-05T09:00", 15), rn("r2", "2025-03-25T09:00", 20)))),
			want{status: notBillable, reasons: []ReasonCode{ReasonBelowThreshold}, counted: n(15), excluded: map[ReasonCode]int{ExcludedInpatientStay: 20}}},
		{"A6 count inpatient days", func(f *Facts) {
			addEnc(stay(EncounterInpatientStay, "2025-03-10T14:00", "2025-03-12T11:00"))(f)
			f.TimeEntries = one(rn("r1", "2025-03-11T09:00", 20))
			f.Policy.InpatientDays = Count
		}, want{status: billable, lines: "99490×1", counted: n(20)}},
	})
}

// TestTimeEntryRules covers T3, T4, A7, A10, duplicates, overlaps, voids and
// the late-entry flag.
func TestTimeEntryRules(t *testing.T) {
	runCases(t, []ruleCase{
		{"T4 front desk, biller and scheduler time never counts", entries(one(
			entry("f1", RoleFrontDesk, "2025-03-05T10:00", 10),
			entry("b1", RoleBiller, "2025-03-06T10:00", 10),
			entry("s1", RoleScheduler, "2025-03-07T10:00", 10),
			entry("x1", "", "2025-03-08T10:00", 10),
			rn("r1", "2025-03-09T10:00", 15))),
			want{status: notBillable, reasons: []ReasonCode{ReasonBelowThreshold}, counted: n(15), excluded: map[ReasonCode]int{ExcludedNonClinicalStaff: 40}}},
		{"T4 every clinical staff role counts", entries(one(
			entry("l1", RoleLPN, "2025-03-05T10:00", 4), entry("m1", RoleMA, "2025-03-05T11:00", 4),
			entry("p1", RolePharmacist, "2025-03-05T12:00", 4), entry("w1", RoleSocialWorker, "2025-03-05T13:00", 4),
			entry("c1", RoleCareManager, "2025-03-05T14:00", 4))),
			want{status: billable, lines: "99490×1", counted: n(20)}},
		{"T3 minutes add up from short contacts", entries(one(
			rn("r1", "2025-03-01T00:00", 5), rn("r2", "2025-03-11T10:00", 5), rn("r3", "2025-03-21T10:00", 5), rn("r4", "2025-03-31T23:55", 5))),
			want{status: billable, lines: "99490×1", counted: n(20)}},
		{"A7 unanswered outreach not counted", entries(one(rn("r1", "2025-03-05T10:00", 5, unanswered()), rn("r2", "2025-03-06T10:00", 20))),
			want{status: billable, lines: "99490×1", counted: n(20), excluded: map[ReasonCode]int{ExcludedUnansweredOutreach: 5}}},
		{"A7 count unanswered outreach", func(f *Facts) {
			f.TimeEntries = one(rn("r1", "2025-03-05T10:00", 5, unanswered()), rn("r2", "2025-03-06T10:00", 15))
			f.Policy.UnansweredOutreach = Count
		}, want{status: billable, lines: "99490×1", counted: n(20)}},
		{"overlapping entries of one person count as their union", entries(one(
			rn("r1", "2025-03-05T10:00", 20), rn("r2", "2025-03-05T10:10", 20))),
			want{status: billable, lines: "99490×1", counted: n(30), excluded: map[ReasonCode]int{ExcludedOverlappingTime: 10}}},
		{"duplicate entry id", entries(one(rn("r1", "2025-03-05T10:00", 20), rn("r1", "2025-03-05T10:00", 20))),
			want{status: billable, lines: "99490×1", counted: n(20), excluded: map[ReasonCode]int{ExcludedDuplicateEntry: 20}}},
		{"duplicate entry: same person, start and minutes", entries(one(rn("r1", "2025-03-05T10:00", 20), rn("r2", "2025-03-05T10:00", 20))),
			want{status: billable, lines: "99490×1", counted: n(20), excluded: map[ReasonCode]int{ExcludedDuplicateEntry: 20}}},
		{"voided entry", entries(one(rn("r1", "2025-03-05T10:00", 20, voided()), rn("r1", "2025-03-05T10:00", 15))),
			want{status: notBillable, reasons: []ReasonCode{ReasonBelowThreshold}, counted: n(15), excluded: map[ReasonCode]int{ExcludedVoided: 20}}},
		{"A10 shared session counts once", entries(one(
			rn("r1", "2025-03-05T10:00", 20, session("call-1")),
			entry("m1", RoleMA, "2025-03-05T10:00", 20, session("call-1")),
			entry("p1", RolePharmacist, "2025-03-05T10:05", 20, session("call-1")))),
			want{status: billable, lines: "99490×1", counted: n(25), excluded: map[ReasonCode]int{ExcludedSharedSession: 35}}},
		{"A10 same activity at the same time counts once", entries(one(
			rn("r1", "2025-03-05T10:00", 20, activity("medication reconciliation")),
			entry("m1", RoleMA, "2025-03-05T10:10", 20, activity("medication reconciliation")))),
			want{status: billable, lines: "99490×1", counted: n(30), excluded: map[ReasonCode]int{ExcludedSharedSession: 10}}},
		{"A10 distinct activities in parallel both count", entries(one(
			rn("r1", "2025-03-05T10:00", 20, activity("call with patient")),
			entry("m1", RoleMA, "2025-03-05T10:00", 20, activity("pharmacy coordination")))),
			want{status: billable, lines: "99490×1 99439×1", counted: n(40)}},
		{"A10 count_each", func(f *Facts) {
			f.TimeEntries = one(rn("r1", "2025-03-05T10:00", 20, session("call-1")), entry("m1", RoleMA, "2025-03-05T10:00", 20, session("call-1")))
			f.Policy.SimultaneousStaff = CountEach
		}, want{status: billable, lines: "99490×1 99439×1", counted: n(40)}},
		{"A10 a shared session with the practitioner is the practitioner's time", entries(one(
			md("m1", "2025-03-05T10:00", 30, session("call-1")),
			rn("r1", "2025-03-05T10:00", 30, session("call-1")))),
			want{status: billable, lines: "99491×1", counted: n(30), pathway: PathwayPractitioner, excluded: map[ReasonCode]int{ExcludedSharedSession: 30}}},
		{"late entry flagged", entries(one(rn("r1", "2025-03-05T10:00", 20, recorded("2025-03-15T10:21")))),
			want{status: billable, lines: "99490×1", flags: []ReasonCode{FlagLateEntry}}},
		{"entry within the late window", entries(one(rn("r1", "2025-03-05T10:00", 20, recorded("2025-03-12T10:19")))),
			want{status: billable, lines: "99490×1"}},
		{"late window from policy", func(f *Facts) {
			f.TimeEntries = one(rn("r1", "2025-03-05T10:00", 20, recorded("2025-03-15T10:21")))
			f.Policy.LateEntryDays = 14
		}, want{status: billable, lines: "99490×1"}},
		{"T3 an entry wholly in another month is not this month's", entries(one(rn("r1", "2025-02-27T10:00", 30), rn("r2", "2025-04-01T00:00", 30), rn("r3", "2025-03-05T10:00", 20))),
			want{status: billable, lines: "99490×1", counted: n(20)}},
	})
}

// TestConsentAndVisits covers K1–K7, I1–I3 and A2, A11.
func TestConsentAndVisits(t *testing.T) {
	rev := func(s string) func(*Facts) {
		return func(f *Facts) { f.Consents[0].RevokedAt = at(s) }
	}
	runCases(t, []ruleCase{
		{"K1 no consent", func(f *Facts) { f.Consents = nil; f.TimeEntries = staffMinutes(30) },
			want{status: notBillable, reasons: []ReasonCode{ReasonNoConsent}, counted: n(30)}},
		{"K1 declined consent", func(f *Facts) { f.Consents[0].Decision = DecisionDeclined; f.TimeEntries = staffMinutes(30) },
			want{status: notBillable, reasons: []ReasonCode{ReasonNoConsent}}},
		{"K4 consent names another practitioner", func(f *Facts) { f.Consents[0].PractitionerNPI = drB; f.TimeEntries = staffMinutes(30) },
			want{status: notBillable, reasons: []ReasonCode{ReasonConsentOtherPractitioner}}},
		{"K4 consent obtained after the month", func(f *Facts) { f.Consents[0].ObtainedAt = at("2025-04-02T10:00"); f.TimeEntries = staffMinutes(30) },
			want{status: notBillable, reasons: []ReasonCode{ReasonNoConsent}}},
		{"K4 minutes before consent excluded", func(f *Facts) {
			f.Consents[0].ObtainedAt = at("2025-03-04T12:00")
			f.TimeEntries = one(rn("r1", "2025-03-04T11:50", 20), rn("r2", "2025-03-10T10:00", 15))
		}, want{status: billable, lines: "99490×1", counted: n(25), excluded: map[ReasonCode]int{ExcludedBeforeConsent: 10}}},
		{"K4 a CCM consent does not cover PCM under policy pcm_only", func(f *Facts) {
			f.TimeEntries = staffMinutes(30)
			pcmPatient(f)
			f.Policy.PCMConsent = PCMConsentOnly
		}, want{status: notBillable, reasons: []ReasonCode{ReasonNoConsent}, program: ProgramPCM}},
		{"K2 consent without the right to stop: hold with lines", func(f *Facts) {
			f.Consents[0].Disclosures = f.Consents[0].Disclosures[:2]
			f.TimeEntries = staffMinutes(30)
		}, want{status: onHold, lines: "99490×1", reasons: []ReasonCode{ReasonConsentElementsIncomplete}}},
		{"K2 consent without any disclosure", func(f *Facts) {
			f.Consents[0].Disclosures = nil
			f.TimeEntries = staffMinutes(30)
		}, want{status: onHold, lines: "99490×1", reasons: []ReasonCode{ReasonConsentElementsIncomplete}}},
		{"K7 A2 minutes after revocation excluded", func(f *Facts) {
			rev("2025-03-15T09:00")(f)
			f.TimeEntries = one(rn("r1", "2025-03-05T10:00", 25), rn("r2", "2025-03-15T08:50", 20))
		}, want{status: billable, lines: "99490×1", counted: n(35), excluded: map[ReasonCode]int{ExcludedAfterRevocation: 10}}},
		{"K7 A2 count_to_month_end", func(f *Facts) {
			rev("2025-03-15T09:00")(f)
			f.TimeEntries = one(rn("r1", "2025-03-05T10:00", 10), rn("r2", "2025-03-20T10:00", 10))
			f.Policy.AfterRevocation = CountToMonthEnd
		}, want{status: billable, lines: "99490×1", counted: n(20)}},
		{"K7 revoked before the month", func(f *Facts) { rev("2025-02-20T09:00")(f); f.TimeEntries = staffMinutes(30) },
			want{status: notBillable, reasons: []ReasonCode{ReasonNoConsent}}},
		{"K7 A2 count_to_month_end still ends with the revocation month", func(f *Facts) {
			rev("2025-02-20T09:00")(f)
			f.TimeEntries = staffMinutes(30)
			f.Policy.AfterRevocation = CountToMonthEnd
		}, want{status: notBillable, reasons: []ReasonCode{ReasonNoConsent}}},
		{"K7 a later decline ends the consent", func(f *Facts) {
			c := f.Consents[0]
			c.ID, c.Decision, c.ObtainedAt, c.EventID = "c-2", DecisionDeclined, at("2025-03-10T12:00"), "ev-decline"
			f.Consents = append(f.Consents, c)
			f.TimeEntries = one(rn("r1", "2025-03-05T10:00", 20), rn("r2", "2025-03-12T10:00", 20))
		}, want{status: billable, lines: "99490×1", counted: n(20), excluded: map[ReasonCode]int{ExcludedAfterRevocation: 20}}},
		{"K4 re-consent after a revocation", func(f *Facts) {
			rev("2025-02-01T09:00")(f)
			c := f.Consents[0]
			c.ID, c.RevokedAt, c.ObtainedAt, c.EventID = "c-2", time.Time{}, at("2025-03-10T09:00"), "ev-consent-2"
			f.Consents = append(f.Consents, c)
			f.TimeEntries = one(rn("r1", "2025-03-05T10:00", 20), rn("r2", "2025-03-12T10:00", 20))
		}, want{status: billable, lines: "99490×1", counted: n(20), excluded: map[ReasonCode]int{ExcludedAfterRevocation: 20}}},
		{"A11 once: an old consent still counts", func(f *Facts) { f.Consents[0].ObtainedAt = at("2023-01-10T10:00"); f.TimeEntries = staffMinutes(30) },
			want{status: billable, lines: "99490×1"}},
		{"A11 annual: an old consent no longer counts", func(f *Facts) {
			f.Consents[0].ObtainedAt = at("2024-02-10T10:00")
			f.TimeEntries = staffMinutes(30)
			f.Policy.ConsentRenewal = RenewAnnual
		}, want{status: notBillable, reasons: []ReasonCode{ReasonNoConsent}}},
		{"A11 annual: a consent within 12 months counts", func(f *Facts) {
			f.TimeEntries = staffMinutes(30)
			f.Policy.ConsentRenewal = RenewAnnual
		}, want{status: billable, lines: "99490×1"}},
		{"I1 seen within the year before CCM started", func(f *Facts) {
			f.Encounters[0].Start, f.Encounters[0].CCMDiscussed = at("2024-01-15T09:00"), false
			f.TimeEntries = staffMinutes(30)
		}, want{status: billable, lines: "99490×1"}},
		{"I1 no visit at all", func(f *Facts) { f.Encounters = nil; f.TimeEntries = staffMinutes(30) },
			want{status: notBillable, reasons: []ReasonCode{ReasonNoInitiatingVisit}}},
		{"I1 last visit more than a year before CCM started", func(f *Facts) {
			f.Encounters[0].Start = at("2023-11-02T09:00")
			f.TimeEntries = staffMinutes(30)
		}, want{status: notBillable, reasons: []ReasonCode{ReasonNoInitiatingVisit}}},
		{"I2 an initiating visit discussing CCM", func(f *Facts) {
			f.Encounters[0].Start = at("2023-11-02T09:00")
			f.Encounters = append(f.Encounters, Encounter{ID: "v-1", Kind: EncounterAnnualWellnessVisit, PractitionerNPI: drA, Start: at("2025-03-02T09:00"), CCMDiscussed: true})
			f.TimeEntries = staffMinutes(30)
		}, want{status: billable, lines: "99490×1"}},
		{"I2 a visit that did not discuss CCM does not initiate it", func(f *Facts) {
			f.Encounters = []Encounter{{ID: "v-1", Kind: EncounterOfficeVisit, PractitionerNPI: drA, Start: at("2025-03-02T09:00")}}
			f.TimeEntries = staffMinutes(30)
		}, want{status: notBillable, reasons: []ReasonCode{ReasonNoInitiatingVisit}}},
		{"I2 a visit by another practitioner does not count", func(f *Facts) {
			f.Encounters = []Encounter{{ID: "v-1", Kind: EncounterIPPE, PractitionerNPI: drB, Start: at("2024-12-01T09:00"), CCMDiscussed: true}}
			f.TimeEntries = staffMinutes(30)
		}, want{status: notBillable, reasons: []ReasonCode{ReasonNoInitiatingVisit}}},
		{"I3 a TCM face-to-face visit initiates CCM", func(f *Facts) {
			f.Encounters = []Encounter{{ID: "v-1", Kind: EncounterTCM, PractitionerNPI: drA, Start: at("2025-02-20T09:00"), CCMDiscussed: true}}
			f.TimeEntries = staffMinutes(30)
		}, want{status: billable, lines: "99490×1"}},
		{"I1 an inpatient stay is not a visit", func(f *Facts) {
			f.Encounters = []Encounter{{ID: "s-1", Kind: EncounterInpatientStay, PractitionerNPI: drA, Start: at("2024-12-01T09:00"), End: at("2024-12-03T09:00")}}
			f.TimeEntries = staffMinutes(30)
		}, want{status: notBillable, reasons: []ReasonCode{ReasonNoInitiatingVisit}}},
	})
}

// TestEligibilityAndCarePlan covers §1.1 eligibility, CP1, CP2, CP3 and the
// practitioner and death gates (A15).
func TestEligibilityAndCarePlan(t *testing.T) {
	runCases(t, []ruleCase{
		{"§1.1 C21: one chronic and one acute condition", func(f *Facts) {
			f.Conditions = []Condition{{Code: "I10", ExpectedDurationMonths: 12, SignificantRisk: true}, {Code: "J18.9", ExpectedDurationMonths: 1, SignificantRisk: true}}
			f.TimeEntries = staffMinutes(30)
		}, want{status: notBillable, reasons: []ReasonCode{ReasonInsufficientChronicConditions}}},
		{"§1.1 no significant risk", func(f *Facts) {
			f.Conditions[1].SignificantRisk, f.Conditions[2].SignificantRisk = false, false
			f.TimeEntries = staffMinutes(30)
		}, want{status: notBillable, reasons: []ReasonCode{ReasonInsufficientChronicConditions}}},
		{"§6.2 two codes of one disease are one condition", func(f *Facts) {
			f.Conditions = []Condition{{Code: "E11.9", ExpectedDurationMonths: 60, SignificantRisk: true}, {Code: "E11.65", ExpectedDurationMonths: 60, SignificantRisk: true}}
			f.TimeEntries = staffMinutes(30)
		}, want{status: notBillable, reasons: []ReasonCode{ReasonInsufficientChronicConditions}}},
		{"§1.1 a condition with onset after the month", func(f *Facts) {
			f.Conditions = f.Conditions[:2]
			f.Conditions[1].OnsetDate = date("2025-04-02")
			f.TimeEntries = staffMinutes(30)
		}, want{status: notBillable, reasons: []ReasonCode{ReasonInsufficientChronicConditions}}},
		{"§1.1 PCM needs one condition of ≥ 3 months", func(f *Facts) {
			f.TimeEntries = staffMinutes(30)
			pcmPatient(f)
			f.Conditions[0].ExpectedDurationMonths = 2
		}, want{status: notBillable, reasons: []ReasonCode{ReasonInsufficientChronicConditions}, program: ProgramPCM}},
		{"program: one condition and double-tagged time picks PCM", func(f *Facts) {
			f.Conditions = f.Conditions[:1]
			f.TimeEntries = one(rn("r1", "2025-03-05T10:00", 30, tags(ProgramPCM, ProgramCCM)))
		}, want{status: billable, lines: "99426×1", program: ProgramPCM}},
		{"program: PCM-tagged time picks PCM even for a CCM-eligible patient", func(f *Facts) {
			f.TimeEntries = one(rn("r1", "2025-03-05T10:00", 30, tags(ProgramPCM)))
		}, want{status: billable, lines: "99426×1", program: ProgramPCM}},
		{"program: a PCM consent alone picks PCM when tags do not decide", func(f *Facts) {
			f.Consents[0].Program = ProgramPCM
		}, want{status: notBillable, reasons: []ReasonCode{ReasonBelowThreshold}, program: ProgramPCM, pathway: PathwayPCMStaff}},
		{"program: forced CCM for a one-condition patient", func(f *Facts) {
			f.Conditions = f.Conditions[:1]
			f.Program = ProgramCCM
			f.TimeEntries = one(rn("r1", "2025-03-05T10:00", 30, tags(ProgramPCM, ProgramCCM)))
		}, want{status: notBillable, reasons: []ReasonCode{ReasonInsufficientChronicConditions}, program: ProgramCCM}},
		{"CP1 no care plan", func(f *Facts) { f.CarePlans = nil; f.TimeEntries = staffMinutes(30) },
			want{status: notBillable, reasons: []ReasonCode{ReasonNoCarePlan}}},
		{"CP1 care plan established after the month", func(f *Facts) {
			f.CarePlans[0].EstablishedAt = at("2025-04-01T00:00")
			f.TimeEntries = staffMinutes(30)
		}, want{status: notBillable, reasons: []ReasonCode{ReasonNoCarePlan}}},
		{"CP1 care plan established on the month's last day", func(f *Facts) {
			f.CarePlans[0].EstablishedAt = at("2025-03-31T23:59")
			f.TimeEntries = staffMinutes(30)
		}, want{status: billable, lines: "99490×1"}},
		{"CP1 CCM with only a disease-specific plan", func(f *Facts) {
			f.CarePlans[0].Kind = CarePlanDiseaseSpecific
			f.TimeEntries = staffMinutes(30)
		}, want{status: onHold, lines: "99490×1", reasons: []ReasonCode{ReasonCarePlanIncomplete}}},
		{"CP1 PCM with a disease-specific plan", func(f *Facts) {
			f.CarePlans[0].Kind = CarePlanDiseaseSpecific
			f.TimeEntries = staffMinutes(30)
			pcmPatient(f)
		}, want{status: billable, lines: "99426×1"}},
		{"CP2 care plan lacks an element", func(f *Facts) {
			f.CarePlans[0].MissingElements = []string{"measurable_treatment_goals"}
			f.TimeEntries = staffMinutes(30)
		}, want{status: onHold, lines: "99490×1", reasons: []ReasonCode{ReasonCarePlanIncomplete}}},
		{"CP3 care plan not electronic", func(f *Facts) {
			f.CarePlans[0].Electronic = false
			f.TimeEntries = staffMinutes(30)
		}, want{status: onHold, lines: "99490×1", reasons: []ReasonCode{ReasonCarePlanIncomplete}}},
		{"CP3 no copy given", func(f *Facts) {
			f.CarePlans[0].Copies = nil
			f.TimeEntries = staffMinutes(30)
		}, want{status: onHold, lines: "99490×1", reasons: []ReasonCode{ReasonCarePlanCopyNotProvided}}},
		{"hold reasons are reported with a below-threshold month", func(f *Facts) {
			f.CarePlans[0].Copies = nil
			f.TimeEntries = staffMinutes(10)
		}, want{status: notBillable, reasons: []ReasonCode{ReasonBelowThreshold, ReasonCarePlanCopyNotProvided}}},
		{"§1.1 a podiatrist cannot bill CCM", func(f *Facts) {
			f.BillingPractitioner.Kind = "podiatrist"
			f.TimeEntries = staffMinutes(30)
		}, want{status: notBillable, reasons: []ReasonCode{ReasonPractitionerNotEligible}}},
		{"§1.1 an NP bills CCM", func(f *Facts) {
			f.BillingPractitioner.Kind = KindNP
			f.TimeEntries = staffMinutes(30)
		}, want{status: billable, lines: "99490×1"}},
		{"A15 died before the month", func(f *Facts) { f.Patient.DeceasedDate = date("2025-02-27") },
			want{status: notBillable, reasons: []ReasonCode{ReasonPatientDeceased}}},
		{"A15 C19: threshold met before death, DOS is the date of death", func(f *Facts) {
			f.Patient.DeceasedDate = date("2025-03-18")
			f.TimeEntries = one(rn("r1", "2025-03-06T10:00", 25), rn("r2", "2025-03-19T10:00", 10))
		}, want{status: billable, lines: "99490×1", dos: "2025-03-18", counted: n(25), excluded: map[ReasonCode]int{ExcludedAfterDeath: 10}}},
		{"A15 minutes on the date of death count", func(f *Facts) {
			f.Patient.DeceasedDate = date("2025-03-18")
			f.TimeEntries = one(rn("r1", "2025-03-18T23:30", 40))
		}, want{status: billable, lines: "99490×1", counted: n(30), excluded: map[ReasonCode]int{ExcludedAfterDeath: 10}}},
		{"A15 every minute after death", func(f *Facts) {
			f.Patient.DeceasedDate = date("2025-03-02")
			f.TimeEntries = staffMinutes(30)
		}, want{status: notBillable, reasons: []ReasonCode{ReasonPatientDeceased}, counted: n(0), excluded: map[ReasonCode]int{ExcludedAfterDeath: 30}}},
		{"A15 policy not_billable", func(f *Facts) {
			f.Patient.DeceasedDate = date("2025-03-28")
			f.TimeEntries = staffMinutes(30)
			f.Policy.DeathInMonth = NotBillable
		}, want{status: notBillable, reasons: []ReasonCode{ReasonPatientDeceased}}},
	})
}

// TestDateOfService covers T9 and A8.
func TestDateOfService(t *testing.T) {
	es := one(rn("r1", "2025-03-03T10:00", 10), rn("r2", "2025-03-05T23:55", 10), rn("r3", "2025-03-20T10:00", 10))
	for _, c := range []struct{ policy, want string }{
		{"", "2025-03-31"},
		{DOSMonthEnd, "2025-03-31"},
		{DOSMonthStart, "2025-03-01"},
		{DOSThresholdMet, "2025-03-06"},
	} {
		t.Run("A8 "+c.policy, func(t *testing.T) {
			f := baseFacts()
			f.TimeEntries = es
			f.Policy.DateOfService = c.policy
			checkEvaluation(t, Evaluate(f), want{status: billable, lines: "99490×1", dos: c.want})
		})
	}
}

// TestBilledMonth covers the billed status and post_close_change.
func TestBilledMonth(t *testing.T) {
	runCases(t, []ruleCase{
		{"billed month, unchanged", func(f *Facts) {
			f.TimeEntries = staffMinutes(30)
			f.Billed = &BilledMonth{BatchID: "b-1", Lines: []Line{{Code: "99490", Units: 1}}}
		}, want{status: StatusBilled, lines: "99490×1"}},
		{"billed month changed by a later fact", func(f *Facts) {
			f.TimeEntries = staffMinutes(45)
			f.Billed = &BilledMonth{BatchID: "b-1", Lines: []Line{{Code: "99490", Units: 1}}}
		}, want{status: StatusBilled, lines: "99490×1 99439×1", flags: []ReasonCode{FlagPostCloseChange}}},
		{"billed month now not billable", func(f *Facts) {
			f.TimeEntries = staffMinutes(30)
			f.Consents = nil
			f.Billed = &BilledMonth{BatchID: "b-1", Lines: []Line{{Code: "99490", Units: 1}}}
		}, want{status: StatusBilled, reasons: []ReasonCode{ReasonNoConsent}, flags: []ReasonCode{FlagPostCloseChange}}},
	})
}

// TestPCMSupervision covers A12's supervision setting.
func TestPCMSupervision(t *testing.T) {
	runCases(t, []ruleCase{
		{"A12 general supervision (default)", func(f *Facts) { f.TimeEntries = staffMinutes(30); pcmPatient(f) },
			want{status: billable, lines: "99426×1"}},
		{"A12 direct supervision required", func(f *Facts) {
			f.TimeEntries = one(rn("r1", "2025-03-05T10:00", 20), rn("r2", "2025-03-06T10:00", 20, directlySupervised()))
			pcmPatient(f)
			f.Policy.PCMSupervision = SupervisionDirect
		}, want{status: notBillable, reasons: []ReasonCode{ReasonBelowThreshold}, counted: n(20), excluded: map[ReasonCode]int{ExcludedSupervisionNotMet: 20}}},
		{"A12 direct supervision does not affect CCM", func(f *Facts) {
			f.TimeEntries = staffMinutes(30)
			f.Policy.PCMSupervision = SupervisionDirect
		}, want{status: billable, lines: "99490×1"}},
	})
}

func TestEvaluationShape(t *testing.T) {
	f := baseFacts()
	f.TimeEntries = append(staffMinutes(45), entry("f1", RoleFrontDesk, "2025-03-20T10:00", 5))
	ev := Evaluate(f)
	if ev.RuleSetVersion != RuleSetVersion || ev.PatientID != "p-1" || ev.Month != "2025-03" {
		t.Errorf("header: got %q %q %q, want %q p-1 2025-03", ev.RuleSetVersion, ev.PatientID, ev.Month, RuleSetVersion)
	}
	if len(ev.Lines) != 2 {
		t.Fatalf("lines: got %d, want 2", len(ev.Lines))
	}
	l := ev.Lines[0]
	if l.PractitionerNPI != drA || l.DateOfService != "2025-03-31" {
		t.Errorf("line: got npi %s dos %s, want %s 2025-03-31", l.PractitionerNPI, l.DateOfService, drA)
	}
	if got, want := len(l.Diagnoses), 3; got != want || l.Diagnoses[0] != "I50.22" {
		t.Errorf("diagnoses: got %v, want the 3 qualifying codes", l.Diagnoses)
	}
	wantEvidence := []string{"ev-consent", "ev-plan", "ev-copy", "ev-s03", "ev-s04"}
	if len(l.Evidence) != len(wantEvidence) {
		t.Fatalf("evidence: got %v, want %v", l.Evidence, wantEvidence)
	}
	for i := range wantEvidence {
		if l.Evidence[i] != wantEvidence[i] {
			t.Errorf("evidence: got %v, want %v", l.Evidence, wantEvidence)
			break
		}
	}
	if ev.UnbilledMinutes != 5 {
		t.Errorf("unbilledMinutes: got %d, want 5", ev.UnbilledMinutes)
	}
	if len(ev.Excluded) != 1 || ev.Excluded[0] != (Excluded{EntryID: "f1", Minutes: 5, Code: ExcludedNonClinicalStaff}) {
		t.Errorf("excluded: got %v, want [{f1 5 non_clinical_staff}]", ev.Excluded)
	}
	below := Evaluate(baseFacts())
	if r := below.Reasons[0]; r.Minutes == nil || *r.Minutes != 0 || r.Needed == nil || *r.Needed != 20 {
		t.Errorf("below_threshold numbers: got %+v, want minutes 0 needed 20", r)
	}
}

func TestComplexEvidenceIncludesMDM(t *testing.T) {
	f := baseFacts()
	f.TimeEntries = staffMinutes(60)
	f.Complexity = []ComplexityDecision{complexMDM(MDMHigh, drA)}
	ev := Evaluate(f)
	if !contains(ev.Lines[0].Evidence, "ev-mdm") {
		t.Errorf("evidence: got %v, want it to include ev-mdm", ev.Lines[0].Evidence)
	}
}
