package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/sandbar-dev/sandbar/confine/confinetest"
)

// sandbarBin is the binary under test.
var sandbarBin string

func TestMain(m *testing.M) {
	code, err := setup(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func setup(m *testing.M) (int, error) {
	if bin := os.Getenv("SANDBAR_BIN"); bin != "" {
		sandbarBin = bin
		return m.Run(), nil
	}
	dir, err := os.MkdirTemp("", "sandbar-e2e-bin-")
	if err != nil {
		return 1, err
	}
	defer os.RemoveAll(dir)
	sandbarBin = filepath.Join(dir, "sandbar")
	build := exec.Command("go", "build", "-o", sandbarBin, "../cmd/sandbar")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		return 1, fmt.Errorf("building sandbar: %w", err)
	}
	return m.Run(), nil
}

func requireBwrap(t testing.TB) { confinetest.RequireBwrap(t) }

// env is a user's machine for one test: a home with secrets, XDG
// directories, and a workspace that is a git repository.
type env struct {
	t         *testing.T
	root      string
	home      string
	ws        string
	outside   string
	extraEnv  []string
	hostState string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	requireBwrap(t)
	root, err := os.MkdirTemp(homeBase(t), "e2e-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	root, _ = filepath.EvalSymlinks(root)
	os.Chmod(root, 0o755)
	e := &env{t: t, root: root, home: filepath.Join(root, "home"), outside: filepath.Join(root, "outside")}
	e.ws = filepath.Join(e.home, "proj")
	for _, d := range []string{e.ws, e.outside, filepath.Join(e.home, ".ssh")} {
		os.MkdirAll(d, 0o755)
	}
	os.WriteFile(filepath.Join(e.home, ".ssh", "id_ed25519"), []byte("PRIVATE KEY"), 0o600)
	os.WriteFile(filepath.Join(e.home, ".netrc"), []byte("machine example.com password hunter2"), 0o600)
	os.WriteFile(filepath.Join(e.outside, "canary"), []byte("canary"), 0o644)
	e.git(e.ws, "init", "-q", "-b", "main")
	return e
}

// homeBase is where test machines live. Not under /tmp: each sandbox has
// a private /tmp, and a test home there would be invisible rather than
// read-only, which would prove less.
func homeBase(t *testing.T) string {
	if d := os.Getenv("SANDBAR_E2E_DIR"); d != "" {
		return d
	}
	if fi, err := os.Stat("/var/tmp"); err == nil && fi.IsDir() {
		return "/var/tmp"
	}
	t.Fatal("no /var/tmp for test machines; set SANDBAR_E2E_DIR to a directory outside /tmp")
	return ""
}

func (e *env) environ() []string {
	return append([]string{
		"HOME=" + e.home,
		"PATH=" + os.Getenv("PATH"),
		"XDG_CONFIG_HOME=" + filepath.Join(e.home, ".config"),
		"XDG_STATE_HOME=" + filepath.Join(e.home, ".local", "state"),
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com",
		"GIT_CONFIG_NOSYSTEM=1",
	}, e.extraEnv...)
}

type result struct {
	code           int
	stdout, stderr string
}

// sandbar runs the binary in dir with args, in a session of its own: with
// no terminal to ask on, sandbar denies what the policy leaves undecided
// rather than asking whoever runs the tests.
func (e *env) sandbar(dir string, args ...string) result {
	e.t.Helper()
	cmd := e.sandbarCmd(dir, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatalf("running sandbar: %v", err)
	}
	return result{code, out.String(), errb.String()}
}

// sandbarCmd is the command e.sandbar runs, for tests that start it
// themselves.
func (e *env) sandbarCmd(dir string, args ...string) *exec.Cmd {
	cmd := exec.Command(sandbarBin, args...)
	cmd.Dir = dir
	cmd.Env = e.environ()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	return cmd
}

// git runs git on the host, outside any sandbox.
func (e *env) git(dir string, args ...string) string {
	e.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = e.environ()
	out, err := cmd.CombinedOutput()
	if err != nil {
		e.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (e *env) write(path, content string) {
	e.t.Helper()
	os.MkdirAll(filepath.Dir(path), 0o755)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		e.t.Fatal(err)
	}
}
