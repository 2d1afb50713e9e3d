package facts

import (
	"slices"
	"strings"
	"time"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/eventlog"
	"github.com/carelog/carelog/services/billing/internal/readmodel"
	"github.com/carelog/carelog/services/billing/rules"
	"github.com/carelog/carelog/services/careplan/plan"
)

// Span is an interval [Start, End) of time whose calendar months an event
// touches; End == Start (or zero) is a single instant.
type Span struct{ Start, End time.Time }

// Change says which of a patient's months an applied event may change, so
// that a projection re-evaluates only those.
type Change struct {
	// Applied is false when billing does not read the event (another
	// type, or a payload that does not decode); nothing changed.
	Applied bool
	// All: every month of the patient may change (enrolment, death,
	// conditions, consents, care plans, complexity, encounters).
	All bool
	// Spans are the periods whose months changed: a time entry's span, and
	// on a correction also its previous span.
	Spans  [2]Span
	NSpans int
	// Month is the one service month an external claim changes.
	Month rules.Month
}

// Patient is one patient stream folded for billing. Build it with
// NewPatient and Apply every event of the stream in log order.
type Patient struct {
	ID string
	// Enrolled is set by patient.enrolled; billing evaluates only enrolled
	// patients.
	Enrolled      bool
	EnrolledAt    time.Time // when the enrolment was recorded
	EnrollEventID string
	EnrollSeq     uint64
	BirthDate     rules.Date
	// BillingNPI is the practitioner who bills the patient's care
	// management (patient.enrolled).
	BillingNPI string
	// LastSeq is the sequence of the last event applied.
	LastSeq uint64

	deaths     list[rules.Date]
	conditions list[rules.Condition]
	consents   []consent
	plans      []*carePlan
	complexity list[rules.ComplexityDecision]
	encounters list[rules.Encounter]
	claims     list[rules.ExternalClaim]

	entries  []*entry // pointers: growing the list copies no entry
	entryIdx map[string]int32
	// buckets index entries by the UTC months their span touches (a zone is
	// never more than a day from UTC), so a month's entries are found
	// without scanning the whole history; wide holds entries spanning more
	// than maxBuckets months.
	buckets map[int32][]int32
	wide    []int32

	// The activity range: the first and last instant of any time entry
	// (every version), encounter and complexity decision ever recorded, and
	// the first and last explicit service month (external claims,
	// complexity months). Months derives the months to evaluate from it.
	actFirst, actLast time.Time
	monFirst, monLast rules.Month

	funnel funnel
}

// dated is a fact with the sequence of the event that recorded it.
type dated[T any] struct {
	v   T
	seq uint64
}

// list is an append-only list of facts with the sequences of the events
// that recorded them, in log order (so sequences increase). Its elements are
// never modified, so the facts of a month can share a prefix of it.
type list[T any] struct {
	v   []T
	seq []uint64
}

func (l *list[T]) add(v T, seq uint64) {
	l.v = append(l.v, v)
	l.seq = append(l.seq, seq)
}

// through returns the facts recorded at or before sequence through (0:
// all), sharing the list's storage: capped at its length, so later
// appends never write into it.
func (l *list[T]) through(through uint64) []T {
	n := len(l.v)
	if through != 0 {
		for n > 0 && l.seq[n-1] > through {
			n--
		}
	}
	return l.v[:n:n]
}

func (l *list[T]) last() (T, bool) {
	var zero T
	if len(l.v) == 0 {
		return zero, false
	}
	return l.v[len(l.v)-1], true
}

type consent struct {
	c          rules.Consent // RevokedAt is zero here; see revokedAt
	seq        uint64
	revokedAt  time.Time
	revokedSeq uint64
}

type carePlan struct {
	established events.CarePlanEstablished
	eventID     string
	seq         uint64
	cur         plan.Plan
	missing     []string
	revisions   []dated[revision] // kept to fold the plan as of a sequence
	copies      list[rules.CarePlanCopy]
	// view is the plan as the rules read it, kept current.
	view rules.CarePlan
}

