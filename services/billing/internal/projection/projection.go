// Package projection is the billing projection (pkg/projection.Projection
// and Flusher): it folds every event of the log into the practice and the
// patients' billing facts (internal/facts), evaluates the patient-months
// those events change with the rules engine, and commits the evaluations,
// minute totals, claim batches and funnel rows to a readmodel.Store.
//
// Buffering. Apply queues the record for the fold goroutine (pipeline.go),
// which only folds and marks what changed: a time entry marks the
// months its versions touch, an external claim its service month, every
// other patient event every month of the patient, a practice event every
// patient. Flush evaluates each marked patient-month once, in parallel, and
// commits the rows with the checkpoint in one Store.Commit. The Runner
// flushes whenever it reaches the end of the log (and at the latest
// projection.MaxFlushDelay after new events once live); into a durable store
// the projection also flushes by itself every Config.FlushEvery events, which
// bounds the size of one commit during a rebuild without evaluating a busy
// month over and over.
//
// Which months. A patient is evaluated for every month of
// facts.Patient.MonthRange (first to last month of activity, gaps filled);
// months outside it have no row and are evaluated on demand, from the same
// fold (Evaluate for one patient, Unevaluated for a month's summary).
// AsOfSequence of a row is the sequence of the last event that changed it:
// the latest of the patient's last event affecting every month, the last
// event touching that month, the last practice event and the claim batch
// that billed it. It does not depend on when flushes happened, so a rebuilt
// store holds the same rows.
//
// Claim batches. claim_batch.closed writes the readmodel.Batch and marks
// each billed patient-month: BatchID, and BilledEvaluation — the month
// evaluated with the facts the log held at the batch's logSequence (what the
// batch was computed from), status billed. The month's Evaluation keeps
// being recomputed with Billed set, so it stays billed and gains the flag
// post_close_change when later facts give other lines than the billed ones.
//
// Exactly once with a durable store. Checkpoint reads the store's
// checkpoint; the Runner resumes after it and each Commit carries its
// checkpoint, so every event takes effect once. The in-memory fold is not
// durable, so after a restart on a non-empty store the projection rebuilds
// what it needs lazily: the practice stream up to the checkpoint at once
// (Checkpoint), and a patient's facts on the first event of that patient it
// meets (a cache miss for patient P at sequence S reads P's stream up to
// S-1 from the log). The billed state of that patient's months before the
// checkpoint is read back from the store's rows when they are next
// evaluated, and first billed months from the funnel rows. A practice event
// after the restart changes every patient, so it folds every patient the
// store knows (its funnel rows) before the next flush. Months are derived in
// the practice's current time zone when a patient is rebuilt.
//
// Concurrency: Apply, Flush and Checkpoint are called from one goroutine
// (the Runner's); the fold itself runs on a goroutine of its own
// (pipeline.go). Evaluate and the other readers are safe concurrently with
// them.
package projection

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/eventlog"
	pkgprojection "github.com/carelog/carelog/pkg/projection"
	"github.com/carelog/carelog/services/billing/internal/facts"
	"github.com/carelog/carelog/services/billing/internal/readmodel"
	"github.com/carelog/carelog/services/billing/rules"
	"github.com/carelog/carelog/services/billing/rules/fees"
)

// Name is the projection's name (logs, metrics, checkpoints).
const Name = "billing.evaluations"

// Config tunes the projection. The zero value takes every default.
type Config struct {
	// FlushEvery is how many applied events the projection buffers before it
	// commits on its own. The default depends on the store: 100,000 for a
	// durable one (readmodel.Store.Durable), which bounds its transactions
	// and what a crash loses; none for a volatile one, which is committed
	// only when the Runner reaches the end of the log, so a rebuild
	// evaluates each patient-month once (nothing outlives the process and
	// every reader waits for the end, Runner.CaughtUp). Larger batches
	// evaluate a busy patient-month fewer times during a rebuild; smaller
	// ones commit sooner.
	FlushEvery int
	// Workers is how many goroutines evaluate patient-months at a flush
	// (default GOMAXPROCS).
	Workers int
}

