package rules

import (
	"testing"
	"time"
)

// Review tests for ccm-rules.md §2 (X1–X12), §4 (K1–K7, I1–I4), §5 (CP1,
// CP3) and the §8 defaults that touch them, written against the document
// by a second reader. Each case cites the rule it checks.

// excCase is a ruleCase whose flags may be left unchecked (flags never
// change the status; some cases are about minutes and lines only).
type excCase struct {
	name        string
	setup       func(f *Facts)
	want        want
	ignoreFlags bool
}

func runExc(t *testing.T, cases []excCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := baseFacts()
			c.setup(&f)
			ev := Evaluate(f)
			if c.ignoreFlags {
				ev.Flags = nil
			}
			checkEvaluation(t, ev, c.want)
		})
	}
}

// excClaim is an external claim of an arbitrary service month.
func excClaim(code, npi, month string) ExternalClaim {
	return ExternalClaim{Code: code, PractitionerNPI: npi, ServiceMonth: MustMonth(month), EventID: "ev-claim-" + code}
}

// excIn is factsIn(month) with the entries and claims given.
func excIn(month string, setup func(f *Facts)) func(*Facts) {
	return func(f *Facts) {
		*f = factsIn(month)
		setup(f)
	}
}

// excNewPatient drops the visit in which CCM started (no visit with the
// billing practitioner within the year before CCM starts, I1) and moves the
// consent to consentAt.
func excNewPatient(f *Facts, consentAt string) {
	f.Encounters = nil
	f.Consents[0].ObtainedAt = at(consentAt)
}

