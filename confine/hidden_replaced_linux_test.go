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

// secretText is what the host writes where a hidden path was; it must
// never reach the sandbox.
const secretText = "SECRET-WRITTEN-BY-THE-HOST"

// TestHiddenStaysHiddenWhenReplacedOnTheHost replaces hidden paths on the
// host while a sandbox runs, the way editors, `git credential-store`,
// `gh auth` and cloud CLIs save: a new file renamed over the old one, or
// a directory removed and made again. The kernel then drops, in every
// mount namespace, the mount that hid the old one; the command in the
// sandbox, which has been trying to read the path all along, must still
// be refused.
func TestHiddenStaysHiddenWhenReplacedOnTheHost(t *testing.T) {
	tests := []struct {
		name string
		// hide is the hidden path, relative to the fixture's home; dir
		// says whether it is a directory.
		hide string
		dir  bool
		// read is what the command tries to read, relative to the home.
		read string
		// replace changes the home on the host while the command runs.
		replace func(t *testing.T, home string)
	}{
		{
			name: "file renamed over",
			hide: ".netrc",
			read: ".netrc",
			replace: func(t *testing.T, home string) {
				renameOver(t, filepath.Join(home, ".netrc"))
			},
		},
		{
			name: "file removed and written again",
			hide: ".git-credentials",
			read: ".git-credentials",
			replace: func(t *testing.T, home string) {
				p := filepath.Join(home, ".git-credentials")
				must(t, os.Remove(p))
				must(t, os.WriteFile(p, []byte(secretText), 0o600))
			},
		},
		{
			name: "directory removed and made again",
			hide: ".aws",
			dir:  true,
			read: ".aws/credentials",
			replace: func(t *testing.T, home string) {
				p := filepath.Join(home, ".aws")
				must(t, os.RemoveAll(p))
				must(t, os.Mkdir(p, 0o700))
				must(t, os.WriteFile(filepath.Join(p, "credentials"), []byte(secretText), 0o600))
			},
		},
		{
			name: "parent of a hidden directory made again",
			hide: ".config/gh",
			dir:  true,
			read: ".config/gh/hosts.yml",
			replace: func(t *testing.T, home string) {
				p := filepath.Join(home, ".config")
				must(t, os.RemoveAll(p))
				must(t, os.MkdirAll(filepath.Join(p, "gh"), 0o700))
				must(t, os.WriteFile(filepath.Join(p, "gh", "hosts.yml"), []byte(secretText), 0o600))
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := confinetest.NewFixtureOutsideTmp(t)
			hidden := filepath.Join(f.Home, tt.hide)
			if tt.dir {
				must(t, os.MkdirAll(hidden, 0o700))
				must(t, os.WriteFile(filepath.Join(hidden, "old"), []byte("old secret"), 0o600))
			} else {
				must(t, os.MkdirAll(filepath.Dir(hidden), 0o755))
				must(t, os.WriteFile(hidden, []byte("old secret"), 0o600))
			}
			spec := f.Spec(nil, confine.Path{Path: hidden, Access: confine.Hidden, Dir: tt.dir, Why: "test"})
			target := filepath.Join(f.Home, tt.read)
			o := confinetest.ProbeWhile(t, spec, func() { tt.replace(t, f.Home) }, "spin-read", target, "1000")
			if strings.Contains(o.Out, secretText) || o.Errno == 0 {
				t.Fatalf("reading %s after the host replaced it: %v; want it refused", target, o)
			}
			if !o.Failed(syscall.EACCES) {
				t.Errorf("reading %s after the host replaced it: %v; want EACCES", target, o)
			}
			// The host's file is the host's: the sandbox changed nothing.
			if b, err := os.ReadFile(target); err != nil || string(b) != secretText {
				t.Errorf("%s on the host: %q, %v", target, b, err)
			}
		})
	}
}

// renameOver replaces path as an editor saves it: a new file beside it,
// renamed over it.
func renameOver(t *testing.T, path string) {
	t.Helper()
	tmp := path + ".tmp"
	must(t, os.WriteFile(tmp, []byte(secretText), 0o600))
	must(t, os.Rename(tmp, path))
}
