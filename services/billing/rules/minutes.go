package rules

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// attribution is the result of minute attribution for the evaluated program.
type attribution struct {
	total        int // counted minutes
	practitioner int // of which the billing practitioner's own time
	staff        int // of which everyone else's (clinical staff)
	afterDeath   int
	// beforeConsent are the minutes excluded as before_consent (K4).
	beforeConsent int
	// counted are the counted spans in time order, with whose they are.
	counted []countedSpan
	// entries are the counted entries in entry order (evidence).
	entries  []*entryRef
	excluded []Excluded
}

type countedSpan struct {
	span
	practitioner bool
}

// entryRef is a time entry in attribution.
type entryRef struct {
	e            *TimeEntry
	order        int
	lo, hi       int64 // [start, end) in Unix minutes
	person       key
	practitioner bool // the billing practitioner's own time
	group        key
	taken        bool    // passed the voided and duplicate checks
	spans        spanSet // what is still countable
	counted      int64
	excluded     int // exclusionItem index + 1 of the first of its exclusions; 0: none
}

// key names a person or an A10 sharing group. Its kind says which field
// identified it, so keys of different kinds never collide: two entries share
// a person when they have equal keys.
type key struct {
	kind keyKind
	s    string
}

type keyKind uint8

const (
	noKey keyKind = iota
	byStaffID
	byStaffNPI
	byStaffName
	byEntryID
	bySession
	byActivity
)

// billingRole: the roles of practitioners who may bill (§1.1).
func billingRole(r Role) bool {
	switch r {
	case RolePhysician, RoleNP, RolePA, RoleCNS, RoleCNM:
		return true
	}
	return false
}

// clinicalRole: the clinical staff roles whose time counts incident to the
// billing practitioner (T4).
func clinicalRole(r Role) bool {
	switch r {
	case RoleRN, RoleLPN, RoleMA, RolePharmacist, RoleSocialWorker, RoleCareManager:
		return true
	}
	return false
}

// window is a set of spans whose minutes are excluded with one code.
type window struct {
	code  ReasonCode
	spans spanSet
}

// keyedSpans is a person's time counted for another program.
type keyedSpans struct {
	person key
	spans  spanSet
}

// attribute decides, minute by minute, which logged time counts for the
// evaluated program. Each excluded minute gets exactly one code, tested in
// this order: voided, duplicate_entry, other_month (A9, T3, T12), then per
// entry non_clinical_staff (T4), unanswered_outreach (A7),
// counted_for_other_program (T7, program priority), supervision_not_met
// (A12), during_billed_visit (encounterId, T8); then per minute
// before_consent / after_revocation (K4, K7, A2), after_death (A15),
// inpatient_stay (X12, A6), during_billed_visit (inside a visit, the billing
// practitioner's own time on the date of a time-based E/M from 2021, T8
// and X10, or staff time
// on a visit date under A5 "exclude"), counted_for_other_program (the same
// person's time already given to another program); finally
// overlapping_time (a person's overlapping entries count as their union) and
// shared_session (several staff on one session or, under A10, the same
// activity at the same time, count once).
func (e *evaluator) attribute() attribution {
	refs := e.entryRefs()
	var att attribution
	candidates := e.buf.candidates[:0]
	for i, r := range refs {
		if r.hi <= r.lo || !e.touchesMonth(r) {
			continue
		}
		if r.e.Voided {
			e.exclude(r, r.hi-r.lo, ExcludedVoided)
			continue
		}
		if e.duplicate(refs[:i], r) {
			e.exclude(r, r.hi-r.lo, ExcludedDuplicateEntry)
			continue
		}
		r.taken = true
		e.buf.takenIDs.insert(r.e.ID)
		e.checkLate(r)

		inside := e.monthPart(r)
		if out := (r.hi - r.lo) - inside.len(); out > 0 {
			e.exclude(r, out, ExcludedOtherMonth)
		}
		if code := e.entryExclusion(r); code != "" {
			e.exclude(r, inside.len(), code)
			if code == ExcludedCountedForOtherProgram {
				e.countForOtherProgram(r.person, inside)
			}
			continue
		}
		r.spans = e.buf.spans.union(inside)
		candidates = append(candidates, r)
	}
	e.buf.candidates = candidates

	global := e.globalWindows()
	var practitionerDays spanSet
	if !e.month.Before(encounterDateTimeFrom) {
		practitionerDays = e.visitDays(true)
	}
	var staffDays spanSet
	if e.p.SameDayStaffMinutes == Exclude {
		staffDays = e.visitDays(false)
	}
	for _, r := range candidates {
		for _, w := range global {
			e.cutWindow(r, w.code, w.spans, &att)
		}
		if r.practitioner {
			e.cutWindow(r, ExcludedDuringBilledVisit, practitionerDays, &att)
		} else if e.p.SameDayStaffMinutes == Exclude {
			e.cutWindow(r, ExcludedDuringBilledVisit, staffDays, &att)
		}
		e.cutWindow(r, ExcludedCountedForOtherProgram, e.otherProgram(r.person), &att)
	}

	e.sweepOverlaps(candidates, &att)
	att.excluded = e.excludedList(refs)
	e.sameDayFlags(&att)
	return att
}

