package batches

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/eventlog"
	"github.com/carelog/carelog/pkg/eventlog/jetstream"
	"github.com/carelog/carelog/pkg/natsserver"
	"github.com/carelog/carelog/pkg/projection"
	"github.com/carelog/carelog/pkg/request"
	"github.com/carelog/carelog/pkg/testenv"
	"github.com/carelog/carelog/services/billing/internal/readmodel"
	"github.com/carelog/carelog/services/billing/rules"
	"github.com/nats-io/nats.go"
)

// The closer's tests run against a real embedded JetStream log, the real
// in-memory read store (which passes the readmodel contract suite) and a
// real pkg/projection.Runner. The projection, minutesProjection, is a small
// real projection of our own: it evaluates a patient-month from its logged
// minutes alone (≥ 20 billable with 99490 and 99439 per further 20, up to
// 2; below 20 not_billable) and applies claim_batch.closed the way the
// billing projection does (a batch row; the months billed). It keeps the
// tests independent of the full rules engine's facts while exercising the
// same log, store and runner.

// closedAt is the service clock of the tests: 2 April 2025, after March.
var testNow = time.Date(2025, 4, 2, 13, 0, 0, 0, time.UTC)

type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *testClock) Set(t time.Time) { c.mu.Lock(); c.now = t; c.mu.Unlock() }

// node is one embedded JetStream server with the event log on it.
type node struct {
	srv *natsserver.Server
	nc  *nats.Conn
	log *jetstream.Log
}

func startNode(t *testing.T) *node {
	t.Helper()
	n := &node{srv: testenv.JetStream(t, "")}
	n.nc = testenv.Connect(t, n.srv)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var err error
	if n.log, err = jetstream.Open(ctx, n.nc, jetstream.Config{}); err != nil {
		t.Fatalf("jetstream.Open: %v", err)
	}
	t.Cleanup(func() { n.log.Close() })
	return n
}

// replica is one process's read side: a store fed by a runner, and a
// closer on it. Several replicas on one log behave like several processes.
type replica struct {
	store  readmodel.Store
	runner *projection.Runner
	closer *Closer
}

func startReplica(t *testing.T, log eventlog.Log, clk *testClock) *replica {
	t.Helper()
	store := openStore(t)
	runner := projection.NewRunner(log, newMinutesProjection(store))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runner.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("runner: got %v, want nil after cancel", err)
		}
	})
	return &replica{store: store, runner: runner, closer: &Closer{Log: log, Store: store, Runner: runner, Now: clk.Now}}
}

// minutesProjection: see the top of this file. Its fold state (minutes and
// evidence per patient-month) is in memory, like the store: both start empty
// and are rebuilt from sequence 1.
type minutesProjection struct {
	store    readmodel.Store
	minutes  map[readmodel.PatientMonthKey]int
	evidence map[readmodel.PatientMonthKey][]string
}

func newMinutesProjection(store readmodel.Store) *minutesProjection {
	return &minutesProjection{store: store, minutes: map[readmodel.PatientMonthKey]int{}, evidence: map[readmodel.PatientMonthKey][]string{}}
}

func (p *minutesProjection) evaluate(key readmodel.PatientMonthKey) rules.Evaluation {
	ev := rules.Evaluation{PatientID: key.PatientID, Month: key.Month, Program: rules.ProgramCCM, Pathway: rules.PathwayClinicalStaff,
		CountedMinutes: p.minutes[key], Lines: []rules.Line{}, Reasons: []rules.Reason{}, Flags: []rules.Flag{}, Excluded: []rules.Excluded{},
		RuleSetVersion: "test"}
	if ev.CountedMinutes < 20 {
		ev.Status = rules.StatusNotBillable
		ev.Reasons = []rules.Reason{{Code: rules.ReasonBelowThreshold, Message: "below 20 minutes"}}
		return ev
	}
	ev.Status = rules.StatusBillable
	dos := rules.MustMonth(key.Month).LastDay().String()
	line := func(code string, units int) rules.Line {
		return rules.Line{Code: code, Units: units, DateOfService: dos, PractitionerNPI: npi,
			Diagnoses: []string{"I50.22", "E11.65"}, Evidence: append([]string{}, p.evidence[key]...)}
	}
	ev.Lines = append(ev.Lines, line("99490", 1))
	if extra := min((ev.CountedMinutes-20)/20, 2); extra > 0 {
		ev.Lines = append(ev.Lines, line("99439", extra))
	}
	return ev
}

