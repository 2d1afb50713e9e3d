// Package readmodel defines the billing read models and the port of the
// stores that keep them (ARCHITECTURE.md decision 3): patient-month
// evaluations, monthly minute totals, claim batches and the enrollment
// funnel. Two stores implement Store — memory (embedded default, rebuilt from
// the log at start) and postgres (durable) — and both pass the contract suite
// in readmodel/storetest, so they answer every query identically.
//
// Contracts of every Store:
//   - Commit applies one batch of Changes together with the checkpoint
//     `through` (the last log sequence the changes reflect) atomically: after
//     a crash either both are visible or neither. A Commit whose through is
//     not above the current checkpoint is ignored (the events were already
//     applied), so each event takes effect exactly once across restarts.
//   - Rows are upserts keyed as documented on each type; a later Commit
//     replaces a row whole.
//   - Commit takes ownership of its Changes: the caller neither modifies
//     them nor anything they reference afterwards (the in-memory store
//     keeps the rows as given; readers always get copies).
//   - Queries return rows in a deterministic order (documented per method)
//     and never nil slices.
//   - Instants are returned in UTC, the same instant to the nanosecond,
//     whatever location they were written with.
//   - Safe for concurrent use: one writer (the projection) and many readers.
package readmodel

import (
	"context"
	"time"

	"github.com/carelog/carelog/services/billing/rules"
)

// PatientMonth is one evaluated patient-month, keyed by (PatientID, Month).
type PatientMonth struct {
	PatientID string `json:"patientId"`
	Month     string `json:"month"` // YYYY-MM
	// Evaluation is the rules engine's verdict (contract shape).
	Evaluation rules.Evaluation `json:"evaluation"`
	// AsOfSequence is the log position the evaluation reflects.
	AsOfSequence uint64 `json:"asOfSequence"`
	// BatchID is set when the month is in a closed claim batch (status
	// billed); BilledEvaluation is then the evaluation as billed, and
	// Evaluation keeps being recomputed so a post-close change shows.
	BatchID          string            `json:"batchId,omitempty"`
	BilledEvaluation *rules.Evaluation `json:"billedEvaluation,omitempty"`
}

// MinuteTotal is the logged minutes of one patient-month by program tag and
// staff role, keyed by (PatientID, Month, Program, Role). Minutes are as
// logged (corrections applied, voided entries out), before the rules'
// exclusions; Counted is what the evaluation counted for that program/role.
type MinuteTotal struct {
	PatientID string `json:"patientId"`
	Month     string `json:"month"`
	Program   string `json:"program"`
	Role      string `json:"role"`
	Minutes   int    `json:"minutes"`
	Counted   int    `json:"counted"`
}

// BatchLine is one claim line of a batch.
type BatchLine struct {
	PatientID       string   `json:"patientId"`
	Code            string   `json:"code"`
	Units           int      `json:"units"`
	DateOfService   string   `json:"dateOfService"`
	PractitionerNPI string   `json:"practitionerNpi"`
	Diagnoses       []string `json:"diagnoses"`
	Evidence        []string `json:"evidence"`
}

// Batch is a closed claim batch, keyed by ID (claim_batch.closed event).
type Batch struct {
	ID          string      `json:"id"`
	Month       string      `json:"month"`
	ClosedAt    time.Time   `json:"closedAt"`
	LogSequence uint64      `json:"logSequence"`
	ContentHash string      `json:"contentHash"`
	Lines       []BatchLine `json:"lines"`
	// Totals: patients, lines, units per code, expected revenue (cents).
	Totals   BatchTotals `json:"totals"`
	EventID  string      `json:"eventId"`
	Sequence uint64      `json:"sequence"`
}

// BatchTotals summarizes a batch.
type BatchTotals struct {
	Patients            int            `json:"patients"`
	Lines               int            `json:"lines"`
	Units               map[string]int `json:"units"`
	ExpectedRevenueCent int64          `json:"expectedRevenueCents"`
}