// duplicate reports whether r repeats an entry already taken: the same id,
// or the same person, start, minutes and programs. Entries are sorted by start, so
// those of r's start are the ones just before it in earlier.
func (e *evaluator) duplicate(earlier []*entryRef, r *entryRef) bool {
	if _, ok := e.buf.takenIDs.find(r.e.ID); ok {
		return true
	}
	for i := len(earlier) - 1; i >= 0 && earlier[i].lo == r.lo; i-- {
		if t := earlier[i]; t.taken && t.person == r.person && t.e.Minutes == r.e.Minutes && samePrograms(t.e.Programs, r.e.Programs) {
			return true
		}
	}
	return false
}

// samePrograms reports whether a and b tag the same programs, in any
// order. Two entries of one person and time for different programs are not
// a double logging: the minutes go to one program by priority (T7).
func samePrograms(a, b []Program) bool {
	if len(a) != len(b) {
		return false
	}
	for _, p := range a {
		if !slices.Contains(b, p) {
			return false
		}
	}
	for _, p := range b {
		if !slices.Contains(a, p) {
			return false
		}
	}
	return true
}

// cutWindow removes the minutes of r inside w and excludes them with code.
func (e *evaluator) cutWindow(r *entryRef, code ReasonCode, w spanSet, att *attribution) {
	if len(w) == 0 {
		return
	}
	var cut spanSet
	r.spans, cut = r.spans.cut(w)
	if n := cut.total(); n > 0 {
		e.exclude(r, n, code)
		switch code {
		case ExcludedAfterDeath:
			att.afterDeath += int(n)
		case ExcludedBeforeConsent:
			att.beforeConsent += int(n)
		}
	}
}

// countForOtherProgram records that the person's minutes in s went to
// another program (T7), so that their other entries cannot count them again.
func (e *evaluator) countForOtherProgram(person key, s span) {
	for i := range e.buf.others {
		if o := &e.buf.others[i]; o.person == person {
			o.spans = e.buf.spans.add(o.spans, s)
			return
		}
	}
	e.buf.others = append(e.buf.others, keyedSpans{person, e.buf.spans.union(s)})
}

// otherProgram is the person's time counted for other programs.
func (e *evaluator) otherProgram(person key) spanSet {
	for _, o := range e.buf.others {
		if o.person == person {
			return o.spans
		}
	}
	return nil
}

// entryRefs returns the entries in a deterministic order: start, id,
// recording time, event id, then input order.
func (e *evaluator) entryRefs() []*entryRef {
	all := slices.Grow(e.buf.refs[:0], len(e.f.TimeEntries))[:len(e.f.TimeEntries)]
	refs := slices.Grow(e.buf.order[:0], len(all))[:len(all)]
	e.buf.refs, e.buf.order = all, refs
	for i := range e.f.TimeEntries {
		t := &e.f.TimeEntries[i]
		lo := unixMinute(t.StartedAt)
		r := &all[i]
		*r = entryRef{e: t, order: i, lo: lo, hi: lo + int64(max(t.Minutes, 0))}
		r.person = personKey(t)
		r.practitioner = e.isBillingPractitioner(t.Staff)
		r.group = e.groupKey(t)
		refs[i] = r
	}
	slices.SortStableFunc(refs, func(x, y *entryRef) int {
		a, b := x.e, y.e
		if c := cmp.Compare(x.lo, y.lo); c != 0 {
			return c
		}
		if c := strings.Compare(a.ID, b.ID); c != 0 {
			return c
		}
		if c := a.RecordedAt.Compare(b.RecordedAt); c != 0 {
			return c
		}
		return strings.Compare(a.EventID, b.EventID)
	})
	for i, r := range refs {
		r.order = i
	}
	return refs
}

