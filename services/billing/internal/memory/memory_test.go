package memory_test

import (
	"context"
	"testing"
	"time"

	"github.com/carelog/carelog/services/billing/internal/memory"
	"github.com/carelog/carelog/services/billing/internal/readmodel"
	"github.com/carelog/carelog/services/billing/internal/readmodel/storetest"
	"github.com/carelog/carelog/services/billing/rules"
)

func row(patient, month string, status rules.Status) readmodel.PatientMonth {
	return readmodel.PatientMonth{PatientID: patient, Month: month, AsOfSequence: 7, Evaluation: rules.Evaluation{
		PatientID: patient, Month: month, Status: status,
		Lines: []rules.Line{{Code: "99490", Units: 1, Diagnoses: []string{"I10"}, Evidence: []string{"ev-1"}}},
	}}
}

func TestCommitAndRead(t *testing.T) {
	ctx := context.Background()
	s := memory.New()
	if cp, _ := s.Checkpoint(ctx); cp != 0 {
		t.Fatalf("Checkpoint of a new store: got %d, want 0", cp)
	}
	now := time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC)
	c := readmodel.Changes{
		PatientMonths:  []readmodel.PatientMonth{row("p-2", "2025-03", rules.StatusBillable), row("p-1", "2025-03", rules.StatusHold), row("p-1", "2025-04", rules.StatusNotBillable)},
		TotalsReplaced: []readmodel.PatientMonthKey{{PatientID: "p-1", Month: "2025-03"}},
		Totals: []readmodel.MinuteTotal{
			{PatientID: "p-1", Month: "2025-03", Program: "ccm", Role: "rn", Minutes: 30, Counted: 30},
			{PatientID: "p-1", Month: "2025-03", Program: "ccm", Role: "ma", Minutes: 5, Counted: 5},
		},
		Batches:  []readmodel.Batch{{ID: "b-2", Month: "2025-03", LogSequence: 9}, {ID: "b-1", Month: "2025-03", LogSequence: 4, Totals: readmodel.BatchTotals{Units: map[string]int{"99490": 1}}}},
		Patients: []readmodel.Patient{{PatientID: "p-2"}, {PatientID: "p-1", ConsentedAt: &now}},
	}
	if err := s.Commit(ctx, c, 10); err != nil {
		t.Fatal(err)
	}
	if cp, _ := s.Checkpoint(ctx); cp != 10 {
		t.Errorf("Checkpoint: got %d, want 10", cp)
	}
	rows, _ := s.Month(ctx, "2025-03")
	if len(rows) != 2 || rows[0].PatientID != "p-1" || rows[1].PatientID != "p-2" {
		t.Errorf("Month: got %+v, want p-1, p-2", rows)
	}
	totals, _ := s.Totals(ctx, "2025-03")
	if len(totals) != 2 || totals[0].Role != "ma" || totals[1].Role != "rn" {
		t.Errorf("Totals: got %+v, want ma then rn", totals)
	}
	batches, _ := s.Batches(ctx, "2025-03")
	if len(batches) != 2 || batches[0].ID != "b-1" {
		t.Errorf("Batches: got %+v, want b-1 first (log sequence order)", batches)
	}
	if got, _ := s.Batches(ctx, "2025-05"); got == nil || len(got) != 0 {
		t.Errorf("Batches of an empty month: got %v, want []", got)
	}
	patients, _ := s.Patients(ctx)
	if len(patients) != 2 || patients[0].PatientID != "p-1" {
		t.Errorf("Patients: got %+v", patients)
	}

	// Reads are copies.
	pm, ok, _ := s.PatientMonth(ctx, "p-1", "2025-03")
	if !ok || pm.Evaluation.Status != rules.StatusHold {
		t.Fatalf("PatientMonth: got %+v %v", pm, ok)
	}
	pm.Evaluation.Lines[0].Evidence[0] = "changed"
	*patients[0].ConsentedAt = time.Time{}
	again, _, _ := s.PatientMonth(ctx, "p-1", "2025-03")
	if again.Evaluation.Lines[0].Evidence[0] != "ev-1" {
		t.Error("changing a read row changed the store")
	}
	if ps, _ := s.Patients(ctx); ps[0].ConsentedAt.IsZero() {
		t.Error("changing a read funnel row changed the store")
	}

	// A commit at or below the checkpoint is ignored; totals are replaced
	// per patient-month.
	if err := s.Commit(ctx, readmodel.Changes{PatientMonths: []readmodel.PatientMonth{row("p-1", "2025-03", rules.StatusBilled)}}, 10); err != nil {
		t.Fatal(err)
	}
	if pm, _, _ := s.PatientMonth(ctx, "p-1", "2025-03"); pm.Evaluation.Status != rules.StatusHold {
		t.Errorf("after a stale commit: got %s, want hold", pm.Evaluation.Status)
	}
	if err := s.Commit(ctx, readmodel.Changes{
		TotalsReplaced: []readmodel.PatientMonthKey{{PatientID: "p-1", Month: "2025-03"}},
		Totals:         []readmodel.MinuteTotal{{PatientID: "p-1", Month: "2025-03", Program: "pcm", Role: "rn", Minutes: 1}},
	}, 11); err != nil {
		t.Fatal(err)
	}
	if totals, _ := s.Totals(ctx, "2025-03"); len(totals) != 1 || totals[0].Program != "pcm" {
		t.Errorf("replaced totals: got %+v, want only pcm/rn", totals)
	}
	if _, ok, _ := s.PatientMonth(ctx, "p-9", "2025-03"); ok {
		t.Error("absent patient-month: got ok")
	}
	if err := s.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if cp, _ := s.Checkpoint(ctx); cp != 0 {
		t.Errorf("after Reset: checkpoint %d, want 0", cp)
	}
	if rows, _ := s.Month(ctx, "2025-03"); len(rows) != 0 || rows == nil {
		t.Errorf("after Reset: got %v, want []", rows)
	}
}

// TestContract runs the readmodel.Store contract suite, which the
// PostgreSQL store runs too, so both answer every query identically.
func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) readmodel.Store {
		s := memory.New()
		t.Cleanup(func() { s.Close() })
		return s
	})
}
