package batches

import (
	"maps"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/services/billing/internal/readmodel"
	"github.com/carelog/carelog/services/billing/rules"
	"github.com/carelog/carelog/services/billing/rules/fees"
)

// Fees prices procedure codes: Cents is the expected payment of one unit of
// code in service month month, ok false when unknown. Fees are data loaded
// per year and locality (ccm-rules §8 A14); they are never part of a batch's
// content hash.
type Fees interface {
	Cents(code, month string) (cents int64, ok bool)
}

// ScheduleFees prices codes from the embedded yearly fee schedules
// (rules/fees: approximate national amounts, not locality-adjusted), by the
// service month's year.
type ScheduleFees struct{}

// Cents implements Fees.
func (ScheduleFees) Cents(code, month string) (int64, bool) {
	m, err := rules.ParseMonth(month)
	if err != nil {
		return 0, false
	}
	s, ok := fees.ForYear(m.Year)
	if !ok {
		return 0, false
	}
	return s.Amount(code)
}

// ExpectedRevenue sums units × fee over lines; a nil fees or an unknown code
// counts 0.
func ExpectedRevenue(lines []events.ClaimLine, month string, fees Fees) int64 {
	if fees == nil {
		return 0
	}
	var total int64
	for _, l := range lines {
		if c, ok := fees.Cents(l.Code, month); ok {
			total += c * int64(l.Units)
		}
	}
	return total
}

// Row is the read-model row of a stored claim_batch.closed event: what the
// billing projection writes (readmodel.Batch) and the HTTP API returns.
// Lines and totals are copied; ExpectedRevenueCent comes from fees (0 when
// nil).
func Row(eventID string, sequence uint64, p events.ClaimBatchClosed, fees Fees) readmodel.Batch {
	lines := make([]readmodel.BatchLine, len(p.Lines))
	for i, l := range p.Lines {
		lines[i] = readmodel.BatchLine{
			PatientID: l.PatientID, Code: l.Code, Units: l.Units, DateOfService: l.DateOfService,
			PractitionerNPI: l.PractitionerNPI, Diagnoses: nonNil(l.Diagnoses), Evidence: nonNil(l.Evidence),
		}
	}
	units := maps.Clone(p.Totals.UnitsByCode)
	if units == nil {
		units = map[string]int{}
	}
	return readmodel.Batch{
		ID: p.ID, Month: p.Month, ClosedAt: p.ClosedAt, LogSequence: p.LogSequence, ContentHash: p.ContentHash,
		Lines: lines,
		Totals: readmodel.BatchTotals{
			Patients: p.Totals.Patients, Lines: p.Totals.Lines, Units: units,
			ExpectedRevenueCent: ExpectedRevenue(p.Lines, p.Month, fees),
		},
		EventID: eventID, Sequence: sequence,
	}
}

// LinesOf converts read-model lines back to claim lines (for exports and for
// recomputing a stored batch's hash).
func LinesOf(b readmodel.Batch) []events.ClaimLine {
	out := make([]events.ClaimLine, len(b.Lines))
	for i, l := range b.Lines {
		out[i] = events.ClaimLine{
			PatientID: l.PatientID, Code: l.Code, Units: l.Units, DateOfService: l.DateOfService,
			PractitionerNPI: l.PractitionerNPI, Diagnoses: nonNil(l.Diagnoses), Evidence: nonNil(l.Evidence),
		}
	}
	return out
}
