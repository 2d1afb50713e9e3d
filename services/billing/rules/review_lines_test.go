package rules

import (
	"slices"
	"testing"
	"time"
)

// Review of ccm-rules.md §1.1 (patient eligibility), T11 and complex CCM
// (A3), T9 and the claim line contents (date of service, practitioner,
// diagnoses, evidence; A8, A15), the reasons and hold status of
// reason-codes.md, and the §8 defaults the earlier reviews
// (review_exclusions_test.go, review_time_test.go) did not test (A8, A12,
// A15 variants). Written against the documents by a third reader; each case
// cites the rule it checks.

// lnCase is one patient-month. Beyond want (checked by checkEvaluation),
// dx and evidence, when set, are compared exactly on every line; npi is
// always checked against the billing practitioner; minutes/needed are the
// below_threshold numbers, when set.
type lnCase struct {
	name     string
	month    string // "" is 2025-03
	setup    func(f *Facts)
	want     want
	dx       []string
	evidence []string
	minutes  *int
	needed   *int
}

func lnRun(t *testing.T, cases []lnCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, ev := evaluateIn(c.month, c.setup)
			checkEvaluation(t, ev, c.want)
			lnCheckLines(t, ev, f.BillingPractitioner.NPI, c.dx, c.evidence)
			if c.minutes != nil || c.needed != nil {
				lnCheckShortfall(t, ev, c.minutes, c.needed)
			}
		})
	}
}

func lnCheckLines(t *testing.T, ev Evaluation, npi string, dx, evidence []string) {
	t.Helper()
	for _, l := range ev.Lines {
		if l.PractitionerNPI != npi {
			t.Errorf("%s practitionerNpi: got %q, want %q", l.Code, l.PractitionerNPI, npi)
		}
		if dx != nil && !slices.Equal(l.Diagnoses, dx) {
			t.Errorf("%s diagnoses: got %v, want %v", l.Code, l.Diagnoses, dx)
		}
		if evidence != nil && !slices.Equal(l.Evidence, evidence) {
			t.Errorf("%s evidence: got %v, want %v", l.Code, l.Evidence, evidence)
		}
	}
}

func lnCheckShortfall(t *testing.T, ev Evaluation, minutes, needed *int) {
	t.Helper()
	for _, r := range ev.Reasons {
		if r.Code != ReasonBelowThreshold {
			continue
		}
		if minutes != nil && (r.Minutes == nil || *r.Minutes != *minutes) {
			t.Errorf("below_threshold minutes: got %v, want %d", r.Minutes, *minutes)
		}
		if needed != nil && (r.Needed == nil || *r.Needed != *needed) {
			t.Errorf("below_threshold needed: got %v, want %d", r.Needed, *needed)
		}
		return
	}
	t.Errorf("no below_threshold reason in %v", reasonCodes(ev))
}

// lnCond is a condition with significant risk.
func lnCond(code string, months int) Condition {
	return Condition{Code: code, ExpectedDurationMonths: months, SignificantRisk: true, EventID: "ev-dx-" + code}
}

// lnMDM is a complexity decision for the month (zero: derived from decidedAt).
func lnMDM(month, level, npi string, decidedAt time.Time, id string) ComplexityDecision {
	d := ComplexityDecision{Level: level, PractitionerNPI: npi, DecidedAt: decidedAt, EventID: id}
	if month != "" {
		d.Month = MustMonth(month)
	}
	return d
}

func lnUTC(s string) time.Time {
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return v
}

var lnBaseEvidence = []string{"ev-consent", "ev-plan", "ev-copy"}

func lnEv(ids ...string) []string { return append(slices.Clone(lnBaseEvidence), ids...) }