// defaultFlushEvery is Config.FlushEvery's default for a durable store (a
// variable for the tests).
var defaultFlushEvery = 100_000

// Projection is the billing projection. Build it with New.
type Projection struct {
	log   eventlog.Log
	store readmodel.Store
	cfg   Config

	// mu guards what readers share with Apply: practice, history, patients
	// and each patient's fold and month states.
	mu       sync.RWMutex
	practice facts.Practice
	history  facts.PracticeHistory
	patients map[string]*patient
	resumed  bool

	// Fold goroutine only (see pipeline.go).
	applied, flushed uint64
	pending          int
	dirty            []*patient
	allDirty         bool // a practice event: every patient, every month
	batches          []readmodel.Batch
	firstBilled      map[string]string // funnel rows read back on resume
	allRestored      bool              // every patient of the store is folded
	committing       chan error        // the commit in flight (flush)
	last             *patient          // the patient patientFor returned last

	// pipe feeds the fold goroutine (Runner goroutine side).
	pipe *pipeline
}

// patient is one patient's fold and the projection's bookkeeping.
type patient struct {
	f facts.Patient // by value: one pointer fewer to chase per event
	// allSeq is the sequence of the patient's last event that changed
	// every month.
	allSeq uint64
	// months: the state of each month met, in no order (a patient has few:
	// a slice of values costs less memory, collector work and pointer
	// chasing than a map or pointers). The *month that month and
	// monthState return is valid until the next month is added: nothing
	// keeps one.
	months []month

	queued      bool
	dirtyAll    bool
	dirtyMonths []rules.Month
	funnelDirty bool
	// evFirst..evLast is the range of months evaluated so far.
	evFirst, evLast rules.Month
	// restored: rebuilt from the log after a restart; its months' billed
	// state before the checkpoint is in the store.
	restored bool
	// written: the months whose rows were committed (or are in the
	// commit in flight or the flush under way, which sets it when it
	// lists the jobs) since the projection started, and whether the funnel
	// row was; the others are new to the store unless restored
	// (readmodel.Changes.PatientMonthsNew).
	written       []rules.Month
	funnelWritten bool
	firstBilled   string
}

// month is the projection's state of one patient-month.
type month struct {
	m       rules.Month
	seq     uint64 // the last event that touched this month specifically
	billed  *billed
	checked bool // the store was consulted for the billed state
}

type billed struct {
	batchID    string
	closedAt   time.Time
	lines      []rules.Line
	seq        uint64
	evaluation rules.Evaluation
}

var (
	_ pkgprojection.Projection = (*Projection)(nil)
	_ pkgprojection.Flusher    = (*Projection)(nil)
)

// New returns the projection over store, reading patient histories from
// log when it resumes after a restart.
func New(log eventlog.Log, store readmodel.Store, cfg Config) *Projection {
	if cfg.FlushEvery <= 0 {
		cfg.FlushEvery = defaultFlushEvery
		if !store.Durable() {
			cfg.FlushEvery = math.MaxInt
		}
	}
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	p := &Projection{log: log, store: store, cfg: cfg}
	p.reset()
	return p
}

func (p *Projection) reset() {
	p.mu.Lock()
	p.practice = facts.NewPractice()
	p.history = facts.PracticeHistory{}
	p.patients = map[string]*patient{}
	p.resumed = false
	p.mu.Unlock()
	p.applied, p.flushed, p.pending = 0, 0, 0
	p.dirty, p.allDirty, p.batches, p.firstBilled, p.allRestored = nil, false, nil, nil, false
	p.last = nil
}

// Name implements pkg/projection.Projection.
func (p *Projection) Name() string { return Name }

// Checkpoint implements pkg/projection.Projection: the store's checkpoint.
// It starts the fold afresh (and its goroutine, which lives as long as
// ctx); on a non-empty store it folds the practice stream up to the
// checkpoint and reads back the first billed months.
func (p *Projection) Checkpoint(ctx context.Context) (uint64, error) {
	p.stopPipeline()
	p.reset()
	cp, err := p.resume(ctx)
	if err != nil {
		return 0, err
	}
	p.startPipeline(ctx)
	return cp, nil
}

