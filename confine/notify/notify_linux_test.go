package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// fixture makes the directory a case starts in, and returns its path with
// symbolic links resolved:
//
//	existing.txt            a file
//	sub/                    a directory
//	real/deep/              directories
//	link -> real            a relative link to a directory
//	elink -> existing.txt   a link to a file
//	safe -> .envrc          a dangling link to a protected name
//	protected/dir/          where hooks must not be created
//	plink -> protected/dir
//	selfcwd -> /proc/self/cwd
func fixture(t *testing.T) string {
	t.Helper()
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"sub", "real/deep", "protected/dir"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "existing.txt"), []byte("existing\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{
		"link":    "real",
		"elink":   "existing.txt",
		"safe":    ".envrc",
		"plink":   "protected/dir",
		"selfcwd": "/proc/self/cwd",
	} {
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// refuseProtected is the decision the tests serve with: refuse any entry
// named .envrc or .vscode, and DIR/protected/dir/hooks.
func refuseProtected(dir string) func(Op) bool {
	hooks := filepath.Join(dir, "protected", "dir", "hooks")
	return func(op Op) bool {
		base := filepath.Base(op.Path)
		return base == ".envrc" || base == ".vscode" || op.Path == hooks
	}
}

// child is a started child: the test binary confined by the notify
// filter, whose listener the test holds.
type child struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
	listener       int
}

// startChild starts the test binary as a child that runs ops in dir.
// prepare, if not nil, may change the command before it starts (bwrap
// around it, a pipe on its standard input). The listener is closed when
// the test ends.
func startChild(t testing.TB, dir string, prepare func(*exec.Cmd), ops ...string) *child {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: exec.Command(self, ops...)}
	c.cmd.Env = append(os.Environ(), childEnv+"=1", dirEnv+"="+dir)
	c.cmd.Stdout, c.cmd.Stderr = &c.stdout, &c.stderr
	sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	theirs := os.NewFile(uintptr(sp[1]), "notify-socket")
	c.cmd.ExtraFiles = []*os.File{theirs} // fd 3 in the child
	if prepare != nil {
		prepare(c.cmd)
	}
	err = c.cmd.Start()
	theirs.Close()
	if err != nil {
		unix.Close(sp[0])
		t.Fatal(err)
	}
	c.listener, err = RecvFD(sp[0])
	unix.Close(sp[0])
	if err != nil {
		c.cmd.Wait()
		t.Fatalf("receiving the listener from the child: %v; stderr: %q", err, c.stderr.String())
	}
	t.Cleanup(func() { unix.Close(c.listener) })
	return c
}

// report parses what the child printed.
func (c *child) report(t *testing.T) childReport {
	t.Helper()
	var r childReport
	if err := json.Unmarshal(c.stdout.Bytes(), &r); err != nil {
		t.Fatalf("parsing the child's report: %v; stdout: %q, stderr: %q", err, c.stdout.String(), c.stderr.String())
	}
	return r
}

// run is what one confined child did and what the supervisor saw.
type run struct {
	pid      int // the child's PID, as the test sees it
	report   childReport
	decided  []Op     // every Op Decide was called with
	ops      []Op     // every Op reported: all of the decided ones, completed
	notified []string // the system call of every notification received
	created  int64    // calls counted as creating
}

// serveChild serves c's notifications until the child exits and checks
// that Serve then returns by itself (POLLHUP). It reports every call,
// and refuses with EACCES those refuse says to refuse.
func serveChild(t *testing.T, c *child, refuse func(Op) bool, h hooks) (*run, error) {
	t.Helper()
	r := &run{pid: c.cmd.Process.Pid}
	h.received = func(nr int32) {
		name := fmt.Sprint(nr)
		if c, ok := calls[nr]; ok {
			name = c.name
		}
		r.notified = append(r.notified, name)
	}
	var created atomic.Int64
	sup := Supervisor{
		Decide: func(op *Op) Answer {
			r.decided = append(r.decided, *op)
			a := Answer{Report: func(op Op) { r.ops = append(r.ops, op) }}
			if refuse(*op) {
				a.Errno = unix.EACCES
			}
			return a
		},
		Created: &created,
	}
	defer func() { r.created = created.Load() }()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- serve(ctx, c.listener, sup, h) }()
	waited := make(chan error, 1)
	go func() { waited <- c.cmd.Wait() }()
	var serveErr, waitErr error
	select {
	case serveErr = <-served:
		// Serve returns by itself only once the child is gone; if it
		// failed instead, the child would wait for an answer forever.
		if serveErr != nil {
			c.cmd.Process.Kill()
		}
		waitErr = <-waited
	case waitErr = <-waited:
		select {
		case serveErr = <-served:
		case <-time.After(10 * time.Second):
			cancel()
			<-served
			t.Errorf("Serve did not return within 10s of the child's exit (no POLLHUP on the listener)")
		}
	}
	if serveErr != nil {
		t.Errorf("Serve: %v", serveErr)
	}
	return r, waitErr
}

