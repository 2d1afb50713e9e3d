package rules

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// chooseProgram picks ccm or pcm for the month. The same practitioner may not
// bill both (X4), so one is evaluated: the one the month's entries are
// tagged for; when the tags do not decide, the only one the patient is
// eligible for (two qualifying conditions for CCM, one for PCM); otherwise
// the one consented to, CCM by default.
func (e *evaluator) chooseProgram() Program {
	if e.f.Program == ProgramCCM || e.f.Program == ProgramPCM {
		return e.f.Program
	}
	var ccmTagged, pcmTagged bool
	for i := range e.f.TimeEntries {
		t := &e.f.TimeEntries[i]
		if t.Voided {
			continue
		}
		c, p := contains(t.Programs, ProgramCCM), contains(t.Programs, ProgramPCM)
		ccmTagged = ccmTagged || (c && !p) || len(t.Programs) == 0
		pcmTagged = pcmTagged || (p && !c)
	}
	if pcmTagged != ccmTagged {
		if pcmTagged {
			return ProgramPCM
		}
		return ProgramCCM
	}
	ccmOK, pcmOK := len(e.ccmConditions()) >= 2, len(e.pcmConditions()) > 0
	if ccmOK != pcmOK {
		if pcmOK {
			return ProgramPCM
		}
		return ProgramCCM
	}
	var ccmConsent, pcmConsent bool
	for i := range e.f.Consents {
		if c := &e.f.Consents[i]; accepted(c) && e.forBillingPractitioner(c.PractitionerNPI) {
			ccmConsent = ccmConsent || c.Program == ProgramCCM
			pcmConsent = pcmConsent || c.Program == ProgramPCM
		}
	}
	if pcmConsent && !ccmConsent {
		return ProgramPCM
	}
	return ProgramCCM
}

// forBillingPractitioner reports whether a fact naming npi belongs to the
// billing practitioner; an empty npi is read as the billing practitioner.
func (e *evaluator) forBillingPractitioner(npi string) bool {
	return npi == "" || npi == e.npi
}

var eligibleKinds = []PractitionerKind{KindPhysician, KindNP, KindPA, KindCNS, KindCNM}

// checkPractitioner: only physicians, NPs, PAs, CNSs and CNMs bill CCM/PCM
// (§1.1). An unknown (empty) kind is not held against the month.
func (e *evaluator) checkPractitioner() {
	k := e.f.BillingPractitioner.Kind
	if k != "" && !contains(eligibleKinds, k) {
		e.block(ReasonPractitionerNotEligible, "a %s may not bill %s (§1.1: physicians, NPs, PAs, CNSs and CNMs only)", k, programName(e.program))
	}
}

// checkProgramInEffect: codes are effective-dated by service month (§9.1).
func (e *evaluator) checkProgramInEffect() {
	if !programInEffect(e.program, e.month) {
		e.block(ReasonCodeNotInEffect, "no %s code existed in %s (CCM from 2015, PCM from 2020)", programName(e.program), e.month)
	}
}

// qualifyingConditions appends to out one condition per ICD-10 category
// (the three characters before the dot), in recorded order, that lasts at
// least minMonths, carries significant risk and began by the end of the
// month. Two codes of one category (E11.9 and E11.65) are one disease.
func (e *evaluator) qualifyingConditions(out []Condition, minMonths int) []Condition {
	var buf [8]string
	seen := buf[:0] // the categories of out
	for i := range e.f.Conditions {
		c := &e.f.Conditions[i]
		if c.ExpectedDurationMonths < minMonths || !c.SignificantRisk || c.Code == "" {
			continue
		}
		if !c.OnsetDate.IsZero() && c.OnsetDate.Compare(e.last) > 0 {
			continue
		}
		cat := icdCategory(c.Code)
		if slices.Contains(seen, cat) {
			continue
		}
		seen = append(seen, cat)
		out = append(out, *c)
	}
	return out
}

func icdCategory(code string) string {
	code = strings.ToUpper(strings.TrimSpace(code))
	if i := strings.IndexByte(code, '.'); i >= 0 {
		return code[:i]
	}
	if len(code) > 3 {
		return code[:3]
	}
	return code
}

