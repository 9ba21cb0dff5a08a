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

// TestUncreatableStaysProtectedWhenTheHostCreatesIt: a protected path
// that does not exist when the sandbox starts has no mount to protect
// it; the watch refuses its creation. When the host creates it while the
// sandbox runs (VS Code writing .vscode/settings.json, a hook manager
// making .git/hooks), the command lying in wait must still be refused,
// for the path and for everything beneath it.
func TestUncreatableStaysProtectedWhenTheHostCreatesIt(t *testing.T) {
	tests := []struct {
		name string
		// protect is the Uncreatable path, relative to the workspace.
		protect string
		// create makes it on the host.
		create func(t *testing.T, path string)
		// target is what the command changes, relative to the
		// workspace, and way how (a spin-write way).
		target, way string
	}{
		{"file the host writes", ".envrc", func(t *testing.T, p string) {
			must(t, os.WriteFile(p, []byte("export FROM_THE_HOST=1\n"), 0o644))
		}, ".envrc", "append"},
		{"directory the host makes", ".git/hooks", func(t *testing.T, p string) {
			must(t, os.MkdirAll(p, 0o755))
		}, ".git/hooks/pre-commit", "create"},
		{"file in a directory the host makes", ".vscode", func(t *testing.T, p string) {
			must(t, os.MkdirAll(p, 0o755))
			must(t, os.WriteFile(filepath.Join(p, "settings.json"), []byte("{}\n"), 0o644))
		}, ".vscode/settings.json", "append"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := confinetest.NewFixture(t)
			must(t, os.MkdirAll(filepath.Join(f.Workspace, ".git"), 0o755))
			protect := filepath.Join(f.Workspace, tt.protect)
			target := filepath.Join(f.Workspace, tt.target)
			spec := f.Spec(nil)
			spec.Uncreatable = []confine.Path{{Path: protect, Why: "protected: " + tt.protect}}
			o, res := confinetest.ProbeWhileResult(t, spec, func() { tt.create(t, protect) }, "spin-write", target, tt.way, "200")
			if o.Errno == 0 {
				t.Fatalf("%s %s after the host created %s: %v; want it refused", tt.way, target, protect, o)
			}
			if b, err := os.ReadFile(target); err == nil && strings.Contains(string(b), "sandbox") {
				t.Errorf("%s on the host was written by the sandbox: %q", target, b)
			}
			found := false
			for _, v := range res.Violations {
				if v.Path == target && strings.Contains(v.Rule, tt.protect) {
					found = true
				}
			}
			if !found {
				t.Errorf("violations %+v; want one for %s naming its rule", res.Violations, target)
			}
		})
	}
}
