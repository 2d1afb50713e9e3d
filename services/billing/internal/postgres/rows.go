package postgres

import (
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/carelog/carelog/services/billing/internal/readmodel"
	"github.com/carelog/carelog/services/billing/rules"
)

// This file maps read-model rows to table rows and back. Writes produce
// []any in the column order of each table's cols; reads scan the columns of
// the *Select lists.

// seq converts a log sequence to bigint.
func seq(v uint64) (int64, error) {
	if v > math.MaxInt64 {
		return 0, &encodeError{fmt.Errorf("sequence %d exceeds bigint", v)}
	}
	return int64(v), nil
}

// int4 converts a count to integer; beyond its range is an encodeError
// (pgx's own error would read as a connection problem).
func int4(v int) (int32, error) {
	if v < math.MinInt32 || v > math.MaxInt32 {
		return 0, &encodeError{fmt.Errorf("%d is out of range for integer", v)}
	}
	return int32(v), nil
}

// instant splits t into the timestamptz value PostgreSQL keeps (UTC,
// microseconds) and the nanoseconds below the microsecond.
func instant(t time.Time) (time.Time, int16) {
	t = t.UTC()
	us := t.Truncate(time.Microsecond)
	return us, int16(t.Sub(us))
}

// instantOrNull is instant, with the zero time as NULL.
func instantOrNull(t time.Time) (*time.Time, int16) {
	if t.IsZero() {
		return nil, 0
	}
	us, nanos := instant(t)
	return &us, nanos
}

// instantPtr is instant, with nil as NULL.
func instantPtr(t *time.Time) (*time.Time, int16) {
	if t == nil {
		return nil, 0
	}
	us, nanos := instant(*t)
	return &us, nanos
}

// joinInstant is the inverse of instant; NULL reads as nil.
func joinInstant(ts *time.Time, nanos int16) *time.Time {
	if ts == nil {
		return nil
	}
	t := ts.UTC().Add(time.Duration(nanos))
	return &t
}

// nullIfEmpty stores "" as NULL.
func nullIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func emptyIfNull(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func marshal(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, &encodeError{err}
	}
	return b, nil
}

func unmarshal(b []byte, v any, what string) error {
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%w: %s: %v", errDecode, what, err)
	}
	return nil
}

// --- patient_months

var patientMonths = newTable("patient_months",
	[]string{"patient_id", "month", "status", "program", "pathway", "counted_minutes", "reasons", "batch_id", "as_of_sequence", "evaluation", "billed_evaluation"},
	[]string{"month", "patient_id"})

const patientMonthSelect = "patient_id, month, batch_id, as_of_sequence, evaluation, billed_evaluation"

func patientMonthRow(pm readmodel.PatientMonth) ([]any, error) {
	asOf, err := seq(pm.AsOfSequence)
	if err != nil {
		return nil, err
	}
	eval, err := marshal(pm.Evaluation)
	if err != nil {
		return nil, err
	}
	var billed []byte // nil is NULL
	if pm.BilledEvaluation != nil {
		if billed, err = marshal(pm.BilledEvaluation); err != nil {
			return nil, err
		}
	}
	counted, err := int4(pm.Evaluation.CountedMinutes)
	if err != nil {
		return nil, err
	}
	reasons := make([]string, len(pm.Evaluation.Reasons))
	for i, r := range pm.Evaluation.Reasons {
		reasons[i] = string(r.Code)
	}
	ev := pm.Evaluation
	return []any{pm.PatientID, pm.Month, string(ev.Status), string(ev.Program), string(ev.Pathway), counted,
		reasons, nullIfEmpty(pm.BatchID), asOf, eval, billed}, nil
}

// patientMonthTuple is patientMonthRow as a binary COPY tuple.
func patientMonthTuple(t *tuples, pm readmodel.PatientMonth) error {
	asOf, err := seq(pm.AsOfSequence)
	if err != nil {
		return err
	}
	ev := pm.Evaluation
	t.begin(len(patientMonths.cols))
	t.text(pm.PatientID)
	t.text(pm.Month)
	t.text(string(ev.Status))
	t.text(string(ev.Program))
	t.text(string(ev.Pathway))
	if err := t.int4(ev.CountedMinutes); err != nil {
		return err
	}
	t.textArray(len(ev.Reasons), func(i int) string { return string(ev.Reasons[i].Code) })
	t.textOrNull(pm.BatchID)
	t.int8(asOf)
	if err := t.json(pm.Evaluation); err != nil {
		return err
	}
	if pm.BilledEvaluation == nil {
		t.null()
		return nil
	}
	return t.json(pm.BilledEvaluation)
}