type revision struct {
	r       events.CarePlanRevised
	eventID string
}

type entry struct {
	cur  rules.TimeEntry
	seq  uint64
	prev []dated[rules.TimeEntry] // earlier versions, oldest first
	// The current version's span in Unix seconds and the UTC month its
	// start is in (the first index bucket it is registered in).
	lo, hi int64
	bucket int32
}

func (en *entry) set(e rules.TimeEntry, seq uint64) {
	en.cur, en.seq = e, seq
	en.lo = e.StartedAt.Unix()
	en.hi = en.lo + int64(max(e.Minutes, 0))*60
	en.bucket = utcMonth(e.StartedAt)
}

// funnel holds the enrolment-funnel milestones (readmodel.Patient).
type funnel struct {
	status                           string
	consentedAt, declinedAt, revoked *time.Time
	carePlanAt, copyAt               *time.Time
}

const maxBuckets = 24

// NewPatient returns the empty fold of patient id's stream.
func NewPatient(id string) *Patient {
	return &Patient{ID: id, funnel: funnel{status: "none"}}
}

// Apply folds one event of the patient's stream and reports what it may
// change. It never fails: unknown types and undecodable payloads are
// ignored (Change.Applied false).
func (p *Patient) Apply(rec eventlog.Record) Change {
	ch := p.apply(rec)
	if ch.Applied {
		p.LastSeq = rec.Sequence
	}
	return ch
}