func (p *Projection) resume(ctx context.Context) (uint64, error) {
	cp, err := p.store.Checkpoint(ctx)
	if err != nil {
		return 0, fmt.Errorf("billing projection: checkpoint: %w", err)
	}
	p.applied, p.flushed = cp, cp
	if cp == 0 {
		return 0, nil
	}
	pr, hist := facts.NewPractice(), facts.PracticeHistory{}
	for rec, err := range p.log.ReadStream(ctx, events.PracticeStream, 1) {
		if err != nil {
			return 0, fmt.Errorf("billing projection: read the practice: %w", err)
		}
		if rec.Sequence > cp {
			break
		}
		if next, ok := pr.Apply(rec); ok {
			pr = next
			hist.Add(pr)
		}
	}
	rows, err := p.store.Patients(ctx)
	if err != nil {
		return 0, fmt.Errorf("billing projection: read the funnel: %w", err)
	}
	p.firstBilled = map[string]string{}
	for _, r := range rows {
		if r.FirstBilledMonth != "" {
			p.firstBilled[r.PatientID] = r.FirstBilledMonth
		}
	}
	p.mu.Lock()
	p.practice, p.history, p.resumed = pr, hist, true
	p.mu.Unlock()
	return cp, nil
}

// fold folds rec and marks what changed; it fails only when it cannot read
// a patient's history from the log after a restart, or when a flush it
// starts fails.
func (p *Projection) fold(ctx context.Context, rec eventlog.Record) error {
	switch {
	case rec.Stream == events.PracticeStream:
		p.mu.Lock()
		next, ok := p.practice.Apply(rec)
		if ok {
			p.practice = next
			p.history.Add(next)
		}
		p.mu.Unlock()
		p.allDirty = p.allDirty || ok
	case strings.HasPrefix(rec.Stream, "patient."):
		if err := p.applyPatient(ctx, rec.Stream[len("patient."):], rec); err != nil {
			return err
		}
	case rec.Type == events.TypeClaimBatchClosed:
		if err := p.applyBatch(ctx, rec); err != nil {
			return err
		}
	}
	p.applied = rec.Sequence
	p.pending++
	if p.pending >= p.cfg.FlushEvery {
		// In the background only with the pipeline, whose Flush and stop
		// wait for it.
		return p.flush(ctx, p.pipe == nil)
	}
	return nil
}

func (p *Projection) applyPatient(ctx context.Context, id string, rec eventlog.Record) error {
	ps, err := p.patientFor(ctx, id, rec.Sequence)
	if err != nil {
		return err
	}
	p.mu.Lock()
	ch := ps.f.Apply(rec)
	if ch.Applied {
		p.mark(ps, ch, rec.Sequence, true)
	}
	p.mu.Unlock()
	return nil
}

// patientFor returns patient id's state, creating it — and after a restart
// rebuilding it from the log's events before seq — on a cache miss.
func (p *Projection) patientFor(ctx context.Context, id string, seq uint64) (*patient, error) {
	// A patient's events often come in runs (an onboarding, a day's
	// entries): the last patient met saves most map lookups.
	if ps := p.last; ps != nil && ps.f.ID == id {
		return ps, nil
	}
	if ps := p.patients[id]; ps != nil { // only this goroutine writes the map
		p.last = ps
		return ps, nil
	}
	ps := newPatient(id)
	if p.resumed {
		if err := p.restore(ctx, ps, seq); err != nil {
			return nil, err
		}
	}
	p.mu.Lock()
	p.patients[id] = ps
	p.mu.Unlock()
	p.last = ps
	return ps, nil
}

// restore folds a patient met for the first time since a restart from the
// log's events of its stream before seq. (A function of its own: the
// variables its loop body shares with the log's iterator escape to the heap
// on entry, which patientFor pays for every event otherwise.)
func (p *Projection) restore(ctx context.Context, ps *patient, seq uint64) error {
	id := ps.f.ID
	var recs []eventlog.Record
	for rec, err := range p.log.ReadStream(ctx, events.PatientStream(id), 1) {
		if err != nil {
			return fmt.Errorf("billing projection: rebuild patient %s: %w", id, err)
		}
		if rec.Sequence >= seq {
			break
		}
		recs = append(recs, rec)
	}
	ps.restored, ps.firstBilled = true, p.firstBilled[id]
	for _, rec := range recs {
		if ch := ps.f.Apply(rec); ch.Applied {
			p.mark(ps, ch, rec.Sequence, false)
		}
	}
	ps.evFirst, ps.evLast, _ = ps.f.MonthRange(p.practice.Location)
	return nil
}