// TestLnEligibility: §1.1 "≥ 2 chronic conditions expected to last ≥ 12
// months or until death, that place the patient at significant risk";
// PCM "One complex chronic condition expected to last ≥ 3 months";
// reason-codes insufficient_chronic_conditions.
func TestLnEligibility(t *testing.T) {
	lnRun(t, []lnCase{
		// C21 counterpart: two chronic conditions, both exactly 12 months.
		{name: "§1.1 two chronic conditions of exactly 12 months", setup: func(f *Facts) {
			f.Conditions = []Condition{lnCond("I10", 12), lnCond("E11.9", 12)}
			f.TimeEntries = one(rn("r1", "2025-03-06T10:00", 30))
		}, want: want{status: billable, lines: "99490×1", program: ProgramCCM, dos: "2025-03-31"},
			dx: []string{"I10", "E11.9"}, evidence: lnEv("ev-r1")},
		// §1.1: 11 months is short of 12.
		{name: "§1.1 second condition expected 11 months", setup: func(f *Facts) {
			f.Conditions = []Condition{lnCond("I10", 60), lnCond("E11.9", 11)}
			f.TimeEntries = one(rn("r1", "2025-03-06T10:00", 30))
		}, want: want{status: notBillable, reasons: []ReasonCode{ReasonInsufficientChronicConditions}}},
		// §1.1 + §6.2: an acute condition between two chronic ones does not
		// qualify and is not a claim diagnosis; the chronic ones are, in
		// recorded order.
		{name: "§1.1 acute condition is left off the claim diagnoses", setup: func(f *Facts) {
			f.Conditions = []Condition{lnCond("I10", 60), lnCond("J18.9", 1), lnCond("E11.9", 24)}
			f.TimeEntries = one(rn("r1", "2025-03-06T10:00", 45))
		}, want: want{status: billable, lines: "99490×1 99439×1"},
			dx: []string{"I10", "E11.9"}, evidence: lnEv("ev-r1")},
		// §1.1 significant risk: a chronic condition without it is not a
		// claim diagnosis either.
		{name: "§1.1 condition without significant risk is left off the diagnoses", setup: func(f *Facts) {
			f.Conditions = []Condition{{Code: "M17.0", ExpectedDurationMonths: 60, EventID: "ev-dx-m"}, lnCond("I50.22", 60), lnCond("N18.31", 60)}
			f.TimeEntries = one(rn("r1", "2025-03-06T10:00", 30))
		}, want: want{status: billable, lines: "99490×1"}, dx: []string{"I50.22", "N18.31"}},
		// §1.1: a condition beginning on the month's last day is on record
		// by the end of the month.
		{name: "§1.1 second condition with onset on the last day of the month", setup: func(f *Facts) {
			f.Conditions = []Condition{lnCond("I10", 60), lnCond("E11.9", 60)}
			f.Conditions[1].OnsetDate = date("2025-03-31")
			f.TimeEntries = one(rn("r1", "2025-03-06T10:00", 30))
		}, want: want{status: billable, lines: "99490×1"}, dx: []string{"I10", "E11.9"}},
		// §1.1: a condition beginning after the month is not this month's
		// (the month after, it is).
		{name: "§1.1 condition with onset after the month, seen from the next month", month: "2025-04", setup: func(f *Facts) {
			f.Conditions = []Condition{lnCond("I10", 60), lnCond("E11.9", 60)}
			f.Conditions[1].OnsetDate = date("2025-04-02")
			f.TimeEntries = one(rn("r1", "2025-04-06T10:00", 30))
		}, want: want{status: billable, lines: "99490×1", dos: "2025-04-30"}, dx: []string{"I10", "E11.9"}},
		// §1.1 (C21 shape with one condition): CCM-tagged time for a
		// one-condition patient is refused, as C21 is.
		{name: "§1.1 one chronic condition, CCM-tagged time", setup: func(f *Facts) {
			f.Conditions = []Condition{lnCond("I10", 60)}
			f.TimeEntries = one(rn("r1", "2025-03-06T10:00", 30))
		}, want: want{status: notBillable, reasons: []ReasonCode{ReasonInsufficientChronicConditions}, program: ProgramCCM}},
		// §1.1 99426: one condition expected exactly 3 months qualifies for
		// PCM; the line carries that one diagnosis.
		{name: "§1.1 PCM condition of exactly 3 months", setup: func(f *Facts) {
			f.Conditions = []Condition{lnCond("C50.911", 3)}
			f.TimeEntries = one(rn("r1", "2025-03-06T10:00", 30, tags(ProgramPCM)))
		}, want: want{status: billable, lines: "99426×1", program: ProgramPCM, pathway: PathwayPCMStaff},
			dx: []string{"C50.911"}, evidence: lnEv("ev-r1")},
		// §1.1 PCM: the condition needs significant risk.
		{name: "§1.1 PCM condition without significant risk", setup: func(f *Facts) {
			f.Conditions = []Condition{{Code: "C50.911", ExpectedDurationMonths: 12}}
			f.TimeEntries = one(rn("r1", "2025-03-06T10:00", 30, tags(ProgramPCM)))
		}, want: want{status: notBillable, reasons: []ReasonCode{ReasonInsufficientChronicConditions}, program: ProgramPCM}},
		// reason-codes: insufficient_chronic_conditions with too few minutes
		// as well: the gate is reported (below_threshold only when no gate
		// fails, evaluate.go).
		{name: "§1.1 insufficient conditions and 10 minutes", setup: func(f *Facts) {
			f.Conditions = []Condition{lnCond("I10", 60)}
			f.TimeEntries = one(rn("r1", "2025-03-06T10:00", 10))
		}, want: want{status: notBillable, reasons: []ReasonCode{ReasonInsufficientChronicConditions}}},
	})
}

