//go:build darwin

package confine

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The macOS backend: Seatbelt, through sandbox-exec. See docs/macos.md.
//
// A run is:
//
//  1. the relay to the proxies on the host's loopback (loopback.go), when
//     the Spec has a network, and a private temporary directory;
//  2. the profile (SeatbeltProfile), naming the relay's ports, the
//     temporary directory and a marker made for the run;
//  3. `log stream`, reading the run's refusals from the unified log as
//     they happen (seatbeltlog.go), started and seen running first;
//  4. `sandbox-exec -p PROFILE sandbar __sandbar_exec 3 4 -- ARGV...` in
//     a session of its own: sandbox-exec applies the profile and runs
//     sandbar's own binary as a small supervisor (see MaybeInit), which
//     finds the command on the sandbox's PATH, starts it in its own
//     process group, and reports on descriptor 3 how it ended, or why it
//     could not start (so that "not found" is told apart from a profile
//     the kernel refused). Descriptor 4 is the lifeline: its only writer
//     is sandbar, so when sandbar dies, however it dies, the supervisor
//     reads end of file and kills the process group;
//  5. when the command exits, everything left in its process group is
//     killed, and the log is read up to a line logged after the exit.

const (
	sandboxExecPath = "/usr/bin/sandbox-exec"
	logPath         = "/usr/bin/log"
	loggerPath      = "/usr/bin/logger"
	// execArg is os.Args[1] of sandbar's binary when it starts a
	// command inside the sandbox (see MaybeInit).
	execArg = "__sandbar_exec"
)

// logStartTimeout bounds the wait for `log stream` to show a line logged
// after it started; logEndTimeout the wait, after the command, for the
// refusals it caused to come through.
const (
	logStartTimeout = 5 * time.Second
	logEndTimeout   = 2 * time.Second
)

