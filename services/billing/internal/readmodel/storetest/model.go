package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/carelog/carelog/services/billing/internal/readmodel"
)

// model is the suite's oracle: the read models as the contract defines them,
// kept in maps, to compute what every query must answer. It is not a store
// (no concurrency, no copies) and is used only to state expectations.
type model struct {
	checkpoint    uint64
	patientMonths map[readmodel.PatientMonthKey]readmodel.PatientMonth
	totals        map[totalKey]readmodel.MinuteTotal
	batches       map[string]readmodel.Batch
	patients      map[string]readmodel.Patient
}

type totalKey struct{ patientID, month, program, role string }

func newModel() *model {
	return &model{
		patientMonths: map[readmodel.PatientMonthKey]readmodel.PatientMonth{},
		totals:        map[totalKey]readmodel.MinuteTotal{},
		batches:       map[string]readmodel.Batch{},
		patients:      map[string]readmodel.Patient{},
	}
}

// apply is Commit as the port documents it: ignored unless through is above
// the checkpoint; TotalsReplaced before Totals; a later row of a key wins.
func (m *model) apply(c readmodel.Changes, through uint64) {
	if through <= m.checkpoint {
		return
	}
	m.checkpoint = through
	for _, k := range c.TotalsReplaced {
		for tk := range m.totals {
			if tk.patientID == k.PatientID && tk.month == k.Month {
				delete(m.totals, tk)
			}
		}
	}
	for _, pm := range c.PatientMonths {
		m.patientMonths[readmodel.PatientMonthKey{PatientID: pm.PatientID, Month: pm.Month}] = pm
	}
	for _, t := range c.Totals {
		m.totals[totalKey{t.PatientID, t.Month, t.Program, t.Role}] = t
	}
	for _, b := range c.Batches {
		m.batches[b.ID] = b
	}
	for _, p := range c.Patients {
		m.patients[p.PatientID] = p
	}
}

func (m *model) month(month string) []readmodel.PatientMonth {
	out := []readmodel.PatientMonth{}
	for _, pm := range m.patientMonths {
		if pm.Month == month {
			out = append(out, pm)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].PatientID < out[j].PatientID })
	return out
}

func (m *model) monthTotals(month string) []readmodel.MinuteTotal {
	out := []readmodel.MinuteTotal{}
	for _, t := range m.totals {
		if t.Month == month {
			out = append(out, t)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.PatientID != b.PatientID {
			return a.PatientID < b.PatientID
		}
		if a.Program != b.Program {
			return a.Program < b.Program
		}
		return a.Role < b.Role
	})
	return out
}

func (m *model) monthBatches(month string) []readmodel.Batch {
	out := []readmodel.Batch{}
	for _, b := range m.batches {
		if b.Month == month {
			out = append(out, b)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].LogSequence != out[j].LogSequence {
			return out[i].LogSequence < out[j].LogSequence
		}
		return out[i].ID < out[j].ID
	})
	return out
}

func (m *model) allPatients() []readmodel.Patient {
	out := []readmodel.Patient{}
	for _, p := range m.patients {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].PatientID < out[j].PatientID })
	return out
}