// TestLnComplex: T11 "Complex CCM needs moderate or high MDM by the billing
// practitioner in that month"; A3 "fall back to non-complex and record the
// downgrade"; X1 never both; evidence includes the complexity decision
// (evaluation.go) only on complex lines.
func TestLnComplex(t *testing.T) {
	mdmHigh := func(f *Facts) {
		f.Complexity = []ComplexityDecision{lnMDM("2025-03", MDMHigh, drA, at("2025-03-12T12:00"), "ev-mdm")}
	}
	lnRun(t, []lnCase{
		// C11 counterpart: complex 100 minutes, moderate MDM: 99487 + 99489×1
		// (never 99439, X1); evidence consent, plan, copy, MDM, entries.
		{name: "T11 complex 100 minutes, moderate MDM, evidence order", setup: func(f *Facts) {
			f.Complexity = []ComplexityDecision{lnMDM("2025-03", MDMModerate, drA, at("2025-03-12T12:00"), "ev-mdm")}
			f.TimeEntries = one(rn("r1", "2025-03-05T10:00", 50), rn("r2", "2025-03-19T10:00", 50))
		}, want: want{status: billable, lines: "99487×1 99489×1", pathway: PathwayComplex, dos: "2025-03-31"},
			evidence: lnEv("ev-mdm", "ev-r1", "ev-r2"), dx: []string{"I50.22", "E11.65", "N18.31"}},
		// A3 + C13: a complex month of 25 minutes is billed as 99490 and
		// flagged; no MDM id in the non-complex evidence.
		{name: "A3 complex month of 25 minutes falls back to 99490", setup: func(f *Facts) {
			mdmHigh(f)
			f.TimeEntries = one(rn("r1", "2025-03-05T10:00", 25))
		}, want: want{status: billable, lines: "99490×1", pathway: PathwayClinicalStaff, flags: []ReasonCode{FlagComplexityDowngraded}},
			evidence: lnEv("ev-r1")},
		// A3 + T1: a complex month of 15 minutes reaches no pathway; the
		// shortfall is against the non-complex fallback's 20.
		{name: "A3 complex month of 15 minutes is below 99490's threshold", setup: func(f *Facts) {
			mdmHigh(f)
			f.TimeEntries = one(rn("r1", "2025-03-05T10:00", 15))
		}, want: want{status: notBillable, reasons: []ReasonCode{ReasonBelowThreshold}, flags: []ReasonCode{FlagComplexityDowngraded}},
			minutes: n(15), needed: n(20)},
		// A3 policy not_billable: the shortfall is against complex's 60.
		{name: "A3 not_billable: complex month of 40 minutes", setup: func(f *Facts) {
			mdmHigh(f)
			f.TimeEntries = one(rn("r1", "2025-03-05T10:00", 40))
			f.Policy.ComplexShortfall = NotBillable
		}, want: want{status: notBillable, reasons: []ReasonCode{ReasonBelowThreshold}, pathway: PathwayComplex},
			minutes: n(40), needed: n(60)},
		// T11 "in that month", month taken from decidedAt in the practice's
		// time zone: 03:30Z on 1 April is 23:30 on 31 March in New York.
		{name: "T11 MDM decided late on 31 March local time is March's", setup: func(f *Facts) {
			f.Complexity = []ComplexityDecision{lnMDM("", MDMHigh, drA, lnUTC("2025-04-01T03:30:00Z"), "ev-mdm")}
			f.TimeEntries = staffMinutes(60)
		}, want: want{status: billable, lines: "99487×1", pathway: PathwayComplex}},
		// T11: 04:30Z on 1 March is 23:30 on 28 February in New York: an
		// earlier month's decision designates the patient but does not
		// document March (hold, priced non-complex).
		{name: "T11 MDM decided late on 28 February local time is not March's", setup: func(f *Facts) {
			f.Complexity = []ComplexityDecision{lnMDM("", MDMHigh, drA, lnUTC("2025-03-01T04:30:00Z"), "ev-mdm")}
			f.TimeEntries = staffMinutes(70)
		}, want: want{status: onHold, lines: "99490×1 99439×2", reasons: []ReasonCode{ReasonComplexityNotDocumented}},
			evidence: lnEv("ev-s03", "ev-s04", "ev-s05")},
		// T11: a decision of a later month says nothing about this one.
		{name: "T11 MDM of the next month does not make March complex", setup: func(f *Facts) {
			f.Complexity = []ComplexityDecision{lnMDM("2025-04", MDMHigh, drA, at("2025-04-03T12:00"), "ev-mdm")}
			f.TimeEntries = staffMinutes(70)
		}, want: want{status: billable, lines: "99490×1 99439×2"}},
		// T11 "complexity decided in another month": high two months ago,
		// low last month: the latest decision is low, so March is not
		// designated complex.
		{name: "T11 latest earlier decision low", setup: func(f *Facts) {
			f.Complexity = []ComplexityDecision{
				lnMDM("2025-01", MDMHigh, drA, at("2025-01-10T12:00"), "ev-mdm-jan"),
				lnMDM("2025-02", MDMLow, drA, at("2025-02-10T12:00"), "ev-mdm-feb"),
			}
			f.TimeEntries = staffMinutes(70)
		}, want: want{status: billable, lines: "99490×1 99439×2"}},
		// T11 + T4 + A3: the practitioner's own 45 minutes in a complex
		// month fall back to non-complex; with practitioner time only that is
		// the personal pathway (99491).
		{name: "A3 complex month with the practitioner's own 45 minutes", setup: func(f *Facts) {
			mdmHigh(f)
			f.TimeEntries = mdMinutes(45)
		}, want: want{status: billable, lines: "99491×1", pathway: PathwayPractitioner, flags: []ReasonCode{FlagComplexityDowngraded}},
			evidence: lnEv("ev-m03", "ev-m04")},
		// T11 + reason-codes hold: every hold reason at once on a complex-
		// designated month (consent disclosure missing, care plan element
		// missing, no copy, no MDM this month): status hold, lines priced
		// non-complex, all four reasons.
		{name: "hold with all four hold reasons", setup: func(f *Facts) {
			f.Consents[0].Disclosures = f.Consents[0].Disclosures[1:]
			f.CarePlans[0].MissingElements = []string{"symptom_management"}
			f.CarePlans[0].Copies = nil
			f.Complexity = []ComplexityDecision{lnMDM("2025-02", MDMModerate, drA, at("2025-02-10T12:00"), "ev-mdm-feb")}
			f.TimeEntries = staffMinutes(65)
		}, want: want{status: onHold, lines: "99490×1 99439×2", reasons: []ReasonCode{
			ReasonConsentElementsIncomplete, ReasonCarePlanIncomplete, ReasonCarePlanCopyNotProvided, ReasonComplexityNotDocumented,
		}}, evidence: []string{"ev-consent", "ev-plan", "ev-s03", "ev-s04", "ev-s05"}},
	})
}