func newPatient(id string) *patient {
	return &patient{f: *facts.NewPatient(id)}
}

// month returns the state of month m, creating it.
func (ps *patient) month(m rules.Month) *month {
	if ms := ps.monthState(m); ms != nil {
		return ms
	}
	ps.months = append(ps.months, month{m: m})
	return &ps.months[len(ps.months)-1]
}

// monthState returns the state of month m, nil if never met.
func (ps *patient) monthState(m rules.Month) *month {
	for i := range ps.months {
		if ps.months[i].m == m {
			return &ps.months[i]
		}
	}
	return nil
}

// mark records what ch changed (the sequences behind AsOfSequence) and,
// when dirty, queues the months for the next flush. Called with mu held.
func (p *Projection) mark(ps *patient, ch facts.Change, seq uint64, dirty bool) {
	loc := p.practice.Location
	touch := func(m rules.Month) {
		ps.month(m).seq = seq
		if dirty && !slices.Contains(ps.dirtyMonths, m) {
			ps.dirtyMonths = append(ps.dirtyMonths, m)
		}
	}
	if ch.All {
		ps.allSeq = seq
		ps.dirtyAll = ps.dirtyAll || dirty
		ps.funnelDirty = ps.funnelDirty || dirty
	}
	for i := range ch.NSpans {
		first, last := facts.SpanMonths(ch.Spans[i], loc)
		for m := first; !last.Before(m); m = m.AddMonths(1) {
			touch(m)
		}
	}
	if !ch.Month.IsZero() {
		touch(ch.Month)
	}
	if dirty {
		p.queue(ps)
	}
}

func (p *Projection) queue(ps *patient) {
	if !ps.queued {
		ps.queued = true
		p.dirty = append(p.dirty, ps)
	}
}

func (p *Projection) applyBatch(ctx context.Context, rec eventlog.Record) error {
	var e events.ClaimBatchClosed
	v, err := events.DefaultRegistry().Decode(rec.Envelope)
	if err != nil {
		return nil // a batch billing cannot read changes nothing
	}
	if b, ok := v.(*events.ClaimBatchClosed); ok {
		e = *b
	} else {
		return nil
	}
	p.batches = append(p.batches, batchRow(e, rec))
	m, err := rules.ParseMonth(e.Month)
	if err != nil {
		return nil
	}
	byPatient := map[string][]rules.Line{}
	var order []string
	for _, l := range e.Lines {
		if _, ok := byPatient[l.PatientID]; !ok {
			order = append(order, l.PatientID)
		}
		byPatient[l.PatientID] = append(byPatient[l.PatientID], rules.Line{
			Code: l.Code, Units: l.Units, DateOfService: l.DateOfService, PractitionerNPI: l.PractitionerNPI,
			Diagnoses: slices.Clone(l.Diagnoses), Evidence: slices.Clone(l.Evidence),
		})
	}
	for _, id := range order {
		if !events.ValidID(id) {
			continue
		}
		ps, err := p.patientFor(ctx, id, rec.Sequence)
		if err != nil {
			return err
		}
		bm := &rules.BilledMonth{BatchID: e.ID, ClosedAt: e.ClosedAt, Lines: byPatient[id]}
		at := p.history.At(e.LogSequence)
		ev := rules.Evaluate(ps.f.FactsThrough(m, at, bm, e.LogSequence))
		p.mu.Lock()
		ms := ps.month(m)
		ms.billed = &billed{batchID: e.ID, closedAt: e.ClosedAt, lines: bm.Lines, seq: rec.Sequence, evaluation: ev}
		ms.checked = true
		if !slices.Contains(ps.dirtyMonths, m) {
			ps.dirtyMonths = append(ps.dirtyMonths, m)
		}
		if ps.firstBilled == "" || m.String() < ps.firstBilled {
			ps.firstBilled = m.String()
			ps.funnelDirty = true
		}
		p.queue(ps)
		p.mu.Unlock()
	}
	return nil
}