// runChild runs ops in a confined child in dir, under the filter for
// creations only, serving it with refuse.
func runChild(t *testing.T, dir string, refuse func(Op) bool, ops ...string) *run {
	t.Helper()
	return runChildWith(t, dir, nil, refuse, ops...)
}

// runWritesChild is runChild under the filter that sends every write and
// socket.
func runWritesChild(t *testing.T, dir string, refuse func(Op) bool, ops ...string) *run {
	t.Helper()
	return runChildWith(t, dir, func(cmd *exec.Cmd) { cmd.Env = append(cmd.Env, writesEnv+"=1") }, refuse, ops...)
}

func runChildWith(t *testing.T, dir string, prepare func(*exec.Cmd), refuse func(Op) bool, ops ...string) *run {
	t.Helper()
	c := startChild(t, dir, prepare, ops...)
	r, err := serveChild(t, c, refuse, hooks{})
	if err != nil {
		t.Fatalf("child: %v; stderr: %q", err, c.stderr.String())
	}
	r.report = c.report(t)
	return r
}

// comm is what /proc/PID/comm says for the test binary.
func comm(t *testing.T) string {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	name := filepath.Base(self)
	return name[:min(len(name), 15)]
}

func TestServe(t *testing.T) {
	type testCase struct {
		name      string
		amd64Only bool     // the call exists only on amd64
		ops       []string // operations for the child, in the fixture
		want      []string // their results
		// wantOps are the Ops decide sees; "$D" in Path and From
		// stands for the fixture. Pid, Tid and Comm are the child's.
		wantOps []Op
		// extraNotified counts notifications that reach Serve but not
		// decide.
		extraNotified int
		absent        []string // must not exist afterwards
		present       []string // must exist afterwards
	}
	op := func(syscall, operation, path string) Op {
		return Op{Syscall: syscall, Operation: operation, Path: path}
	}
	withFrom := func(o Op, from string) Op { o.From = from; return o }
	withTarget := func(o Op, target string) Op { o.Target = target; return o }
	ok, eacces := []string{"OK"}, []string{"EACCES"}

	tests := []testCase{
		// Creating .envrc, every way there is.
		{name: "open O_CREAT .envrc refused", amd64Only: true, ops: []string{"open:.envrc"}, want: eacces,
			wantOps: []Op{op("open", "create", "$D/.envrc")}, absent: []string{".envrc"}},
		{name: "openat O_CREAT .envrc refused", ops: []string{"openat:.envrc"}, want: eacces,
			wantOps: []Op{op("openat", "create", "$D/.envrc")}, absent: []string{".envrc"}},
		{name: "creat .envrc refused", amd64Only: true, ops: []string{"creat:.envrc"}, want: eacces,
			wantOps: []Op{op("creat", "create", "$D/.envrc")}, absent: []string{".envrc"}},
		{name: "openat2 O_CREAT .envrc refused", ops: []string{"openat2:.envrc"}, want: eacces,
			wantOps: []Op{op("openat2", "create", "$D/.envrc")}, absent: []string{".envrc"}},
		{name: "mknodat .envrc refused", ops: []string{"mknodat:.envrc"}, want: eacces,
			wantOps: []Op{op("mknodat", "mknod", "$D/.envrc")}, absent: []string{".envrc"}},
		{name: "mknod .envrc refused", amd64Only: true, ops: []string{"mknod:.envrc"}, want: eacces,
			wantOps: []Op{op("mknod", "mknod", "$D/.envrc")}, absent: []string{".envrc"}},
		{name: "renameat existing file to .envrc refused", ops: []string{"renameat:existing.txt:.envrc"}, want: eacces,
			wantOps: []Op{withFrom(op("renameat", "rename", "$D/.envrc"), "$D/existing.txt")},
			absent:  []string{".envrc"}, present: []string{"existing.txt"}},
		{name: "renameat2 existing file to .envrc refused", ops: []string{"renameat2:existing.txt:.envrc"}, want: eacces,
			wantOps: []Op{withFrom(op("renameat2", "rename", "$D/.envrc"), "$D/existing.txt")},
			absent:  []string{".envrc"}, present: []string{"existing.txt"}},
		{name: "rename existing file to .envrc refused", amd64Only: true, ops: []string{"rename:existing.txt:.envrc"}, want: eacces,
			wantOps: []Op{withFrom(op("rename", "rename", "$D/.envrc"), "$D/existing.txt")},
			absent:  []string{".envrc"}, present: []string{"existing.txt"}},
		{name: "linkat .envrc refused", ops: []string{"linkat:existing.txt:.envrc"}, want: eacces,
			wantOps: []Op{withFrom(op("linkat", "link", "$D/.envrc"), "$D/existing.txt")}, absent: []string{".envrc"}},
		{name: "link .envrc refused", amd64Only: true, ops: []string{"link:existing.txt:.envrc"}, want: eacces,
			wantOps: []Op{withFrom(op("link", "link", "$D/.envrc"), "$D/existing.txt")}, absent: []string{".envrc"}},
		{name: "symlinkat .envrc refused", ops: []string{"symlinkat:existing.txt:.envrc"}, want: eacces,
			wantOps: []Op{withTarget(op("symlinkat", "symlink", "$D/.envrc"), "existing.txt")}, absent: []string{".envrc"}},
		{name: "symlink .envrc refused", amd64Only: true, ops: []string{"symlink:existing.txt:.envrc"}, want: eacces,
			wantOps: []Op{withTarget(op("symlink", "symlink", "$D/.envrc"), "existing.txt")}, absent: []string{".envrc"}},

		// .vscode and hooks.
		{name: "mkdirat .vscode refused", ops: []string{"mkdirat:.vscode"}, want: eacces,
			wantOps: []Op{op("mkdirat", "mkdir", "$D/.vscode")}, absent: []string{".vscode"}},
		{name: "mkdir .vscode refused", amd64Only: true, ops: []string{"mkdir:.vscode"}, want: eacces,
			wantOps: []Op{op("mkdir", "mkdir", "$D/.vscode")}, absent: []string{".vscode"}},
		{name: "mkdirat hooks refused", ops: []string{"mkdirat:protected/dir/hooks"}, want: eacces,
			wantOps: []Op{op("mkdirat", "mkdir", "$D/protected/dir/hooks")}, absent: []string{"protected/dir/hooks"}},

		// Everything else goes through.
		{name: "openat O_CREAT other.txt allowed", ops: []string{"openat:other.txt"}, want: ok,
			wantOps: []Op{op("openat", "create", "$D/other.txt")}, present: []string{"other.txt"}},
		{name: "open O_CREAT other.txt allowed", amd64Only: true, ops: []string{"open:other.txt"}, want: ok,
			wantOps: []Op{op("open", "create", "$D/other.txt")}, present: []string{"other.txt"}},
		{name: "openat2 O_CREAT other.txt allowed", ops: []string{"openat2:other.txt"}, want: ok,
			wantOps: []Op{op("openat2", "create", "$D/other.txt")}, present: []string{"other.txt"}},
		{name: "mkdirat other allowed", ops: []string{"mkdirat:other"}, want: ok,
			wantOps: []Op{op("mkdirat", "mkdir", "$D/other")}, present: []string{"other"}},
		{name: "mkdir other allowed", amd64Only: true, ops: []string{"mkdir:other"}, want: ok,
			wantOps: []Op{op("mkdir", "mkdir", "$D/other")}, present: []string{"other"}},
		{name: "renameat2 to an allowed name", ops: []string{"renameat2:existing.txt:moved.txt"}, want: ok,
			wantOps: []Op{withFrom(op("renameat2", "rename", "$D/moved.txt"), "$D/existing.txt")},
			absent:  []string{"existing.txt"}, present: []string{"moved.txt"}},
		{name: "symlinkat to anywhere with an allowed name", ops: []string{"symlinkat:/etc/passwd:pw"}, want: ok,
			wantOps: []Op{withTarget(op("symlinkat", "symlink", "$D/pw"), "/etc/passwd")}, present: []string{"pw"}},
		{name: "linkat AT_SYMLINK_FOLLOW reports the file the link names", ops: []string{"linkat-follow:elink:hard"}, want: ok,
			wantOps: []Op{withFrom(op("linkat", "link", "$D/hard"), "$D/existing.txt")}, present: []string{"hard"}},
		{name: "linkat without AT_SYMLINK_FOLLOW reports the link", ops: []string{"linkat:elink:hard"}, want: ok,
			wantOps: []Op{withFrom(op("linkat", "link", "$D/hard"), "$D/elink")}, present: []string{"hard"}},

		// How paths are resolved.
		{name: "relative path after chdir", ops: []string{"chdir:sub", "openat:.envrc"}, want: []string{"OK", "EACCES"},
			wantOps: []Op{op("openat", "create", "$D/sub/.envrc")}, absent: []string{"sub/.envrc"}},
		{name: "dotdot after chdir", ops: []string{"chdir:sub", "mkdirat:../protected/dir/hooks"}, want: []string{"OK", "EACCES"},
			wantOps: []Op{op("mkdirat", "mkdir", "$D/protected/dir/hooks")}, absent: []string{"protected/dir/hooks"}},
		{name: "dirfd-relative openat", ops: []string{"openat-dirfd:sub:.envrc"}, want: eacces,
			wantOps: []Op{op("openat", "create", "$D/sub/.envrc")}, absent: []string{"sub/.envrc"}},
		{name: "absolute path", ops: []string{"chdir:sub", "mkdirat:$D/protected/dir/hooks"}, want: []string{"OK", "EACCES"},
			wantOps: []Op{op("mkdirat", "mkdir", "$D/protected/dir/hooks")}, absent: []string{"protected/dir/hooks"}},
		{name: "symlinked parent directory", ops: []string{"openat:link/.envrc"}, want: eacces,
			wantOps: []Op{op("openat", "create", "$D/real/.envrc")}, absent: []string{"real/.envrc"}},
		{name: "symlinked parent directory, allowed name", ops: []string{"mkdirat:link/new"}, want: ok,
			wantOps: []Op{op("mkdirat", "mkdir", "$D/real/new")}, present: []string{"real/new"}},
		{name: "hooks through a symlinked parent", ops: []string{"mkdirat:plink/hooks"}, want: eacces,
			wantOps: []Op{op("mkdirat", "mkdir", "$D/protected/dir/hooks")}, absent: []string{"protected/dir/hooks"}},
		{name: "hooks through /proc/self/cwd", ops: []string{"chdir:protected", "mkdirat:/proc/self/cwd/dir/hooks"}, want: []string{"OK", "EACCES"},
			wantOps: []Op{op("mkdirat", "mkdir", "$D/protected/dir/hooks")}, absent: []string{"protected/dir/hooks"}},
		{name: "hooks through /proc/thread-self/cwd", ops: []string{"chdir:protected/dir", "mkdirat:/proc/thread-self/cwd/hooks"}, want: []string{"OK", "EACCES"},
			wantOps: []Op{op("mkdirat", "mkdir", "$D/protected/dir/hooks")}, absent: []string{"protected/dir/hooks"}},
		{name: "hooks through a workspace link to /proc/self/cwd", ops: []string{"chdir:protected/dir", "mkdirat:../../selfcwd/hooks"}, want: []string{"OK", "EACCES"},
			wantOps: []Op{op("mkdirat", "mkdir", "$D/protected/dir/hooks")}, absent: []string{"protected/dir/hooks"}},
		{name: "openat2 RESOLVE_IN_ROOT", ops: []string{"openat2-in-root:protected:/dir/hooks"}, want: eacces,
			wantOps: []Op{op("openat2", "create", "$D/protected/dir/hooks")}, absent: []string{"protected/dir/hooks"}},

		// The last component.
		// Calls that make a new entry fail with EEXIST where there is
		// one, even a dangling link: nothing to decide.
		{name: "mkdirat does not follow a final symlink", ops: []string{"mkdirat:safe"}, want: []string{"EEXIST"},
			extraNotified: 1, absent: []string{".envrc"}},
		{name: "symlinkat does not follow a final symlink", ops: []string{"symlinkat:x:safe"}, want: []string{"EEXIST"},
			extraNotified: 1, absent: []string{".envrc"}},
		{name: "mkdirat of an existing directory", ops: []string{"mkdirat:sub"}, want: []string{"EEXIST"}, extraNotified: 1},
		{name: "linkat onto an existing file", ops: []string{"linkat:existing.txt:elink"}, want: []string{"EEXIST"}, extraNotified: 1},
		{name: "renameat replaces a final symlink, does not follow it", ops: []string{"renameat:existing.txt:safe"}, want: ok,
			wantOps: []Op{withFrom(op("renameat", "rename", "$D/safe"), "$D/existing.txt")}, absent: []string{".envrc"}},
		{name: "openat O_CREAT follows a dangling final symlink", ops: []string{"openat:safe"}, want: eacces,
			wantOps: []Op{op("openat", "create", "$D/.envrc")}, absent: []string{".envrc"}},
		// It fails with EEXIST: nothing to decide.
		{name: "openat O_CREAT|O_EXCL does not follow a final symlink", ops: []string{"openat-excl:safe"}, want: []string{"EEXIST"},
			extraNotified: 1, absent: []string{".envrc"}},

		// Calls that create nothing.
		{name: "openat O_RDONLY is never notified", ops: []string{"read:existing.txt"}, want: ok},
		{name: "open O_RDONLY is never notified", amd64Only: true, ops: []string{"open-rdonly:existing.txt"}, want: ok},
		{name: "openat O_WRONLY|O_TRUNC is never notified", ops: []string{"openat-wronly:existing.txt"}, want: ok},
		{name: "openat2 O_RDONLY reaches Serve but not decide", ops: []string{"openat2-rdonly:existing.txt"}, want: ok, extraNotified: 1},

		// A listener of the child's own would get the calls first.
		{name: "a second listener is refused", ops: []string{"second-listener", "openat:.envrc"}, want: []string{"EPERM", "EACCES"},
			wantOps: []Op{op("openat", "create", "$D/.envrc")}, absent: []string{".envrc"}},
	}
	wantComm := comm(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.amd64Only && runtime.GOARCH != "amd64" {
				t.Skipf("%s has only the *at forms of these calls", runtime.GOARCH)
			}
			t.Parallel()
			dir := fixture(t)
			ops := make([]string, len(tt.ops))
			for i, o := range tt.ops {
				ops[i] = strings.ReplaceAll(o, "$D", dir)
			}
			got := runChild(t, dir, refuseProtected(dir), ops...)
			if diff := cmp.Diff(tt.want, got.report.Results); diff != "" {
				t.Errorf("results (-want +got):\n%s", diff)
			}
			if got.report.Pid != got.pid {
				t.Errorf("the child says its PID is %d, the test started %d", got.report.Pid, got.pid)
			}
			var wantOps []Op
			for _, o := range tt.wantOps {
				o.Pid, o.Tid, o.Comm = got.pid, got.pid, wantComm
				o.Path = strings.ReplaceAll(o.Path, "$D", dir)
				o.From = strings.ReplaceAll(o.From, "$D", dir)
				wantOps = append(wantOps, o)
			}
			if diff := cmp.Diff(wantOps, got.ops); diff != "" {
				t.Errorf("Ops reported (-want +got):\n%s", diff)
			}
			if want := len(tt.wantOps) + tt.extraNotified; len(got.notified) != want {
				t.Errorf("Serve received %d notifications %q, want %d", len(got.notified), got.notified, want)
			}
			for _, p := range tt.absent {
				if _, err := os.Lstat(filepath.Join(dir, p)); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s exists afterwards (Lstat: %v), want it absent", p, err)
				}
			}
			for _, p := range tt.present {
				if _, err := os.Lstat(filepath.Join(dir, p)); err != nil {
					t.Errorf("%s is missing afterwards: %v", p, err)
				}
			}
		})
	}
}

