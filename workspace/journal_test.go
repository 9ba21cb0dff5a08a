package workspace_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sandbar-dev/sandbar/workspace"
)

// A journal in the gob format of earlier versions cannot be read: once
// its sandbar is gone, the next run says so and removes it; while it runs,
// the journal stays.
func TestLegacyJournalIsReported(t *testing.T) {
	dir := t.TempDir()
	gone := filepath.Join(dir, "2147483647-1.gob") // no such PID
	running := filepath.Join(dir, "1-1.gob")       // PID 1 always runs
	for _, p := range []string{gone, running} {
		if err := os.WriteFile(p, []byte("gob"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	_, err := workspace.RecoverJournals(dir, t.TempDir())
	if err == nil || !strings.Contains(err.Error(), gone) || !strings.Contains(err.Error(), "earlier version") {
		t.Errorf("RecoverJournals error = %v; want one naming %s", err, gone)
	}
	if _, err := os.Stat(gone); err == nil {
		t.Errorf("%s is still there", gone)
	}
	if _, err := os.Stat(running); err != nil {
		t.Errorf("the journal of a running sandbar was removed: %v", err)
	}
}
