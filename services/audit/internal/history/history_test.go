package history_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/errs"
	"github.com/carelog/carelog/pkg/eventlog"
	"github.com/carelog/carelog/pkg/eventlog/eventlogtest"
	"github.com/carelog/carelog/pkg/eventlog/jetstream"
	"github.com/carelog/carelog/pkg/testenv"
	"github.com/carelog/carelog/services/audit/internal/history"
)

// fixture is a log holding the histories of three patients and the practice,
// interleaved in log order.
type fixture struct {
	nc  *nats.Conn
	log *jetstream.Log
	seq map[string]uint64 // event id → sequence
	// p1 are the ids of patient p-1's 8 events in log order.
	p1 []string
	// recorded is the RecordedAt of each event by id.
	recorded map[string]time.Time
}

// newFixture appends, in this log order: p-1's 8 events, with p-2's 3
// events and a practice event between them, then p-3's two events of which
// the second was recorded (by its request's clock) before the first: a
// command retried after a conflict lands after a request that came later.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	srv := testenv.JetStream(t, "")
	nc := testenv.Connect(t, srv)
	l, err := jetstream.Open(t.Context(), nc, jetstream.Config{})
	if err != nil {
		t.Fatalf("jetstream.Open: %v", err)
	}
	f := &fixture{nc: nc, log: l, seq: map[string]uint64{}, recorded: map[string]time.Time{}}
	n := 0
	add := func(id, stream string, edit func(*events.Envelope)) {
		t.Helper()
		n++
		e := eventlogtest.Event(id, stream, n)
		if edit != nil {
			edit(&e)
		}
		res, err := l.Append(t.Context(), eventlog.Any, e)
		if err != nil {
			t.Fatalf("Append(%s): %v", id, err)
		}
		f.seq[id], f.recorded[id] = res.Sequence, res.Event.RecordedAt
	}
	for i := range 8 {
		id := fmt.Sprintf("p1-%d", i)
		add(id, "patient.p-1", nil)
		f.p1 = append(f.p1, id)
		switch i {
		case 1, 4, 6:
			add(fmt.Sprintf("p2-%d", i), "patient.p-2", nil)
		case 3:
			add("practice-1", events.PracticeStream, nil)
		}
	}
	late := time.Date(2025, 3, 5, 9, 0, 0, 0, time.UTC)
	add("p3-0", "patient.p-3", func(e *events.Envelope) { e.RecordedAt = late })
	add("p3-1", "patient.p-3", func(e *events.Envelope) { e.RecordedAt = late.Add(-time.Hour) })
	return f
}

func ids(p history.Page) []string {
	out := []string{}
	for _, e := range p.Events {
		out = append(out, e.ID)
	}
	return out
}

