package state

import (
	"cmp"
	"slices"
	"time"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/eventlog"
)

// Fold folds one patient's stream records (eventlog.Record from
// github.com/carelog/carelog/pkg/eventlog, in log order, already
// chain-verified by the reader) into the state at effectiveAt as known at
// asOf: a record counts when RecordedAt <= asOf (bitemporal "known") and its
// fact had happened by effectiveAt. loc is the practice time zone (nil =
// UTC) used for end-of-month of a revocation.
//
// When a fact happened:
//   - a consent decision at ObtainedAt; a revocation at RevokedAt, so a
//     consent is revoked from RevokedAt on (ccm-rules §8 A2 default: no
//     minute after it counts) and billable through the end of that month
//     (K2c, K7; Revocation.BillableThrough);
//   - a condition on its onset date, else at the event's OccurredAt;
//   - a date of death on that date; calendar dates are compared with
//     effectiveAt's date in loc;
//   - a care plan at EstablishedAt, a revision at RevisedAt, a copy at
//     ProvidedAt, a complexity decision at DecidedAt, an encounter at Start,
//     an external claim on its date of service, else on the first day of its
//     service month in loc.
//
// The enrolment is an identity fact and counts when known (State.Enrolled).
// activity.* events only advance AsOfSequence and FirstActivityAt (at their
// OccurredAt, the entry's start).
//
// Fold never fails and never panics: a record it cannot use is counted in
// Skipped. It does not modify recs. The result depends only on its
// arguments; Months is left nil.
func Fold(patientID string, recs []eventlog.Record, effectiveAt, asOf time.Time, loc *time.Location) State {
	if loc == nil {
		loc = time.UTC
	}
	f := folder{
		loc: loc, at: effectiveAt, day: effectiveAt.In(loc).Format(time.DateOnly),
		s: State{
			PatientID: patientID, EffectiveAt: effectiveAt, AsOf: asOf,
			Conditions: []Condition{}, Consents: []Consent{}, Programs: []ProgramConsent{}, CarePlans: []CarePlan{},
			ComplexityDecisions: []ComplexityDecision{}, Encounters: []Encounter{}, ExternalClaims: []ExternalClaim{},
			SkippedEventIDs: []string{},
		},
	}
	stream := events.PatientStream(patientID)
	for i := range recs {
		r := &recs[i]
		if r.RecordedAt.After(asOf) {
			continue // not known at asOf
		}
		if r.Stream != stream {
			f.skip(r)
			continue
		}
		f.s.AsOfSequence = max(f.s.AsOfSequence, r.Sequence)
		f.apply(r)
	}
	f.finish()
	return f.s
}

// folder holds the fold in progress: every known fact, before the
// effectiveAt filter that needs the whole stream (a revocation or revision
// refers to an earlier event that may itself be outside the state).
type folder struct {
	loc *time.Location
	at  time.Time
	day string // effectiveAt's date in loc
	s   State

	consents []*knownConsent
	plans    []*knownPlan
	deceased struct {
		date, eventID string
	}
}

type knownConsent struct {
	c          Consent
	revocation *Revocation
}

type knownPlan struct {
	e          events.CarePlanEstablished
	eventID    string
	recordedAt time.Time
	revisions  []knownRevision
	copies     []CarePlanCopy
}

type knownRevision struct {
	r   events.CarePlanRevised
	out CarePlanRevision
}

func (f *folder) skip(r *eventlog.Record) {
	f.s.Skipped++
	f.s.SkippedEventIDs = append(f.s.SkippedEventIDs, r.ID)
}

// activity lowers FirstActivityAt to t when t happened by effectiveAt.
func (f *folder) activity(t time.Time) {
	if t.IsZero() || t.After(f.at) {
		return
	}
	if f.s.FirstActivityAt.IsZero() || t.Before(f.s.FirstActivityAt) {
		f.s.FirstActivityAt = t
	}
}

