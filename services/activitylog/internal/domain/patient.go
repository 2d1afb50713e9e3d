package domain

import (
	"encoding/json"
	"errors"
	"hash/fnv"
	"maps"
	"time"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/errs"
	"github.com/carelog/carelog/pkg/eventlog"
)

// Patient is what this service needs of a patient stream: whether the
// patient is enrolled, the time entries (current version and whether
// voided) and the recorded encounters. Other services' events are skipped.
type Patient struct {
	// Enrolled is set by patient.enrolled.
	Enrolled bool
	// Entries by entry id.
	Entries Entries
	// Encounters holds the ids of recorded encounters.
	Encounters map[string]bool
}

// EntryState is a time entry as the stream holds it now.
type EntryState struct {
	// Current is the entry as recorded or last corrected.
	Current events.TimeEntry
	// EventID, Sequence and RecordedAt are those of the event that set
	// Current (the recording or the latest correction); Reason is that
	// correction's reason.
	EventID    string
	Sequence   uint64
	RecordedAt time.Time
	Actor      events.Actor
	Reason     string
	// Voided is set by activity.time_voided.
	Voided bool
}

// shards is the number of copy-on-write shards of Entries.
const shards = 32

// Entries maps entry ids to their state. It is a value: Evolve copies the
// one shard an event touches and shares the others, so earlier states are
// never changed and recording an entry costs O(entries/32), not O(entries).
type Entries struct {
	s *[shards]map[string]EntryState
}

// shardOf picks an id's shard with FNV-1a: deterministic, so the state's
// layout is the same in every process.
func shardOf(id string) int {
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32() % shards)
}

// Get returns the entry with id.
func (m Entries) Get(id string) (EntryState, bool) {
	if m.s == nil {
		return EntryState{}, false
	}
	e, ok := m.s[shardOf(id)][id]
	return e, ok
}

// Len is the number of entries.
func (m Entries) Len() int {
	n := 0
	if m.s != nil {
		for _, s := range m.s {
			n += len(s)
		}
	}
	return n
}

// with returns a copy of m with id set to e.
func (m Entries) with(id string, e EntryState) Entries {
	var out [shards]map[string]EntryState
	if m.s != nil {
		out = *m.s
	}
	i := shardOf(id)
	sh := maps.Clone(out[i])
	if sh == nil {
		sh = map[string]EntryState{}
	}
	sh[id] = e
	out[i] = sh
	return Entries{s: &out}
}

// Evolve applies one stored event to the state. It never fails: events that
// do not decode, or that reference an unknown entry, are skipped (they were
// validated when decided).
func Evolve(s Patient, rec eventlog.Record) Patient {
	switch rec.Type {
	case events.TypePatientEnrolled:
		s.Enrolled = true
	case events.TypeTimeRecorded:
		if e, ok := Payload[events.TimeRecorded](rec); ok {
			s.Entries = s.Entries.with(e.ID, EntryState{Current: events.TimeEntry(e), EventID: rec.ID,
				Sequence: rec.Sequence, RecordedAt: rec.RecordedAt, Actor: rec.Actor})
		}
	case events.TypeTimeCorrected:
		if c, ok := Payload[events.TimeCorrected](rec); ok {
			if cur, ok := s.Entries.Get(c.EntryID); ok {
				cur.Current, cur.EventID, cur.Sequence, cur.RecordedAt, cur.Actor, cur.Reason =
					c.Entry, rec.ID, rec.Sequence, rec.RecordedAt, rec.Actor, c.Reason
				s.Entries = s.Entries.with(c.EntryID, cur)
			}
		}
	case events.TypeTimeVoided:
		if v, ok := Payload[events.TimeVoided](rec); ok {
			if cur, ok := s.Entries.Get(v.EntryID); ok {
				cur.Voided = true
				s.Entries = s.Entries.with(v.EntryID, cur)
			}
		}
	case events.TypeEncounterRecorded:
		if e, ok := Payload[events.EncounterRecorded](rec); ok {
			enc := maps.Clone(s.Encounters)
			if enc == nil {
				enc = map[string]bool{}
			}
			enc[e.ID] = true
			s.Encounters = enc
		}
	}
	return s
}

