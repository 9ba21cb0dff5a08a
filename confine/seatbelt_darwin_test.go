//go:build darwin

package confine_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sandbar-dev/sandbar/confine"
)

// These tests confine real processes with Seatbelt: they run on a Mac
// (go test ./confine), the escape attempts of the Linux tests as shell
// commands. CI runs on Linux and only compiles them (GOOS=darwin go test
// -c); docs/macos.md says how to run them, and e2e/macos-acceptance.sh
// makes the same attempts through the sandbar binary.

func TestMain(m *testing.M) {
	confine.MaybeInit()
	os.Exit(m.Run())
}

type macFixture struct {
	Root, Workspace, Outside, Canary, Secrets, Key, Hooks, Config string
}

func newMacFixture(t *testing.T) macFixture {
	t.Helper()
	// The kernel sees /private/var/folders, not /var/folders.
	root, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	f := macFixture{
		Root:      root,
		Workspace: filepath.Join(root, "w"),
		Outside:   filepath.Join(root, "outside"),
		Secrets:   filepath.Join(root, "home", ".ssh"),
	}
	f.Canary = filepath.Join(f.Outside, "canary.txt")
	f.Key = filepath.Join(f.Secrets, "id_ed25519")
	f.Hooks = filepath.Join(f.Workspace, ".git", "hooks")
	f.Config = filepath.Join(f.Workspace, ".git", "config")
	for _, d := range []string{f.Workspace, f.Outside, f.Secrets, f.Hooks} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for path, content := range map[string]string{f.Canary: "canary", f.Key: "PRIVATE", f.Config: "[core]\n"} {
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (f macFixture) spec(script string) confine.Spec {
	return confine.Spec{
		Argv: []string{"/bin/sh", "-c", script},
		Dir:  f.Workspace,
		Env:  []string{"PATH=/usr/bin:/bin:/usr/sbin:/sbin", "HOME=" + filepath.Dir(f.Secrets)},
		Paths: []confine.Path{
			{Path: f.Workspace, Access: confine.ReadWrite, Dir: true, Why: "workspace folder"},
			{Path: f.Secrets, Access: confine.Hidden, Dir: true, Why: "denyRead ~/.ssh"},
			{Path: f.Hooks, Access: confine.ReadOnly, Dir: true, Why: "protected: .git/hooks"},
			{Path: f.Config, Access: confine.ReadOnly, Why: "protected: .git/config"},
		},
		Pin:         []string{filepath.Join(f.Workspace, ".git")},
		Uncreatable: []confine.Path{{Path: filepath.Join(f.Workspace, ".envrc"), Why: "protected: .envrc"}},
	}
}

// run runs s and returns its result and what it wrote.
func run(t *testing.T, s confine.Spec) (confine.Result, string) {
	t.Helper()
	out, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	res, err := confine.Runner{}.Run(context.Background(), s, confine.Stdio{Stdout: out, Stderr: out})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	b, _ := os.ReadFile(out.Name())
	return res, string(b)
}

func TestSeatbeltRefusesEscapes(t *testing.T) {
	f := newMacFixture(t)
	tests := []struct {
		name   string
		script string
	}{
		{"overwrite canary", "echo x > " + q(f.Canary)},
		{"append canary", "echo x >> " + q(f.Canary)},
		{"remove canary", "rm -f " + q(f.Canary)},
		{"rename canary into workspace", "mv " + q(f.Canary) + " stolen"},
		{"chmod canary", "chmod 777 " + q(f.Canary)},
		{"create outside", "echo x > " + q(filepath.Join(f.Outside, "new"))},
		{"symlink out of workspace", "ln -s " + q(f.Outside) + " out && echo x > out/canary.txt"},
		{"dotdot out of workspace", "echo x > ../outside/canary.txt"},
		{"write /etc", "echo x > /etc/sandbar-probe"},
		{"write /usr/local", "echo x > /usr/local/sandbar-probe"},
		{"write the shared /tmp", "echo x > /tmp/sandbar-probe-" + strconv.Itoa(os.Getpid())},
		{"read hidden key", "cat " + q(f.Key)},
		{"list hidden dir", "ls " + q(f.Secrets)},
		{"write into hidden dir", "echo x > " + q(filepath.Join(f.Secrets, "authorized_keys"))},
		{"move hidden dir away", "mv " + q(f.Secrets) + " " + q(filepath.Join(f.Workspace, "ssh"))},
		{"copy hidden key", "cp " + q(f.Key) + " key"},
		{"hard link hidden key", "ln " + q(f.Key) + " key"},
		{"write hook", "echo evil > .git/hooks/pre-commit"},
		{"write config", "echo evil >> .git/config"},
		{"replace config by rename", "echo evil > cfg && mv cfg .git/config"},
		{"rename config away", "mv .git/config cfg"},
		{"rename .git away", "mv .git git.old"},
		{"rename hooks away", "mv .git/hooks hooks.old"},
		{"hard link config", "ln .git/config cfg && echo evil >> cfg"},
		{"create .envrc", "echo evil > .envrc"},
		{"symlink .envrc", "ln -s /etc/hosts .envrc"},
		{"mkdir .envrc", "mkdir .envrc"},
		{"rename into .envrc", "echo evil > e && mv e .envrc"},
		{"rename workspace", "mv " + q(f.Workspace) + " " + q(filepath.Join(f.Workspace, "..", "w2"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, out := run(t, f.spec(tt.script))
			if res.ExitCode == 0 {
				t.Errorf("%s: succeeded; output: %s", tt.script, out)
			}
		})
	}
	checkUnchanged(t, map[string]string{f.Canary: "canary", f.Key: "PRIVATE", f.Config: "[core]\n"})
	for _, p := range []string{
		filepath.Join(f.Outside, "new"), filepath.Join(f.Workspace, ".envrc"), filepath.Join(f.Hooks, "pre-commit"),
		filepath.Join(f.Secrets, "authorized_keys"), filepath.Join(f.Workspace, "key"), "/etc/sandbar-probe",
		filepath.Join(f.Root, "w2"),
	} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s exists after the run", p)
		}
	}
	if _, err := os.Stat(f.Hooks); err != nil {
		t.Errorf(".git/hooks moved: %v", err)
	}
}

func checkUnchanged(t *testing.T, files map[string]string) {
	t.Helper()
	for path, want := range files {
		b, err := os.ReadFile(path)
		if err != nil || string(b) != want {
			t.Errorf("%s changed on the host: %q, %v", path, b, err)
		}
	}
}

func q(s string) string { return confine.ShellQuote(s) }

func TestSeatbeltAllowsTheWorkspace(t *testing.T) {
	f := newMacFixture(t)
	script := `set -e
echo made > made.txt
mkdir -p sub/dir && mv sub sub2 && rm -r sub2
echo tmp > "$TMPDIR/x" && cat "$TMPDIR/x"
cat .git/config >/dev/null
ls .git/hooks >/dev/null
git --version >/dev/null 2>&1 || true
`
	res, out := run(t, f.spec(script))
	if res.ExitCode != 0 {
		t.Fatalf("exit %d: %s", res.ExitCode, out)
	}
	if b, _ := os.ReadFile(filepath.Join(f.Workspace, "made.txt")); string(b) != "made\n" {
		t.Errorf("the host sees %q", b)
	}
	if !strings.Contains(out, "tmp") {
		t.Errorf("TMPDIR not writable: %s", out)
	}
}

func TestSeatbeltRefusesTheNetwork(t *testing.T) {
	f := newMacFixture(t)
	// A server on the host's loopback: the sandbox shares the host's
	// network, and must not reach it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("reached\n"))
			c.Close()
		}
	}()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	for _, script := range []string{
		"/usr/bin/nc -w 2 127.0.0.1 " + port,
		"/usr/bin/nc -w 2 1.1.1.1 443 </dev/null",
		// Listening, even on the loopback.
		`/usr/bin/perl -MIO::Socket::INET -e 'IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1:0") or exit 1'`,
		"/usr/bin/nc -U /var/run/syslog </dev/null",
	} {
		res, out := run(t, f.spec(script))
		if strings.Contains(out, "reached") || res.ExitCode == 0 {
			t.Errorf("%s: exit %d, %s", script, res.ExitCode, out)
		}
	}
}