// onOrBefore reports whether calendar date d (YYYY-MM-DD) is on or before
// effectiveAt's date in loc; ok is false when d is not a date.
func (f *folder) onOrBefore(d string) (on, ok bool) {
	if _, err := time.Parse(time.DateOnly, d); err != nil {
		return false, false
	}
	return d <= f.day, true
}

// dayStart is the first instant of calendar date d in loc.
func (f *folder) dayStart(d string) (time.Time, bool) {
	t, err := time.Parse(time.DateOnly, d)
	if err != nil {
		return time.Time{}, false
	}
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, f.loc), true
}

// monthStart is the first instant of service month m (YYYY-MM) in loc.
func (f *folder) monthStart(m string) (time.Time, bool) {
	t, err := time.Parse("2006-01", m)
	if err != nil {
		return time.Time{}, false
	}
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, f.loc), true
}

func (f *folder) apply(r *eventlog.Record) {
	switch r.Type {
	case events.TypeTimeRecorded, events.TypeTimeCorrected:
		// Time belongs to the months' evaluations; only its start (the
		// envelope's OccurredAt) marks activity.
		f.activity(r.OccurredAt)
		return
	case events.TypeTimeVoided:
		return
	}
	p, err := events.DefaultRegistry().Decode(r.Envelope)
	if err != nil {
		f.skip(r)
		return
	}
	ok := true
	switch e := p.(type) {
	case *events.PatientEnrolled:
		ok = f.enrolled(r, e)
	case *events.PatientDied:
		f.died(r, e.DeceasedDate)
	case *events.ConditionRecorded:
		f.condition(r, e)
	case *events.ConsentGranted:
		f.consent(r, DecisionAccepted, *e)
	case *events.ConsentDeclined:
		f.consent(r, DecisionDeclined, events.ConsentGranted(*e))
	case *events.ConsentRevoked:
		ok = f.revoked(r, e)
	case *events.CarePlanEstablished:
		ok = f.established(r, e)
	case *events.CarePlanRevised:
		ok = f.revised(r, e)
	case *events.CarePlanCopyProvided:
		ok = f.copied(r, e)
	case *events.ComplexityRecorded:
		f.complexity(r, e)
	case *events.EncounterRecorded:
		f.encounter(r, e)
	case *events.ExternalClaimRecorded:
		f.claim(r, e)
	default:
		ok = false // practice or batch events do not belong here
	}
	if !ok {
		f.skip(r)
	}
}

func (f *folder) enrolled(r *eventlog.Record, e *events.PatientEnrolled) bool {
	if f.s.Enrolled {
		return false // the stream's first event only
	}
	f.s.Enrolled = true
	f.s.Enrollment = &Enrollment{
		MRN: e.MRN, Name: e.Name, BirthDate: e.BirthDate, MBI: e.MBI, BillingPractitionerNPI: e.BillingPractitionerNPI,
		EnrolledAt: r.OccurredAt, EventID: r.ID, RecordedAt: r.RecordedAt,
	}
	f.activity(r.OccurredAt)
	if e.DeceasedDate != "" {
		f.died(r, e.DeceasedDate)
	}
	return true
}

// died records the latest known date of death; a later event corrects an
// earlier one.
func (f *folder) died(r *eventlog.Record, date string) {
	f.deceased.date, f.deceased.eventID = date, r.ID
}

func (f *folder) condition(r *eventlog.Record, e *events.ConditionRecorded) {
	// Without an onset date a chronic condition has no start in the record:
	// it stands at every moment once known, as billing reads it (§1.2
	// 99490: two chronic conditions; the engine counts a condition in a month
	// unless its onset date falls after it), so the state never contradicts
	// a month's evaluation.
	on, ok := f.onOrBefore(e.OnsetDate)
	if !ok {
		on = true
	}
	if !on {
		return
	}
	f.s.Conditions = append(f.s.Conditions, Condition{
		Code: e.Code, Description: e.Description, ExpectedDurationMonths: e.ExpectedDurationMonths,
		SignificantRisk: e.SignificantRisk, OnsetDate: e.OnsetDate, EventID: r.ID, RecordedAt: r.RecordedAt,
	})
}