// TestLnComplexDesignationOrder: T11 "complexity decided in another month".
// Two decisions recorded for February (low on the 10th, high on the 25th):
// the latest decision governs, whatever order the facts arrive in
// (doc.go: "the same Facts give an identical Evaluation"; the facts are a
// set of recorded events).
func TestLnComplexDesignationOrder(t *testing.T) {
	low := lnMDM("2025-02", MDMLow, drA, at("2025-02-10T12:00"), "ev-mdm-low")
	high := lnMDM("2025-02", MDMHigh, drA, at("2025-02-25T12:00"), "ev-mdm-high")
	for _, order := range [][]ComplexityDecision{{low, high}, {high, low}} {
		t.Run(order[0].Level+" first", func(t *testing.T) {
			f := baseFacts()
			f.Complexity = order
			f.TimeEntries = staffMinutes(70)
			checkEvaluation(t, Evaluate(f), want{status: onHold, lines: "99490×1 99439×2", reasons: []ReasonCode{ReasonComplexityNotDocumented}})
		})
	}
}

// TestLnDesignatedShortfallFlag: reason-codes.md flag complexity_downgraded
// "a complex-designated month that reached under 60 minutes was evaluated
// as non-complex (§8 A3)". A patient designated complex (last month's
// moderate MDM, scenarios.json "complex_designation": true without this
// month's mdm) whose month reaches 45 minutes is evaluated as non-complex,
// and flagged so.
func TestLnDesignatedShortfallFlag(t *testing.T) {
	f := baseFacts()
	f.Complexity = []ComplexityDecision{lnMDM("2025-02", MDMModerate, drA, at("2025-02-10T12:00"), "ev-mdm-feb")}
	f.TimeEntries = staffMinutes(45)
	checkEvaluation(t, Evaluate(f), want{status: billable, lines: "99490×1 99439×1", flags: []ReasonCode{FlagComplexityDowngraded}})
}

