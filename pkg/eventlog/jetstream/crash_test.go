package jetstream_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/carelog/carelog/pkg/eventlog"
	"github.com/carelog/carelog/pkg/eventlog/eventlogtest"
	"github.com/carelog/carelog/pkg/eventlog/jetstream"
	"github.com/carelog/carelog/pkg/natsserver"
	"github.com/carelog/carelog/pkg/testenv"
)

const crashChildEnv = "CARELOG_CRASH_CHILD_DIR"

// TestMain lets the test binary act as the crashing writer: re-executed with
// CARELOG_CRASH_CHILD_DIR set, it appends forever and prints each
// acknowledgement until it is killed.
func TestMain(m *testing.M) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		crashChild(dir)
		os.Exit(0)
	}
	code := m.Run()
	replayLog.Remove()
	os.Exit(code)
}

func crashChild(dir string) {
	srv, err := natsserver.Start(natsserver.Config{DataDir: dir})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(2)
	}
	nc, err := srv.Connect()
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(2)
	}
	l, err := jetstream.Open(context.Background(), nc, jetstream.Config{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(2)
	}
	var out sync.Mutex
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stream := fmt.Sprintf("patient.p-%d", w)
			rev := eventlog.NoStream
			for i := 0; ; i++ {
				id := fmt.Sprintf("w%d-%06d", w, i)
				res, err := l.Append(context.Background(), rev, eventlogtest.Event(id, stream, i))
				if err != nil {
					fmt.Fprintln(os.Stderr, "child append:", err)
					os.Exit(3)
				}
				rev = eventlog.Revision(res.Sequence)
				out.Lock()
				fmt.Fprintf(os.Stdout, "ack %s %d\n", id, res.Sequence)
				out.Unlock()
			}
		}()
	}
	wg.Wait()
}

// TestKillNineLosesNoAcknowledgedEvent appends from a child process, kills it
// with SIGKILL mid-stream, reopens the store and checks that every event the
// child saw acknowledged is present at its position, with the chain intact.
func TestKillNineLosesNoAcknowledgedEvent(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[string]uint64{}
	sc := bufio.NewScanner(stdout)
	deadline := time.AfterFunc(2*time.Minute, func() { cmd.Process.Kill() })
	defer deadline.Stop()
	const killAfter = 400
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 || f[0] != "ack" {
			continue
		}
		seq, _ := strconv.ParseUint(f[2], 10, 64)
		acked[f[1]] = seq
		if len(acked) == killAfter {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
		}
	}
	_ = cmd.Wait()
	if len(acked) < killAfter {
		t.Fatalf("child acknowledged only %d events before exiting, want %d; stderr: %s", len(acked), killAfter, stderr.String())
	}

	srv := testenv.JetStream(t, dir)
	nc := testenv.Connect(t, srv)
	l, err := jetstream.Open(context.Background(), nc, jetstream.Config{})
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]uint64{}
	for _, rec := range eventlogtest.All(t, l, 0) { // verifies every hash and chain
		stored[rec.ID] = rec.Sequence
	}
	for id, seq := range acked {
		if got, ok := stored[id]; !ok || got != seq {
			t.Errorf("acknowledged event %s at %d: got present=%v at %d", id, seq, ok, got)
		}
	}
	t.Logf("acknowledged %d, stored after kill -9: %d", len(acked), len(stored))
}