// consent records a decision; consent.declined has the fields of
// consent.granted.
func (f *folder) consent(r *eventlog.Record, decision string, e events.ConsentGranted) {
	disclosures := slices.Clone(e.Disclosures)
	if disclosures == nil {
		disclosures = []string{}
	}
	f.consents = append(f.consents, &knownConsent{c: Consent{
		ID: e.ID, Program: e.Program, Decision: decision, Method: e.Method, ObtainedAt: e.ObtainedAt,
		ObtainedBy: e.ObtainedBy, PractitionerNPI: e.PractitionerNPI, Disclosures: disclosures,
		EventID: r.ID, RecordedAt: r.RecordedAt,
	}})
}

// revoked attaches a revocation to the latest accepted consent with its id;
// a second revocation of the same consent is not used (the consent service
// refuses it, 409).
func (f *folder) revoked(r *eventlog.Record, e *events.ConsentRevoked) bool {
	for i := len(f.consents) - 1; i >= 0; i-- {
		k := f.consents[i]
		if k.c.ID != e.ConsentID || k.c.Decision != DecisionAccepted {
			continue
		}
		if k.revocation != nil {
			return false
		}
		k.revocation = &Revocation{
			RevokedAt: e.RevokedAt, RecordedBy: e.RecordedBy, Reason: e.Reason, EventID: r.ID, RecordedAt: r.RecordedAt,
			BillableThrough: endOfMonth(e.RevokedAt, f.loc),
		}
		return true
	}
	return false
}

// endOfMonth is the last day (YYYY-MM-DD) of the calendar month holding t
// in loc (ccm-rules K2c, K7: the right to stop takes effect at the end of
// the calendar month).
func endOfMonth(t time.Time, loc *time.Location) string {
	y, m, _ := t.In(loc).Date()
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
}

func (f *folder) plan(id string) *knownPlan {
	for _, p := range f.plans {
		if p.e.ID == id {
			return p
		}
	}
	return nil
}

func (f *folder) established(r *eventlog.Record, e *events.CarePlanEstablished) bool {
	if f.plan(e.ID) != nil {
		return false // a plan is established once
	}
	f.plans = append(f.plans, &knownPlan{e: *e, eventID: r.ID, recordedAt: r.RecordedAt})
	f.activity(e.EstablishedAt)
	return true
}

func (f *folder) revised(r *eventlog.Record, e *events.CarePlanRevised) bool {
	p := f.plan(e.PlanID)
	if p == nil {
		return false
	}
	at := e.RevisedAt
	if at.IsZero() {
		at = r.OccurredAt
	}
	p.revisions = append(p.revisions, knownRevision{r: *e, out: CarePlanRevision{
		EventID: r.ID, RevisedAt: at, RecordedAt: r.RecordedAt, AuthorNPI: e.AuthorNPI, Changed: changed(e),
	}})
	f.activity(at)
	return true
}

func (f *folder) copied(r *eventlog.Record, e *events.CarePlanCopyProvided) bool {
	p := f.plan(e.PlanID)
	if p == nil {
		return false
	}
	p.copies = append(p.copies, CarePlanCopy{ProvidedAt: e.ProvidedAt, To: e.To, Method: e.Method, EventID: r.ID, RecordedAt: r.RecordedAt})
	f.activity(e.ProvidedAt)
	return true
}

func (f *folder) complexity(r *eventlog.Record, e *events.ComplexityRecorded) {
	if e.DecidedAt.After(f.at) {
		return
	}
	f.s.ComplexityDecisions = append(f.s.ComplexityDecisions, ComplexityDecision{
		Month: e.Month, Level: e.Level, PractitionerNPI: e.PractitionerNPI, DecidedAt: e.DecidedAt, EventID: r.ID, RecordedAt: r.RecordedAt,
	})
	f.activity(e.DecidedAt)
	if m, ok := f.monthStart(e.Month); ok {
		f.activity(m)
	}
}