func TestExcSameMonthExclusions(t *testing.T) {
	staff30 := func(cs ...ExternalClaim) func(*Facts) {
		return func(f *Facts) { f.TimeEntries = staffMinutes(30); f.ExternalClaims = cs }
	}
	status := func(c ExternalClaim, s string) ExternalClaim { c.Status = s; return c }
	runExc(t, []excCase{
		// X1: complex and non-complex never in one month: a complex month
		// (high MDM, 70 minutes) where the same practitioner already billed
		// 99490 is not billable. The document has no reason code for the
		// same practitioner's own duplicate; the engine reports its added
		// duplicate_claim (codes.go, X3 same practitioner).
		{name: "X1 complex month with 99490 already billed by the same practitioner", setup: func(f *Facts) {
			f.TimeEntries = staffMinutes(70)
			f.Complexity = []ComplexityDecision{complexMDM(MDMHigh, drA)}
			f.ExternalClaims = []ExternalClaim{claim("99490", drA)}
		}, want: want{status: notBillable, reasons: []ReasonCode{ReasonDuplicateClaim}}},
		// X2 + X3: the practitioner's own 45 minutes (99491 pathway) when
		// another practitioner billed 99490.
		{name: "X2/X3 99491 month with 99490 billed by another practitioner", setup: func(f *Facts) {
			f.TimeEntries = mdMinutes(45)
			f.ExternalClaims = []ExternalClaim{claim("99490", drB)}
		}, want: want{status: notBillable, reasons: []ReasonCode{ReasonBilledByOtherPractitioner}}},
		// X3: 99491 by another practitioner blocks our staff-path 99490.
		{name: "X3 99491 billed by another practitioner", setup: staff30(claim("99491", drB)),
			want: want{status: notBillable, reasons: []ReasonCode{ReasonBilledByOtherPractitioner}}},
		// X3: a voided claim of another practitioner is no claim.
		{name: "X3 voided claim by another practitioner does not count", setup: staff30(status(claim("99490", drB), "void")),
			want: want{status: billable, lines: "99490×1"}},
		// X4: PCM by the physician personally (99424), same practitioner.
		{name: "X4 99424 by the same practitioner", setup: staff30(claim("99424", drA)),
			want: want{status: notBillable, reasons: []ReasonCode{ReasonCCMAndPCMSamePractitioner}}},
		// X4: the 2020–2021 PCM G-code by the same practitioner.
		{name: "X4 G2065 by the same practitioner in 2021", setup: excIn("2021-06", func(f *Facts) {
			f.TimeEntries = staffIn("2021-06", 30)
			f.ExternalClaims = []ExternalClaim{excClaim("G2065", drA, "2021-06")}
		}), want: want{status: notBillable, reasons: []ReasonCode{ReasonCCMAndPCMSamePractitioner}}},
		// X4: a PCM month where the same practitioner billed 99491.
		{name: "X4 PCM month with 99491 by the same practitioner", setup: func(f *Facts) {
			staff30(claim("99491", drA))(f)
			pcmPatient(f)
		}, want: want{status: notBillable, reasons: []ReasonCode{ReasonCCMAndPCMSamePractitioner}, program: ProgramPCM}},
		// X5 (since 2020) + T7: TCM by the same practitioner (its
		// face-to-face visit recorded as a TCM encounter, 99496); TCM-tagged
		// minutes do not count for CCM.
		{name: "X5 TCM 99496 visit by the same practitioner, TCM minutes kept apart", setup: func(f *Facts) {
			f.Encounters = append(f.Encounters, Encounter{ID: "tcm", Kind: EncounterTCM, Code: "99496", PractitionerNPI: drA,
				Start: at("2025-03-10T09:00"), End: at("2025-03-10T09:30"), EventID: "ev-tcm"})
			f.TimeEntries = one(rn("r1", "2025-03-04T10:00", 15, tags(ProgramTCM)), rn("r2", "2025-03-20T10:00", 20))
		}, want: want{status: billable, lines: "99490×1", counted: n(20), excluded: map[ReasonCode]int{ExcludedCountedForOtherProgram: 15}}},
		// X5: TCM by another practitioner, external claim.
		{name: "X5 TCM 99495 by another practitioner", setup: staff30(claim("99495", drB)),
			want: want{status: billable, lines: "99490×1"}},
		// X5: "Before 2020 this was an exclusion" (same practitioner).
		{name: "X5 2019 TCM claim by the same practitioner", setup: excIn("2019-06", func(f *Facts) {
			f.TimeEntries = staffIn("2019-06", 30)
			f.ExternalClaims = []ExternalClaim{excClaim("99495", drA, "2019-06")}
		}), want: want{status: notBillable, reasons: []ReasonCode{ReasonOverlappingServiceExclusion}}},
		{name: "X5 2019 TCM visit by the same practitioner", setup: excIn("2019-06", func(f *Facts) {
			f.TimeEntries = staffIn("2019-06", 30)
			f.Encounters = append(f.Encounters, Encounter{ID: "tcm", Kind: EncounterTCM, Code: "99496", PractitionerNPI: drA,
				Start: time.Date(2019, 6, 20, 9, 0, 0, 0, ny), End: time.Date(2019, 6, 20, 9, 30, 0, 0, ny), EventID: "ev-tcm"})
		}), want: want{status: notBillable, reasons: []ReasonCode{ReasonOverlappingServiceExclusion}}},
		{name: "X5 2019 TCM claim by another practitioner", setup: excIn("2019-06", func(f *Facts) {
			f.TimeEntries = staffIn("2019-06", 30)
			f.ExternalClaims = []ExternalClaim{excClaim("99495", drB, "2019-06")}
		}), want: want{status: billable, lines: "99490×1"}},
		// X6 + T7: RPM billed; RPM-only and RPM/CCM double-tagged minutes go
		// to RPM (C33 note: an entry carries only one of RPM/CCM).
		{name: "X6 RPM claims, RPM and double-tagged minutes not counted for CCM", setup: func(f *Facts) {
			f.ExternalClaims = []ExternalClaim{claim("99457", drA), claim("99458", drA), claim("99454", drA)}
			f.TimeEntries = one(
				rn("r1", "2025-03-05T10:00", 20, tags(ProgramRPM)),
				rn("r2", "2025-03-06T10:00", 10, tags(ProgramRPM, ProgramCCM)),
				rn("r3", "2025-03-20T10:00", 20))
		}, want: want{status: billable, lines: "99490×1", counted: n(20), excluded: map[ReasonCode]int{ExcludedCountedForOtherProgram: 30}}},
		// X7: CoCM by the same practitioner; BHI minutes kept apart.
		{name: "X7 CoCM 99492 by the same practitioner", setup: func(f *Facts) {
			f.ExternalClaims = []ExternalClaim{claim("99492", drA)}
			f.TimeEntries = one(rn("r1", "2025-03-05T10:00", 30, tags(ProgramBHI)), rn("r2", "2025-03-20T10:00", 25))
		}, want: want{status: billable, lines: "99490×1", counted: n(25), excluded: map[ReasonCode]int{ExcludedCountedForOtherProgram: 30}}},
		// X8 / A1 default (block same practitioner, allow others).
		{name: "X8 hospice CPO G0182 by another practitioner", setup: staff30(claim("G0182", drB)),
			want: want{status: billable, lines: "99490×1"}},
		{name: "X8 ESRD 90966 by the same practitioner", setup: staff30(claim("90966", drA)),
			want: want{status: notBillable, reasons: []ReasonCode{ReasonOverlappingServiceExclusion}}},
		{name: "X8 denied G0181 by the same practitioner does not count", setup: staff30(status(claim("G0181", drA), "denied")),
			want: want{status: billable, lines: "99490×1"}},
		{name: "X8 G0181 by the same practitioner in another month", setup: staff30(excClaim("G0181", drA, "2025-02")),
			want: want{status: billable, lines: "99490×1"}},
		{name: "X8 A1 allow: ESRD 90966 by the same practitioner", setup: func(f *Facts) {
			staff30(claim("90966", drA))(f)
			f.Policy.CPOAndESRDOverlap = Allow
		}, want: want{status: billable, lines: "99490×1"}},
		// X8 + X9 both reported.
		{name: "X9 APCM G0556 and X8 G0182 by the same practitioner", setup: staff30(claim("G0556", drA), claim("G0182", drA)),
			want: want{status: notBillable, reasons: []ReasonCode{ReasonBundledInAPCM, ReasonOverlappingServiceExclusion}}},
		// X8 with a hold: the gate wins, the hold is still reported.
		{name: "X8 with CP3 copy missing", setup: func(f *Facts) {
			staff30(claim("G0181", drA))(f)
			f.CarePlans[0].Copies = nil
		}, want: want{status: notBillable, reasons: []ReasonCode{ReasonOverlappingServiceExclusion, ReasonCarePlanCopyNotProvided}}},
	})
}