// TestLnDateOfService: T9/A8 "DOS = last day of the month (or the date of
// death), with a per-MAC override"; A15 "bill if the threshold was met
// before death, with DOS ≤ date of death".
func TestLnDateOfService(t *testing.T) {
	lnRun(t, []lnCase{
		// A8: the last day of a leap February.
		{name: "A8 default DOS in February 2024 is the 29th", month: "2024-02", setup: func(f *Facts) {
			f.TimeEntries = staffIn("2024-02", 45)
		}, want: want{status: billable, lines: "99490×1 99439×1", dos: "2024-02-29"}},
		// A8 + T2: base and add-on share the DOS (same claim).
		{name: "A8 base and add-ons on the same DOS, 30-day month", month: "2025-04", setup: func(f *Facts) {
			f.TimeEntries = staffIn("2025-04", 65)
		}, want: want{status: billable, lines: "99490×1 99439×2", dos: "2025-04-30"}},
		// A15: death after the month does not move March's DOS.
		{name: "A15 death in the next month", setup: func(f *Facts) {
			f.Patient.DeceasedDate = date("2025-04-02")
			f.TimeEntries = staffMinutes(30)
		}, want: want{status: billable, lines: "99490×1", dos: "2025-03-31"}},
		// A15: death on the month's last day.
		{name: "A15 death on the last day of the month", setup: func(f *Facts) {
			f.Patient.DeceasedDate = date("2025-03-31")
			f.TimeEntries = staffMinutes(30)
		}, want: want{status: billable, lines: "99490×1", dos: "2025-03-31"}},
		// A15 + A8 threshold_met: the day the 20th minute was reached, which
		// is before the death.
		{name: "A15 + A8 threshold_met: DOS is the threshold day before death", setup: func(f *Facts) {
			f.Patient.DeceasedDate = date("2025-03-18")
			f.Policy.DateOfService = DOSThresholdMet
			f.TimeEntries = one(rn("r1", "2025-03-03T10:00", 10), rn("r2", "2025-03-10T10:00", 15), rn("r3", "2025-03-20T10:00", 10))
		}, want: want{status: billable, lines: "99490×1", dos: "2025-03-10", counted: n(25), excluded: map[ReasonCode]int{ExcludedAfterDeath: 10}},
			evidence: lnEv("ev-r1", "ev-r2")},
		// A15 + A8 month_start: the first day is not after the death.
		{name: "A15 + A8 month_start with a death mid-month", setup: func(f *Facts) {
			f.Patient.DeceasedDate = date("2025-03-18")
			f.Policy.DateOfService = DOSMonthStart
			f.TimeEntries = one(rn("r1", "2025-03-03T10:00", 25))
		}, want: want{status: billable, lines: "99490×1", dos: "2025-03-01"}},
		// A15 policy not_billable applies to a death within the month only.
		{name: "A15 not_billable: death after the month", setup: func(f *Facts) {
			f.Patient.DeceasedDate = date("2025-04-05")
			f.Policy.DeathInMonth = NotBillable
			f.TimeEntries = staffMinutes(30)
		}, want: want{status: billable, lines: "99490×1", dos: "2025-03-31"}},
		// A15 + T2: on death day 1, the practitioner's 60 minutes that day.
		{name: "A15 death on the 1st, practitioner 60 minutes that day", setup: func(f *Facts) {
			f.Patient.DeceasedDate = date("2025-03-01")
			f.TimeEntries = one(md("m1", "2025-03-01T09:00", 60))
		}, want: want{status: billable, lines: "99491×1 99437×1", dos: "2025-03-01", pathway: PathwayPractitioner},
			evidence: lnEv("ev-m1")},
		// A8 threshold_met + A4 practitioner policy: the day the
		// practitioner's own 30th minute was reached, not the staff's.
		{name: "A8 threshold_met on the practitioner pathway counts its own time only", setup: func(f *Facts) {
			f.Policy.DateOfService = DOSThresholdMet
			f.Policy.MixedTimePathway = PractitionerPath
			f.TimeEntries = one(rn("r1", "2025-03-05T10:00", 25), md("m1", "2025-03-20T17:00", 35))
		}, want: want{status: billable, lines: "99491×1", dos: "2025-03-20", pathway: PathwayPractitioner, flags: []ReasonCode{FlagPathwayPolicyApplied}},
			evidence: lnEv("ev-m1")},
		// A8 threshold_met on the complex pathway: the 60th minute.
		{name: "A8 threshold_met on the complex pathway", setup: func(f *Facts) {
			f.Policy.DateOfService = DOSThresholdMet
			f.Complexity = []ComplexityDecision{complexMDM(MDMHigh, drA)}
			f.TimeEntries = one(rn("r1", "2025-03-05T10:00", 30), rn("r2", "2025-03-12T10:00", 29), rn("r3", "2025-03-26T10:00", 5))
		}, want: want{status: billable, lines: "99487×1", dos: "2025-03-26", pathway: PathwayComplex},
			evidence: lnEv("ev-mdm", "ev-r1", "ev-r2", "ev-r3")},
	})
}