func scanPatientMonth(rows pgx.Rows) (readmodel.PatientMonth, error) {
	var (
		pm           readmodel.PatientMonth
		batchID      *string
		asOf         int64
		eval, billed []byte
	)
	if err := rows.Scan(&pm.PatientID, &pm.Month, &batchID, &asOf, &eval, &billed); err != nil {
		return pm, err
	}
	pm.BatchID = emptyIfNull(batchID)
	pm.AsOfSequence = uint64(asOf)
	if err := unmarshal(eval, &pm.Evaluation, "evaluation"); err != nil {
		return pm, err
	}
	normalizeEvaluation(&pm.Evaluation)
	if billed != nil {
		pm.BilledEvaluation = new(rules.Evaluation)
		if err := unmarshal(billed, pm.BilledEvaluation, "billed_evaluation"); err != nil {
			return pm, err
		}
		normalizeEvaluation(pm.BilledEvaluation)
	}
	return pm, nil
}

// normalizeEvaluation makes nil slices empty, as rules.Evaluation promises.
func normalizeEvaluation(ev *rules.Evaluation) {
	ev.Lines = nonNil(ev.Lines)
	for i := range ev.Lines {
		ev.Lines[i].Diagnoses = nonNil(ev.Lines[i].Diagnoses)
		ev.Lines[i].Evidence = nonNil(ev.Lines[i].Evidence)
	}
	ev.Reasons = nonNil(ev.Reasons)
	ev.Flags = nonNil(ev.Flags)
	ev.Excluded = nonNil(ev.Excluded)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// --- minute_totals

var minuteTotals = newTable("minute_totals",
	[]string{"patient_id", "month", "program", "role", "minutes", "counted"},
	[]string{"month", "patient_id", "program", "role"})

const minuteTotalSelect = "patient_id, month, program, role, minutes, counted"

func minuteTotalRow(t readmodel.MinuteTotal) ([]any, error) {
	minutes, err := int4(t.Minutes)
	if err != nil {
		return nil, err
	}
	counted, err := int4(t.Counted)
	if err != nil {
		return nil, err
	}
	return []any{t.PatientID, t.Month, t.Program, t.Role, minutes, counted}, nil
}

// minuteTotalTuple is minuteTotalRow as a binary COPY tuple.
func minuteTotalTuple(t *tuples, mt readmodel.MinuteTotal) error {
	t.begin(len(minuteTotals.cols))
	t.text(mt.PatientID)
	t.text(mt.Month)
	t.text(mt.Program)
	t.text(mt.Role)
	if err := t.int4(mt.Minutes); err != nil {
		return err
	}
	return t.int4(mt.Counted)
}

func scanMinuteTotal(rows pgx.Rows) (readmodel.MinuteTotal, error) {
	var t readmodel.MinuteTotal
	err := rows.Scan(&t.PatientID, &t.Month, &t.Program, &t.Role, &t.Minutes, &t.Counted)
	return t, err
}

// --- batches

var batches = newTable("batches",
	[]string{"id", "month", "closed_at", "closed_at_nanos", "log_sequence", "content_hash", "lines", "totals", "event_id", "sequence"},
	[]string{"id"})

const batchSelect = "id, month, closed_at, closed_at_nanos, log_sequence, content_hash, lines, totals, event_id, sequence"

func batchRow(b readmodel.Batch) ([]any, error) {
	logSeq, err := seq(b.LogSequence)
	if err != nil {
		return nil, err
	}
	sequence, err := seq(b.Sequence)
	if err != nil {
		return nil, err
	}
	lines, err := marshal(b.Lines)
	if err != nil {
		return nil, err
	}
	totals, err := marshal(b.Totals)
	if err != nil {
		return nil, err
	}
	closedAt, closedNanos := instantOrNull(b.ClosedAt)
	return []any{b.ID, b.Month, closedAt, closedNanos, logSeq, b.ContentHash, lines, totals, b.EventID, sequence}, nil
}

func scanBatch(rows pgx.Rows) (readmodel.Batch, error) {
	var (
		b                readmodel.Batch
		closedAt         *time.Time
		closedNanos      int16
		logSeq, sequence int64
		lines, totals    []byte
	)
	if err := rows.Scan(&b.ID, &b.Month, &closedAt, &closedNanos, &logSeq, &b.ContentHash, &lines, &totals, &b.EventID, &sequence); err != nil {
		return b, err
	}
	if t := joinInstant(closedAt, closedNanos); t != nil {
		b.ClosedAt = *t
	}
	b.LogSequence, b.Sequence = uint64(logSeq), uint64(sequence)
	if err := unmarshal(lines, &b.Lines, "batch lines"); err != nil {
		return b, err
	}
	if err := unmarshal(totals, &b.Totals, "batch totals"); err != nil {
		return b, err
	}
	b.Lines = nonNil(b.Lines)
	for i := range b.Lines {
		b.Lines[i].Diagnoses = nonNil(b.Lines[i].Diagnoses)
		b.Lines[i].Evidence = nonNil(b.Lines[i].Evidence)
	}
	if b.Totals.Units == nil {
		b.Totals.Units = map[string]int{}
	}
	return b, nil
}

// --- patients

var patients = newTable("patients",
	[]string{"patient_id", "enrolled_at", "enrolled_at_nanos", "billing_practitioner_npi", "qualifying_conditions", "consent_status",
		"consented_at", "consented_at_nanos", "declined_at", "declined_at_nanos", "revoked_at", "revoked_at_nanos",
		"care_plan_at", "care_plan_at_nanos", "copy_provided_at", "copy_provided_at_nanos", "first_billed_month", "deceased_date"},
	[]string{"patient_id"})

const patientSelect = `patient_id, enrolled_at, enrolled_at_nanos, billing_practitioner_npi, qualifying_conditions, consent_status,
consented_at, consented_at_nanos, declined_at, declined_at_nanos, revoked_at, revoked_at_nanos,
care_plan_at, care_plan_at_nanos, copy_provided_at, copy_provided_at_nanos, first_billed_month, deceased_date`

func patientRow(p readmodel.Patient) ([]any, error) {
	conditions, err := int4(p.QualifyingConditions)
	if err != nil {
		return nil, err
	}
	enrolled, enrolledNanos := instantOrNull(p.EnrolledAt)
	consented, consentedNanos := instantPtr(p.ConsentedAt)
	declined, declinedNanos := instantPtr(p.DeclinedAt)
	revoked, revokedNanos := instantPtr(p.RevokedAt)
	carePlan, carePlanNanos := instantPtr(p.CarePlanAt)
	copyProvided, copyProvidedNanos := instantPtr(p.CopyProvidedAt)
	return []any{p.PatientID, enrolled, enrolledNanos, p.BillingPractitionerNPI, conditions, p.ConsentStatus,
		consented, consentedNanos, declined, declinedNanos, revoked, revokedNanos,
		carePlan, carePlanNanos, copyProvided, copyProvidedNanos, nullIfEmpty(p.FirstBilledMonth), nullIfEmpty(p.DeceasedDate)}, nil
}

// patientTuple is patientRow as a binary COPY tuple.
func patientTuple(t *tuples, p readmodel.Patient) error {
	t.begin(len(patients.cols))
	t.text(p.PatientID)
	t.instant(p.EnrolledAt, p.EnrolledAt.IsZero())
	t.text(p.BillingPractitionerNPI)
	if err := t.int4(p.QualifyingConditions); err != nil {
		return err
	}
	t.text(p.ConsentStatus)
	for _, at := range []*time.Time{p.ConsentedAt, p.DeclinedAt, p.RevokedAt, p.CarePlanAt, p.CopyProvidedAt} {
		t.instantPtr(at)
	}
	t.textOrNull(p.FirstBilledMonth)
	t.textOrNull(p.DeceasedDate)
	return nil
}

func scanPatient(rows pgx.Rows) (readmodel.Patient, error) {
	var (
		p                                                readmodel.Patient
		enrolled, consented, declined, revoked, carePlan *time.Time
		copyProvided                                     *time.Time
		enrolledNanos, consentedNanos, declinedNanos     int16
		revokedNanos, carePlanNanos, copyProvidedNanos   int16
		firstBilled, deceased                            *string
	)
	if err := rows.Scan(&p.PatientID, &enrolled, &enrolledNanos, &p.BillingPractitionerNPI, &p.QualifyingConditions, &p.ConsentStatus,
		&consented, &consentedNanos, &declined, &declinedNanos, &revoked, &revokedNanos,
		&carePlan, &carePlanNanos, &copyProvided, &copyProvidedNanos, &firstBilled, &deceased); err != nil {
		return p, err
	}
	if t := joinInstant(enrolled, enrolledNanos); t != nil {
		p.EnrolledAt = *t
	}
	p.ConsentedAt = joinInstant(consented, consentedNanos)
	p.DeclinedAt = joinInstant(declined, declinedNanos)
	p.RevokedAt = joinInstant(revoked, revokedNanos)
	p.CarePlanAt = joinInstant(carePlan, carePlanNanos)
	p.CopyProvidedAt = joinInstant(copyProvided, copyProvidedNanos)
	p.FirstBilledMonth = emptyIfNull(firstBilled)
	p.DeceasedDate = emptyIfNull(deceased)
	return p, nil
}
