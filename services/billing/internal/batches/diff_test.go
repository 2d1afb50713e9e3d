package batches_test

import (
	"testing"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/services/billing/internal/batches"
)

func TestFirstDifference(t *testing.T) {
	line := func(p, code string, units int) events.ClaimLine {
		return events.ClaimLine{PatientID: p, Code: code, Units: units, DateOfService: "2025-03-31", PractitionerNPI: "1234567893", Diagnoses: []string{"I50.22"}, Evidence: []string{"ev-1"}}
	}
	base := func() batches.Content {
		ls := []events.ClaimLine{line("p-1", "99490", 1), line("p-2", "99490", 1), line("p-2", "99439", 1)}
		return batches.Content{Month: "2025-03", LogSequence: 40, Lines: ls, Totals: batches.TotalsOf(ls)}
	}
	for _, c := range []struct {
		name   string
		change func(*batches.Content)
		field  string
		line   int
	}{
		{"identical", func(*batches.Content) {}, "", 0},
		{"order does not matter", func(c *batches.Content) { c.Lines[0], c.Lines[1] = c.Lines[1], c.Lines[0] }, "", 0},
		{"log sequence", func(c *batches.Content) { c.LogSequence = 41 }, "logSequence", -1},
		{"units of a line", func(c *batches.Content) { c.Lines[2].Units = 2 }, "units", 2},
		{"evidence", func(c *batches.Content) { c.Lines[0].Evidence = []string{"ev-2"} }, "evidence", 0},
		{"missing line", func(c *batches.Content) { c.Lines = c.Lines[:2] }, "line", 2},
		{"totals only", func(c *batches.Content) { c.Totals.Units = 9 }, "totals", -1},
	} {
		t.Run(c.name, func(t *testing.T) {
			recomputed := base()
			c.change(&recomputed)
			d := batches.FirstDifference(base(), recomputed)
			if c.field == "" {
				if d != nil || batches.Hash(base()) != batches.Hash(recomputed) {
					t.Fatalf("got difference %v, want none (and equal hashes)", d)
				}
				return
			}
			if d == nil || d.Field != c.field || d.Line != c.line {
				t.Fatalf("got %+v, want field %s line %d", d, c.field, c.line)
			}
			if batches.Hash(base()) == batches.Hash(recomputed) {
				t.Errorf("a difference with equal hashes")
			}
		})
	}
}