func (p *minutesProjection) Name() string { return "batches-test" }

func (p *minutesProjection) Checkpoint(ctx context.Context) (uint64, error) {
	return p.store.Checkpoint(ctx)
}

func (p *minutesProjection) Apply(ctx context.Context, rec eventlog.Record) error {
	v, err := events.DefaultRegistry().Decode(rec.Envelope)
	if err != nil {
		return err
	}
	var c readmodel.Changes
	switch e := v.(type) {
	case *events.TimeRecorded:
		month := e.StartedAt.UTC().Format("2006-01")
		key := readmodel.PatientMonthKey{PatientID: e.PatientID, Month: month}
		p.minutes[key] += e.Minutes
		p.evidence[key] = append(p.evidence[key], rec.ID)
		row, _, err := p.store.PatientMonth(ctx, e.PatientID, month)
		if err != nil {
			return err
		}
		row.PatientID, row.Month, row.AsOfSequence = e.PatientID, month, rec.Sequence
		row.Evaluation = p.evaluate(key)
		if row.BatchID != "" {
			row.Evaluation.Status = rules.StatusBilled
			row.Evaluation.Flags = []rules.Flag{{Code: rules.FlagPostCloseChange, Message: "minutes recorded after the batch closed"}}
		}
		c.PatientMonths = append(c.PatientMonths, row)
	case *events.ClaimBatchClosed:
		c.Batches = append(c.Batches, Row(rec.ID, rec.Sequence, *e, ScheduleFees{}))
		seen := map[string]bool{}
		for _, l := range e.Lines {
			if seen[l.PatientID] {
				continue
			}
			seen[l.PatientID] = true
			row, ok, err := p.store.PatientMonth(ctx, l.PatientID, e.Month)
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("batch %s bills unknown patient-month %s/%s", e.ID, l.PatientID, e.Month)
			}
			billed := row.Evaluation
			row.BatchID, row.BilledEvaluation = e.ID, &billed
			row.Evaluation.Status = rules.StatusBilled
			row.AsOfSequence = rec.Sequence
			c.PatientMonths = append(c.PatientMonths, row)
		}
	default:
		return nil // nothing this projection keeps
	}
	return p.store.Commit(ctx, c, rec.Sequence)
}

// recordMinutes appends an activity.time_recorded of minutes for patient in
// March 2025 and returns its sequence.
func recordMinutes(t *testing.T, log eventlog.Log, patient string, minutes int) uint64 {
	t.Helper()
	return recordMinutesAt(t, log, patient, minutes, time.Date(2025, 3, 10, 15, 0, 0, 0, time.UTC))
}

// recordMinutesAt appends an activity.time_recorded started at started.
func recordMinutesAt(t *testing.T, log eventlog.Log, patient string, minutes int, started time.Time) uint64 {
	t.Helper()
	entryID := request.RandomID()
	payload := events.TimeRecorded{ID: entryID, PatientID: patient, Staff: events.Staff{ID: "rn-1", Name: "RN", Role: "rn"},
		Programs: []string{"ccm"}, StartedAt: started, Minutes: minutes, Activity: "care coordination", Notes: "n", Outcome: "completed"}
	data, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	env := events.Envelope{ID: "time-" + entryID, Type: events.TypeTimeRecorded, Version: 1, Stream: events.PatientStream(patient),
		PatientID: patient, OccurredAt: started, RecordedAt: started, Actor: events.Actor{ID: "rn-1", Role: "clinician"}, Data: data}
	res, err := log.Append(context.Background(), eventlog.Any, env)
	if err != nil {
		t.Fatalf("append time entry: %v", err)
	}
	return res.Sequence
}

// meta is the request metadata of a biller; key is the Idempotency-Key ("" none).
func meta(key string) request.Meta {
	return request.Meta{Actor: events.Actor{ID: "tok-biller", Role: "biller", App: "test"}, CorrelationID: "req-1",
		IdempotencyKey: key, Route: "POST /v1/billing/months/2025-03/claim-batches"}
}
