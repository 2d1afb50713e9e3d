package bench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/eventlog/jetstream"
	"github.com/carelog/carelog/pkg/natsserver"
	"github.com/carelog/carelog/pkg/testenv"
	"github.com/carelog/carelog/services/audit/internal/history"
)

// The history benchmark reads one patient's history out of a log of
// historyEvents events over historyPatients patients, written once per
// process, beside the raw single-subject JetStream fetch in the same run.
// Every op reads one patient, drawn from the same seeded random sequence on
// both sides:
//
//   - impl=carelog is history.Read (the jetstream log port: tip look-up,
//     ordered consumer on the patient's subject, decode, hash-chain
//     verification) plus the JSON encoding of the Page, as the HTTP handler
//     serves it.
//   - impl=raw is the fastest raw fetch of the patient's subject found:
//     one batched direct get ($JS.API.DIRECT.GET with next_by_subj and
//     batch) answered by every message of the subject and an end-of-batch
//     status, on an inbox subscription kept across ops. The messages are
//     received, not decoded. (Also measured, and slower: an ordered consumer
//     filtered on the subject, stopped at NumPending 0, about 4x the batched
//     get at p50, since creating the consumer is a JetStream API call of its
//     own; one direct get per message, about 1.5x.)
//
// p50-µs and p99-µs are the per-op latency percentiles. Right before each
// side is timed, the same batched direct gets read its whole patient
// sequence once, untimed, so that both sides are timed on the same warm
// store (the server's block cache and the OS page cache hold the blocks
// those patients live in): the pair compares the read paths, not whichever
// side happens to run first on a cold disk.
//
// The jetstream log creates one ephemeral ordered consumer per ReadStream
// and leaves it to expire after 30s of inactivity, and nats-server allows
// 1000 consumers per stream by default: more than about 1000 carelog ops
// (over all -count runs) within 30s fail with "maximum consumers limit
// reached". Keep -benchtime at a few hundred ops.

const (
	historyEvents   = 1_000_000
	historyPatients = 200_000
	// historyOnboarding is each patient's first events (enrolled, condition,
	// consent); the rest of the log is time entries of random patients.
	historyOnboarding = 3
)

// historyLog is the benchmark log, populated on first use.
var historyLog = &testenv.BenchLog{Name: "audit-history", Populate: populate}

func patientID(i int) string { return fmt.Sprintf("p-%06d", i) }

// planned is one event of the benchmark log: whose, and which of the
// patient's events it is (0..historyOnboarding-1 onboarding, then time
// entries); k is its index in the time entries, -1 for onboarding.
type planned struct {
	patient int32
	nth     int32
	k       int32
}

// plan lays out the log deterministically: every patient's onboarding in
// patient order, then historyEvents-3*historyPatients time entries of
// patients drawn from a seeded generator.
func plan() []planned {
	out := make([]planned, 0, historyEvents)
	for i := range historyPatients {
		for n := range historyOnboarding {
			out = append(out, planned{patient: int32(i), nth: int32(n), k: -1})
		}
	}
	rng := rand.New(rand.NewPCG(1, 1))
	count := make([]int32, historyPatients)
	for k := 0; len(out) < historyEvents; k++ {
		i := rng.IntN(historyPatients)
		out = append(out, planned{patient: int32(i), nth: historyOnboarding + count[i], k: int32(k)})
		count[i]++
	}
	return out
}