func (p *Patient) apply(rec eventlog.Record) Change {
	all := Change{Applied: true, All: true}
	switch rec.Type {
	case events.TypeTimeRecorded:
		var e rules.TimeEntry
		if !decodeTimeRecorded(rec, &e) {
			return Change{}
		}
		e.EventID, e.RecordedAt = rec.ID, rec.RecordedAt
		return p.recordEntry(e, rec.Sequence)
	case events.TypeTimeCorrected:
		var c events.TimeCorrected
		if !decode(rec, &c) {
			return Change{}
		}
		id := c.EntryID
		if id == "" {
			id = c.Entry.ID
		}
		e := entryOf(c.Entry)
		e.ID, e.EventID, e.RecordedAt = id, rec.ID, rec.RecordedAt
		return p.correctEntry(e, rec.Sequence)
	case events.TypeTimeVoided:
		var v events.TimeVoided
		if !decode(rec, &v) {
			return Change{}
		}
		return p.voidEntry(v.EntryID, rec.ID, rec.Sequence)
	case events.TypeExternalClaimRecorded:
		var e events.ExternalClaimRecorded
		if !decode(rec, &e) {
			return Change{}
		}
		c := rules.ExternalClaim{Code: e.Code, PractitionerNPI: e.PractitionerNPI, ServiceMonth: parseMonth(e.ServiceMonth),
			DateOfService: parseDate(e.DateOfService), Status: e.Status, EventID: rec.ID}
		p.claims.add(c, rec.Sequence)
		m := c.ServiceMonth
		if m.IsZero() {
			m = c.DateOfService.MonthOf()
		}
		if m.IsZero() {
			return Change{Applied: true}
		}
		p.touchMonth(m)
		return Change{Applied: true, Month: m}
	case events.TypePatientEnrolled:
		var e events.PatientEnrolled
		if !fast(rec, &e, fieldEnrolled) {
			return Change{}
		}
		p.Enrolled, p.EnrolledAt, p.EnrollEventID, p.EnrollSeq = true, rec.RecordedAt, rec.ID, rec.Sequence
		p.BirthDate, p.BillingNPI = parseDate(e.BirthDate), e.BillingPractitionerNPI
		if e.DeceasedDate != "" {
			p.deaths.add(parseDate(e.DeceasedDate), rec.Sequence)
		}
	case events.TypePatientDied:
		var e events.PatientDied
		if !decode(rec, &e) {
			return Change{}
		}
		p.deaths.add(parseDate(e.DeceasedDate), rec.Sequence)
	case events.TypeConditionRecorded:
		var e events.ConditionRecorded
		if !fast(rec, &e, fieldCondition) {
			return Change{}
		}
		p.conditions.add(rules.Condition{
			Code: e.Code, Description: e.Description, ExpectedDurationMonths: e.ExpectedDurationMonths,
			SignificantRisk: e.SignificantRisk, OnsetDate: parseDate(e.OnsetDate), EventID: rec.ID}, rec.Sequence)
	case events.TypeConsentGranted, events.TypeConsentDeclined:
		var e events.ConsentGranted // consent.declined has the same fields
		if rec.Type == events.TypeConsentDeclined {
			var d events.ConsentDeclined
			if !fast(rec, &d, func(s *scanner, key []byte, v *events.ConsentDeclined) bool {
				return fieldConsent(s, key, (*events.ConsentGranted)(v))
			}) {
				return Change{}
			}
			e = events.ConsentGranted(d)
		} else if !fast(rec, &e, fieldConsent) {
			return Change{}
		}
		decision := rules.DecisionAccepted
		if rec.Type == events.TypeConsentDeclined {
			decision = rules.DecisionDeclined
		}
		p.consents = append(p.consents, consent{c: rules.Consent{
			ID: e.ID, Program: rules.Program(e.Program), PractitionerNPI: e.PractitionerNPI, Method: e.Method,
			Decision: decision, ObtainedAt: e.ObtainedAt, ObtainedBy: e.ObtainedBy, Disclosures: e.Disclosures,
			EventID: rec.ID}, seq: rec.Sequence})
		p.funnelConsent(decision, e.ObtainedAt)
	case events.TypeConsentRevoked:
		var e events.ConsentRevoked
		if !decode(rec, &e) {
			return Change{}
		}
		for i := len(p.consents) - 1; i >= 0; i-- {
			c := &p.consents[i]
			if c.c.ID == e.ConsentID && c.c.Decision != rules.DecisionDeclined {
				c.revokedAt, c.revokedSeq = e.RevokedAt, rec.Sequence
				at := e.RevokedAt
				p.funnel.status, p.funnel.revoked = "revoked", &at
				return all
			}
		}
		return Change{} // revokes nothing known
	case events.TypeCarePlanEstablished:
		var e events.CarePlanEstablished
		if !fast(rec, &e, fieldPlan) {
			return Change{}
		}
		if slices.ContainsFunc(p.plans, func(cp *carePlan) bool { return cp.established.ID == e.ID }) {
			return Change{} // a plan is established once
		}
		cur := plan.Established(e, rec.ID)
		cp := &carePlan{established: e, eventID: rec.ID, seq: rec.Sequence, cur: cur, missing: cur.Missing()}
		cp.refresh()
		p.plans = append(p.plans, cp)
		if p.funnel.carePlanAt == nil {
			at := e.EstablishedAt
			p.funnel.carePlanAt = &at
		}
	case events.TypeCarePlanRevised:
		var e events.CarePlanRevised
		if !decode(rec, &e) {
			return Change{}
		}
		cp := p.plan(e.PlanID)
		if cp == nil {
			return Change{}
		}
		cp.cur = cp.cur.Revise(e, rec.ID)
		cp.missing = cp.cur.Missing()
		cp.revisions = append(cp.revisions, dated[revision]{revision{e, rec.ID}, rec.Sequence})
		cp.refresh()
	case events.TypeCarePlanCopyProvided:
		var e events.CarePlanCopyProvided
		if !fast(rec, &e, fieldCopy) {
			return Change{}
		}
		cp := p.plan(e.PlanID)
		if cp == nil {
			return Change{}
		}
		cp.copies.add(rules.CarePlanCopy{ProvidedAt: e.ProvidedAt, To: e.To, Method: e.Method, EventID: rec.ID}, rec.Sequence)
		cp.refresh()
		if p.funnel.copyAt == nil {
			at := e.ProvidedAt
			p.funnel.copyAt = &at
		}
	case events.TypeComplexityRecorded:
		var e events.ComplexityRecorded
		if !decode(rec, &e) {
			return Change{}
		}
		d := rules.ComplexityDecision{Month: parseMonth(e.Month), Level: e.Level, PractitionerNPI: e.PractitionerNPI, DecidedAt: e.DecidedAt, EventID: rec.ID}
		p.complexity.add(d, rec.Sequence)
		if !d.Month.IsZero() {
			p.touchMonth(d.Month)
		} else {
			p.touch(Span{d.DecidedAt, d.DecidedAt})
		}
	case events.TypeEncounterRecorded:
		var e events.EncounterRecorded
		if !fast(rec, &e, fieldEncounter) {
			return Change{}
		}
		en := rules.Encounter{ID: e.ID, Kind: e.Kind, Code: e.Code, PractitionerNPI: e.PractitionerNPI, Start: e.Start,
			End: timeOrZero(e.End), TimeBased: e.TimeBased, CCMDiscussed: e.CCMDiscussed, G0506: e.G0506, EventID: rec.ID}
		p.encounters.add(en, rec.Sequence)
		p.touch(Span{en.Start, en.End})
	default:
		return Change{}
	}
	return all
}

