package confine_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sandbar-dev/sandbar/confine"
	"github.com/sandbar-dev/sandbar/confine/confinetest"
)

// violationFixture is a fixture with something of every kind to refuse:
// a directory and a file outside the workspace, a hidden file, a
// protected file and a protected path that does not exist yet inside it,
// a link from the workspace out, and a workspace file.
type violationFixture struct {
	*confinetest.Fixture
	spec      confine.Spec
	outDir    string // a directory outside, with a file in it
	netrc     string // hidden
	ssh       string // a hidden directory
	config    string // .git/config, read-only in the workspace
	envrc     string // uncreatable
	linkOut   string // workspace/link-out -> outside
	wsFile    string // a workspace file
	outRule   string // the rule of everything outside
	hideRule  string
	protRule  string
	envrcRule string
}

func newViolationFixture(t *testing.T) *violationFixture {
	f := &violationFixture{Fixture: confinetest.NewFixture(t)}
	f.outDir = filepath.Join(f.Outside, "dir")
	f.netrc = filepath.Join(f.Home, ".netrc")
	f.ssh = filepath.Join(f.Home, ".ssh")
	f.config = filepath.Join(f.Workspace, ".git", "config")
	f.envrc = filepath.Join(f.Workspace, ".envrc")
	f.linkOut = filepath.Join(f.Workspace, "link-out")
	f.wsFile = filepath.Join(f.Workspace, "file.txt")
	f.outRule, f.hideRule, f.protRule, f.envrcRule = "fixture root", "secret: ~/.netrc", "protected: .git/config", "protected: .envrc"
	must(t, os.MkdirAll(filepath.Join(f.outDir, "sub"), 0o755))
	must(t, os.WriteFile(filepath.Join(f.outDir, "file"), []byte("x"), 0o644))
	must(t, os.WriteFile(f.netrc, []byte("machine x password y"), 0o600))
	must(t, os.Mkdir(f.ssh, 0o700))
	must(t, os.MkdirAll(filepath.Dir(f.config), 0o755))
	must(t, os.WriteFile(f.config, []byte("[core]\n"), 0o644))
	must(t, os.Symlink(f.Outside, f.linkOut))
	must(t, os.WriteFile(f.wsFile, []byte("inside\n"), 0o644))
	f.spec = f.Spec(nil,
		confine.Path{Path: f.netrc, Access: confine.Hidden, Why: f.hideRule},
		confine.Path{Path: f.ssh, Access: confine.Hidden, Dir: true, Why: "secret: ~/.ssh"},
		confine.Path{Path: f.config, Access: confine.ReadOnly, Why: f.protRule},
	)
	f.spec.Pin = []string{filepath.Dir(f.config)}
	f.spec.Uncreatable = []confine.Path{{Path: f.envrc, Why: f.envrcRule}}
	return f
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// ignoreProcess leaves out who made the call, checked separately.
var ignoreProcess = cmpopts.IgnoreFields(confine.Violation{}, "Pid", "Comm")

// checkProcess fails the test unless every violation names a process.
func checkProcess(t *testing.T, vs []confine.Violation, comm string) {
	t.Helper()
	for _, v := range vs {
		if v.Pid <= 0 || v.Comm != comm {
			t.Errorf("violation %+v: want a PID and comm %q", v, comm)
		}
	}
}

// The probe runs as /proc/self/exe, so its command name is "exe".
const probeComm = "exe"

// Each kind of refused operation is reported once, with the path the
// kernel acted on, the operation and the rule that refused it.
func TestViolationsReported(t *testing.T) {
	f := newViolationFixture(t)
	fileWrite := func(op, path, rule string) confine.Violation {
		return confine.Violation{Kind: "file-write", Operation: op, Path: path, Rule: rule, Count: 1}
	}
	tests := []struct {
		name  string
		op    string
		args  []string
		errno []syscall.Errno // what the probe may get
		want  confine.Violation
	}{
		{"overwrite a file outside", "write", []string{f.Canary}, rofs, fileWrite("write", f.Canary, f.outRule)},
		{"append to a file outside", "append", []string{f.Canary}, rofs, fileWrite("write", f.Canary, f.outRule)},
		{"create a file outside", "write", []string{filepath.Join(f.Outside, "new")}, rofs, fileWrite("create", filepath.Join(f.Outside, "new"), f.outRule)},
		{"truncate", "truncate", []string{f.Canary}, rofs, fileWrite("truncate", f.Canary, f.outRule)},
		{"unlink", "remove", []string{f.Canary}, rofs, fileWrite("unlink", f.Canary, f.outRule)},
		{"rmdir", "rmdir", []string{filepath.Join(f.outDir, "sub")}, rofs, fileWrite("rmdir", filepath.Join(f.outDir, "sub"), f.outRule)},
		{"mkdir", "mkdir", []string{filepath.Join(f.Outside, "d")}, rofs, fileWrite("mkdir", filepath.Join(f.Outside, "d"), f.outRule)},
		{"rename a file outside into the workspace", "rename", []string{f.Canary, filepath.Join(f.Workspace, "stolen")}, rofs,
			fileWrite("rename", f.Canary, f.outRule)},
		{"rename a workspace file out", "rename", []string{f.wsFile, filepath.Join(f.Outside, "moved")}, rofs,
			fileWrite("rename", filepath.Join(f.Outside, "moved"), f.outRule)},
		{"symlink outside", "symlink", []string{"/etc/passwd", filepath.Join(f.Outside, "ln")}, rofs, fileWrite("symlink", filepath.Join(f.Outside, "ln"), f.outRule)},
		{"hard link outside", "link", []string{f.wsFile, filepath.Join(f.Outside, "hard")}, rofs, fileWrite("link", filepath.Join(f.Outside, "hard"), f.outRule)},
		{"chmod", "chmod", []string{f.Canary}, rofs, fileWrite("chmod", f.Canary, f.outRule)},
		{"chown", "chown", []string{f.Canary}, rofs, fileWrite("chown", f.Canary, f.outRule)},
		{"utimes", "touch", []string{f.Canary}, rofs, fileWrite("utimes", f.Canary, f.outRule)},
		{"setxattr", "setxattr", []string{f.Canary}, rofs, fileWrite("setxattr", f.Canary, f.outRule)},
		{"through a link in the workspace", "write", []string{filepath.Join(f.linkOut, "canary.txt")}, rofs, fileWrite("write", f.Canary, f.outRule)},
		{"through dotdot", "write", []string{filepath.Join(f.Workspace, "..", "outside", "canary.txt")}, rofs, fileWrite("write", f.Canary, f.outRule)},
		{"through /proc/self/root", "write", []string{"/proc/self/root" + f.Canary}, rofs, fileWrite("write", f.Canary, f.outRule)},
		{"relative to the working directory", "write", []string{"../outside/canary.txt"}, rofs, fileWrite("write", f.Canary, f.outRule)},
		{"outside every rule", "write", []string{"/etc/sandbar-probe"}, rofs, fileWrite("create", "/etc/sandbar-probe", "default: read-only")},
		{"a hidden file", "write", []string{f.netrc}, rofs, fileWrite("write", f.netrc, f.hideRule)},
		{"into a hidden directory", "write", []string{filepath.Join(f.ssh, "authorized_keys")}, rofs,
			fileWrite("create", filepath.Join(f.ssh, "authorized_keys"), "secret: ~/.ssh")},
		{"a protected file in the workspace", "write", []string{f.config}, rofs, fileWrite("write", f.config, f.protRule)},
		{"remove a protected file (a mount point)", "remove", []string{f.config}, busy, fileWrite("unlink", f.config, f.protRule)},
		{"move a pinned directory", "rename", []string{filepath.Dir(f.config), filepath.Join(f.Workspace, "git-old")}, busy,
			fileWrite("rename", filepath.Dir(f.config), "pinned: protected paths lie beneath")},
		{"create a protected path", "write", []string{f.envrc}, []syscall.Errno{syscall.EACCES}, fileWrite("create", f.envrc, f.envrcRule)},
		{"a Unix socket", "socket-unix", nil, []syscall.Errno{syscall.EPERM},
			confine.Violation{Kind: "socket", Operation: "socket", Path: "AF_UNIX", Rule: "unix sockets are not allowed (allowUnixSockets)", Count: 1}},
		{"a raw socket", "socket-raw", nil, []syscall.Errno{syscall.EPERM},
			confine.Violation{Kind: "socket", Operation: "socket", Path: "AF_INET SOCK_RAW", Rule: "raw sockets: the sandbox has no CAP_NET_RAW", Count: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := f.spec
			spec.Argv = confinetest.Argv(tt.op, tt.args...)
			stdout, stderr, res := confinetest.Run(t, spec)
			if res.ExitCode != 0 {
				t.Fatalf("probe exited %d: %s", res.ExitCode, stderr)
			}
			o := confinetest.Parse(t, stdout)
			if !failedWith(o, tt.errno) {
				t.Errorf("%s %v: %v; want one of %v", tt.op, tt.args, o, tt.errno)
			}
			if res.ViolationsOff != "" {
				t.Errorf("ViolationsOff = %q", res.ViolationsOff)
			}
			if diff := cmp.Diff([]confine.Violation{tt.want}, res.Violations, ignoreProcess); diff != "" {
				t.Errorf("violations (-want +got):\n%s", diff)
			}
			checkProcess(t, res.Violations, probeComm)
			f.CheckCanary(t)
		})
	}
}

var (
	rofs = []syscall.Errno{syscall.EROFS, syscall.EACCES, syscall.EXDEV}
	busy = []syscall.Errno{syscall.EBUSY}
)

func failedWith(o confinetest.Outcome, errnos []syscall.Errno) bool {
	for _, e := range errnos {
		if o.Failed(e) {
			return true
		}
	}
	return false
}

// Writes the sandbox allows are not violations, however they are made.
func TestAllowedWritesAreNotViolations(t *testing.T) {
	f := newViolationFixture(t)
	script := strings.Join([]string{
		"set -e",
		"echo x > a", "echo y >> a", "mkdir -p d/e", "mv a d/b", "ln -s d/b l", "ln d/b hard",
		"chmod 600 d/b", "touch d/b", ": > d/b", "rm l hard", "rm -r d",
		"echo x > /dev/null", "echo x > /tmp/t", "rm /tmp/t", "mkdir /tmp/d", "rmdir /tmp/d",
		"echo x > " + f.wsFile,
		// Reads never count, nor making what is there already
		// (EEXIST, read-only or not).
		"cat " + f.Canary + " > /dev/null", "ls " + f.Outside + " > /dev/null",
		"mkdir -p " + f.outDir + " /usr/bin",
	}, "; ")
	spec := f.spec
	spec.Argv = []string{"/bin/sh", "-c", script}
	_, stderr, res := confinetest.Run(t, spec)
	if res.ExitCode != 0 {
		t.Fatalf("exit %d: %s", res.ExitCode, stderr)
	}
	if len(res.Violations) != 0 || res.ViolationsOff != "" {
		t.Errorf("violations %+v, off %q; want none, reporting on", res.Violations, res.ViolationsOff)
	}
}

// A violation repeated is counted, not repeated.
func TestViolationsAreCounted(t *testing.T) {
	f := newViolationFixture(t)
	spec := f.spec
	spec.Argv = []string{"/bin/sh", "-c", "for i in 1 2 3; do echo x > " + f.Canary + " || true; done 2>/dev/null; echo x > " + filepath.Join(f.Outside, "other") + " || true"}
	_, stderr, res := confinetest.Run(t, spec)
	if res.ExitCode != 0 {
		t.Fatalf("exit %d: %s", res.ExitCode, stderr)
	}
	want := []confine.Violation{
		{Kind: "file-write", Operation: "write", Path: f.Canary, Rule: f.outRule, Count: 3},
		{Kind: "file-write", Operation: "create", Path: filepath.Join(f.Outside, "other"), Rule: f.outRule, Count: 1},
	}
	if diff := cmp.Diff(want, res.Violations, ignoreProcess); diff != "" {
		t.Errorf("violations (-want +got):\n%s", diff)
	}
	checkProcess(t, res.Violations, "sh")
}

// Every thread of a process is watched.
func TestViolationsFromManyThreads(t *testing.T) {
	f := newViolationFixture(t)
	const threads = 8
	t.Run("each its own file", func(t *testing.T) {
		o, res := probe(t, f.spec, "threads-write", strconv.Itoa(threads), filepath.Join(f.Outside, "t"))
		if !failedWith(o, rofs) {
			t.Errorf("threads-write: %v; want EROFS", o)
		}
		var want []confine.Violation
		for i := range threads {
			want = append(want, confine.Violation{Kind: "file-write", Operation: "create", Path: filepath.Join(f.Outside, "t-"+strconv.Itoa(i)), Rule: f.outRule, Count: 1})
		}
		byPath := cmpopts.SortSlices(func(a, b confine.Violation) bool { return a.Path < b.Path })
		if diff := cmp.Diff(want, res.Violations, ignoreProcess, byPath); diff != "" {
			t.Errorf("violations (-want +got):\n%s", diff)
		}
		checkProcess(t, res.Violations, probeComm)
		// The process, not the thread.
		for _, v := range res.Violations {
			if v.Pid != res.Violations[0].Pid {
				t.Errorf("violations name PIDs %d and %d; want the one process", v.Pid, res.Violations[0].Pid)
			}
		}
	})
	t.Run("all the same file", func(t *testing.T) {
		o, res := probe(t, f.spec, "threads-write", strconv.Itoa(threads), f.Canary, "same")
		if !failedWith(o, rofs) {
			t.Errorf("threads-write: %v; want EROFS", o)
		}
		want := []confine.Violation{{Kind: "file-write", Operation: "write", Path: f.Canary, Rule: f.outRule, Count: threads}}
		if diff := cmp.Diff(want, res.Violations, ignoreProcess); diff != "" {
			t.Errorf("violations (-want +got):\n%s", diff)
		}
	})
}

// A process several levels down the tree is watched like the first.
func TestViolationsDeepInTheProcessTree(t *testing.T) {
	f := newViolationFixture(t)
	deep := filepath.Join(f.Outside, "deep")
	// Five shells deep, each forking the next; the last one writes.
	cmd := "echo x > " + deep
	for range 4 {
		cmd = "/bin/sh -c " + shellQuote(cmd+"; true")
	}
	spec := f.spec
	spec.Argv = []string{"/bin/sh", "-c", cmd + "; true"}
	_, stderr, res := confinetest.Run(t, spec)
	if res.ExitCode != 0 {
		t.Fatalf("exit %d: %s", res.ExitCode, stderr)
	}
	want := []confine.Violation{{Kind: "file-write", Operation: "create", Path: deep, Rule: f.outRule, Count: 1}}
	if diff := cmp.Diff(want, res.Violations, ignoreProcess); diff != "" {
		t.Errorf("violations (-want +got):\n%s", diff)
	}
	checkProcess(t, res.Violations, "sh")
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// A command racing the supervisor can at worst hide a report: the mount
// layer refuses the write whatever the supervisor saw.
func TestRacingTheSupervisorGainsNothing(t *testing.T) {
	f := newViolationFixture(t)
	before := listTree(t, f.Outside)
	defer func() {
		if diff := cmp.Diff(before, listTree(t, f.Outside)); diff != "" {
			t.Errorf("the directory outside changed (-before +after):\n%s", diff)
		}
	}()
	t.Run("swapping a link", func(t *testing.T) {
		o, res := probe(t, f.spec, "race-symlink", filepath.Join(f.Workspace, "flip"), f.Outside, "1s")
		if o.Errno != 0 {
			t.Fatalf("race-symlink: %v", o)
		}
		t.Logf("%s writes went through, all into the workspace; %d violations: %+v", o.Out, len(res.Violations), res.Violations)
		f.CheckCanary(t)
	})
	t.Run("rewriting the path in memory", func(t *testing.T) {
		o, res := probe(t, f.spec, "race-string", f.wsFile, f.Canary, "1s")
		if o.Errno != 0 {
			t.Fatalf("race-string: %v", o)
		}
		t.Logf("%s writes went through, all into the workspace; %d violations: %+v", o.Out, len(res.Violations), res.Violations)
		f.CheckCanary(t)
	})
}

// listTree lists every path under dir with its size.
func listTree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		out = append(out, p+" "+strconv.FormatInt(fi.Size(), 10))
		return nil
	})
	must(t, err)
	return out
}

