package seccomp

import (
	"bytes"
	"errors"
	"github.com/sandbar-dev/sandbar/confine/bwraptest"
	"os"
	"os/exec"
	"testing"

	"golang.org/x/sys/unix"
)

func requireBwrap(t *testing.T) string { return bwraptest.Require(t) }

// bwrapCommand returns bwrap running argv, with the filter for opts on fd 3
// when seccomp is set, as sandbar runs it.
func bwrapCommand(t *testing.T, seccomp bool, opts Options, argv ...string) *exec.Cmd {
	t.Helper()
	bwrap := requireBwrap(t)
	args := []string{"--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-all", "--die-with-parent"}
	cmd := exec.Command(bwrap)
	if seccomp {
		arch, err := NativeArch()
		if err != nil {
			t.Fatal(err)
		}
		prog, err := Build(arch, opts)
		if err != nil {
			t.Fatal(err)
		}
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		// A few hundred bytes: the pipe buffer holds them all, and bwrap
		// reads to end of file.
		if _, err := w.Write(Marshal(prog)); err != nil {
			t.Fatal(err)
		}
		w.Close()
		cmd.ExtraFiles = []*os.File{r} // fd 3 in bwrap
		args = append(args, "--seccomp", "3")
	}
	cmd.Args = append(append(append(cmd.Args, args...), "--"), argv...)
	return cmd
}

// TestBwrapShell runs shell commands under bwrap with and without the
// filter.
func TestBwrapShell(t *testing.T) {
	requireBwrap(t)
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Fatalf("unshare(1) not found (%v): install util-linux", err)
	}
	const tryUnshare = "if unshare -U true 2>/dev/null; then echo allowed; else echo refused; fi"
	tests := []struct {
		name    string
		seccomp bool
		script  string
		want    string
	}{
		{"shell works", true, "echo ok; (sleep 0 &); true & wait", "ok\n"},
		{"unshare -U refused", true, tryUnshare, "refused\n"},
		{"unshare -U allowed without the filter", false, tryUnshare, "allowed\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cmd := bwrapCommand(t, tt.seccomp, Options{}, "/bin/sh", "-c", tt.script)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("bwrap: %v; stderr: %q", err, stderr.String())
			}
			if got := stdout.String(); got != tt.want {
				t.Errorf("output = %q, want %q; stderr: %q", got, tt.want, stderr.String())
			}
		})
	}
}

// TestBwrapProbe runs the probes inside bwrap with no filter of their own:
// whatever refuses them is the filter bwrap installed from fd 3.
func TestBwrapProbe(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		probe string
		opts  Options
		want  error
	}{
		{"unshare CLONE_NEWUSER", "unshare-newuser", Options{}, unix.EPERM},
		{"socket AF_UNIX", "socket-unix", Options{}, unix.EPERM},
		{"socket AF_UNIX when allowed", "socket-unix", Options{AllowUnixSockets: true}, nil},
		{"clone3", "clone3", Options{}, unix.ENOSYS},
		{"Go os/exec", "go-exec", Options{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cmd := bwrapCommand(t, true, tt.opts, self, "-test.run=^$")
			cmd.Env = append(os.Environ(), probeEnv+"="+tt.probe, filterEnv+"="+filterNone)
			got := runProbeCmd(t, cmd)
			if got.killed != 0 {
				t.Fatalf("probe killed by %v; %s", got.killed, got.output)
			}
			if !errors.Is(got.err, tt.want) {
				t.Errorf("got %s, want %s", errString(got.err), errString(tt.want))
			}
		})
	}
}
