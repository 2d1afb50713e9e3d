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
// evaluates them: it reads the patient's stream, the practice stream and
// the month's batch stream, keeps the records inside the cut, folds them and
// evaluates. The month is billed when a batch inside the cut billed the
// patient. AsOfSequence is the sequence of the last included event that the
// evaluation depends on (the patient's, the practice's and that batch's).
// The returned Facts are the engine's exact input (the audit packet shows
// them). ok is false when the patient was not enrolled by then.
func FactsAt(ctx context.Context, log eventlog.Log, patientID string, m rules.Month, cut Cut) (rules.Facts, readmodel.PatientMonth, bool, error) {
	read := func(stream string) ([]eventlog.Record, error) {
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
	if !events.ValidID(patientID) {
		return rules.Facts{}, readmodel.PatientMonth{}, false, nil
	}
	precs, err := read(events.PatientStream(patientID))
	if err != nil {
		return rules.Facts{}, readmodel.PatientMonth{}, false, err
	}
	pt := facts.FoldPatient(patientID, precs)
	if !pt.Enrolled {
		return rules.Facts{}, readmodel.PatientMonth{}, false, nil
	}
	prrecs, err := read(events.PracticeStream)
	if err != nil {
		return rules.Facts{}, readmodel.PatientMonth{}, false, err
	}
	practice := facts.FoldPractice(prrecs)
	brecs, err := read(events.BatchStream(m.String()))
	if err != nil {
		return rules.Facts{}, readmodel.PatientMonth{}, false, err
	}
	var seq uint64
	for _, r := range precs {
		seq = max(seq, r.Sequence)
	}
	for _, r := range prrecs {
		seq = max(seq, r.Sequence)
	}
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
			if l.PatientID == patientID {
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
	f := pt.Facts(m, practice, bm)
	ev := rules.Evaluate(f)
	return f, readmodel.PatientMonth{PatientID: patientID, Month: m.String(), Evaluation: ev, AsOfSequence: seq, BatchID: batchID}, true, nil
}