// ccmConditions: ≥ 12 months (or until death) with significant risk (§1.1).
// The result is computed once per evaluation (the program choice and the
// condition check both read it).
func (e *evaluator) ccmConditions() []Condition {
	if !e.ccmDone {
		e.ccm, e.ccmDone = e.qualifyingConditions(e.buf.ccm[:0], 12), true
		e.buf.ccm = e.ccm
	}
	return e.ccm
}

// pcmConditions: ≥ 3 months with significant risk (§1.1, 99424–99427).
func (e *evaluator) pcmConditions() []Condition {
	if !e.pcmDone {
		e.pcm, e.pcmDone = e.qualifyingConditions(e.buf.pcm[:0], 3), true
		e.buf.pcm = e.pcm
	}
	return e.pcm
}

const maxDiagnoses = 4

// checkConditions: CCM needs ≥ 2 qualifying chronic conditions, PCM one
// (§1.1; OIG OAS-26-09-007, §6.2). It also sets the line diagnoses.
func (e *evaluator) checkConditions() {
	if e.program == ProgramPCM {
		pcm := e.pcmConditions()
		if len(pcm) == 0 {
			e.block(ReasonInsufficientChronicConditions, "no condition expected to last ≥ 3 months with significant risk, as PCM requires")
			return
		}
		e.dx = append(e.buf.dx[:0], pcm[0].Code)
		e.buf.dx = e.dx
		return
	}
	ccm := e.ccmConditions()
	e.dx = e.buf.dx[:0]
	for i := range ccm[:min(len(ccm), maxDiagnoses)] {
		e.dx = append(e.dx, ccm[i].Code)
	}
	e.buf.dx = e.dx
	if len(ccm) < 2 {
		e.block(ReasonInsufficientChronicConditions,
			"%d of 2 qualifying chronic conditions (expected to last ≥ 12 months, significant risk)%s",
			len(ccm), conditionList(ccm))
	}
}

func conditionList(cs []Condition) string {
	if len(cs) == 0 {
		return ""
	}
	codes := make([]string, len(cs))
	for i, c := range cs {
		codes[i] = c.Code
	}
	return ": " + strings.Join(codes, ", ")
}

// consentState is what the consent check leaves for minute attribution.
type consentState struct {
	// ok: an accepted consent of the billing practitioner covers part of the
	// month, so minutes outside its windows are excluded.
	ok bool
	// covered are the spans in which consent was in force.
	covered spanSet
	// first is the earliest minute consent was in force.
	first int64
	// started is when CCM (or PCM) with this practitioner began (I1).
	started time.Time
	eventID string
}

func accepted(c *Consent) bool { return c.Decision == "" || c.Decision == DecisionAccepted }

// consentCovers reports whether a consent recorded for program cp lets the
// evaluated program be billed: a PCM month may rely on a CCM consent unless
// the practice requires a PCM consent.
func (e *evaluator) consentCovers(cp Program) bool {
	if cp == e.program {
		return true
	}
	return e.program == ProgramPCM && cp == ProgramCCM && e.p.PCMConsent == PCMOrCCMConsent
}

// The COVID-19 PHE let consent be obtained when services were first
// furnished (K5); it ended on 11 May 2023. Its first and last days are
// dates in the practice's time zone.
var (
	pheFirstDay = Date{2020, time.March, 1}
	pheLastDay  = Date{2023, time.May, 11}
)

