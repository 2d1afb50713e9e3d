package postgres_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/carelog/carelog/services/billing/internal/memory"
	"github.com/carelog/carelog/services/billing/internal/readmodel"
	"github.com/carelog/carelog/services/billing/internal/readmodel/storetest"
)

// TestMemoryAndPostgresAgree feeds the same simulated practice to the
// in-memory and the PostgreSQL store and compares every query answer as
// JSON, byte for byte: after each step for a small practice, at the end for
// a larger one.
func TestMemoryAndPostgresAgree(t *testing.T) {
	for _, tc := range []struct {
		name      string
		patients  int
		everyStep bool
	}{
		{"patients=120/every-step", 120, true},
		{"patients=2000/end", 2000, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			stores := []readmodel.Store{memory.New(), open(t)}
			compare := func(step int) {
				t.Helper()
				mem, err := storetest.Dump(ctx, stores[0], storetest.SimulatedMonths)
				if err != nil {
					t.Fatal(err)
				}
				pg, err := storetest.Dump(ctx, stores[1], storetest.SimulatedMonths)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(mem, pg) {
					t.Fatalf("after step %d, postgres differs from memory:\n%s", step, firstDiff(pg, mem))
				}
				if len(mem) < 1000 {
					t.Fatalf("dump is only %d bytes: the simulation wrote nothing", len(mem))
				}
			}
			steps := storetest.Simulate(tc.patients)
			for i, st := range steps {
				for _, s := range stores {
					if err := s.Commit(ctx, st.Changes, st.Through); err != nil {
						t.Fatal(err)
					}
				}
				if tc.everyStep || i == len(steps)-1 {
					compare(i + 1)
				}
			}
		})
	}
}
