// Package memory is the in-memory readmodel.Store: maps behind one RWMutex,
// the embedded default, rebuilt from the log at every start (its checkpoint
// starts at 0). It keeps the readmodel contracts: Commit applies a batch of
// changes and its checkpoint together (under the write lock, so a reader
// sees all of a commit or none of it) and ignores a commit whose through is
// not above the checkpoint; rows are upserts replaced whole; instants are
// kept in UTC (as PostgreSQL returns them); reads return deep copies in the
// documented order and never nil slices.
package memory

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/carelog/carelog/services/billing/internal/readmodel"
	"github.com/carelog/carelog/services/billing/rules"
)

// Store is the in-memory store. Safe for concurrent use; the zero value is
// not usable, call New.
type Store struct {
	mu         sync.RWMutex
	checkpoint uint64
	// months: month → patient → row. A row points into the PatientMonths
	// of the Commit that wrote it (Commit owns them: no copy of a rebuild's
	// every evaluation); a commit's array lives while one of its rows is
	// current.
	months map[string]map[string]*readmodel.PatientMonth
	// totals: month → patient → rows of that patient-month.
	totals   map[string]map[string][]readmodel.MinuteTotal
	batches  map[string]readmodel.Batch
	patients map[string]readmodel.Patient
}

var _ readmodel.Store = (*Store)(nil)

// New returns an empty store.
func New() *Store {
	s := &Store{}
	s.reset()
	return s
}

func (s *Store) reset() {
	s.checkpoint = 0
	s.months = map[string]map[string]*readmodel.PatientMonth{}
	s.totals = map[string]map[string][]readmodel.MinuteTotal{}
	s.batches = map[string]readmodel.Batch{}
	s.patients = map[string]readmodel.Patient{}
}

// Checkpoint implements readmodel.Store.
func (s *Store) Checkpoint(context.Context) (uint64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.checkpoint, nil
}

// Commit implements readmodel.Store. It keeps the rows of c as given (c is
// the store's now), normalized; readers get copies.
func (s *Store) Commit(_ context.Context, c readmodel.Changes, through uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if through <= s.checkpoint {
		return nil
	}
	// A month met for the first time gets a map sized for its rows (a
	// rebuild commits every row at once: no rehashing as the maps grow).
	perMonth := map[string]int{}
	for i := range c.PatientMonths {
		perMonth[c.PatientMonths[i].Month]++
	}
	for month, n := range perMonth {
		if s.months[month] == nil {
			s.months[month] = make(map[string]*readmodel.PatientMonth, n)
		}
		if s.totals[month] == nil {
			s.totals[month] = make(map[string][]readmodel.MinuteTotal, n)
		}
	}
	if len(s.patients) == 0 {
		s.patients = make(map[string]readmodel.Patient, len(c.Patients))
	}
	// The rows go into their maps on a goroutine of their own while this
	// one writes the other maps: a rebuild commits every row at once, and
	// the maps share nothing.
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range c.PatientMonths {
			pm := &c.PatientMonths[i]
			*pm = ownPatientMonth(*pm)
			s.months[pm.Month][pm.PatientID] = pm
		}
	})
	defer wg.Wait()
	for _, k := range c.TotalsReplaced {
		if m := s.totals[k.Month]; m != nil {
			delete(m, k.PatientID)
		}
	}
	// Totals of one patient-month come in runs (the projection writes
	// them so): one map write per run, and a run replacing all of a
	// patient-month's rows is kept as it is, in c.Totals.
	for i := 0; i < len(c.Totals); {
		t := c.Totals[i]
		j := i + 1
		for j < len(c.Totals) && c.Totals[j].PatientID == t.PatientID && c.Totals[j].Month == t.Month {
			j++
		}
		run := c.Totals[i:j:j]
		i = j
		m := s.totals[t.Month]
		if m == nil {
			m = map[string][]readmodel.MinuteTotal{}
			s.totals[t.Month] = m
		}
		rows := m[t.PatientID]
		if len(rows) == 0 && distinctProgramRole(run) {
			m[t.PatientID] = run
			continue
		}
		for _, t := range run {
			if k := slices.IndexFunc(rows, func(r readmodel.MinuteTotal) bool { return r.Program == t.Program && r.Role == t.Role }); k >= 0 {
				rows[k] = t
			} else {
				rows = append(rows, t)
			}
		}
		m[t.PatientID] = rows
	}
	for _, b := range c.Batches {
		b = copyBatch(b)
		b.ClosedAt = b.ClosedAt.UTC()
		s.batches[b.ID] = b
	}
	for _, p := range c.Patients {
		p = copyPatient(p)
		p.EnrolledAt = p.EnrolledAt.UTC()
		for _, t := range []*time.Time{p.ConsentedAt, p.DeclinedAt, p.RevokedAt, p.CarePlanAt, p.CopyProvidedAt} {
			if t != nil {
				*t = t.UTC()
			}
		}
		s.patients[p.PatientID] = p
	}
	s.checkpoint = through
	return nil
}

