package host

import (
	"path/filepath"
	"testing"

	"github.com/sandbar-dev/sandbar/confine"
	"github.com/sandbar-dev/sandbar/workspace"
)

// explainSandbox is the smallest sandbox Explain can describe: one
// writable folder, with nothing in it to protect.
func explainSandbox(t *testing.T) (*workspace.Sandbox, string) {
	t.Helper()
	dir, err := filepath.EvalSymlinks(t.TempDir()) // macOS: /var is /private/var
	if err != nil {
		t.Fatal(err)
	}
	sb := &workspace.Sandbox{
		Policies: workspace.Policies{Folders: []string{dir}},
		Paths:    []confine.Path{{Path: dir, Access: confine.ReadWrite, Dir: true, Why: "workspace folder 1"}},
	}
	return sb, dir
}