// batchRow is the readmodel.Batch of a claim_batch.closed event; its
// expected revenue comes from the fee schedule of the service year.
func batchRow(e events.ClaimBatchClosed, rec eventlog.Record) readmodel.Batch {
	b := readmodel.Batch{
		ID: e.ID, Month: e.Month, ClosedAt: e.ClosedAt, LogSequence: e.LogSequence, ContentHash: e.ContentHash,
		Lines:   make([]readmodel.BatchLine, 0, len(e.Lines)),
		Totals:  readmodel.BatchTotals{Patients: e.Totals.Patients, Lines: e.Totals.Lines, Units: map[string]int{}},
		EventID: rec.ID, Sequence: rec.Sequence,
	}
	for code, n := range e.Totals.UnitsByCode {
		b.Totals.Units[code] = n
	}
	year := 0
	if m, err := rules.ParseMonth(e.Month); err == nil {
		year = m.Year
	}
	for _, l := range e.Lines {
		b.Lines = append(b.Lines, readmodel.BatchLine{
			PatientID: l.PatientID, Code: l.Code, Units: l.Units, DateOfService: l.DateOfService, PractitionerNPI: l.PractitionerNPI,
			Diagnoses: nonNil(slices.Clone(l.Diagnoses)), Evidence: nonNil(slices.Clone(l.Evidence)),
		})
		b.Totals.ExpectedRevenueCent += fees.Cents(year, l.Code, l.Units)
	}
	return b
}

// job is one patient-month to evaluate at a flush.
type job struct {
	ps *patient
	m  rules.Month
}

// flush evaluates what changed and commits it with the checkpoint. The
// Runner's flushes (wait) return once their commit is done; the
// projection's own every FlushEvery events hand the commit to a goroutine
// and let the fold go on, so that a durable store writes one batch while
// the next is folded and evaluated. Commits stay in order: each flush
// waits for the commit before it, and returns its error, before it hands
// over its own; stopPipeline waits for the last one. (Evaluating while
// the previous commit runs reads the store only for months billed before
// a restart, which no commit since then has written.)
func (p *Projection) flush(ctx context.Context, wait bool) error {
	if p.applied <= p.flushed && len(p.dirty) == 0 && len(p.batches) == 0 {
		if wait {
			return p.waitCommit()
		}
		return nil
	}
	if p.allDirty && p.resumed && !p.allRestored {
		// A practice event changes every patient's months, also those not
		// met since the restart: fold them all from the log first.
		rows, err := p.store.Patients(ctx)
		if err != nil {
			return fmt.Errorf("billing projection: read the funnel: %w", err)
		}
		for _, r := range rows {
			if _, err := p.patientFor(ctx, r.PatientID, p.applied+1); err != nil {
				return err
			}
		}
		p.allRestored = true
	}
	if p.allDirty {
		p.mu.RLock()
		for _, ps := range p.patients {
			ps.dirtyAll = true
			p.queue(ps)
		}
		p.mu.RUnlock()
	}
	practice := p.practice
	jobs, isNew, err := p.jobs(ctx, practice.Location)
	if err != nil {
		return err
	}
	// The workers write the rows straight into the commit's slice: a rebuild
	// evaluates every patient-month, and a second copy of each row was
	// garbage.
	rows := make([]readmodel.PatientMonth, len(jobs))
	replaced := make([]readmodel.PatientMonthKey, len(jobs))
	totals := make([][]readmodel.MinuteTotal, len(jobs))
	// The funnel rows are built beside the evaluations (both only read the
	// folds): the workers keep every core busy, and this loop alone would
	// leave one idle.
	var funnel sync.WaitGroup
	var patients []readmodel.Patient
	var patientsNew []bool
	funnel.Go(func() { patients, patientsNew = p.funnelRows() })
	parallel(len(jobs), p.cfg.Workers, func(i int) {
		totals[i] = evaluate(&rows[i], jobs[i].ps, jobs[i].m, practice)
		replaced[i] = readmodel.PatientMonthKey{PatientID: rows[i].PatientID, Month: rows[i].Month}
	})
	funnel.Wait()

	ntotals := 0
	for _, t := range totals {
		ntotals += len(t)
	}
	c := readmodel.Changes{
		PatientMonths:    rows,
		PatientMonthsNew: isNew,
		TotalsReplaced:   replaced,
		Totals:           make([]readmodel.MinuteTotal, 0, ntotals),
		Batches:          p.batches,
		Patients:         patients,
		PatientsNew:      patientsNew,
	}
	for _, t := range totals {
		c.Totals = append(c.Totals, t...)
	}
	if err := p.waitCommit(); err != nil {
		return err
	}
	through := p.applied
	commit := func() error {
		if err := p.store.Commit(ctx, c, through); err != nil {
			return fmt.Errorf("billing projection: commit through %d: %w", through, err)
		}
		return nil
	}
	if wait {
		if err := commit(); err != nil {
			return err
		}
	} else {
		done := make(chan error, 1)
		p.committing = done
		go func() { done <- commit() }()
	}
	// The fold's bookkeeping moves on now; a failed commit stops the
	// Runner, and Checkpoint starts the fold afresh from the store.
	for _, ps := range p.dirty {
		ps.queued, ps.dirtyAll, ps.dirtyMonths, ps.funnelDirty = false, false, ps.dirtyMonths[:0], false
	}
	for _, j := range jobs {
		ps := j.ps
		if ps.evFirst.IsZero() || j.m.Before(ps.evFirst) {
			ps.evFirst = j.m
		}
		if ps.evLast.IsZero() || ps.evLast.Before(j.m) {
			ps.evLast = j.m
		}
	}
	p.dirty, p.batches, p.allDirty = p.dirty[:0], nil, false
	p.flushed, p.pending = p.applied, 0
	return nil
}