// checkConsent applies K1–K7 and A2, A11. Consent must be accepted, name the
// billing practitioner (K4), be in force during the month, and carry the K2
// disclosures (K3 adds written form and electronic sharing before 2017).
func (e *evaluator) checkConsent() {
	mine := e.buf.consents[:0]
	other := false
	for i := range e.f.Consents {
		c := &e.f.Consents[i]
		if !e.consentCovers(c.Program) {
			continue
		}
		if e.forBillingPractitioner(c.PractitionerNPI) {
			mine = append(mine, c)
		} else if accepted(c) {
			other = true
		}
	}
	slices.SortStableFunc(mine, func(a, b *Consent) int { return a.ObtainedAt.Compare(b.ObtainedAt) })

	acc := e.buf.accepted[:0]
	for _, c := range mine {
		if accepted(c) {
			acc = append(acc, c)
		}
	}
	e.buf.consents, e.buf.accepted = mine, acc
	name := programName(e.program)
	if len(acc) == 0 {
		if other {
			e.block(ReasonConsentOtherPractitioner, "the %s consent on file names another billing practitioner, not %s; a new consent is needed (K4)", name, e.npi)
		} else {
			e.block(ReasonNoConsent, "no accepted %s consent on file (K1)", name)
		}
		return
	}
	e.consent.started = acc[0].ObtainedAt

	var best *Consent
	from := len(e.buf.spans.buf)
	for _, c := range acc {
		lo, hi := e.consentWindow(c, mine)
		if e.p.ConsentRenewal == RenewAnnual && c.ObtainedAt.Before(e.month.AddMonths(-12).Start(e.loc)) {
			continue // A11: older than 12 months at the start of the month
		}
		if hi <= lo {
			continue
		}
		e.buf.spans.buf = append(e.buf.spans.buf, span{lo, hi})
		if lo < e.mEnd && hi > e.mStart {
			best = c
		}
	}
	e.consent.covered = e.buf.spans.normalize(from)
	if best == nil {
		e.block(ReasonNoConsent, "no %s consent in force during %s: %s (K4, K7)", name, e.month, e.consentGap(acc))
		return
	}
	e.consent.ok = true
	e.consent.first = e.consent.covered[0].lo
	e.consent.eventID = best.EventID
	e.checkDisclosures(best)
}

// consentWindow is the span in which consent c is in force: from obtainedAt
// (the start of that day during the PHE, K5) until revocation or a later
// decline, which ends it at once (A2 default) or at the end of that calendar
// month (A2 alternative, K2c).
func (e *evaluator) consentWindow(c *Consent, all []*Consent) (lo, hi int64) {
	lo = unixMinute(c.ObtainedAt)
	if d := DateOf(c.ObtainedAt, e.loc); d.Compare(pheFirstDay) >= 0 && d.Compare(pheLastDay) <= 0 {
		lo = unixMinute(d.Midnight(e.loc))
	}
	end := c.RevokedAt
	for _, d := range all {
		if !accepted(d) && d.ObtainedAt.After(c.ObtainedAt) && (end.IsZero() || d.ObtainedAt.Before(end)) {
			end = d.ObtainedAt
		}
	}
	if end.IsZero() {
		return lo, maxMinute
	}
	if e.p.AfterRevocation == CountToMonthEnd {
		return lo, unixMinute(DateOf(end, e.loc).MonthOf().End(e.loc))
	}
	return lo, unixMinute(end)
}

func (e *evaluator) consentGap(acc []*Consent) string {
	last := acc[len(acc)-1]
	switch {
	case unixMinute(last.ObtainedAt) >= e.mEnd:
		return fmt.Sprintf("consent was obtained %s, after the month", last.ObtainedAt.In(e.loc).Format(time.DateOnly))
	case !last.RevokedAt.IsZero():
		return fmt.Sprintf("consent was revoked %s", last.RevokedAt.In(e.loc).Format(time.DateOnly))
	case e.p.ConsentRenewal == RenewAnnual:
		return "the practice requires annual re-consent (A11) and the last consent is older than 12 months"
	}
	return "consent was withdrawn"
}

// k3End is the first month K3's extra consent requirements no longer apply.
var k3End = MustMonth("2017-01")

var requiredDisclosures = []string{
	DisclosureAvailabilityAndCostSharing,
	DisclosureOnePractitionerPerMonth,
	DisclosureRightToStop,
}

