package seccomp

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The kernel tests run real processes under the filter. The test binary
// re-executes itself with probeEnv naming a probe and filterEnv naming the
// filter; TestMain then runs the probe instead of the tests. A probe does
// its setup, calls install, tries one operation and prints the outcome on
// stdout as "probe: ok", "probe: errno N" or "probe: error TEXT".
const (
	probeEnv  = "SANDBAR_SECCOMP_PROBE"
	filterEnv = "SANDBAR_SECCOMP_FILTER"
)

// Filters a probe can run under.
const (
	filterNone        = "none"         // no filter: the control run
	filterDefault     = "default"      // Build(native, Options{})
	filterAllowUnix   = "allow-unix"   // Build(native, Options{AllowUnixSockets: true})
	filterForeignArch = "foreign-arch" // the filter for an arch this is not
)

func TestMain(m *testing.M) {
	if name := os.Getenv(probeEnv); name != "" {
		os.Exit(probeMain(name, os.Getenv(filterEnv)))
	}
	os.Exit(m.Run())
}

// setupError marks a failure before the operation under test, which must
// not be mistaken for the operation's errno.
type setupError struct{ err error }

func (e setupError) Error() string { return "setup: " + e.err.Error() }

type probe func(install func() error) error

func probeMain(name, filter string) int {
	// A killed probe must not leave a core file behind.
	_ = unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{})
	p, ok := probes[name]
	if !ok {
		fmt.Printf("probe: error unknown probe %q\n", name)
		return 2
	}
	install := func() error {
		if filter == filterNone {
			return nil
		}
		arch, err := NativeArch()
		if err != nil {
			return setupError{err}
		}
		var opts Options
		switch filter {
		case filterDefault:
		case filterAllowUnix:
			opts.AllowUnixSockets = true
		case filterForeignArch:
			arch = map[Arch]Arch{AMD64: ARM64, ARM64: AMD64}[arch]
		default:
			return setupError{fmt.Errorf("unknown filter %q", filter)}
		}
		prog, err := Build(arch, opts)
		if err != nil {
			return setupError{err}
		}
		if err := Install(prog); err != nil {
			return setupError{err}
		}
		return nil
	}
	err := p(install)
	var se setupError
	var errno syscall.Errno
	switch {
	case err == nil:
		fmt.Println("probe: ok")
	case errors.As(err, &se):
		fmt.Printf("probe: error %v\n", err)
		return 2
	case errors.As(err, &errno):
		fmt.Printf("probe: errno %d\n", int(errno))
	default:
		fmt.Printf("probe: error %v\n", err)
		return 2
	}
	return 0
}

// errnoOf turns the result of a raw system call into an error.
func errnoOf(errno syscall.Errno) error {
	if errno != 0 {
		return errno
	}
	return nil
}

