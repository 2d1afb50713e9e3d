// Package readmodel is the activity-log service's projection (ARCHITECTURE.md
// decision 3): every time entry with its current version and its history of
// corrections and voids, the entry-id → patient and encounter-id → patient
// indexes the write side needs for routes without a patient in the path,
// the enrolled patients, and the practice's time zone and late-entry window.
//
// Contracts:
//   - Store is a projection.Projection kept in memory: it starts empty and
//     is rebuilt from the log on every start (Checkpoint is 0). Apply is
//     called from one goroutine in log order; it never fails, and applying
//     an event twice is harmless (events are keyed by sequence).
//   - Reads are safe for concurrent use with Apply and return copies.
//   - History lists an entry's events in log order: recorded, then each
//     corrected and voided.
package readmodel

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"sync"
	"time"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/eventlog"
	"github.com/carelog/carelog/services/activitylog/internal/domain"
	"github.com/carelog/carelog/services/billing/rules"
)

// Name names the projection.
const Name = "activitylog-entries"

// History types.
const (
	Recorded  = "recorded"
	Corrected = "corrected"
	Voided    = "voided"
)

// HistoryItem is one event of an entry's history.
type HistoryItem struct {
	// Type is recorded, corrected or voided.
	Type       string       `json:"type"`
	EventID    string       `json:"eventId"`
	Sequence   uint64       `json:"sequence"`
	RecordedAt time.Time    `json:"recordedAt"`
	Actor      events.Actor `json:"actor"`
	// Reason is the correction's or void's reason.
	Reason string `json:"reason,omitempty"`
	// Entry is the version the event recorded (absent for a void).
	Entry *events.TimeEntry `json:"entry,omitempty"`
}

// Entry is a time entry with its corrections applied.
type Entry struct {
	events.TimeEntry
	// EventID and Sequence are those of the current version's event (the
	// recording or the latest correction).
	EventID  string `json:"eventId"`
	Sequence uint64 `json:"sequence"`
	// RecordedAt is when the entry was first recorded.
	RecordedAt time.Time `json:"recordedAt"`
	// Version counts the recording and its corrections (1: never corrected).
	Version int `json:"version"`
	// Late: recorded more than the practice's lateEntryDays after the work
	// ended (billing flags it late_entry).
	Late bool `json:"late"`
	// Voided: the entry was withdrawn; its minutes no longer count.
	Voided     bool   `json:"voided"`
	VoidReason string `json:"voidReason,omitempty"`
	// History lists the entry's events in log order.
	History []HistoryItem `json:"history"`
}

// entry is the stored form of an Entry.
type entry struct {
	patientID  string
	current    events.TimeEntry
	recordedAt time.Time
	voided     bool
	voidReason string
	history    []HistoryItem
}

type practice struct {
	timezone string
	loc      *time.Location
	lateDays int
}

// Store holds the read model. Safe for concurrent use.
type Store struct {
	mu         sync.RWMutex
	patients   map[string][]string // enrolled patient → entry ids in recording order
	entries    map[string]*entry
	encounters map[string]string // encounter id → patient id
	practice   practice
}

// New returns an empty store.
func New() *Store {
	return &Store{patients: map[string][]string{}, entries: map[string]*entry{}, encounters: map[string]string{},
		practice: practice{timezone: "UTC", loc: time.UTC, lateDays: rules.DefaultPolicy().LateEntryDays}}
}

// Name implements projection.Projection.
func (s *Store) Name() string { return Name }

// Checkpoint implements projection.Projection: an in-memory store always
// rebuilds from the start.
func (s *Store) Checkpoint(context.Context) (uint64, error) { return 0, nil }

// Apply implements projection.Projection.
func (s *Store) Apply(_ context.Context, rec eventlog.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	item := HistoryItem{EventID: rec.ID, Sequence: rec.Sequence, RecordedAt: rec.RecordedAt, Actor: rec.Actor}
	switch rec.Type {
	case events.TypePracticeConfigured:
		if p, ok := domain.Payload[events.PracticeConfigured](rec); ok {
			s.practice = practiceOf(p)
		}
	case events.TypePatientEnrolled:
		if _, ok := s.patients[rec.PatientID]; !ok && rec.PatientID != "" {
			s.patients[rec.PatientID] = nil
		}
	case events.TypeTimeRecorded:
		e, ok := domain.Payload[events.TimeRecorded](rec)
		if !ok {
			return nil
		}
		if _, dup := s.entries[e.ID]; dup {
			return nil
		}
		te := events.TimeEntry(e)
		item.Type, item.Entry = Recorded, &te
		s.entries[e.ID] = &entry{patientID: rec.PatientID, current: te, recordedAt: rec.RecordedAt, history: []HistoryItem{item}}
		s.patients[rec.PatientID] = append(s.patients[rec.PatientID], e.ID)
	case events.TypeTimeCorrected:
		c, ok := domain.Payload[events.TimeCorrected](rec)
		if !ok {
			return nil
		}
		if e := s.entries[c.EntryID]; e != nil && e.last() < rec.Sequence {
			te := c.Entry
			item.Type, item.Reason, item.Entry = Corrected, c.Reason, &te
			e.current = te
			e.history = append(e.history, item)
		}
	case events.TypeTimeVoided:
		v, ok := domain.Payload[events.TimeVoided](rec)
		if !ok {
			return nil
		}
		if e := s.entries[v.EntryID]; e != nil && e.last() < rec.Sequence {
			item.Type, item.Reason = Voided, v.Reason
			e.voided, e.voidReason = true, v.Reason
			e.history = append(e.history, item)
		}
	case events.TypeEncounterRecorded:
		if enc, ok := domain.Payload[events.EncounterRecorded](rec); ok {
			if _, seen := s.encounters[enc.ID]; !seen {
				s.encounters[enc.ID] = rec.PatientID
			}
		}
	}
	return nil
}