// Turned off, nothing is reported, and the command is confined the same;
// paths that must not be created are still refused.
func TestNoViolationReports(t *testing.T) {
	f := newViolationFixture(t)
	for _, tt := range []struct {
		op    string
		args  []string
		errno []syscall.Errno
	}{
		{"write", []string{f.Canary}, rofs},
		{"socket-unix", nil, []syscall.Errno{syscall.EPERM}},
		{"write", []string{f.envrc}, []syscall.Errno{syscall.EACCES}},
	} {
		spec := f.spec
		spec.Argv = confinetest.Argv(tt.op, tt.args...)
		stdout, stderr, res := runWith(t, confine.Runner{NoViolationReports: true}, spec)
		if res.ExitCode != 0 {
			t.Fatalf("probe exited %d: %s", res.ExitCode, stderr)
		}
		if o := confinetest.Parse(t, stdout); !failedWith(o, tt.errno) {
			t.Errorf("%s %v: %v; want one of %v", tt.op, tt.args, o, tt.errno)
		}
		if res.ViolationsOff == "" {
			t.Errorf("ViolationsOff is empty with Runner.NoViolationReports")
		}
		if tt.op == "write" && tt.args[0] == f.envrc {
			want := []confine.Violation{{Kind: "file-write", Operation: "create", Path: f.envrc, Rule: f.envrcRule, Count: 1}}
			if diff := cmp.Diff(want, res.Violations, ignoreProcess); diff != "" {
				t.Errorf("violations (-want +got):\n%s", diff)
			}
		} else if len(res.Violations) != 0 {
			t.Errorf("%s: violations %+v with reports off", tt.op, res.Violations)
		}
		f.CheckCanary(t)
	}
	if _, err := os.Lstat(f.envrc); err == nil {
		t.Errorf("%s was created", f.envrc)
	}
}