// Some probes pass arguments that make the kernel fail the call early
// with an errno other than EPERM, before any privilege check, when no
// filter is installed. The control run then proves that EPERM under the
// filter came from the filter, for root and ordinary users alike.
var probes = map[string]probe{
	"install": func(install func() error) error {
		return install()
	},

	// Multithreaded processes (every Go program) may not unshare a user
	// namespace: EINVAL without the filter.
	"unshare-newuser": func(install func() error) error {
		if err := install(); err != nil {
			return err
		}
		return unix.Unshare(unix.CLONE_NEWUSER)
	},
	// CLONE_SIGHAND is refused in a multithreaded process before the
	// privilege check for CLONE_NEWNS: EINVAL without the filter.
	"unshare-newns": func(install func() error) error {
		if err := install(); err != nil {
			return err
		}
		return unix.Unshare(unix.CLONE_NEWNS | unix.CLONE_SIGHAND)
	},
	"unshare-newtime": func(install func() error) error {
		if err := install(); err != nil {
			return err
		}
		return unix.Unshare(unix.CLONE_NEWTIME | unix.CLONE_SIGHAND)
	},
	// CLONE_SIGHAND without CLONE_VM is rejected by copy_process before
	// anything is created: EINVAL without the filter, never a child.
	"clone-newpid": func(install func() error) error {
		if err := install(); err != nil {
			return err
		}
		pid, _, errno := unix.RawSyscall6(unix.SYS_CLONE, unix.CLONE_NEWPID|unix.CLONE_SIGHAND, 0, 0, 0, 0, 0)
		if errno == 0 && pid == 0 {
			unix.RawSyscall(unix.SYS_EXIT_GROUP, 0, 0, 0) // cannot happen; never run Go code in a raw fork
		}
		return errnoOf(errno)
	},
	// The ordinary way a Go program asks for a namespace.
	"exec-newnet": func(install func() error) error {
		if err := install(); err != nil {
			return err
		}
		cmd := exec.Command("/bin/true")
		cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWNET}
		return cmd.Run()
	},
	// fd -1: EBADF without the filter.
	"setns": func(install func() error) error {
		if err := install(); err != nil {
			return err
		}
		return unix.Setns(-1, 0)
	},
	// The target does not exist: ENOENT without the filter.
	"mount": func(install func() error) error {
		if err := install(); err != nil {
			return err
		}
		return unix.Mount("none", "/proc/sandbar-nonexistent", "tmpfs", 0, "")
	},
	// params is NULL: EFAULT without the filter.
	"io-uring-setup": func(install func() error) error {
		if err := install(); err != nil {
			return err
		}
		_, _, errno := unix.Syscall(unix.SYS_IO_URING_SETUP, 1, 0, 0)
		return errnoOf(errno)
	},
	"ioctl-tiocsti":            ptyIoctl(tiocsti),
	"ioctl-tiocsti-high-bits":  ptyIoctl(1<<32 | tiocsti),
	"ioctl-tioclinux":          ptyIoctl(tioclinux),
	"ioctl-tiocgwinsz":         ptyIoctl(unix.TIOCGWINSZ),
	"ioctl-tiocgwinsz-control": ptyIoctl(unix.TIOCGWINSZ),
	"socket-unix": func(install func() error) error {
		if err := install(); err != nil {
			return err
		}
		fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
		if err == nil {
			unix.Close(fd)
		}
		return err
	},
	"socketpair-unix": func(install func() error) error {
		if err := install(); err != nil {
			return err
		}
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
		if err == nil {
			unix.Close(fds[0])
			unix.Close(fds[1])
		}
		return err
	},
	"socket-inet": func(install func() error) error {
		if err := install(); err != nil {
			return err
		}
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
		if err == nil {
			unix.Close(fd)
		}
		return err
	},
	"keyctl": func(install func() error) error {
		if err := install(); err != nil {
			return err
		}
		_, err := unix.KeyctlGetKeyringID(unix.KEY_SPEC_SESSION_KEYRING, false)
		return err
	},
	// An unknown command: EINVAL without the filter (Linux 6.5 and later
	// check privilege per command, after this one is rejected).
	"bpf": func(install func() error) error {
		if err := install(); err != nil {
			return err
		}
		const bogusCmd = 0xbad
		_, _, errno := unix.Syscall(unix.SYS_BPF, bogusCmd, 0, 0)
		return errnoOf(errno)
	},
	// A NULL, zero-sized clone_args: EINVAL without the filter, never a
	// child.
	"clone3": func(install func() error) error {
		if err := install(); err != nil {
			return err
		}
		pid, _, errno := unix.RawSyscall(unix.SYS_CLONE3, 0, 0, 0)
		if errno == 0 && pid == 0 {
			unix.RawSyscall(unix.SYS_EXIT_GROUP, 0, 0, 0)
		}
		return errnoOf(errno)
	},
	"syscall-minus-one": func(install func() error) error {
		if err := install(); err != nil {
			return err
		}
		_, _, errno := unix.Syscall(^uintptr(0), 0, 0, 0)
		return errnoOf(errno)
	},
	// getpid through the x32 ABI (only meaningful on amd64).
	"x32-getpid": func(install func() error) error {
		if err := install(); err != nil {
			return err
		}
		_, _, errno := unix.Syscall(x32Bit|39, 0, 0, 0)
		return errnoOf(errno)
	},
	"getpid": func(install func() error) error {
		if err := install(); err != nil {
			return err
		}
		_, _, errno := unix.Syscall(unix.SYS_GETPID, 0, 0, 0)
		return errnoOf(errno)
	},

	// Positive controls: ordinary programs keep working.
	"go-threads": func(install func() error) error {
		if err := install(); err != nil {
			return err
		}
		// Each locked goroutine holds its own OS thread while it waits, so
		// n distinct thread IDs mean the runtime created threads.
		const n = 8
		tids := make(chan int, n)
		var ready sync.WaitGroup
		ready.Add(n)
		release := make(chan struct{})
		for range n {
			go func() {
				runtime.LockOSThread()
				tids <- unix.Gettid()
				ready.Done()
				<-release
			}()
		}
		ready.Wait()
		close(release)
		seen := map[int]bool{}
		for range n {
			seen[<-tids] = true
		}
		if len(seen) != n {
			return fmt.Errorf("%d goroutines ran on %d threads, want %d", n, len(seen), n)
		}
		return nil
	},
	"go-exec": func(install func() error) error {
		if err := install(); err != nil {
			return err
		}
		return exec.Command("/bin/true").Run()
	},
	"sh-background": func(install func() error) error {
		if err := install(); err != nil {
			return err
		}
		return commandOutputIs("ok\n", "/bin/sh", "-c", "echo ok; (sleep 0 &); true & wait")
	},
	// glibc's pthread_create tries clone3 first and falls back to clone
	// on ENOSYS; perl's ithreads are plain pthreads.
	"perl-threads": func(install func() error) error {
		if err := install(); err != nil {
			return err
		}
		return commandOutputIs("42\n", "perl", "-Mthreads", "-e", "print threads->create(sub { 42 })->join, qq{\\n}")
	},
}

