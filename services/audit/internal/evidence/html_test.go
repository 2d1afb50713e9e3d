package evidence_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/carelog/carelog/services/audit/internal/evidence"
	"github.com/carelog/carelog/services/billing/rules"
)

// The HTML rendering shows the packet's facts and escapes recorded text.
func TestRenderHTML(t *testing.T) {
	p := evidence.Packet{
		Format: evidence.Format, PatientID: "p-1", Month: "2026-03", Basis: "billed",
		Claim:      &evidence.Claim{BatchID: "batch-2026-03-1", ContentHash: "abc"},
		Evaluation: rules.Evaluation{Status: rules.StatusBillable, CountedMinutes: 45},
		TimeEntries: []evidence.TimeEntry{
			{TimeEntry: rules.TimeEntry{ID: "e-1", Minutes: 30, Activity: "<script>alert(1)</script>"}, Counted: true},
			{TimeEntry: rules.TimeEntry{ID: "e-2", Minutes: 10}, Excluded: []rules.Excluded{{EntryID: "e-2", Minutes: 10, Code: "before_consent"}}},
		},
		Chain:            evidence.Chain{Verified: false, FirstBad: "sequence 7: event hash mismatch"},
		CarePlans:        []rules.CarePlan{{ID: "plan-1", Kind: "comprehensive"}},
		CarePlanVersions: []evidence.PlanVersion{{PlanID: "plan-1", Version: 3}},
	}
	var b bytes.Buffer
	if err := evidence.RenderHTML(&b, p); err != nil {
		t.Fatal(err)
	}
	html := b.String()
	for _, want := range []string{"p-1", "batch-2026-03-1", "billable", "before_consent", "FAILED", "sequence 7", "version 3", "&lt;script&gt;"} {
		if !strings.Contains(html, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	if strings.Contains(html, "<script>") {
		t.Error("recorded text reached the page unescaped")
	}
}
