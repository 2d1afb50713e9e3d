package rules

import (
	"fmt"
	"strconv"
)

// pricing is a month's pathway and the codes its minutes reach (§1.2).
// Its holds and flags go straight to the evaluator's.
type pricing struct {
	pathway  Pathway
	baseCode string
	minutes  int // minutes priced on the pathway
	needed   int // the pathway's base threshold
	// base is the base code, once its threshold is met (units 0: no
	// line); addOn its add-on, when units > 0.
	base, addOn codeUnits
	unbilled    int
	// whose counted time the pathway uses (for threshold_met dates).
	usesPractitioner, usesStaff bool
	complexEventID              string
}

type codeUnits struct {
	code  string
	units int
}

// price chooses the pathway and turns its minutes into codes.
func (e *evaluator) price(att attribution) pricing {
	if e.program == ProgramPCM {
		pr := e.choosePath(att, PathwayPCMStaff, PathwayPCMPractitioner)
		return pr
	}
	return e.priceCCM(att)
}

// priceCCM: complex CCM when the month has moderate/high MDM by the billing
// practitioner (T11) and reaches 60 minutes of staff time, the billing
// practitioner's time included (T4); complex and non-complex never together
// (X1). A complex month short of 60 minutes falls back to non-complex (A3
// default) with a flag; a month designated complex without this month's MDM
// is held (complexity_not_documented) and priced as non-complex meanwhile,
// or flagged like a complex month when it stays under 60 minutes.
func (e *evaluator) priceCCM(att attribution) pricing {
	cx := e.complexity()
	staffTime := att.staff
	asStaff := e.p.PractitionerTimeAsStaff == CountAsStaff
	if asStaff {
		staffTime += att.practitioner
	}
	complexBase, complexOK := baseCode(PathwayComplex, e.month)
	switch {
	case cx.documented && complexOK && staffTime >= complexBase.Threshold:
		pr := e.pathwayPricing(PathwayComplex, staffTime, att.total)
		pr.usesPractitioner, pr.usesStaff = asStaff, true
		pr.complexEventID = cx.eventID
		return pr
	case cx.documented && complexOK && e.p.ComplexShortfall == NotBillable:
		pr := e.pathwayPricing(PathwayComplex, staffTime, att.total)
		pr.usesPractitioner, pr.usesStaff = asStaff, true
		return pr
	case cx.documented && complexOK:
		e.flag(FlagComplexityDowngraded, fmt.Sprintf(
			"complex month (%s MDM) reached %d of %d minutes; evaluated as non-complex CCM (A3)",
			cx.level, staffTime, complexBase.Threshold))
	case cx.designated && complexOK && staffTime >= complexBase.Threshold:
		e.hold(ReasonComplexityNotDocumented,
			"%d minutes meet complex CCM (60), but no moderate or high MDM by the billing practitioner is recorded for %s; evaluated as non-complex meanwhile (T11)",
			staffTime, e.month)
	case cx.designated && complexOK:
		// reason-codes.md: a complex-designated month under 60 minutes.
		e.flag(FlagComplexityDowngraded, fmt.Sprintf(
			"complex-designated month reached %d of %d minutes; evaluated as non-complex CCM (A3)",
			staffTime, complexBase.Threshold))
	}
	return e.choosePath(att, PathwayClinicalStaff, PathwayPractitioner)
}

// choosePath picks between a staff pathway and the billing practitioner's
// personal pathway (T4, T5, A4); the two never mix in one month (X2, X4).
//   - staff time only: the staff pathway;
//   - practitioner time only: the personal pathway once it reaches its
//     threshold (99491/99424 at 30); below that the staff pathway, where the
//     practitioner's time counts as staff time (A4 default: 20–29 → 99490);
//   - both: the practice's mixed-time policy (A4 default: combine as staff
//     time), flagged pathway_policy_applied.
func (e *evaluator) choosePath(att attribution, staffPath, practPath Pathway) pricing {
	P, S := att.practitioner, att.staff
	asStaff := e.p.PractitionerTimeAsStaff == CountAsStaff
	practBase, practOK := baseCode(practPath, e.month)
	practMet := practOK && P >= practBase.Threshold
	staffBase, _ := baseCode(staffPath, e.month)

	staff := func(minutes int, withPract bool) pricing {
		pr := e.pathwayPricing(staffPath, minutes, att.total)
		pr.usesPractitioner, pr.usesStaff = withPract, true
		return pr
	}
	pract := func() pricing {
		pr := e.pathwayPricing(practPath, P, att.total)
		pr.usesPractitioner = true
		return pr
	}

	switch {
	case P == 0:
		return staff(S, false)
	case S == 0 && practMet:
		return pract()
	case S == 0 && asStaff:
		return staff(P, true)
	case S == 0 && practOK:
		return pract()
	case S == 0:
		return staff(0, false)
	}

	var pr pricing
	policy := e.p.MixedTimePathway
	switch {
	case policy == PractitionerPath && practMet:
		pr = pract()
	case asStaff:
		pr = staff(P+S, true)
	case S >= staffBase.Threshold || !practMet:
		pr = staff(S, false)
	default:
		pr = pract()
	}
	e.flag(FlagPathwayPolicyApplied, "billing practitioner "+strconv.Itoa(P)+" and staff "+strconv.Itoa(S)+
		" minutes: priced on the "+string(pr.pathway)+" pathway ("+strconv.Itoa(pr.minutes)+
		" minutes) under the practice's policy "+policy+"/"+e.p.PractitionerTimeAsStaff+"; pathways never mix (A4, T5)")
	return pr
}

