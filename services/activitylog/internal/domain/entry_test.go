package domain_test

import (
	"strings"
	"testing"
	"time"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/errs"
	"github.com/carelog/carelog/services/activitylog/internal/domain"
)

// now is the pinned clock: 2025-03-14 15:00 UTC.
var now = time.Date(2025, 3, 14, 15, 0, 0, 0, time.UTC)

const (
	npi      = "1234567893"
	goodNote = "Reconciled medication list after discharge; stopped duplicate lisinopril"
)

func validInput() domain.EntryInput {
	return domain.EntryInput{
		ID: "e-1", PatientID: "p-1",
		Staff:     events.Staff{ID: "rn-4", Name: "Rita Nurse", Role: "rn"},
		Programs:  []string{"ccm"},
		StartedAt: "2025-03-14T09:30:00-05:00", Minutes: 20,
		Activity: "medication_reconciliation", Notes: goodNote, Outcome: "completed",
	}
}

// wantErr checks err against a wanted kind and field ("" kind: no error).
func wantErr(t *testing.T, err error, kind errs.Kind, field string) {
	t.Helper()
	if kind == "" {
		if err != nil {
			t.Fatalf("got error %v, want none", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("got no error, want %s on field %q", kind, field)
	}
	k, f, msg := errs.Public(err)
	if k != kind || f != field {
		t.Fatalf("got %s on field %q (%s), want %s on field %q", k, f, msg, kind, field)
	}
	if field != "" && !strings.HasPrefix(msg, field+" ") {
		t.Fatalf("got message %q, want it to name the field %q first", msg, field)
	}
}

func TestEntryEvidenceRules(t *testing.T) {
	rules := domain.DefaultRules()
	tests := []struct {
		name      string
		edit      func(*domain.EntryInput)
		wantField string // "" means valid
		wantRule  string // a fragment of the message
	}{
		{"valid entry", func(*domain.EntryInput) {}, "", ""},
		// identity
		{"id missing", func(in *domain.EntryInput) { in.ID = "" }, "id", "is required"},
		{"id with a space", func(in *domain.EntryInput) { in.ID = "e 1" }, "id", "letters, digits"},
		{"id too long", func(in *domain.EntryInput) { in.ID = strings.Repeat("e", domain.MaxEntryID+1) }, "id", "1 to 122"},
		{"id at the limit", func(in *domain.EntryInput) { in.ID = strings.Repeat("e", domain.MaxEntryID) }, "", ""},
		{"patientId missing", func(in *domain.EntryInput) { in.PatientID = "" }, "patientId", "is required"},
		{"patientId with a dot", func(in *domain.EntryInput) { in.PatientID = "p.1" }, "patientId", "letters, digits"},
		// who
		{"who: staff id missing", func(in *domain.EntryInput) { in.Staff.ID = "" }, "staff.id", "who provided the service"},
		{"who: staff id with space", func(in *domain.EntryInput) { in.Staff.ID = "rn 4" }, "staff.id", "without spaces"},
		{"who: staff name missing", func(in *domain.EntryInput) { in.Staff.Name = "" }, "staff.name", "is required"},
		{"who: staff name blank", func(in *domain.EntryInput) { in.Staff.Name = "   " }, "staff.name", "is required"},
		{"who: staff name too long", func(in *domain.EntryInput) { in.Staff.Name = strings.Repeat("n", 201) }, "staff.name", "at most 200"},
		{"who: role missing", func(in *domain.EntryInput) { in.Staff.Role = "" }, "staff.role", "is required: one of physician"},
		{"who: role unknown", func(in *domain.EntryInput) { in.Staff.Role = "nurse" }, "staff.role", "must be one of physician, np, pa, cns, cnm, rn"},
		{"who: physician without NPI", func(in *domain.EntryInput) { in.Staff.Role = "physician" }, "staff.npi", "required for billing practitioners"},
		{"who: np without NPI", func(in *domain.EntryInput) { in.Staff.Role = "np" }, "staff.npi", "required"},
		{"who: pa without NPI", func(in *domain.EntryInput) { in.Staff.Role = "pa" }, "staff.npi", "required"},
		{"who: cns without NPI", func(in *domain.EntryInput) { in.Staff.Role = "cns" }, "staff.npi", "required"},
		{"who: cnm without NPI", func(in *domain.EntryInput) { in.Staff.Role = "cnm" }, "staff.npi", "required"},
		{"who: physician with NPI", func(in *domain.EntryInput) { in.Staff.Role, in.Staff.NPI = "physician", npi }, "", ""},
		{"who: physician with bad check digit", func(in *domain.EntryInput) { in.Staff.Role, in.Staff.NPI = "physician", "1234567890" }, "staff.npi", "check digit"},
		{"who: NPI of 9 digits", func(in *domain.EntryInput) { in.Staff.Role, in.Staff.NPI = "np", "123456789" }, "staff.npi", "10-digit"},
		{"who: rn with a bad NPI", func(in *domain.EntryInput) { in.Staff.NPI = "12345abcde" }, "staff.npi", "10-digit"},
		{"who: rn without NPI", func(in *domain.EntryInput) { in.Staff.Role = "care_manager" }, "", ""},
		{"who: front desk is recorded (billing excludes it)", func(in *domain.EntryInput) { in.Staff.Role = "front_desk" }, "", ""},
		// programs
		{"programs missing", func(in *domain.EntryInput) { in.Programs = nil }, "programs", "at least one program"},
		{"programs empty", func(in *domain.EntryInput) { in.Programs = []string{} }, "programs", "at least one"},
		{"program unknown", func(in *domain.EntryInput) { in.Programs = []string{"ccm", "apcm"} }, "programs[1]", "must be one of ccm, pcm, tcm, rpm, bhi, g0506"},
		{"program upper case", func(in *domain.EntryInput) { in.Programs = []string{"CCM"} }, "programs[0]", "must be one of"},
		{"program twice", func(in *domain.EntryInput) { in.Programs = []string{"ccm", "rpm", "ccm"} }, "programs[2]", "repeats"},
		{"several programs", func(in *domain.EntryInput) { in.Programs = []string{"tcm", "ccm"} }, "", ""},
		// when
		{"startedAt missing", func(in *domain.EntryInput) { in.StartedAt = "" }, "startedAt", "is required"},
		{"startedAt without offset", func(in *domain.EntryInput) { in.StartedAt = "2025-03-14T09:30:00" }, "startedAt", "with an offset"},
		{"startedAt a date", func(in *domain.EntryInput) { in.StartedAt = "2025-03-14" }, "startedAt", "RFC 3339"},
		{"startedAt in UTC", func(in *domain.EntryInput) { in.StartedAt = "2025-03-14T09:30:00Z" }, "", ""},
		{"startedAt in the future", func(in *domain.EntryInput) { in.StartedAt = "2025-03-14T15:10:00Z" }, "startedAt", "future"},
		{"startedAt within clock skew, ending past it", func(in *domain.EntryInput) { in.StartedAt = "2025-03-14T15:04:00Z" }, "minutes", "future"},
		{"work ends just now", func(in *domain.EntryInput) { in.StartedAt = "2025-03-14T14:40:00Z" }, "", ""},
		{"work ends in the future", func(in *domain.EntryInput) { in.StartedAt = "2025-03-14T14:50:00Z" }, "minutes", "future"},
		{"minutes missing", func(in *domain.EntryInput) { in.Minutes = 0 }, "minutes", "between 1 and 480 (or send endedAt)"},
		{"minutes negative", func(in *domain.EntryInput) { in.Minutes = -5 }, "minutes", "between 1 and 480"},
		{"minutes 1", func(in *domain.EntryInput) { in.Minutes = 1 }, "", ""},
		{"minutes 480", func(in *domain.EntryInput) { in.StartedAt, in.Minutes = "2025-03-13T09:00:00Z", 480 }, "", ""},
		{"minutes 481", func(in *domain.EntryInput) { in.StartedAt, in.Minutes = "2025-03-13T09:00:00Z", 481 }, "minutes", "between 1 and 480"},
		{"endedAt instead of minutes", func(in *domain.EntryInput) { in.Minutes, in.EndedAt = 0, "2025-03-14T09:52:00-05:00" }, "", ""},
		{"endedAt malformed", func(in *domain.EntryInput) { in.Minutes, in.EndedAt = 0, "09:52" }, "endedAt", "RFC 3339"},
		{"endedAt before startedAt", func(in *domain.EntryInput) { in.Minutes, in.EndedAt = 0, "2025-03-14T09:00:00-05:00" }, "endedAt", "at least 1 minute after startedAt"},
		{"endedAt equal to startedAt", func(in *domain.EntryInput) { in.Minutes, in.EndedAt = 0, in.StartedAt }, "endedAt", "at least 1 minute"},
		{"endedAt 30 seconds after", func(in *domain.EntryInput) { in.Minutes, in.EndedAt = 0, "2025-03-14T09:30:30-05:00" }, "endedAt", "at least 1 minute"},
		{"endedAt over 8 hours after", func(in *domain.EntryInput) {
			in.StartedAt, in.Minutes, in.EndedAt = "2025-03-13T08:00:00Z", 0, "2025-03-13T16:01:00Z"
		}, "endedAt", "at most 480 minutes"},
		{"endedAt in the future", func(in *domain.EntryInput) {
			in.StartedAt, in.Minutes, in.EndedAt = "2025-03-14T14:50:00Z", 0, "2025-03-14T15:30:00Z"
		}, "endedAt", "future"},
		{"minutes within endedAt span", func(in *domain.EntryInput) { in.Minutes, in.EndedAt = 15, "2025-03-14T09:52:00-05:00" }, "", ""},
		{"minutes beyond endedAt span", func(in *domain.EntryInput) { in.Minutes, in.EndedAt = 23, "2025-03-14T09:52:00-05:00" }, "minutes", "must not exceed the time from startedAt to endedAt"},
		// what
		{"activity missing", func(in *domain.EntryInput) { in.Activity = "" }, "activity", "is required"},
		{"activity blank", func(in *domain.EntryInput) { in.Activity = "   " }, "activity", "is required"},
		{"activity free text", func(in *domain.EntryInput) { in.Activity = "Medication review call" }, "", ""},
		{"activity too long", func(in *domain.EntryInput) { in.Activity = strings.Repeat("a", domain.MaxActivity+1) }, "activity", "at most 200 characters"},
		{"activity control character", func(in *domain.EntryInput) { in.Activity = "call\x00" }, "activity", "control characters"},
		{"activity other", func(in *domain.EntryInput) { in.Activity = "other" }, "", ""},
		{"outcome missing", func(in *domain.EntryInput) { in.Outcome = "" }, "outcome", "is required: one of completed, unanswered"},
		{"outcome unknown", func(in *domain.EntryInput) { in.Outcome = "voicemail" }, "outcome", "must be one of completed, unanswered"},
		{"outcome unanswered", func(in *domain.EntryInput) {
			in.Outcome, in.Notes = "unanswered", "Left voicemail asking her to call back about A1c results"
		}, "", ""},
		{"notes missing", func(in *domain.EntryInput) { in.Notes = "" }, "notes", "are required and must say what was done"},
		{"notes vague", func(in *domain.EntryInput) { in.Notes = "CCM call – 20 minutes" }, "notes", domain.SeedRule},
		{"notes too short", func(in *domain.EntryInput) { in.Notes = "Insulin" }, "notes", "at least 10 characters"},
		{"notes short but saying what was done", func(in *domain.EntryInput) { in.Notes = "Adjusted insulin" }, "", ""},
		{"notes too long", func(in *domain.EntryInput) { in.Notes = strings.Repeat("Reviewed glucose log. ", 200) }, "notes", "at most 4000"},
		{"notes with a control character", func(in *domain.EntryInput) { in.Notes = goodNote + "\x00" }, "notes", "control characters"},
		{"notes with line breaks", func(in *domain.EntryInput) {
			in.Notes = "Reviewed glucose log.\nAdjusted insulin dose.\tScheduled labs."
		}, "", ""},
		// references
		{"sessionId malformed", func(in *domain.EntryInput) { in.SessionID = "s 1" }, "sessionId", "letters, digits"},
		{"sessionId valid", func(in *domain.EntryInput) { in.SessionID = "s-1" }, "", ""},
		{"encounterId malformed", func(in *domain.EntryInput) { in.EncounterID = "v/1" }, "encounterId", "letters, digits"},
		{"encounterId valid", func(in *domain.EntryInput) { in.EncounterID = "v-1" }, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := validInput()
			tt.edit(&in)
			_, err := rules.Entry(in, now)
			if tt.wantField == "" {
				wantErr(t, err, "", "")
				return
			}
			wantErr(t, err, errs.Invalid, tt.wantField)
			if _, _, msg := errs.Public(err); !strings.Contains(msg, tt.wantRule) {
				t.Fatalf("got message %q, want it to contain %q", msg, tt.wantRule)
			}
		})
	}
}

func TestEntryPayload(t *testing.T) {
	rules := domain.DefaultRules()
	in := validInput()
	in.Minutes, in.EndedAt = 0, "2025-03-14T09:52:40-05:00"
	e, err := rules.Entry(in, now)
	if err != nil {
		t.Fatal(err)
	}
	if e.Minutes != 22 {
		t.Errorf("minutes from start/stop: got %d, want 22 (whole minutes, never rounded up)", e.Minutes)
	}
	if _, off := e.StartedAt.Zone(); off != -5*3600 {
		t.Errorf("startedAt offset: got %d, want -18000 (the local time of care is kept)", off)
	}
	if e.EndedAt == nil || !e.EndedAt.Equal(time.Date(2025, 3, 14, 14, 52, 40, 0, time.UTC)) {
		t.Errorf("endedAt: got %v, want 14:52:40 UTC", e.EndedAt)
	}
	// The payload is a pure function of the request: a retry is recognized.
	again, _ := rules.Entry(in, now.Add(time.Hour))
	if !domain.SameEntry(e, again) {
		t.Errorf("the same request at another time: got %+v, want %+v", again, e)
	}
	if e.DirectSupervision {
		t.Errorf("directSupervision not sent: got true, want false")
	}
	// The optional fields reach the payload: free-text activity (trimmed)
	// and direct supervision (§8 A12).
	in.Activity, in.DirectSupervision = "  Medication review call ", true
	e, err = rules.Entry(in, now)
	if err != nil || e.Activity != "Medication review call" || !e.DirectSupervision {
		t.Errorf("activity and directSupervision: got %q, %v, %v; want \"Medication review call\", true, nil", e.Activity, e.DirectSupervision, err)
	}
}

func TestLate(t *testing.T) {
	e := events.TimeEntry{StartedAt: time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC), Minutes: 30}
	tests := []struct {
		name       string
		recordedAt time.Time
		days       int
		want       bool
	}{
		{"same day", time.Date(2025, 3, 1, 11, 0, 0, 0, time.UTC), 7, false},
		{"exactly 7 days after the work ended", time.Date(2025, 3, 8, 10, 30, 0, 0, time.UTC), 7, false},
		{"a minute past 7 days", time.Date(2025, 3, 8, 10, 31, 0, 0, time.UTC), 7, true},
		{"3 days with a 2-day policy", time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC), 2, true},
		{"3 days with a 30-day policy", time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC), 30, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := domain.Late(e, tt.recordedAt, tt.days); got != tt.want {
				t.Errorf("got late %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCorrectionRules(t *testing.T) {
	rules := domain.DefaultRules()
	tests := []struct {
		name      string
		edit      func(*domain.CorrectionInput)
		wantField string
	}{
		{"valid", func(*domain.CorrectionInput) {}, ""},
		{"id and patient taken from the path", func(in *domain.CorrectionInput) { in.ID, in.PatientID = "", "" }, ""},
		{"another entry's id", func(in *domain.CorrectionInput) { in.ID = "e-2" }, "id"},
		{"another patient", func(in *domain.CorrectionInput) { in.PatientID = "p-2" }, "patientId"},
		{"reason missing", func(in *domain.CorrectionInput) { in.Reason = "" }, "reason"},
		{"reason blank", func(in *domain.CorrectionInput) { in.Reason = " \n" }, "reason"},
		{"corrected entry breaks a rule", func(in *domain.CorrectionInput) { in.Minutes = 0 }, "minutes"},
		{"corrected notes vague", func(in *domain.CorrectionInput) { in.Notes = "CCM call 20 min" }, "notes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := domain.CorrectionInput{EntryInput: validInput(), Reason: "minutes mistyped"}
			tt.edit(&in)
			c, err := rules.Correction("e-1", "p-1", in, now)
			if tt.wantField == "" {
				wantErr(t, err, "", "")
				if c.EntryID != "e-1" || c.Entry.ID != "e-1" || c.Entry.PatientID != "p-1" {
					t.Errorf("got %+v, want entry e-1 of p-1", c)
				}
				return
			}
			wantErr(t, err, errs.Invalid, tt.wantField)
		})
	}
}

func TestVoidRules(t *testing.T) {
	if _, err := domain.Void("e-1", domain.VoidInput{}); err == nil {
		t.Fatal("void without a reason: got no error, want reason required")
	} else {
		wantErr(t, err, errs.Invalid, "reason")
	}
	v, err := domain.Void("e-1", domain.VoidInput{Reason: "entered for the wrong patient"})
	wantErr(t, err, "", "")
	if v.EntryID != "e-1" {
		t.Errorf("got entry %q, want e-1", v.EntryID)
	}
}

func TestValidNPI(t *testing.T) {
	for _, tt := range []struct {
		npi  string
		want bool
	}{
		{"1234567893", true}, {"1245319599", true}, {"1234567890", false}, {"123456789", false},
		{"12345678930", false}, {"123456789a", false}, {"", false},
	} {
		if got := domain.ValidNPI(tt.npi); got != tt.want {
			t.Errorf("ValidNPI(%q): got %v, want %v", tt.npi, got, tt.want)
		}
	}
}