// personKey names whose time an entry is: the staff id, else the NPI, else
// the name; an entry naming nobody is a person of its own.
func personKey(t *TimeEntry) key {
	switch {
	case t.Staff.ID != "":
		return key{byStaffID, t.Staff.ID}
	case t.Staff.NPI != "":
		return key{byStaffNPI, t.Staff.NPI}
	case t.Staff.Name != "":
		return key{byStaffName, t.Staff.Name}
	}
	return key{byEntryID, t.ID}
}

// groupKey is the A10 sharing key: the session, else (under "count_once")
// the activity, so the same activity done at the same time by several staff
// counts once while distinct parallel activities each count. The zero key
// shares with nobody.
func (e *evaluator) groupKey(t *TimeEntry) key {
	switch {
	case e.p.SimultaneousStaff == CountEach:
		return key{}
	case t.SessionID != "":
		return key{bySession, t.SessionID}
	case t.Activity != "":
		return key{byActivity, t.Activity}
	}
	return key{}
}

// isBillingPractitioner: the billing practitioner's own time is time logged
// under their NPI in a practitioner role.
func (e *evaluator) isBillingPractitioner(s Staff) bool {
	return e.npi != "" && s.NPI == e.npi && (s.Role == "" || billingRole(s.Role))
}

// touchesMonth: under A9 "split_at_local_midnight" an entry belongs to the
// month if any of its minutes does; under "entry_start" if it started in it.
// Entries wholly in other months are not this month's business and are not
// reported.
func (e *evaluator) touchesMonth(r *entryRef) bool {
	if e.p.MonthBoundary == EntryStart {
		return r.lo >= e.mStart && r.lo < e.mEnd
	}
	return r.lo < e.mEnd && r.hi > e.mStart
}

// monthPart is the part of an entry that touches the month (touchesMonth)
// attributed to the month (T3, T12, A9); it is never empty.
func (e *evaluator) monthPart(r *entryRef) span {
	if e.p.MonthBoundary == EntryStart {
		return span{r.lo, r.hi}
	}
	return span{max(r.lo, e.mStart), min(r.hi, e.mEnd)}
}

// entryExclusion returns the code excluding the whole entry, if any.
func (e *evaluator) entryExclusion(r *entryRef) ReasonCode {
	t := r.e
	switch {
	case !r.practitioner && !billingRole(t.Staff.Role) && !clinicalRole(t.Staff.Role):
		return ExcludedNonClinicalStaff // T4
	case t.Outcome == OutcomeUnanswered && e.p.UnansweredOutreach == Exclude:
		return ExcludedUnansweredOutreach // A7
	case e.assignedProgram(t.Programs) != e.program:
		return ExcludedCountedForOtherProgram // T7
	case e.program == ProgramPCM && e.p.PCMSupervision == SupervisionDirect && !r.practitioner && !t.DirectSupervision:
		return ExcludedSupervisionNotMet // A12
	case t.EncounterID != "":
		return ExcludedDuringBilledVisit // T8, X10, X11
	}
	return ""
}

// assignedProgram gives a multi-tagged entry to the first program in the
// contract's priority order (tcm, rpm, bhi, g0506, pcm, ccm) that can use
// it. TCM, RPM, BHI and G0506 are separate services that always can; of PCM
// and CCM only the evaluated program can, since one practitioner bills one
// of them a month (X4). An untagged entry is read as CCM.
func (e *evaluator) assignedProgram(tags []Program) Program {
	switch len(tags) {
	case 0:
		return ProgramCCM
	case 1:
		return tags[0] // the one program that can use it, or none
	}
	var first Program
	for _, p := range programPriority {
		if !contains(tags, p) {
			continue
		}
		if p != ProgramPCM && p != ProgramCCM {
			return p
		}
		if p == e.program {
			return p
		}
		if first == "" {
			first = p
		}
	}
	if first != "" {
		return first
	}
	return tags[0]
}

// globalWindows are the exclusion windows that apply to every entry.
func (e *evaluator) globalWindows() []window {
	ws := e.buf.windows[:0]
	if e.consent.ok {
		before := e.buf.spans.union(span{minMinute, e.consent.first})
		after, _ := e.buf.spans.union(span{e.consent.first, maxMinute}).cut(e.consent.covered)
		ws = append(ws, window{ExcludedBeforeConsent, before}, window{ExcludedAfterRevocation, after})
	}
	if d := e.f.Patient.DeceasedDate; !d.IsZero() {
		ws = append(ws, window{ExcludedAfterDeath, e.buf.spans.union(span{unixMinute(d.AddDays(1).Midnight(e.loc)), maxMinute})})
	}
	if e.p.InpatientDays == Exclude {
		ws = append(ws, window{ExcludedInpatientStay, e.inpatientDays()})
	}
	ws = append(ws, window{ExcludedDuringBilledVisit, e.visitIntervals()})
	e.buf.windows = ws
	return ws
}