// TestLnLineContents: claim lines carry the billing practitioner's NPI, the
// qualifying diagnoses and the evidence evaluation.go documents (consent,
// care plan, care plan copy, complexity decision, then each counted time
// entry).
func TestLnLineContents(t *testing.T) {
	lnRun(t, []lnCase{
		// Evidence lists counted entries only: a front-desk entry, a voided
		// one and an unanswered attempt are not evidence.
		{name: "T9 evidence leaves out entries with no counted minutes", setup: func(f *Facts) {
			f.TimeEntries = one(
				rn("r1", "2025-03-04T10:00", 15),
				entry("f1", RoleFrontDesk, "2025-03-05T10:00", 10),
				rn("r2", "2025-03-06T10:00", 10, voided()),
				rn("r3", "2025-03-07T10:00", 5, unanswered()),
				rn("r4", "2025-03-08T10:00", 10),
			)
		}, want: want{status: billable, lines: "99490×1", counted: n(25),
			excluded: map[ReasonCode]int{ExcludedNonClinicalStaff: 10, ExcludedVoided: 10, ExcludedUnansweredOutreach: 5}},
			evidence: lnEv("ev-r1", "ev-r4")},
		// Evidence order: entries by start time, not input order.
		{name: "T9 evidence entries in time order", setup: func(f *Facts) {
			f.TimeEntries = one(rn("r9", "2025-03-20T10:00", 10), rn("r1", "2025-03-04T10:00", 15))
		}, want: want{status: billable, lines: "99490×1"}, evidence: lnEv("ev-r1", "ev-r9")},
		// PCM practitioner pathway: 99424 + 99425 with the PCM diagnosis and
		// the practitioner's entries.
		{name: "T9 PCM practitioner 65 minutes: lines and contents", setup: func(f *Facts) {
			f.TimeEntries = one(md("m1", "2025-03-10T17:00", 35), md("m2", "2025-03-24T17:00", 30))
			pcmPatient(f)
		}, want: want{status: billable, lines: "99424×1 99425×1", program: ProgramPCM, pathway: PathwayPCMPractitioner, dos: "2025-03-31"},
			dx: []string{"I50.22"}, evidence: lnEv("ev-m1", "ev-m2")},
		// An NP billing practitioner: the NPI on the lines is theirs.
		{name: "T9 NP billing practitioner's NPI on the lines", setup: func(f *Facts) {
			f.BillingPractitioner = Practitioner{NPI: drB, Kind: KindNP}
			f.Consents[0].PractitionerNPI = drB
			f.Encounters[0].PractitionerNPI = drB
			f.TimeEntries = staffMinutes(30)
		}, want: want{status: billable, lines: "99490×1"}},
		// Hold: lines still carry full contents (the copy is missing, so
		// no copy id).
		{name: "CP3 hold month's lines carry diagnoses and evidence", setup: func(f *Facts) {
			f.CarePlans[0].Copies = nil
			f.TimeEntries = one(rn("r1", "2025-03-04T10:00", 20))
		}, want: want{status: onHold, lines: "99490×1", reasons: []ReasonCode{ReasonCarePlanCopyNotProvided}, dos: "2025-03-31"},
			dx: []string{"I50.22", "E11.65", "N18.31"}, evidence: []string{"ev-consent", "ev-plan", "ev-r1"}},
	})
}

