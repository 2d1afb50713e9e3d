package readmodel_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/eventlog"
	"github.com/carelog/carelog/services/activitylog/internal/readmodel"
)

var now = time.Date(2025, 4, 20, 12, 0, 0, 0, time.UTC)

type feed struct {
	t   *testing.T
	s   *readmodel.Store
	seq uint64
}

func (f *feed) apply(id string, typ events.Type, pid string, recordedAt time.Time, payload any) uint64 {
	f.t.Helper()
	f.seq++
	data, _ := json.Marshal(payload)
	stream := events.PatientStream(pid)
	if pid == "" {
		stream = events.PracticeStream
	}
	rec := eventlog.Record{Sequence: f.seq, Envelope: events.Envelope{ID: id, Type: typ, Version: 1, Stream: stream, PatientID: pid,
		OccurredAt: recordedAt, RecordedAt: recordedAt, Actor: events.Actor{ID: "tok", Role: "clinician"}, Data: data}}
	if err := f.s.Apply(context.Background(), rec); err != nil {
		f.t.Fatalf("Apply %s: %v", id, err)
	}
	// Applying twice (a replayed delivery) changes nothing.
	if err := f.s.Apply(context.Background(), rec); err != nil {
		f.t.Fatalf("Apply %s again: %v", id, err)
	}
	return f.seq
}

func entry(id, pid, start string, minutes int) events.TimeEntry {
	t, err := time.Parse(time.RFC3339, start)
	if err != nil {
		panic(err)
	}
	return events.TimeEntry{ID: id, PatientID: pid, Staff: events.Staff{ID: "rn", Name: "R", Role: "rn"}, Programs: []string{"ccm"},
		StartedAt: t, Minutes: minutes, Activity: "care_coordination", Notes: "Reviewed glucose log, adjusted insulin", Outcome: "completed"}
}