// Run confines s with Seatbelt and waits for it. It returns a
// *SetupError when the sandbox could not be built. Cancelling ctx kills
// the command's process group.
func (r Runner) Run(ctx context.Context, s Spec, stdio Stdio) (Result, error) {
	start := time.Now()
	s, err := s.Validate()
	if err != nil {
		return Result{}, &SetupError{"building sandbox", err}
	}
	if _, err := os.Stat(sandboxExecPath); err != nil {
		return Result{}, &SetupError{"finding sandbox-exec", err}
	}
	self, err := selfPath()
	if err != nil {
		return Result{}, &SetupError{"finding sandbar's executable", err}
	}
	tmp, err := privateTemp()
	if err != nil {
		return Result{}, &SetupError{"making the run's temporary directory", err}
	}
	defer os.RemoveAll(tmp)
	marker, err := newMarker()
	if err != nil {
		return Result{}, &SetupError{"building sandbox", err}
	}

	seen := newSeatbeltViolations(Seatbelt{}, r.OnViolation)
	var relay *loopbackRelay
	var ports []int
	if s.Network.Proxy != nil {
		relay, err = startLoopbackRelay(s.Network.Proxy, seen.record)
		if err != nil {
			return Result{}, &SetupError{"starting the network relay", err}
		}
		defer relay.Close()
		ports = []int{relay.HTTPPort, relay.SOCKSPort}
	}
	sb, err := SeatbeltProfile(s, SeatbeltLayout{Marker: marker, TempDir: tmp, ProxyPorts: ports, Self: self, Resolve: resolveExisting})
	if err != nil {
		return Result{}, &SetupError{"building the Seatbelt profile", err}
	}
	seen.sb = sb

	res := Result{}
	var stream *logStream
	if r.NoViolationReports {
		res.ViolationsOff = "turned off (Runner.NoViolationReports)"
	} else if stream, err = startLogStream(marker, seen); err != nil {
		res.ViolationsOff = "the unified log cannot be read: " + err.Error()
	}

	statusR, statusW, err := os.Pipe()
	if err != nil {
		stream.stop()
		return Result{}, &SetupError{"creating status pipe", err}
	}
	defer statusR.Close()
	lifeR, lifeW, err := os.Pipe()
	if err != nil {
		statusW.Close()
		stream.stop()
		return Result{}, &SetupError{"creating the lifeline", err}
	}
	// Never written: it ends when sandbar does.
	defer lifeW.Close()
	args := append([]string{"-p", sb.Profile, self, execArg, "3", "4", "--"}, s.Argv...)
	cmd := exec.Command(sandboxExecPath, args...)
	cmd.Env = loopbackEnv(s.Env, relay, self, tmp)
	cmd.Dir = s.Dir
	cmd.Stdin, cmd.Stdout, cmd.Stderr = fileOrNil(stdio.Stdin), fileOrNil(stdio.Stdout), fileOrNil(stdio.Stderr)
	cmd.ExtraFiles = []*os.File{statusW, lifeR}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// A session of its own: the user's terminal is not the
		// command's controlling terminal, so TIOCSTI on it is refused
		// (EACCES), and Ctrl-C reaches the command through Signals.
		// The command's process group is its session's.
		Setsid: true,
		// When its standard input is a terminal (the pseudo-terminal
		// sandbar run gives it, never the user's), that is its
		// controlling terminal: job control and /dev/tty work.
		Setctty: isTerminal(cmd.Stdin),
		Ctty:    0,
	}
	err = cmd.Start()
	statusW.Close()
	lifeR.Close()
	if err != nil {
		stream.stop()
		return Result{}, &SetupError{"starting sandbox-exec", err}
	}
	pgid := cmd.Process.Pid

	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				syscall.Kill(-pgid, syscall.SIGKILL)
				return
			case sig, ok := <-r.Signals:
				if !ok {
					r.Signals = nil
					continue
				}
				if ss, ok := sig.(syscall.Signal); ok {
					syscall.Kill(-pgid, ss)
				}
			}
		}
	}()
	// The status pipe ends when sandbox-exec or the supervisor exits
	// (the command does not inherit it).
	status, _ := io.ReadAll(io.LimitReader(statusR, 64<<10))
	waitErr := cmd.Wait()
	close(done)
	// Nothing the command started outlives it in its process group.
	syscall.Kill(-pgid, syscall.SIGKILL)
	stream.stop()
	res.Violations = seen.list()
	res.Duration = time.Since(start)

	if cmd.ProcessState == nil {
		return res, fmt.Errorf("waiting for the command: %w", waitErr)
	}
	ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
	switch {
	case len(status) == 0 && ctx.Err() != nil:
		res.ExitCode, res.Signal = 128+int(syscall.SIGKILL), syscall.SIGKILL
		return res, nil
	case len(status) == 0:
		// sandbox-exec never ran the supervisor: it could not apply
		// the profile (another sandbox around sandbar, or a profile
		// this macOS rejects); it said why on the command's stderr.
		return Result{}, &SetupError{"applying the Seatbelt profile", fmt.Errorf("sandbox-exec failed before starting the command (%v)", waitErr)}
	case len(status) > 1:
		var st execStatus
		if json.Unmarshal(status[1:], &st) == nil {
			res.ExitCode, res.Signal = st.ExitCode, syscall.Signal(st.Signal)
			return res, nil
		}
	}
	switch {
	case ws.Signaled():
		res.Signal = ws.Signal()
		res.ExitCode = 128 + int(res.Signal)
	case ws.Exited():
		res.ExitCode = ws.ExitStatus()
	case waitErr != nil:
		return res, fmt.Errorf("waiting for the command: %w", waitErr)
	}
	return res, nil
}

func fileOrNil(f *os.File) io.ReadWriter {
	if f == nil {
		return nil
	}
	return f
}

// execStatus is what the supervisor reports, after the byte 'R' that says
// the profile was applied: how the command ended, or why it did not
// start.
type execStatus struct {
	ExitCode int    `json:"exit_code"`
	Signal   int    `json:"signal,omitempty"`
	Error    string `json:"error,omitempty"`
}

// MaybeInit runs the supervisor when this process is sandbar's binary
// started by sandbox-exec (`sandbar __sandbar_exec STATUS LIFELINE --
// ARGV...`): it never returns then. Otherwise it does nothing.
func MaybeInit() {
	if len(os.Args) < 6 || os.Args[1] != execArg || os.Args[4] != "--" {
		return
	}
	os.Exit(supervise(os.Args[2], os.Args[3], os.Args[5:]))
}