func TestRead(t *testing.T) {
	f := newFixture(t)
	p1 := f.p1
	tests := []struct {
		name        string
		q           history.Query
		wantIDs     []string
		wantTotal   int
		wantChecked int
		wantNext    string // id of the event NextAfter names; "" for 0
		wantKind    errs.Kind
	}{
		{name: "full history in log order", q: history.Query{PatientID: "p-1"},
			wantIDs: p1, wantTotal: 8, wantChecked: 8},
		{name: "other patients' events never appear", q: history.Query{PatientID: "p-2"},
			wantIDs: []string{"p2-1", "p2-4", "p2-6"}, wantTotal: 3, wantChecked: 3},
		{name: "first page", q: history.Query{PatientID: "p-1", Limit: 3},
			wantIDs: p1[:3], wantTotal: 8, wantChecked: 8, wantNext: p1[2]},
		{name: "page after a cursor", q: history.Query{PatientID: "p-1", Limit: 3, After: f.seq[p1[2]]},
			wantIDs: p1[3:6], wantTotal: 8, wantChecked: 8, wantNext: p1[5]},
		{name: "cursor between the patient's events", q: history.Query{PatientID: "p-1", After: f.seq["p2-4"]},
			wantIDs: p1[5:], wantTotal: 8, wantChecked: 8},
		{name: "cursor past the end", q: history.Query{PatientID: "p-1", After: f.seq[p1[7]]},
			wantIDs: []string{}, wantTotal: 8, wantChecked: 8},
		{name: "asOf keeps events recorded at or before it", q: history.Query{PatientID: "p-1", AsOf: f.recorded[p1[3]]},
			wantIDs: p1[:4], wantTotal: 4, wantChecked: 8},
		{name: "asOf before the first event", q: history.Query{PatientID: "p-1", AsOf: f.recorded[p1[0]].Add(-time.Nanosecond)},
			wantIDs: []string{}, wantTotal: 0, wantChecked: 8},
		{name: "asOf is a filter: recordedAt is not monotonic in log order", q: history.Query{PatientID: "p-3", AsOf: f.recorded["p3-1"]},
			wantIDs: []string{"p3-1"}, wantTotal: 1, wantChecked: 2},
		{name: "untilSequence stops the read", q: history.Query{PatientID: "p-1", UntilSequence: f.seq[p1[4]]},
			wantIDs: p1[:5], wantTotal: 5, wantChecked: 5},
		{name: "untilSequence between the patient's events", q: history.Query{PatientID: "p-1", UntilSequence: f.seq["p2-4"]},
			wantIDs: p1[:5], wantTotal: 5, wantChecked: 5},
		{name: "untilSequence with a page", q: history.Query{PatientID: "p-1", UntilSequence: f.seq[p1[4]], Limit: 2, After: f.seq[p1[1]]},
			wantIDs: p1[2:4], wantTotal: 5, wantChecked: 5, wantNext: p1[3]},
		{name: "both cuts", q: history.Query{PatientID: "p-1", UntilSequence: f.seq[p1[6]], AsOf: f.recorded[p1[2]]},
			wantIDs: p1[:3], wantTotal: 3, wantChecked: 7},
		{name: "unknown patient", q: history.Query{PatientID: "p-9"}, wantKind: errs.NotFound},
		{name: "malformed patient id", q: history.Query{PatientID: "p.1"}, wantKind: errs.Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, err := history.Read(t.Context(), f.log, tt.q)
			if tt.wantKind != "" {
				if err == nil || errs.KindOf(err) != tt.wantKind {
					t.Fatalf("got page %+v, error %v; want a %s error", page, err, tt.wantKind)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want a page", err)
			}
			if got := ids(page); !slices.Equal(got, tt.wantIDs) {
				t.Errorf("events: got %v, want %v", got, tt.wantIDs)
			}
			if page.PatientID != tt.q.PatientID || page.Total != tt.wantTotal {
				t.Errorf("patient, total: got %s, %d; want %s, %d", page.PatientID, page.Total, tt.q.PatientID, tt.wantTotal)
			}
			if want := (history.Chain{Verified: true, Checked: tt.wantChecked}); !chainEqual(page.Chain, want) {
				t.Errorf("chain: got %+v, want %+v", page.Chain, want)
			}
			if want := f.seq[tt.wantNext]; page.NextAfter != want {
				t.Errorf("nextAfter: got %d, want %d (%q)", page.NextAfter, want, tt.wantNext)
			}
			for i, e := range page.Events {
				if e.Sequence != f.seq[e.ID] || e.Chain != history.Verified || e.PatientID != tt.q.PatientID || e.Hash == "" {
					t.Errorf("event %d: got seq %d chain %q patient %q hash %q, want seq %d, verified, patient %s, a hash",
						i, e.Sequence, e.Chain, e.PatientID, e.Hash, f.seq[e.ID], tt.q.PatientID)
				}
			}
		})
	}
}

func chainEqual(a, b history.Chain) bool {
	return a.Verified == b.Verified && a.Checked == b.Checked && (a.FirstBad == nil) == (b.FirstBad == nil) &&
		(a.FirstBad == nil || *a.FirstBad == *b.FirstBad)
}

// TestReadPages walks every page for several page sizes: the pages
// concatenate to the whole history, each reports the same Total, and only
// the last has NextAfter 0.
func TestReadPages(t *testing.T) {
	f := newFixture(t)
	for _, limit := range []int{1, 2, 3, 7, 8, 9, 0} {
		t.Run(fmt.Sprintf("limit=%d", limit), func(t *testing.T) {
			var got []string
			after := uint64(0)
			for pages := 1; ; pages++ {
				page, err := history.Read(t.Context(), f.log, history.Query{PatientID: "p-1", Limit: limit, After: after})
				if err != nil {
					t.Fatalf("page %d: %v", pages, err)
				}
				if page.Total != len(f.p1) {
					t.Fatalf("page %d: got total %d, want %d", pages, page.Total, len(f.p1))
				}
				got = append(got, ids(page)...)
				if page.NextAfter == 0 {
					break
				}
				if last := page.Events[len(page.Events)-1].Sequence; page.NextAfter != last {
					t.Fatalf("page %d: got nextAfter %d, want the page's last sequence %d", pages, page.NextAfter, last)
				}
				if pages > len(f.p1) {
					t.Fatalf("got more than %d pages", len(f.p1))
				}
				after = page.NextAfter
			}
			if !slices.Equal(got, f.p1) {
				t.Fatalf("pages together: got %v, want %v", got, f.p1)
			}
		})
	}
}