// dayRange returns the span of whole local days d1..d2.
func (e *evaluator) dayRange(d1, d2 Date) span {
	return span{unixMinute(d1.Midnight(e.loc)), unixMinute(d2.AddDays(1).Midnight(e.loc))}
}

// inpatientDays are the local days of hospital and SNF stays, counted as
// Medicare Part A counts inpatient days (A6 "inpatient/SNF-Part-A days"):
// the admission day up to, not including, the discharge day; a stay that
// begins and ends on one day is that day; an open stay runs to month end
// (X12).
func (e *evaluator) inpatientDays() spanSet {
	from := len(e.buf.spans.buf)
	for i := range e.f.Encounters {
		en := &e.f.Encounters[i]
		if en.Kind != EncounterInpatientStay && en.Kind != EncounterSNFStay {
			continue
		}
		first, last := DateOf(en.Start, e.loc), e.last
		if !en.End.IsZero() {
			last = DateOf(en.End, e.loc).AddDays(-1)
		}
		if last.Compare(first) < 0 {
			last = first
		}
		e.buf.spans.buf = append(e.buf.spans.buf, e.dayRange(first, last))
	}
	return e.buf.spans.normalize(from)
}

// visitIntervals are the times inside face-to-face visits (T8, X10).
func (e *evaluator) visitIntervals() spanSet {
	from := len(e.buf.spans.buf)
	for i := range e.f.Encounters {
		if en := &e.f.Encounters[i]; isVisit(en) && !en.End.IsZero() {
			e.buf.spans.buf = append(e.buf.spans.buf, span{unixMinute(en.Start), unixMinute(en.End)})
		}
	}
	return e.buf.spans.normalize(from)
}

// encounterDateTimeFrom is when office E/M time came to include the
// practitioner's non-face-to-face time on the date of the encounter (X10:
// "Since 2021"); before it only time inside the visit is the E/M's.
var encounterDateTimeFrom = MustMonth("2021-01")

// visitDays are the dates of the billing practitioner's face-to-face visits:
// only time-based ones when timeBased is set (T8: the practitioner's time on
// that date went into the E/M level), all of them otherwise (A5).
func (e *evaluator) visitDays(timeBased bool) spanSet {
	from := len(e.buf.spans.buf)
	for i := range e.f.Encounters {
		en := &e.f.Encounters[i]
		if !isVisit(en) || !e.forBillingPractitioner(en.PractitionerNPI) || (timeBased && !en.TimeBased) {
			continue
		}
		d := DateOf(en.Start, e.loc)
		e.buf.spans.buf = append(e.buf.spans.buf, e.dayRange(d, d))
	}
	return e.buf.spans.normalize(from)
}

// piece is one span of an entry's countable minutes.
type piece struct {
	r *entryRef
	s span
}