// supervise runs argv in the sandbox, with the command's environment (this
// process's), and reports on the status descriptor that the profile was
// applied and how the command ended. It stays, in the command's process
// group, for the lifeline: when sandbar dies, it kills the group.
func supervise(statusArg, lifeArg string, argv []string) int {
	statusFD, err1 := strconv.Atoi(statusArg)
	lifeFD, err2 := strconv.Atoi(lifeArg)
	if err1 != nil || err2 != nil || statusFD < 3 || lifeFD < 3 {
		fmt.Fprintf(os.Stderr, "sandbar: bad descriptors %q %q\n", statusArg, lifeArg)
		return 125
	}
	// Neither is the command's.
	syscall.CloseOnExec(statusFD)
	syscall.CloseOnExec(lifeFD)
	status := os.NewFile(uintptr(statusFD), "status")
	status.Write([]byte{'R'})
	report := func(st execStatus) int {
		b, _ := json.Marshal(st)
		status.Write(b)
		return st.ExitCode
	}
	fail := func(code int, err error) int {
		fmt.Fprintf(os.Stderr, "sandbar: %s: %s\n", argv[0], explainStartError(err))
		return report(execStatus{ExitCode: code, Error: err.Error()})
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		code := 127
		if errors.Is(err, fs.ErrPermission) {
			code = 126
		}
		return fail(code, err)
	}
	// sandbar sends the signals meant for the command to its whole
	// process group, this process included: catch them so they do not
	// end the supervisor. A caught signal is reset to its default in the
	// command when it execs; an ignored one would stay ignored there.
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT,
		syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH, syscall.SIGALRM)
	go func() {
		for range sigs {
		}
	}()
	proc, err := os.StartProcess(path, argv, &os.ProcAttr{Env: os.Environ(), Files: []*os.File{os.Stdin, os.Stdout, os.Stderr}})
	if err != nil {
		code := 126
		if errors.Is(err, fs.ErrNotExist) {
			code = 127
		}
		return fail(code, err)
	}
	go func() {
		// Only sandbar holds the other end, and never writes: end of
		// file means sandbar is gone. Kill the whole group, this
		// process included.
		io.Copy(io.Discard, os.NewFile(uintptr(lifeFD), "lifeline"))
		syscall.Kill(0, syscall.SIGKILL)
	}()
	ps, err := proc.Wait()
	if err != nil {
		return report(execStatus{ExitCode: 125, Error: err.Error()})
	}
	ws := ps.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		return report(execStatus{ExitCode: 128 + int(ws.Signal()), Signal: int(ws.Signal())})
	}
	return report(execStatus{ExitCode: ws.ExitStatus()})
}

func explainStartError(err error) string {
	if errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
		return "command not found"
	}
	return err.Error()
}

// selfPath is sandbar's own executable, symbolic links resolved, as the
// profile must name it.
func selfPath() (string, error) {
	p, err := os.Executable()
	if err != nil {
		return "", err
	}
	return filepath.EvalSymlinks(p)
}

// privateTemp makes the run's temporary directory, in the user's own
// temporary directory (/var/folders/…/T, resolved to /private/var/…).
func privateTemp() (string, error) {
	base, err := filepath.EvalSymlinks(os.TempDir())
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp(base, "sandbar-tmp-")
	if err != nil {
		return "", err
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

func newMarker() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return "sandbar-" + hex.EncodeToString(b[:]), nil
}

// resolveExisting resolves the symbolic links of the part of p that
// exists: /tmp/new/x is /private/tmp/new/x. Seatbelt sees resolved paths.
func resolveExisting(p string) (string, error) {
	var rest []string
	for d := p; ; d = filepath.Dir(d) {
		r, err := filepath.EvalSymlinks(d)
		if err == nil {
			return filepath.Join(append([]string{r}, rest...)...), nil
		}
		if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
			return "", err
		}
		if d == "/" || d == "." {
			return p, nil
		}
		rest = append([]string{filepath.Base(d)}, rest...)
	}
}

// logStream reads one run's refusals from `log stream`.
type logStream struct {
	cmd            *exec.Cmd
	ready, end     chan struct{}
	readyTok       string
	endTok         string
	read           chan struct{} // closed when the reader is done
	stderr         *bytes.Buffer
	readyOnce, eos sync.Once
}