// PatientMonth implements readmodel.Store.
func (s *Store) PatientMonth(_ context.Context, patientID, month string) (readmodel.PatientMonth, bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	pm, ok := s.months[month][patientID]
	if !ok {
		return readmodel.PatientMonth{}, false, nil
	}
	return copyPatientMonth(*pm), true, nil
}

// Month implements readmodel.Store: ordered by PatientID.
func (s *Store) Month(_ context.Context, month string) ([]readmodel.PatientMonth, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]readmodel.PatientMonth, 0, len(s.months[month]))
	for _, pm := range s.months[month] {
		out = append(out, copyPatientMonth(*pm))
	}
	slices.SortFunc(out, func(a, b readmodel.PatientMonth) int { return cmp.Compare(a.PatientID, b.PatientID) })
	return out, nil
}

// Totals implements readmodel.Store: ordered by PatientID, Program, Role.
func (s *Store) Totals(_ context.Context, month string) ([]readmodel.MinuteTotal, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []readmodel.MinuteTotal{}
	for _, rows := range s.totals[month] {
		out = append(out, rows...)
	}
	slices.SortFunc(out, func(a, b readmodel.MinuteTotal) int {
		return cmp.Or(cmp.Compare(a.PatientID, b.PatientID), cmp.Compare(a.Program, b.Program), cmp.Compare(a.Role, b.Role))
	})
	return out, nil
}

// Batch implements readmodel.Store.
func (s *Store) Batch(_ context.Context, id string) (readmodel.Batch, bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	b, ok := s.batches[id]
	if !ok {
		return readmodel.Batch{}, false, nil
	}
	return copyBatch(b), true, nil
}

