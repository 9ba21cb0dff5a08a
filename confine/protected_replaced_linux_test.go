package confine_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/sandbar-dev/sandbar/confine"
	"github.com/sandbar-dev/sandbar/confine/confinetest"
)

// TestProtectedStaysReadOnlyWhenReplacedOnTheHost replaces a protected
// file inside the workspace on the host while a sandbox runs, as `git
// config`, `git remote add` or `git push -u` rewrite .git/config: a lock
// file renamed over it. The kernel then drops the read-only mount that
// protected the old file, in every mount namespace; the command, which
// has been trying to change the file all along, must still be refused,
// or it could set core.hooksPath or core.fsmonitor and run code on the
// host at the user's next git command.
func TestProtectedStaysReadOnlyWhenReplacedOnTheHost(t *testing.T) {
	const hostText = "[core]\n\tbare = false\n# written by the host\n"
	for _, way := range []string{"append", "link", "reopen", "replace"} {
		t.Run(way, func(t *testing.T) {
			f := confinetest.NewFixture(t)
			config := filepath.Join(f.Workspace, ".git", "config")
			must(t, os.MkdirAll(filepath.Dir(config), 0o755))
			must(t, os.WriteFile(config, []byte("[core]\n"), 0o644))
			spec := f.Spec(nil, confine.Path{Path: config, Access: confine.ReadOnly, Why: "protected: .git/config"})
			o, res := confinetest.ProbeWhileResult(t, spec, func() {
				lock := config + ".lock"
				must(t, os.WriteFile(lock, []byte(hostText), 0o644))
				must(t, os.Rename(lock, config))
			}, "spin-write", config, way, "200")
			if o.Errno == 0 {
				t.Fatalf("%s %s after the host replaced it: %v; want it refused", way, config, o)
			}
			if !o.Failed(syscall.EROFS) && !o.Failed(syscall.EBUSY) && !o.Failed(syscall.EXDEV) {
				t.Errorf("%s %s after the host replaced it: %v; want EROFS, EBUSY or EXDEV", way, config, o)
			}
			if b, err := os.ReadFile(config); err != nil || string(b) != hostText {
				t.Errorf("%s on the host: %q, %v; want the host's own text", config, b, err)
			}
			found := false
			for _, v := range res.Violations {
				if v.Path == config && strings.Contains(v.Rule, ".git/config") {
					found = true
				}
			}
			if !found {
				t.Errorf("violations %+v; want one for %s naming its rule", res.Violations, config)
			}
		})
	}
}