func TestSeatbeltExitStatus(t *testing.T) {
	f := newMacFixture(t)
	if res, _ := run(t, f.spec("exit 3")); res.ExitCode != 3 {
		t.Errorf("exit 3: got %d", res.ExitCode)
	}
	if res, _ := run(t, f.spec("kill -TERM $$")); res.Signal != syscall.SIGTERM || res.ExitCode != 128+int(syscall.SIGTERM) {
		t.Errorf("killed: got %+v", res)
	}
	s := f.spec("")
	s.Argv = []string{"sandbar-no-such-command"}
	if res, out := run(t, s); res.ExitCode != 127 || !strings.Contains(out, "not found") {
		t.Errorf("missing command: exit %d, %q", res.ExitCode, out)
	}
}

func TestSeatbeltBackgroundProcessesDie(t *testing.T) {
	f := newMacFixture(t)
	pidFile := filepath.Join(f.Workspace, "pid")
	if res, out := run(t, f.spec("sleep 60 & echo $! > pid")); res.ExitCode != 0 {
		t.Fatalf("exit %d: %s", res.ExitCode, out)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if !gone(pid) {
		t.Errorf("the background sleep (pid %d) outlived the command", pid)
	}
}

// gone waits for pid to end: a killed process stays a zombie until
// launchd, its new parent, reaps it.
func gone(pid int) bool {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

func TestSeatbeltReportsViolations(t *testing.T) {
	f := newMacFixture(t)
	res, _ := run(t, f.spec("echo evil > .git/hooks/pre-commit; cat "+q(f.Key)+"; echo x > .envrc; true"))
	if res.ViolationsOff != "" {
		t.Skipf("violations are not reported on this Mac: %s (see sandbar doctor)", res.ViolationsOff)
	}
	want := map[[3]string]string{
		{"file-write", "create", filepath.Join(f.Hooks, "pre-commit")}: "protected: .git/hooks",
		{"file-read", "read", f.Key}:                                   "denyRead ~/.ssh",
		{"file-write", "create", filepath.Join(f.Workspace, ".envrc")}: "protected: .envrc",
	}
	for _, v := range res.Violations {
		key := [3]string{v.Kind, v.Operation, v.Path}
		if rule, ok := want[key]; ok {
			if v.Rule != rule {
				t.Errorf("%v: rule %q, want %q", key, v.Rule, rule)
			}
			delete(want, key)
		}
	}
	for key := range want {
		t.Errorf("not reported: %v (got %+v)", key, res.Violations)
	}
}

// TestSeatbeltCancelKillsTheCommand checks that cancelling a run ends the
// command and what it started in its process group.
func TestSeatbeltCancelKillsTheCommand(t *testing.T) {
	f := newMacFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan confine.Result)
	go func() {
		res, _ := confine.Runner{}.Run(ctx, f.spec("sleep 60 & echo $! > pid; wait"), confine.Stdio{})
		done <- res
	}()
	pidFile := filepath.Join(f.Workspace, "pid")
	var pid int
	for pid == 0 {
		b, _ := os.ReadFile(pidFile)
		pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	res := <-done
	if res.Signal != syscall.SIGKILL {
		t.Errorf("cancelled run: %+v", res)
	}
	if !gone(pid) {
		t.Errorf("the background sleep (pid %d) outlived the cancelled run", pid)
	}
}
