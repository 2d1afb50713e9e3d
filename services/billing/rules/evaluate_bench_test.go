package rules

import "testing"

// rebuildMonth is a typical patient-month of a projection rebuild: a
// New York practice, two chronic conditions of ten years with significant
// risk, one accepted CCM consent with every disclosure, one complete care
// plan with a copy given to the patient, the initiating office visit (CCM
// discussed) three months earlier, and the month's time entries.
func rebuildMonth(entries ...TimeEntry) Facts {
	f := baseFacts()
	f.Conditions = []Condition{
		{Code: "I50.22", ExpectedDurationMonths: 120, SignificantRisk: true, EventID: "ev-dx-1"},
		{Code: "E11.65", ExpectedDurationMonths: 120, SignificantRisk: true, EventID: "ev-dx-2"},
	}
	f.Consents[0].Disclosures = append(f.Consents[0].Disclosures, DisclosureElectronicSharing)
	f.TimeEntries = entries
	return f
}

// BenchmarkEvaluate measures Evaluate on rebuildMonth: billable (nurse,
// medical assistant and billing practitioner time, 36 minutes: 99490) and
// below_threshold (16 minutes).
func BenchmarkEvaluate(b *testing.B) {
	cases := []struct {
		name   string
		f      Facts
		status Status
	}{
		{"billable", rebuildMonth(
			rn("e1", "2025-03-04T10:00", 12),
			entry("e2", RoleMA, "2025-03-11T14:30", 8),
			rn("e3", "2025-03-18T09:15", 10),
			md("e4", "2025-03-25T16:00", 6),
		), StatusBillable},
		{"below_threshold", rebuildMonth(
			rn("e1", "2025-03-04T10:00", 5),
			entry("e2", RoleMA, "2025-03-11T14:30", 6),
			md("e3", "2025-03-25T16:00", 5),
		), StatusNotBillable},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			if ev := Evaluate(c.f); ev.Status != c.status {
				b.Fatalf("status: got %s, want %s (%+v)", ev.Status, c.status, ev.Reasons)
			}
			b.ReportAllocs()
			for b.Loop() {
				Evaluate(c.f)
			}
		})
	}
}