// TestServeWrites runs calls under the filter that sends every write and
// socket: each reaches Decide once, with the operation and the path the
// kernel acts on, and calls that change nothing do not.
func TestServeWrites(t *testing.T) {
	type testCase struct {
		name      string
		amd64Only bool
		ops       []string
		want      []string
		wantOps   []Op // "$D" stands for the fixture
		// extraNotified counts notifications that reach Serve but not
		// Decide.
		extraNotified int
		created       int64 // calls counted as creating
	}
	op := func(syscall, operation, path string) Op {
		return Op{Syscall: syscall, Operation: operation, Path: path}
	}
	ok := []string{"OK"}
	tests := []testCase{
		{name: "openat O_WRONLY of an existing file", ops: []string{"openat-wronly:existing.txt"}, want: ok,
			wantOps: []Op{op("openat", "write", "$D/existing.txt")}},
		{name: "openat O_RDWR", ops: []string{"openat-rdwr:existing.txt"}, want: ok,
			wantOps: []Op{op("openat", "write", "$D/existing.txt")}},
		{name: "openat O_RDONLY|O_TRUNC truncates", ops: []string{"openat-rdonly-trunc:existing.txt"}, want: ok,
			wantOps: []Op{op("openat", "write", "$D/existing.txt")}},
		{name: "openat O_CREAT of an existing file writes it", ops: []string{"openat:existing.txt"}, want: ok,
			wantOps: []Op{op("openat", "write", "$D/existing.txt")}, created: 1},
		{name: "openat O_CREAT of a new file creates it", ops: []string{"openat:new.txt"}, want: ok,
			wantOps: []Op{op("openat", "create", "$D/new.txt")}, created: 1},
		{name: "open for writing follows a final link", ops: []string{"openat-wronly:elink"}, want: ok,
			wantOps: []Op{op("openat", "write", "$D/existing.txt")}},
		{name: "openat2 O_WRONLY", ops: []string{"openat2-wronly:existing.txt"}, want: ok,
			wantOps: []Op{op("openat2", "write", "$D/existing.txt")}, created: 1},
		{name: "openat O_TMPFILE names the directory", ops: []string{"openat-tmpfile:sub"}, want: ok,
			wantOps: []Op{op("openat", "create", "$D/sub")}},
		{name: "open O_WRONLY", amd64Only: true, ops: []string{"open-wronly:existing.txt"}, want: ok,
			wantOps: []Op{op("open", "write", "$D/existing.txt")}},
		{name: "truncate", ops: []string{"truncate:elink"}, want: ok,
			wantOps: []Op{op("truncate", "truncate", "$D/existing.txt")}},
		{name: "unlinkat", ops: []string{"unlinkat:existing.txt"}, want: ok,
			wantOps: []Op{op("unlinkat", "unlink", "$D/existing.txt")}},
		{name: "unlinkat a link removes the link", ops: []string{"unlinkat:elink"}, want: ok,
			wantOps: []Op{op("unlinkat", "unlink", "$D/elink")}},
		{name: "unlinkat AT_REMOVEDIR", ops: []string{"unlinkat-dir:sub"}, want: ok,
			wantOps: []Op{op("unlinkat", "rmdir", "$D/sub")}},
		{name: "unlink", amd64Only: true, ops: []string{"unlink:existing.txt"}, want: ok,
			wantOps: []Op{op("unlink", "unlink", "$D/existing.txt")}},
		{name: "rmdir", amd64Only: true, ops: []string{"rmdir:link/deep"}, want: ok,
			wantOps: []Op{op("rmdir", "rmdir", "$D/real/deep")}},
		{name: "fchmodat follows a final link", ops: []string{"fchmodat:elink"}, want: ok,
			wantOps: []Op{op("fchmodat", "chmod", "$D/existing.txt")}},
		{name: "fchmodat2 AT_SYMLINK_NOFOLLOW", ops: []string{"fchmodat2-nofollow:elink"}, want: []string{"ENOTSUP"},
			wantOps: []Op{op("fchmodat2", "chmod", "$D/elink")}},
		{name: "chmod", amd64Only: true, ops: []string{"chmod:existing.txt"}, want: ok,
			wantOps: []Op{op("chmod", "chmod", "$D/existing.txt")}},
		{name: "fchownat", ops: []string{"fchownat:elink"}, want: ok,
			wantOps: []Op{op("fchownat", "chown", "$D/existing.txt")}},
		{name: "fchownat AT_EMPTY_PATH names the descriptor", ops: []string{"fchownat-empty:sub"}, want: ok,
			wantOps: []Op{op("fchownat", "chown", "$D/sub")}},
		{name: "chown", amd64Only: true, ops: []string{"chown:elink"}, want: ok,
			wantOps: []Op{op("chown", "chown", "$D/existing.txt")}},
		{name: "lchown", amd64Only: true, ops: []string{"lchown:elink"}, want: ok,
			wantOps: []Op{op("lchown", "chown", "$D/elink")}},
		{name: "utimensat", ops: []string{"utimensat:elink"}, want: ok,
			wantOps: []Op{op("utimensat", "utimes", "$D/existing.txt")}},
		{name: "utimensat AT_SYMLINK_NOFOLLOW", ops: []string{"utimensat-nofollow:elink"}, want: ok,
			wantOps: []Op{op("utimensat", "utimes", "$D/elink")}},
		{name: "utimes", amd64Only: true, ops: []string{"utimes:existing.txt"}, want: ok,
			wantOps: []Op{op("utimes", "utimes", "$D/existing.txt")}},
		{name: "utime", amd64Only: true, ops: []string{"utime:existing.txt"}, want: ok,
			wantOps: []Op{op("utime", "utimes", "$D/existing.txt")}},
		{name: "futimesat", amd64Only: true, ops: []string{"futimesat:existing.txt"}, want: ok,
			wantOps: []Op{op("futimesat", "utimes", "$D/existing.txt")}},
		{name: "setxattr and removexattr", ops: []string{"setxattr:existing.txt", "removexattr:existing.txt"}, want: []string{"OK", "OK"},
			wantOps: []Op{op("setxattr", "setxattr", "$D/existing.txt"), op("removexattr", "removexattr", "$D/existing.txt")}},
		{name: "renameat counts as creating", ops: []string{"renameat:existing.txt:moved.txt"}, want: ok,
			wantOps: []Op{{Syscall: "renameat", Operation: "rename", Path: "$D/moved.txt", From: "$D/existing.txt"}}, created: 1},
		{name: "refused", ops: []string{"unlinkat:protected/dir", "fchmodat:plink"}, want: []string{"EACCES", "EACCES"},
			wantOps: []Op{op("unlinkat", "unlink", "$D/protected/dir"), op("fchmodat", "chmod", "$D/protected/dir")}},
		{name: "socket AF_UNIX", ops: []string{"socket-unix"}, want: ok,
			wantOps: []Op{{Syscall: "socket", Operation: "socket", Domain: unix.AF_UNIX, Type: unix.SOCK_STREAM | unix.SOCK_CLOEXEC}}},

		// Calls that change nothing reach Serve but not Decide.
		{name: "openat O_WRONLY of a missing file", ops: []string{"openat-wronly:none"}, want: []string{"ENOENT"}, extraNotified: 1},
		{name: "openat O_WRONLY of a FIFO", ops: []string{"openat-nonblock:fifo"}, want: []string{"ENXIO"}, extraNotified: 1},
		{name: "openat O_WRONLY of a directory", ops: []string{"openat-wronly:sub"}, want: []string{"EISDIR"}, extraNotified: 1},
		{name: "openat O_NOFOLLOW of a link", ops: []string{"openat-nofollow:elink"}, want: []string{"ELOOP"}, extraNotified: 1},
		{name: "fchmodat of a missing file", ops: []string{"fchmodat:none"}, want: []string{"ENOENT"}, extraNotified: 1},
		{name: "openat2 for reading", ops: []string{"openat2-rdonly:existing.txt"}, want: ok, extraNotified: 1, created: 1},
		// Never sent.
		{name: "openat O_RDONLY", ops: []string{"read:existing.txt"}, want: ok},
		{name: "futimens", ops: []string{"futimens:existing.txt"}, want: ok},
		{name: "socket AF_INET", ops: []string{"socket-tcp"}, want: ok},
	}
	wantComm := comm(t)
	refuse := func(op Op) bool { return strings.Contains(op.Path, "/protected/") }
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.amd64Only && runtime.GOARCH != "amd64" {
				t.Skipf("%s has only the *at forms of these calls", runtime.GOARCH)
			}
			t.Parallel()
			dir := fixture(t)
			if err := unix.Mkfifo(filepath.Join(dir, "fifo"), 0o644); err != nil {
				t.Fatal(err)
			}
			got := runWritesChild(t, dir, refuse, tt.ops...)
			if diff := cmp.Diff(tt.want, got.report.Results); diff != "" {
				t.Errorf("results (-want +got):\n%s", diff)
			}
			var wantOps []Op
			for _, o := range tt.wantOps {
				o.Pid, o.Tid, o.Comm = got.pid, got.pid, wantComm
				o.Path = strings.ReplaceAll(o.Path, "$D", dir)
				o.From = strings.ReplaceAll(o.From, "$D", dir)
				wantOps = append(wantOps, o)
			}
			if diff := cmp.Diff(wantOps, got.ops); diff != "" {
				t.Errorf("Ops reported (-want +got):\n%s", diff)
			}
			if want := len(tt.wantOps) + tt.extraNotified; len(got.notified) != want {
				t.Errorf("Serve received %d notifications %q, want %d", len(got.notified), got.notified, want)
			}
			if got.created != tt.created {
				t.Errorf("%d calls counted as creating, want %d", got.created, tt.created)
			}
		})
	}
}