func (f *folder) encounter(r *eventlog.Record, e *events.EncounterRecorded) {
	if e.Start.After(f.at) {
		return
	}
	var end *time.Time
	if e.End != nil {
		t := *e.End
		end = &t
	}
	f.s.Encounters = append(f.s.Encounters, Encounter{
		ID: e.ID, Kind: e.Kind, Code: e.Code, PractitionerNPI: e.PractitionerNPI, Start: e.Start, End: end,
		TimeBased: e.TimeBased, CCMDiscussed: e.CCMDiscussed, G0506: e.G0506, EventID: r.ID, RecordedAt: r.RecordedAt,
	})
	f.activity(e.Start)
}

func (f *folder) claim(r *eventlog.Record, e *events.ExternalClaimRecorded) {
	start, ok := f.dayStart(e.DateOfService)
	if !ok {
		start, ok = f.monthStart(e.ServiceMonth)
	}
	if !ok {
		start = r.OccurredAt
	}
	if start.After(f.at) {
		return
	}
	f.s.ExternalClaims = append(f.s.ExternalClaims, ExternalClaim{
		Code: e.Code, PractitionerNPI: e.PractitionerNPI, ServiceMonth: e.ServiceMonth, DateOfService: e.DateOfService,
		Status: e.Status, EventID: r.ID, RecordedAt: r.RecordedAt,
	})
	f.activity(start)
}

// finish applies the effectiveAt filter to the facts that needed the whole
// known stream: death, consents and care plans.
func (f *folder) finish() {
	if d := f.deceased.date; d != "" {
		if on, ok := f.onOrBefore(d); on && ok {
			f.s.DeceasedDate, f.s.DeceasedEventID = d, f.deceased.eventID
		}
	}
	for _, k := range f.consents {
		if k.c.ObtainedAt.After(f.at) {
			continue
		}
		c := k.c
		switch {
		case c.Decision == DecisionDeclined:
			c.Status = StatusDeclined
		case k.revocation != nil && !k.revocation.RevokedAt.After(f.at):
			c.Status = StatusRevoked
			rv := *k.revocation
			c.Revocation = &rv
		default:
			c.Status = StatusInForce
		}
		f.s.Consents = append(f.s.Consents, c)
		f.activity(c.ObtainedAt)
	}
	f.s.Programs = programs(f.s.Consents)
	for _, p := range f.plans {
		if p.e.EstablishedAt.After(f.at) {
			continue
		}
		f.s.CarePlans = append(f.s.CarePlans, p.at(f.at))
	}
}

// programs summarizes consents (in log order) per program, sorted by
// program. The consent shown is the in-force one obtained last, else the
// decision obtained last; on equal ObtainedAt the later in the log.
func programs(consents []Consent) []ProgramConsent {
	best := map[string]Consent{}
	for _, c := range consents {
		b, seen := best[c.Program]
		inForce, bInForce := c.Status == StatusInForce, b.Status == StatusInForce
		if !seen || (inForce && !bInForce) || (inForce == bInForce && !c.ObtainedAt.Before(b.ObtainedAt)) {
			best[c.Program] = c
		}
	}
	out := make([]ProgramConsent, 0, len(best))
	for program, c := range best {
		out = append(out, ProgramConsent{
			Program: program, InForce: c.Status == StatusInForce, ConsentID: c.ID, Status: c.Status, PractitionerNPI: c.PractitionerNPI,
		})
	}
	slices.SortFunc(out, func(a, b ProgramConsent) int { return cmp.Compare(a.Program, b.Program) })
	return out
}