// TestEntryJSON pins the shape the handler serves: the envelope's fields
// beside sequence and chain at the top level of each event.
func TestEntryJSON(t *testing.T) {
	f := newFixture(t)
	page, err := history.Read(t.Context(), f.log, history.Query{PatientID: "p-2", Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(page)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		PatientID string           `json:"patientId"`
		Events    []map[string]any `json:"events"`
		Chain     map[string]any   `json:"chain"`
		Total     int              `json:"total"`
		NextAfter uint64           `json:"nextAfter"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Events) != 1 || got.Total != 3 || got.NextAfter != f.seq["p2-1"] || got.Chain["verified"] != true || got.Chain["checked"] != 3.0 {
		t.Fatalf("got %s, want one event of 3, nextAfter %d, chain verified and checked 3", b, f.seq["p2-1"])
	}
	for _, k := range []string{"sequence", "id", "type", "version", "stream", "patientId", "occurredAt", "recordedAt",
		"actor", "data", "prevHash", "hash", "chain"} {
		if _, ok := got.Events[0][k]; !ok {
			t.Errorf("event JSON %s: got no %q, want it", b, k)
		}
	}
	if _, ok := got.Chain["firstBad"]; ok {
		t.Errorf("chain JSON of a verified stream: got firstBad, want none")
	}
}

// TestReadDetectsTampering reads copies of the store that were altered the
// way someone with write access to the files could (an event's content
// changed without resealing, an event removed, two events swapped): Read
// returns the events before the first bad one, Verified false and FirstBad
// naming it, and no error.
func TestReadDetectsTampering(t *testing.T) {
	f := newFixture(t)
	p1 := f.p1
	tests := []struct {
		name    string
		edit    func(e *events.Envelope) (keep bool)
		swap    [2]string
		q       history.Query
		wantIDs []string
		wantBad string // id of the first bad event
		problem string
		checked int // events that passed; 0: len(wantIDs)
	}{
		{name: "untouched copy verifies", q: history.Query{PatientID: "p-1"}, wantIDs: p1},
		{name: "tampered payload", edit: func(e *events.Envelope) bool {
			if e.ID == p1[3] {
				e.Data = json.RawMessage(`{"n":4,"note":"care <coordination> & follow-up","minutes":45}`)
			}
			return true
		}, q: history.Query{PatientID: "p-1"}, wantIDs: p1[:3], wantBad: p1[3], problem: history.ProblemTampered},
		{name: "tampered actor", edit: func(e *events.Envelope) bool {
			if e.ID == p1[0] {
				e.Actor.ID = "dr-someone-else"
			}
			return true
		}, q: history.Query{PatientID: "p-1"}, wantIDs: []string{}, wantBad: p1[0], problem: history.ProblemTampered},
		{name: "removed event", edit: func(e *events.Envelope) bool { return e.ID != p1[5] },
			q: history.Query{PatientID: "p-1"}, wantIDs: p1[:5], wantBad: p1[6], problem: history.ProblemChainBroken},
		{name: "removed first event", edit: func(e *events.Envelope) bool { return e.ID != p1[0] },
			q: history.Query{PatientID: "p-1"}, wantIDs: []string{}, wantBad: p1[1], problem: history.ProblemChainBroken},
		{name: "reordered events", swap: [2]string{p1[2], p1[3]},
			q: history.Query{PatientID: "p-1"}, wantIDs: p1[:2], wantBad: p1[3], problem: history.ProblemChainBroken},
		{name: "failure after a full page", edit: func(e *events.Envelope) bool { return e.ID != p1[5] },
			q: history.Query{PatientID: "p-1", Limit: 2}, wantIDs: p1[:2], wantBad: p1[6], problem: history.ProblemChainBroken, checked: 5},
		{name: "failure past untilSequence is not read", edit: func(e *events.Envelope) bool {
			if e.ID == p1[6] {
				e.Data = json.RawMessage(`{"n":0}`)
			}
			return true
		}, q: history.Query{PatientID: "p-1", UntilSequence: f.seq[p1[4]]}, wantIDs: p1[:5]},
		{name: "another patient's tampering does not affect this one", edit: func(e *events.Envelope) bool {
			if e.ID == "p2-4" {
				e.Data = json.RawMessage(`{"n":0}`)
			}
			return true
		}, q: history.Query{PatientID: "p-1"}, wantIDs: p1},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, seq := tamperedCopy(t, f, i+1, tt.edit, tt.swap)
			page, err := history.Read(t.Context(), l, tt.q)
			if err != nil {
				t.Fatalf("got error %v, want a page reporting the failure", err)
			}
			if got := ids(page); !slices.Equal(got, tt.wantIDs) {
				t.Errorf("events: got %v, want %v", got, tt.wantIDs)
			}
			want := history.Chain{Verified: true, Checked: len(tt.wantIDs)}
			if tt.checked != 0 {
				want.Checked = tt.checked
			}
			if tt.wantBad != "" {
				want.Verified = false
				want.FirstBad = &history.Failure{Sequence: seq[tt.wantBad], EventID: tt.wantBad, Problem: tt.problem}
			}
			got := page.Chain
			if got.FirstBad != nil {
				if got.FirstBad.Message == "" {
					t.Errorf("firstBad: got no message, want one")
				}
				bad := *got.FirstBad
				bad.Message = ""
				got.FirstBad = &bad
			}
			if !chainEqual(got, want) {
				t.Errorf("chain: got %+v (firstBad %+v), want %+v (firstBad %+v)", got, got.FirstBad, want, want.FirstBad)
			}
		})
	}
}

// tamperedCopy copies f's CARELOG stream message by message, in sequence
// order except for the two events swap names, into a new stream COPY<n>
// with subject prefix copy<n>, passing each event through edit (when not
// nil) without resealing it. It returns the log over the copy and each
// copied event's sequence there.
func tamperedCopy(t *testing.T, f *fixture, n int, edit func(*events.Envelope) bool, swap [2]string) (eventlog.Log, map[string]uint64) {
	t.Helper()
	ctx := t.Context()
	prefix := fmt.Sprintf("copy%d", n)
	dst, err := jetstream.Open(ctx, f.nc, jetstream.Config{Stream: fmt.Sprintf("COPY%d", n), SubjectPrefix: prefix})
	if err != nil {
		t.Fatalf("open copy: %v", err)
	}
	js, err := natsjs.New(f.nc)
	if err != nil {
		t.Fatal(err)
	}
	src, err := js.Stream(ctx, f.log.StreamName())
	if err != nil {
		t.Fatal(err)
	}
	last, err := f.log.LastSequence(ctx)
	if err != nil {
		t.Fatal(err)
	}
	order := make([]uint64, 0, last)
	for s := uint64(1); s <= last; s++ {
		order = append(order, s)
	}
	if swap[0] != "" {
		a, b := f.seq[swap[0]]-1, f.seq[swap[1]]-1
		order[a], order[b] = order[b], order[a]
	}
	seq := map[string]uint64{}
	for _, s := range order {
		raw, err := src.GetMsg(ctx, s)
		if err != nil {
			t.Fatalf("get %d: %v", s, err)
		}
		env, err := events.Decode(raw.Data)
		if err != nil {
			t.Fatal(err)
		}
		if edit != nil && !edit(&env) {
			continue
		}
		body, err := env.Encode()
		if err != nil {
			t.Fatal(err)
		}
		ack, err := js.Publish(ctx, prefix+strings.TrimPrefix(raw.Subject, "carelog"), body)
		if err != nil {
			t.Fatalf("copy %d: %v", s, err)
		}
		seq[env.ID] = ack.Sequence
	}
	return dst, seq
}

// TestReadUnavailable: a log that cannot be reached is an error, not an
// empty history.
func TestReadUnavailable(t *testing.T) {
	f := newFixture(t)
	f.nc.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, err := history.Read(ctx, f.log, history.Query{PatientID: "p-1"})
	if err == nil || errs.KindOf(err) != errs.Unavailable {
		t.Fatalf("got %v, want an unavailable error", err)
	}
	var ie *eventlog.IntegrityError
	if errors.As(err, &ie) {
		t.Fatalf("got integrity error %v, want unavailable", err)
	}
}
