package domain

import (
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/errs"
)

// Staff roles (api/contract.md, time entries).
var (
	// PractitionerRoles are the billing practitioners (ccm-rules.md §1.1):
	// their entries must carry the practitioner's NPI.
	PractitionerRoles = []string{"physician", "np", "pa", "cns", "cnm"}
	// ClinicalStaffRoles count as clinical staff under incident-to rules (T4).
	ClinicalStaffRoles = []string{"rn", "lpn", "ma", "pharmacist", "social_worker", "care_manager"}
	// NonClinicalRoles may record time that billing never counts
	// (reason non_clinical_staff).
	NonClinicalRoles = []string{"front_desk", "biller", "scheduler"}
)

// Roles lists every staff role in the contract's order.
var Roles = slices.Concat(PractitionerRoles, ClinicalStaffRoles, NonClinicalRoles)

// Programs are the program tags of a time entry (api/contract.md).
var Programs = []string{"ccm", "pcm", "tcm", "rpm", "bhi", "g0506"}

// Outcomes of a time entry: unanswered marks an outreach attempt without
// contact, which billing does not count by default (ccm-rules.md §8 A7).
var Outcomes = []string{"completed", "unanswered"}

// Encounter kinds (api/contract.md, encounters). Visits can initiate CCM and
// exclude the minutes inside them; stays exclude inpatient days (§2 X12).
var (
	VisitKinds     = []string{"office_visit", "annual_wellness_visit", "ippe", "tcm"}
	StayKinds      = []string{"inpatient_stay", "snf_stay"}
	EncounterKinds = slices.Concat(VisitKinds, StayKinds)
)

// Limits of the evidence rules.
const (
	// MinMinutes and MaxMinutes bound one entry: at least one minute of work
	// (T3: no per-contact minimum beyond that) and at most eight hours, the
	// most one person can plausibly log at once; longer work is several
	// entries.
	MinMinutes = 1
	MaxMinutes = 480
	// MaxNotes bounds the notes (runes).
	MaxNotes = 4000
	// MaxText bounds names, reasons and other free text (runes).
	MaxText = 1000
	// MaxName bounds a staff member's name (runes).
	MaxName = 200
	// MaxActivity bounds an entry's activity (runes): free text, as
	// api/contract.md lists no values (the README suggests the usual ones).
	MaxActivity = 200
	// MaxClaimStatus bounds an external claim's status (runes): free text,
	// which the billing rules read (rules.ExternalClaim.Status).
	MaxClaimStatus = 50
)

// Event id prefixes, and the longest client id each leaves room for within
// the 128 characters of events.ValidID.
const (
	PrefixEntry      = "entry"
	PrefixCorrection = "correction"
	PrefixVoid       = "void"
	PrefixEncounter  = "encounter"
	PrefixClaim      = "external-claim"

	// MaxEntryID: "entry-<id>" and "void-<id>" must be valid event ids.
	MaxEntryID = 128 - len(PrefixEntry) - 1
	// MaxEncounterID: "encounter-<id>".
	MaxEncounterID = 128 - len(PrefixEncounter) - 1
)

// Rules are the service's settings for the evidence rules. The zero value is
// not usable; start from DefaultRules.
type Rules struct {
	// NotesMinChars is the shortest note accepted (runes, surrounding space
	// not counted).
	NotesMinChars int
	// NotesMinWords is how many distinct meaningful words the notes must
	// hold once the program names, the minutes and contact filler ("call",
	// "spoke with patient") are set aside.
	NotesMinWords int
	// ClockSkew is how far in the future an instant may lie and still count
	// as "not in the future": client clocks drift.
	ClockSkew time.Duration
}

// DefaultRules returns the defaults: notes of at least 10 characters with
// at least one meaningful word (api/contract.md refuses notes that only
// restate the program and the minutes), 5 minutes of clock skew.
func DefaultRules() Rules {
	return Rules{NotesMinChars: 10, NotesMinWords: 1, ClockSkew: 5 * time.Minute}
}

// ValidNPI reports whether s is a well-formed NPI (events.ValidNPI).
func ValidNPI(s string) bool { return events.ValidNPI(s) }

// procedureCode matches a CPT code (five digits; category II ends in F,
// category III in T, PLA codes in U) or a HCPCS level II code (a letter and
// four digits).
var procedureCode = regexp.MustCompile(`^([0-9]{4}[0-9FTU]|[A-V][0-9]{4})$`)

// ValidProcedureCode reports whether s is a CPT or HCPCS code.
func ValidProcedureCode(s string) bool { return procedureCode.MatchString(s) }

// CheckEntryID validates a time entry id as it appears in a path or body.
func CheckEntryID(field, id string) error {
	if id == "" {
		return errs.Field("activitylog", field, "is required")
	}
	if len(id) > MaxEntryID || !events.ValidID(id) {
		return errs.Field("activitylog", field, "must be 1 to %d letters, digits, '-', '_' or ':', starting with a letter or digit", MaxEntryID)
	}
	return nil
}

// CheckPatientID validates a patient id as it appears in a path or body.
func CheckPatientID(field, id string) error {
	if id == "" {
		return errs.Field("activitylog", field, "is required")
	}
	if !events.ValidID(id) {
		return errs.Field("activitylog", field, "must be 1 to 128 letters, digits, '-', '_' or ':', starting with a letter or digit")
	}
	return nil
}

// parseInstant parses an RFC 3339 time that states its offset ("Z" or
// "±hh:mm"), keeping the offset: it records the local time of care.
func parseInstant(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, errs.Field("activitylog", field, "is required")
	}
	t, err := events.ParseInstant(s)
	if err != nil {
		return time.Time{}, errs.Field("activitylog", field, "must be an RFC 3339 time with an offset, e.g. 2025-03-14T09:30:00-05:00")
	}
	return t, nil
}

// checkText validates required free text: not blank, at most max runes,
// no control characters other than line breaks and tabs.
func checkText(field, s string, max int) error {
	if strings.TrimSpace(s) == "" {
		return errs.Field("activitylog", field, "is required")
	}
	if utf8.RuneCountInString(s) > max {
		return errs.Field("activitylog", field, "must be at most %d characters", max)
	}
	if strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' }) >= 0 {
		return errs.Field("activitylog", field, "must not contain control characters")
	}
	return nil
}

func oneOf(field, v string, allowed []string) error {
	if !slices.Contains(allowed, v) {
		if v == "" {
			return errs.Field("activitylog", field, "is required: one of %s", strings.Join(allowed, ", "))
		}
		return errs.Field("activitylog", field, "must be one of %s", strings.Join(allowed, ", "))
	}
	return nil
}