// months lists every month the model has a row of, sorted.
func (m *model) months() []string {
	set := map[string]bool{}
	for k := range m.patientMonths {
		set[k.Month] = true
	}
	for k := range m.totals {
		set[k.month] = true
	}
	for _, b := range m.batches {
		set[b.Month] = true
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// checkAgainst checks that every query of s answers what m says, and
// returns on the first difference.
func (m *model) checkAgainst(t *testing.T, s readmodel.Store) {
	t.Helper()
	ctx := context.Background()
	cp, err := s.Checkpoint(ctx)
	if err != nil {
		t.Fatalf("Checkpoint: %v", err)
	}
	if cp != m.checkpoint {
		t.Fatalf("Checkpoint = %d, want %d", cp, m.checkpoint)
	}
	for _, month := range append(m.months(), "1999-12") {
		pms, err := s.Month(ctx, month)
		if err != nil {
			t.Fatalf("Month(%s): %v", month, err)
		}
		if !same(t, fmt.Sprintf("Month(%s)", month), pms, m.month(month)) {
			return
		}
		ts, err := s.Totals(ctx, month)
		if err != nil {
			t.Fatalf("Totals(%s): %v", month, err)
		}
		if !same(t, fmt.Sprintf("Totals(%s)", month), ts, m.monthTotals(month)) {
			return
		}
		bs, err := s.Batches(ctx, month)
		if err != nil {
			t.Fatalf("Batches(%s): %v", month, err)
		}
		if !same(t, fmt.Sprintf("Batches(%s)", month), bs, m.monthBatches(month)) {
			return
		}
	}
	ps, err := s.Patients(ctx)
	if err != nil {
		t.Fatalf("Patients: %v", err)
	}
	if !same(t, "Patients", ps, m.allPatients()) {
		return
	}
	for k, want := range m.patientMonths {
		got, ok, err := s.PatientMonth(ctx, k.PatientID, k.Month)
		if err != nil || !ok {
			t.Fatalf("PatientMonth(%s, %s) = ok %v, err %v; want the row", k.PatientID, k.Month, ok, err)
		}
		if !same(t, fmt.Sprintf("PatientMonth(%s, %s)", k.PatientID, k.Month), got, want) {
			return
		}
	}
	for id, want := range m.batches {
		got, ok, err := s.Batch(ctx, id)
		if err != nil || !ok {
			t.Fatalf("Batch(%s) = ok %v, err %v; want the row", id, ok, err)
		}
		if !same(t, fmt.Sprintf("Batch(%s)", id), got, want) {
			return
		}
	}
}

// same reports whether got deep-equals want (nil and empty slices differ)
// and otherwise fails t with the first differing line of their JSON.
func same(t *testing.T, what string, got, want any) bool {
	t.Helper()
	if reflect.DeepEqual(got, want) {
		return true
	}
	g, _ := json.MarshalIndent(got, "", " ")
	w, _ := json.MarshalIndent(want, "", " ")
	gl, wl := strings.Split(string(g), "\n"), strings.Split(string(w), "\n")
	for i := 0; i < max(len(gl), len(wl)); i++ {
		var a, b string
		if i < len(gl) {
			a = gl[i]
		}
		if i < len(wl) {
			b = wl[i]
		}
		if a != b {
			lo := max(0, i-6)
			t.Errorf("%s differs at JSON line %d:\ngot  %s\nwant %s\ncontext (want):\n%s", what, i+1, strings.TrimSpace(a), strings.TrimSpace(b), strings.Join(wl[lo:min(len(wl), i+1)], "\n"))
			return false
		}
	}
	t.Errorf("%s: got %#v, want %#v (same JSON, different Go values: nil versus empty, or time zones)", what, got, want)
	return false
}

// Dump returns every query answer of s for months as one JSON document:
// the checkpoint, each month's Month, Totals and Batches, every row of those
// by key (PatientMonth, Batch), and Patients. Two stores that hold the same
// read models give byte-identical dumps.
func Dump(ctx context.Context, s readmodel.Store, months []string) ([]byte, error) {
	type monthDump struct {
		Month         string                   `json:"month"`
		PatientMonths []readmodel.PatientMonth `json:"patientMonths"`
		ByKey         []readmodel.PatientMonth `json:"byKey"`
		Totals        []readmodel.MinuteTotal  `json:"totals"`
		Batches       []readmodel.Batch        `json:"batches"`
		BatchesByID   []readmodel.Batch        `json:"batchesById"`
		AbsentPatient bool                     `json:"absentPatientFound"`
		AbsentBatch   bool                     `json:"absentBatchFound"`
	}
	var d struct {
		Checkpoint uint64              `json:"checkpoint"`
		Months     []monthDump         `json:"months"`
		Patients   []readmodel.Patient `json:"patients"`
	}
	var err error
	if d.Checkpoint, err = s.Checkpoint(ctx); err != nil {
		return nil, err
	}
	for _, month := range months {
		md := monthDump{Month: month}
		if md.PatientMonths, err = s.Month(ctx, month); err != nil {
			return nil, err
		}
		md.ByKey = []readmodel.PatientMonth{}
		for _, pm := range md.PatientMonths {
			got, ok, err := s.PatientMonth(ctx, pm.PatientID, month)
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, fmt.Errorf("PatientMonth(%s, %s) absent but listed by Month", pm.PatientID, month)
			}
			md.ByKey = append(md.ByKey, got)
		}
		if md.Totals, err = s.Totals(ctx, month); err != nil {
			return nil, err
		}
		if md.Batches, err = s.Batches(ctx, month); err != nil {
			return nil, err
		}
		md.BatchesByID = []readmodel.Batch{}
		for _, b := range md.Batches {
			got, ok, err := s.Batch(ctx, b.ID)
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, fmt.Errorf("Batch(%s) absent but listed by Batches", b.ID)
			}
			md.BatchesByID = append(md.BatchesByID, got)
		}
		if _, md.AbsentPatient, err = s.PatientMonth(ctx, "no-such-patient", month); err != nil {
			return nil, err
		}
		if _, md.AbsentBatch, err = s.Batch(ctx, "no-such-batch-"+month); err != nil {
			return nil, err
		}
		d.Months = append(d.Months, md)
	}
	if d.Patients, err = s.Patients(ctx); err != nil {
		return nil, err
	}
	return json.MarshalIndent(d, "", " ")
}
