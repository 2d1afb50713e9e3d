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
	// counted are the counted spans in time order, with whose they are.
	counted []countedSpan
	// entries are the counted entries in entry order (evidence).
	entries  []*entryRef
	excluded []Excluded
	flags    []Flag
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
	person       string
	practitioner bool // the billing practitioner's own time
	group        string
	spans        spanSet // what is still countable
	counted      int64
}

var (
	billingRoles  = []Role{RolePhysician, RoleNP, RolePA, RoleCNS, RoleCNM}
	clinicalRoles = []Role{RoleRN, RoleLPN, RoleMA, RolePharmacist, RoleSocialWorker, RoleCareManager}
)

// window is a set of spans whose minutes are excluded with one code.
type window struct {
	code  ReasonCode
	spans spanSet
}

// attribute decides, minute by minute, which logged time counts for the
// evaluated program. Each excluded minute gets exactly one code, tested in
// this order: voided, duplicate_entry, other_month (A9, T3, T12), then per
// entry non_clinical_staff (T4), unanswered_outreach (A7),
// counted_for_other_program (T7, program priority), supervision_not_met
// (A12), during_billed_visit (encounterId, T8); then per minute
// before_consent / after_revocation (K4, K7, A2), after_death (A15),
// inpatient_stay (X12, A6), during_billed_visit (inside a visit, the billing
// practitioner's own time on the date of a time-based E/M, T8, or staff time
// on a visit date under A5 "exclude"), counted_for_other_program (the same
// person's time already given to another program); finally
// overlapping_time (a person's overlapping entries count as their union) and
// shared_session (several staff on one session or, under A10, the same
// activity at the same time, count once).
func (e *evaluator) attribute() attribution {
	refs := e.entryRefs()
	x := exclusionLog{}
	var att attribution
	otherProgram := map[string]spanSet{}
	var candidates []*entryRef

	seenID := map[string]bool{}
	type dupKey struct {
		person string
		lo     int64
		min    int
	}
	seenKey := map[dupKey]bool{}
	for _, r := range refs {
		if r.hi <= r.lo || !e.touchesMonth(r) {
			continue
		}
		if r.e.Voided {
			x.add(r, r.hi-r.lo, ExcludedVoided)
			continue
		}
		k := dupKey{r.person, r.lo, r.e.Minutes}
		if seenID[r.e.ID] || seenKey[k] {
			x.add(r, r.hi-r.lo, ExcludedDuplicateEntry)
			continue
		}
		seenID[r.e.ID], seenKey[k] = true, true
		e.checkLate(r, &att)

		inside := e.monthPart(r)
		if out := (r.hi - r.lo) - inside.total(); out > 0 {
			x.add(r, out, ExcludedOtherMonth)
		}
		if code := e.entryExclusion(r); code != "" {
			x.add(r, inside.total(), code)
			if code == ExcludedCountedForOtherProgram {
				otherProgram[r.person] = otherProgram[r.person].union(inside)
			}
			continue
		}
		r.spans = inside
		candidates = append(candidates, r)
	}

	global := e.globalWindows()
	for _, r := range candidates {
		for _, w := range e.windowsFor(r, global, otherProgram) {
			var cut spanSet
			r.spans, cut = r.spans.cut(w.spans)
			if n := cut.total(); n > 0 {
				x.add(r, n, w.code)
				if w.code == ExcludedAfterDeath {
					att.afterDeath += int(n)
				}
			}
		}
	}

	e.sweepOverlaps(candidates, &x, &att)
	att.excluded = x.list()
	e.sameDayFlags(&att)
	return att
}