// pathwayPricing applies the §1.2 arithmetic: the base code at its full
// threshold (T1), then one add-on unit per full increment beyond it (T2),
// capped by the code's frequency limit or MUE (and, for PCM, the practice's
// cap, A12). No rounding, no midpoint.
func (e *evaluator) pathwayPricing(p Pathway, minutes, total int) pricing {
	pr := pricing{pathway: p, minutes: minutes, unbilled: total}
	base, ok := baseCode(p, e.month)
	if !ok {
		return pr
	}
	pr.baseCode, pr.needed = base.Code, base.Threshold
	if minutes < base.Threshold {
		return pr
	}
	pr.base = codeUnits{base.Code, 1}
	used := base.Threshold
	if add, ok := addOnCode(base.Code, e.month); ok {
		units := (minutes - base.Threshold) / add.Increment
		if c := e.addOnCap(add); c > 0 && units > c {
			units = c
		}
		if units > 0 {
			pr.addOn = codeUnits{add.Code, units}
			used += units * add.Increment
		}
	}
	pr.unbilled = total - used
	return pr
}

func (e *evaluator) addOnCap(add CodeDef) int {
	c := add.MaxUnits
	if add.Program == ProgramPCM && e.p.PCMAddOnMaxUnits > 0 && (c == 0 || e.p.PCMAddOnMaxUnits < c) {
		c = e.p.PCMAddOnMaxUnits
	}
	return c
}

// lines turns the priced codes into claim lines: the base code, then its
// add-on. Each line has its own copy of the diagnoses and the evidence (one
// array holds every line's, each line's slices capped to its own part).
func (e *evaluator) lines(pr pricing, att attribution) []Line {
	codes := [2]codeUnits{pr.base, pr.addOn}
	n := 1
	if pr.addOn.units > 0 {
		n = 2
	}
	dos := e.dateOfService(pr, att).String()
	evidence := e.evidence(pr, att)
	out := make([]Line, 0, n)
	strs := make([]string, 0, n*(len(e.dx)+len(evidence)))
	for _, c := range codes[:n] {
		d := len(strs)
		strs = append(strs, e.dx...)
		v := len(strs)
		strs = append(strs, evidence...)
		out = append(out, Line{
			Code:            c.code,
			Units:           c.units,
			DateOfService:   dos,
			PractitionerNPI: e.npi,
			Diagnoses:       strs[d:v:v],
			Evidence:        strs[v:len(strs):len(strs)],
		})
	}
	return out
}

// dateOfService: A8/T9. The last day of the month by default, the first day
// or the day the base threshold was reached by policy; never after the date
// of death (A15).
func (e *evaluator) dateOfService(pr pricing, att attribution) Date {
	d := e.month.LastDay()
	switch e.p.DateOfService {
	case DOSMonthStart:
		d = e.month.FirstDay()
	case DOSThresholdMet:
		d = e.thresholdDate(pr, att)
	}
	if death := e.f.Patient.DeceasedDate; !death.IsZero() && death.Compare(d) < 0 {
		d = death
	}
	return d
}

// thresholdDate is the local date of the minute that reached the base
// threshold, counting only the time the pathway uses.
func (e *evaluator) thresholdDate(pr pricing, att attribution) Date {
	var acc int64
	for _, c := range att.counted {
		if (c.practitioner && !pr.usesPractitioner) || (!c.practitioner && !pr.usesStaff) {
			continue
		}
		if acc+c.len() >= int64(pr.needed) {
			m := c.lo + int64(pr.needed) - acc - 1
			return DateOf(minuteTime(m), e.loc)
		}
		acc += c.len()
	}
	return e.month.LastDay()
}

// evidence lists the events behind the lines: consent, care plan, its copy,
// the complexity decision (complex only), then each counted time entry.
// Each id appears once, at its first place; empty ids are left out.
func (e *evaluator) evidence(pr pricing, att attribution) []string {
	ids := &e.buf.evidence
	add := func(id string) {
		if _, ok := ids.find(id); id != "" && !ok {
			ids.insert(id)
		}
	}
	add(e.consent.eventID)
	add(e.carePlan.eventID)
	add(e.carePlan.copyEventID)
	add(pr.complexEventID)
	for _, r := range att.entries {
		if (r.practitioner && !pr.usesPractitioner) || (!r.practitioner && !pr.usesStaff) {
			continue
		}
		if r.e.EventID != "" {
			add(r.e.EventID)
		} else {
			add(r.e.ID)
		}
	}
	return ids.keys
}
