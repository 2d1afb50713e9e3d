package activitylog_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/eventlog/jetstream"
	"github.com/carelog/carelog/pkg/testenv"
)

// TestKillDuringBatch kills the service with SIGKILL while batches are
// being appended and checks, after a restart on the same data directory,
// that every item whose result came back "stored" is in the log exactly
// once, that nothing is half-written (every event verifies and the hash
// chains are intact), and that sending the interrupted batches again
// answers stored or duplicate for every item without storing any twice.
func TestKillDuringBatch(t *testing.T) {
	const (
		patients  = 50
		batchSize = 200
		clients   = 4
		killAfter = 6 // completed batches before the kill
	)
	dir := t.TempDir()
	// Enrol the patients before the service starts.
	{
		ns := testenv.JetStream(t, dir)
		e := &env{t: t, ns: ns, nc: testenv.Connect(t, ns)}
		log, err := jetstream.Open(context.Background(), e.nc, jetstream.Config{})
		if err != nil {
			t.Fatal(err)
		}
		e.log = log
		for p := range patients {
			e.enroll(fmt.Sprintf("p-%d", p))
		}
		e.nc.Close()
		ns.Shutdown()
	}

	child := func() *proc {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childEnv+"="+dir)
		return start(t, cmd, func(line string) (string, bool) { return strings.CutPrefix(line, "listening ") })
	}
	begun := time.Now().Add(-3 * time.Hour).Format(time.RFC3339)
	batchOf := func(n int) map[string]any {
		items := make([]any, batchSize)
		for i := range items {
			items[i] = with(timeEntry(fmt.Sprintf("k%d-%d", n, i), fmt.Sprintf("p-%d", (n*batchSize+i)%patients)), "startedAt", begun)
		}
		return map[string]any{"entries": items}
	}
	client := &http.Client{Timeout: 2 * time.Minute}
	send := func(base string, body map[string]any) (batchResponse, error) {
		j, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", base+"/v1/time-entries/batch", bytes.NewReader(j))
		req.Header.Set("Authorization", "Bearer "+adminToken)
		req.Header.Set("Content-Type", "application/json")
		res, err := client.Do(req)
		if err != nil {
			return batchResponse{}, err
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			return batchResponse{}, err
		}
		var out batchResponse
		if res.StatusCode != http.StatusOK || json.Unmarshal(b, &out) != nil {
			return out, fmt.Errorf("status %d: %s", res.StatusCode, b)
		}
		return out, nil
	}

	// Run 1: clients send batches until the child is killed.
	p1 := child()
	var (
		mu          sync.Mutex
		completed   = map[int]batchResponse{}
		interrupted []int
		next        int
		killed      bool
	)
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				if killed {
					mu.Unlock()
					return
				}
				n := next
				next++
				mu.Unlock()
				out, err := send(p1.url, batchOf(n))
				mu.Lock()
				if err != nil {
					interrupted = append(interrupted, n)
					mu.Unlock()
					return
				}
				completed[n] = out
				if len(completed) == killAfter && !killed {
					killed = true
					p1.kill() // SIGKILL while the other clients' batches are in flight
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(interrupted) == 0 {
		t.Fatalf("no batch was in flight at the kill; completed %d", len(completed))
	}
	stored := map[string]uint64{} // item id → sequence, for every "stored" result returned
	for _, out := range completed {
		for _, r := range out.Results {
			if r.Status != "stored" {
				t.Fatalf("run 1: got %+v, want every item stored", r)
			}
			stored[r.ID] = r.Sequence
		}
	}

	// Run 2: restart on the same data; the interrupted batches are sent again.
	p2 := child()
	sent := map[string]bool{}
	for id := range stored {
		sent[id] = true
	}
	var resumedStored, resumedDuplicate int
	for _, n := range interrupted {
		out, err := send(p2.url, batchOf(n))
		if err != nil {
			t.Fatalf("resend batch %d: %v", n, err)
		}
		for _, r := range out.Results {
			switch r.Status {
			case "stored":
				resumedStored++
			case "duplicate":
				resumedDuplicate++
			default:
				t.Fatalf("resend batch %d: got %+v, want stored or duplicate", n, r)
			}
			sent[r.ID] = true
		}
	}
	// A completed batch sent again is all duplicate, at the same positions.
	for n, first := range completed {
		out, err := send(p2.url, batchOf(n))
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range out.Results {
			if r.Status != "duplicate" || r.Sequence != first.Results[i].Sequence {
				t.Fatalf("completed batch %d again, item %d: got %s at %d, want duplicate at %d", n, i, r.Status, r.Sequence, first.Results[i].Sequence)
			}
		}
		break
	}
	p2.stop()

	// The log: every event verifies and chains (ReadAll checks both), every
	// entry sent is recorded exactly once, each "stored" one where it was
	// reported.
	ns := testenv.JetStream(t, dir)
	log, err := jetstream.Open(context.Background(), testenv.Connect(t, ns), jetstream.Config{})
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	at := map[string]uint64{}
	for rec, err := range log.ReadAll(context.Background(), 0) {
		if err != nil {
			t.Fatalf("reading the log after the kill: %v", err)
		}
		if rec.Type == events.TypeTimeRecorded {
			id := strings.TrimPrefix(rec.ID, "entry-")
			count[id]++
			at[id] = rec.Sequence
		}
	}
	for id, seq := range stored {
		if count[id] != 1 || at[id] != seq {
			t.Errorf("entry %s reported stored at %d: got %d copies, at %d", id, seq, count[id], at[id])
		}
	}
	for id := range sent {
		if count[id] != 1 {
			t.Errorf("entry %s: got %d copies in the log, want 1", id, count[id])
		}
	}
	if len(count) != len(sent) {
		t.Errorf("log holds %d entries, want the %d sent", len(count), len(sent))
	}
	t.Logf("before the kill: %d batches stored %d items; %d batches interrupted, of whose %d items %d were already in the log (duplicate on resend) and %d were not",
		len(completed), len(stored), len(interrupted), len(interrupted)*batchSize, resumedDuplicate, resumedStored)
}