func (p *Patient) plan(id string) *carePlan {
	for _, cp := range p.plans {
		if cp.established.ID == id {
			return cp
		}
	}
	return nil
}

func (p *Patient) funnelConsent(decision string, at time.Time) {
	f := &p.funnel
	if decision == rules.DecisionDeclined {
		f.status = "declined"
		if f.declinedAt == nil {
			f.declinedAt = &at
		}
		return
	}
	f.status = "granted"
	if f.consentedAt == nil {
		f.consentedAt = &at
	}
}

// ---- time entries ----------------------------------------------------------

func entrySpan(e *rules.TimeEntry) Span {
	return Span{e.StartedAt, e.StartedAt.Add(time.Duration(max(e.Minutes, 0)) * time.Minute)}
}

func (p *Patient) recordEntry(e rules.TimeEntry, seq uint64) Change {
	idx := int32(len(p.entries))
	en := &entry{}
	en.set(e, seq)
	p.entries = append(p.entries, en)
	if p.entryIdx == nil {
		p.entryIdx, p.buckets = map[string]int32{}, map[int32][]int32{}
	}
	// A second recording of an id stays a separate entry (the engine
	// reports it as a duplicate_entry); corrections and voids address the
	// first.
	if _, dup := p.entryIdx[e.ID]; !dup {
		p.entryIdx[e.ID] = idx
	}
	sp := entrySpan(&e)
	p.register(idx, sp)
	p.touch(sp)
	return Change{Applied: true, Spans: [2]Span{sp}, NSpans: 1}
}

func (p *Patient) correctEntry(e rules.TimeEntry, seq uint64) Change {
	i, ok := p.entryIdx[e.ID]
	if !ok {
		return p.recordEntry(e, seq) // a correction of an entry never recorded here
	}
	en := p.entries[i]
	old := entrySpan(&en.cur)
	if en.cur.Voided {
		return Change{Applied: true, Spans: [2]Span{old}, NSpans: 1} // a void is final
	}
	e.RecordedAt = en.cur.RecordedAt
	e.CorrectedFrom = en.cur.EventID
	en.prev = append(en.prev, dated[rules.TimeEntry]{en.cur, en.seq})
	en.set(e, seq)
	sp := entrySpan(&e)
	p.register(i, sp)
	p.touch(sp)
	return Change{Applied: true, Spans: [2]Span{old, sp}, NSpans: 2}
}

