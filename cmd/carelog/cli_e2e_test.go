package main_test

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// The CLI rebuilds the billing read models from the log (all of it, or up
// to a sequence) and prints a month's evaluations, on a stopped server's
// data directory.
func TestBillingCLI(t *testing.T) {
	dir := t.TempDir()
	p := serve(t, dir, []string{"CARELOG_ADMIN_TOKEN=" + adminToken})
	clinician := clinic(t, p)
	enroll(t, p, clinician, "p-1")
	if r := p.do("POST", "/v1/patients/p-1/encounters", clinician, map[string]any{
		"id": "v-1", "kind": "office_visit", "code": "99214", "practitionerNpi": npiA,
		"start": "2025-01-10T09:30:00-05:00", "ccmDiscussed": true,
	}); r.status != 201 {
		t.Fatalf("initiating visit: got %d %s, want 201", r.status, r.body)
	}
	var lastBeforeEntries uint64
	for i, minutes := range []int{25, 20} {
		r := p.do("POST", "/v1/time-entries", clinician, map[string]any{
			"id": "te-" + string(rune('a'+i)), "patientId": "p-1",
			"staff":    map[string]any{"id": "rn-4", "name": "RN Jo", "role": "rn"},
			"programs": []string{"ccm"}, "startedAt": []string{"2025-03-04T10:00:00-05:00", "2025-03-18T14:00:00-04:00"}[i], "minutes": minutes,
			"activity": "medication_reconciliation", "notes": "Reconciled medications after the cardiology visit and updated the list with the patient",
			"outcome": "completed",
		})
		if r.status != 201 {
			t.Fatalf("time entry: got %d %s, want 201", r.status, r.body)
		}
		if i == 0 {
			lastBeforeEntries = sequenceOf(t, r) - 1
		}
	}
	p.stop()

	out, err := exec.Command(binary, "billing", "evaluate", "--month", "2025-03", "--data-dir", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("billing evaluate: %v\n%s", err, out)
	}
	row := regexp.MustCompile(`(?m)^p-1\s+billable\s+ccm\s+clinical_staff\s+45\s+99490 x1, 99439 x1`)
	if !row.Match(out) {
		t.Fatalf("billing evaluate: got\n%s\nwant p-1 billable with 45 minutes, 99490 x1 and 99439 x1", out)
	}
	out, err = exec.Command(binary, "billing", "evaluate", "--month", "2025-03", "--patient", "p-1", "--data-dir", dir).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "99439") || !strings.Contains(string(out), "2025-03-31") {
		t.Fatalf("billing evaluate --patient: got %v\n%s\nwant the lines with their date of service", err, out)
	}

	out, err = exec.Command(binary, "projections", "rebuild", "--data-dir", dir).CombinedOutput()
	if err != nil || !regexp.MustCompile(`rebuilt billing read models in memory from \d+ events .* events/s`).Match(out) {
		t.Fatalf("projections rebuild: got %v\n%s", err, out)
	}
	out, err = exec.Command(binary, "projections", "rebuild", "--data-dir", dir, "--until-seq", itoa(lastBeforeEntries)).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "through sequence "+itoa(lastBeforeEntries)) {
		t.Fatalf("projections rebuild --until-seq: got %v\n%s", err, out)
	}
}

func itoa(n uint64) string {
	const digits = "0123456789"
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{digits[n%10]}, b...)
	}
	return string(b)
}
