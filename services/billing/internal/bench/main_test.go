package bench_test

import (
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/carelog/carelog/pkg/testenv"
)

// PostgreSQL is started by the first benchmark that needs it, not here, so
// that `go test ./...` without -bench starts nothing; TestMain stops it.
var (
	pgMu  sync.Mutex
	pgSrv *testenv.Postgres
)

// postgresServer returns the package's PostgreSQL, starting it on first use.
func postgresServer(b *testing.B) *testenv.Postgres {
	b.Helper()
	pgMu.Lock()
	defer pgMu.Unlock()
	if pgSrv == nil {
		srv, err := testenv.StartPostgres()
		if err != nil {
			b.Fatal(err)
		}
		pgSrv = srv
	}
	return pgSrv
}

func TestMain(m *testing.M) {
	code := m.Run()
	pgMu.Lock()
	if pgSrv != nil {
		if err := pgSrv.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = max(code, 1)
		}
	}
	pgMu.Unlock()
	rebuildLog.Remove()
	os.Exit(code)
}