func (p *Patient) voidEntry(id, eventID string, seq uint64) Change {
	i, ok := p.entryIdx[id]
	if !ok {
		return Change{}
	}
	en := p.entries[i]
	en.prev = append(en.prev, dated[rules.TimeEntry]{en.cur, en.seq})
	en.cur.Voided = true
	en.cur.EventID = eventID
	en.seq = seq
	return Change{Applied: true, Spans: [2]Span{entrySpan(&en.cur)}, NSpans: 1}
}

// utcMonth is the index of t's UTC calendar month.
func utcMonth(t time.Time) int32 {
	y, m, _ := t.UTC().Date()
	return int32(y*12 + int(m) - 1)
}

// register indexes entry idx under the UTC months of sp (once per month).
func (p *Patient) register(idx int32, sp Span) {
	first, last := utcMonth(sp.Start), utcMonth(sp.End)
	if last-first > maxBuckets {
		if !slices.Contains(p.wide, idx) {
			p.wide = append(p.wide, idx)
		}
		return
	}
	for b := first; b <= last; b++ {
		if l := p.buckets[b]; !slices.Contains(l, idx) {
			p.buckets[b] = append(l, idx)
		}
	}
}

// ---- months ----------------------------------------------------------------

func (p *Patient) touch(sp Span) {
	end := sp.End
	if end.Before(sp.Start) {
		end = sp.Start
	}
	if p.actFirst.IsZero() || sp.Start.Before(p.actFirst) {
		p.actFirst = sp.Start
	}
	if p.actLast.IsZero() || end.After(p.actLast) {
		p.actLast = end
	}
}

func (p *Patient) touchMonth(m rules.Month) {
	if p.monFirst.IsZero() || m.Before(p.monFirst) {
		p.monFirst = m
	}
	if p.monLast.IsZero() || p.monLast.Before(m) {
		p.monLast = m
	}
}

// MonthRange returns the months the patient is evaluated for, as a range:
// every calendar month (in loc) from the first to the last month touched by
// any time entry (every version, voided ones included), encounter,
// complexity decision or external claim ever recorded. Gaps are filled, so
// a month without activity between two active ones is evaluated too (it
// shows 0 minutes and why). The range only grows: a correction that moves
// an entry keeps the months it left, whose evaluation must change. ok is
// false when the patient has no activity. Months outside the range are
// evaluated on demand (not_billable, or below_threshold with 0 minutes).
func (p *Patient) MonthRange(loc *time.Location) (first, last rules.Month, ok bool) {
	if loc == nil {
		loc = time.UTC
	}
	if !p.actFirst.IsZero() {
		first = rules.DateOf(p.actFirst, loc).MonthOf()
		end := p.actLast
		if end.After(p.actFirst) {
			end = end.Add(-time.Nanosecond) // spans end exclusively
		}
		last = rules.DateOf(end, loc).MonthOf()
		ok = true
	}
	if !p.monFirst.IsZero() {
		if !ok || p.monFirst.Before(first) {
			first = p.monFirst
		}
		if !ok || last.Before(p.monLast) {
			last = p.monLast
		}
		ok = true
	}
	return first, last, ok
}

// Months lists MonthRange month by month.
func (p *Patient) Months(loc *time.Location) []rules.Month {
	first, last, ok := p.MonthRange(loc)
	if !ok {
		return []rules.Month{}
	}
	out := make([]rules.Month, 0, last.Index()-first.Index()+1)
	for m := first; !last.Before(m); m = m.AddMonths(1) {
		out = append(out, m)
	}
	return out
}

// SpanMonths returns the calendar months (in loc) that sp touches.
func SpanMonths(sp Span, loc *time.Location) (first, last rules.Month) {
	if loc == nil {
		loc = time.UTC
	}
	first = rules.DateOf(sp.Start, loc).MonthOf()
	end := sp.End
	if end.After(sp.Start) {
		end = end.Add(-time.Nanosecond)
	} else {
		end = sp.Start
	}
	return first, rules.DateOf(end, loc).MonthOf()
}

// ---- facts -----------------------------------------------------------------

