package confine_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/sandbar-dev/sandbar/confine"
	"github.com/sandbar-dev/sandbar/confine/confinetest"
)

func TestWritesOutsideTheWorkspaceFail(t *testing.T) {
	f := confinetest.NewFixture(t)
	sibling := filepath.Join(f.Root, "sibling")
	os.Mkdir(sibling, 0o755)
	// A link planted in the workspace before the run, pointing out.
	os.Symlink(f.Outside, filepath.Join(f.Workspace, "link-out"))
	tests := []struct {
		name string
		op   string
		args []string
	}{
		{"overwrite canary", "write", []string{f.Canary}},
		{"append canary", "append", []string{f.Canary}},
		{"truncate canary", "truncate", []string{f.Canary}},
		{"create outside", "write", []string{filepath.Join(f.Outside, "new")}},
		{"create in sibling", "write", []string{filepath.Join(sibling, "new")}},
		{"create in home", "write", []string{filepath.Join(f.Home, ".bashrc")}},
		{"dotdot out of workspace", "write", []string{filepath.Join(f.Workspace, "..", "outside", "canary.txt")}},
		{"symlink out of workspace", "write", []string{filepath.Join(f.Workspace, "link-out", "canary.txt")}},
		{"proc self root", "write", []string{"/proc/self/root" + f.Canary}},
		{"remove canary", "remove", []string{f.Canary}},
		{"rename canary into workspace", "rename", []string{f.Canary, filepath.Join(f.Workspace, "stolen")}},
		{"chmod canary", "chmod", []string{f.Canary}},
		{"mkdir outside", "mkdir", []string{filepath.Join(f.Outside, "d")}},
		{"write /etc", "write", []string{"/etc/sandbar-probe"}},
		{"write /usr", "write", []string{"/usr/sandbar-probe"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := confinetest.Probe(t, f.Spec(nil), tt.op, tt.args...)
			if !o.Failed(syscall.EROFS) && !o.Failed(syscall.EXDEV) && !o.Failed(syscall.EACCES) {
				t.Errorf("%s %v: %v; want EROFS, EXDEV or EACCES", tt.op, tt.args, o)
			}
			f.CheckCanary(t)
			if _, err := os.Lstat(filepath.Join(f.Outside, "new")); err == nil {
				t.Errorf("a file was created outside the workspace")
			}
		})
	}
}

func TestWorkspaceIsWritable(t *testing.T) {
	f := confinetest.NewFixture(t)
	target := filepath.Join(f.Workspace, "made-inside")
	o := confinetest.Probe(t, f.Spec(nil), "write", target)
	if o.Errno != 0 {
		t.Fatalf("write in workspace: %v", o)
	}
	b, err := os.ReadFile(target)
	if err != nil || string(b) != "written by probe\n" {
		t.Errorf("host sees %q, %v; want the probe's write", b, err)
	}
}

func TestTmpIsPrivate(t *testing.T) {
	f := confinetest.NewFixture(t)
	name := confinetest.Unique("sandbar-private-tmp")
	o := confinetest.Probe(t, f.Spec(nil), "write", filepath.Join("/tmp", name))
	if o.Errno != 0 {
		t.Fatalf("write to /tmp in the sandbox: %v", o)
	}
	if _, err := os.Lstat(filepath.Join("/tmp", name)); err == nil {
		os.Remove(filepath.Join("/tmp", name))
		t.Errorf("the sandbox's /tmp write reached the host's /tmp")
	}
	// And the host's /tmp is not visible inside.
	hostFile := filepath.Join(os.TempDir(), confinetest.Unique("sandbar-host"))
	os.WriteFile(hostFile, []byte("host"), 0o644)
	defer os.Remove(hostFile)
	if o := confinetest.Probe(t, f.Spec(nil), "read", hostFile); !o.Failed(syscall.ENOENT) {
		t.Errorf("reading the host's /tmp from the sandbox: %v; want ENOENT", o)
	}
}

func TestHiddenPaths(t *testing.T) {
	// Under /tmp the mounts alone hide (the sandbox's /tmp is writable,
	// see docs/hiding.md); outside it Landlock backs them, and nothing
	// below may change.
	for name, fixture := range map[string]func(testing.TB) *confinetest.Fixture{
		"under tmp":   confinetest.NewFixture,
		"outside tmp": confinetest.NewFixtureOutsideTmp,
	} {
		t.Run(name, func(t *testing.T) { testHiddenPaths(t, fixture(t)) })
	}
}

