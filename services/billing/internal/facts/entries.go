package facts

import (
	"encoding/binary"
	"slices"
	"time"

	"github.com/carelog/carelog/services/billing/rules"
)

// Time entries are most of a fold's facts, and the fold of a whole log stays
// in memory, where the garbage collector marks every pointer of it on every
// cycle. So a version of an entry is kept packed (entry): its strings share
// one allocation, the contract's fixed strings are vocabulary codes, and
// entries are stored by value. unpack restores the rules.TimeEntry field for
// field.

// entry is one version of a time entry, packed.
type entry struct {
	// text holds the version's strings, each as a uvarint length and its
	// bytes, in this order: ID, EventID, Staff.ID, Staff.Name, Staff.NPI,
	// SessionID, EncounterID, CorrectedFrom, then Staff.Role, Activity and
	// Outcome when they are not in the vocabulary (code 0), then the
	// programs when they are not nil or a one-program list of
	// singleByCode (programs listed: their count and each program), then
	// Minutes when they do not fit in minutes (entryLongMinutes).
	text       string
	startedAt  time.Time
	recordedAt time.Time
	// seq is the sequence of the event that recorded this version.
	seq     uint64
	minutes int32
	// prev is the entry's previous version: its index+1 in more.older
	// (0: none).
	prev int32
	// role, activity and outcome are vocabulary codes (vocabCode; 0: the
	// string is in text).
	role, activity, outcome uint8
	// programs is 0 for nil, listed for a list in text, or the vocabulary
	// code of the one program of a singleByCode list.
	programs uint8
	flags    uint8
}

const (
	entryVoided = 1 << iota
	entryDirectSupervision
	entryLongMinutes
)

// listed marks programs stored in text.
const listed = 0xff

// entryText is what an entry's text is packed from: the strings of a
// decoded payload (still in its bytes) or of a rules.TimeEntry.
type entryText[S ~string | ~[]byte] struct {
	id, staffID, staffName, staffNPI, sessionID, encounterID, correctedFrom S
	role, activity, outcome                                                 S
	programs                                                                []rules.Program
}

// pack packs t with the version's other fields into an entry (one
// allocation: its text).
func (t *entryText[S]) pack(eventID string, startedAt, recordedAt time.Time, minutes int, flags uint8, seq uint64) entry {
	en := entry{startedAt: startedAt, recordedAt: recordedAt, minutes: int32(minutes), seq: seq, flags: flags,
		role: vocabCode[string(t.role)], activity: vocabCode[string(t.activity)], outcome: vocabCode[string(t.outcome)]}
	if t.programs != nil {
		en.programs = listed
		if len(t.programs) == 1 {
			if c := vocabCode[string(t.programs[0])]; singleByCode[c] != nil {
				en.programs = c
			}
		}
	}
	var buf [256]byte
	b := appendText(buf[:0], t.id)
	b = appendText(b, eventID)
	b = appendText(b, t.staffID)
	b = appendText(b, t.staffName)
	b = appendText(b, t.staffNPI)
	b = appendText(b, t.sessionID)
	b = appendText(b, t.encounterID)
	b = appendText(b, t.correctedFrom)
	if en.role == 0 {
		b = appendText(b, t.role)
	}
	if en.activity == 0 {
		b = appendText(b, t.activity)
	}
	if en.outcome == 0 {
		b = appendText(b, t.outcome)
	}
	if en.programs == listed {
		b = binary.AppendUvarint(b, uint64(len(t.programs)))
		for _, p := range t.programs {
			b = appendText(b, p)
		}
	}
	if int(en.minutes) != minutes {
		en.minutes, en.flags = 0, en.flags|entryLongMinutes
		b = binary.AppendVarint(b, int64(minutes))
	}
	en.text = string(b)
	return en
}

func appendText[S ~string | ~[]byte](b []byte, s S) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// packEntry packs e as the version recorded at sequence seq.
func packEntry(e *rules.TimeEntry, seq uint64) entry {
	t := entryText[string]{
		id: e.ID, staffID: e.Staff.ID, staffName: e.Staff.Name, staffNPI: e.Staff.NPI,
		sessionID: e.SessionID, encounterID: e.EncounterID, correctedFrom: e.CorrectedFrom,
		role: string(e.Staff.Role), activity: e.Activity, outcome: e.Outcome, programs: e.Programs,
	}
	var flags uint8
	if e.Voided {
		flags |= entryVoided
	}
	if e.DirectSupervision {
		flags |= entryDirectSupervision
	}
	return t.pack(e.EventID, e.StartedAt, e.RecordedAt, e.Minutes, flags, seq)
}

// textReader reads an entry's text field by field.
type textReader struct {
	s string
	i int
}

