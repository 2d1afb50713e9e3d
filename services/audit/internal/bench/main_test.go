package bench_test

import (
	"os"
	"testing"
)

// TestMain removes the benchmark log, which the first benchmark that needs it
// writes (so that `go test ./...` without -bench writes nothing).
func TestMain(m *testing.M) {
	code := m.Run()
	historyLog.Remove()
	os.Exit(code)
}
