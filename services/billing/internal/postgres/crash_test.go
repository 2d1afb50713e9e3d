package postgres_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"testing"

	"github.com/carelog/carelog/services/billing/internal/postgres"
	"github.com/carelog/carelog/services/billing/internal/readmodel"
	"github.com/carelog/carelog/services/billing/internal/readmodel/storetest"
)

// The crash test proves the checkpoint-in-transaction contract at the store
// level: a projection killed at any point and restarted from Checkpoint()+1
// ends with the totals of an uninterrupted rebuild.
//
// Its "projection" is deliberately unforgiving: each sequence adds its
// events to per-patient counters read back from the store
// (read-modify-write), so a sequence applied twice counts twice, one lost
// counts nothing, and rows committed without their checkpoint (or the
// reverse) show up as a wrong total.

const (
	crashChildEnv = "CARELOG_BILLING_POSTGRES_CRASH_CHILD" // the database URL
	crashSeqs     = 150
	crashPatients = 400
	crashMonth    = "2025-03"
)

// crashEvents is how many events sequence seq carries for patient p
// (0: none). About one patient in four per sequence: over a hundred rows of
// each table, so commits take the COPY path and take long enough to be
// killed inside.
func crashEvents(seq uint64, p int) int {
	if (uint64(p)*31+seq*17)%4 != 0 {
		return 0
	}
	return 1 + int((uint64(p)+seq)%3)
}

func crashPatient(p int) string { return fmt.Sprintf("p-%03d", p) }

// crashApply applies sequence seq to s as a projection would: current
// counters from the store, plus seq's events, committed through seq.
func crashApply(ctx context.Context, s readmodel.Store, seq uint64) error {
	totals, err := s.Totals(ctx, crashMonth)
	if err != nil {
		return err
	}
	counts := map[string]int{}
	for _, t := range totals {
		counts[t.PatientID] = t.Minutes
	}
	var c readmodel.Changes
	for p := range crashPatients {
		n := crashEvents(seq, p)
		if n == 0 {
			continue
		}
		id := crashPatient(p)
		total := counts[id] + n
		c.PatientMonths = append(c.PatientMonths, readmodel.PatientMonth{PatientID: id, Month: crashMonth, Evaluation: evaluation(id, crashMonth, total), AsOfSequence: seq})
		c.TotalsReplaced = append(c.TotalsReplaced, readmodel.PatientMonthKey{PatientID: id, Month: crashMonth})
		c.Totals = append(c.Totals, readmodel.MinuteTotal{PatientID: id, Month: crashMonth, Program: "ccm", Role: "rn", Minutes: total, Counted: total})
		c.Patients = append(c.Patients, readmodel.Patient{PatientID: id, QualifyingConditions: total, ConsentStatus: "granted"})
	}
	return s.Commit(ctx, c, seq)
}

// runCrashChild applies sequences from the store's checkpoint on, printing
// each committed sequence, until killed or done. Every fifth sequence is
// delivered twice, as a redelivery after a reconnect would be.
func runCrashChild(url string) int {
	ctx := context.Background()
	s, err := postgres.Open(ctx, url)
	if err != nil {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		return 2
	}
	defer s.Close()
	cp, err := s.Checkpoint(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		return 2
	}
	for seq := cp + 1; seq <= crashSeqs; seq++ {
		if err := crashApply(ctx, s, seq); err != nil {
			fmt.Fprintln(os.Stderr, "crash child:", err)
			return 2
		}
		if seq%5 == 0 {
			if err := crashApply(ctx, s, seq); err != nil { // must be ignored
				fmt.Fprintln(os.Stderr, "crash child:", err)
				return 2
			}
		}
		fmt.Println(seq)
	}
	return 0
}

// killChildAfter runs the child on url and SIGKILLs it once it has printed
// a sequence at or beyond killAt; it returns the last sequence printed.
func killChildAfter(t *testing.T, url string, killAt uint64) uint64 {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+url)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	defer func() {
		if !killed {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	}()
	var last uint64
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		seq, err := strconv.ParseUint(sc.Text(), 10, 64)
		if err != nil {
			t.Fatalf("child printed %q", sc.Text())
		}
		last = seq
		if seq >= killAt {
			// SIGKILL: no deferred Close, no rollback; the commit under way
			// (sequence seq+1) dies with its connection.
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			killed = true
			_ = cmd.Wait()
			return last
		}
	}
	_ = cmd.Wait()
	killed = true
	t.Fatalf("child ended at sequence %d before being killed at %d: %v\n%s", last, killAt, cmd.ProcessState, stderr.String())
	return last
}

func TestCrashMidProjectionIsExactlyOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pg.NewDatabase(t)

	// Two children, each killed mid-way; the second resumes after the
	// first's checkpoint.
	first := killChildAfter(t, url, 40)
	second := killChildAfter(t, url, 90)
	s := openURL(t, url)
	cp, err := s.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// A killed child may have committed beyond the last line read.
	if cp < second || second <= first {
		t.Fatalf("checkpoint %d after children printed %d then %d", cp, first, second)
	}
	t.Logf("children killed after sequences %d and %d; resuming at %d", first, second, cp+1)
	for seq := cp + 1; seq <= crashSeqs; seq++ {
		if err := crashApply(ctx, s, seq); err != nil {
			t.Fatal(err)
		}
	}

	// A full, uninterrupted rebuild into a fresh database.
	rebuilt := open(t)
	for seq := uint64(1); seq <= crashSeqs; seq++ {
		if err := crashApply(ctx, rebuilt, seq); err != nil {
			t.Fatal(err)
		}
	}
	got, err := storetest.Dump(ctx, s, []string{crashMonth})
	if err != nil {
		t.Fatal(err)
	}
	want, err := storetest.Dump(ctx, rebuilt, []string{crashMonth})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("after crashes and resume, the store differs from a full rebuild:\n%s", firstDiff(got, want))
	}
	// And both hold the arithmetic truth.
	totals, err := s.Totals(ctx, crashMonth)
	if err != nil {
		t.Fatal(err)
	}
	byPatient := map[string]int{}
	for _, tt := range totals {
		byPatient[tt.PatientID] = tt.Minutes
	}
	for p := range crashPatients {
		want := 0
		for seq := uint64(1); seq <= crashSeqs; seq++ {
			want += crashEvents(seq, p)
		}
		if got := byPatient[crashPatient(p)]; got != want {
			t.Errorf("%s: total %d, want %d", crashPatient(p), got, want)
		}
	}
}

// firstDiff shows the first differing line of two JSON documents.
func firstDiff(got, want []byte) string {
	g, w := bytes.Split(got, []byte("\n")), bytes.Split(want, []byte("\n"))
	for i := 0; i < min(len(g), len(w)); i++ {
		if !bytes.Equal(g[i], w[i]) {
			return fmt.Sprintf("line %d:\ngot  %s\nwant %s", i+1, bytes.TrimSpace(g[i]), bytes.TrimSpace(w[i]))
		}
	}
	return fmt.Sprintf("one is a prefix of the other (%d and %d lines)", len(g), len(w))
}
