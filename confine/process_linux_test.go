package confine_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/sandbar-dev/sandbar/confine"
	"github.com/sandbar-dev/sandbar/confine/confinetest"
)

func TestExitStatusPassesThrough(t *testing.T) {
	f := confinetest.NewFixture(t)
	os.WriteFile(filepath.Join(f.Workspace, "not-executable"), []byte("#!/bin/sh\n"), 0o644)
	tests := []struct {
		name     string
		argv     []string
		wantCode int
		wantSig  syscall.Signal
	}{
		{"success", confinetest.Argv("exit", "0"), 0, 0},
		{"exit 3", confinetest.Argv("exit", "3"), 3, 0},
		{"exit 130 is not a signal", confinetest.Argv("exit", "130"), 130, 0},
		{"killed by SIGTERM", confinetest.Argv("kill-self", "15"), 143, syscall.SIGTERM},
		{"killed by SIGKILL", confinetest.Argv("kill-self", "9"), 137, syscall.SIGKILL},
		{"not found", []string{"sandbar-no-such-command"}, 127, 0},
		{"not found by path", []string{"/no/such/file"}, 127, 0},
		{"not executable", []string{filepath.Join(f.Workspace, "not-executable")}, 126, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, res := confinetest.Run(t, f.Spec(tt.argv))
			if res.ExitCode != tt.wantCode || res.Signal != tt.wantSig {
				t.Errorf("exit = %d signal %v; want %d signal %v\nstderr: %s", res.ExitCode, res.Signal, tt.wantCode, tt.wantSig, stderr)
			}
		})
	}
}

func TestStdioPassesThrough(t *testing.T) {
	f := confinetest.NewFixture(t)
	in, err := os.CreateTemp(t.TempDir(), "stdin")
	if err != nil {
		t.Fatal(err)
	}
	in.WriteString("from stdin\n")
	in.Seek(0, 0)
	stdout, stderr, res := confinetest.RunStdin(t, f.Spec([]string{"/bin/sh", "-c", "cat; echo to-stderr >&2"}), in)
	if res.ExitCode != 0 || string(stdout) != "from stdin\n" || string(stderr) != "to-stderr\n" {
		t.Errorf("got exit %d, stdout %q, stderr %q", res.ExitCode, stdout, stderr)
	}
}

func TestNamespacesAndPrivileges(t *testing.T) {
	f := confinetest.NewFixture(t)
	spec := f.Spec(nil)
	for _, op := range []string{"unshare-user", "unshare-mount"} {
		t.Run(op, func(t *testing.T) {
			if o := confinetest.Probe(t, spec, op); !o.Failed(syscall.EPERM) {
				t.Errorf("%s: %v; want EPERM", op, o)
			}
		})
	}
	t.Run("mount", func(t *testing.T) {
		if o := confinetest.Probe(t, spec, "mount-tmpfs", f.Workspace); !o.Failed(syscall.EPERM) {
			t.Errorf("mount: %v; want EPERM", o)
		}
	})
	t.Run("no new privileges", func(t *testing.T) {
		if o := confinetest.Probe(t, spec, "status-field", "NoNewPrivs"); o.Out != "1" {
			t.Errorf("NoNewPrivs = %q; want 1 (setuid binaries must not gain privileges)", o.Out)
		}
	})
	t.Run("io_uring", func(t *testing.T) {
		if o := confinetest.Probe(t, spec, "io-uring"); !o.Failed(syscall.EPERM) {
			t.Errorf("io_uring_setup: %v; want EPERM", o)
		}
	})
	t.Run("no capabilities", func(t *testing.T) {
		if o := confinetest.Probe(t, spec, "capeff"); o.Out != "0000000000000000" {
			t.Errorf("CapEff = %q; want all zero", o.Out)
		}
	})
	t.Run("only sandbox processes visible", func(t *testing.T) {
		o := confinetest.Probe(t, spec, "pids")
		// The init (1) and the probe (2).
		if got := strings.Fields(o.Out); len(got) > 2 {
			t.Errorf("/proc lists %v; want only the init and the probe", got)
		}
	})
	t.Run("no host SysV IPC", func(t *testing.T) {
		key := 0x5ba0000 + os.Getpid()%0xffff
		id, err := unix.SysvShmGet(key, 4096, unix.IPC_CREAT|0o600)
		if err != nil {
			t.Fatalf("creating a host shm segment: %v", err)
		}
		defer unix.SysvShmCtl(id, unix.IPC_RMID, nil)
		o := confinetest.Probe(t, spec, "read", "/proc/sysvipc/shm")
		if strings.Contains(o.Out, fmt.Sprint(key)) {
			t.Errorf("the host's shm segment %d is visible in the sandbox:\n%s", key, o.Out)
		}
	})
	t.Run("no network", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		o := confinetest.Probe(t, spec, "dial-tcp", ln.Addr().String())
		if !o.Failed(syscall.ECONNREFUSED) && !o.Failed(syscall.ENETUNREACH) {
			t.Errorf("dialing the host's loopback: %v; want ECONNREFUSED (a different network namespace)", o)
		}
	})
}

