package rules

import "fmt"

// claimRule is one same-month rule of §2 as data: a claim of class in the
// same service month, by the same (or another) practitioner, blocks the
// evaluated program.
type claimRule struct {
	id       string
	programs []Program
	class    claimClass
	same     bool // true: same practitioner; false: another practitioner
	from, to Month
	enabled  func(Policy) bool
	reason   ReasonCode
	what     string
}

var bothPrograms = []Program{ProgramCCM, ProgramPCM}

var claimRules = []claimRule{
	// X3: only one practitioner can be paid for CCM per calendar month.
	{id: "X3", programs: []Program{ProgramCCM}, class: classCCM, same: false, reason: ReasonBilledByOtherPractitioner, what: "CCM"},
	// X3 (same practitioner): one claim per patient-month (§6.2 category 1).
	{id: "X3", programs: bothPrograms, class: sameProgramClass, same: true, reason: ReasonDuplicateClaim, what: "this program"},
	// X4: CCM and PCM by the same practitioner in one month.
	{id: "X4", programs: []Program{ProgramCCM}, class: classPCM, same: true, reason: ReasonCCMAndPCMSamePractitioner, what: "PCM"},
	{id: "X4", programs: []Program{ProgramPCM}, class: classCCM, same: true, reason: ReasonCCMAndPCMSamePractitioner, what: "CCM"},
	// X9: APCM (from 2025) bundles CCM and PCM for the same practitioner.
	{id: "X9", programs: bothPrograms, class: classAPCM, same: true, from: MustMonth("2025-01"), reason: ReasonBundledInAPCM, what: "APCM (G0556–G0558)"},
	// X8 / A1: home-health/hospice CPO or ESRD monthly services, same practitioner.
	{id: "X8", programs: []Program{ProgramCCM}, class: classCPOESRD, same: true, reason: ReasonOverlappingServiceExclusion,
		what:    "care plan oversight (G0181/G0182) or ESRD monthly services (90951–90970)",
		enabled: func(p Policy) bool { return p.CPOAndESRDOverlap == BlockSamePractitioner }},
	// X5: TCM with CCM by the same practitioner was excluded before CY2020.
	{id: "X5", programs: []Program{ProgramCCM}, class: classTCM, same: true, to: MustMonth("2019-12"), reason: ReasonOverlappingServiceExclusion, what: "TCM (before 2020)"},
}

// sameProgramClass marks the X3 same-practitioner rule, whose class is the
// evaluated program's own.
const sameProgramClass claimClass = "own"

func (r *claimRule) matches(prog Program, m Month, p *Policy) bool {
	if !contains(r.programs, prog) || (!r.from.IsZero() && m.Before(r.from)) || (!r.to.IsZero() && r.to.Before(m)) {
		return false
	}
	return r.enabled == nil || r.enabled(*p)
}

var voidClaimStatuses = []string{"denied", "rejected", "void", "voided", "cancelled", "canceled"}

// monthClaims are the external claims of the service month, plus the month's
// TCM visits (a TCM service is billed by whoever furnished the visit). A
// claim recorded again with the same code, practitioner, service month and
// date of service is the same claim with a new status: only its latest
// record counts (a claim first billed, then denied, no longer blocks).
func (e *evaluator) monthClaims() []ExternalClaim {
	out := e.buf.claims[:0]
	for i, c := range e.f.ExternalClaims {
		if contains(voidClaimStatuses, c.Status) || supersededClaim(e.f.ExternalClaims, i) {
			continue
		}
		m := c.ServiceMonth
		if m.IsZero() {
			m = c.DateOfService.MonthOf()
		}
		if m == e.month {
			out = append(out, c)
		}
	}
	for i := range e.f.Encounters {
		if en := &e.f.Encounters[i]; en.Kind == EncounterTCM && DateOf(en.Start, e.loc).MonthOf() == e.month {
			code := en.Code
			if classify(code) != classTCM {
				code = "99495"
			}
			out = append(out, ExternalClaim{Code: code, PractitionerNPI: en.PractitionerNPI, ServiceMonth: e.month, EventID: en.EventID})
		}
	}
	e.buf.claims = out
	return out
}

// supersededClaim reports whether a later claim of claims has claims[i]'s
// code, practitioner, service month and date of service.
func supersededClaim(claims []ExternalClaim, i int) bool {
	c := claims[i]
	for _, d := range claims[i+1:] {
		if d.Code == c.Code && d.PractitionerNPI == c.PractitionerNPI && d.ServiceMonth == c.ServiceMonth && d.DateOfService == c.DateOfService {
			return true
		}
	}
	return false
}

// checkClaims applies the same-month exclusions of §2 (X3, X4, X5, X8, X9)
// to known claims. X5 (TCM since 2020), X6 (RPM), X7 (BHI), X10 (E/M) and X11
// (G0506) allow both services; their minutes are kept apart by attribution
// (T7).
func (e *evaluator) checkClaims() {
	claims := e.monthClaims()
	if len(claims) == 0 {
		return // no rule can apply
	}
	for i := range claimRules {
		r := &claimRules[i]
		if !r.matches(e.program, e.month, &e.p) {
			continue
		}
		class := r.class
		if class == sameProgramClass {
			class = programClass(e.program)
		}
		for _, c := range claims {
			if classify(c.Code) != class || e.forBillingPractitioner(c.PractitionerNPI) != r.same {
				continue
			}
			who := "the same practitioner"
			if !r.same {
				who = "practitioner " + c.PractitionerNPI
			}
			e.block(r.reason, "%s billed %s (%s) for %s (%s)", who, r.what, c.Code, e.month, r.id)
			break
		}
	}
}

// String makes rule ids readable in test failures.
func (r claimRule) String() string { return fmt.Sprintf("%s/%s", r.id, r.reason) }