// Unix sockets allowed are not violations.
func TestUnixSocketsAllowed(t *testing.T) {
	f := newViolationFixture(t)
	spec := f.spec
	spec.AllowUnixSockets = true
	o, res := probe(t, spec, "socket-unix")
	if o.Errno != 0 || len(res.Violations) != 0 {
		t.Errorf("socket(AF_UNIX) allowed: %v, violations %+v", o, res.Violations)
	}
}

// OnViolation hears of each violation as it happens, once.
func TestOnViolation(t *testing.T) {
	f := newViolationFixture(t)
	var mu sync.Mutex
	var live []confine.Violation
	r := confine.Runner{OnViolation: func(v confine.Violation) {
		mu.Lock()
		defer mu.Unlock()
		live = append(live, v)
	}}
	spec := f.spec
	spec.Argv = []string{"/bin/sh", "-c", "for i in 1 2; do echo x > " + f.Canary + " || true; done 2>/dev/null"}
	_, stderr, res := runWith(t, r, spec)
	if res.ExitCode != 0 {
		t.Fatalf("exit %d: %s", res.ExitCode, stderr)
	}
	want := []confine.Violation{{Kind: "file-write", Operation: "write", Path: f.Canary, Rule: f.outRule, Count: 1}}
	if diff := cmp.Diff(want, live, ignoreProcess); diff != "" {
		t.Errorf("violations heard live (-want +got):\n%s", diff)
	}
	if len(res.Violations) != 1 || res.Violations[0].Count != 2 {
		t.Errorf("Result.Violations = %+v; want the one, counted twice", res.Violations)
	}
}

