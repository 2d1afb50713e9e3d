package domain_test

import (
	"strings"
	"testing"

	"github.com/carelog/carelog/pkg/errs"
	"github.com/carelog/carelog/services/activitylog/internal/domain"
)

// TestNotesSayWhatWasDone runs realistic notes through the notes rule with
// its defaults: notes that only restate the program and the minutes (and
// contact filler) are refused with the seed's rule ("Vague notes like “CCM
// call – 20 minutes” won’t cut it"), as api/contract.md says; notes that
// say anything about what was done pass, however short.
func TestNotesSayWhatWasDone(t *testing.T) {
	rules := domain.DefaultRules()
	vague := []string{
		"CCM call – 20 minutes",
		"CCM call - 20 min",
		"CCM call 20 min",
		"ccm call 20m",
		"Chronic care management, 20 mins",
		"Chronic Care Management call (20 minutes)",
		"Spent 20 minutes on CCM with patient",
		"Monthly CCM check-in call, 30 min",
		"Phone call with pt, 15m",
		"PCM time 0:30 with the patient",
		"Called patient for monthly care management call. Total time 20 minutes.",
		"CCM services provided to patient today",
		"Spoke with patient about CCM for 20 minutes",
		"Telephone contact with patient - CCM - 25 minutes",
		"RPM/CCM time spent: 20 min total",
		"TCM follow up call 30 min",
		"G0506 care management services 45 minutes",
		"ccm ccm ccm ccm ccm ccm ccm ccm",
		"20 minutes 20 minutes 20 minutes",
		".....................",
		"CCM call 1:20 pm – 1:40 pm",
	}
	good := []string{
		"Reconciled medication list after discharge; stopped duplicate lisinopril",
		"Reviewed home BP log with patient, advised low-sodium diet, scheduled follow-up labs",
		"Called pharmacy to resolve metformin refill delay; patient picked up same day",
		"Left voicemail asking patient to call back about A1c results",
		"Coordinated home health referral for wound care with the agency",
		"CCM call 20 min: reviewed glucose readings, adjusted insulin per Dr. A",
		"Educated caregiver on inhaler technique and COPD action plan",
		"Updated care plan goals: weight loss target 5 lb, walking 3x/week",
		"Arranged transportation to cardiology appointment on 3/20 via county van",
		"Followed up after ED visit for hypoglycemia; reviewed sick-day rules",
		"Reviewed daily weights (up 3 lb), notified Dr. B, increased furosemide",
		"Called, no answer, left voicemail re: upcoming nephrology referral",
		"Faxed updated medication list to endocrinology and confirmed receipt",
		"Paciente revisó su glucosa; ajustamos la dosis de insulina nocturna",
		// Short, but more than the program and the minutes.
		"Medication reconciliation completed, 20 minutes",
		"Care coordination call, 20 minutes",
		"Care coordination with cardiology",
		"Reviewed care plan with patient",
		"Left voicemail for patient",
		"Med review",
	}
	for _, n := range vague {
		t.Run("vague/"+n, func(t *testing.T) {
			in := validInput()
			in.Notes = n
			_, err := rules.Entry(in, now)
			wantErr(t, err, errs.Invalid, "notes")
			if _, _, msg := errs.Public(err); !strings.Contains(msg, "must say what was done") || !strings.Contains(msg, `"`+domain.SeedRule+`"`) {
				t.Fatalf("got message %q, want it to quote the seed's rule", msg)
			}
		})
	}
	for _, n := range good {
		t.Run("good/"+n, func(t *testing.T) {
			in := validInput()
			in.Notes = n
			if _, err := rules.Entry(in, now); err != nil {
				t.Fatalf("got %v (meaningful words %q), want the notes accepted", err, domain.MeaningfulWords(n))
			}
		})
	}
}

func TestMeaningfulWords(t *testing.T) {
	tests := []struct {
		notes string
		want  []string
	}{
		{"CCM call – 20 minutes", nil},
		{"Reviewed BP log w/ patient", []string{"reviewed", "bp", "log"}},
		{"A1c 7.9, adjusted metformin", []string{"a1c", "adjusted", "metformin"}},
		{"Check-in call: follow-up labs", []string{"follow", "labs"}},
		{"insulin insulin INSULIN", []string{"insulin"}},
	}
	for _, tt := range tests {
		got := domain.MeaningfulWords(tt.notes)
		if strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("MeaningfulWords(%q): got %q, want %q", tt.notes, got, tt.want)
		}
	}
}

func TestNotesThresholdsAreSettings(t *testing.T) {
	rules := domain.DefaultRules()
	rules.NotesMinChars, rules.NotesMinWords = 40, 6
	in := validInput()
	in.Notes = "Reviewed glucose log, adjusted insulin" // 38 characters, 5 meaningful words
	if _, err := rules.Entry(in, now); err == nil {
		t.Fatal("38 characters with a 40 minimum: got no error, want notes refused")
	}
	rules.NotesMinChars = 20
	if _, err := rules.Entry(in, now); err == nil {
		t.Fatal("5 meaningful words with a 6-word minimum: got no error, want notes refused")
	}
	rules.NotesMinWords = 5
	if _, err := rules.Entry(in, now); err != nil {
		t.Fatalf("5 words, 5-word minimum: got %v, want accepted", err)
	}
}
