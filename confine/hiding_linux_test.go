package confine_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/sandbar-dev/sandbar/confine"
	"github.com/sandbar-dev/sandbar/confine/confinetest"
)

// hidingFixture is a fixture outside /tmp with a hidden file and a
// hidden directory in its home, so that Landlock backs the mounts
// (docs/hiding.md), and a few things around them.
func hidingFixture(t *testing.T) (*confinetest.Fixture, confine.Spec) {
	f := confinetest.NewFixtureOutsideTmp(t)
	for name, content := range map[string]string{
		".netrc":                "machine x password y",
		".ssh/id_ed25519":       "PRIVATE",
		".bashrc":               "alias ll='ls -l'\n",
		".config/app/settings":  "{}",
		".secretdir/allowed/ok": "ok",
		".secretdir/secret":     "s",
	} {
		p := filepath.Join(f.Home, name)
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		must(t, os.WriteFile(p, []byte(content), 0o644))
	}
	for _, d := range []string{"a", "b"} {
		must(t, os.Mkdir(filepath.Join(f.Workspace, d), 0o755))
	}
	must(t, os.WriteFile(filepath.Join(f.Workspace, "a", "moved"), []byte("m"), 0o644))
	spec := f.Spec(nil,
		confine.Path{Path: filepath.Join(f.Home, ".netrc"), Access: confine.Hidden},
		confine.Path{Path: filepath.Join(f.Home, ".ssh"), Access: confine.Hidden, Dir: true},
		confine.Path{Path: filepath.Join(f.Home, ".secretdir"), Access: confine.Hidden, Dir: true},
		confine.Path{Path: filepath.Join(f.Home, ".secretdir", "allowed"), Access: confine.ReadOnly, Dir: true},
	)
	return f, spec
}

// TestHidingLeavesTheRestAlone checks that what backs hidden paths
// against the host takes nothing else away: everything that existed at
// start reads as before, and what the command makes where it may write,
// it can read, rename and move between directories.
func TestHidingLeavesTheRestAlone(t *testing.T) {
	f, spec := hidingFixture(t)
	tests := []struct {
		name string
		op   string
		args []string
		want string
	}{
		{"read a file beside a hidden one", "read", []string{filepath.Join(f.Home, ".bashrc")}, "alias ll='ls -l'\n"},
		{"read a file in a directory beside a hidden one", "read", []string{filepath.Join(f.Home, ".config", "app", "settings")}, "{}"},
		{"read the canary", "read", []string{f.Canary}, confinetest.CanaryText},
		{"read what a hidden directory shows again", "read", []string{filepath.Join(f.Home, ".secretdir", "allowed", "ok")}, "ok"},
		{"read the system", "read", []string{"/etc/hostname"}, ""},
		{"write and read in the workspace", "write-read", []string{filepath.Join(f.Workspace, "new")}, "written by probe\n"},
		{"write and read in /tmp", "write-read", []string{"/tmp/new"}, "written by probe\n"},
		{"move between directories of the workspace", "rename", []string{filepath.Join(f.Workspace, "a", "moved"), filepath.Join(f.Workspace, "b", "moved")}, ""},
		{"list the home", "list", []string{f.Home}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := confinetest.Probe(t, spec, tt.op, tt.args...)
			if o.Errno != 0 {
				t.Fatalf("%s %v: %v", tt.op, tt.args, o)
			}
			if tt.want != "" && o.Out != tt.want {
				t.Errorf("%s %v read %q; want %q", tt.op, tt.args, o.Out, tt.want)
			}
		})
	}
	t.Run("read stdin again from a file the sandbox cannot see", func(t *testing.T) {
		// The host's /tmp is not the sandbox's.
		in := filepath.Join(t.TempDir(), "stdin")
		must(t, os.WriteFile(in, []byte("from the host"), 0o644))
		stdin, err := os.Open(in)
		must(t, err)
		defer stdin.Close()
		spec := spec
		spec.Argv = confinetest.Argv("read", "/dev/stdin")
		out, stderr, res := confinetest.RunStdin(t, spec, stdin)
		if o := confinetest.Parse(t, out); res.ExitCode != 0 || o.Errno != 0 || o.Out != "from the host" {
			t.Errorf("reading /dev/stdin: %v, exit %d\n%s", o, res.ExitCode, stderr)
		}
	})
}

// TestHidingFailsClosed checks what Landlock costs: what appears on the
// host, while the sandbox runs, in a directory that leads to a hidden
// path cannot be read there, whatever its name, until the next run.
// Deeper down, in directories that lead to no hidden path, changes show
// as they always did.
func TestHidingFailsClosed(t *testing.T) {
	tests := []struct {
		name    string
		read    string // relative to the home
		replace func(t *testing.T, home string)
		refused bool
	}{
		{"a new file beside a hidden one", ".new-token", func(t *testing.T, home string) {
			must(t, os.WriteFile(filepath.Join(home, ".new-token"), []byte(secretText), 0o600))
		}, true},
		{"a file beside a hidden one, saved by rename", ".bashrc", func(t *testing.T, home string) {
			renameOver(t, filepath.Join(home, ".bashrc"))
		}, true},
		{"a file deeper down, saved by rename", ".config/app/settings", func(t *testing.T, home string) {
			renameOver(t, filepath.Join(home, ".config", "app", "settings"))
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, spec := hidingFixture(t)
			target := filepath.Join(f.Home, tt.read)
			o := confinetest.ProbeWhile(t, spec, func() { tt.replace(t, f.Home) }, "read-when-told", target)
			switch {
			case tt.refused && !o.Failed(syscall.EACCES):
				t.Errorf("reading %s after the host wrote it: %v; want EACCES", target, o)
			case !tt.refused && (o.Errno != 0 || o.Out != secretText):
				t.Errorf("reading %s after the host wrote it: %v; want what the host wrote", target, o)
			}
		})
	}
}