// populate writes the planned events, sealed and chained, with catalogue
// payloads, in chunks: each chunk is sealed and encoded in parallel (one
// worker per share of the patients, so each chain is extended in order by
// one goroutine), then published asynchronously in log order. It uses a
// plain nats-server without SyncAlways: only the stored log matters, not how
// fast it was written.
func populate(dir string) error {
	nc, stop, err := testenv.BulkServer(dir)
	if err != nil {
		return err
	}
	defer stop()
	if _, err := jetstream.Open(context.Background(), nc, jetstream.Config{}); err != nil {
		return err
	}
	js, err := natsjs.New(nc, natsjs.WithPublishAsyncMaxPending(8192))
	if err != nil {
		return err
	}

	p := plan()
	last := make([]string, historyPatients) // patient → hash of its last event
	reg := events.DefaultRegistry()
	workers := max(1, min(8, runtime.GOMAXPROCS(0)))
	const chunk = 1 << 16
	bodies := make([][]byte, chunk)
	for lo := 0; lo < len(p); lo += chunk {
		hi := min(lo+chunk, len(p))
		errc := make(chan error, workers)
		for w := range workers {
			go func() {
				for pos := lo; pos < hi; pos++ {
					if int(p[pos].patient)%workers != w {
						continue
					}
					body, err := seal(reg, last, pos, p[pos])
					if err != nil {
						errc <- err
						return
					}
					bodies[pos-lo] = body
				}
				errc <- nil
			}()
		}
		for range workers {
			if err := <-errc; err != nil {
				return err
			}
		}
		for pos := lo; pos < hi; pos++ {
			e := p[pos]
			msg := nats.NewMsg("carelog." + events.PatientStream(patientID(int(e.patient))))
			msg.Data = bodies[pos-lo]
			typ, _ := eventType(e)
			msg.Header.Set(jetstream.HeaderType, string(typ))
			msg.Header.Set(jetstream.HeaderVersion, "1")
			if _, err := js.PublishMsgAsync(msg, natsjs.WithStallWait(time.Minute)); err != nil {
				return err
			}
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(10 * time.Minute):
		return errors.New("populate: publishes not acknowledged")
	}
	s, err := js.Stream(context.Background(), "CARELOG")
	if err != nil {
		return err
	}
	info, err := s.Info(context.Background())
	if err != nil {
		return err
	}
	if info.State.Msgs != historyEvents {
		return fmt.Errorf("populate: stored %d events, want %d", info.State.Msgs, historyEvents)
	}
	return nil
}

var (
	t0    = time.Date(2025, time.January, 6, 9, 0, 0, 0, time.UTC)
	feb   = time.Date(2025, time.February, 1, 13, 0, 0, 0, time.UTC)
	npis  = []string{"1234567893", "1245319599", "1306849450"}
	roles = []string{"rn", "rn", "rn", "lpn", "ma", "physician"}
)

func eventType(e planned) (events.Type, int) {
	switch e.nth {
	case 0:
		return events.TypePatientEnrolled, 0
	case 1:
		return events.TypeConditionRecorded, 1
	case 2:
		return events.TypeConsentGranted, 2
	}
	return events.TypeTimeRecorded, 3
}

// seal builds, seals (chained to last[patient]) and encodes the event at
// log position pos. Payloads and times depend only on the plan.
func seal(reg *events.Registry, last []string, pos int, e planned) ([]byte, error) {
	i := int(e.patient)
	id := patientID(i)
	npi := npis[i%len(npis)]
	var at time.Time
	var payload any
	typ, kind := eventType(e)
	switch kind {
	case 0, 1, 2:
		at = t0.Add(time.Duration(pos) * time.Second) // onboarding through January
		switch kind {
		case 0:
			payload = events.PatientEnrolled{ID: id, MRN: "MRN" + id,
				Name: events.PersonName{Given: "Pat", Family: "Bench" + strconv.Itoa(i)}, BirthDate: "1948-05-17",
				MBI: "1EG4TE5MK73", BillingPractitionerNPI: npi}
		case 1:
			payload = events.ConditionRecorded{Code: "I50.22", Description: "Chronic systolic heart failure", ExpectedDurationMonths: 60, SignificantRisk: true}
		case 2:
			payload = events.ConsentGranted{ID: "c-" + id, Program: "ccm", PractitionerNPI: npi, Method: "verbal",
				ObtainedAt: at, ObtainedBy: "rn-1", Disclosures: []string{"availability_and_cost_sharing", "one_practitioner_per_month", "right_to_stop"}}
		}
	default:
		at = feb.Add(time.Duration(e.k) * 8 * time.Second).Truncate(time.Second)
		role := roles[int(e.k)%len(roles)]
		staff := events.Staff{ID: role + "-" + strconv.Itoa(int(e.k)%20), Name: "Staff " + role, Role: role}
		if role == "physician" {
			staff = events.Staff{ID: "dr-" + npi, Name: "Dr Bench", Role: role, NPI: npi}
		}
		payload = events.TimeRecorded{ID: fmt.Sprintf("te-%07d", e.k), PatientID: id, Staff: staff, Programs: []string{"ccm"},
			StartedAt: at, Minutes: 5 + int(e.k)%21, Activity: "medication reconciliation",
			Notes: "Reviewed medication list with the patient by phone; adherence discussed.", Outcome: "completed"}
	}
	env, err := reg.New(typ, payload)
	if err != nil {
		return nil, err
	}
	env.ID, env.Stream, env.PatientID = fmt.Sprintf("e-%07d", pos+1), events.PatientStream(id), id
	env.OccurredAt, env.RecordedAt = at, at.Add(3*time.Minute)
	env.Actor = events.Actor{ID: "rn-1", Role: "clinician", App: "bench"}
	env.CorrelationID = fmt.Sprintf("req-%07d", pos+1)
	if err := env.Seal(last[i]); err != nil {
		return nil, err
	}
	last[i] = env.Hash
	return env.Encode()
}

// BenchmarkHistory: see the comment at the top of this file. One op is one
// patient's whole history.
func BenchmarkHistory(b *testing.B) {
	dir := historyLog.Dir(b)
	srv, nc := logServer(b, dir)
	defer srv.Shutdown()
	defer nc.Close()
	ctx := context.Background()
	warmer, err := newBatchGetter(nc, "CARELOG")
	if err != nil {
		b.Fatal(err)
	}
	defer warmer.close()
	warm := func(id string) (int, error) { return warmer.all(ctx, "carelog."+events.PatientStream(id)) }

	b.Run("impl=carelog", func(b *testing.B) {
		l, err := jetstream.Open(ctx, nc, jetstream.Config{})
		if err != nil {
			b.Fatal(err)
		}
		var buf bytes.Buffer
		read := func(id string) (int, error) {
			page, err := history.Read(ctx, l, history.Query{PatientID: id, Limit: history.MaxLimit})
			if err != nil {
				return 0, err
			}
			if !page.Chain.Verified || page.NextAfter != 0 {
				return 0, fmt.Errorf("patient %s: chain %+v, nextAfter %d; want verified, one page", id, page.Chain, page.NextAfter)
			}
			buf.Reset()
			if err := json.NewEncoder(&buf).Encode(page); err != nil {
				return 0, err
			}
			return len(page.Events), nil
		}
		runHistory(b, warm, read)
	})
	b.Run("impl=raw", func(b *testing.B) {
		get, err := newBatchGetter(nc, "CARELOG")
		if err != nil {
			b.Fatal(err)
		}
		defer get.close()
		runHistory(b, warm, func(id string) (int, error) { return get.all(ctx, "carelog."+events.PatientStream(id)) })
	})
}

// runHistory reads b.N patients, drawn from a generator seeded the same on
// every side, through read (which returns how many events it got), right
// after an untimed pass of warm over the same patients; it reports the
// latency percentiles.
func runHistory(b *testing.B, warm, read func(patientID string) (int, error)) {
	b.Helper()
	rng := rand.New(rand.NewPCG(7, uint64(b.N)))
	ids := make([]string, b.N)
	for n := range ids {
		ids[n] = patientID(rng.IntN(historyPatients))
	}
	for _, id := range ids {
		if _, err := warm(id); err != nil {
			b.Fatal(err)
		}
	}
	lat := make([]time.Duration, 0, b.N)
	got := 0
	// Neither side pays for the garbage of what ran before it (the
	// population of the log, the other side).
	runtime.GC()
	b.ResetTimer()
	for _, id := range ids {
		start := time.Now()
		n, err := read(id)
		lat = append(lat, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
		if n < historyOnboarding {
			b.Fatalf("patient %s: got %d events, want at least %d", id, n, historyOnboarding)
		}
		got += n
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(percentile(lat, 50), "p50-µs")
	b.ReportMetric(percentile(lat, 99), "p99-µs")
	b.ReportMetric(float64(got)/float64(b.N), "events/op")
}

// percentile is the nearest-rank percentile of sorted latencies, in µs.
func percentile(sorted []time.Duration, p int) float64 {
	i := (len(sorted)*p + 99) / 100
	i = max(1, min(i, len(sorted)))
	return float64(sorted[i-1]) / float64(time.Microsecond)
}

// batchGetter fetches every message of one subject with batched direct gets
// on an inbox subscription it keeps.
type batchGetter struct {
	nc      *nats.Conn
	api     string
	inbox   string
	sub     *nats.Subscription
	request []byte
}

func newBatchGetter(nc *nats.Conn, stream string) (*batchGetter, error) {
	inbox := nats.NewInbox()
	sub, err := nc.SubscribeSync(inbox)
	if err != nil {
		return nil, err
	}
	return &batchGetter{nc: nc, api: "$JS.API.DIRECT.GET." + stream, inbox: inbox, sub: sub}, nil
}

func (g *batchGetter) close() { g.sub.Unsubscribe() }

// all returns the number of messages on subject, fetched in batches of up
// to 1024 messages starting after the last one received, until an
// end-of-batch status reports none pending.
func (g *batchGetter) all(ctx context.Context, subject string) (int, error) {
	n := 0
	for seq := uint64(1); ; {
		g.request = fmt.Appendf(g.request[:0], `{"seq":%d,"next_by_subj":%q,"batch":1024}`, seq, subject)
		if err := g.nc.PublishRequest(g.api, g.inbox, g.request); err != nil {
			return n, err
		}
		for {
			m, err := g.sub.NextMsgWithContext(ctx)
			if err != nil {
				return n, err
			}
			switch m.Header.Get("Status") {
			case "":
				n++
				if seq, err = strconv.ParseUint(m.Header.Get(natsjs.SequenceHeader), 10, 64); err != nil {
					return n, err
				}
				seq++
				continue
			case "204": // end of batch
				if m.Header.Get("Nats-Num-Pending") == "0" {
					return n, nil
				}
			case "404":
				return n, nil
			default:
				return n, fmt.Errorf("direct get %s: status %s %s", subject, m.Header.Get("Status"), m.Header.Get("Description"))
			}
			break
		}
	}
}

// logServer starts the embedded node (SyncAlways, as in production) on the
// benchmark log.
func logServer(b *testing.B, dir string) (*natsserver.Server, *nats.Conn) {
	b.Helper()
	srv, err := natsserver.Start(natsserver.Config{DataDir: dir})
	if err != nil {
		b.Fatal(err)
	}
	nc, err := srv.Connect()
	if err != nil {
		srv.Shutdown()
		b.Fatal(err)
	}
	return srv, nc
}