func (e *entry) last() uint64 { return e.history[len(e.history)-1].Sequence }

// practiceOf reads the settings this service uses: the time zone (UTC when
// unset or unknown) and the policy's lateEntryDays (rules.Policy, whose
// empty value means the default of 7 days).
func practiceOf(p events.PracticeConfigured) practice {
	out := practice{timezone: "UTC", loc: time.UTC, lateDays: rules.DefaultPolicy().LateEntryDays}
	if p.Timezone != "" {
		if loc, err := time.LoadLocation(p.Timezone); err == nil {
			out.timezone, out.loc = p.Timezone, loc
		}
	}
	var pol rules.Policy
	if len(p.Policy) > 0 && json.Unmarshal(p.Policy, &pol) == nil && pol.LateEntryDays > 0 {
		out.lateDays = pol.LateEntryDays
	}
	return out
}

// LateEntryDays is the practice policy's late-entry window in days.
func (s *Store) LateEntryDays() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.practice.lateDays
}

// Enrolled reports whether a patient was enrolled.
func (s *Store) Enrolled(patientID string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, ok := s.patients[patientID]
	return ok
}

// PatientOfEntry returns the patient an entry id was recorded for.
func (s *Store) PatientOfEntry(id string) (string, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if e := s.entries[id]; e != nil {
		return e.patientID, true
	}
	return "", false
}

// PatientOfEncounter returns the patient an encounter id was recorded for.
func (s *Store) PatientOfEncounter(id string) (string, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	p, ok := s.encounters[id]
	return p, ok
}

// Entry returns one entry with its history.
func (s *Store) Entry(id string) (string, Entry, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	e := s.entries[id]
	if e == nil {
		return "", Entry{}, false
	}
	return e.patientID, s.view(e), true
}

func (s *Store) view(e *entry) Entry {
	cur := e.history[0]
	for _, h := range e.history {
		if h.Type != Voided {
			cur = h
		}
	}
	return Entry{
		TimeEntry: e.current, EventID: cur.EventID, Sequence: cur.Sequence, RecordedAt: e.recordedAt,
		Version: countVersions(e.history), Late: domain.Late(e.current, e.recordedAt, s.practice.lateDays),
		Voided: e.voided, VoidReason: e.voidReason, History: slices.Clone(e.history),
	}
}

func countVersions(h []HistoryItem) int {
	n := 0
	for _, x := range h {
		if x.Type != Voided {
			n++
		}
	}
	return n
}

// Month is a patient's time entries of one calendar month.
type Month struct {
	PatientID string `json:"patientId"`
	Month     string `json:"month"`
	// Timezone is the practice's time zone, which decides the month a minute
	// belongs to (ccm-rules.md T12; UTC until the practice is configured).
	Timezone string `json:"timezone"`
	// Entries are the month's entries that count, with corrections applied,
	// ordered by start: voided entries are listed apart, in Voided.
	Entries []Entry `json:"entries"`
	// Voided are the month's voided entries, with their history.
	Voided []Entry `json:"voided"`
	// TotalMinutes sums the minutes of Entries inside the month (an entry
	// crossing the month's boundary contributes its part). It is the
	// documented time, not the billable count: billing's evaluation applies
	// the program order, overlaps, sessions and exclusions.
	TotalMinutes int `json:"totalMinutes"`
}

// MonthOf returns the entries of patientID whose work overlaps the calendar
// month (the first day, from domain.ParseMonth) in the practice time zone;
// ok is false for a patient that is not enrolled.
func (s *Store) MonthOf(patientID string, month time.Time) (Month, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ids, ok := s.patients[patientID]
	if !ok {
		return Month{}, false
	}
	loc := s.practice.loc
	from := time.Date(month.Year(), month.Month(), 1, 0, 0, 0, 0, loc)
	to := from.AddDate(0, 1, 0)
	out := Month{PatientID: patientID, Month: month.Format("2006-01"), Timezone: s.practice.timezone,
		Entries: []Entry{}, Voided: []Entry{}}
	for _, id := range ids {
		e := s.entries[id]
		// Whole minutes from the minute the work started, as billing counts.
		start := e.current.StartedAt.Truncate(time.Minute)
		end := start.Add(time.Duration(e.current.Minutes) * time.Minute)
		if !start.Before(to) || !end.After(from) {
			continue
		}
		v := s.view(e)
		if e.voided {
			out.Voided = append(out.Voided, v)
			continue
		}
		out.Entries = append(out.Entries, v)
		out.TotalMinutes += int(earlier(end, to).Sub(later(start, from)) / time.Minute)
	}
	byStart := func(a, b Entry) int {
		return cmp.Or(a.StartedAt.Compare(b.StartedAt), cmp.Compare(a.ID, b.ID))
	}
	slices.SortFunc(out.Entries, byStart)
	slices.SortFunc(out.Voided, byStart)
	return out, true
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
