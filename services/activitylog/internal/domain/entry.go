package domain

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/errs"
)

// EntryInput is the body of POST /v1/time-entries (api/contract.md): one
// piece of care-management work. Times are strings so that a malformed one
// is reported naming its field; Rules.Entry parses them.
type EntryInput struct {
	// ID is chosen by the client and makes the write idempotent.
	ID        string       `json:"id"`
	PatientID string       `json:"patientId"`
	Staff     events.Staff `json:"staff"`
	// Programs: at least one of ccm, pcm, tcm, rpm, bhi, g0506.
	Programs []string `json:"programs"`
	// StartedAt is RFC 3339 with the offset ("2025-03-14T09:30:00-05:00").
	StartedAt string `json:"startedAt"`
	// Minutes of qualifying work, 1–480. It may be left out when EndedAt is
	// sent: it is then the whole minutes from StartedAt to EndedAt.
	Minutes int `json:"minutes,omitempty"`
	// EndedAt is the stop time, when documented as start/stop.
	EndedAt     string `json:"endedAt,omitempty"`
	Activity    string `json:"activity"`
	Notes       string `json:"notes"`
	Outcome     string `json:"outcome"`
	SessionID   string `json:"sessionId,omitempty"`
	EncounterID string `json:"encounterId,omitempty"`
	// DirectSupervision: the billing practitioner directly supervised the
	// work (PCM under the practice's direct-supervision policy, §8 A12). An
	// addition to api/contract.md's body; absent is false.
	DirectSupervision bool `json:"directSupervision,omitempty"`
}

// Entry validates a time entry against every evidence rule that needs no
// stream state and returns the activity.time_recorded payload. now is the
// service clock. The rules, in the order they are checked (the first broken
// one is reported, naming its field):
//
//   - id and patientId are valid ids;
//   - who (ccm-rules.md §6.1): staff.id, staff.name, staff.role from the
//     contract's list; staff.npi, a valid NPI, required for the billing
//     practitioner roles and checked whenever sent;
//   - programs: at least one tag from the contract's list, none twice;
//   - when: startedAt is RFC 3339 with an offset; minutes is 1–480, or
//     endedAt is 1–480 minutes after startedAt (minutes, when both are sent,
//     may not exceed that span); neither startedAt nor the end of the work
//     lies in the future (beyond ClockSkew);
//   - what: activity, free text naming the kind of work (api/contract.md
//     lists no values; Activities are the suggested ones); notes that say
//     what was done
//     (checkNotes); outcome completed or unanswered;
//   - sessionId and encounterId, when sent, are valid ids.
//
// Entries recorded long after the work are accepted; see Late.
func (r Rules) Entry(in EntryInput, now time.Time) (events.TimeEntry, error) {
	const op = "activitylog.Entry"
	if err := CheckEntryID("id", in.ID); err != nil {
		return events.TimeEntry{}, err
	}
	if err := CheckPatientID("patientId", in.PatientID); err != nil {
		return events.TimeEntry{}, err
	}
	if err := checkStaff(in.Staff); err != nil {
		return events.TimeEntry{}, err
	}
	if err := checkPrograms(in.Programs); err != nil {
		return events.TimeEntry{}, err
	}
	started, err := parseInstant("startedAt", in.StartedAt)
	if err != nil {
		return events.TimeEntry{}, err
	}
	latest := now.Add(r.ClockSkew)
	if started.After(latest) {
		return events.TimeEntry{}, errs.Field(op, "startedAt", "must not be in the future")
	}
	minutes := in.Minutes
	var ended *time.Time
	switch {
	case in.EndedAt != "":
		end, err := parseInstant("endedAt", in.EndedAt)
		if err != nil {
			return events.TimeEntry{}, err
		}
		span := end.Sub(started)
		if span < time.Minute {
			return events.TimeEntry{}, errs.Field(op, "endedAt", "must be at least 1 minute after startedAt")
		}
		if span > MaxMinutes*time.Minute {
			return events.TimeEntry{}, errs.Field(op, "endedAt", "must be at most %d minutes after startedAt (record longer work as several entries)", MaxMinutes)
		}
		if end.After(latest) {
			return events.TimeEntry{}, errs.Field(op, "endedAt", "must not be in the future")
		}
		whole := int(span / time.Minute)
		if minutes == 0 {
			minutes = whole // whole minutes only: thresholds are never rounded up (T1)
		}
		if minutes < MinMinutes || minutes > MaxMinutes {
			return events.TimeEntry{}, errs.Field(op, "minutes", "must be between %d and %d", MinMinutes, MaxMinutes)
		}
		if time.Duration(minutes)*time.Minute > span {
			return events.TimeEntry{}, errs.Field(op, "minutes", "must not exceed the time from startedAt to endedAt")
		}
		ended = &end
	default:
		if minutes < MinMinutes || minutes > MaxMinutes {
			return events.TimeEntry{}, errs.Field(op, "minutes", "must be between %d and %d (or send endedAt)", MinMinutes, MaxMinutes)
		}
		if started.Add(time.Duration(minutes) * time.Minute).After(latest) {
			return events.TimeEntry{}, errs.Field(op, "minutes", "must not reach into the future: record the work once it is done")
		}
	}
	if err := checkText("activity", in.Activity, MaxActivity); err != nil {
		return events.TimeEntry{}, err
	}
	if err := r.checkNotes(in.Notes); err != nil {
		return events.TimeEntry{}, err
	}
	if err := oneOf("outcome", in.Outcome, Outcomes); err != nil {
		return events.TimeEntry{}, err
	}
	if in.SessionID != "" && !events.ValidID(in.SessionID) {
		return events.TimeEntry{}, errs.Field(op, "sessionId", "must be 1 to 128 letters, digits, '-', '_' or ':', starting with a letter or digit")
	}
	if in.EncounterID != "" && (len(in.EncounterID) > MaxEncounterID || !events.ValidID(in.EncounterID)) {
		return events.TimeEntry{}, errs.Field(op, "encounterId", "must be 1 to %d letters, digits, '-', '_' or ':', starting with a letter or digit", MaxEncounterID)
	}
	return events.TimeEntry{
		ID: in.ID, PatientID: in.PatientID, Staff: in.Staff, Programs: slices.Clone(in.Programs),
		StartedAt: started, Minutes: minutes, EndedAt: ended,
		Activity: strings.TrimSpace(in.Activity), Notes: in.Notes, Outcome: in.Outcome,
		SessionID: in.SessionID, EncounterID: in.EncounterID, DirectSupervision: in.DirectSupervision,
	}, nil
}