// probe runs op in spec and returns its outcome and the run's result.
func probe(t *testing.T, spec confine.Spec, op string, args ...string) (confinetest.Outcome, confine.Result) {
	t.Helper()
	spec.Argv = confinetest.Argv(op, args...)
	stdout, stderr, res := confinetest.Run(t, spec)
	if res.ExitCode != 0 {
		t.Fatalf("probe %s exited %d: %s", op, res.ExitCode, stderr)
	}
	return confinetest.Parse(t, stdout), res
}

// runWith runs spec with r, capturing stdout and stderr.
func runWith(t *testing.T, r confine.Runner, spec confine.Spec) (stdout, stderr []byte, res confine.Result) {
	t.Helper()
	confinetest.RequireBwrap(t)
	dir := t.TempDir()
	out, err := os.Create(filepath.Join(dir, "stdout"))
	must(t, err)
	defer out.Close()
	errf, err := os.Create(filepath.Join(dir, "stderr"))
	must(t, err)
	defer errf.Close()
	res, err = r.Run(context.Background(), spec, confine.Stdio{Stdout: out, Stderr: errf})
	stdout, _ = os.ReadFile(out.Name())
	stderr, _ = os.ReadFile(errf.Name())
	if err != nil {
		t.Fatalf("Run: %v\nstderr:\n%s", err, stderr)
	}
	return stdout, stderr, res
}

