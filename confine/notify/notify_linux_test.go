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
func startChild(t *testing.T, dir string, prepare func(*exec.Cmd), ops ...string) *child {
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
	ops      []Op     // every Op decide was called with
	notified []string // the system call of every notification received
}

// serveChild serves c's notifications with decide until the child exits
// and checks that Serve then returns by itself (POLLHUP).
func serveChild(t *testing.T, c *child, decide func(Op) bool, h hooks) (*run, error) {
	t.Helper()
	r := &run{pid: c.cmd.Process.Pid}
	h.received = func(nr int32) {
		name := fmt.Sprint(nr)
		if c, ok := calls[nr]; ok {
			name = c.name
		}
		r.notified = append(r.notified, name)
	}
	record := func(op Op) bool {
		r.ops = append(r.ops, op)
		return decide(op)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- serve(ctx, c.listener, record, h) }()
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

// runChild runs ops in a confined child in dir, serving it with decide.
func runChild(t *testing.T, dir string, decide func(Op) bool, ops ...string) *run {
	t.Helper()
	c := startChild(t, dir, nil, ops...)
	r, err := serveChild(t, c, decide, hooks{})
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
		{name: "mkdirat does not follow a final symlink", ops: []string{"mkdirat:safe"}, want: []string{"EEXIST"},
			wantOps: []Op{op("mkdirat", "mkdir", "$D/safe")}, absent: []string{".envrc"}},
		{name: "symlinkat does not follow a final symlink", ops: []string{"symlinkat:x:safe"}, want: []string{"EEXIST"},
			wantOps: []Op{withTarget(op("symlinkat", "symlink", "$D/safe"), "x")}, absent: []string{".envrc"}},
		{name: "renameat replaces a final symlink, does not follow it", ops: []string{"renameat:existing.txt:safe"}, want: ok,
			wantOps: []Op{withFrom(op("renameat", "rename", "$D/safe"), "$D/existing.txt")}, absent: []string{".envrc"}},
		{name: "openat O_CREAT follows a dangling final symlink", ops: []string{"openat:safe"}, want: eacces,
			wantOps: []Op{op("openat", "create", "$D/.envrc")}, absent: []string{".envrc"}},
		{name: "openat O_CREAT|O_EXCL does not follow a final symlink", ops: []string{"openat-excl:safe"}, want: []string{"EEXIST"},
			wantOps: []Op{op("openat", "create", "$D/safe")}, absent: []string{".envrc"}},

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
				t.Errorf("Ops decide saw (-want +got):\n%s", diff)
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
		served <- Serve(ctx, c.listener, func(Op) bool {
			t.Error("decide called before the child made a call")
			return false
		})
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
// read its call and before Serve decides: the notification is then no
// longer valid (its PID could already name another process), and decide
// must not be called with what was read.
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
		t.Errorf("decide was called for a process that died while Serve read it: %v", r.ops)
	}
	if _, err := os.Lstat(filepath.Join(dir, ".envrc")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf(".envrc exists (Lstat: %v)", err)
	}
}