// Facts returns the rules' input for month m: every fact of the patient,
// the time entries that touch the month (corrections applied, voided ones
// marked), the practice's time zone and policy and the billing
// practitioner's kind, and billed when the month is in a closed claim batch.
func (p *Patient) Facts(m rules.Month, pr Practice, billed *rules.BilledMonth) rules.Facts {
	return p.FactsThrough(m, pr, billed, 0)
}

// FactsThrough is Facts with only what the log held at sequence through
// (every fact recorded by an event with a greater sequence is left out, and
// a time entry is taken in its version as of through); through 0 means
// everything. pr should be the practice as of the same sequence
// (PracticeHistory.At).
func (p *Patient) FactsThrough(m rules.Month, pr Practice, billed *rules.BilledMonth, through uint64) rules.Facts {
	loc := pr.Location
	if loc == nil {
		loc = time.UTC
	}
	f := rules.Facts{
		PatientID:           p.ID,
		Month:               m,
		Location:            loc,
		Policy:              pr.Policy,
		Patient:             rules.Patient{ID: p.ID, BirthDate: p.BirthDate, EventID: p.EnrollEventID},
		BillingPractitioner: rules.Practitioner{NPI: p.BillingNPI, Kind: pr.Kind(p.BillingNPI)},
		Conditions:          p.conditions.through(through),
		Consents:            make([]rules.Consent, 0, len(p.consents)),
		CarePlans:           make([]rules.CarePlan, 0, len(p.plans)),
		Complexity:          p.complexity.through(through),
		Encounters:          p.encounters.through(through),
		ExternalClaims:      p.claims.through(through),
		Billed:              billed,
	}
	if deaths := p.deaths.through(through); len(deaths) > 0 {
		f.Patient.DeceasedDate = deaths[len(deaths)-1]
	}
	for _, c := range p.consents {
		if through != 0 && c.seq > through {
			continue
		}
		v := c.c
		if !c.revokedAt.IsZero() && (through == 0 || c.revokedSeq <= through) {
			v.RevokedAt = c.revokedAt
		}
		f.Consents = append(f.Consents, v)
	}
	for _, cp := range p.plans {
		if through == 0 || cp.seq <= through {
			f.CarePlans = append(f.CarePlans, cp.facts(through))
		}
	}
	f.TimeEntries = p.monthEntries(m, loc, through)
	return f
}

// refresh recomputes the plan as the rules read it.
func (cp *carePlan) refresh() {
	cur := cp.cur
	cp.view = rules.CarePlan{
		ID: cur.ID, Kind: cur.Kind, EstablishedAt: cur.EstablishedAt, AuthorNPI: cur.AuthorNPI, Electronic: cur.Electronic,
		MissingElements: cp.missing, Copies: cp.copies.through(0), EventID: cp.eventID,
	}
}

// facts is the plan as the rules read it, as of sequence through (0: now).
func (cp *carePlan) facts(through uint64) rules.CarePlan {
	if through == 0 {
		return cp.view
	}
	cur, missing := cp.cur, cp.missing
	if n := len(cp.revisions); n > 0 && cp.revisions[n-1].seq > through {
		cur = plan.Established(cp.established, cp.eventID)
		for _, r := range cp.revisions {
			if r.seq <= through {
				cur = cur.Revise(r.v.r, r.v.eventID)
			}
		}
		missing = cur.Missing()
	}
	return rules.CarePlan{
		ID: cur.ID, Kind: cur.Kind, EstablishedAt: cur.EstablishedAt, AuthorNPI: cur.AuthorNPI, Electronic: cur.Electronic,
		MissingElements: missing, Copies: cp.copies.through(through), EventID: cp.eventID,
	}
}

