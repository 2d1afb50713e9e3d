package facts

import (
	"encoding/json"
	"slices"
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

// decodeTimeRecorded packs an activity.time_recorded event into its entry's
// first version: its payload read with the fast decoder (entryDraft), or
// with encoding/json when that declines.
func decodeTimeRecorded(rec eventlog.Record) (entry, bool) {
	if fastRead(rec) {
		var d entryDraft
		if d.decode(rec.Data) {
			var flags uint8
			if d.directSupervision {
				flags |= entryDirectSupervision
			}
			return d.pack(rec.ID, d.startedAt, rec.RecordedAt, d.minutes, flags, rec.Sequence), true
		}
	}
	var e events.TimeRecorded
	if !decode(rec, &e) {
		return entry{}, false
	}
	te := entryOf(events.TimeEntry(e))
	te.EventID, te.RecordedAt = rec.ID, rec.RecordedAt
	return packEntry(&te, rec.Sequence), true
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

		DirectSupervision: e.DirectSupervision,
	}
}

// The fixed strings of the contract (roles, programs, activities,
// outcomes, methods, kinds), so that decoded facts share them and a packed
// time entry holds one of them as a one-byte code: vocabList[code],
// vocabCode[string] (0: not in the vocabulary).
var (
	vocabList = []string{""}
	vocabCode = map[string]uint8{}
)

// Shared read-only slices for the single-program tags, by the program's
// vocabulary code, so that most entries allocate no program list (the
// engine never modifies it).
var singleByCode [256][]rules.Program

func init() {
	programs := []rules.Program{rules.ProgramTCM, rules.ProgramRPM, rules.ProgramBHI, rules.ProgramG0506, rules.ProgramPCM, rules.ProgramCCM}
	words := []string{
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
	}
	for _, p := range programs {
		words = append(words, string(p))
	}
	for _, w := range words {
		if _, ok := vocabCode[w]; !ok {
			vocabCode[w] = uint8(len(vocabList))
			vocabList = append(vocabList, w)
		}
	}
	if len(vocabList) >= listed {
		panic("facts: the vocabulary outgrew its one-byte codes")
	}
	for _, p := range programs {
		singleByCode[vocabCode[string(p)]] = []rules.Program{p}
	}
}

// disclosureList is a consent's disclosures, when there are at most four.
type disclosureList [4]string

// disclosureLists holds a shared read-only list for every list of the
// contract's disclosures (each once, in any order), so that consents share
// them (the engine never modifies them).
var disclosureLists = map[disclosureList][]string{}

func init() {
	all := []string{"availability_and_cost_sharing", "one_practitioner_per_month", "right_to_stop", "electronic_sharing"}
	var add func(l []string)
	add = func(l []string) {
		var k disclosureList
		copy(k[:], l)
		disclosureLists[k] = slices.Clip(slices.Clone(l))
		for _, d := range all {
			if len(l) < len(k) && !slices.Contains(l, d) {
				add(append(slices.Clip(l), d))
			}
		}
	}
	add([]string{})
}

// sharedDisclosures returns the first n disclosures of l: a shared list
// when there is one, else a fresh one.
func sharedDisclosures(l disclosureList, n int) []string {
	clear(l[n:])
	if d, ok := disclosureLists[l]; ok && len(d) == n {
		return d
	}
	return append([]string(nil), l[:n]...)
}

func intern(s string) string {
	if c := vocabCode[s]; c != 0 {
		return vocabList[c]
	}
	return s
}

func internBytes(b []byte) string {
	if c := vocabCode[string(b)]; c != 0 { // no allocation for the lookup
		return vocabList[c]
	}
	return string(b)
}

func programsOf(ps []string) []rules.Program {
	if ps == nil {
		return nil
	}
	if len(ps) == 1 {
		if s := singleByCode[vocabCode[ps[0]]]; s != nil {
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