func TestHostUnixSocketsUnreachable(t *testing.T) {
	f := confinetest.NewFixture(t)
	path := filepath.Join(f.Outside, "agent.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	abstract := "@" + confinetest.Unique("sandbar-test")
	aln, err := net.Listen("unix", abstract)
	if err != nil {
		t.Fatal(err)
	}
	defer aln.Close()

	t.Run("path socket", func(t *testing.T) {
		if o := confinetest.Probe(t, f.Spec(nil), "connect-unix", path); !o.Failed(syscall.EPERM) {
			t.Errorf("connect to host socket: %v; want EPERM", o)
		}
	})
	t.Run("abstract socket", func(t *testing.T) {
		if o := confinetest.Probe(t, f.Spec(nil), "connect-unix", abstract); !o.Failed(syscall.EPERM) {
			t.Errorf("connect to host abstract socket: %v; want EPERM", o)
		}
	})
	t.Run("abstract socket with unix sockets allowed", func(t *testing.T) {
		spec := f.Spec(nil)
		spec.AllowUnixSockets = true
		// Abstract sockets belong to the network namespace.
		if o := confinetest.Probe(t, spec, "connect-unix", abstract); !o.Failed(syscall.ECONNREFUSED) {
			t.Errorf("connect to host abstract socket: %v; want ECONNREFUSED", o)
		}
	})
	t.Run("socketpair still works", func(t *testing.T) {
		if o := confinetest.Probe(t, f.Spec(nil), "socketpair"); o.Errno != 0 {
			t.Errorf("socketpair: %v", o)
		}
	})
}

func TestTIOCSTIRefused(t *testing.T) {
	f := confinetest.NewFixture(t)
	master, slave, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	defer slave.Close()
	spec := f.Spec(confinetest.Argv("tiocsti"))
	stdout, stderr, res := confinetest.RunStdin(t, spec, slave)
	if res.ExitCode != 0 {
		t.Fatalf("probe exited %d: %s", res.ExitCode, stderr)
	}
	if o := confinetest.Parse(t, stdout); !o.Failed(syscall.EPERM) {
		t.Errorf("TIOCSTI on the sandbox's terminal: %v; want EPERM", o)
	}
}

func TestBackgroundProcessesDieWithTheCommand(t *testing.T) {
	f := confinetest.NewFixture(t)
	marker := confinetest.Unique("sandbar-bg")
	o := confinetest.Probe(t, f.Spec(nil), "spawn", marker)
	if o.Errno != 0 {
		t.Fatalf("spawn: %v", o)
	}
	confinetest.WaitFor(t, "the background process to be gone", 5*time.Second, func() bool {
		return len(confinetest.Marked(marker)) == 0
	})
}

func TestSandboxDiesWithSandbar(t *testing.T) {
	confinetest.RequireBwrap(t)
	f := confinetest.NewFixture(t)
	marker := confinetest.Unique("sandbar-orphan")
	started := filepath.Join(f.Workspace, "started")
	spec := f.Spec([]string{"/bin/sh", "-c", ": > started; sleep 1000; true", marker})
	runner := exec.Command("/proc/self/exe", "-test.run=^$")
	runner.Env = append(os.Environ(), confinetest.RunnerEnv(t, spec))
	if err := runner.Start(); err != nil {
		t.Fatal(err)
	}
	// Not the marker: bwrap's command line holds it too, long before the
	// command runs.
	confinetest.WaitFor(t, "the confined command to start", 10*time.Second, func() bool {
		_, err := os.Stat(started)
		return err == nil
	})
	runner.Process.Signal(syscall.SIGKILL)
	runner.Wait()
	confinetest.WaitFor(t, "the confined command to die with its sandbar", 5*time.Second, func() bool {
		return len(confinetest.Marked(marker)) == 0
	})
}

func TestSignalsAreForwarded(t *testing.T) {
	confinetest.RequireBwrap(t)
	f := confinetest.NewFixture(t)
	ready := filepath.Join(f.Workspace, "ready")
	spec := f.Spec([]string{"/bin/sh", "-c", `trap 'exit 42' TERM; : > ready; while :; do sleep 0.05; done`})
	sigs := make(chan os.Signal, 1)
	done := make(chan confine.Result, 1)
	go func() {
		res, err := confine.Runner{Signals: sigs}.Run(context.Background(), spec, confine.Stdio{})
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	confinetest.WaitFor(t, "the command to be ready", 10*time.Second, func() bool {
		_, err := os.Stat(ready)
		return err == nil
	})
	sigs <- syscall.SIGTERM
	if res := <-done; res.ExitCode != 42 {
		t.Errorf("exit = %d; want 42 from the command's TERM trap", res.ExitCode)
	}
}

func TestCancelKillsTheSandbox(t *testing.T) {
	confinetest.RequireBwrap(t)
	f := confinetest.NewFixture(t)
	marker := confinetest.Unique("sandbar-cancel")
	spec := f.Spec([]string{"/bin/sh", "-c", "sleep 1000; true", marker})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan confine.Result, 1)
	go func() {
		res, _ := confine.Runner{}.Run(ctx, spec, confine.Stdio{})
		done <- res
	}()
	confinetest.WaitFor(t, "the command to start", 10*time.Second, func() bool {
		return len(confinetest.Marked(marker)) > 0
	})
	cancel()
	res := <-done
	if res.Signal != syscall.SIGKILL {
		t.Errorf("cancelled run: signal %v; want SIGKILL", res.Signal)
	}
	if pids := confinetest.Marked(marker); len(pids) > 0 {
		t.Errorf("processes %v survived cancellation", pids)
	}
}

func TestMissingBwrapIsASetupError(t *testing.T) {
	f := confinetest.NewFixture(t)
	_, err := confine.Runner{Bwrap: filepath.Join(f.Root, "no-bwrap")}.Run(context.Background(), f.Spec([]string{"true"}), confine.Stdio{})
	var se *confine.SetupError
	if !errors.As(err, &se) {
		t.Errorf("Run with a missing bwrap = %v; want a *SetupError", err)
	}
}

// A path planned as writable that another process swaps for a symbolic
// link before bwrap mounts it must not be mounted at all: bwrap would
// follow the link and make its target writable.
func TestSwappedPathIsNotMounted(t *testing.T) {
	f := confinetest.NewFixture(t)
	cache := filepath.Join(f.Workspace, "cache")
	os.Mkdir(cache, 0o755)
	spec := f.Spec([]string{"/bin/sh", "-c", "echo pwned > " + filepath.Join(cache, "x")},
		confine.Path{Path: cache, Access: confine.ReadWrite, Dir: true})
	// Between planning and running, the link appears.
	os.Remove(cache)
	os.Symlink(f.Outside, cache)
	_, err := confine.Runner{}.Run(context.Background(), spec, confine.Stdio{})
	var se *confine.SetupError
	if !errors.As(err, &se) {
		t.Errorf("Run after the swap = %v; want a *SetupError", err)
	}
	if _, err := os.Stat(filepath.Join(f.Outside, "x")); err == nil {
		t.Errorf("the command wrote through the swapped link")
	}
}

// CreatedNothing lets the audit after a run skip its walk, so it must be
// false whenever anything was created, however.
func TestCreatedNothing(t *testing.T) {
	f := confinetest.NewFixture(t)
	os.WriteFile(filepath.Join(f.Workspace, "existing"), []byte("x"), 0o644)
	watch := []confine.Path{{Path: filepath.Join(f.Workspace, ".envrc"), Why: "protected: .envrc"}}
	tests := []struct {
		name   string
		script string
		want   bool
	}{
		{"only reads", "cat existing; ls -la", true},
		// A redirection opens with O_CREAT even when the file exists:
		// counted, to be safe.
		{"redirects to an existing file", "echo y > existing", false},
		{"creates a file", "echo y > new", false},
		{"creates in /tmp", "echo y > /tmp/x", false},
		{"makes a directory", "mkdir d", false},
		{"renames", "mv existing moved", false},
		{"refused creation", "echo y > .envrc", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			os.WriteFile(filepath.Join(f.Workspace, "existing"), []byte("x"), 0o644)
			spec := f.Spec([]string{"/bin/sh", "-c", tt.script})
			spec.Uncreatable = watch
			_, _, res := confinetest.Run(t, spec)
			if res.CreatedNothing != tt.want {
				t.Errorf("CreatedNothing = %v; want %v", res.CreatedNothing, tt.want)
			}
		})
	}
}

// Cancelling at any moment, even before bwrap reported the sandbox's init,
// ends the run and leaves nothing behind.
func TestCancelAtAnyMoment(t *testing.T) {
	confinetest.RequireBwrap(t)
	f := confinetest.NewFixture(t)
	for i := 0; i < 20; i++ {
		marker := confinetest.Unique("sandbar-early")
		spec := f.Spec([]string{"/bin/sh", "-c", "sleep 1000; true", marker})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			confine.Runner{}.Run(ctx, spec, confine.Stdio{})
			close(done)
		}()
		// Spread the cancellations over bwrap's start-up.
		time.Sleep(time.Duration(i) * 500 * time.Microsecond)
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("run %d: Run did not return 10s after cancel", i)
		}
		confinetest.WaitFor(t, "the sandbox to be gone", 5*time.Second, func() bool {
			return len(confinetest.Marked(marker)) == 0
		})
	}
}
