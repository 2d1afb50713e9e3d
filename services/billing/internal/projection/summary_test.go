package projection_test

import (
	"testing"
	"time"

	"github.com/carelog/carelog/services/billing/internal/projection"
	"github.com/carelog/carelog/services/billing/internal/readmodel"
	"github.com/carelog/carelog/services/billing/rules"
)

func pm(id string, status rules.Status, minutes int, lines ...rules.Line) readmodel.PatientMonth {
	return readmodel.PatientMonth{PatientID: id, Month: "2025-03", Evaluation: rules.Evaluation{
		PatientID: id, Month: "2025-03", Status: status, CountedMinutes: minutes, Lines: lines,
	}}
}

func TestSummarize(t *testing.T) {
	base := rules.Line{Code: "99490", Units: 1}
	billed := pm("p-6", rules.StatusBilled, 45, base)
	billed.BatchID = "b-1"
	billed.Evaluation.Flags = []rules.Flag{{Code: rules.FlagPostCloseChange}}
	billed.BilledEvaluation = &rules.Evaluation{Lines: []rules.Line{base, {Code: "99439", Units: 1}}}
	hold := pm("p-5", rules.StatusHold, 60, rules.Line{Code: "99487", Units: 1})
	hold.Evaluation.Reasons = []rules.Reason{{Code: rules.ReasonCarePlanCopyNotProvided}}
	rows := []readmodel.PatientMonth{
		pm("p-1", rules.StatusNotBillable, 0), pm("p-2", rules.StatusNotBillable, 9), pm("p-3", rules.StatusNotBillable, 19),
		pm("p-4", rules.StatusBillable, 39, base), hold, billed,
	}
	s := projection.Summarize("2025-03", rows, projection.SummaryFilter{})
	tt := s.Totals
	if tt.Patients != 6 || tt.Billable != 1 || tt.Holds != 1 || tt.ByStatus[rules.StatusBilled] != 1 || tt.ByStatus[rules.StatusNotBillable] != 3 || tt.Minutes != 172 {
		t.Errorf("totals: got %+v", tt)
	}
	want := map[string]int{"0": 1, "1-9": 1, "10-19": 1, "20-39": 1, "40-59": 1, "60+": 1}
	for k, v := range want {
		if tt.MinutesHistogram[k] != v {
			t.Errorf("histogram %s: got %d, want %d", k, tt.MinutesHistogram[k], v)
		}
	}
	// billable 99490 + billed as billed (99490 + 99439); the hold apart.
	if tt.ExpectedRevenueCents != 6000+6000+4600 || tt.HeldRevenueCents != 13100 {
		t.Errorf("revenue: got %d expected, %d held; want 16600 and 13100", tt.ExpectedRevenueCents, tt.HeldRevenueCents)
	}
	if tt.ByReason[rules.ReasonCarePlanCopyNotProvided] != 1 {
		t.Errorf("byReason: got %v", tt.ByReason)
	}
	f := projection.Summarize("2025-03", rows, projection.SummaryFilter{Reason: rules.FlagPostCloseChange})
	if len(f.Patients) != 1 || f.Patients[0].PatientID != "p-6" || f.Patients[0].BatchID != "b-1" || f.Totals.Patients != 1 {
		t.Errorf("filter by flag: got %+v", f.Patients)
	}
	if f := projection.Summarize("2025-03", rows, projection.SummaryFilter{Status: rules.StatusHold}); len(f.Patients) != 1 || f.Patients[0].PatientID != "p-5" {
		t.Errorf("filter by status: got %+v", f.Patients)
	}
	if e := projection.Summarize("2025-03", nil, projection.SummaryFilter{}); e.Patients == nil || len(e.Totals.MinutesHistogram) != 6 || len(e.Totals.ByStatus) != 4 {
		t.Errorf("empty month: got %+v", e)
	}
}

func TestFunnelOf(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2025, 1, d, 12, 0, 0, 0, time.UTC) }
	ptr := func(t time.Time) *time.Time { return &t }
	rows := []readmodel.Patient{
		{PatientID: "p-1", EnrolledAt: day(1), QualifyingConditions: 2, ConsentedAt: ptr(day(2)), CarePlanAt: ptr(day(2)), CopyProvidedAt: ptr(day(3)), FirstBilledMonth: "2025-01"},
		{PatientID: "p-2", EnrolledAt: day(5), QualifyingConditions: 1, DeclinedAt: ptr(day(6))},
		{PatientID: "p-3", EnrolledAt: day(9), QualifyingConditions: 3, ConsentedAt: ptr(day(9)), RevokedAt: ptr(day(20))},
	}
	f := projection.FunnelOf(rows, time.Time{}, time.Time{})
	if f.Enrolled != 3 || f.Qualifying != 2 || f.ConsentGranted != 2 || f.ConsentDeclined != 1 || f.ConsentRevoked != 1 ||
		f.CarePlanEstablished != 1 || f.CopyProvided != 1 || f.BilledAtLeastOnce != 1 || f.Dropout != 1 || f.DropoutRate != 0.5 {
		t.Errorf("funnel: got %+v", f)
	}
	if f := projection.FunnelOf(rows, day(2), day(9)); f.Enrolled != 1 {
		t.Errorf("enrolled in [2, 9): got %d, want 1 (p-2)", f.Enrolled)
	}
}