func TestHistoryAndMonth(t *testing.T) {
	f := &feed{t: t, s: readmodel.New()}
	s := f.s
	f.apply("practice-1", events.TypePracticeConfigured, "", now, events.PracticeConfigured{Timezone: "America/New_York", Policy: json.RawMessage(`{"lateEntryDays":3}`)})
	f.apply("patient-p-1", events.TypePatientEnrolled, "p-1", now, events.PatientEnrolled{ID: "p-1"})
	// 23:50 New York on 31 March is 03:50 UTC on 1 April: 20 minutes of
	// which 10 fall in March and 10 in April (local midnight, T12).
	f.apply("entry-e-1", events.TypeTimeRecorded, "p-1", time.Date(2025, 4, 1, 5, 0, 0, 0, time.UTC), events.TimeRecorded(entry("e-1", "p-1", "2025-04-01T03:50:00Z", 20)))
	f.apply("entry-e-2", events.TypeTimeRecorded, "p-1", time.Date(2025, 4, 2, 0, 0, 0, 0, time.UTC), events.TimeRecorded(entry("e-2", "p-1", "2025-03-10T14:00:00Z", 15)))
	f.apply("entry-e-3", events.TypeTimeRecorded, "p-1", time.Date(2025, 3, 11, 0, 0, 0, 0, time.UTC), events.TimeRecorded(entry("e-3", "p-1", "2025-03-10T15:00:00Z", 10)))
	c := f.apply("correction-1", events.TypeTimeCorrected, "p-1", now, events.TimeCorrected{EntryID: "e-3", Entry: entry("e-3", "p-1", "2025-03-10T15:00:00Z", 12), Reason: "typo"})
	v := f.apply("void-e-2", events.TypeTimeVoided, "p-1", now, events.TimeVoided{EntryID: "e-2", Reason: "duplicate"})
	f.apply("encounter-v-1", events.TypeEncounterRecorded, "p-1", now, events.EncounterRecorded{ID: "v-1", Kind: "office_visit", Start: now})

	m, ok := s.MonthOf("p-1", time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC))
	if !ok {
		t.Fatal("MonthOf p-1: got not found")
	}
	if m.Timezone != "America/New_York" || len(m.Entries) != 2 || len(m.Voided) != 1 {
		t.Fatalf("March: got zone %s, %d entries, %d voided; want America/New_York, 2 and 1", m.Timezone, len(m.Entries), len(m.Voided))
	}
	if m.Entries[0].ID != "e-3" || m.Entries[1].ID != "e-1" || m.Voided[0].ID != "e-2" {
		t.Errorf("March order: got %s, %s (voided %s); want e-3, e-1 (voided e-2)", m.Entries[0].ID, m.Entries[1].ID, m.Voided[0].ID)
	}
	if m.TotalMinutes != 22 {
		t.Errorf("March total: got %d, want 22 (12 corrected + 10 before midnight; the voided 15 not counted)", m.TotalMinutes)
	}
	e3 := m.Entries[0]
	if e3.Minutes != 12 || e3.Version != 2 || e3.Sequence != c || e3.EventID != "correction-1" || len(e3.History) != 2 {
		t.Errorf("e-3: got %d min, version %d, seq %d, event %s, %d history items; want 12, 2, %d, correction-1, 2", e3.Minutes, e3.Version, e3.Sequence, e3.EventID, len(e3.History), c)
	}
	if e3.Late {
		t.Error("e-3 recorded the next day: got late, want not late")
	}
	if m.Entries[1].Late {
		t.Error("e-1 recorded an hour later: got late, want not late")
	}
	if !m.Voided[0].Late || !m.Voided[0].Voided || m.Voided[0].VoidReason != "duplicate" {
		t.Errorf("e-2 recorded 22 days later with a 3-day policy, then voided: got %+v", m.Voided[0])
	}
	if april, _ := s.MonthOf("p-1", time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC)); len(april.Entries) != 1 || april.TotalMinutes != 10 {
		t.Errorf("April in New York: got %d entries, %d minutes; want e-1 with its 10 minutes after midnight", len(april.Entries), april.TotalMinutes)
	}

	_, e2, ok := s.Entry("e-2")
	if !ok || len(e2.History) != 2 || e2.History[0].Type != readmodel.Recorded || e2.History[1].Type != readmodel.Voided ||
		e2.History[1].Sequence != v || e2.History[1].Entry != nil || e2.History[1].Reason != "duplicate" {
		t.Errorf("e-2 history: got %+v", e2.History)
	}
	if e2.EventID != "entry-e-2" || e2.Version != 1 {
		t.Errorf("e-2 current version: got %s v%d, want entry-e-2 v1 (a void is not a version)", e2.EventID, e2.Version)
	}
	if pid, ok := s.PatientOfEntry("e-1"); !ok || pid != "p-1" {
		t.Errorf("PatientOfEntry(e-1): got %q %v, want p-1", pid, ok)
	}
	if pid, ok := s.PatientOfEncounter("v-1"); !ok || pid != "p-1" {
		t.Errorf("PatientOfEncounter(v-1): got %q %v, want p-1", pid, ok)
	}
	if _, ok := s.MonthOf("p-2", time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)); ok {
		t.Error("MonthOf(p-2), never enrolled: got found")
	}
	if s.LateEntryDays() != 3 {
		t.Errorf("late entry days: got %d, want 3", s.LateEntryDays())
	}
}

func TestPracticeDefaults(t *testing.T) {
	f := &feed{t: t, s: readmodel.New()}
	if f.s.LateEntryDays() != 7 {
		t.Errorf("unconfigured: got %d late days, want 7", f.s.LateEntryDays())
	}
	f.apply("practice-1", events.TypePracticeConfigured, "", now, events.PracticeConfigured{Timezone: "Mars/Olympus", Policy: json.RawMessage(`{"lateEntryDays":0}`)})
	f.apply("patient-p-1", events.TypePatientEnrolled, "p-1", now, events.PatientEnrolled{ID: "p-1"})
	if m, _ := f.s.MonthOf("p-1", time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)); m.Timezone != "UTC" || f.s.LateEntryDays() != 7 {
		t.Errorf("unknown zone, policy 0: got %s and %d days, want UTC and the default 7", m.Timezone, f.s.LateEntryDays())
	}
}
