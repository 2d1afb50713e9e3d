package projection

import (
	"context"
	"fmt"
	"time"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/eventlog"
	"github.com/carelog/carelog/services/billing/internal/facts"
	"github.com/carelog/carelog/services/billing/internal/readmodel"
	"github.com/carelog/carelog/services/billing/rules"
)

// Cut limits what a point-in-time evaluation may see: records recorded by
// AsOf (zero: no limit) and at or before log sequence UntilSequence (zero: no
// limit).
type Cut struct {
	AsOf          time.Time
	UntilSequence uint64
}

func (c Cut) keep(rec eventlog.Record) bool {
	return (c.AsOf.IsZero() || !rec.RecordedAt.After(c.AsOf)) && (c.UntilSequence == 0 || rec.Sequence <= c.UntilSequence)
}

// EvaluateAsOf evaluates a patient-month with only the facts recorded by
// asOf (contract.md: ?asOf= shows what billing showed then); see FactsAt.
// A zero asOf means no cut: everything in the log now. ok is false when the
// patient was not enrolled by then.
func EvaluateAsOf(ctx context.Context, log eventlog.Log, patientID string, m rules.Month, asOf time.Time) (readmodel.PatientMonth, bool, error) {
	_, pm, ok, err := FactsAt(ctx, log, patientID, m, Cut{AsOf: asOf})
	return pm, ok, err
}

// FactsAt folds a patient-month's facts as the log held them at cut and
// evaluates them (PatientAt, then Month). ok is false when the patient was
// not enrolled by then.
func FactsAt(ctx context.Context, log eventlog.Log, patientID string, m rules.Month, cut Cut) (rules.Facts, readmodel.PatientMonth, bool, error) {
	pa, ok, err := PatientAt(ctx, log, patientID, cut)
	if err != nil || !ok {
		return rules.Facts{}, readmodel.PatientMonth{}, ok, err
	}
	f, pm, err := pa.Month(ctx, m)
	return f, pm, err == nil, err
}

// AtCut is one patient and the practice folded from their streams as the
// log held them at a cut; Month evaluates any of the patient's months from
// it, so evaluating many months reads those two streams once.
type AtCut struct {
	log      eventlog.Log
	cut      Cut
	id       string
	patient  *facts.Patient
	practice facts.Practice
	seq      uint64 // last included sequence of the patient's and the practice's streams
}

// PatientAt reads the patient's stream and the practice stream, keeps the
// records inside the cut and folds them. ok is false when the patient was
// not enrolled by then.
func PatientAt(ctx context.Context, log eventlog.Log, patientID string, cut Cut) (*AtCut, bool, error) {
	if !events.ValidID(patientID) {
		return nil, false, nil
	}
	precs, err := readCut(ctx, log, events.PatientStream(patientID), cut)
	if err != nil {
		return nil, false, err
	}
	return PatientFrom(ctx, log, patientID, precs, cut)
}

// PatientFrom is PatientAt for a caller that has read the patient's stream
// already (patientRecords, in log order; records outside the cut are
// skipped): only the practice stream is read.
func PatientFrom(ctx context.Context, log eventlog.Log, patientID string, patientRecords []eventlog.Record, cut Cut) (*AtCut, bool, error) {
	a := &AtCut{log: log, cut: cut, id: patientID, patient: facts.NewPatient(patientID)}
	for _, r := range patientRecords {
		if cut.keep(r) {
			a.patient.Apply(r)
			a.seq = max(a.seq, r.Sequence)
		}
	}
	if !a.patient.Enrolled {
		return nil, false, nil
	}
	prrecs, err := readCut(ctx, log, events.PracticeStream, cut)
	if err != nil {
		return nil, false, err
	}
	a.practice = facts.FoldPractice(prrecs)
	for _, r := range prrecs {
		a.seq = max(a.seq, r.Sequence)
	}
	return a, true, nil
}

// Location is the practice's time zone at the cut (UTC while unset).
func (a *AtCut) Location() *time.Location { return a.practice.Location }

// Month reads the month's batch stream inside the cut and evaluates the
// month: it is billed when a batch inside the cut billed the patient.
// AsOfSequence is the sequence of the last included event the evaluation
// depends on (the patient's, the practice's and that batch's). The returned
// Facts are the engine's exact input (the audit packet shows them).
func (a *AtCut) Month(ctx context.Context, m rules.Month) (rules.Facts, readmodel.PatientMonth, error) {
	brecs, err := readCut(ctx, a.log, events.BatchStream(m.String()), a.cut)
	if err != nil {
		return rules.Facts{}, readmodel.PatientMonth{}, err
	}
	seq := a.seq
	var bm *rules.BilledMonth
	var batchID string
	for _, r := range brecs {
		if r.Type != events.TypeClaimBatchClosed {
			continue
		}
		v, err := events.DefaultRegistry().Decode(r.Envelope)
		if err != nil {
			continue
		}
		e, ok := v.(*events.ClaimBatchClosed)
		if !ok {
			continue
		}
		var lines []rules.Line
		for _, l := range e.Lines {
			if l.PatientID == a.id {
				lines = append(lines, rules.Line{Code: l.Code, Units: l.Units, DateOfService: l.DateOfService,
					PractitionerNPI: l.PractitionerNPI, Diagnoses: l.Diagnoses, Evidence: l.Evidence})
			}
		}
		if lines != nil {
			bm = &rules.BilledMonth{BatchID: e.ID, ClosedAt: e.ClosedAt, Lines: lines}
			batchID = e.ID
			seq = max(seq, r.Sequence)
		}
	}
	f := a.patient.Facts(m, a.practice, bm)
	ev := rules.Evaluate(f)
	return f, readmodel.PatientMonth{PatientID: a.id, Month: m.String(), Evaluation: ev, AsOfSequence: seq, BatchID: batchID}, nil
}

// readCut reads a stream's records inside the cut.
func readCut(ctx context.Context, log eventlog.Log, stream string, cut Cut) ([]eventlog.Record, error) {
	var out []eventlog.Record
	for rec, err := range log.ReadStream(ctx, stream, 1) {
		if err != nil {
			return nil, fmt.Errorf("billing: read %s: %w", stream, err)
		}
		if cut.UntilSequence != 0 && rec.Sequence > cut.UntilSequence {
			break
		}
		if cut.keep(rec) {
			out = append(out, rec)
		}
	}
	return out, nil
}