func TestExcVisitsAndStays(t *testing.T) {
	visit := func(day string, timeBased bool) Encounter {
		return Encounter{ID: "v-1", Kind: EncounterOfficeVisit, PractitionerNPI: drA, Start: at(day + "T09:00"), End: at(day + "T09:30"),
			TimeBased: timeBased, EventID: "ev-v-1"}
	}
	runExc(t, []excCase{
		// X10 / T8 / A5: staff minutes overlapping the billed E/M are
		// excluded; the rest of that day counts and is flagged.
		{name: "X10 staff minutes partly inside a same-day E/M", setup: func(f *Facts) {
			f.Encounters = append(f.Encounters, visit("2025-03-05", false))
			f.TimeEntries = one(rn("r1", "2025-03-05T09:15", 30), rn("r2", "2025-03-12T10:00", 10))
		}, want: want{status: billable, lines: "99490×1", counted: n(25), excluded: map[ReasonCode]int{ExcludedDuringBilledVisit: 15},
			flags: []ReasonCode{FlagSameDayAsVisit}}},
		// X10 "Since 2021, office E/M time includes the practitioner's
		// non-face-to-face time on the date of the encounter." In 2020 the
		// practitioner's later, separate CCM time on the date of a
		// time-based E/M was not E/M time, so it counts: 35 practitioner
		// minutes → 99491 ×1 (no 99437 before 2022).
		{name: "X10 2020 practitioner time later on the date of a time-based E/M counts", setup: excIn("2020-06", func(f *Facts) {
			f.Encounters = append(f.Encounters, Encounter{ID: "v-1", Kind: EncounterOfficeVisit, PractitionerNPI: drA,
				Start: time.Date(2020, 6, 5, 9, 0, 0, 0, ny), End: time.Date(2020, 6, 5, 9, 30, 0, 0, ny), TimeBased: true, EventID: "ev-v-1"})
			f.TimeEntries = one(md("m1", "2020-06-05T17:00", 20), md("m2", "2020-06-06T17:00", 15))
		}), want: want{status: billable, lines: "99491×1", counted: n(35), pathway: PathwayPractitioner}, ignoreFlags: true},
		// X10 from 2021 on: the same facts exclude the same-day minutes.
		{name: "X10 2021 practitioner time on the date of a time-based E/M is E/M time", setup: excIn("2021-06", func(f *Facts) {
			f.Encounters = append(f.Encounters, Encounter{ID: "v-1", Kind: EncounterOfficeVisit, PractitionerNPI: drA,
				Start: time.Date(2021, 6, 4, 9, 0, 0, 0, ny), End: time.Date(2021, 6, 4, 9, 30, 0, 0, ny), TimeBased: true, EventID: "ev-v-1"})
			f.TimeEntries = one(md("m1", "2021-06-04T17:00", 20), md("m2", "2021-06-07T17:00", 30))
		}), want: want{status: billable, lines: "99491×1", counted: n(30), excluded: map[ReasonCode]int{ExcludedDuringBilledVisit: 20}}},
		// X11 / I4: first month of CCM for a new patient: AWV initiating
		// visit with G0506 by the billing practitioner; the G0506
		// care-planning time is not counted again, later CCM time is.
		{name: "X11 G0506 care planning in the first month is not CCM time", setup: func(f *Facts) {
			excNewPatient(f, "2025-03-03T09:20")
			f.Encounters = []Encounter{{ID: "awv", Kind: EncounterAnnualWellnessVisit, Code: "G0439", PractitionerNPI: drA,
				Start: at("2025-03-03T09:00"), End: at("2025-03-03T09:40"), CCMDiscussed: true, G0506: true, EventID: "ev-awv"}}
			f.CarePlans[0].EstablishedAt = at("2025-03-03T11:00")
			f.CarePlans[0].Copies[0].ProvidedAt = at("2025-03-03T12:00")
			f.TimeEntries = one(md("m1", "2025-03-03T10:00", 30, tags(ProgramG0506)), rn("r1", "2025-03-10T10:00", 20))
		}, want: want{status: billable, lines: "99490×1", counted: n(20), excluded: map[ReasonCode]int{ExcludedCountedForOtherProgram: 30}}},
		// X12 / A6: inpatient from the first day, still in at month end.
		{name: "X12 inpatient all month", setup: func(f *Facts) {
			f.Encounters = append(f.Encounters, Encounter{ID: "stay", Kind: EncounterInpatientStay, Start: at("2025-02-27T10:00"), EventID: "ev-stay"})
			f.TimeEntries = staffMinutes(30)
		}, want: want{status: notBillable, reasons: []ReasonCode{ReasonBelowThreshold}, counted: n(0), excluded: map[ReasonCode]int{ExcludedInpatientStay: 30}}},
		// X12: "time outside the stay counts" (SNF Part A days 03-05..03-19).
		{name: "X12 SNF stay mid-month, time outside it counts", setup: func(f *Facts) {
			f.Encounters = append(f.Encounters, Encounter{ID: "stay", Kind: EncounterSNFStay, Start: at("2025-03-05T12:00"), End: at("2025-03-20T10:00"), EventID: "ev-stay"})
			f.TimeEntries = one(rn("r1", "2025-03-04T10:00", 15), rn("r2", "2025-03-10T10:00", 20), rn("r3", "2025-03-20T14:00", 10))
		}, want: want{status: billable, lines: "99490×1", counted: n(25), excluded: map[ReasonCode]int{ExcludedInpatientStay: 20}}},
		// A6 "count": the same whole-month stay does not exclude.
		{name: "A6 count: inpatient all month", setup: func(f *Facts) {
			f.Encounters = append(f.Encounters, Encounter{ID: "stay", Kind: EncounterInpatientStay, Start: at("2025-02-27T10:00"), EventID: "ev-stay"})
			f.TimeEntries = staffMinutes(30)
			f.Policy.InpatientDays = Count
		}, want: want{status: billable, lines: "99490×1", counted: n(30)}},
	})
}

