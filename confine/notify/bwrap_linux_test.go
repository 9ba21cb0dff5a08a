package notify

import (
	"github.com/sandbar-dev/sandbar/confine/bwraptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func requireBwrap(t *testing.T) string { return bwraptest.Require(t) }

// TestServeBwrap runs the child under the real bwrap, in new user, PID
// and mount namespaces, with the supervisor outside: the listener crosses
// the sandbox's wall through the socketpair bwrap passes on, PIDs arrive
// in the supervisor's namespace, and paths are resolved in the child's
// mount namespace, where /proc is the sandbox's own.
func TestServeBwrap(t *testing.T) {
	bwrap := requireBwrap(t)
	dir := fixture(t)
	c := startChild(t, dir, func(cmd *exec.Cmd) {
		args := []string{bwrap,
			"--ro-bind", "/", "/",
			"--dev", "/dev",
			"--proc", "/proc",
			// The workspace, writable at the place it has on the host,
			// as sandbar mounts it.
			"--bind", dir, dir,
			"--unshare-all", "--die-with-parent",
			"--"}
		cmd.Args = append(args, cmd.Args...)
		cmd.Path = bwrap
		// bwrap passes the socketpair end on fd 3 through to the child.
	}, "openat:.envrc", "mkdirat:other", "chdir:protected", "mkdirat:/proc/self/cwd/dir/hooks")

	// nspid maps each Op's thread (the supervisor's view) to the IDs the
	// thread has in each namespace, read while it waits in the call.
	nspid := map[int]string{}
	decide := refuseProtected(dir)
	got, err := serveChild(t, c, func(op Op) bool {
		status, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(op.Tid), "status"))
		if err == nil {
			for line := range strings.Lines(string(status)) {
				if v, ok := strings.CutPrefix(line, "NSpid:"); ok {
					nspid[op.Tid] = strings.Join(strings.Fields(v), " ")
				}
			}
		}
		return decide(op)
	}, hooks{})
	if err != nil {
		t.Fatalf("bwrap: %v; stderr: %q", err, c.stderr.String())
	}
	report := c.report(t)
	if diff := cmp.Diff([]string{"EACCES", "OK", "OK", "EACCES"}, report.Results); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	want := []Op{
		{Comm: comm(t), Syscall: "openat", Operation: "create", Path: dir + "/.envrc"},
		{Comm: comm(t), Syscall: "mkdirat", Operation: "mkdir", Path: dir + "/other"},
		{Comm: comm(t), Syscall: "mkdirat", Operation: "mkdir", Path: dir + "/protected/dir/hooks"},
	}
	if diff := cmp.Diff(want, got.ops, cmpopts.IgnoreFields(Op{}, "Pid", "Tid")); diff != "" {
		t.Errorf("Ops reported (-want +got):\n%s", diff)
	}
	for _, op := range got.ops {
		// NSpid lists the PID in the supervisor's namespace first and in
		// the child's own last.
		ids := strings.Fields(nspid[op.Pid])
		if len(ids) < 2 || ids[0] != strconv.Itoa(op.Pid) || ids[len(ids)-1] != strconv.Itoa(report.Pid) {
			t.Errorf("Op.Pid %d has NSpid %q, want %d first and the child's own PID %d last", op.Pid, nspid[op.Pid], op.Pid, report.Pid)
		}
	}
	ownNS, err := os.Readlink("/proc/self/ns/user")
	if err != nil {
		t.Fatal(err)
	}
	if report.UserNS == ownNS {
		t.Errorf("the child is in the test's user namespace %s, want a new one", ownNS)
	}
	for _, p := range []string{".envrc", "protected/dir/hooks"} {
		if _, err := os.Lstat(filepath.Join(dir, p)); err == nil {
			t.Errorf("%s exists afterwards", p)
		}
	}
}
