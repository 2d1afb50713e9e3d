package domain_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/errs"
	"github.com/carelog/carelog/pkg/eventlog"
	"github.com/carelog/carelog/services/activitylog/internal/domain"
)

// ---- given: stored events ------------------------------------------------------

var seq uint64

func rec(id string, typ events.Type, payload any) eventlog.Record {
	seq++
	data, _ := json.Marshal(payload)
	return eventlog.Record{Sequence: seq, Envelope: events.Envelope{ID: id, Type: typ, Version: 1, Stream: "patient.p-1",
		PatientID: "p-1", OccurredAt: now, RecordedAt: now, Actor: events.Actor{ID: "tok-1", Role: "clinician"}, Data: data}}
}

func enrolled() eventlog.Record {
	return rec("patient-p-1", events.TypePatientEnrolled, events.PatientEnrolled{ID: "p-1"})
}

func entry(id string, minutes int) events.TimeEntry {
	e, err := domain.DefaultRules().Entry(validInput(), now)
	if err != nil {
		panic(err)
	}
	e.ID, e.Minutes = id, minutes
	return e
}

func recorded(id string, minutes int) eventlog.Record {
	return rec("entry-"+id, events.TypeTimeRecorded, events.TimeRecorded(entry(id, minutes)))
}

func corrected(evID, id string, minutes int) eventlog.Record {
	return rec(evID, events.TypeTimeCorrected, events.TimeCorrected{EntryID: id, Entry: entry(id, minutes), Reason: "typo"})
}

func voided(id string) eventlog.Record {
	return rec("void-"+id, events.TypeTimeVoided, events.TimeVoided{EntryID: id, Reason: "wrong patient"})
}

func encounter(id string) eventlog.Record {
	return rec("encounter-"+id, events.TypeEncounterRecorded, events.EncounterRecorded{ID: id, Kind: "office_visit", Start: now})
}

func fold(given ...eventlog.Record) domain.Patient {
	s := domain.Patient{}
	for _, r := range given {
		s = domain.Evolve(s, r)
	}
	return s
}

// ---- decide tables ---------------------------------------------------------------

func TestDecideRecord(t *testing.T) {
	withEncounter := entry("e-2", 20)
	withEncounter.EncounterID = "v-1"
	tests := []struct {
		name      string
		given     []eventlog.Record
		when      events.TimeEntry
		wantKind  errs.Kind
		wantField string
	}{
		{"enrolled patient", []eventlog.Record{enrolled()}, entry("e-1", 20), "", ""},
		{"patient not enrolled", nil, entry("e-1", 20), errs.NotFound, "patientId"},
		{"other services' events only", []eventlog.Record{rec("c-1", events.TypeConditionRecorded, events.ConditionRecorded{Code: "I50.22"})}, entry("e-1", 20), errs.NotFound, "patientId"},
		{"encounter recorded", []eventlog.Record{enrolled(), encounter("v-1")}, withEncounter, "", ""},
		{"encounter unknown", []eventlog.Record{enrolled(), encounter("v-9")}, withEncounter, errs.Invalid, "encounterId"},
		{"entry id already recorded", []eventlog.Record{enrolled(), recorded("e-1", 20)}, entry("e-1", 25), errs.Conflict, "id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, domain.DecideRecord(fold(tt.given...), tt.when), tt.wantKind, tt.wantField)
		})
	}
}

func TestDecideCorrect(t *testing.T) {
	fix := func(minutes int) events.TimeCorrected {
		return events.TimeCorrected{EntryID: "e-1", Entry: entry("e-1", minutes), Reason: "typo"}
	}
	withEncounter := fix(20)
	withEncounter.Entry.EncounterID = "v-1"
	tests := []struct {
		name      string
		given     []eventlog.Record
		basedOn   string
		when      events.TimeCorrected
		wantKind  errs.Kind
		wantField string
		unchanged bool
	}{
		{"correct the recording", []eventlog.Record{enrolled(), recorded("e-1", 20)}, "entry-e-1", fix(25), "", "", false},
		{"correct the latest correction", []eventlog.Record{enrolled(), recorded("e-1", 20), corrected("c-1", "e-1", 25)}, "c-1", fix(30), "", "", false},
		{"back to an earlier version", []eventlog.Record{enrolled(), recorded("e-1", 20), corrected("c-1", "e-1", 25)}, "c-1", fix(20), "", "", false},
		{"unknown entry", []eventlog.Record{enrolled()}, "entry-e-1", fix(25), errs.NotFound, "", false},
		{"voided entry", []eventlog.Record{enrolled(), recorded("e-1", 20), voided("e-1")}, "entry-e-1", fix(25), errs.Conflict, "", false},
		{"stale version", []eventlog.Record{enrolled(), recorded("e-1", 20), corrected("c-1", "e-1", 25)}, "entry-e-1", fix(30), errs.Conflict, "", false},
		{"no change", []eventlog.Record{enrolled(), recorded("e-1", 20), corrected("c-1", "e-1", 25)}, "c-1", fix(25), "", "", true},
		{"no change from a stale read is still no change", []eventlog.Record{enrolled(), recorded("e-1", 20), corrected("c-1", "e-1", 25)}, "entry-e-1", fix(25), "", "", true},
		{"unknown encounter", []eventlog.Record{enrolled(), recorded("e-1", 20)}, "entry-e-1", withEncounter, errs.Invalid, "encounterId", false},
		{"known encounter", []eventlog.Record{enrolled(), encounter("v-1"), recorded("e-1", 20)}, "entry-e-1", withEncounter, "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := domain.DecideCorrect(fold(tt.given...), tt.basedOn, tt.when)
			if tt.unchanged {
				if !errors.Is(err, domain.ErrUnchanged) {
					t.Fatalf("got %v, want ErrUnchanged", err)
				}
				return
			}
			wantErr(t, err, tt.wantKind, tt.wantField)
		})
	}
}