// Batches implements readmodel.Store: ordered by LogSequence (then ID).
func (s *Store) Batches(_ context.Context, month string) ([]readmodel.Batch, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []readmodel.Batch{}
	for _, b := range s.batches {
		if b.Month == month {
			out = append(out, copyBatch(b))
		}
	}
	slices.SortFunc(out, func(a, b readmodel.Batch) int {
		return cmp.Or(cmp.Compare(a.LogSequence, b.LogSequence), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// Patients implements readmodel.Store: ordered by PatientID.
func (s *Store) Patients(context.Context) ([]readmodel.Patient, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]readmodel.Patient, 0, len(s.patients))
	for _, p := range s.patients {
		out = append(out, copyPatient(p))
	}
	slices.SortFunc(out, func(a, b readmodel.Patient) int { return cmp.Compare(a.PatientID, b.PatientID) })
	return out, nil
}

// Reset implements readmodel.Store.
func (s *Store) Reset(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reset()
	return nil
}

// Durable implements readmodel.Store: the rows live in this process only.
func (s *Store) Durable() bool { return false }

// Close implements readmodel.Store. It holds nothing to release; the data
// stays readable.
func (s *Store) Close() error { return nil }

// ---- deep copies -------------------------------------------------------------

func copyPatientMonth(pm readmodel.PatientMonth) readmodel.PatientMonth {
	return storedPatientMonth(pm, copyEvaluation)
}

// distinctProgramRole reports whether no two rows share Program and Role.
func distinctProgramRole(rows []readmodel.MinuteTotal) bool {
	for i := range rows {
		for j := range i {
			if rows[i].Program == rows[j].Program && rows[i].Role == rows[j].Role {
				return false
			}
		}
	}
	return true
}

// ownPatientMonth is pm, whose slices Commit now owns (readmodel.Store),
// with nil slices made empty as copyPatientMonth makes them: no copy of a
// rebuild's every evaluation. The billed evaluation, rare, is still
// copied: the projection shares its slices with the month's state.
func ownPatientMonth(pm readmodel.PatientMonth) readmodel.PatientMonth {
	return storedPatientMonth(pm, ownEvaluation)
}

// storedPatientMonth is pm with its evaluation passed through evaluation
// and its billed evaluation, if any, copied.
func storedPatientMonth(pm readmodel.PatientMonth, evaluation func(rules.Evaluation) rules.Evaluation) readmodel.PatientMonth {
	pm.Evaluation = evaluation(pm.Evaluation)
	if pm.BilledEvaluation != nil {
		b := copyEvaluation(*pm.BilledEvaluation)
		pm.BilledEvaluation = &b
	}
	return pm
}

func ownEvaluation(ev rules.Evaluation) rules.Evaluation {
	ev.Lines, ev.Reasons, ev.Flags, ev.Excluded = nonNil(ev.Lines), nonNil(ev.Reasons), nonNil(ev.Flags), nonNil(ev.Excluded)
	for i := range ev.Lines {
		ev.Lines[i].Diagnoses, ev.Lines[i].Evidence = nonNil(ev.Lines[i].Diagnoses), nonNil(ev.Lines[i].Evidence)
	}
	return ev
}

func copyEvaluation(ev rules.Evaluation) rules.Evaluation {
	ev.Lines = copyLines(ev.Lines)
	ev.Reasons = slices.Clone(nonNil(ev.Reasons))
	for i := range ev.Reasons {
		ev.Reasons[i].Minutes = clonePtr(ev.Reasons[i].Minutes)
		ev.Reasons[i].Needed = clonePtr(ev.Reasons[i].Needed)
	}
	ev.Flags = slices.Clone(nonNil(ev.Flags))
	ev.Excluded = slices.Clone(nonNil(ev.Excluded))
	return ev
}

func copyLines(ls []rules.Line) []rules.Line {
	out := slices.Clone(nonNil(ls))
	for i := range out {
		out[i].Diagnoses = slices.Clone(nonNil(out[i].Diagnoses))
		out[i].Evidence = slices.Clone(nonNil(out[i].Evidence))
	}
	return out
}

func copyBatch(b readmodel.Batch) readmodel.Batch {
	b.Lines = slices.Clone(nonNil(b.Lines))
	for i := range b.Lines {
		b.Lines[i].Diagnoses = slices.Clone(nonNil(b.Lines[i].Diagnoses))
		b.Lines[i].Evidence = slices.Clone(nonNil(b.Lines[i].Evidence))
	}
	units := make(map[string]int, len(b.Totals.Units))
	for k, v := range b.Totals.Units {
		units[k] = v
	}
	b.Totals.Units = units
	return b
}

func copyPatient(p readmodel.Patient) readmodel.Patient {
	p.ConsentedAt = clonePtr(p.ConsentedAt)
	p.DeclinedAt = clonePtr(p.DeclinedAt)
	p.RevokedAt = clonePtr(p.RevokedAt)
	p.CarePlanAt = clonePtr(p.CarePlanAt)
	p.CopyProvidedAt = clonePtr(p.CopyProvidedAt)
	return p
}

func clonePtr[T int | time.Time](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
