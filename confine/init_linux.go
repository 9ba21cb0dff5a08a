package confine

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/sandbar-dev/sandbar/confine/notify"
	"github.com/sandbar-dev/sandbar/confine/seccomp"
)

// initArg is argv[1] of sandbar's binary when bwrap runs it as the
// sandbox's init. It is deliberately not a documented subcommand.
const initArg = "__sandbar_init"

// initStatus is what the init reports about the command on its private
// pipe. bwrap's own exit status cannot tell "exited 130" from "killed by
// SIGINT", and cannot tell either from "sandbar could not start it".
type initStatus struct {
	Started  bool   `json:"started,omitempty"`
	ExitCode int    `json:"exitCode"`
	Signal   int    `json:"signal,omitempty"`
	Error    string `json:"error,omitempty"`
}

// MaybeInit runs the in-sandbox init and exits if this process was started
// as one; otherwise it returns at once. Call it first thing in main (and
// in TestMain of tests that confine the test binary itself).
func MaybeInit() {
	if len(os.Args) > 1 && os.Args[1] == initArg {
		os.Exit(runInit(os.Args[2:]))
	}
}

// forwarded are the signals the init passes on to the command's process
// group. SIGKILL and SIGSTOP cannot be caught; SIGKILL on the init is how
// the whole sandbox is torn down.
var forwarded = []os.Signal{
	syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTERM,
	syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH, syscall.SIGALRM,
	syscall.SIGCONT,
}

// runInit is PID 1 of the sandbox. args: STATUS-FD EXE-FD LIFELINE-FD
// NOTIFY-FD NET-FD -- ARGV... NOTIFY-FD is -1 when nothing needs
// watching, NET-FD -1 when the sandbox has no network; otherwise NET-FD
// holds a netConfig and the two descriptors after it the proxies'
// sockets (see layoutFor).
func runInit(args []string) int {
	// Nothing in the sandbox may trace this process, read its memory or
	// its descriptors (they reach the proxies, and it holds the proxies'
	// credential): the command runs as the same user, but without
	// capabilities it cannot get past a process that is not dumpable.
	unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
	if len(args) < 7 || args[5] != "--" {
		fmt.Fprintln(os.Stderr, "sandbar init: bad arguments")
		return 125
	}
	var fds [5]int
	for i := range fds {
		n, err := strconv.Atoi(args[i])
		if err != nil {
			fmt.Fprintln(os.Stderr, "sandbar init: bad descriptor arguments")
			return 125
		}
		fds[i] = n
	}
	statusFD, exeFD, lifeFD, notifyFD, netFD := fds[0], fds[1], fds[2], fds[3], fds[4]
	argv := args[6:]

	// The lifeline is a pipe whose only writer is sandbar. When sandbar
	// dies, however it dies, the read sees end of file and the sandbox
	// goes with it. bwrap's --die-with-parent should do the same through
	// a parent-death signal, but that signal is lost whenever credentials
	// change after it is set, and bwrap changes them while it builds the
	// sandbox; a pipe has no such exceptions.
	orphaned := make(chan struct{})
	go func() {
		var b [1]byte
		for {
			n, err := unix.Read(lifeFD, b[:])
			if n == 0 || (err != nil && err != unix.EINTR) {
				close(orphaned)
				return
			}
		}
	}()
	status := os.NewFile(uintptr(statusFD), "status")
	report := func(st initStatus) int {
		b, _ := json.Marshal(st)
		status.Write(append(b, '\n'))
		status.Close()
		if st.Signal != 0 {
			return 128 + st.Signal
		}
		return st.ExitCode
	}

	// The first line says the sandbox is up; without it sandbar knows
	// bwrap failed while building it.
	status.Write([]byte("{\"started\":true}\n"))
	unix.Close(exeFD)
	// Descriptors bwrap passed on (and any the caller leaked) must not
	// reach the command: the status pipe in particular would let it forge
	// its own exit status.
	closeExtraOnExec()

	var cmdFilter []byte
	if netFD >= 0 {
		// The relay listens before the command starts, so the command
		// cannot take its addresses.
		f, err := startRelay(netFD)
		if err != nil {
			fmt.Fprintf(os.Stderr, "sandbar: %v\n", err)
			return report(initStatus{ExitCode: 125, Error: err.Error()})
		}
		cmdFilter = f
	}

	tty := isTerminal(0)
	if tty {
		// bwrap's --new-session left us a session leader with no
		// controlling terminal; take the fresh pty sandbar gave us, so the
		// command gets job control and Ctrl-C.
		unix.IoctlSetInt(0, unix.TIOCSCTTY, 0)
	}

	path, err := exec.LookPath(argv[0])
	if err != nil {
		fmt.Fprintf(os.Stderr, "sandbar: %s: %v\n", argv[0], explainLookPath(err))
		code := 127
		if errors.Is(err, fs.ErrPermission) {
			code = 126
		}
		return report(initStatus{ExitCode: code, Error: err.Error()})
	}

	sigs := make(chan os.Signal, 32)
	signal.Notify(sigs, append([]os.Signal{syscall.SIGCHLD}, forwarded...)...)

	// Sandbar may have died, or cancelled the run, while bwrap was still
	// building the sandbox: then the command must not start at all.
	if cut(lifeFD) {
		return 128 + int(syscall.SIGKILL)
	}

	if cmdFilter != nil {
		// Like the watch filter below: on this thread only, which forks
		// the command; the relay's threads keep Unix sockets.
		prog, err := seccomp.Unmarshal(cmdFilter)
		if err == nil {
			err = seccomp.InstallThread(prog)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "sandbar: %v\n", err)
			return report(initStatus{ExitCode: 125, Error: err.Error()})
		}
	}
	if notifyFD >= 0 {
		// The watch filter goes on this thread only, and the command is
		// forked from this thread, so it inherits the filter while the
		// init's other threads (signals, the lifeline) stay unwatched.
		// The thread is never unlocked.
		runtime.LockOSThread()
		if err := watchCreates(notifyFD); err != nil {
			fmt.Fprintf(os.Stderr, "sandbar: %v\n", err)
			return report(initStatus{ExitCode: 125, Error: err.Error()})
		}
	}

	// syscall.ForkExec rather than os.StartProcess: the latter probes
	// pidfd support with an extra fork on first use, a cost paid on
	// every run here.
	child, err := syscall.ForkExec(path, argv, &syscall.ProcAttr{
		Env:   os.Environ(),
		Files: []uintptr{0, 1, 2},
		Sys: &syscall.SysProcAttr{
			// Its own process group, so a forwarded signal reaches the
			// command's whole pipeline, as a terminal would send it.
			Setpgid:    true,
			Foreground: tty,
			Ctty:       0,
		},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "sandbar: %s: %v\n", argv[0], err)
		code := 126
		if errors.Is(err, fs.ErrNotExist) {
			code = 127
		}
		return report(initStatus{ExitCode: code, Error: err.Error()})
	}
	for {
		var sig os.Signal
		select {
		case <-orphaned:
			// Everything in the namespace but us; our exit takes the
			// rest.
			unix.Kill(-1, syscall.SIGKILL)
			return 128 + int(syscall.SIGKILL)
		case sig = <-sigs:
		}
		if sig != syscall.SIGCHLD {
			if err := unix.Kill(-child, sig.(syscall.Signal)); err != nil {
				unix.Kill(child, sig.(syscall.Signal))
			}
			continue
		}
		// Reap everything: as PID 1 we inherit every orphan.
		for {
			var ws unix.WaitStatus
			pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
			if err != nil || pid <= 0 {
				break
			}
			if pid != child {
				continue
			}
			// Returning ends PID 1, and the kernel kills whatever the
			// command left running in the background.
			if ws.Signaled() {
				return report(initStatus{Signal: int(ws.Signal())})
			}
			return report(initStatus{ExitCode: ws.ExitStatus()})
		}
	}
}

