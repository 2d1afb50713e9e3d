package billing

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/errs"
	"github.com/carelog/carelog/pkg/eventlog"
	"github.com/carelog/carelog/services/billing/internal/batches"
	"github.com/carelog/carelog/services/billing/internal/projection"
	"github.com/carelog/carelog/services/billing/rules"
)

// This file is what the audit service reads of billing (ccm-rules.md §6:
// time, consent and care plan must be provable; ARCHITECTURE.md decision 5:
// a batch is reproducible from the log). Everything here reads the log of
// record directly, never the service's live read models, so an audit answer
// does not depend on a projection that could itself be wrong.

// Cut limits what an audit evaluation may see: events recorded by AsOf
// (zero: no limit) and at or before UntilSequence (zero: no limit).
type Cut = projection.Cut

// PatientMonthAt is a patient-month as the log held it at a cut: the
// engine's exact input and its output.
type PatientMonthAt struct {
	PatientID string `json:"patientId"`
	Month     string `json:"month"`
	// AsOfSequence is the last log sequence the evaluation depends on.
	AsOfSequence uint64           `json:"asOfSequence"`
	BatchID      string           `json:"batchId,omitempty"`
	Facts        rules.Facts      `json:"facts"`
	Evaluation   rules.Evaluation `json:"evaluation"`
}

// EvaluateAt folds and evaluates one patient-month from the patient's, the
// practice's and the month's batch streams inside cut. ok is false when the
// patient was not enrolled by then. Errors: errs.Invalid for a malformed
// month; errs.Internal wrapping *eventlog.IntegrityError when a stream fails
// its hash chain.
func EvaluateAt(ctx context.Context, log eventlog.Log, patientID, month string, cut Cut) (PatientMonthAt, bool, error) {
	ms, ok, err := EvaluateMonthsAt(ctx, log, patientID, []string{month}, cut)
	if err != nil || !ok {
		return PatientMonthAt{}, ok, err
	}
	return ms[0], true, nil
}

// EvaluateMonthsAt is EvaluateAt for several months of one patient: the
// patient's and the practice's streams are read and folded once.
func EvaluateMonthsAt(ctx context.Context, log eventlog.Log, patientID string, months []string, cut Cut) ([]PatientMonthAt, bool, error) {
	for _, month := range months { // bad input is refused before any read
		if _, err := rules.ParseMonth(month); err != nil {
			return nil, false, errs.Field("billing.EvaluateAt", "month", "must be YYYY-MM, got %q", month)
		}
	}
	pa, ok, err := projection.PatientAt(ctx, log, patientID, cut)
	if err != nil || !ok {
		return nil, ok, err
	}
	out, err := (&PatientAt{at: pa}).Evaluate(ctx, months)
	return out, err == nil, err
}

// PatientAt is one patient and the practice as the log held them at a
// cut, ready to evaluate any of the patient's months.
type PatientAt struct{ at *projection.AtCut }

// LoadPatientAt folds patientRecords (the patient's stream, in log order, as
// the caller read it; records outside the cut are skipped) and the
// practice stream at cut. ok is false when the patient was not enrolled by
// then.
func LoadPatientAt(ctx context.Context, log eventlog.Log, patientID string, patientRecords []eventlog.Record, cut Cut) (*PatientAt, bool, error) {
	pa, ok, err := projection.PatientFrom(ctx, log, patientID, patientRecords, cut)
	if err != nil || !ok {
		return nil, ok, err
	}
	return &PatientAt{at: pa}, true, nil
}

// Location is the practice's time zone at the cut (UTC while unset): it
// decides which calendar month and day an instant belongs to (T12).
func (p *PatientAt) Location() *time.Location { return p.at.Location() }

// Evaluate evaluates the patient's months (YYYY-MM) at the cut; each
// month's batch stream is read. Errors: errs.Invalid for a malformed month.
func (p *PatientAt) Evaluate(ctx context.Context, months []string) ([]PatientMonthAt, error) {
	out := make([]PatientMonthAt, 0, len(months))
	for _, month := range months {
		m, err := rules.ParseMonth(month)
		if err != nil {
			return nil, errs.Field("billing.EvaluateAt", "month", "must be YYYY-MM, got %q", month)
		}
		f, pm, err := p.at.Month(ctx, m)
		if err != nil {
			return nil, err
		}
		out = append(out, PatientMonthAt{PatientID: pm.PatientID, Month: month, AsOfSequence: pm.AsOfSequence, BatchID: pm.BatchID, Facts: f, Evaluation: pm.Evaluation})
	}
	return out, nil
}

// ClaimBatch is a claim_batch.closed event as recorded, with its position.
type ClaimBatch struct {
	Sequence   uint64    `json:"sequence"`
	EventID    string    `json:"eventId"`
	RecordedAt time.Time `json:"recordedAt"`
	events.ClaimBatchClosed
}

var batchIDPattern = regexp.MustCompile(`^batch-(\d{4}-\d{2})-[1-9]\d*$`)