func testHiddenPaths(t *testing.T, f *confinetest.Fixture) {
	secrets := filepath.Join(f.Home, ".ssh")
	os.Mkdir(secrets, 0o700)
	key := filepath.Join(secrets, "id_ed25519")
	os.WriteFile(key, []byte("PRIVATE"), 0o600)
	netrc := filepath.Join(f.Home, ".netrc")
	os.WriteFile(netrc, []byte("machine x password y"), 0o600)
	// A hidden directory with one place re-allowed inside.
	deny := filepath.Join(f.Root, "deny")
	allowed := filepath.Join(deny, "allowed")
	os.MkdirAll(allowed, 0o755)
	os.WriteFile(filepath.Join(deny, "secret"), []byte("s"), 0o644)
	os.WriteFile(filepath.Join(allowed, "ok"), []byte("ok"), 0o644)
	// A hidden directory inside the workspace.
	wsSecret := filepath.Join(f.Workspace, "secrets")
	os.Mkdir(wsSecret, 0o755)
	os.WriteFile(filepath.Join(wsSecret, ".env"), []byte("TOKEN=1"), 0o644)

	spec := f.Spec(nil,
		confine.Path{Path: secrets, Access: confine.Hidden, Dir: true},
		confine.Path{Path: netrc, Access: confine.Hidden},
		confine.Path{Path: deny, Access: confine.Hidden, Dir: true},
		confine.Path{Path: allowed, Access: confine.ReadOnly, Dir: true},
		confine.Path{Path: wsSecret, Access: confine.Hidden, Dir: true},
	)
	tests := []struct {
		name string
		op   string
		args []string
		want []syscall.Errno
	}{
		{"read key", "read", []string{key}, []syscall.Errno{syscall.EACCES}},
		{"list dir", "list", []string{secrets}, []syscall.Errno{syscall.EACCES}},
		{"write into dir", "write", []string{filepath.Join(secrets, "authorized_keys")}, []syscall.Errno{syscall.EACCES, syscall.EROFS}},
		{"chmod dir open", "chmod", []string{secrets}, []syscall.Errno{syscall.EROFS}},
		{"read file", "read", []string{netrc}, []syscall.Errno{syscall.EACCES}},
		{"write file", "write", []string{netrc}, []syscall.Errno{syscall.EACCES, syscall.EROFS}},
		{"chmod file", "chmod", []string{netrc}, []syscall.Errno{syscall.EROFS}},
		{"list denied parent", "list", []string{deny}, []syscall.Errno{syscall.EACCES}},
		{"read denied sibling", "read", []string{filepath.Join(deny, "secret")}, []syscall.Errno{syscall.EACCES, syscall.ENOENT}},
		{"read in workspace secret dir", "read", []string{filepath.Join(wsSecret, ".env")}, []syscall.Errno{syscall.EACCES}},
		{"write in workspace secret dir", "write", []string{filepath.Join(wsSecret, "new")}, []syscall.Errno{syscall.EACCES, syscall.EROFS}},
		{"rename workspace secret dir away", "rename", []string{wsSecret, filepath.Join(f.Workspace, "moved")}, []syscall.Errno{syscall.EBUSY}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := confinetest.Probe(t, spec, tt.op, tt.args...)
			ok := false
			for _, e := range tt.want {
				ok = ok || o.Failed(e)
			}
			if !ok {
				t.Errorf("%s %v: %v; want one of %v", tt.op, tt.args, o, tt.want)
			}
		})
	}
	t.Run("re-allowed inside hidden", func(t *testing.T) {
		o := confinetest.Probe(t, spec, "read", filepath.Join(allowed, "ok"))
		if o.Errno != 0 || o.Out != "ok" {
			t.Errorf("reading re-allowed file: %v", o)
		}
	})
	if b, _ := os.ReadFile(key); string(b) != "PRIVATE" {
		t.Errorf("key changed on the host: %q", b)
	}
	if _, err := os.Lstat(filepath.Join(secrets, "authorized_keys")); err == nil {
		t.Errorf("a file appeared in the hidden directory on the host")
	}
}

func TestProtectedPathsInsideWorkspace(t *testing.T) {
	f := confinetest.NewFixture(t)
	gitDir := filepath.Join(f.Workspace, ".git")
	hooks := filepath.Join(gitDir, "hooks")
	os.MkdirAll(hooks, 0o755)
	config := filepath.Join(gitDir, "config")
	os.WriteFile(config, []byte("[core]\n"), 0o644)
	spec := f.Spec(nil,
		confine.Path{Path: hooks, Access: confine.ReadOnly, Dir: true},
		confine.Path{Path: config, Access: confine.ReadOnly},
	)
	spec.Pin = []string{gitDir}
	tests := []struct {
		name string
		op   string
		args []string
		want syscall.Errno
	}{
		{"write hook", "write", []string{filepath.Join(hooks, "pre-commit")}, syscall.EROFS},
		{"write config", "write", []string{config}, syscall.EROFS},
		{"replace config by rename", "rename", []string{filepath.Join(gitDir, "evil-config"), config}, syscall.EBUSY},
		{"rename hooks away", "rename", []string{hooks, filepath.Join(gitDir, "old-hooks")}, syscall.EBUSY},
		{"rename .git away", "rename", []string{gitDir, filepath.Join(f.Workspace, "git-old")}, syscall.EBUSY},
		{"remove hooks", "rmdir", []string{hooks}, syscall.EBUSY},
		{"remove config", "remove", []string{config}, syscall.EBUSY},
	}
	os.WriteFile(filepath.Join(gitDir, "evil-config"), []byte("[core]\nhooksPath = /tmp\n"), 0o644)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := confinetest.Probe(t, spec, tt.op, tt.args...)
			if !o.Failed(tt.want) {
				t.Errorf("%s %v: %v; want %s", tt.op, tt.args, o, tt.want)
			}
		})
	}
	if _, err := os.Lstat(filepath.Join(hooks, "pre-commit")); err == nil {
		t.Errorf("a hook appeared on the host")
	}
	if b, _ := os.ReadFile(config); string(b) != "[core]\n" {
		t.Errorf("config changed on the host: %q", b)
	}
	if !isDir(gitDir) || !isDir(hooks) {
		t.Errorf(".git or .git/hooks moved on the host")
	}
}

// Hard links cannot be made from the workspace to a file outside it: the
// two are different mounts.
func TestHardLinkOutIsRefused(t *testing.T) {
	f := confinetest.NewFixture(t)
	o := confinetest.Probe(t, f.Spec(nil), "link", f.Canary, filepath.Join(f.Workspace, "canary-link"))
	if !o.Failed(syscall.EXDEV) && !o.Failed(syscall.EPERM) && !o.Failed(syscall.EROFS) {
		t.Errorf("link from outside into the workspace: %v; want EXDEV", o)
	}
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}