// commandOutputIs runs a command and checks its standard output.
func commandOutputIs(want string, name string, args ...string) error {
	var stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("%s: %w (stderr: %q)", name, err, stderr.String())
	}
	if string(out) != want {
		return fmt.Errorf("%s printed %q, want %q (stderr: %q)", name, out, want, stderr.String())
	}
	return nil
}

// ptyIoctl returns a probe that makes a fresh pseudo-terminal its
// controlling terminal and then issues ioctl(slave, cmd, &'x'). With the
// terminal its own, TIOCSTI succeeds without the filter (or fails with
// EIO where dev.tty.legacy_tiocsti=0), so EPERM can only come from the
// filter. The probe runs as a session leader (see runProbe), so opening
// the slave without O_NOCTTY makes it the controlling terminal.
//
// Closing the master would hang up the terminal and send the probe
// SIGHUP before it reports, so both ends stay open until the probe exits
// and SIGHUP is ignored.
func ptyIoctl(cmd uint64) probe {
	return func(install func() error) error {
		signal.Ignore(syscall.SIGHUP)
		master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
		if err != nil {
			return setupError{err}
		}
		ptyFiles = append(ptyFiles, master)
		if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
			return setupError{fmt.Errorf("unlocking pty: %w", err)}
		}
		n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
		if err != nil {
			return setupError{fmt.Errorf("getting pty number: %w", err)}
		}
		slave, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR, 0)
		if err != nil {
			return setupError{err}
		}
		ptyFiles = append(ptyFiles, slave)
		fd := slave.Fd()
		if err := install(); err != nil {
			return err
		}
		var buf [16]byte
		buf[0] = 'x'
		_, _, errno := unix.Syscall(unix.SYS_IOCTL, fd, uintptr(cmd), uintptr(unsafe.Pointer(&buf[0])))
		return errnoOf(errno)
	}
}