// sweepOverlaps walks the remaining minutes in time order (the billing
// practitioner first on ties, so a shared session is their personal time)
// and counts each minute once per person and once per shared session.
//
// Pieces come in order of start, so every earlier piece of a person (or
// group) starts no later than the current one: together they cover, from
// the current start on, exactly the minutes up to their latest end. That
// reach is all the sweep keeps per person and group, and what is left of a
// piece is always its tail from there.
func (e *evaluator) sweepOverlaps(refs []*entryRef, att *attribution) {
	pieces := e.buf.pieces[:0]
	for _, r := range refs {
		for _, s := range r.spans {
			pieces = append(pieces, piece{r, s})
		}
	}
	e.buf.pieces = pieces
	slices.SortStableFunc(pieces, func(a, b piece) int {
		switch {
		case a.s.lo != b.s.lo:
			return cmp.Compare(a.s.lo, b.s.lo)
		case a.r.practitioner != b.r.practitioner:
			if a.r.practitioner {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.r.order, b.r.order)
	})
	counted := e.buf.time[:0]
	for _, pc := range pieces {
		r, s := pc.r, pc.s
		lo := s.lo // the piece's minutes before lo are already counted
		if hi := e.reachTo(r.person, s.hi); hi > lo {
			lo = min(hi, s.hi)
			e.exclude(r, lo-s.lo, ExcludedOverlappingTime)
		}
		if r.group != (key{}) {
			if hi := e.reachTo(r.group, s.hi); hi > lo {
				shared := min(hi, s.hi)
				e.exclude(r, shared-lo, ExcludedSharedSession)
				lo = shared
			}
		}
		if lo < s.hi {
			rest := span{lo, s.hi}
			r.counted += rest.len()
			counted = append(counted, countedSpan{rest, r.practitioner})
			if r.practitioner {
				att.practitioner += int(rest.len())
			} else {
				att.staff += int(rest.len())
			}
		}
	}
	att.total = att.practitioner + att.staff
	slices.SortStableFunc(counted, func(a, b countedSpan) int { return cmp.Compare(a.lo, b.lo) })
	e.buf.time, att.counted = counted, counted
	// refs are in entry order, and so are the counted entries.
	entries := e.buf.counted[:0]
	for _, r := range refs {
		if r.counted > 0 {
			entries = append(entries, r)
		}
	}
	e.buf.counted, att.entries = entries, entries
}

// reachTo returns the reach of person or group k (the latest end of its
// pieces so far; minMinute before its first) and extends it to hi.
func (e *evaluator) reachTo(k key, hi int64) int64 {
	if i, ok := e.buf.reached.find(k); ok {
		before := e.buf.reaches[i]
		e.buf.reaches[i] = max(before, hi)
		return before
	}
	e.buf.reached.insert(k)
	e.buf.reaches = append(e.buf.reaches, hi)
	return minMinute
}

// checkLate flags an entry recorded more than the policy's days after the
// work ended (§6.1: entries should be contemporaneous).
func (e *evaluator) checkLate(r *entryRef) {
	if r.e.RecordedAt.IsZero() {
		return
	}
	end := minuteTime(r.hi)
	limit := time.Duration(e.p.LateEntryDays) * 24 * time.Hour
	if late := r.e.RecordedAt.Sub(end); late > limit {
		e.flag(FlagLateEntry, fmt.Sprintf(
			"entry %s was recorded %.1f days after the work ended (policy: %d days)",
			r.e.ID, late.Hours()/24, e.p.LateEntryDays))
	}
}

// sameDayFlags flags counted minutes on the date of a billed face-to-face
// visit by the billing practitioner (A5 default: counted, shown for review).
// No counted minute falls before the month (under A9 "entry_start" some may
// fall after it), so visits of earlier dates are passed over.
func (e *evaluator) sameDayFlags(att *attribution) {
	if len(att.counted) == 0 {
		return
	}
	first := e.month.FirstDay()
	var buf [4]Date
	dates := buf[:0]
	for i := range e.f.Encounters {
		en := &e.f.Encounters[i]
		if !isVisit(en) || !e.forBillingPractitioner(en.PractitionerNPI) {
			continue
		}
		if d := DateOf(en.Start, e.loc); d.Compare(first) >= 0 && !slices.Contains(dates, d) {
			dates = append(dates, d)
		}
	}
	slices.SortFunc(dates, Date.Compare)
	for _, d := range dates {
		day := e.dayRange(d, d)
		var n int64
		for _, c := range att.counted {
			n += max(0, min(c.hi, day.hi)-max(c.lo, day.lo))
		}
		if n > 0 {
			e.flag(FlagSameDayAsVisit, fmt.Sprintf(
				"%d counted minutes on %s, the date of a face-to-face visit; they are outside the visit and counted for review (A5)", n, d))
		}
	}
}

// exclusionItem is the minutes one code excluded from one entry. An entry's
// items are chained from entryRef.excluded in the order their codes were
// first applied.
type exclusionItem struct {
	code    ReasonCode
	minutes int64
	next    int // index + 1 of the entry's next item; 0: none
}

// exclude adds minutes of r excluded with code: to the entry's item for
// code, else to a new item at the end of its chain.
func (e *evaluator) exclude(r *entryRef, minutes int64, code ReasonCode) {
	if minutes <= 0 {
		return
	}
	items := e.buf.exclusions
	last := -1
	for i := r.excluded - 1; i >= 0; i = items[i].next - 1 {
		if items[i].code == code {
			items[i].minutes += minutes
			return
		}
		last = i
	}
	items = append(items, exclusionItem{code: code, minutes: minutes})
	if last < 0 {
		r.excluded = len(items)
	} else {
		items[last].next = len(items)
	}
	e.buf.exclusions = items
}

// excludedList returns the exclusions in entry order (refs), each entry's
// in the order the codes were applied.
func (e *evaluator) excludedList(refs []*entryRef) []Excluded {
	items := e.buf.exclusions
	out := make([]Excluded, 0, len(items))
	for _, r := range refs {
		for i := r.excluded - 1; i >= 0; i = items[i].next - 1 {
			out = append(out, Excluded{EntryID: r.e.ID, Minutes: int(items[i].minutes), Code: items[i].code})
		}
	}
	return out
}
