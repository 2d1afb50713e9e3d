package billing_test

import (
	"context"
	"testing"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/auth"
	"github.com/carelog/carelog/pkg/errs"
	"github.com/carelog/carelog/services/billing"
)

// A batch verifies as reproduced after later activity, corrections and a
// second batch of the same month, and EvaluateAt shows the month as the
// batch saw it (cut at its log sequence) and as it is now.
func TestVerifyBatchAfterLaterActivity(t *testing.T) {
	a := start(t)
	ctx := context.Background()
	biller := a.token(auth.Biller)
	a.practice()
	a.enroll("p-1")
	a.enroll("p-2")
	a.entry("p-1", "e-1", "rn", at(2025, 3, 4, 10, 0), 45)
	a.entry("p-2", "e-2", "rn", at(2025, 3, 4, 10, 0), 10)
	var first struct{ ID string }
	a.must(201, "POST", "/v1/billing/months/2025-03/claim-batches", biller, "").json(t, &first)

	a.patient("p-1", events.TypeTimeVoided, events.TimeVoided{EntryID: "e-1", Reason: "wrong patient"})
	a.entry("p-2", "e-3", "rn", at(2025, 3, 20, 10, 0), 15)
	var second struct{ ID string }
	a.must(201, "POST", "/v1/billing/months/2025-03/claim-batches", biller, "").json(t, &second)

	for _, id := range []string{first.ID, second.ID} {
		v, err := billing.VerifyBatch(ctx, a.log, id)
		if err != nil {
			t.Fatalf("VerifyBatch(%s): %v", id, err)
		}
		if !v.Reproduced || v.RecomputedHash != v.ContentHash || v.FirstDifference != nil || v.EventsReplayed == 0 {
			t.Errorf("VerifyBatch(%s): got %+v, want reproduced", id, v)
		}
	}

	b, err := billing.FindBatch(ctx, a.log, first.ID)
	if err != nil {
		t.Fatal(err)
	}
	then, ok, err := billing.EvaluateAt(ctx, a.log, "p-1", "2025-03", billing.Cut{UntilSequence: b.LogSequence})
	if err != nil || !ok {
		t.Fatalf("EvaluateAt at the batch: ok %v err %v", ok, err)
	}
	if then.Evaluation.Status != "billable" || then.Evaluation.CountedMinutes != 45 || then.AsOfSequence > b.LogSequence {
		t.Errorf("at the batch: got %s %d min at %d, want billable 45 min at <= %d", then.Evaluation.Status, then.Evaluation.CountedMinutes, then.AsOfSequence, b.LogSequence)
	}
	now, ok, err := billing.EvaluateAt(ctx, a.log, "p-1", "2025-03", billing.Cut{})
	if err != nil || !ok {
		t.Fatalf("EvaluateAt now: ok %v err %v", ok, err)
	}
	if now.Evaluation.Status != "billed" || now.BatchID != first.ID || now.Evaluation.CountedMinutes != 0 || len(now.Facts.TimeEntries) != 1 || !now.Facts.TimeEntries[0].Voided {
		t.Errorf("now: got %s in %q, %d min, entries %+v; want billed in %s, 0 min, e-1 voided", now.Evaluation.Status, now.BatchID, now.Evaluation.CountedMinutes, now.Facts.TimeEntries, first.ID)
	}
}

func TestFindBatchErrors(t *testing.T) {
	a := start(t)
	for _, c := range []struct {
		id   string
		kind errs.Kind
	}{
		{"nope", errs.Invalid},
		{"batch-2025-3-1", errs.Invalid},
		{"batch-2025-03-1", errs.NotFound},
	} {
		_, err := billing.FindBatch(context.Background(), a.log, c.id)
		if errs.KindOf(err) != c.kind {
			t.Errorf("FindBatch(%q): got %v, want %s", c.id, err, c.kind)
		}
	}
	if _, ok, err := billing.EvaluateAt(context.Background(), a.log, "p-9", "2025-03", billing.Cut{}); ok || err != nil {
		t.Errorf("EvaluateAt of an unknown patient: ok %v err %v, want not found without error", ok, err)
	}
	if _, _, err := billing.EvaluateAt(context.Background(), a.log, "p-9", "2025-3", billing.Cut{}); errs.KindOf(err) != errs.Invalid {
		t.Errorf("EvaluateAt with a bad month: got %v, want invalid", err)
	}
}
