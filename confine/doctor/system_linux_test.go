package doctor

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestSystem runs every check against this machine, which must be able to
// confine commands: doctor saying otherwise on a good machine is a bug, and
// so is a CI machine without bubblewrap.
func TestSystem(t *testing.T) {
	env := System()
	if _, err := env.LookPath("bwrap"); err != nil {
		if _, err := os.Stat(defaultBwrap); err != nil {
			const msg = "bubblewrap is not installed; install it with: sudo apt-get install -y bubblewrap"
			if os.Getenv("SANDBAR_ALLOW_SKIP") == "1" {
				t.Skip(msg + " (skipped because SANDBAR_ALLOW_SKIP=1)")
			}
			t.Fatal(msg + " (or set SANDBAR_ALLOW_SKIP=1 to skip)")
		}
	}

	findings := Check(t.Context(), env)
	var report strings.Builder
	Format(&report, findings)
	t.Logf("uid %d, report:\n%s", os.Geteuid(), report.String())

	if b := Blocking(findings); len(b) > 0 {
		var s strings.Builder
		Format(&s, b)
		t.Errorf("this machine should be able to run bwrap, but doctor found:\n%s", s.String())
	}
	// No Fail proves little unless the functional test ran and passed.
	got := make(map[string]Finding)
	for _, f := range findings {
		got[f.Check] = f
	}
	if f, ok := got["userns"]; !ok || f.Severity != OK {
		t.Errorf("userns finding = %+v, present %v; want an OK functional test", f, ok)
	}
	// The confinement tests need reports, so the machine that runs them
	// must give them.
	if f, ok := got["violations"]; !ok || f.Severity != OK {
		t.Errorf("violations finding = %+v, present %v; want OK", f, ok)
	}
	if _, ok := got["root"]; ok != (os.Geteuid() == 0) {
		t.Errorf("root finding present = %v, but euid = %d", ok, os.Geteuid())
	}
}

// TestSystemRun checks what the checks rely on from the real Run: stderr
// comes back on failure, and a deadline stops the program and says so.
func TestSystemRun(t *testing.T) {
	env := System()
	sh, err := env.LookPath("sh")
	if err != nil {
		t.Fatalf("no sh on PATH: %v", err)
	}

	t.Run("stderr", func(t *testing.T) {
		stdout, stderr, err := env.Run(t.Context(), sh, "-c", "echo out; echo complaint >&2; exit 3")
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 3 {
			t.Errorf("err = %v, want exit status 3", err)
		}
		if string(stdout) != "out\n" || string(stderr) != "complaint\n" {
			t.Errorf("stdout, stderr = %q, %q; want %q, %q", stdout, stderr, "out\n", "complaint\n")
		}
	})

	t.Run("deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, _, err := env.Run(ctx, sh, "-c", "sleep 30")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want one matching context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("Run returned after %s, long past its deadline", d)
		}
	})
}

// TestSystemReadFileNotExist checks that System's ReadFile reports a
// missing switch the way readSysctl expects, so kernels without the
// Debian or Ubuntu switches get no finding for them.
func TestSystemReadFileNotExist(t *testing.T) {
	s := readSysctl(System(), "test.missing", "/proc/sys/sandbar/does-not-exist")
	if s.present || s.err != nil {
		t.Errorf("readSysctl of a missing file = %+v, want not present and no error", s)
	}
}