// startLogStream starts `log stream` for the run tagged marker and waits
// until it shows a line logged after it started: the stream shows only
// what is logged once it runs, so a command started earlier could be
// refused unseen.
func startLogStream(marker string, seen *seatbeltViolations) (*logStream, error) {
	ls := &logStream{
		ready: make(chan struct{}), end: make(chan struct{}), read: make(chan struct{}),
		readyTok: marker + "-ready", endTok: marker + "-end", stderr: &bytes.Buffer{},
	}
	predicate := fmt.Sprintf(`(senderImagePath ENDSWITH "/Sandbox" AND eventMessage CONTAINS "%s:") OR eventMessage ENDSWITH "%s" OR eventMessage ENDSWITH "%s"`,
		marker, ls.readyTok, ls.endTok)
	ls.cmd = exec.Command(logPath, "stream", "--style", "ndjson", "--predicate", predicate)
	out, err := ls.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	ls.cmd.Stderr = ls.stderr
	if err := ls.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		defer close(ls.read)
		sc := bufio.NewScanner(out)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			l := sc.Bytes()
			switch {
			case seatbeltLogReady(l, ls.readyTok):
				ls.readyOnce.Do(func() { close(ls.ready) })
			case seatbeltLogReady(l, ls.endTok):
				ls.eos.Do(func() { close(ls.end) })
			default:
				seen.line(l, marker)
			}
		}
	}()
	deadline := time.After(logStartTimeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		exec.Command(loggerPath, ls.readyTok).Run()
		select {
		case <-ls.ready:
			return ls, nil
		case <-ls.read:
			ls.cmd.Wait()
			return nil, fmt.Errorf("log stream exited: %s", strings.TrimSpace(ls.stderr.String()))
		case <-deadline:
			ls.kill()
			return nil, fmt.Errorf("log stream showed nothing within %v", logStartTimeout)
		case <-tick.C:
		}
	}
}

// stop reads the stream up to a line logged now, after the command, so
// that the refusals it caused have come through, and ends it.
func (ls *logStream) stop() {
	if ls == nil {
		return
	}
	exec.Command(loggerPath, ls.endTok).Run()
	select {
	case <-ls.end:
	case <-ls.read:
	case <-time.After(logEndTimeout):
	}
	ls.kill()
}

func (ls *logStream) kill() {
	ls.cmd.Process.Kill()
	<-ls.read
	ls.cmd.Wait()
}

// Explain returns the Seatbelt profile a run of s would use, with the
// command line that applies it. The relay's ports, the marker and the
// temporary directory are made when the run starts; the text says which
// stand-ins it shows.
func Explain(s Spec) (string, error) {
	self, err := selfPath()
	if err != nil {
		return "", err
	}
	base, err := filepath.EvalSymlinks(os.TempDir())
	if err != nil {
		return "", err
	}
	l := SeatbeltLayout{Marker: "sandbar-RUN", TempDir: filepath.Join(base, "sandbar-tmp-RUN"), Self: self, Resolve: resolveExisting}
	if s.Network.Proxy != nil {
		l.ProxyPorts = []int{3128, 1080}
	}
	sb, err := SeatbeltProfile(s, l)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("# " + ShellQuote(sandboxExecPath) + " -p PROFILE " + ShellQuote(self) + " " + execArg + " 3 4 -- " + strings.Join(quoteAll(s.Argv), " ") + "\n")
	b.WriteString("# (3: how the command ended; 4: the lifeline, which ends the command when sandbar does)\n")
	b.WriteString("# Made for each run, shown here with stand-ins: the marker (sandbar-RUN), the\n")
	b.WriteString("# temporary directory (sandbar-tmp-RUN, which is $TMPDIR)")
	if s.Network.Proxy != nil {
		b.WriteString(", and the ports of the relay to\n# the proxies on 127.0.0.1 and ::1 (3128 and 1080 below; free ports in a run)")
	}
	b.WriteString(".\n# PROFILE:\n")
	b.WriteString(sb.Profile)
	return b.String(), nil
}

// ExplainSeccomp has nothing to show: seccomp is Linux's.
func ExplainSeccomp(r Runner, s Spec) (string, error) {
	return "", errors.New("there are no seccomp filters on macOS: the Seatbelt profile (sandbar explain) is all the sandbox is")
}

// isTerminal reports whether r is a terminal device.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok || f == nil {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TIOCGETA)
	return err == nil
}
