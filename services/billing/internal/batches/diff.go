package batches

import (
	"fmt"
	"slices"
	"strings"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/services/billing/rules"
)

// Difference is the first place where a recorded batch and its recomputation
// disagree, in the canonical order (month, log sequence, lines in canonical
// order field by field, totals). Recorded and Recomputed are the two values
// as text; Line is the 0-based index of the line in canonical order, -1 when
// the difference is not in a line.
type Difference struct {
	Field      string `json:"field"`
	Line       int    `json:"line"`
	PatientID  string `json:"patientId,omitempty"`
	Recorded   string `json:"recorded"`
	Recomputed string `json:"recomputed"`
}

func (d Difference) String() string {
	where := d.Field
	if d.Line >= 0 {
		where = fmt.Sprintf("lines[%d].%s (patient %s)", d.Line, d.Field, d.PatientID)
	}
	return fmt.Sprintf("%s: recorded %s, recomputed %s", where, d.Recorded, d.Recomputed)
}

// FirstDifference compares two batch contents the way their canonical
// serializations compare and returns the first difference, or nil when the
// two serialize identically (and so have the same Hash).
func FirstDifference(recorded, recomputed Content) *Difference {
	top := func(field, a, b string) *Difference {
		if a == b {
			return nil
		}
		return &Difference{Field: field, Line: -1, Recorded: a, Recomputed: b}
	}
	if d := top("month", recorded.Month, recomputed.Month); d != nil {
		return d
	}
	if d := top("logSequence", fmt.Sprint(recorded.LogSequence), fmt.Sprint(recomputed.LogSequence)); d != nil {
		return d
	}
	m, _ := rules.ParseMonth(recorded.Month)
	a, b := slices.Clone(recorded.Lines), slices.Clone(recomputed.Lines)
	sortLines(m, a)
	sortLines(m, b)
	for i := range max(len(a), len(b)) {
		switch {
		case i >= len(a):
			return &Difference{Field: "line", Line: i, PatientID: b[i].PatientID, Recorded: "(none)", Recomputed: lineText(b[i])}
		case i >= len(b):
			return &Difference{Field: "line", Line: i, PatientID: a[i].PatientID, Recorded: lineText(a[i]), Recomputed: "(none)"}
		}
		x, y := a[i], b[i]
		for _, f := range []struct{ name, x, y string }{
			{"patientId", x.PatientID, y.PatientID},
			{"code", x.Code, y.Code},
			{"units", fmt.Sprint(x.Units), fmt.Sprint(y.Units)},
			{"dateOfService", x.DateOfService, y.DateOfService},
			{"practitionerNpi", x.PractitionerNPI, y.PractitionerNPI},
			{"diagnoses", strings.Join(x.Diagnoses, ","), strings.Join(y.Diagnoses, ",")},
			{"evidence", strings.Join(x.Evidence, ","), strings.Join(y.Evidence, ",")},
		} {
			if f.x != f.y {
				return &Difference{Field: f.name, Line: i, PatientID: x.PatientID, Recorded: f.x, Recomputed: f.y}
			}
		}
	}
	if d := top("totals", totalsText(recorded.Totals), totalsText(recomputed.Totals)); d != nil {
		return d
	}
	return nil
}

func lineText(l events.ClaimLine) string {
	return fmt.Sprintf("%s %s x%d on %s by %s", l.PatientID, l.Code, l.Units, l.DateOfService, l.PractitionerNPI)
}

func totalsText(t events.ClaimBatchTotals) string {
	codes := make([]string, 0, len(t.UnitsByCode))
	for k := range t.UnitsByCode {
		codes = append(codes, k)
	}
	slices.Sort(codes)
	var by []string
	for _, k := range codes {
		by = append(by, fmt.Sprintf("%s=%d", k, t.UnitsByCode[k]))
	}
	return fmt.Sprintf("lines=%d patients=%d units=%d {%s}", t.Lines, t.Patients, t.Units, strings.Join(by, " "))
}
