package facts

import (
	"slices"
	"strings"
	"time"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/eventlog"
	"github.com/carelog/carelog/services/billing/internal/readmodel"
	"github.com/carelog/carelog/services/billing/rules"
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

	conditions list[rules.Condition]
	encounters list[rules.Encounter]
	// consents are as the rules read them now (RevokedAt set by a
	// revocation; more.revokedSeq says when).
	consents list[rules.Consent]
	// plans are the care plans as the rules read them now (append-only
	// but for setPlan), planState what else the fold keeps of each (same
	// index).
	plans     []rules.CarePlan
	planState []carePlan
	// entries are the time entries in their current versions, in the order
	// first recorded.
	entries []entry

	// The activity range: the first and last instant of any time entry
	// (every version), encounter and complexity decision ever recorded
	// (with more's explicit service months). Months derives the months to
	// evaluate from it.
	actFirst, actLast time.Time

	more *more // what few patients have; nil until needed

	// The enrolment funnel (Funnel): the consent status, and the consent
	// revoked last and the plan copied first (index+1; 0: none).
	status                 funnelStatus
	lastRevoked, firstCopy int32
}

// more holds the facts few patients have, so that the others do not carry
// their empty lists.
type more struct {
	deaths     list[rules.Date]
	complexity list[rules.ComplexityDecision]
	claims     list[rules.ExternalClaim]
	// The first and last explicit service month (external claims,
	// complexity months) of the activity range.
	monFirst, monLast rules.Month
	// revokedSeq is the sequence of the latest revocation of each consent
	// (same index; 0 or beyond its end: none).
	revokedSeq []uint64
	// older are the time entries' earlier versions (entry.prev).
	older []entry
	// index is the entries' index, from indexFrom entries on.
	index *entryIndex
}

func (p *Patient) rare() *more {
	if p.more == nil {
		p.more = &more{}
	}
	return p.more
}

// list is an append-only list of facts with the sequences of the events
// that recorded them, in log order (so sequences increase). Its elements are
// never modified in place (a consent's revocation copies the list first),
// so the facts of a month can share a prefix of it.
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

// funnelStatus is the consent status of the funnel (readmodel.Patient).
type funnelStatus uint8

const (
	statusNone funnelStatus = iota
	statusGranted
	statusDeclined
	statusRevoked
)

func (s funnelStatus) String() string {
	return [...]string{"none", "granted", "declined", "revoked"}[s]
}