// funnelRows returns the funnel rows of the marked patients whose funnel
// changed, and which of them are new to the store.
func (p *Projection) funnelRows() ([]readmodel.Patient, []bool) {
	n := 0
	for _, ps := range p.dirty {
		if ps.funnelDirty && ps.f.Enrolled {
			n++
		}
	}
	rows, isNew := make([]readmodel.Patient, 0, n), make([]bool, 0, n)
	for _, ps := range p.dirty {
		if ps.funnelDirty && ps.f.Enrolled {
			row := ps.f.Funnel()
			row.FirstBilledMonth = ps.firstBilled
			rows = append(rows, row)
			isNew = append(isNew, !ps.restored && !ps.funnelWritten)
			ps.funnelWritten = true
		}
	}
	return rows, isNew
}

// waitCommit waits for the commit in flight, if any, and returns its error.
func (p *Projection) waitCommit() error {
	if p.committing == nil {
		return nil
	}
	err := <-p.committing
	p.committing = nil
	return err
}

// jobs lists the patient-months to evaluate, in patient then month order,
// and which of their rows are new to the store
// (readmodel.Changes.PatientMonthsNew), and reads back, for patients
// rebuilt after a restart, the billed state of those months from the store.
func (p *Projection) jobs(ctx context.Context, loc *time.Location) (jobs []job, isNew []bool, err error) {
	// A quarter's months per patient: seldom grown.
	jobs, isNew = make([]job, 0, 3*len(p.dirty)), make([]bool, 0, 3*len(p.dirty))
	slices.SortFunc(p.dirty, func(a, b *patient) int { return cmp.Compare(a.f.ID, b.f.ID) })
	for _, ps := range p.dirty {
		if !ps.f.Enrolled {
			continue // evaluated once enrolled (enrolment changes every month)
		}
		var ms []rules.Month
		first, last, ok := ps.f.MonthRange(loc)
		add := func(m rules.Month) {
			if !slices.Contains(ms, m) {
				ms = append(ms, m)
			}
		}
		for _, m := range ps.dirtyMonths {
			add(m)
		}
		evaluated := func(m rules.Month) bool {
			return !ps.evFirst.IsZero() && !m.Before(ps.evFirst) && !ps.evLast.Before(m)
		}
		if ok {
			for m := first; !last.Before(m); m = m.AddMonths(1) {
				if ps.dirtyAll || !evaluated(m) {
					add(m)
				}
			}
		}
		if ps.dirtyAll && !ps.evFirst.IsZero() {
			for m := ps.evFirst; !ps.evLast.Before(m); m = m.AddMonths(1) {
				add(m)
			}
		}
		slices.SortFunc(ms, func(a, b rules.Month) int { return cmp.Compare(a.Index(), b.Index()) })
		for _, m := range ms {
			if ps.restored {
				if err := p.readBackBilled(ctx, ps, m); err != nil {
					return nil, nil, err
				}
			}
			written := slices.Contains(ps.written, m)
			if !written {
				ps.written = append(ps.written, m)
			}
			jobs, isNew = append(jobs, job{ps, m}), append(isNew, !written && !ps.restored)
		}
	}
	return jobs, isNew, nil
}

