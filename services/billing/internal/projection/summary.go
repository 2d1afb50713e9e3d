package projection

import (
	"slices"
	"time"

	"github.com/carelog/carelog/services/billing/internal/readmodel"
	"github.com/carelog/carelog/services/billing/rules"
	"github.com/carelog/carelog/services/billing/rules/fees"
)

// MonthSummary is the body of GET /v1/billing/months/{month}: the
// evaluation summary of every enrolled patient for the month (the stored
// rows, and Unevaluated for patients without one) and the totals.
type MonthSummary struct {
	Month    string           `json:"month"`
	Patients []PatientSummary `json:"patients"`
	Totals   MonthTotals      `json:"totals"`
}

// PatientSummary is one patient-month in a MonthSummary.
type PatientSummary struct {
	PatientID      string             `json:"patientId"`
	Status         rules.Status       `json:"status"`
	Program        rules.Program      `json:"program"`
	Pathway        rules.Pathway      `json:"pathway"`
	CountedMinutes int                `json:"countedMinutes"`
	Lines          []LineSummary      `json:"lines"`
	Reasons        []rules.ReasonCode `json:"reasons"`
	Flags          []rules.ReasonCode `json:"flags"`
	// BatchID names the claim batch of a billed month.
	BatchID      string `json:"batchId,omitempty"`
	AsOfSequence uint64 `json:"asOfSequence"`
}

// LineSummary is a claim line's code and units.
type LineSummary struct {
	Code  string `json:"code"`
	Units int    `json:"units"`
}

// MonthTotals sums the listed patient-months.
type MonthTotals struct {
	Patients int `json:"patients"`
	// ByStatus counts patients per status (every status present).
	ByStatus map[rules.Status]int `json:"byStatus"`
	// ByReason counts patients per reason code (only codes that occur).
	ByReason map[rules.ReasonCode]int `json:"byReason"`
	Billable int                      `json:"billable"`
	Holds    int                      `json:"holds"`
	// Minutes sums the counted minutes.
	Minutes int `json:"minutes"`
	// MinutesHistogram counts patients per counted-minutes bucket: 0, 1-9,
	// 10-19, 20-39, 40-59, 60+ (every bucket present).
	MinutesHistogram map[string]int `json:"minutesHistogram"`
	// ExpectedRevenueCents prices the lines of billable and billed months
	// (billed: the lines as billed) with the fee schedule of the service
	// year (rules/fees: approximate national non-facility amounts; codes
	// without a known amount count 0).
	ExpectedRevenueCents int64 `json:"expectedRevenueCents"`
	// HeldRevenueCents prices the lines of months on hold: revenue waiting
	// on documentation. An extension of the contract.
	HeldRevenueCents int64 `json:"heldRevenueCents"`
}

// Histogram buckets of MonthTotals.MinutesHistogram.
var histogram = []struct {
	name   string
	lo, hi int
}{{"0", 0, 0}, {"1-9", 1, 9}, {"10-19", 10, 19}, {"20-39", 20, 39}, {"40-59", 40, 59}, {"60+", 60, 1 << 62}}

// SummaryFilter selects patient-months: Status and Reason are ignored when
// empty; Reason matches a reason or a flag code.
type SummaryFilter struct {
	Status rules.Status
	Reason rules.ReasonCode
}