func checkStaff(s events.Staff) error {
	const op = "activitylog.Entry"
	if s.ID == "" {
		return errs.Field(op, "staff.id", "is required: who provided the service")
	}
	if len(s.ID) > 128 || strings.IndexFunc(s.ID, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0 {
		return errs.Field(op, "staff.id", "must be 1 to 128 characters without spaces or control characters")
	}
	if err := checkText("staff.name", s.Name, MaxName); err != nil {
		return err
	}
	if err := oneOf("staff.role", s.Role, Roles); err != nil {
		return err
	}
	if s.NPI == "" && slices.Contains(PractitionerRoles, s.Role) {
		return errs.Field(op, "staff.npi", "is required for billing practitioners (%s)", strings.Join(PractitionerRoles, ", "))
	}
	if s.NPI != "" && !ValidNPI(s.NPI) {
		return errs.Field(op, "staff.npi", "must be a 10-digit NPI with a valid check digit")
	}
	return nil
}

func checkPrograms(ps []string) error {
	const op = "activitylog.Entry"
	if len(ps) == 0 {
		return errs.Field(op, "programs", "must name at least one program: %s", strings.Join(Programs, ", "))
	}
	for i, p := range ps {
		f := fmt.Sprintf("programs[%d]", i)
		if err := oneOf(f, p, Programs); err != nil {
			return err
		}
		if slices.Index(ps, p) < i {
			return errs.Field(op, f, "repeats a program already listed")
		}
	}
	return nil
}

// EndOf is the instant the work of e ended: startedAt plus its minutes.
func EndOf(e events.TimeEntry) time.Time {
	return e.StartedAt.Add(time.Duration(e.Minutes) * time.Minute)
}

// Late reports whether an entry recorded at recordedAt was recorded more
// than lateEntryDays days after its work ended: such an entry is accepted
// (a late record is still evidence) but flagged, as the billing rules flag
// it late_entry (ccm-rules.md §6.1: entries should be contemporaneous).
// lateEntryDays is the practice policy's LateEntryDays (default 7).
func Late(e events.TimeEntry, recordedAt time.Time, lateEntryDays int) bool {
	return recordedAt.Sub(EndOf(e)) > time.Duration(lateEntryDays)*24*time.Hour
}

// CorrectionInput is the body of POST /v1/time-entries/{id}/corrections:
// the full corrected entry plus the reason. The id and patientId may be left
// out; when sent they must be the entry's.
type CorrectionInput struct {
	EntryInput
	Reason string `json:"reason"`
}

// Correction validates a correction of the entry entryID of patientID and
// returns the activity.time_corrected payload: the corrected entry passes
// every rule of Entry, keeps the entry's id and patient (time recorded for
// the wrong patient is voided and recorded again for the right one), and a
// reason is given.
func (r Rules) Correction(entryID, patientID string, in CorrectionInput, now time.Time) (events.TimeCorrected, error) {
	const op = "activitylog.Correction"
	if in.ID == "" {
		in.ID = entryID
	}
	if in.ID != entryID {
		return events.TimeCorrected{}, errs.Field(op, "id", "must be the id of the entry being corrected (the one in the path)")
	}
	if in.PatientID == "" {
		in.PatientID = patientID
	}
	if in.PatientID != patientID {
		return events.TimeCorrected{}, errs.Field(op, "patientId", "cannot change: void the entry and record it again for the right patient")
	}
	e, err := r.Entry(in.EntryInput, now)
	if err != nil {
		return events.TimeCorrected{}, err
	}
	if err := checkText("reason", in.Reason, MaxText); err != nil {
		return events.TimeCorrected{}, err
	}
	return events.TimeCorrected{EntryID: entryID, Entry: e, Reason: in.Reason}, nil
}

// VoidInput is the body of POST /v1/time-entries/{id}/void.
type VoidInput struct {
	Reason string `json:"reason"`
}

// Void validates a void of entryID and returns the activity.time_voided
// payload.
func Void(entryID string, in VoidInput) (events.TimeVoided, error) {
	if err := checkText("reason", in.Reason, MaxText); err != nil {
		return events.TimeVoided{}, err
	}
	return events.TimeVoided{EntryID: entryID, Reason: in.Reason}, nil
}