// checkDisclosures: K2 (a) availability and cost sharing, (b) one
// practitioner per month, (c) right to stop at month end; before 2017 (K3)
// consent also had to be written and authorize electronic sharing.
func (e *evaluator) checkDisclosures(c *Consent) {
	var missing []string
	for _, d := range requiredDisclosures {
		if !contains(c.Disclosures, d) {
			missing = append(missing, d)
		}
	}
	if e.month.Before(k3End) {
		if !contains(c.Disclosures, DisclosureElectronicSharing) {
			missing = append(missing, DisclosureElectronicSharing+" (required before 2017, K3)")
		}
		if c.Method != MethodWritten {
			missing = append(missing, "written form (required before 2017, K3)")
		}
	}
	if len(missing) > 0 {
		e.hold(ReasonConsentElementsIncomplete, "the consent of %s lacks: %s (K2)",
			c.ObtainedAt.In(e.loc).Format(time.DateOnly), strings.Join(missing, ", "))
	}
}

// visitKinds are face-to-face visits that can see a patient or initiate CCM:
// E/M office visit, AWV, IPPE (I1) and the TCM face-to-face visit (I3).
var visitKinds = []string{EncounterOfficeVisit, EncounterAnnualWellnessVisit, EncounterIPPE, EncounterTCM}

func isVisit(en *Encounter) bool { return contains(visitKinds, en.Kind) }

// checkInitiatingVisit: I1–I3. An initiating visit is required only when
// the billing practitioner has not seen the patient within the year before
// CCM started (the first accepted consent). It must then be a visit by the
// billing practitioner in which CCM was discussed (I2), held by the end of
// the month.
func (e *evaluator) checkInitiatingVisit() {
	if e.consent.started.IsZero() {
		return // no consent: already blocked
	}
	start := DateOf(e.consent.started, e.loc)
	yearBefore := start.AddYears(-1)
	for i := range e.f.Encounters {
		en := &e.f.Encounters[i]
		if !isVisit(en) || !e.forBillingPractitioner(en.PractitionerNPI) {
			continue
		}
		d := DateOf(en.Start, e.loc)
		if d.Compare(yearBefore) < 0 {
			continue
		}
		if d.Compare(start) <= 0 {
			return // seen within the year before CCM started (I1)
		}
		if en.CCMDiscussed && d.Compare(e.last) <= 0 {
			return // initiating visit (I2, I3)
		}
	}
	e.block(ReasonNoInitiatingVisit,
		"the billing practitioner did not see the patient in the year before %s started on %s, and no initiating visit discussing it is recorded (I1, I2)",
		programName(e.program), start)
}

type carePlanState struct {
	eventID     string
	copyEventID string
}

// checkCarePlan: CP1 (a care plan established by the end of the month;
// comprehensive for CCM, disease-specific allowed for PCM), CP2 (required
// elements), CP3 (electronic, copy given to patient or caregiver).
func (e *evaluator) checkCarePlan() {
	var plan *CarePlan
	for i := range e.f.CarePlans {
		cp := &e.f.CarePlans[i]
		if !cp.EstablishedAt.Before(e.end) {
			continue
		}
		if plan == nil || betterPlan(cp, plan, e.program) {
			plan = cp
		}
	}
	if plan == nil {
		e.block(ReasonNoCarePlan, "no care plan established by the end of %s (CP1)", e.month)
		return
	}
	e.carePlan.eventID = plan.EventID
	var problems []string
	if e.program == ProgramCCM && !comprehensive(plan) {
		problems = append(problems, "it is disease-specific, and CCM needs a comprehensive plan (CP1)")
	}
	if !plan.Electronic {
		problems = append(problems, "it is not electronic (CP3)")
	}
	if len(plan.MissingElements) > 0 {
		problems = append(problems, "it lacks "+strings.Join(plan.MissingElements, ", ")+" (CP2)")
	}
	if len(problems) > 0 {
		e.hold(ReasonCarePlanIncomplete, "care plan of %s: %s",
			plan.EstablishedAt.In(e.loc).Format(time.DateOnly), strings.Join(problems, "; "))
	}
	if len(plan.Copies) == 0 {
		e.hold(ReasonCarePlanCopyNotProvided, "no record that a copy of the care plan was given to the patient or caregiver (CP3)")
		return
	}
	first := plan.Copies[0]
	for _, c := range plan.Copies[1:] {
		if c.ProvidedAt.Before(first.ProvidedAt) {
			first = c
		}
	}
	e.carePlan.copyEventID = first.EventID
}

