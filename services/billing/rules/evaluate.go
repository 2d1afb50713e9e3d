package rules

import (
	"fmt"
	"time"
)

// evaluator holds one evaluation's working state. It is created by Evaluate
// and never shared.
type evaluator struct {
	f       Facts
	p       Policy
	loc     *time.Location
	month   Month
	mStart  int64 // first minute of the month, local time
	mEnd    int64 // first minute of the next month
	program Program
	npi     string

	blocking []Reason // not_billable gates
	holds    []Reason

	consent  consentState
	carePlan carePlanState
	dx       []string
	ccm, pcm []Condition // qualifying conditions (non-nil once computed)
	windows  []window    // windowsFor's buffer, reused entry after entry
}

// Evaluate applies the rules to one patient-month. It is pure and
// deterministic: no I/O, no clock, and the same Facts always give an
// identical Evaluation.
//
// Order of work: choose the program (ccm or pcm); run the gates of §9.3
// (practitioner, code in effect, conditions, consent, initiating visit, care
// plan, same-month exclusions of §2, death); attribute minutes (§3, §8);
// choose the pathway and price it (§1.2). Status is not_billable when a gate
// fails or no line results, hold when lines result but documentation is
// incomplete, billable otherwise, and billed whenever the month is in a
// closed batch. below_threshold is reported only when no other gate fails,
// so each reason names something a person can act on.
func Evaluate(f Facts) Evaluation {
	var e evaluator
	e.init(f)
	return e.run()
}

// init sets e up for f. Evaluate keeps its evaluator on the stack: a
// rebuild evaluates every patient-month, and a heap-allocated evaluator
// (it holds the Facts and the Policy) was a large share of its garbage.
func (e *evaluator) init(f Facts) {
	loc := f.Location
	if loc == nil {
		loc = time.UTC
	}
	*e = evaluator{
		f:      f,
		p:      f.Policy.withDefaults(),
		loc:    loc,
		month:  f.Month,
		mStart: unixMinute(f.Month.Start(loc)),
		mEnd:   unixMinute(f.Month.End(loc)),
		npi:    f.BillingPractitioner.NPI,
	}
}

func (e *evaluator) run() Evaluation {
	e.program = e.chooseProgram()
	e.checkPractitioner()
	e.checkProgramInEffect()
	e.checkConditions()
	e.checkConsent()
	e.checkInitiatingVisit()
	e.checkCarePlan()
	e.checkClaims()
	e.checkDeath()

	att := e.attribute()
	pr := e.price(att)

	ev := Evaluation{
		PatientID:       e.patientID(),
		Month:           e.month.String(),
		Program:         e.program,
		Pathway:         pr.pathway,
		CountedMinutes:  att.total,
		UnbilledMinutes: pr.unbilled,
		Lines:           []Line{},
		Reasons:         []Reason{},
		Flags:           append([]Flag{}, att.flags...),
		Excluded:        att.excluded,
		RuleSetVersion:  RuleSetVersion,
	}
	ev.Flags = append(ev.Flags, pr.flags...)
	e.holds = append(e.holds, pr.holds...)

	switch {
	case len(e.blocking) > 0:
		ev.Status = StatusNotBillable
		ev.Reasons = append(ev.Reasons, e.blocking...)
		ev.UnbilledMinutes = att.total
	case len(pr.codes) == 0:
		ev.Status = StatusNotBillable
		ev.Reasons = append(ev.Reasons, e.shortfallReason(att, pr))
		ev.UnbilledMinutes = att.total
	case len(e.holds) > 0:
		ev.Status = StatusHold
		ev.Lines = e.lines(pr, att)
	default:
		ev.Status = StatusBillable
		ev.Lines = e.lines(pr, att)
	}
	ev.Reasons = append(ev.Reasons, e.holds...)

	if b := e.f.Billed; b != nil {
		ev.Status = StatusBilled
		if b.Lines != nil && !sameLines(b.Lines, ev.Lines) {
			ev.Flags = append(ev.Flags, Flag{FlagPostCloseChange, fmt.Sprintf(
				"the month was billed in batch %s, but the facts now give %s instead of %s",
				b.BatchID, describeLines(ev.Lines), describeLines(b.Lines))})
		}
	}
	return ev
}

func (e *evaluator) patientID() string {
	if e.f.PatientID != "" {
		return e.f.PatientID
	}
	return e.f.Patient.ID
}

func (e *evaluator) block(code ReasonCode, format string, args ...any) {
	e.blocking = append(e.blocking, Reason{Code: code, Message: fmt.Sprintf(format, args...)})
}

func (e *evaluator) hold(code ReasonCode, format string, args ...any) {
	e.holds = append(e.holds, Reason{Code: code, Message: fmt.Sprintf(format, args...)})
}

// shortfallReason explains a month that passed every gate but produced no
// line: every counted minute after death (A15), or too few minutes (T1).
func (e *evaluator) shortfallReason(att attribution, pr pricing) Reason {
	if att.total == 0 && att.afterDeath > 0 {
		return Reason{Code: ReasonPatientDeceased, Message: fmt.Sprintf(
			"every minute (%d) falls after the date of death %s", att.afterDeath, e.f.Patient.DeceasedDate)}
	}
	minutes, needed := pr.minutes, pr.needed
	return Reason{
		Code: ReasonBelowThreshold,
		Message: fmt.Sprintf("%d of %d minutes: %s needs at least %d minutes in the calendar month (T1)",
			minutes, needed, pr.baseCode, needed),
		Minutes: &minutes,
		Needed:  &needed,
	}
}

func sameLines(a, b []Line) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Code != b[i].Code || a[i].Units != b[i].Units {
			return false
		}
	}
	return true
}

func describeLines(ls []Line) string {
	if len(ls) == 0 {
		return "no lines"
	}
	s := ""
	for i, l := range ls {
		if i > 0 {
			s += " + "
		}
		s += fmt.Sprintf("%s ×%d", l.Code, l.Units)
	}
	return s
}
