package rules

import (
	"fmt"
	"strconv"
	"time"
)

// evaluator holds one evaluation's working state. It is created by Evaluate
// and never shared.
type evaluator struct {
	f       Facts
	p       Policy
	loc     *time.Location
	month   Month
	start   time.Time // local midnight of the month's first day
	end     time.Time // local midnight of the next month's first day
	mStart  int64     // start in Unix minutes
	mEnd    int64     // end in Unix minutes
	last    Date      // the month's last day
	program Program
	npi     string

	consent  consentState
	carePlan carePlanState
	// ccm and pcm are the qualifying conditions, once ccmDone and pcmDone.
	ccm, pcm         []Condition
	ccmDone, pcmDone bool
	dx               []string // line diagnoses

	buf *scratch
}

// Evaluate applies the rules to one patient-month. It is pure and
// deterministic: no I/O, no clock, and the same Facts always give an
// identical Evaluation. It is safe for concurrent use, and it neither
// modifies f nor keeps any reference to it.
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
	ev := e.run()
	e.buf.release()
	return ev
}

// init sets e up for f. Evaluate keeps its evaluator on the stack and its
// slices in pooled scratch: a rebuild evaluates every patient-month, and
// allocating them afresh was most of its garbage.
func (e *evaluator) init(f Facts) {
	loc := f.Location
	if loc == nil {
		loc = time.UTC
	}
	start, end := f.Month.Start(loc), f.Month.End(loc)
	*e = evaluator{
		f:      f,
		p:      f.Policy.withDefaults(),
		loc:    loc,
		month:  f.Month,
		start:  start,
		end:    end,
		mStart: unixMinute(start),
		mEnd:   unixMinute(end),
		last:   f.Month.LastDay(),
		npi:    f.BillingPractitioner.NPI,
		buf:    scratchPool.Get().(*scratch),
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
		Excluded:        att.excluded,
		RuleSetVersion:  RuleSetVersion,
	}

	var first []Reason // the reasons before the holds
	switch {
	case len(e.buf.blocking) > 0:
		ev.Status = StatusNotBillable
		first = e.buf.blocking
		ev.UnbilledMinutes = att.total
	case pr.base.units == 0:
		ev.Status = StatusNotBillable
		first = []Reason{e.shortfallReason(att, pr)}
		ev.UnbilledMinutes = att.total
	case len(e.buf.holds) > 0:
		ev.Status = StatusHold
		ev.Lines = e.lines(pr, att)
	default:
		ev.Status = StatusBillable
		ev.Lines = e.lines(pr, att)
	}
	ev.Reasons = make([]Reason, 0, len(first)+len(e.buf.holds))
	ev.Reasons = append(append(ev.Reasons, first...), e.buf.holds...)

	if b := e.f.Billed; b != nil {
		ev.Status = StatusBilled
		if b.Lines != nil && !sameLines(b.Lines, ev.Lines) {
			e.flag(FlagPostCloseChange, fmt.Sprintf(
				"the month was billed in batch %s, but the facts now give %s instead of %s",
				b.BatchID, describeLines(ev.Lines), describeLines(b.Lines)))
		}
	}
	ev.Flags = make([]Flag, len(e.buf.flags))
	copy(ev.Flags, e.buf.flags)
	return ev
}

func (e *evaluator) patientID() string {
	if e.f.PatientID != "" {
		return e.f.PatientID
	}
	return e.f.Patient.ID
}

func (e *evaluator) block(code ReasonCode, format string, args ...any) {
	e.buf.blocking = append(e.buf.blocking, Reason{Code: code, Message: fmt.Sprintf(format, args...)})
}

func (e *evaluator) hold(code ReasonCode, format string, args ...any) {
	e.buf.holds = append(e.buf.holds, Reason{Code: code, Message: fmt.Sprintf(format, args...)})
}

func (e *evaluator) flag(code ReasonCode, message string) {
	e.buf.flags = append(e.buf.flags, Flag{code, message})
}

// shortfallReason explains a month that passed every gate but produced no
// line: every counted minute after death (A15), no minute after the consent
// (K4: no consent on file before the service, reason-codes.md no_consent),
// or too few minutes (T1).
func (e *evaluator) shortfallReason(att attribution, pr pricing) Reason {
	if att.total == 0 && att.afterDeath > 0 {
		return Reason{Code: ReasonPatientDeceased, Message: "every minute (" + strconv.Itoa(att.afterDeath) +
			") falls after the date of death " + e.f.Patient.DeceasedDate.String()}
	}
	if att.total == 0 && att.beforeConsent > 0 {
		return Reason{Code: ReasonNoConsent, Message: "every minute (" + strconv.Itoa(att.beforeConsent) +
			") falls before the consent was obtained (K4)"}
	}
	mn := new([2]int) // minutes and needed, in one allocation
	mn[0], mn[1] = pr.minutes, pr.needed
	minutes, needed := strconv.Itoa(pr.minutes), strconv.Itoa(pr.needed)
	return Reason{
		Code: ReasonBelowThreshold,
		Message: minutes + " of " + needed + " minutes: " + pr.baseCode + " needs at least " + needed +
			" minutes in the calendar month (T1)",
		Minutes: &mn[0],
		Needed:  &mn[1],
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