func comprehensive(cp *CarePlan) bool {
	return cp.Kind == "" || cp.Kind == CarePlanComprehensive
}

// betterPlan prefers, for CCM, a comprehensive plan; then the latest.
func betterPlan(a, b *CarePlan, p Program) bool {
	if p == ProgramCCM && comprehensive(a) != comprehensive(b) {
		return comprehensive(a)
	}
	return a.EstablishedAt.After(b.EstablishedAt)
}

// checkDeath: a patient who died before the month cannot be billed; a death
// within the month is billed up to the date of death unless the practice
// chose otherwise (A15). Minutes after death are excluded by attribution.
func (e *evaluator) checkDeath() {
	d := e.f.Patient.DeceasedDate
	if d.IsZero() {
		return
	}
	switch {
	case d.Compare(e.month.FirstDay()) < 0:
		e.block(ReasonPatientDeceased, "the patient died on %s, before %s", d, e.month)
	case d.Compare(e.last) <= 0 && e.p.DeathInMonth == NotBillable:
		e.block(ReasonPatientDeceased, "the patient died on %s and the practice does not bill the month of death (A15)", d)
	}
}

// complexity is the T11 state of a CCM month.
type complexity struct {
	// documented: moderate/high MDM by the billing practitioner this month.
	documented bool
	// designated: the patient is on complex CCM without that record: a
	// moderate/high decision by another practitioner or a decision with no
	// level this month, or moderate/high in the latest earlier month with no
	// decision this month. An explicit "low" this month means non-complex.
	designated bool
	eventID    string
	level      string
	decidedAt  time.Time
}

func complexLevel(l string) bool { return l == MDMModerate || l == MDMHigh }

func (e *evaluator) decisionMonth(d ComplexityDecision) Month {
	if d.Month.IsZero() {
		return DateOf(d.DecidedAt, e.loc).MonthOf()
	}
	return d.Month
}

// laterDecision reports whether d was decided after the decision at
// decidedAt with id eventID (ties: the greater event id), so that the order
// of the facts never changes the result.
func laterDecision(d ComplexityDecision, decidedAt time.Time, eventID string) bool {
	if c := d.DecidedAt.Compare(decidedAt); c != 0 {
		return c > 0
	}
	return d.EventID > eventID
}

func (e *evaluator) complexity() complexity {
	var cx complexity
	thisMonth := false
	var prior *ComplexityDecision
	for i, d := range e.f.Complexity {
		m := e.decisionMonth(d)
		switch {
		case m == e.month && complexLevel(d.Level) && e.forBillingPractitioner(d.PractitionerNPI):
			thisMonth, cx.documented, cx.designated = true, true, true
			// The evidence: a high decision before a moderate one, then the
			// latest (whatever order the facts come in).
			if cx.eventID == "" || d.Level == MDMHigh && cx.level != MDMHigh ||
				d.Level == cx.level && laterDecision(d, cx.decidedAt, cx.eventID) {
				cx.eventID, cx.level, cx.decidedAt = d.EventID, d.Level, d.DecidedAt
			}
		case m == e.month:
			thisMonth = true
			cx.designated = cx.designated || d.Level != MDMLow
		case m.Before(e.month):
			// The latest decision of the latest earlier month governs.
			if prior == nil || e.decisionMonth(*prior).Before(m) ||
				e.decisionMonth(*prior) == m && laterDecision(d, prior.DecidedAt, prior.EventID) {
				prior = &e.f.Complexity[i]
			}
		}
	}
	if !thisMonth && prior != nil && complexLevel(prior.Level) {
		cx.designated = true
	}
	return cx
}

// programName is p in capitals, as messages name programs.
func programName(p Program) string {
	switch p {
	case ProgramCCM:
		return "CCM"
	case ProgramPCM:
		return "PCM"
	}
	return strings.ToUpper(string(p))
}