func TestExcConsent(t *testing.T) {
	all := []string{DisclosureAvailabilityAndCostSharing, DisclosureOnePractitionerPerMonth, DisclosureRightToStop}
	runExc(t, []excCase{
		// K1: written consent is as good as verbal.
		{name: "K1 written consent", setup: func(f *Facts) {
			f.Consents[0].Method = MethodWritten
			f.TimeEntries = staffMinutes(30)
		}, want: want{status: billable, lines: "99490×1"}},
		// K2 (b) missing: hold with lines.
		{name: "K2 consent without the one-practitioner disclosure", setup: func(f *Facts) {
			f.Consents[0].Disclosures = []string{DisclosureAvailabilityAndCostSharing, DisclosureRightToStop}
			f.TimeEntries = staffMinutes(45)
		}, want: want{status: onHold, lines: "99490×1 99439×1", reasons: []ReasonCode{ReasonConsentElementsIncomplete}}},
		// K2 (a) missing and too few minutes: not billable, both reported.
		{name: "K2 consent without cost sharing, below threshold", setup: func(f *Facts) {
			f.Consents[0].Disclosures = []string{DisclosureOnePractitionerPerMonth, DisclosureRightToStop}
			f.TimeEntries = staffMinutes(10)
		}, want: want{status: notBillable, reasons: []ReasonCode{ReasonBelowThreshold, ReasonConsentElementsIncomplete}}},
		// K3: the electronic-sharing authorization is optional since 2017.
		{name: "K3 electronic sharing not required in 2025", setup: func(f *Facts) {
			f.Consents[0].Disclosures = all
			f.TimeEntries = staffMinutes(30)
		}, want: want{status: billable, lines: "99490×1"}},
		// K4: consent obtained mid-month; earlier minutes do not count.
		{name: "K4 consent mid-month", setup: func(f *Facts) {
			f.Consents[0].ObtainedAt = at("2025-03-10T12:00")
			f.TimeEntries = one(rn("r1", "2025-03-05T10:00", 15), rn("r2", "2025-03-12T10:00", 25))
		}, want: want{status: billable, lines: "99490×1", counted: n(25), excluded: map[ReasonCode]int{ExcludedBeforeConsent: 15}}},
		// K4 "Timing: before CCM services start"; reason-codes.md:
		// no_consent = "no accepted consent for the program on file before
		// the service". Every minute of the month precedes the consent, so
		// there was no consent before any service: no_consent, not
		// below_threshold (as every minute after death is patient_deceased).
		{name: "K4 consent obtained after all of the month's work", setup: func(f *Facts) {
			f.Consents[0].ObtainedAt = at("2025-03-25T10:00")
			f.TimeEntries = staffMinutes(30)
		}, want: want{status: notBillable, reasons: []ReasonCode{ReasonNoConsent}, counted: n(0), excluded: map[ReasonCode]int{ExcludedBeforeConsent: 30}}},
		// K4: the patient changes billing practitioner; the new one (drB)
		// has its own consent, obtained mid-month at an initiating visit.
		{name: "K4 new billing practitioner with a new consent", setup: func(f *Facts) {
			f.BillingPractitioner.NPI = drB
			f.Consents = append(f.Consents, Consent{ID: "c-b", Program: ProgramCCM, PractitionerNPI: drB, Method: MethodWritten,
				Decision: DecisionAccepted, ObtainedAt: at("2025-03-10T09:30"), ObtainedBy: "rn-2", Disclosures: all, EventID: "ev-consent-b"})
			f.Encounters = append(f.Encounters, Encounter{ID: "v-b", Kind: EncounterOfficeVisit, PractitionerNPI: drB,
				Start: at("2025-03-10T09:00"), End: at("2025-03-10T09:25"), CCMDiscussed: true, EventID: "ev-v-b"})
			f.TimeEntries = one(rn("r1", "2025-03-05T10:00", 10), rn("r2", "2025-03-12T10:00", 25))
		}, want: want{status: billable, lines: "99490×1", counted: n(25), excluded: map[ReasonCode]int{ExcludedBeforeConsent: 10}}},
		// K4 + X3: the new practitioner's consent does not help when the
		// old one already billed the month.
		{name: "K4/X3 new practitioner, old practitioner billed the month", setup: func(f *Facts) {
			f.BillingPractitioner.NPI = drB
			f.Consents = append(f.Consents, Consent{ID: "c-b", Program: ProgramCCM, PractitionerNPI: drB, Method: MethodVerbal,
				Decision: DecisionAccepted, ObtainedAt: at("2025-02-10T09:30"), ObtainedBy: "rn-2", Disclosures: all, EventID: "ev-consent-b"})
			f.Encounters = append(f.Encounters, Encounter{ID: "v-b", Kind: EncounterOfficeVisit, PractitionerNPI: drB,
				Start: at("2025-02-10T09:00"), End: at("2025-02-10T09:25"), CCMDiscussed: true, EventID: "ev-v-b"})
			f.ExternalClaims = []ExternalClaim{claim("99490", drA)}
			f.TimeEntries = staffMinutes(30)
		}, want: want{status: notBillable, reasons: []ReasonCode{ReasonBilledByOtherPractitioner}}},
		// K4: consent for PCM only does not cover a CCM month.
		{name: "K4 consent for another program", setup: func(f *Facts) {
			f.Consents[0].Program = ProgramPCM
			f.TimeEntries = staffMinutes(30)
		}, want: want{status: notBillable, reasons: []ReasonCode{ReasonNoConsent}}},
		// K5: during the PHE consent could be obtained when services were
		// first furnished (same day).
		{name: "K5 PHE 2021: consent later the same day", setup: excIn("2021-06", func(f *Facts) {
			f.Consents[0].ObtainedAt = time.Date(2021, 6, 10, 15, 0, 0, 0, ny)
			f.TimeEntries = one(rn("r1", "2021-06-10T09:00", 20))
		}), want: want{status: billable, lines: "99490×1", counted: n(20)}},
		// K5: expired with the PHE: in 2024 the same facts exclude the time.
		{name: "K5 after the PHE: consent later the same day", setup: excIn("2024-06", func(f *Facts) {
			f.Consents[0].ObtainedAt = time.Date(2024, 6, 10, 15, 0, 0, 0, ny)
			f.TimeEntries = one(rn("r1", "2024-06-10T09:00", 20), rn("r2", "2024-06-12T09:00", 10))
		}), want: want{status: notBillable, reasons: []ReasonCode{ReasonBelowThreshold}, counted: n(10), excluded: map[ReasonCode]int{ExcludedBeforeConsent: 20}}},
		// K5 "treated as expired with the PHE (11 May 2023)": 11 May 2023 is
		// still a PHE day in the practice's time zone, also after 20:00 in
		// New York (midnight UTC).
		{name: "K5 last PHE day, consent in the evening (local time)", setup: excIn("2023-05", func(f *Facts) {
			f.Consents[0].ObtainedAt = time.Date(2023, 5, 11, 21, 0, 0, 0, ny)
			f.TimeEntries = one(rn("r1", "2023-05-11T09:00", 20))
		}), want: want{status: billable, lines: "99490×1", counted: n(20)}},
		// K7 / A2 default: revoked before any of the month's work. Every
		// minute falls after the revocation; the month is not billable.
		// (The document gives no month-level reason for this; the engine's
		// below_threshold with after_revocation minutes is consistent with
		// the reason-codes table, see the report.)
		{name: "K7 revoked before any activity in the month", setup: func(f *Facts) {
			f.Consents[0].RevokedAt = at("2025-03-02T09:00")
			f.TimeEntries = staffMinutes(30)
		}, want: want{status: notBillable, reasons: []ReasonCode{ReasonBelowThreshold}, counted: n(0), excluded: map[ReasonCode]int{ExcludedAfterRevocation: 30}}},
		// K7 / K4: revoked, then a new consent the same month; the gap does
		// not count.
		{name: "K7 revoked and re-consented within the month", setup: func(f *Facts) {
			f.Consents[0].RevokedAt = at("2025-03-10T09:00")
			c := f.Consents[0]
			c.ID, c.RevokedAt, c.ObtainedAt, c.EventID = "c-2", time.Time{}, at("2025-03-20T09:00"), "ev-consent-2"
			f.Consents = append(f.Consents, c)
			f.TimeEntries = one(rn("r1", "2025-03-05T10:00", 15), rn("r2", "2025-03-15T10:00", 10), rn("r3", "2025-03-25T10:00", 10))
		}, want: want{status: billable, lines: "99490×1", counted: n(25), excluded: map[ReasonCode]int{ExcludedAfterRevocation: 10}}},
		// K7 / A2 count_to_month_end: revocation effective at month end.
		{name: "K7 A2 count_to_month_end: revoked before any activity", setup: func(f *Facts) {
			f.Consents[0].RevokedAt = at("2025-03-02T09:00")
			f.TimeEntries = staffMinutes(30)
			f.Policy.AfterRevocation = CountToMonthEnd
		}, want: want{status: billable, lines: "99490×1", counted: n(30)}},
		// K7: the month after a revocation has no active consent (C23).
		{name: "K7 the month after the revocation", setup: excIn("2025-04", func(f *Facts) {
			f.Consents[0].RevokedAt = at("2025-03-15T09:00")
			f.Consents[0].ObtainedAt = at("2024-12-10T10:30")
			f.TimeEntries = staffIn("2025-04", 30)
		}), want: want{status: notBillable, reasons: []ReasonCode{ReasonNoConsent}}},
		// A11 default: no forced annual re-consent (a 2019 consent holds).
		{name: "A11 once: consent from 2019", setup: func(f *Facts) {
			f.Consents[0].ObtainedAt = at("2019-05-02T10:00")
			f.Encounters[0].Start = at("2019-04-20T09:00")
			f.Encounters[0].End = at("2019-04-20T09:30")
			f.TimeEntries = staffMinutes(30)
		}, want: want{status: billable, lines: "99490×1"}},
	})
}