// ptyFiles keeps the pty probe's files referenced, so no finalizer closes
// them.
var ptyFiles []*os.File

// probeResult is what a probe run reported.
type probeResult struct {
	err    error          // nil, or the syscall.Errno the operation failed with
	killed syscall.Signal // the signal that ended the probe, or 0
	output string         // everything the probe printed, for messages
}

// runProbe runs probe in a child process under filter.
func runProbe(t *testing.T, probe, filter string) probeResult {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "-test.run=^$")
	cmd.Env = append(os.Environ(), probeEnv+"="+probe, filterEnv+"="+filter)
	// A session of its own, so the pty probes can take a controlling
	// terminal.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	return runProbeCmd(t, cmd)
}

// runProbeCmd runs a prepared probe command and parses its report.
func runProbeCmd(t *testing.T, cmd *exec.Cmd) probeResult {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	res := probeResult{output: fmt.Sprintf("stdout: %q, stderr: %q", stdout.String(), stderr.String())}
	var exitErr *exec.ExitError
	if errors.As(runErr, &exitErr) {
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			res.killed = ws.Signal()
			return res
		}
	}
	if runErr != nil {
		t.Fatalf("probe run failed: %v; %s", runErr, res.output)
	}
	report, ok := strings.CutPrefix(strings.TrimSpace(stdout.String()), "probe: ")
	switch {
	case !ok:
		t.Fatalf("probe printed no report; %s", res.output)
	case report == "ok":
	case strings.HasPrefix(report, "errno "):
		n, err := strconv.Atoi(strings.TrimPrefix(report, "errno "))
		if err != nil {
			t.Fatalf("bad probe report %q", report)
		}
		res.err = syscall.Errno(n)
	default:
		t.Fatalf("probe failed: %s", report)
	}
	return res
}

func errString(err error) string {
	if err == nil {
		return "success"
	}
	if errno, ok := err.(syscall.Errno); ok {
		return fmt.Sprintf("%s (%v)", unix.ErrnoName(errno), err)
	}
	return err.Error()
}

// TestRefused runs each forbidden operation under the filter and checks
// it fails with the filter's errno, and runs it without the filter to
// check that the kernel alone would have answered something else.
func TestRefused(t *testing.T) {
	tests := []struct {
		name   string
		probe  string
		filter string
		want   error
	}{
		{"unshare CLONE_NEWUSER", "unshare-newuser", filterDefault, unix.EPERM},
		{"unshare CLONE_NEWNS", "unshare-newns", filterDefault, unix.EPERM},
		{"unshare CLONE_NEWTIME", "unshare-newtime", filterDefault, unix.EPERM},
		{"clone CLONE_NEWPID", "clone-newpid", filterDefault, unix.EPERM},
		{"setns", "setns", filterDefault, unix.EPERM},
		{"mount", "mount", filterDefault, unix.EPERM},
		{"io_uring_setup", "io-uring-setup", filterDefault, unix.EPERM},
		{"ioctl TIOCSTI", "ioctl-tiocsti", filterDefault, unix.EPERM},
		{"ioctl TIOCSTI with high bits set", "ioctl-tiocsti-high-bits", filterDefault, unix.EPERM},
		{"ioctl TIOCLINUX", "ioctl-tioclinux", filterDefault, unix.EPERM},
		{"socket AF_UNIX", "socket-unix", filterDefault, unix.EPERM},
		{"keyctl", "keyctl", filterDefault, unix.EPERM},
		{"bpf", "bpf", filterDefault, unix.EPERM},
		{"clone3", "clone3", filterDefault, unix.ENOSYS},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := runProbe(t, tt.probe, tt.filter)
			if got.killed != 0 {
				t.Fatalf("probe killed by %v, want %s; %s", got.killed, errString(tt.want), got.output)
			}
			if !errors.Is(got.err, tt.want) {
				t.Errorf("under the filter: got %s, want %s", errString(got.err), errString(tt.want))
			}
			control := runProbe(t, tt.probe, filterNone)
			t.Logf("without the filter: %s", errString(control.err))
			if control.killed != 0 || errors.Is(control.err, tt.want) {
				t.Errorf("without the filter the probe also gets %s (killed: %v), so it cannot tell the filter from the kernel; is another seccomp filter, LSM or sysctl refusing it?", errString(control.err), control.killed)
			}
		})
	}
}