// TestServeReturnsWhenChildExits: when the last process using the filter
// exits, the listener reports POLLHUP and Serve returns nil (serveChild
// fails the test otherwise).
func TestServeReturnsWhenChildExits(t *testing.T) {
	dir := fixture(t)
	got := runChild(t, dir, refuseProtected(dir))
	if len(got.ops) != 0 || len(got.notified) != 0 {
		t.Errorf("a child that does nothing was notified: ops %v, notifications %q", got.ops, got.notified)
	}
}

// TestServeCancel: Serve returns when its context is cancelled, though the
// child still runs; once the listener is closed, the child's creating
// calls fail with ENOSYS rather than go through unchecked.
func TestServeCancel(t *testing.T) {
	dir := fixture(t)
	var stdin *os.File
	c := startChild(t, dir, func(cmd *exec.Cmd) {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stdin, stdin = r, w
		t.Cleanup(func() { r.Close(); w.Close() })
	}, "wait", "openat:after.txt")
	t.Cleanup(func() { c.cmd.Process.Kill(); c.cmd.Wait() })

	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() {
		served <- Serve(ctx, c.listener, Supervisor{Decide: func(*Op) Answer {
			t.Error("Decide called before the child made a call")
			return Answer{}
		}})
	}()
	cancel()
	select {
	case err := <-served:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Serve returned %v, want %v", err, context.Canceled)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return within 10s of its context being cancelled")
	}

	unix.Close(c.listener)
	stdin.Close() // the child goes on to create after.txt
	if err := c.cmd.Wait(); err != nil {
		t.Fatalf("child: %v; stderr: %q", err, c.stderr.String())
	}
	if diff := cmp.Diff([]string{"OK", "ENOSYS"}, c.report(t).Results); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	if _, err := os.Lstat(filepath.Join(dir, "after.txt")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after.txt was created with no supervisor (Lstat: %v)", err)
	}
}