// monthEntries returns the entries that may touch month m in loc (the
// engine ignores those wholly outside it), in log order.
func (p *Patient) monthEntries(m rules.Month, loc *time.Location, through uint64) []rules.TimeEntry {
	if len(p.entries) == 0 {
		return []rules.TimeEntry{}
	}
	// An hour of slack on each side: the engine decides to the minute.
	start, end := m.Start(loc), m.End(loc)
	lo, hi := start.Unix()-3600, end.Unix()+3600
	if through != 0 {
		out := []rules.TimeEntry{}
		for _, en := range p.entries {
			if e, ok := en.at(through); ok {
				if s := e.StartedAt.Unix(); s < hi && s+int64(max(e.Minutes, 0))*60 > lo {
					out = append(out, e)
				}
			}
		}
		return out
	}
	var buf [32]int32
	idxs := buf[:0]
	first, last := utcMonth(start.Add(-time.Hour)), utcMonth(end.Add(time.Hour))
	for b := first; b <= last; b++ {
		for _, i := range p.buckets[b] {
			en := p.entries[i]
			// An entry registered in several scanned months is taken from
			// the first of them that its current version touches.
			if max(en.bucket, first) == b && en.lo < hi && en.hi > lo {
				idxs = append(idxs, i)
			}
		}
	}
	for _, i := range p.wide {
		if en := p.entries[i]; en.lo < hi && en.hi > lo && !slices.Contains(idxs, i) {
			idxs = append(idxs, i)
		}
	}
	slices.Sort(idxs)
	out := make([]rules.TimeEntry, len(idxs))
	for k, i := range idxs {
		out[k] = p.entries[i].cur
	}
	return out
}

// at returns the entry's version as of sequence through.
func (en *entry) at(through uint64) (rules.TimeEntry, bool) {
	if en.seq <= through {
		return en.cur, true
	}
	for i := len(en.prev) - 1; i >= 0; i-- {
		if en.prev[i].seq <= through {
			return en.prev[i].v, true
		}
	}
	return rules.TimeEntry{}, false
}

// Entries returns every time entry in its current version, in log order.
func (p *Patient) Entries() []rules.TimeEntry {
	out := make([]rules.TimeEntry, len(p.entries))
	for i := range p.entries {
		out[i] = p.entries[i].cur
	}
	return out
}

// ---- funnel ----------------------------------------------------------------

// Funnel returns the patient's enrolment-funnel row (readmodel.Patient)
// without FirstBilledMonth, which claim batches decide. ConsentStatus is
// that of the latest consent event (none, granted, declined, revoked);
// ConsentedAt and DeclinedAt are the first grant and decline, RevokedAt the
// latest revocation; QualifyingConditions counts the chronic conditions that
// qualify for CCM (≥ 12 months, significant risk; one per ICD-10 category,
// as the rules count them, ccm-rules §1.1).
func (p *Patient) Funnel() readmodel.Patient {
	f := p.funnel
	row := readmodel.Patient{
		PatientID:              p.ID,
		EnrolledAt:             p.EnrolledAt,
		BillingPractitionerNPI: p.BillingNPI,
		QualifyingConditions:   p.qualifying(),
		ConsentStatus:          f.status,
		ConsentedAt:            clone(f.consentedAt),
		DeclinedAt:             clone(f.declinedAt),
		RevokedAt:              clone(f.revoked),
		CarePlanAt:             clone(f.carePlanAt),
		CopyProvidedAt:         clone(f.copyAt),
	}
	if d, ok := p.deaths.last(); ok && !d.IsZero() {
		row.DeceasedDate = d.String()
	}
	return row
}

func clone(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := *t
	return &v
}

func (p *Patient) qualifying() int {
	var cats []string
	for _, v := range p.conditions.v {
		if v.ExpectedDurationMonths < 12 || !v.SignificantRisk || strings.TrimSpace(v.Code) == "" {
			continue
		}
		if cat := icdCategory(v.Code); !slices.Contains(cats, cat) {
			cats = append(cats, cat)
		}
	}
	return len(cats)
}

// icdCategory is the ICD-10 category (the characters before the dot): two
// codes of one category are one disease, as the rules count them.
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