// ExplainSeccomp shows where socket(AF_UNIX) is refused: by the watch
// when it reports, else by an ERRNO in a filter.
func TestExplainSeccomp(t *testing.T) {
	spec := confine.Spec{Argv: []string{"true"}, Dir: "/"}
	proxy := spec
	proxy.Network.Proxy = &confine.Proxy{HTTP: "/run/h.sock", SOCKS: "/run/s.sock", Hello: []byte("hi")}
	const (
		bwrapFilter   = "installed by bwrap"
		commandFilter = "on top of the first"
		watchFilter   = "whose USER_NOTIF calls sandbar answers"
	)
	tests := []struct {
		name string
		r    confine.Runner
		spec confine.Spec
		// unixIn is the filter that names AF_UNIX; the others must not.
		unixIn string
		off    bool
	}{
		{"reports on", confine.Runner{}, spec, watchFilter, false},
		{"reports on, with a proxy", confine.Runner{}, proxy, watchFilter, false},
		{"reports off", confine.Runner{NoViolationReports: true}, spec, bwrapFilter, true},
		{"reports off, with a proxy", confine.Runner{NoViolationReports: true}, proxy, commandFilter, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := confine.ExplainSeccomp(tt.r, tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			for _, section := range strings.Split(got, "\n# ") {
				header, _, _ := strings.Cut(section, "\n")
				names := strings.Contains(section, "; AF_UNIX")
				if want := strings.Contains(header, tt.unixIn); names != want {
					t.Errorf("filter %q names AF_UNIX: %v, want %v", header, names, want)
				}
			}
			if strings.Contains(got, "violation reports are off") != tt.off {
				t.Errorf("listing says reports are off: %v, want %v:\n%s", !tt.off, tt.off, got)
			}
		})
	}
}