func TestExcInitiatingVisit(t *testing.T) {
	runExc(t, []excCase{
		// I1: seen by the billing practitioner 362 days before CCM starts:
		// no initiating visit needed.
		{name: "I1 last visit just within the year", setup: func(f *Facts) {
			excNewPatient(f, "2025-03-02T10:00")
			f.Encounters = []Encounter{{ID: "v-0", Kind: EncounterOfficeVisit, PractitionerNPI: drA, Start: at("2024-03-05T09:00"), End: at("2024-03-05T09:30"), EventID: "ev-v-0"}}
			f.TimeEntries = staffMinutes(30)
		}, want: want{status: billable, lines: "99490×1"}},
		// I1: last seen a year and a day before CCM starts.
		{name: "I1 last visit just outside the year", setup: func(f *Facts) {
			excNewPatient(f, "2025-03-02T10:00")
			f.Encounters = []Encounter{{ID: "v-0", Kind: EncounterOfficeVisit, PractitionerNPI: drA, Start: at("2024-03-01T09:00"), End: at("2024-03-01T09:30"), CCMDiscussed: true, EventID: "ev-v-0"}}
			f.TimeEntries = staffMinutes(30)
		}, want: want{status: notBillable, reasons: []ReasonCode{ReasonNoInitiatingVisit}}},
		// I1: an IPPE initiating visit by the billing practitioner.
		{name: "I1 new patient, IPPE initiating visit discussing CCM", setup: func(f *Facts) {
			excNewPatient(f, "2025-03-03T10:00")
			f.Encounters = []Encounter{{ID: "ippe", Kind: EncounterIPPE, Code: "G0402", PractitionerNPI: drA, Start: at("2025-03-03T09:00"), End: at("2025-03-03T09:45"), CCMDiscussed: true, EventID: "ev-ippe"}}
			f.TimeEntries = one(rn("r1", "2025-03-10T10:00", 30))
		}, want: want{status: billable, lines: "99490×1"}},
		// I1: the initiating visit after the month does not make this month
		// billable.
		{name: "I1 initiating visit only after the month", setup: func(f *Facts) {
			excNewPatient(f, "2025-03-03T10:00")
			f.Encounters = []Encounter{{ID: "awv", Kind: EncounterAnnualWellnessVisit, PractitionerNPI: drA, Start: at("2025-04-02T09:00"), End: at("2025-04-02T09:45"), CCMDiscussed: true, EventID: "ev-awv"}}
			f.TimeEntries = staffMinutes(30)
		}, want: want{status: notBillable, reasons: []ReasonCode{ReasonNoInitiatingVisit}}},
		// I2: the initiating visit by another practitioner does not count.
		{name: "I2 initiating visit by another practitioner in the month", setup: func(f *Facts) {
			excNewPatient(f, "2025-03-03T10:00")
			f.Encounters = []Encounter{{ID: "v-b", Kind: EncounterOfficeVisit, PractitionerNPI: drB, Start: at("2025-03-03T09:00"), End: at("2025-03-03T09:30"), CCMDiscussed: true, EventID: "ev-v-b"}}
			f.TimeEntries = staffMinutes(30)
		}, want: want{status: notBillable, reasons: []ReasonCode{ReasonNoInitiatingVisit}}},
		// I2 / I3: a TCM visit after CCM started (consent by phone on 03-03)
		// in which CCM was not discussed does not initiate CCM. (A visit on
		// the consent date itself counts as "seen within the year before CCM
		// starts", I1, whether or not CCM was discussed.)
		{name: "I3 TCM visit without CCM discussed", setup: func(f *Facts) {
			excNewPatient(f, "2025-03-03T10:00")
			f.Encounters = []Encounter{{ID: "tcm", Kind: EncounterTCM, Code: "99495", PractitionerNPI: drA, Start: at("2025-03-05T09:00"), End: at("2025-03-05T09:30"), EventID: "ev-tcm"}}
			f.TimeEntries = one(rn("r1", "2025-03-12T10:00", 30))
		}, want: want{status: notBillable, reasons: []ReasonCode{ReasonNoInitiatingVisit}}},
		// I3 + X5: a TCM face-to-face visit discussing CCM initiates it;
		// TCM and CCM are billed in the same month, minutes kept apart.
		{name: "I3 TCM visit discussing CCM initiates it (X5)", setup: func(f *Facts) {
			excNewPatient(f, "2025-03-05T10:00")
			f.Encounters = []Encounter{{ID: "tcm", Kind: EncounterTCM, Code: "99495", PractitionerNPI: drA, Start: at("2025-03-05T09:00"), End: at("2025-03-05T09:30"), CCMDiscussed: true, EventID: "ev-tcm"}}
			f.TimeEntries = one(rn("r1", "2025-03-06T10:00", 15, tags(ProgramTCM)), rn("r2", "2025-03-12T10:00", 20))
		}, want: want{status: billable, lines: "99490×1", counted: n(20), excluded: map[ReasonCode]int{ExcludedCountedForOtherProgram: 15}}},
	})
}