// TestRefusedGoExec checks the refusal as a Go program meets it: os/exec
// with SysProcAttr.Cloneflags. Without privilege the kernel refuses too,
// so the control only runs as root.
func TestRefusedGoExec(t *testing.T) {
	got := runProbe(t, "exec-newnet", filterDefault)
	if !errors.Is(got.err, unix.EPERM) {
		t.Errorf("under the filter: got %s, want %s; %s", errString(got.err), errString(unix.EPERM), got.output)
	}
	if os.Geteuid() != 0 {
		t.Log("not root: the kernel alone would refuse CLONE_NEWNET too; the control run is skipped")
		return
	}
	if control := runProbe(t, "exec-newnet", filterNone); control.err != nil {
		t.Errorf("without the filter: got %s, want success", errString(control.err))
	}
}

// TestAllowed checks operations the filter must leave alone, with and
// without the filter.
func TestAllowed(t *testing.T) {
	tests := []struct {
		name   string
		probe  string
		filter string
		want   error
	}{
		{"socket AF_UNIX when allowed", "socket-unix", filterAllowUnix, nil},
		{"socketpair AF_UNIX", "socketpair-unix", filterDefault, nil},
		{"socket AF_INET", "socket-inet", filterDefault, nil},
		{"ioctl TIOCGWINSZ", "ioctl-tiocgwinsz", filterDefault, nil},
		{"syscall -1 is ENOSYS, not a kill", "syscall-minus-one", filterDefault, unix.ENOSYS},
		{"Go threads", "go-threads", filterDefault, nil},
		{"Go os/exec", "go-exec", filterDefault, nil},
		{"sh with background jobs", "sh-background", filterDefault, nil},
		{"glibc pthreads (perl ithreads)", "perl-threads", filterDefault, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, filter := range []string{tt.filter, filterNone} {
				got := runProbe(t, tt.probe, filter)
				if got.killed != 0 {
					t.Fatalf("filter %s: probe killed by %v; %s", filter, got.killed, got.output)
				}
				if !errors.Is(got.err, tt.want) {
					t.Errorf("filter %s: got %s, want %s", filter, errString(got.err), errString(tt.want))
				}
			}
		})
	}
}

// TestKilled checks the calls the filter answers by killing the process.
func TestKilled(t *testing.T) {
	tests := []struct {
		name   string
		probe  string
		filter string
	}{
		{"filter for another arch", "getpid", filterForeignArch},
	}
	if runtime.GOARCH == "amd64" {
		tests = append(tests, struct{ name, probe, filter string }{"x32 system call", "x32-getpid", filterDefault})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := runProbe(t, tt.probe, tt.filter); got.killed != unix.SIGSYS {
				t.Errorf("under the filter: killed by %v, want %v; %s", got.killed, unix.SIGSYS, got.output)
			}
			if control := runProbe(t, tt.probe, filterNone); control.killed != 0 {
				t.Errorf("without the filter: killed by %v, want the probe to survive", control.killed)
			}
		})
	}
}

// TestKernelAcceptsProgram installs the program for each Options value.
func TestKernelAcceptsProgram(t *testing.T) {
	for _, filter := range []string{filterDefault, filterAllowUnix} {
		t.Run(filter, func(t *testing.T) {
			t.Parallel()
			got := runProbe(t, "install", filter)
			if got.killed != 0 || got.err != nil {
				t.Errorf("Install: killed by %v, error %s; %s", got.killed, errString(got.err), got.output)
			}
		})
	}
}