// watchCreates reads from sock the filter that sends the command's
// writes to sandbar (see watchPlan), installs it on this thread, and
// hands sandbar the listener through sock.
func watchCreates(sock int) error {
	defer unix.Close(sock)
	b, err := readAll(sock, 64<<10)
	if err != nil {
		return fmt.Errorf("reading the watch filter: %w", err)
	}
	prog, err := seccomp.Unmarshal(b)
	if err != nil {
		return err
	}
	listener, err := seccomp.InstallListener(prog)
	if err != nil {
		return fmt.Errorf("watching file creation: %w", err)
	}
	defer unix.Close(listener)
	if err := notify.SendFD(sock, listener); err != nil {
		return fmt.Errorf("handing the watch to sandbar: %w", err)
	}
	return nil
}

// readAll reads fd to end of file, at most limit bytes.
func readAll(fd, limit int) ([]byte, error) {
	var out []byte
	buf := make([]byte, 4096)
	for len(out) <= limit {
		n, err := unix.Read(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return out, nil
		}
		out = append(out, buf[:n]...)
	}
	return nil, fmt.Errorf("more than %d bytes", limit)
}

// cut reports whether the lifeline is at end of file, without waiting.
func cut(fd int) bool {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	n, err := unix.Poll(fds, 0)
	return err == nil && n > 0 && fds[0].Revents&(unix.POLLHUP|unix.POLLIN) != 0
}

func explainLookPath(err error) string {
	if errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
		return "command not found"
	}
	return err.Error()
}

func closeExtraOnExec() {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return
	}
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		if err == nil && fd > 2 {
			unix.CloseOnExec(fd)
		}
	}
}

func isTerminal(fd int) bool {
	_, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	return err == nil
}