// readBackBilled restores the billed state of a month billed before the
// restart from its stored row.
func (p *Projection) readBackBilled(ctx context.Context, ps *patient, m rules.Month) error {
	p.mu.RLock()
	ms := ps.monthState(m)
	checked := ms != nil && ms.checked
	p.mu.RUnlock()
	if checked {
		return nil
	}
	row, ok, err := p.store.PatientMonth(ctx, ps.f.ID, m.String())
	if err != nil {
		return fmt.Errorf("billing projection: read back %s %s: %w", ps.f.ID, m, err)
	}
	var closedAt time.Time
	if ok && row.BatchID != "" {
		b, found, err := p.store.Batch(ctx, row.BatchID)
		if err != nil {
			return fmt.Errorf("billing projection: read back batch %s: %w", row.BatchID, err)
		}
		if found {
			closedAt = b.ClosedAt
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	st := ps.month(m)
	st.checked = true
	if ok && row.BatchID != "" && row.BilledEvaluation != nil {
		// The row's AsOfSequence covers the batch event: every other
		// sequence behind it is at most what the fold holds now.
		st.billed = &billed{batchID: row.BatchID, closedAt: closedAt, lines: row.BilledEvaluation.Lines,
			seq: row.AsOfSequence, evaluation: *row.BilledEvaluation}
	}
	return nil
}

// evaluate evaluates one patient-month of the fold into row, and returns its
// minute totals (no lock: at a flush no Apply runs, and readers only read).
// It writes the row in place: an evaluation is a large value.
func evaluate(row *readmodel.PatientMonth, ps *patient, m rules.Month, practice facts.Practice) []readmodel.MinuteTotal {
	var b *billed
	var seq uint64
	if ms := ps.monthState(m); ms != nil {
		b, seq = ms.billed, ms.seq
	}
	var bm *rules.BilledMonth
	if b != nil {
		bm = &rules.BilledMonth{BatchID: b.batchID, ClosedAt: b.closedAt, Lines: b.lines}
	}
	f := ps.f.Facts(m, practice, bm)
	row.PatientID, row.Month, row.AsOfSequence = ps.f.ID, m.String(), max(ps.allSeq, seq, practice.Seq)
	row.Evaluation = rules.Evaluate(f)
	if b != nil {
		row.BatchID = b.batchID
		be := b.evaluation
		row.BilledEvaluation = &be
		row.AsOfSequence = max(row.AsOfSequence, b.seq)
	}
	return MinuteTotals(f, row.Evaluation)
}

// Evaluate returns the evaluation of a patient-month that has no stored row,
// computed on the fly from the fold as the flushed rows are (a month outside
// the patient's activity range: not_billable, or below_threshold with 0
// minutes). After a restart, a patient not yet met since is folded from the
// log. ok is false when the patient is not enrolled.
func (p *Projection) Evaluate(ctx context.Context, patientID string, m rules.Month) (readmodel.PatientMonth, bool, error) {
	p.mu.RLock()
	ps, resumed := p.patients[patientID], p.resumed
	if ps == nil || !ps.f.Enrolled {
		p.mu.RUnlock()
		if ps == nil && resumed {
			return EvaluateAsOf(ctx, p.log, patientID, m, time.Time{})
		}
		return readmodel.PatientMonth{}, false, nil
	}
	practice := p.practice
	var b *billed
	var seq uint64
	if ms := ps.monthState(m); ms != nil {
		b, seq = ms.billed, ms.seq
	}
	var bm *rules.BilledMonth
	if b != nil {
		bm = &rules.BilledMonth{BatchID: b.batchID, ClosedAt: b.closedAt, Lines: b.lines}
	}
	f := ps.f.Facts(m, practice, bm)
	row := readmodel.PatientMonth{PatientID: patientID, Month: m.String(), AsOfSequence: max(ps.allSeq, seq, practice.Seq)}
	if b != nil {
		be := b.evaluation
		row.BatchID, row.BilledEvaluation, row.AsOfSequence = b.batchID, &be, max(row.AsOfSequence, b.seq)
	}
	p.mu.RUnlock()
	row.Evaluation = rules.Evaluate(f)
	return row, true, nil
}

// Practice returns the practice as folded so far.
func (p *Projection) Practice() facts.Practice {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.practice
}

// parallel calls do for every index below n on up to workers goroutines
// (one per 64 indexes at least) and returns when every call has.
func parallel(n, workers int, do func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, max(1, n/64+1)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				do(i)
			}
		})
	}
	wg.Wait()
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// Unevaluated returns the evaluations, computed on the fly as Evaluate
// does, of month m for every enrolled patient whose enrolment was recorded
// before the month ended (in the practice's zone) and who has no stored row
// for it (have holds the patients that do), ordered by patient id: the
// patients a month summary lists beside the stored rows, so that it shows
// every enrolled patient (contract.md). After a restart, enrolled patients
// not met since (known from the funnel rows) are folded from the log, which
// is slower.
func (p *Projection) Unevaluated(ctx context.Context, m rules.Month, have map[string]bool) ([]readmodel.PatientMonth, error) {
	type evalJob struct {
		id  string
		f   rules.Facts
		row readmodel.PatientMonth
	}
	var jobs []evalJob
	p.mu.RLock()
	practice, resumed := p.practice, p.resumed
	end := m.End(practice.Location)
	for id, ps := range p.patients {
		if have[id] || !ps.f.Enrolled || !ps.f.EnrolledAt.Before(end) {
			continue
		}
		var b *billed
		var seq uint64
		if ms := ps.monthState(m); ms != nil {
			b, seq = ms.billed, ms.seq
		}
		var bm *rules.BilledMonth
		row := readmodel.PatientMonth{PatientID: id, Month: m.String(), AsOfSequence: max(ps.allSeq, seq, practice.Seq)}
		if b != nil {
			bm = &rules.BilledMonth{BatchID: b.batchID, ClosedAt: b.closedAt, Lines: b.lines}
			be := b.evaluation
			row.BatchID, row.BilledEvaluation, row.AsOfSequence = b.batchID, &be, max(row.AsOfSequence, b.seq)
		}
		jobs = append(jobs, evalJob{id: id, f: ps.f.Facts(m, practice, bm), row: row})
	}
	cached := func(id string) bool { _, ok := p.patients[id]; return ok }
	var uncached []string
	if resumed {
		rows, err := p.store.Patients(ctx)
		if err != nil {
			p.mu.RUnlock()
			return nil, err
		}
		for _, r := range rows {
			if !have[r.PatientID] && !cached(r.PatientID) && r.EnrolledAt.Before(end) {
				uncached = append(uncached, r.PatientID)
			}
		}
	}
	p.mu.RUnlock()

	out := make([]readmodel.PatientMonth, len(jobs), len(jobs)+len(uncached))
	parallel(len(jobs), p.cfg.Workers, func(i int) {
		row := jobs[i].row
		row.Evaluation = rules.Evaluate(jobs[i].f)
		out[i] = row
	})
	for _, id := range uncached {
		row, ok, err := EvaluateAsOf(ctx, p.log, id, m, time.Time{})
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, row)
		}
	}
	slices.SortFunc(out, func(a, b readmodel.PatientMonth) int { return cmp.Compare(a.PatientID, b.PatientID) })
	return out, nil
}