// NewPatient returns the empty fold of patient id's stream.
func NewPatient(id string) *Patient {
	return &Patient{ID: id}
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
		en, ok := decodeTimeRecorded(rec)
		if !ok {
			return Change{}
		}
		return p.recordEntry(en)
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
		p.rare().claims.add(c, rec.Sequence)
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
		if !readEnrolled(rec, &e) {
			return Change{}
		}
		p.Enrolled, p.EnrolledAt, p.EnrollEventID, p.EnrollSeq = true, rec.RecordedAt, rec.ID, rec.Sequence
		p.BirthDate, p.BillingNPI = parseDate(e.BirthDate), e.BillingPractitionerNPI
		if e.DeceasedDate != "" {
			p.rare().deaths.add(parseDate(e.DeceasedDate), rec.Sequence)
		}
	case events.TypePatientDied:
		var e events.PatientDied
		if !decode(rec, &e) {
			return Change{}
		}
		p.rare().deaths.add(parseDate(e.DeceasedDate), rec.Sequence)
	case events.TypeConditionRecorded:
		var e events.ConditionRecorded
		if !readCondition(rec, &e) {
			return Change{}
		}
		p.conditions.add(rules.Condition{
			Code: e.Code, Description: e.Description, ExpectedDurationMonths: e.ExpectedDurationMonths,
			SignificantRisk: e.SignificantRisk, OnsetDate: parseDate(e.OnsetDate), EventID: rec.ID}, rec.Sequence)
	case events.TypeConsentGranted, events.TypeConsentDeclined:
		var e events.ConsentGranted // consent.declined has the same fields
		if !readConsent(rec, &e) {
			return Change{}
		}
		decision, status := rules.DecisionAccepted, statusGranted
		if rec.Type == events.TypeConsentDeclined {
			decision, status = rules.DecisionDeclined, statusDeclined
		}
		p.consents.add(rules.Consent{
			ID: e.ID, Program: rules.Program(e.Program), PractitionerNPI: e.PractitionerNPI, Method: e.Method,
			Decision: decision, ObtainedAt: e.ObtainedAt, ObtainedBy: e.ObtainedBy, Disclosures: e.Disclosures,
			EventID: rec.ID}, rec.Sequence)
		p.status = status
	case events.TypeConsentRevoked:
		var e events.ConsentRevoked
		if !decode(rec, &e) {
			return Change{}
		}
		if !p.revokeConsent(e.ConsentID, e.RevokedAt, rec.Sequence) {
			return Change{} // revokes nothing known
		}
	case events.TypeCarePlanEstablished:
		var e events.CarePlanEstablished
		if !readPlan(rec, &e) || !p.establishPlan(&e, rec.ID, rec.Sequence) {
			return Change{}
		}
	case events.TypeCarePlanRevised:
		var e events.CarePlanRevised
		if !decode(rec, &e) || !p.revisePlan(&e, rec.ID, rec.Sequence) {
			return Change{}
		}
	case events.TypeCarePlanCopyProvided:
		var e events.CarePlanCopyProvided
		if !readCopy(rec, &e) || !p.copyPlan(&e, rec.ID, rec.Sequence) {
			return Change{}
		}
	case events.TypeComplexityRecorded:
		var e events.ComplexityRecorded
		if !decode(rec, &e) {
			return Change{}
		}
		d := rules.ComplexityDecision{Month: parseMonth(e.Month), Level: e.Level, PractitionerNPI: e.PractitionerNPI, DecidedAt: e.DecidedAt, EventID: rec.ID}
		p.rare().complexity.add(d, rec.Sequence)
		if !d.Month.IsZero() {
			p.touchMonth(d.Month)
		} else {
			p.touch(Span{d.DecidedAt, d.DecidedAt})
		}
	case events.TypeEncounterRecorded:
		var e events.EncounterRecorded
		if !readEncounter(rec, &e) {
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

// revokeConsent records the revocation of the latest consent id that was
// not declined, and reports whether there was one. The views are copied
// first: Facts handed out the current ones, which never change.
func (p *Patient) revokeConsent(id string, at time.Time, seq uint64) bool {
	for i := len(p.consents.v) - 1; i >= 0; i-- {
		if c := &p.consents.v[i]; c.ID == id && c.Decision != rules.DecisionDeclined {
			p.consents.v = slices.Clone(p.consents.v)
			p.consents.v[i].RevokedAt = at
			m := p.rare()
			if len(m.revokedSeq) <= i {
				m.revokedSeq = append(m.revokedSeq, make([]uint64, i+1-len(m.revokedSeq))...)
			}
			m.revokedSeq[i] = seq
			p.status, p.lastRevoked = statusRevoked, int32(i)+1
			return true
		}
	}
	return false
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
	r := p.rare()
	if r.monFirst.IsZero() || m.Before(r.monFirst) {
		r.monFirst = m
	}
	if r.monLast.IsZero() || r.monLast.Before(m) {
		r.monLast = m
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
	if r := p.more; r != nil && !r.monFirst.IsZero() {
		if !ok || r.monFirst.Before(first) {
			first = r.monFirst
		}
		if !ok || last.Before(r.monLast) {
			last = r.monLast
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
		Consents:            p.consentsThrough(through),
		CarePlans:           p.plansThrough(through),
		Encounters:          p.encounters.through(through),
		TimeEntries:         p.monthEntries(m, loc, through),
		Billed:              billed,
	}
	if r := p.more; r != nil {
		if deaths := r.deaths.through(through); len(deaths) > 0 {
			f.Patient.DeceasedDate = deaths[len(deaths)-1]
		}
		f.Complexity, f.ExternalClaims = r.complexity.through(through), r.claims.through(through)
	}
	return f
}

// consentsThrough returns the consents as of sequence through (0: now),
// a revocation recorded after through left out; the current views
// themselves when nothing changed since.
func (p *Patient) consentsThrough(through uint64) []rules.Consent {
	views := p.consents.through(through)
	if len(views) == 0 {
		return []rules.Consent{}
	}
	if through == 0 || p.more == nil {
		return views
	}
	var out []rules.Consent
	for i, seq := range p.more.revokedSeq[:min(len(views), len(p.more.revokedSeq))] {
		if seq > through {
			if out == nil {
				out = slices.Clone(views)
			}
			out[i].RevokedAt = time.Time{}
		}
	}
	if out == nil {
		return views
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
	row := readmodel.Patient{
		PatientID:              p.ID,
		EnrolledAt:             p.EnrolledAt,
		BillingPractitionerNPI: p.BillingNPI,
		QualifyingConditions:   p.qualifying(),
		ConsentStatus:          p.status.String(),
	}
	for i := range p.consents.v {
		c := &p.consents.v[i]
		if c.Decision == rules.DecisionDeclined {
			if row.DeclinedAt == nil {
				row.DeclinedAt = instant(c.ObtainedAt)
			}
		} else if row.ConsentedAt == nil {
			row.ConsentedAt = instant(c.ObtainedAt)
		}
	}
	if p.lastRevoked != 0 {
		row.RevokedAt = instant(p.consents.v[p.lastRevoked-1].RevokedAt)
	}
	if len(p.plans) > 0 {
		row.CarePlanAt = instant(p.plans[0].EstablishedAt)
	}
	if p.firstCopy != 0 {
		row.CopyProvidedAt = instant(p.planState[p.firstCopy-1].copies.v[0].ProvidedAt)
	}
	if p.more != nil {
		if d, ok := p.more.deaths.last(); ok && !d.IsZero() {
			row.DeceasedDate = d.String()
		}
	}
	return row
}

func instant(t time.Time) *time.Time { return &t }

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
