package rules

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// TestDefaultPolicy pins every §8 default and the JSON names of the
// practice's policy object.
func TestDefaultPolicy(t *testing.T) {
	want := map[string]any{
		"cpoAndEsrdOverlap":       "block_same_practitioner", // A1
		"afterRevocation":         "exclude",                 // A2
		"complexShortfall":        "fall_back_non_complex",   // A3
		"practitionerTimeAsStaff": "count_as_staff",          // A4
		"mixedTimePathway":        "combine_as_staff",        // A4
		"sameDayStaffMinutes":     "count_and_flag",          // A5
		"inpatientDays":           "exclude",                 // A6
		"unansweredOutreach":      "exclude",                 // A7
		"dateOfService":           "month_end",               // A8
		"monthBoundary":           "split_at_local_midnight", // A9
		"simultaneousStaff":       "count_once",              // A10
		"consentRenewal":          "once",                    // A11
		"pcmSupervision":          "general",                 // A12
		"pcmAddOnMaxUnits":        float64(0),                // A12
		"apcmBundling":            "block_same_practitioner", // A13
		"deathInMonth":            "bill_if_threshold_met",   // A15
		"lateEntryDays":           float64(7),
		"pcmConsent":              "pcm_or_ccm",
	}
	b, err := json.Marshal(DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DefaultPolicy JSON:\n got %v\nwant %v", got, want)
	}
}

func TestZeroPolicyIsDefault(t *testing.T) {
	if got, want := (Policy{}).withDefaults(), DefaultPolicy(); got != want {
		t.Errorf("zero policy: got %+v, want %+v", got, want)
	}
	var p Policy
	if err := json.Unmarshal([]byte(`{"dateOfService":"threshold_met"}`), &p); err != nil {
		t.Fatal(err)
	}
	d := DefaultPolicy()
	d.DateOfService = DOSThresholdMet
	if got := p.withDefaults(); got != d {
		t.Errorf("partial policy: got %+v, want %+v", got, d)
	}
}

func TestPolicyValidate(t *testing.T) {
	if err := DefaultPolicy().Validate(); err != nil {
		t.Errorf("DefaultPolicy().Validate(): got %v, want nil", err)
	}
	if err := (Policy{}).Validate(); err != nil {
		t.Errorf("Policy{}.Validate(): got %v, want nil", err)
	}
	err := Policy{DateOfService: "whenever", InpatientDays: "sometimes", LateEntryDays: -1}.Validate()
	if err == nil {
		t.Fatal("Validate: got nil, want errors")
	}
	for _, s := range []string{"dateOfService", "inpatientDays", "lateEntryDays"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("Validate: got %q, want it to name %s", err, s)
		}
	}
}

func TestFactsValidate(t *testing.T) {
	if err := baseFacts().Validate(); err != nil {
		t.Errorf("baseFacts().Validate(): got %v, want nil", err)
	}
	f := baseFacts()
	f.Month = Month{}
	f.TimeEntries = []TimeEntry{{Minutes: -1}}
	err := f.Validate()
	if err == nil {
		t.Fatal("Validate: got nil, want errors")
	}
	for _, s := range []string{"month", "id is empty", "minutes -1", "startedAt"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("Validate: got %q, want it to mention %q", err, s)
		}
	}
}

func TestMissingCarePlanElements(t *testing.T) {
	if got := MissingCarePlanElements(CarePlanElements); len(got) != 0 {
		t.Errorf("complete plan: got %v, want none", got)
	}
	got := MissingCarePlanElements([]string{"problem_list"})
	if len(got) != len(CarePlanElements)-1 || got[0] != "expected_outcome_and_prognosis" {
		t.Errorf("got %v, want every element but problem_list", got)
	}
}
