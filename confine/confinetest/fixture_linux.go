package confinetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"github.com/sandbar-dev/sandbar/confine/bwraptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/sandbar-dev/sandbar/confine"
)

// RequireBwrap fails the test when bubblewrap is missing. Confinement
// tests never skip quietly: a green run without bwrap would prove nothing.
func RequireBwrap(t testing.TB) { bwraptest.Require(t) }

// Fixture is a small machine to confine a command on: a workspace folder,
// a directory outside it with a canary file, and a fake home.
type Fixture struct {
	// Root holds everything; the sandbox sees it read-only.
	Root      string
	Workspace string
	Outside   string
	Canary    string
	Home      string
}

// CanaryText is what the canary file holds until something changes it.
const CanaryText = "canary\n"

// NewFixture makes a fixture under a fresh temporary directory. The
// directory is resolved, since sandbox paths must be free of symlinks.
func NewFixture(t testing.TB) *Fixture {
	t.Helper()
	return newFixture(t, t.TempDir())
}

// NewFixtureOutsideTmp makes a fixture that the sandbox sees through the
// host's own directories, read-only all the way up to /, as it sees a
// user's home: under /var/tmp (or $SANDBAR_E2E_DIR), not under /tmp,
// which each sandbox replaces with a writable tmpfs of its own. Hiding
// that must hold against the host (see docs/hiding.md) is tested there.
func NewFixtureOutsideTmp(t testing.TB) *Fixture {
	t.Helper()
	base := os.Getenv("SANDBAR_E2E_DIR")
	if base == "" {
		base = "/var/tmp"
	}
	dir, err := os.MkdirTemp(base, "sandbar-fixture-")
	if err != nil {
		t.Fatalf("making a fixture outside /tmp: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return newFixture(t, dir)
}

func newFixture(t testing.TB, dir string) *Fixture {
	t.Helper()
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	f := &Fixture{
		Root:      root,
		Workspace: filepath.Join(root, "ws"),
		Outside:   filepath.Join(root, "outside"),
		Home:      filepath.Join(root, "home"),
	}
	f.Canary = filepath.Join(f.Outside, "canary.txt")
	for _, d := range []string{f.Workspace, f.Outside, f.Home} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(f.Canary, []byte(CanaryText), 0o644); err != nil {
		t.Fatal(err)
	}
	// The test's temporary directories live under /tmp, which each
	// sandbox replaces with its own; the test runner may also have made
	// them private to its user.
	os.Chmod(root, 0o755)
	return f
}

// Spec is a Spec running argv in the workspace, with the fixture's root
// visible read-only (standing in for the rest of the machine) and the
// workspace writable, plus extra paths.
func (f *Fixture) Spec(argv []string, extra ...confine.Path) confine.Spec {
	paths := []confine.Path{
		{Path: f.Root, Access: confine.ReadOnly, Dir: true, Why: "fixture root"},
		{Path: f.Workspace, Access: confine.ReadWrite, Dir: true, Why: "workspace"},
	}
	return confine.Spec{
		Argv:  argv,
		Dir:   f.Workspace,
		Env:   []string{"PATH=/usr/local/bin:/usr/bin:/bin", Env()},
		Paths: append(paths, extra...),
	}
}

// CheckCanary fails the test if the canary file changed.
func (f *Fixture) CheckCanary(t testing.TB) {
	t.Helper()
	b, err := os.ReadFile(f.Canary)
	if err != nil || string(b) != CanaryText {
		t.Errorf("canary %s changed: %q, %v", f.Canary, b, err)
	}
}

// Run runs spec with stdin from /dev/null and returns what it printed.
func Run(t testing.TB, spec confine.Spec) (stdout, stderr []byte, res confine.Result) {
	t.Helper()
	return RunStdin(t, spec, nil)
}

// RunStdin runs spec with the given stdin.
func RunStdin(t testing.TB, spec confine.Spec, stdin *os.File) (stdout, stderr []byte, res confine.Result) {
	t.Helper()
	RequireBwrap(t)
	dir := t.TempDir()
	out, err := os.Create(filepath.Join(dir, "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	errf, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer errf.Close()
	res, err = confine.Runner{}.Run(context.Background(), spec, confine.Stdio{Stdin: stdin, Stdout: out, Stderr: errf})
	stdout, _ = os.ReadFile(out.Name())
	stderr, _ = os.ReadFile(errf.Name())
	if err != nil {
		t.Fatalf("Run: %v\nstderr:\n%s", err, stderr)
	}
	return stdout, stderr, res
}

// Probe runs operation op inside the sandbox spec describes (spec.Argv is
// replaced) and returns its outcome.
func Probe(t testing.TB, spec confine.Spec, op string, args ...string) Outcome {
	t.Helper()
	spec.Argv = Argv(op, args...)
	stdout, stderr, res := Run(t, spec)
	if res.ExitCode != 0 {
		t.Fatalf("probe %s %v exited %d\nstdout:\n%s\nstderr:\n%s", op, args, res.ExitCode, stdout, stderr)
	}
	return Parse(t, stdout)
}

// Unique returns a name no other test run uses, for markers that are
// looked for machine-wide (process command lines, abstract sockets,
// files in the host's /tmp).
func Unique(prefix string) string {
	var b [8]byte
	rand.Read(b[:])
	return prefix + "-" + hex.EncodeToString(b[:])
}