// Payload decodes rec's payload, upcast to the latest version of its type,
// as a T (the catalogue's payload struct). ok is false when the event does
// not decode as a T.
func Payload[T any](rec eventlog.Record) (T, bool) {
	var zero T
	v, err := events.DefaultRegistry().Decode(rec.Envelope)
	if err != nil {
		return zero, false
	}
	p, ok := v.(*T)
	if !ok {
		return zero, false
	}
	return *p, true
}

// ErrUnchanged is returned by DecideCorrect for a correction that would not
// change the entry: nothing is written and the handler answers with the
// entry's current version (200), so a retried correction is a no-op.
var ErrUnchanged = errors.New("activitylog: the correction does not change the entry")

func notEnrolled(op string) error {
	return &errs.Error{Op: op, Kind: errs.NotFound, Field: "patientId", Message: "patientId names no enrolled patient"}
}

// DecideRecord decides activity.time_recorded: the patient is enrolled and
// an encounterId names an encounter recorded for this patient (minutes
// inside a visit must point at the visit, reason during_billed_visit). The
// same entry id twice is caught before (pkg/command: the event id is
// "entry-<id>"); a differing body under an existing id is a conflict there.
func DecideRecord(s Patient, e events.TimeEntry) error {
	const op = "activitylog.Record"
	if !s.Enrolled {
		return notEnrolled(op)
	}
	if _, ok := s.Entries.Get(e.ID); ok {
		return &errs.Error{Op: op, Kind: errs.Conflict, Field: "id", Message: "id was already used for a time entry with different content; correct that entry instead"}
	}
	return checkEncounterRef(op, s, e)
}

func checkEncounterRef(op string, s Patient, e events.TimeEntry) error {
	if e.EncounterID != "" && !s.Encounters[e.EncounterID] {
		return errs.Field(op, "encounterId", "must name an encounter recorded for this patient (POST /v1/patients/{id}/encounters first)")
	}
	return nil
}

// DecideCorrect decides activity.time_corrected against the entry's state:
// the entry exists and is not voided; a correction identical to the current
// version is ErrUnchanged; basedOn, the event id of the version the
// correction was made from, must still be the current version, otherwise
// another correction came in between and this one would silently undo it
// (errs.Conflict: reload and retry); an encounterId must name a recorded
// encounter.
func DecideCorrect(s Patient, basedOn string, c events.TimeCorrected) error {
	const op = "activitylog.Correct"
	cur, ok := s.Entries.Get(c.EntryID)
	if !ok {
		return errs.E(op, errs.NotFound, "time entry not found")
	}
	if cur.Voided {
		return errs.E(op, errs.Conflict, "the time entry is voided; record a new entry instead")
	}
	if SameEntry(cur.Current, c.Entry) {
		return ErrUnchanged
	}
	if cur.EventID != basedOn {
		return errs.E(op, errs.Conflict, "the time entry was changed by another request since it was read; reload it and retry")
	}
	return checkEncounterRef(op, s, c.Entry)
}

// SameEntry reports whether two versions of an entry carry the same content
// (instants compared as instants with their offsets, as stored).
func SameEntry(a, b events.TimeEntry) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}

// DecideVoid decides activity.time_voided: the entry exists and is not
// voided yet (a retry of the same void is recognized before, by its event
// id "void-<entry id>").
func DecideVoid(s Patient, v events.TimeVoided) error {
	const op = "activitylog.Void"
	cur, ok := s.Entries.Get(v.EntryID)
	if !ok {
		return errs.E(op, errs.NotFound, "time entry not found")
	}
	if cur.Voided {
		return errs.E(op, errs.Conflict, "the time entry is already voided")
	}
	return nil
}

// DecideEncounter decides encounter.recorded: the patient is enrolled and
// the encounter id is new in the stream.
func DecideEncounter(s Patient, e events.EncounterRecorded) error {
	const op = "activitylog.Encounter"
	if !s.Enrolled {
		return notEnrolled(op)
	}
	if s.Encounters[e.ID] {
		return &errs.Error{Op: op, Kind: errs.Conflict, Field: "id", Message: "id was already used for an encounter with different content"}
	}
	return nil
}

// DecideExternalClaim decides external_claim.recorded: the patient is
// enrolled.
func DecideExternalClaim(s Patient, _ events.ExternalClaimRecorded) error {
	if !s.Enrolled {
		return notEnrolled("activitylog.ExternalClaim")
	}
	return nil
}
