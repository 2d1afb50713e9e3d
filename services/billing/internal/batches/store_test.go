package batches

import (
	"testing"

	"github.com/carelog/carelog/services/billing/internal/memory"
	"github.com/carelog/carelog/services/billing/internal/readmodel"
)

// openStore is the real in-memory read store (it passes the readmodel
// contract suite), closed by t.Cleanup.
func openStore(t *testing.T) readmodel.Store {
	t.Helper()
	s := memory.New()
	t.Cleanup(func() { s.Close() })
	return s
}