func (r *textReader) uvarint() int {
	var n uint64
	for shift := 0; ; shift += 7 {
		c := r.s[r.i]
		r.i++
		n |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return int(n)
		}
	}
}

func (r *textReader) next() string {
	n := r.uvarint()
	s := r.s[r.i : r.i+n]
	r.i += n
	return s
}

// code returns the vocabulary string of code c, or reads it from the text.
func (r *textReader) code(c uint8) string {
	if c == 0 {
		return r.next()
	}
	return vocabList[c]
}

// unpack returns the version as the rules read it. Programs listed in the
// text are a fresh slice; every other field shares the entry's storage.
func (en *entry) unpack() rules.TimeEntry {
	r := textReader{s: en.text}
	var e rules.TimeEntry
	e.ID = r.next()
	e.EventID = r.next()
	e.Staff.ID = r.next()
	e.Staff.Name = r.next()
	e.Staff.NPI = r.next()
	e.SessionID = r.next()
	e.EncounterID = r.next()
	e.CorrectedFrom = r.next()
	e.Staff.Role = rules.Role(r.code(en.role))
	e.Activity = r.code(en.activity)
	e.Outcome = r.code(en.outcome)
	switch en.programs {
	case 0:
	case listed:
		e.Programs = make([]rules.Program, r.uvarint())
		for i := range e.Programs {
			e.Programs[i] = rules.Program(r.next())
		}
	default:
		e.Programs = singleByCode[en.programs]
	}
	e.Minutes = int(en.minutes)
	if en.flags&entryLongMinutes != 0 {
		e.Minutes = r.varint()
	}
	e.StartedAt, e.RecordedAt = en.startedAt, en.recordedAt
	e.Voided = en.flags&entryVoided != 0
	e.DirectSupervision = en.flags&entryDirectSupervision != 0
	return e
}

// id is the entry's ID (the first string of its text).
func (en *entry) id() string {
	r := textReader{s: en.text}
	return r.next()
}

// eventID is the EventID of the version.
func (en *entry) eventID() string {
	r := textReader{s: en.text}
	r.i += r.uvarint()
	return r.next()
}

func (en *entry) voided() bool { return en.flags&entryVoided != 0 }

// mins is the version's Minutes.
func (en *entry) mins() int {
	if en.flags&entryLongMinutes != 0 {
		return en.unpack().Minutes
	}
	return int(en.minutes)
}

// bounds is the version's span in Unix seconds, [lo, hi).
func (en *entry) bounds() (lo, hi int64) {
	lo = en.startedAt.Unix()
	return lo, lo + int64(max(en.mins(), 0))*60
}

func (en *entry) span() Span {
	return Span{en.startedAt, en.startedAt.Add(time.Duration(max(en.mins(), 0)) * time.Minute)}
}

// ---- the index of a large patient's entries ---------------------------------

// indexFrom is the number of entries from which a patient's entries are
// indexed; below it, finding an entry by id or the entries of a month scans
// them all, which costs less than the maps.
const indexFrom = 48

// entryIndex finds entries by id, and by the UTC months their spans touch
// (a zone is never more than a day from UTC), so that a month's entries are
// found without scanning the whole history; wide holds entries spanning more
// than maxBuckets months. Every version is registered (never removed), so a
// bucket may hold entries whose current version no longer touches it.
type entryIndex struct {
	byID    map[string]int32
	buckets map[int32][]int32
	wide    []int32
}

const maxBuckets = 24

func (ix *entryIndex) add(idx int32, en *entry) {
	// A second recording of an id stays a separate entry (the engine
	// reports it as a duplicate_entry); corrections and voids address the
	// first.
	if id := en.id(); ix.byID[id] == 0 {
		ix.byID[id] = idx + 1
	}
	ix.register(idx, en.span())
}

// register indexes entry idx under the UTC months of sp (once per month).
func (ix *entryIndex) register(idx int32, sp Span) {
	first, last := utcMonth(sp.Start), utcMonth(sp.End)
	if last-first > maxBuckets {
		if !slices.Contains(ix.wide, idx) {
			ix.wide = append(ix.wide, idx)
		}
		return
	}
	for b := first; b <= last; b++ {
		if l := ix.buckets[b]; !slices.Contains(l, idx) {
			ix.buckets[b] = append(l, idx)
		}
	}
}

// utcMonth is the index of t's UTC calendar month.
func utcMonth(t time.Time) int32 {
	y, m, _ := t.UTC().Date()
	return int32(y*12 + int(m) - 1)
}

// indexEntries indexes every entry; recordEntry calls it when the patient
// reaches indexFrom entries, and keeps the index from then on.
func (p *Patient) indexEntries() {
	ix := &entryIndex{byID: make(map[string]int32, 2*len(p.entries)), buckets: map[int32][]int32{}}
	for i := range p.entries {
		ix.add(int32(i), &p.entries[i])
	}
	p.rare().index = ix
}

