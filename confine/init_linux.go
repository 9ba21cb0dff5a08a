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
// the whole sandbox is torn down. The first four are those sandbar
// forwards to the init.
var forwarded = []os.Signal{
	syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTERM,
	syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH, syscall.SIGALRM,
	syscall.SIGCONT,
}

// fromSandbar is how many of forwarded sandbar itself forwards.
const fromSandbar = 4

// runInit is PID 1 of the sandbox. args: STATUS-FD EXE-FD LIFELINE-FD
// NOTIFY-FD CONF-FD -- ARGV... NOTIFY-FD is -1 when nothing needs
// watching, CONF-FD -1 when the sandbox has neither network nor
// anything to hide with Landlock; otherwise CONF-FD holds an initConfig
// and, with a network, the two descriptors after it the proxies'
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
	statusFD, exeFD, lifeFD, notifyFD, confFD := fds[0], fds[1], fds[2], fds[3], fds[4]
	argv := args[6:]

	// Registering a signal waits for a round trip to the Go runtime's
	// signal thread, several thread switches: 0.5 ms for all of them on
	// an idle machine, much more on a busy one. So it goes on while the
	// command is being prepared; the signals sandbar forwards are
	// registered before the command starts, the others (which only a
	// process aiming at the init itself sends) while it starts: one of
	// them arriving in that first fraction of a millisecond ends the
	// sandbox instead of reaching the command.
	sigs := make(chan os.Signal, 32)
	registered := make(chan struct{})
	go func() {
		signal.Notify(sigs, forwarded[:fromSandbar]...)
		close(registered)
		signal.Notify(sigs, forwarded[fromSandbar:]...)
	}()

	// The lifeline is a pipe whose only writer is sandbar. When sandbar
	// dies, however it dies, the read sees end of file and the sandbox
	// goes with it. bwrap's --die-with-parent should do the same through
	// a parent-death signal, but that signal is lost whenever credentials
	// change after it is set, and bwrap changes them while it builds the
	// sandbox; a pipe has no such exceptions.
	// Read through the runtime's poller, so that waiting takes no thread
	// of its own: every thread the init starts is one more to start and
	// to stop.
	orphaned := make(chan struct{})
	unix.SetNonblock(lifeFD, true)
	lifeline := os.NewFile(uintptr(lifeFD), "lifeline")
	go func() {
		var b [1]byte
		for {
			if _, err := lifeline.Read(b[:]); err != nil {
				close(orphaned)
				return
			}
		}
	}()
	status := os.NewFile(uintptr(statusFD), "status")
	report := func(st initStatus) int {
		status.Write(st.line())
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

	var conf initConfig
	if confFD >= 0 {
		c, err := readConfig(confFD)
		if err == nil && len(c.Hello) > 0 {
			// The relay listens before the command starts, so the
			// command cannot take its addresses.
			err = startRelay(confFD, c.Hello)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "sandbar: %v\n", err)
			return report(initStatus{ExitCode: 125, Error: err.Error()})
		}
		conf = c
	}
	cmdFilter := conf.Filter
	hideRS := -1
	switch {
	case conf.HideError != "":
		fmt.Fprintf(os.Stderr, "sandbar: %s\n", conf.HideError)
		return report(initStatus{ExitCode: 125, Error: conf.HideError})
	case conf.Hide:
		// sandbar filled the ruleset with the host's inodes; what only
		// the sandbox has is added here.
		if err := grantInSandbox(hideFD); err != nil {
			fmt.Fprintf(os.Stderr, "sandbar: %v\n", err)
			return report(initStatus{ExitCode: 125, Error: err.Error()})
		}
		hideRS = hideFD
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

	// Sandbar may have died, or cancelled the run, while bwrap was still
	// building the sandbox: then the command must not start at all.
	if cut(lifeFD) {
		return 128 + int(syscall.SIGKILL)
	}

	if hideRS >= 0 {
		// On this thread only, like the filters below: the command,
		// forked from it, inherits the ruleset. The thread is never
		// unlocked.
		runtime.LockOSThread()
		if err := restrictThread(hideRS); err != nil {
			fmt.Fprintf(os.Stderr, "sandbar: %v\n", err)
			return report(initStatus{ExitCode: 125, Error: err.Error()})
		}
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

	<-registered
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
	go func() {
		<-orphaned
		// Everything in the namespace but us; our exit takes the rest.
		unix.Kill(-1, syscall.SIGKILL)
		os.Exit(128 + int(syscall.SIGKILL))
	}()
	go func() {
		for sig := range sigs {
			if err := unix.Kill(-child, sig.(syscall.Signal)); err != nil {
				unix.Kill(child, sig.(syscall.Signal))
			}
		}
	}()
	// Reap everything: as PID 1 the init inherits every orphan. A
	// blocking wait4 on this goroutine rather than a SIGCHLD handler: it
	// returns as soon as a child exits, without a round trip through the
	// runtime's signal thread, and needs no thread of its own.
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, 0, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			// No child left, yet the command was not reaped: cannot
			// happen, as only the init reaps.
			return report(initStatus{ExitCode: 125, Error: "waiting for the command: " + err.Error()})
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

// line is the status as one line of JSON. The usual ones are written
// without encoding/json, whose first use in a process costs a tenth of a
// millisecond, after the command has ended.
func (st initStatus) line() []byte {
	if st.Started || st.Error != "" {
		b, _ := json.Marshal(st)
		return append(b, '\n')
	}
	b := append([]byte(`{"exitCode":`), strconv.Itoa(st.ExitCode)...)
	if st.Signal != 0 {
		b = append(append(b, `,"signal":`...), strconv.Itoa(st.Signal)...)
	}
	return append(b, "}\n"...)
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
	// One system call where the kernel has it (Linux 5.11).
	if unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC) == nil {
		return
	}
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