func TestExcCarePlan(t *testing.T) {
	runExc(t, []excCase{
		// CP1: no care plan is a gate; below_threshold is not added.
		{name: "CP1 no care plan and few minutes", setup: func(f *Facts) {
			f.CarePlans = nil
			f.TimeEntries = staffMinutes(10)
		}, want: want{status: notBillable, reasons: []ReasonCode{ReasonNoCarePlan}}},
		// CP1: established mid-month, after some of the month's work: the
		// month's minutes all count ("established by the end of the month").
		{name: "CP1 care plan established mid-month", setup: func(f *Facts) {
			f.CarePlans[0].EstablishedAt = at("2025-03-15T10:00")
			f.CarePlans[0].Copies[0].ProvidedAt = at("2025-03-15T11:00")
			f.TimeEntries = one(rn("r1", "2025-03-05T10:00", 15), rn("r2", "2025-03-20T10:00", 10))
		}, want: want{status: billable, lines: "99490×1", counted: n(25)}},
		// CP3: established but the copy was never provided, and not
		// electronic: hold with both reasons.
		{name: "CP3 plan not electronic and no copy provided", setup: func(f *Facts) {
			f.CarePlans[0].Electronic = false
			f.CarePlans[0].Copies = nil
			f.TimeEntries = staffMinutes(45)
		}, want: want{status: onHold, lines: "99490×1 99439×1", reasons: []ReasonCode{ReasonCarePlanIncomplete, ReasonCarePlanCopyNotProvided}}},
		// CP3 + K2: holds add up.
		{name: "CP3 copy missing and K2 consent incomplete", setup: func(f *Facts) {
			f.CarePlans[0].Copies = nil
			f.Consents[0].Disclosures = f.Consents[0].Disclosures[:1]
			f.TimeEntries = staffMinutes(30)
		}, want: want{status: onHold, lines: "99490×1", reasons: []ReasonCode{ReasonCarePlanCopyNotProvided, ReasonConsentElementsIncomplete}}},
		// CP3 for a complex month: the hold keeps the complex lines.
		{name: "CP3 copy missing in a complex month", setup: func(f *Facts) {
			f.CarePlans[0].Copies = nil
			f.Complexity = []ComplexityDecision{complexMDM(MDMModerate, drA)}
			f.TimeEntries = staffMinutes(95)
		}, want: want{status: onHold, lines: "99487×1 99489×1", reasons: []ReasonCode{ReasonCarePlanCopyNotProvided}}},
	})
}

// TestReviewPolicyDefaults pins the §8 defaults of the settings in scope
// (A1, A2, A6, A11, A13) to the document's wording.
func TestExcPolicyDefaults(t *testing.T) {
	p := DefaultPolicy()
	for _, c := range []struct{ rule, got, want string }{
		{"A1 block for the same practitioner", p.CPOAndESRDOverlap, BlockSamePractitioner},
		{"A2 count only minutes before the revocation", p.AfterRevocation, Exclude},
		{"A6 exclude inpatient/SNF days", p.InpatientDays, Exclude},
		{"A11 no forced annual re-consent", p.ConsentRenewal, RenewOnce},
		{"A13 block TCM/CTBS with APCM, same practitioner", p.APCMBundling, BlockSamePractitioner},
		{"A5 count same-day staff minutes, flag", p.SameDayStaffMinutes, CountAndFlag},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.rule, c.got, c.want)
		}
	}
}
