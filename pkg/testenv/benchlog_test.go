package testenv

import (
	"os"
	"path/filepath"
	"testing"
)

// settle syncs every regular file under the directory, nested ones too,
// and reports a directory it cannot walk.
func TestSettle(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "jetstream", "msgs"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"carelog.lock", "jetstream/msgs/1.blk"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("data"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := settle(dir); err != nil {
		t.Errorf("settle(%s): %v, want nil", dir, err)
	}
	if err := settle(filepath.Join(dir, "missing")); err == nil {
		t.Error("settle of a missing directory: nil, want an error")
	}
}