// Summarize builds the month summary of rows (one month's rows, in the
// order given), keeping those that pass the filter; the totals are those of
// the patients listed.
func Summarize(month string, rows []readmodel.PatientMonth, filter SummaryFilter) MonthSummary {
	out := MonthSummary{Month: month, Patients: []PatientSummary{}, Totals: MonthTotals{
		ByStatus:         map[rules.Status]int{rules.StatusBillable: 0, rules.StatusHold: 0, rules.StatusNotBillable: 0, rules.StatusBilled: 0},
		ByReason:         map[rules.ReasonCode]int{},
		MinutesHistogram: map[string]int{},
	}}
	for _, h := range histogram {
		out.Totals.MinutesHistogram[h.name] = 0
	}
	year := 0
	if m, err := rules.ParseMonth(month); err == nil {
		year = m.Year
	}
	for _, r := range rows {
		ev := r.Evaluation
		ps := PatientSummary{
			PatientID: r.PatientID, Status: ev.Status, Program: ev.Program, Pathway: ev.Pathway,
			CountedMinutes: ev.CountedMinutes, Lines: make([]LineSummary, 0, len(ev.Lines)),
			Reasons: make([]rules.ReasonCode, 0, len(ev.Reasons)), Flags: make([]rules.ReasonCode, 0, len(ev.Flags)),
			BatchID: r.BatchID, AsOfSequence: r.AsOfSequence,
		}
		for _, l := range ev.Lines {
			ps.Lines = append(ps.Lines, LineSummary{l.Code, l.Units})
		}
		for _, x := range ev.Reasons {
			if !slices.Contains(ps.Reasons, x.Code) {
				ps.Reasons = append(ps.Reasons, x.Code)
			}
		}
		for _, x := range ev.Flags {
			if !slices.Contains(ps.Flags, x.Code) {
				ps.Flags = append(ps.Flags, x.Code)
			}
		}
		if filter.Status != "" && ps.Status != filter.Status {
			continue
		}
		if filter.Reason != "" && !slices.Contains(ps.Reasons, filter.Reason) && !slices.Contains(ps.Flags, filter.Reason) {
			continue
		}
		out.Patients = append(out.Patients, ps)

		t := &out.Totals
		t.Patients++
		t.ByStatus[ps.Status]++
		for _, c := range ps.Reasons {
			t.ByReason[c]++
		}
		t.Minutes += ps.CountedMinutes
		for _, h := range histogram {
			if ps.CountedMinutes >= h.lo && ps.CountedMinutes <= h.hi {
				t.MinutesHistogram[h.name]++
			}
		}
		lines := ev.Lines
		switch ps.Status {
		case rules.StatusBillable:
			t.Billable++
			t.ExpectedRevenueCents += revenue(year, lines)
		case rules.StatusBilled:
			if r.BilledEvaluation != nil {
				lines = r.BilledEvaluation.Lines
			}
			t.ExpectedRevenueCents += revenue(year, lines)
		case rules.StatusHold:
			t.Holds++
			t.HeldRevenueCents += revenue(year, lines)
		}
	}
	return out
}

func revenue(year int, lines []rules.Line) int64 {
	var c int64
	for _, l := range lines {
		c += fees.Cents(year, l.Code, l.Units)
	}
	return c
}

// Funnel is the body of GET /v1/billing/funnel: how far the patients
// enrolled in a period got (seeds: "High Dropout Rates").
type Funnel struct {
	// From and To echo the enrolment period (dates, inclusive), when given.
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	// Enrolled patients (enrolment recorded in the period).
	Enrolled int `json:"enrolled"`
	// Qualifying: at least 2 qualifying chronic conditions (CCM, §1.1).
	Qualifying int `json:"qualifying"`
	// ConsentGranted, ConsentDeclined, ConsentRevoked count patients who
	// ever granted, declined, had a consent revoked.
	ConsentGranted  int `json:"consentGranted"`
	ConsentDeclined int `json:"consentDeclined"`
	ConsentRevoked  int `json:"consentRevoked"`
	// CarePlanEstablished and CopyProvided: at least one plan, one copy.
	CarePlanEstablished int `json:"carePlanEstablished"`
	CopyProvided        int `json:"copyProvided"`
	// BilledAtLeastOnce: a month of the patient is in a claim batch.
	BilledAtLeastOnce int `json:"billedAtLeastOnce"`
	// Dropout is the patients whose consent was revoked; DropoutRate is
	// Dropout / ConsentGranted (0 when none granted).
	Dropout     int     `json:"dropout"`
	DropoutRate float64 `json:"dropoutRate"`
}

// FunnelOf counts the funnel rows whose enrolment was recorded within
// [from, to) (zero bounds are open).
func FunnelOf(rows []readmodel.Patient, from, to time.Time) Funnel {
	var f Funnel
	for _, r := range rows {
		if (!from.IsZero() && r.EnrolledAt.Before(from)) || (!to.IsZero() && !r.EnrolledAt.Before(to)) {
			continue
		}
		f.Enrolled++
		if r.QualifyingConditions >= 2 {
			f.Qualifying++
		}
		if r.ConsentedAt != nil {
			f.ConsentGranted++
		}
		if r.DeclinedAt != nil {
			f.ConsentDeclined++
		}
		if r.RevokedAt != nil {
			f.ConsentRevoked++
		}
		if r.CarePlanAt != nil {
			f.CarePlanEstablished++
		}
		if r.CopyProvidedAt != nil {
			f.CopyProvided++
		}
		if r.FirstBilledMonth != "" {
			f.BilledAtLeastOnce++
		}
	}
	f.Dropout = f.ConsentRevoked
	if f.ConsentGranted > 0 {
		f.DropoutRate = float64(f.Dropout) / float64(f.ConsentGranted)
	}
	return f
}