func TestDecideVoid(t *testing.T) {
	tests := []struct {
		name     string
		given    []eventlog.Record
		wantKind errs.Kind
	}{
		{"recorded entry", []eventlog.Record{enrolled(), recorded("e-1", 20)}, ""},
		{"corrected entry", []eventlog.Record{enrolled(), recorded("e-1", 20), corrected("c-1", "e-1", 25)}, ""},
		{"unknown entry", []eventlog.Record{enrolled()}, errs.NotFound},
		{"already voided", []eventlog.Record{enrolled(), recorded("e-1", 20), voided("e-1")}, errs.Conflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, domain.DecideVoid(fold(tt.given...), events.TimeVoided{EntryID: "e-1", Reason: "duplicate"}), tt.wantKind, "")
		})
	}
}

func TestDecideFacts(t *testing.T) {
	enc := events.EncounterRecorded{ID: "v-1", Kind: "office_visit", Start: now}
	wantErr(t, domain.DecideEncounter(fold(enrolled()), enc), "", "")
	wantErr(t, domain.DecideEncounter(fold(), enc), errs.NotFound, "patientId")
	wantErr(t, domain.DecideEncounter(fold(enrolled(), encounter("v-1")), enc), errs.Conflict, "id")
	claim := events.ExternalClaimRecorded{Code: "99490", PractitionerNPI: npi, ServiceMonth: "2025-02"}
	wantErr(t, domain.DecideExternalClaim(fold(enrolled()), claim), "", "")
	wantErr(t, domain.DecideExternalClaim(fold(), claim), errs.NotFound, "patientId")
}

// ---- evolve ------------------------------------------------------------------------

func TestEvolve(t *testing.T) {
	given := []eventlog.Record{enrolled(), recorded("e-1", 20), recorded("e-2", 10), corrected("c-1", "e-1", 25), voided("e-2"), encounter("v-1")}
	var states []domain.Patient
	s := domain.Patient{}
	for _, r := range given {
		s = domain.Evolve(s, r)
		states = append(states, s)
	}
	if !s.Enrolled || s.Entries.Len() != 2 || !s.Encounters["v-1"] {
		t.Fatalf("got enrolled %v, %d entries, encounters %v; want enrolled, 2 entries, v-1", s.Enrolled, s.Entries.Len(), s.Encounters)
	}
	e1, _ := s.Entries.Get("e-1")
	if e1.Current.Minutes != 25 || e1.EventID != "c-1" || e1.Reason != "typo" || e1.Voided {
		t.Errorf("e-1: got %d minutes from %s (%q), voided %v; want 25 from c-1 (typo), not voided", e1.Current.Minutes, e1.EventID, e1.Reason, e1.Voided)
	}
	if e2, _ := s.Entries.Get("e-2"); !e2.Voided || e2.Current.Minutes != 10 {
		t.Errorf("e-2: got voided %v with %d minutes, want voided with its 10 minutes kept", e2.Voided, e2.Current.Minutes)
	}
	// Earlier states are not changed by later events (pkg/command hands
	// them out).
	if old, _ := states[2].Entries.Get("e-1"); old.Current.Minutes != 20 || old.EventID != "entry-e-1" {
		t.Errorf("state after e-2 was recorded: got e-1 with %d minutes from %s, want 20 from entry-e-1", old.Current.Minutes, old.EventID)
	}
	if _, ok := states[1].Entries.Get("e-2"); ok {
		t.Error("state after e-1 was recorded: got e-2 present, want absent")
	}
	if states[4].Encounters["v-1"] {
		t.Error("state before the encounter: got v-1 present, want absent")
	}
	// Events that do not decode, or name unknown entries, are skipped.
	bad := rec("x", events.TypeTimeCorrected, events.TimeCorrected{EntryID: "e-404"})
	bad2 := recorded("e-3", 5)
	bad2.Data = []byte(`{"id":`)
	if got := domain.Evolve(domain.Evolve(s, bad), bad2); got.Entries.Len() != 2 {
		t.Errorf("after undecodable events: got %d entries, want 2", got.Entries.Len())
	}
}

func TestEntriesShardManyIDs(t *testing.T) {
	s := fold(enrolled())
	for i := range 500 {
		s = domain.Evolve(s, recorded("e-"+strings.Repeat("x", i%7)+string(rune('a'+i%26))+time.Duration(i).String(), 1))
	}
	if s.Entries.Len() != 500 {
		t.Fatalf("got %d entries, want 500", s.Entries.Len())
	}
}