// FindBatch reads the claim batch id from its month's batch stream. Errors:
// errs.Invalid for an id that is not a batch id, errs.NotFound when no such
// batch was closed.
func FindBatch(ctx context.Context, log eventlog.Log, id string) (ClaimBatch, error) {
	const op = "billing.FindBatch"
	sub := batchIDPattern.FindStringSubmatch(id)
	if sub == nil {
		return ClaimBatch{}, errs.Field(op, "id", "must be a claim batch id (batch-YYYY-MM-N), got %q", id)
	}
	for rec, err := range log.ReadStream(ctx, events.BatchStream(sub[1]), 1) {
		if err != nil {
			return ClaimBatch{}, err
		}
		if rec.Type != events.TypeClaimBatchClosed {
			continue
		}
		v, err := events.DefaultRegistry().Decode(rec.Envelope)
		if err != nil {
			return ClaimBatch{}, errs.Wrap(op, errs.Internal, err)
		}
		p, ok := v.(*events.ClaimBatchClosed)
		if ok && p.ID == id {
			return ClaimBatch{Sequence: rec.Sequence, EventID: rec.ID, RecordedAt: rec.RecordedAt, ClaimBatchClosed: *p}, nil
		}
	}
	return ClaimBatch{}, errs.E(op, errs.NotFound, "claim batch %s was not closed", id)
}

// Difference is where a recorded batch and its recomputation first differ.
type Difference = batches.Difference

// BatchVerification is the answer to "does the log reproduce this batch?"
// (contract.md GET /v1/audit/claim-batches/{id}/verification).
type BatchVerification struct {
	BatchID     string `json:"batchId"`
	Month       string `json:"month"`
	LogSequence uint64 `json:"logSequence"`
	// Reproduced is true when the recomputed content hash equals the
	// recorded one and the recorded lines hash to it.
	Reproduced bool `json:"reproduced"`
	// ContentHash is the hash the batch event recorded; RecordedContentHash
	// is the hash of the lines the event carries (they differ only if the
	// event is internally inconsistent); RecomputedHash is the hash of the
	// batch recomputed from a replay of the log to LogSequence.
	ContentHash         string      `json:"contentHash"`
	RecordedContentHash string      `json:"recordedContentHash"`
	RecomputedHash      string      `json:"recomputedHash"`
	FirstDifference     *Difference `json:"firstDifference"`
	// EventsReplayed is how many events the replay applied.
	EventsReplayed uint64 `json:"eventsReplayed"`
	ReplayMillis   int64  `json:"replayMillis"`
	RuleSetVersion string `json:"ruleSetVersion"`
}

// VerifyBatch replays the log from sequence 1 to the batch's recorded
// LogSequence into fresh in-memory read models (the same projection the
// service runs), recomputes the batch with batches.Compute (patient-months
// billed by earlier batches of the month are excluded exactly as they were
// when it was closed) and compares content hashes. A batch whose recomputed
// content differs is reported with the first difference, not as an error.
// Errors: those of FindBatch; an integrity failure of the log is returned
// (errs.Internal wrapping *eventlog.IntegrityError).
func VerifyBatch(ctx context.Context, log eventlog.Log, id string) (BatchVerification, error) {
	b, err := FindBatch(ctx, log, id)
	if err != nil {
		return BatchVerification{}, err
	}
	recorded := batches.ContentOf(b.ClaimBatchClosed)
	v := BatchVerification{
		BatchID: b.ID, Month: b.Month, LogSequence: b.LogSequence,
		ContentHash: b.ContentHash, RecordedContentHash: batches.Hash(recorded),
		RuleSetVersion: rules.RuleSetVersion,
	}
	r, err := Replay(ctx, log, ReplayOptions{UntilSequence: b.LogSequence})
	if err != nil {
		return BatchVerification{}, err
	}
	defer r.Close()
	v.EventsReplayed, v.ReplayMillis = r.Events, r.Elapsed.Milliseconds()
	if r.Last < b.LogSequence {
		return BatchVerification{}, errs.E("billing.VerifyBatch", errs.Internal, "the log ends at %d, before the batch's log sequence %d", r.Last, b.LogSequence)
	}
	rows, err := r.store.Month(ctx, b.Month)
	if err != nil {
		return BatchVerification{}, err
	}
	recomputed, err := batches.Compute(b.Month, rows, b.LogSequence)
	if errors.Is(err, batches.ErrNothingToBill) {
		// Nothing billable at that position: every recorded line differs.
		recomputed, err = batches.Content{Month: b.Month, LogSequence: b.LogSequence}, nil
	}
	if err != nil {
		return BatchVerification{}, fmt.Errorf("recompute %s: %w", id, err)
	}
	v.RecomputedHash = batches.Hash(recomputed)
	v.FirstDifference = batches.FirstDifference(recorded, recomputed)
	v.Reproduced = v.RecomputedHash == v.ContentHash && v.RecordedContentHash == v.ContentHash && v.FirstDifference == nil
	if v.FirstDifference == nil && v.RecordedContentHash != v.ContentHash {
		v.FirstDifference = &Difference{Field: "contentHash", Line: -1, Recorded: v.ContentHash, Recomputed: v.RecordedContentHash}
	}
	return v, nil
}