// at returns the plan at effectiveAt: the establishment with the revisions
// whose RevisedAt is on or before it applied in log order, and the copies
// provided by then. Each present field of a revision replaces the previous
// value whole; a non-nil empty list empties it (events.CarePlanRevised).
func (p *knownPlan) at(effectiveAt time.Time) CarePlan {
	e := p.e
	out := CarePlan{
		ID: e.ID, Kind: e.Kind, EstablishedAt: e.EstablishedAt, AuthorNPI: e.AuthorNPI, Electronic: e.Electronic, Version: 1,
		Elements: CarePlanElements{
			Problems: list(e.Problems), ExpectedOutcome: e.ExpectedOutcome, Prognosis: e.Prognosis, Goals: list(e.Goals),
			SymptomManagement: e.SymptomManagement, Interventions: list(e.Interventions), Medications: list(e.Medications),
			CommunityResources: list(e.CommunityResources), Coordination: list(e.Coordination), ReviewSchedule: e.ReviewSchedule,
			CognitiveFunctionalAssessment: e.CognitiveFunctionalAssessment, EnvironmentalEvaluation: e.EnvironmentalEvaluation,
			CaregiverAssessment: e.CaregiverAssessment,
		},
		Revisions: []CarePlanRevision{}, Copies: []CarePlanCopy{}, EventID: p.eventID, RecordedAt: p.recordedAt,
	}
	for _, kr := range p.revisions {
		if kr.out.RevisedAt.After(effectiveAt) {
			continue
		}
		r, el := kr.r, &out.Elements
		if r.Electronic != nil {
			out.Electronic = *r.Electronic
		}
		replace(&el.Problems, r.Problems)
		replaceText(&el.ExpectedOutcome, r.ExpectedOutcome)
		replaceText(&el.Prognosis, r.Prognosis)
		replace(&el.Goals, r.Goals)
		replaceText(&el.SymptomManagement, r.SymptomManagement)
		replace(&el.Interventions, r.Interventions)
		replace(&el.Medications, r.Medications)
		replace(&el.CommunityResources, r.CommunityResources)
		replace(&el.Coordination, r.Coordination)
		if r.ReviewSchedule != nil {
			el.ReviewSchedule = *r.ReviewSchedule
		}
		replaceText(&el.CognitiveFunctionalAssessment, r.CognitiveFunctionalAssessment)
		replaceText(&el.EnvironmentalEvaluation, r.EnvironmentalEvaluation)
		replaceText(&el.CaregiverAssessment, r.CaregiverAssessment)
		rv := kr.out
		rv.Changed = slices.Clone(rv.Changed)
		out.Revisions = append(out.Revisions, rv)
		out.Version++
	}
	for _, c := range p.copies {
		if !c.ProvidedAt.After(effectiveAt) {
			out.Copies = append(out.Copies, c)
		}
	}
	return out
}

// changed names the fields a revision carries (present: non-nil), by JSON
// name in CarePlanElements order, "electronic" first.
func changed(r *events.CarePlanRevised) []string {
	out := []string{}
	for _, f := range []struct {
		name    string
		present bool
	}{
		{"electronic", r.Electronic != nil},
		{"problems", r.Problems != nil},
		{"expectedOutcome", r.ExpectedOutcome != nil},
		{"prognosis", r.Prognosis != nil},
		{"goals", r.Goals != nil},
		{"symptomManagement", r.SymptomManagement != nil},
		{"interventions", r.Interventions != nil},
		{"medications", r.Medications != nil},
		{"communityResources", r.CommunityResources != nil},
		{"coordination", r.Coordination != nil},
		{"reviewSchedule", r.ReviewSchedule != nil},
		{"cognitiveFunctionalAssessment", r.CognitiveFunctionalAssessment != nil},
		{"environmentalEvaluation", r.EnvironmentalEvaluation != nil},
		{"caregiverAssessment", r.CaregiverAssessment != nil},
	} {
		if f.present {
			out = append(out, f.name)
		}
	}
	return out
}

func replace[T any](dst *[]T, src []T) {
	if src != nil {
		*dst = list(src)
	}
}

func replaceText(dst *string, src *string) {
	if src != nil {
		*dst = *src
	}
}

// list returns a copy of s that is never nil, so the state shares no slice
// with the decoded payloads.
func list[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return slices.Clone(s)
}