// TestServeChecksNotificationStillValid kills the child after Serve has
// read its call and before it reports it: the notification is then no
// longer valid (its PID could already name another process), and what
// was read must not be reported.
func TestServeChecksNotificationStillValid(t *testing.T) {
	dir := fixture(t)
	c := startChild(t, dir, nil, "openat:.envrc")
	var killed []int
	var mu sync.Mutex
	h := hooks{beforeValidate: func(tid int) {
		mu.Lock()
		defer mu.Unlock()
		killed = append(killed, tid)
		pidfd, err := unix.PidfdOpen(c.cmd.Process.Pid, 0)
		if err != nil {
			t.Errorf("pidfd_open: %v", err)
			return
		}
		defer unix.Close(pidfd)
		if err := unix.Kill(c.cmd.Process.Pid, unix.SIGKILL); err != nil {
			t.Errorf("kill: %v", err)
			return
		}
		// A pidfd polls readable once the process has exited, by which
		// time its pending notification is gone.
		fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
		for {
			n, err := unix.Poll(fds, 10_000)
			if err == unix.EINTR {
				continue
			}
			if err != nil || n == 0 {
				t.Errorf("waiting for the child to exit: %v (ready: %d)", err, n)
			}
			return
		}
	}}
	r, err := serveChild(t, c, func(Op) bool { return false }, h)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || !exit.Sys().(syscall.WaitStatus).Signaled() {
		t.Fatalf("child: %v, want it killed; stderr: %q", err, c.stderr.String())
	}
	if len(killed) != 1 {
		t.Fatalf("the hook ran %d times, want once", len(killed))
	}
	if len(r.ops) != 0 {
		t.Errorf("a call was reported for a process that died while Serve read it: %v", r.ops)
	}
	if _, err := os.Lstat(filepath.Join(dir, ".envrc")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf(".envrc exists (Lstat: %v)", err)
	}
}

