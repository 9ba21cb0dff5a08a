package notify

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestResolve resolves paths for the test's own thread, whose view of
// the file system is the host's, so every answer can be checked here.
func TestResolve(t *testing.T) {
	dir := fixture(t)
	for link, target := range map[string]string{
		"link2":    "real/deep",
		"loop1":    "loop2",
		"loop2":    "loop1",
		"abs":      filepath.Join(dir, "real"),
		"chain":    "safe",
		"deeplink": "real/deep/file",
		"real/up":  "/deep", // absolute: the host's /deep, or real/deep in real as the root
		"tolink":   "link",
	} {
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	cwd, err = filepath.EvalSymlinks(cwd)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		root   string // RESOLVE_IN_ROOT's root; "" for the task's
		base   string // for a relative p; "$D" is the fixture
		p      string
		follow bool
		want   string // "$D" is the fixture, "$CWD" the test's working directory
		mode   uint32 // the file type found, when set
		err    error  // instead of want
	}{
		{name: "relative", base: "$D", p: "sub/new", want: "$D/sub/new"},
		{name: "absolute ignores the base", base: "$D/sub", p: "$D/real/new", want: "$D/real/new"},
		{name: "dot and dotdot", base: "$D/sub", p: "./../real/./new", want: "$D/real/new"},
		{name: "trailing slash names the last component", base: "$D", p: "newdir//", want: "$D/newdir"},
		{name: "symlinked parent", base: "$D", p: "link/new", want: "$D/real/new"},
		{name: "link to a link", base: "$D", p: "tolink/new", want: "$D/real/new"},
		{name: "absolute link", base: "$D", p: "abs/new", want: "$D/real/new"},
		{name: "dotdot after a link is physical", base: "$D", p: "link2/../new", want: "$D/real/new"},
		{name: "dotdot stops at the root", base: "$D", p: "/../../..$D/new", want: "$D/new"},
		{name: "final link not followed", base: "$D", p: "safe", want: "$D/safe"},
		{name: "final link followed", base: "$D", p: "safe", follow: true, want: "$D/.envrc"},
		{name: "final chain followed", base: "$D", p: "chain", follow: true, want: "$D/.envrc"},
		{name: "final link into a linked directory", base: "$D", p: "deeplink", follow: true, want: "$D/real/deep/file"},
		{name: "final link to a directory followed", base: "$D", p: "link", follow: true, want: "$D/real"},
		{name: "final name that is a file", base: "$D", p: "existing.txt", follow: true, want: "$D/existing.txt", mode: unix.S_IFREG},
		{name: "final name that is a directory", base: "$D", p: "sub", follow: true, want: "$D/sub", mode: unix.S_IFDIR},
		{name: "final link followed to a file", base: "$D", p: "elink", follow: true, want: "$D/existing.txt", mode: unix.S_IFREG},
		{name: "final link not followed is a link", base: "$D", p: "elink", want: "$D/elink", mode: unix.S_IFLNK},
		{name: "final name missing", base: "$D", p: "sub/none", follow: true, want: "$D/sub/none", mode: modeMissing},
		{name: "root", base: "$D", p: "/", want: "/"},
		{name: "dot names the directory", base: "$D/sub", p: ".", want: "$D/sub"},
		{name: "dotdot names the parent", base: "$D/sub", p: "..", want: "$D"},
		{name: "/proc/self is the task", base: "$D", p: "/proc/self/cwd/new", want: "$CWD/new"},
		{name: "/proc/thread-self is the task", base: "$D", p: "/proc/thread-self/cwd/new", want: "$CWD/new"},
		{name: "a workspace link to /proc/self", base: "$D", p: "selfcwd/new", want: "$CWD/new"},
		{name: "in root: absolute path", root: "$D/real", p: "/deep/new", want: "$D/real/deep/new"},
		{name: "in root: absolute link", root: "$D/real", p: "up/new", want: "$D/real/deep/new"},
		{name: "in root: dotdot stops at the root", root: "$D/real", p: "../../new", want: "$D/real/new"},
		{name: "in root: the root is resolved", root: "$D/link", p: "new", want: "$D/real/new"},
		{name: "link loop", base: "$D", p: "loop1/new", err: unix.ELOOP},
		{name: "final link loop", base: "$D", p: "loop1", follow: true, err: unix.ELOOP},
		{name: "final link loop not followed", base: "$D", p: "loop1", want: "$D/loop1"},
		{name: "missing parent", base: "$D", p: "nope/new", err: unix.ENOENT},
		{name: "file as parent", base: "$D", p: "existing.txt/new", err: unix.ENOTDIR},
		{name: "link to a file as parent", base: "$D", p: "elink/new", err: unix.ENOTDIR},
	}
	expand := func(s string) string {
		return strings.NewReplacer("$D", dir, "$CWD", cwd).Replace(s)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			self := newTask()
			self.reset(unix.Gettid())
			defer self.close()
			// The kernel's lookup where it can, and the walk alone.
			for name, resolve := range map[string]func(root, base, p string, follow, stat bool) (resolved, error){
				"resolve": self.resolve, "resolveWalk": self.resolveWalk,
			} {
				stat := tt.mode != 0
				got, err := resolve(expand(tt.root), expand(tt.base), expand(tt.p), tt.follow, stat)
				if tt.err != nil {
					if !errors.Is(err, tt.err) {
						t.Errorf("%s = %q, %v; want error %v", name, got.path, err, tt.err)
					}
					continue
				}
				if want := expand(tt.want); err != nil || got.path != want {
					t.Errorf("%s = %q, %v; want %q", name, got.path, err, want)
				}
				if stat && got.mode != tt.mode {
					t.Errorf("%s: mode %#o, want %#o", name, got.mode, tt.mode)
				}
			}
		})
	}
}

func TestSplitLast(t *testing.T) {
	tests := []struct{ p, dir, name string }{
		{"a", "", "a"},
		{"a/b", "a/", "b"},
		{"/a", "/", "a"},
		{"a/b//", "a/", "b"},
		{"/", "/", ""},
		{"//", "/", ""},
		{"", "", ""},
	}
	for _, tt := range tests {
		if dir, name := splitLast(tt.p); dir != tt.dir || name != tt.name {
			t.Errorf("splitLast(%q) = %q, %q; want %q, %q", tt.p, dir, name, tt.dir, tt.name)
		}
	}
}