// entryRefs returns the entries in a deterministic order: start, id,
// recording time, event id, then input order.
func (e *evaluator) entryRefs() []*entryRef {
	refs := make([]*entryRef, len(e.f.TimeEntries))
	all := make([]entryRef, len(e.f.TimeEntries))
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

func personKey(t *TimeEntry) string {
	switch {
	case t.Staff.ID != "":
		return "id:" + t.Staff.ID
	case t.Staff.NPI != "":
		return "npi:" + t.Staff.NPI
	case t.Staff.Name != "":
		return "name:" + t.Staff.Name
	}
	return "entry:" + t.ID
}

// groupKey is the A10 sharing key: the session, else (under "count_once")
// the activity, so the same activity done at the same time by several staff
// counts once while distinct parallel activities each count.
func (e *evaluator) groupKey(t *TimeEntry) string {
	switch {
	case e.p.SimultaneousStaff == CountEach:
		return ""
	case t.SessionID != "":
		return "session:" + t.SessionID
	case t.Activity != "":
		return "activity:" + t.Activity
	}
	return ""
}

// isBillingPractitioner: the billing practitioner's own time is time logged
// under their NPI in a practitioner role.
func (e *evaluator) isBillingPractitioner(s Staff) bool {
	return e.npi != "" && s.NPI == e.npi && (s.Role == "" || contains(billingRoles, s.Role))
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

// monthPart is the part of the entry attributed to the month (T3, T12, A9).
func (e *evaluator) monthPart(r *entryRef) spanSet {
	if e.p.MonthBoundary == EntryStart {
		return spanSet{{r.lo, r.hi}}
	}
	return spanSet{}.add(span{max(r.lo, e.mStart), min(r.hi, e.mEnd)})
}

// entryExclusion returns the code excluding the whole entry, if any.
func (e *evaluator) entryExclusion(r *entryRef) ReasonCode {
	t := r.e
	switch {
	case !r.practitioner && !contains(billingRoles, t.Staff.Role) && !contains(clinicalRoles, t.Staff.Role):
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
	if len(tags) == 0 {
		tags = []Program{ProgramCCM}
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
	ws := make([]window, 0, 5)
	if e.consent.ok {
		before := spanSet{{minMinute, e.consent.first}}
		after, _ := spanSet{{e.consent.first, maxMinute}}.cut(e.consent.covered)
		ws = append(ws, window{ExcludedBeforeConsent, before}, window{ExcludedAfterRevocation, after})
	}
	if d := e.f.Patient.DeceasedDate; !d.IsZero() {
		ws = append(ws, window{ExcludedAfterDeath, spanSet{{unixMinute(d.AddDays(1).Midnight(e.loc)), maxMinute}}})
	}
	if e.p.InpatientDays == Exclude {
		ws = append(ws, window{ExcludedInpatientStay, e.inpatientDays()})
	}
	ws = append(ws, window{ExcludedDuringBilledVisit, e.visitIntervals()})
	return ws
}

// windowsFor adds the entry-specific windows to the global ones.
func (e *evaluator) windowsFor(r *entryRef, global []window, otherProgram map[string]spanSet) []window {
	ws := append(e.windows[:0], global...)
	if r.practitioner {
		ws = append(ws, window{ExcludedDuringBilledVisit, e.visitDays(true)})
	} else if e.p.SameDayStaffMinutes == Exclude {
		ws = append(ws, window{ExcludedDuringBilledVisit, e.visitDays(false)})
	}
	if o := otherProgram[r.person]; len(o) > 0 {
		ws = append(ws, window{ExcludedCountedForOtherProgram, o})
	}
	e.windows = ws
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
	var ss spanSet
	for _, en := range e.f.Encounters {
		if en.Kind != EncounterInpatientStay && en.Kind != EncounterSNFStay {
			continue
		}
		first, last := DateOf(en.Start, e.loc), e.month.LastDay()
		if !en.End.IsZero() {
			last = DateOf(en.End, e.loc).AddDays(-1)
		}
		if last.Compare(first) < 0 {
			last = first
		}
		ss = ss.add(e.dayRange(first, last))
	}
	return ss
}

// visitIntervals are the times inside face-to-face visits (T8, X10).
func (e *evaluator) visitIntervals() spanSet {
	var ss spanSet
	for _, en := range e.f.Encounters {
		if isVisit(en) && !en.End.IsZero() {
			ss = ss.add(span{unixMinute(en.Start), unixMinute(en.End)})
		}
	}
	return ss
}

// visitDays are the dates of the billing practitioner's face-to-face visits:
// only time-based ones when timeBased is set (T8: the practitioner's time on
// that date went into the E/M level), all of them otherwise (A5).
func (e *evaluator) visitDays(timeBased bool) spanSet {
	var ss spanSet
	for _, en := range e.f.Encounters {
		if !isVisit(en) || !e.forBillingPractitioner(en.PractitionerNPI) || (timeBased && !en.TimeBased) {
			continue
		}
		d := DateOf(en.Start, e.loc)
		ss = ss.add(e.dayRange(d, d))
	}
	return ss
}

// sweepOverlaps walks the remaining minutes in time order (the billing
// practitioner first on ties, so a shared session is their personal time)
// and counts each minute once per person and once per shared session.
func (e *evaluator) sweepOverlaps(refs []*entryRef, x *exclusionLog, att *attribution) {
	type piece struct {
		r *entryRef
		s span
	}
	n := 0
	for _, r := range refs {
		n += len(r.spans)
	}
	pieces := make([]piece, 0, n)
	for _, r := range refs {
		for _, s := range r.spans {
			pieces = append(pieces, piece{r, s})
		}
	}
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
	person := map[string]spanSet{}
	group := map[string]spanSet{}
	for _, pc := range pieces {
		r := pc.r
		rest, overlap := spanSet{pc.s}.cut(person[r.person])
		x.add(r, overlap.total(), ExcludedOverlappingTime)
		person[r.person] = person[r.person].add(pc.s)
		if r.group != "" {
			var shared spanSet
			rest, shared = rest.cut(group[r.group])
			x.add(r, shared.total(), ExcludedSharedSession)
			group[r.group] = group[r.group].add(pc.s)
		}
		for _, s := range rest {
			r.counted += s.len()
			att.counted = append(att.counted, countedSpan{s, r.practitioner})
			if r.practitioner {
				att.practitioner += int(s.len())
			} else {
				att.staff += int(s.len())
			}
		}
	}
	att.total = att.practitioner + att.staff
	slices.SortStableFunc(att.counted, func(a, b countedSpan) int { return cmp.Compare(a.lo, b.lo) })
	for _, r := range refs {
		if r.counted > 0 {
			att.entries = append(att.entries, r)
		}
	}
	slices.SortStableFunc(att.entries, func(a, b *entryRef) int { return cmp.Compare(a.order, b.order) })
}

// checkLate flags an entry recorded more than the policy's days after the
// work ended (§6.1: entries should be contemporaneous).
func (e *evaluator) checkLate(r *entryRef, att *attribution) {
	if r.e.RecordedAt.IsZero() {
		return
	}
	end := minuteTime(r.hi)
	limit := time.Duration(e.p.LateEntryDays) * 24 * time.Hour
	if late := r.e.RecordedAt.Sub(end); late > limit {
		att.flags = append(att.flags, Flag{FlagLateEntry, fmt.Sprintf(
			"entry %s was recorded %.1f days after the work ended (policy: %d days)",
			r.e.ID, late.Hours()/24, e.p.LateEntryDays)})
	}
}

// sameDayFlags flags counted minutes on the date of a billed face-to-face
// visit by the billing practitioner (A5 default: counted, shown for review).
func (e *evaluator) sameDayFlags(att *attribution) {
	seen := map[Date]bool{}
	var dates []Date
	for _, en := range e.f.Encounters {
		if !isVisit(en) || !e.forBillingPractitioner(en.PractitionerNPI) {
			continue
		}
		if d := DateOf(en.Start, e.loc); !seen[d] {
			seen[d] = true
			dates = append(dates, d)
		}
	}
	slices.SortFunc(dates, Date.Compare)
	for _, d := range dates {
		day := spanSet{e.dayRange(d, d)}
		var n int64
		for _, c := range att.counted {
			_, in := spanSet{c.span}.cut(day)
			n += in.total()
		}
		if n > 0 {
			att.flags = append(att.flags, Flag{FlagSameDayAsVisit, fmt.Sprintf(
				"%d counted minutes on %s, the date of a face-to-face visit; they are outside the visit and counted for review (A5)", n, d)})
		}
	}
}

// exclusionLog accumulates excluded minutes per (entry, code), keeping the
// first time each pair was seen for a stable order.
type exclusionLog struct {
	items []exclusionItem
	index map[exclusionKey]int
}

type exclusionKey struct {
	order int
	code  ReasonCode
}

type exclusionItem struct {
	key     exclusionKey
	id      string
	minutes int64
}

func (l *exclusionLog) add(r *entryRef, minutes int64, code ReasonCode) {
	if minutes <= 0 {
		return
	}
	if l.index == nil {
		l.index = map[exclusionKey]int{}
	}
	k := exclusionKey{r.order, code}
	if i, ok := l.index[k]; ok {
		l.items[i].minutes += minutes
		return
	}
	l.index[k] = len(l.items)
	l.items = append(l.items, exclusionItem{k, r.e.ID, minutes})
}

// list returns the exclusions in entry order, then in the order the codes
// were applied.
func (l *exclusionLog) list() []Excluded {
	items := append([]exclusionItem(nil), l.items...)
	slices.SortStableFunc(items, func(a, b exclusionItem) int { return cmp.Compare(a.key.order, b.key.order) })
	out := make([]Excluded, 0, len(items))
	for _, it := range items {
		out = append(out, Excluded{EntryID: it.id, Minutes: int(it.minutes), Code: it.key.code})
	}
	return out
}