// Calls that name what does not exist change nothing and never reach
// Decide, but Protected hears of each, with the path the entry would
// have, so that a path something outside the sandbox creates meanwhile
// cannot be changed: its ENOENT comes from Serve, not from a kernel that
// may look again after the path was made.
func TestServeAsksProtectedAboutMissingPaths(t *testing.T) {
	dir := fixture(t)
	c := startChild(t, dir, func(cmd *exec.Cmd) { cmd.Env = append(cmd.Env, writesEnv+"=1") },
		"openat-wronly:missing.txt", "openat:nodir/x", "openat:link/nodir/deeper/x", "openat-wronly:existing.txt")
	var asked, decided []string
	sup := Supervisor{
		Decide: func(op *Op) Answer { decided = append(decided, op.Path); return Answer{} },
		Protected: func(path string) bool {
			asked = append(asked, path)
			return path == dir+"/link/nodir/deeper/x" || path == dir+"/real/nodir/deeper/x"
		},
	}
	served := make(chan error, 1)
	go func() { served <- Serve(context.Background(), c.listener, sup) }()
	if err := c.cmd.Wait(); err != nil {
		t.Fatalf("child: %v; stderr: %q", err, c.stderr.String())
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	want := []string{dir + "/missing.txt", dir + "/nodir/x", dir + "/real/nodir/deeper/x"}
	if diff := cmp.Diff(want, asked); diff != "" {
		t.Errorf("paths Protected was asked about (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{dir + "/existing.txt"}, decided); diff != "" {
		t.Errorf("paths Decide was asked about (-want +got):\n%s", diff)
	}
	if got, want := c.report(t).Results, []string{"ENOENT", "ENOENT", "ENOENT", "OK"}; !cmp.Equal(got, want) {
		t.Errorf("results %v, want %v", got, want)
	}
}
