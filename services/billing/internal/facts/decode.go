package facts

import (
	"encoding/json"
	"time"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/eventlog"
	"github.com/carelog/carelog/services/billing/rules"
)

// decode reads rec's payload into dst. The latest version of a type is
// unmarshalled directly; an older one goes through the registry's upcasters
// first. It reports false when the payload does not decode into T.
func decode[T any](rec eventlog.Record, dst *T) bool {
	reg := events.DefaultRegistry()
	if rec.Version == reg.Latest(rec.Type) {
		var v T
		if json.Unmarshal(rec.Data, &v) != nil {
			return false
		}
		*dst = v
		return true
	}
	v, err := reg.Decode(rec.Envelope)
	if err != nil {
		return false
	}
	p, ok := v.(*T)
	if ok {
		*dst = *p
	}
	return ok
}

// decodeTimeRecorded reads an activity.time_recorded payload into the rules'
// TimeEntry: with decodeEntryFast, or encoding/json when it declines.
func decodeTimeRecorded(rec eventlog.Record, dst *rules.TimeEntry) bool {
	if fastDecode && rec.Version == events.DefaultRegistry().Latest(rec.Type) {
		var e rules.TimeEntry
		if decodeEntryFast(rec.Data, &e) {
			*dst = e
			return true
		}
	}
	var e events.TimeRecorded
	if !decode(rec, &e) {
		return false
	}
	*dst = entryOf(events.TimeEntry(e))
	return true
}

// entryOf maps a time entry payload onto the rules' TimeEntry (the fields
// billing reads; EventID and RecordedAt are the caller's).
func entryOf(e events.TimeEntry) rules.TimeEntry {
	return rules.TimeEntry{
		ID:          e.ID,
		Staff:       rules.Staff{ID: e.Staff.ID, Name: e.Staff.Name, Role: rules.Role(intern(e.Staff.Role)), NPI: e.Staff.NPI},
		Programs:    programsOf(e.Programs),
		StartedAt:   e.StartedAt,
		Minutes:     e.Minutes,
		Activity:    intern(e.Activity),
		Outcome:     intern(e.Outcome),
		SessionID:   e.SessionID,
		EncounterID: e.EncounterID,
	}
}

// Shared read-only slices for the common single-program tags, so that most
// entries allocate no program list (the engine never modifies it).
var singlePrograms = map[string][]rules.Program{}

// vocabulary holds the fixed strings of the contract (roles, programs,
// activities, outcomes), so decoded entries share them.
var vocabulary = map[string]string{}

func init() {
	for _, p := range []rules.Program{rules.ProgramTCM, rules.ProgramRPM, rules.ProgramBHI, rules.ProgramG0506, rules.ProgramPCM, rules.ProgramCCM} {
		singlePrograms[string(p)] = []rules.Program{p}
		vocabulary[string(p)] = string(p)
	}
	for _, s := range []string{
		"physician", "np", "pa", "cns", "cnm", "rn", "lpn", "ma", "pharmacist", "social_worker", "care_manager",
		"front_desk", "biller", "scheduler",
		"care_coordination", "medication_reconciliation", "medication_management", "care_plan_review",
		"care_plan_revision", "patient_education", "caregiver_education", "referral_follow_up",
		"transition_follow_up", "community_resource_coordination", "symptom_monitoring", "other",
		"completed", "unanswered",
		"availability_and_cost_sharing", "one_practitioner_per_month", "right_to_stop", "electronic_sharing",
		"accepted", "declined", "verbal", "written", "comprehensive", "disease_specific",
		"office_visit", "annual_wellness_visit", "ippe", "inpatient_stay", "snf_stay",
		"patient", "caregiver", "paper", "portal", "email", "mail", "low", "moderate", "high",
	} {
		vocabulary[s] = s
	}
}

func intern(s string) string {
	if v, ok := vocabulary[s]; ok {
		return v
	}
	return s
}

func internBytes(b []byte) string {
	if v, ok := vocabulary[string(b)]; ok { // no allocation for the lookup
		return v
	}
	return string(b)
}

func programsOf(ps []string) []rules.Program {
	if ps == nil {
		return nil
	}
	if len(ps) == 1 {
		if s, ok := singlePrograms[ps[0]]; ok {
			return s
		}
	}
	out := make([]rules.Program, len(ps))
	for i, p := range ps {
		out[i] = rules.Program(intern(p))
	}
	return out
}

// parseDate reads a "YYYY-MM-DD" payload date; "" and malformed dates are
// the zero Date (not set).
func parseDate(s string) rules.Date {
	if s == "" {
		return rules.Date{}
	}
	d, err := rules.ParseDate(s)
	if err != nil {
		return rules.Date{}
	}
	return d
}

// parseMonth reads a "YYYY-MM" payload month; "" and malformed months are
// the zero Month.
func parseMonth(s string) rules.Month {
	if s == "" {
		return rules.Month{}
	}
	m, err := rules.ParseMonth(s)
	if err != nil {
		return rules.Month{}
	}
	return m
}

// timeOrZero dereferences an optional instant.
func timeOrZero(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}