// entryIndex returns the entries' index, nil below indexFrom entries.
func (p *Patient) entryIndex() *entryIndex {
	if p.more == nil {
		return nil
	}
	return p.more.index
}

// find returns the index of the first entry recorded with id, or -1.
func (p *Patient) find(id string) int {
	if ix := p.entryIndex(); ix != nil {
		return int(ix.byID[id]) - 1
	}
	for i := range p.entries {
		if p.entries[i].id() == id {
			return i
		}
	}
	return -1
}

// ---- applying ----------------------------------------------------------------

func (p *Patient) recordEntry(en entry) Change {
	idx := int32(len(p.entries))
	p.entries = append(p.entries, en)
	switch ix := p.entryIndex(); {
	case ix != nil:
		ix.add(idx, &p.entries[idx])
	case len(p.entries) >= indexFrom:
		p.indexEntries()
	}
	sp := en.span()
	p.touch(sp)
	return Change{Applied: true, Spans: [2]Span{sp}, NSpans: 1}
}

func (p *Patient) correctEntry(e rules.TimeEntry, seq uint64) Change {
	i := p.find(e.ID)
	if i < 0 {
		return p.recordEntry(packEntry(&e, seq)) // a correction of an entry never recorded here
	}
	en := &p.entries[i]
	old := en.span()
	if en.voided() {
		return Change{Applied: true, Spans: [2]Span{old}, NSpans: 1} // a void is final
	}
	e.RecordedAt = en.recordedAt
	e.CorrectedFrom = en.eventID()
	next := packEntry(&e, seq)
	p.supersede(en, next)
	sp := en.span()
	if ix := p.entryIndex(); ix != nil {
		ix.register(int32(i), sp)
	}
	p.touch(sp)
	return Change{Applied: true, Spans: [2]Span{old, sp}, NSpans: 2}
}

func (p *Patient) voidEntry(id, eventID string, seq uint64) Change {
	i := p.find(id)
	if i < 0 {
		return Change{}
	}
	en := &p.entries[i]
	e := en.unpack()
	e.Voided, e.EventID = true, eventID
	p.supersede(en, packEntry(&e, seq))
	return Change{Applied: true, Spans: [2]Span{en.span()}, NSpans: 1}
}

// supersede makes next the current version of *en, keeping the current one
// as its previous version.
func (p *Patient) supersede(en *entry, next entry) {
	m := p.rare()
	m.older = append(m.older, *en)
	next.prev = int32(len(m.older))
	*en = next
}

// ---- reading -----------------------------------------------------------------

// at returns the version of entry i as of sequence through (0: now), or nil
// when the entry was not recorded yet.
func (p *Patient) at(i int, through uint64) *entry {
	en := &p.entries[i]
	for through != 0 && en.seq > through {
		if en.prev == 0 {
			return nil
		}
		en = &p.more.older[en.prev-1]
	}
	return en
}

// monthEntries returns the entries that may touch month m in loc (the
// engine ignores those wholly outside it), in log order, each in its
// version as of through (0: now).
func (p *Patient) monthEntries(m rules.Month, loc *time.Location, through uint64) []rules.TimeEntry {
	if len(p.entries) == 0 {
		return []rules.TimeEntry{}
	}
	// An hour of slack on each side: the engine decides to the minute.
	start, end := m.Start(loc), m.End(loc)
	lo, hi := start.Unix()-3600, end.Unix()+3600
	var buf [64]int32
	idxs := buf[:0]
	if ix := p.entryIndex(); ix != nil && through == 0 {
		first, last := utcMonth(start.Add(-time.Hour)), utcMonth(end.Add(time.Hour))
		for b := first; b <= last; b++ {
			idxs = append(idxs, ix.buckets[b]...)
		}
		idxs = append(idxs, ix.wide...)
		slices.Sort(idxs)
		idxs = slices.Compact(idxs)
		k := 0
		for _, i := range idxs {
			if a, b := p.entries[i].bounds(); a < hi && b > lo {
				idxs[k] = i
				k++
			}
		}
		idxs = idxs[:k]
	} else {
		for i := range p.entries {
			if en := p.at(i, through); en != nil {
				if a, b := en.bounds(); a < hi && b > lo {
					idxs = append(idxs, int32(i))
				}
			}
		}
	}
	out := make([]rules.TimeEntry, len(idxs))
	for k, i := range idxs {
		out[k] = p.at(int(i), through).unpack()
	}
	return out
}

// Entries returns every time entry in its current version, in log order.
func (p *Patient) Entries() []rules.TimeEntry {
	out := make([]rules.TimeEntry, len(p.entries))
	for i := range p.entries {
		out[i] = p.entries[i].unpack()
	}
	return out
}