// TestLnReasons: a not_billable month reports why (reason-codes.md: "no
// claim line can be billed for this month; reasons say why"): every failing
// gate, with no lines.
func TestLnReasons(t *testing.T) {
	lnRun(t, []lnCase{
		{name: "not_billable with three failing gates reports all three", setup: func(f *Facts) {
			f.Conditions = f.Conditions[:1]
			f.Consents = nil
			f.CarePlans = nil
			f.TimeEntries = staffMinutes(30)
		}, want: want{status: notBillable, reasons: []ReasonCode{ReasonInsufficientChronicConditions, ReasonNoConsent, ReasonNoCarePlan}}},
		// A gate and a hold: not_billable, no lines.
		{name: "not_billable gate with an incomplete care plan", setup: func(f *Facts) {
			f.Consents = nil
			f.CarePlans[0].MissingElements = []string{"periodic_review"}
			f.TimeEntries = staffMinutes(30)
		}, want: want{status: notBillable, reasons: []ReasonCode{ReasonNoConsent, ReasonCarePlanIncomplete}}},
		// A12 default: PCM add-ons have no cap beyond the MUE table (none
		// loaded): staff 150 → 99426 + 99427×4.
		{name: "A12 PCM staff 150 minutes: no add-on cap by default", setup: func(f *Facts) {
			f.TimeEntries = staffMinutes(150)
			pcmPatient(f)
		}, want: want{status: billable, lines: "99426×1 99427×4", program: ProgramPCM}},
		// A12 practice cap of 2 on PCM add-ons.
		{name: "A12 PCM practitioner 125 minutes with a practice cap of 2", setup: func(f *Facts) {
			f.TimeEntries = mdMinutes(125)
			pcmPatient(f)
			f.Policy.PCMAddOnMaxUnits = 2
		}, want: want{status: billable, lines: "99424×1 99425×2", program: ProgramPCM}},
		// below_threshold numbers on the PCM staff pathway (30 needed).
		{name: "T1 PCM staff 29 minutes: 29 of 30", setup: func(f *Facts) {
			f.TimeEntries = staffMinutes(29)
			pcmPatient(f)
		}, want: want{status: notBillable, reasons: []ReasonCode{ReasonBelowThreshold}, program: ProgramPCM}, minutes: n(29), needed: n(30)},
	})
}
