package storetest_test

import (
	"testing"

	"github.com/carelog/carelog/services/billing/internal/memory"
	"github.com/carelog/carelog/services/billing/internal/readmodel"
	"github.com/carelog/carelog/services/billing/internal/readmodel/storetest"
)

// TestMemory runs the suite against the in-memory store; the PostgreSQL
// store runs it in internal/postgres, beside a test that compares the two
// directly.
func TestMemory(t *testing.T) {
	storetest.Run(t, func(t *testing.T) readmodel.Store {
		s := memory.New()
		t.Cleanup(func() { s.Close() })
		return s
	})
}