// Patient is one enrolled patient's funnel row, keyed by PatientID: the
// enrollment and dropout funnel (seeds: "High Dropout Rates").
type Patient struct {
	PatientID              string     `json:"patientId"`
	EnrolledAt             time.Time  `json:"enrolledAt"`
	BillingPractitionerNPI string     `json:"billingPractitionerNpi"`
	QualifyingConditions   int        `json:"qualifyingConditions"`
	ConsentStatus          string     `json:"consentStatus"` // none, granted, declined, revoked
	ConsentedAt            *time.Time `json:"consentedAt,omitempty"`
	DeclinedAt             *time.Time `json:"declinedAt,omitempty"`
	RevokedAt              *time.Time `json:"revokedAt,omitempty"`
	CarePlanAt             *time.Time `json:"carePlanAt,omitempty"`
	CopyProvidedAt         *time.Time `json:"copyProvidedAt,omitempty"`
	FirstBilledMonth       string     `json:"firstBilledMonth,omitempty"`
	DeceasedDate           string     `json:"deceasedDate,omitempty"`
}

// Changes is what one Commit writes.
type Changes struct {
	PatientMonths []PatientMonth
	// Totals replaces, for each (PatientID, Month) it names in
	// TotalsReplaced, every MinuteTotal of that patient-month.
	TotalsReplaced []PatientMonthKey
	Totals         []MinuteTotal
	Batches        []Batch
	Patients       []Patient
	// PatientMonthsNew, when set, runs parallel to PatientMonths, and
	// PatientsNew to Patients: true marks a row the writer knows the store
	// has never held (nor, for a patient-month, any minute total of it),
	// so that a store may insert it without looking for an earlier
	// version — most rows of a rebuild. A store may ignore the marks; one
	// that uses them must turn a wrong mark into a failed Commit, never a
	// lost row (PostgreSQL: the primary key).
	PatientMonthsNew []bool
	PatientsNew      []bool
}

// Empty reports whether c writes nothing.
func (c Changes) Empty() bool {
	return len(c.PatientMonths) == 0 && len(c.TotalsReplaced) == 0 && len(c.Totals) == 0 && len(c.Batches) == 0 && len(c.Patients) == 0
}

// PatientMonthKey names one patient-month.
type PatientMonthKey struct {
	PatientID string
	Month     string
}

// Store keeps the billing read models.
type Store interface {
	// Checkpoint is the last log sequence committed (0 for an empty store).
	Checkpoint(ctx context.Context) (uint64, error)
	// Commit applies changes and the checkpoint atomically (see package doc).
	Commit(ctx context.Context, c Changes, through uint64) error
	// PatientMonth returns one patient-month; ok is false when absent.
	PatientMonth(ctx context.Context, patientID, month string) (pm PatientMonth, ok bool, err error)
	// Month returns every patient-month of month, ordered by PatientID.
	Month(ctx context.Context, month string) ([]PatientMonth, error)
	// Totals returns the minute totals of month ordered by PatientID,
	// Program, Role.
	Totals(ctx context.Context, month string) ([]MinuteTotal, error)
	// Batch returns one batch; ok is false when absent.
	Batch(ctx context.Context, id string) (b Batch, ok bool, err error)
	// Batches returns the batches of month ordered by LogSequence, then ID.
	Batches(ctx context.Context, month string) ([]Batch, error)
	// Patients returns every funnel row ordered by PatientID.
	Patients(ctx context.Context) ([]Patient, error)
	// Reset empties the store and its checkpoint (rebuild from sequence 1).
	Reset(ctx context.Context) error
	// Durable reports whether committed rows outlive the process. The
	// projection commits a durable store every so many events while it
	// catches up, which bounds a transaction and the work a crash loses;
	// a volatile one only when it reaches the end of the log, since its
	// rows die with the process and every reader waits for the end.
	Durable() bool
	// Close releases the store.
	Close() error
}
