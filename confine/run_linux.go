package confine

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sandbar-dev/sandbar/confine/seccomp"
)

// Run confines s and waits for it. It returns a *SetupError when the
// sandbox could not be built. Cancelling ctx kills every process in the
// sandbox.
func (r Runner) Run(ctx context.Context, s Spec, stdio Stdio) (Result, error) {
	start := time.Now()
	bwrapPath, err := FindBwrap(r.Bwrap)
	if err != nil {
		return Result{}, &SetupError{"finding bubblewrap", err}
	}
	plan, err := planWatch(r, s)
	if err != nil {
		return Result{}, &SetupError{"building seccomp filter", err}
	}
	hide, err := hideFor(s)
	if err != nil {
		return Result{}, &SetupError{"building sandbox", err}
	}
	pl, err := newPlumbing(s, plan, hide)
	defer pl.close()
	if err != nil {
		return Result{}, err
	}
	args, fds, err := BwrapArgs(s, pl.layout)
	if err != nil {
		return Result{}, &SetupError{"building sandbox", err}
	}
	for _, d := range fds {
		f, err := openDescriptor(d)
		if err != nil {
			return Result{}, &SetupError{"building sandbox", err}
		}
		pl.give(f)
	}

	proc, err := spawn(bwrapPath, append([]string{bwrapPath}, args...), s.Env, stdio, pl.childSide, &syscall.SysProcAttr{
		// Out of sandbar's process group: a Ctrl-C meant for the
		// command reaches it through the init, not by killing bwrap.
		Setpgid: true,
		// No parent-death signal for bwrap: killed in the middle of
		// building the sandbox, it would leave its half-built child
		// waiting forever for a go-ahead that never comes. The
		// lifeline ends everything instead: if sandbar dies, bwrap
		// finishes, the init starts, finds the lifeline cut and
		// exits before the command runs.
	})
	if err != nil {
		return Result{}, &SetupError{"starting bubblewrap", err}
	}
	pl.closeChildSide()

	st := readStatuses(pl.bwrapStatusR, pl.initStatusR)
	done := make(chan struct{})
	go func() {
		// A signal can come before bwrap has said which process is the
		// init (the reader of its status may simply not have run yet):
		// it waits for the PID rather than being lost.
		var pending []os.Signal
		pidKnown := st.pidKnown
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				killSandbox(st, pl.lifeW)
				return
			case <-pidKnown:
				pidKnown = nil
				for _, sig := range pending {
					st.signal(sig)
				}
				pending = nil
			case sig, ok := <-r.Signals:
				if !ok {
					r.Signals = nil
					continue
				}
				if pidKnown != nil {
					pending = append(pending, sig)
					continue
				}
				st.signal(sig)
			}
		}
	}()
	var watch *watcher
	if pl.watchSock != nil {
		watch = startWatch(pl.watchSock, s, plan, r.OnViolation)
	}

	ws, waitErr := proc.wait()
	close(done)
	// bwrap is gone; should anything of the sandbox linger (bwrap's own
	// parent-death signal is not reliable), cutting the lifeline ends it.
	pl.lifeW.Close()
	res := Result{ViolationsOff: plan.off}
	if watch != nil {
		res.Violations, res.CreatedNothing = watch.stop()
		// bind(2) makes a socket file without any call the watch
		// counts.
		res.CreatedNothing = res.CreatedNothing && !s.AllowUnixSockets
	}
	// The init is gone, so its pipe is at its end. bwrap's status may
	// still be held open for a moment by a helper process bwrap forked;
	// everything needed from it (the init's PID) came long ago.
	pl.initStatusW.Close()
	pl.bwrapStatusR.Close()
	st.wait()
	res.Duration = time.Since(start)
	return st.result(res, ctx.Err() != nil, ws, waitErr)
}

// plumbing is every descriptor Run hands to bwrap, in layout order, and
// the ends it keeps.
type plumbing struct {
	layout    BwrapLayout
	closers   []io.Closer
	childSide []*os.File // closed here once bwrap holds them

	bwrapStatusR, initStatusR, initStatusW, lifeW *os.File
	watchSock                                     *os.File // nil when nothing is watched
}

func (pl *plumbing) give(f *os.File) {
	pl.closers = append(pl.closers, f)
	pl.childSide = append(pl.childSide, f)
}

func (pl *plumbing) keep(f *os.File) { pl.closers = append(pl.closers, f) }

func (pl *plumbing) closeChildSide() {
	for _, f := range pl.childSide {
		f.Close()
	}
}

func (pl *plumbing) close() {
	for _, c := range pl.closers {
		c.Close()
	}
}

// hideFor is the init's part in hiding s's paths (see hide_linux.go),
// nil when there is none or the kernel cannot do it (HidingOff).
func hideFor(s Spec) (*hidePlan, error) {
	v, err := s.Validate()
	if err != nil {
		return nil, err
	}
	p := planHide(v)
	if p == nil || HidingOff() != "" {
		return nil, nil
	}
	return p, nil
}

func newPlumbing(s Spec, plan watchPlan, hide *hidePlan) (*plumbing, error) {
	pl := &plumbing{}
	// Which filters, and why: see seccompFilters.
	prog, cmdProg, err := seccompFilters(s, plan)
	if err != nil {
		return pl, &SetupError{"building seccomp filter", err}
	}

	// 3: the seccomp filter. The program is a few hundred bytes, far
	// below a pipe's buffer.
	filterR, filterW, err := os.Pipe()
	if err != nil {
		return pl, &SetupError{"creating seccomp pipe", err}
	}
	pl.give(filterR)
	_, err = filterW.Write(seccomp.Marshal(prog))
	filterW.Close()
	if err != nil {
		return pl, &SetupError{"writing seccomp filter", err}
	}

	// 4: bwrap's status.
	bwrapStatusR, bwrapStatusW, err := os.Pipe()
	if err != nil {
		return pl, &SetupError{"creating status pipe", err}
	}
	pl.keep(bwrapStatusR)
	pl.give(bwrapStatusW)
	pl.bwrapStatusR = bwrapStatusR

	// 5: the init is this very binary, passed by descriptor: it need not
	// be visible at any path inside the sandbox, and cannot be swapped
	// between here and exec.
	exe, err := os.Open("/proc/self/exe")
	if err != nil {
		return pl, &SetupError{"opening sandbar's executable", err}
	}
	pl.give(exe)

	// 6: the init's status.
	initStatusR, initStatusW, err := os.Pipe()
	if err != nil {
		return pl, &SetupError{"creating status pipe", err}
	}
	pl.keep(initStatusR)
	pl.give(initStatusW)
	pl.initStatusR, pl.initStatusW = initStatusR, initStatusW

	// 7: the lifeline. The init reads it, and only this process holds
	// the write end (close-on-exec, so no other child of ours inherits
	// it). When this process dies the init sees end of file and tears
	// the sandbox down.
	lifeR, lifeW, err := os.Pipe()
	if err != nil {
		return pl, &SetupError{"creating lifeline pipe", err}
	}
	pl.give(lifeR)
	pl.keep(lifeW)
	pl.lifeW = lifeW

	// 8: the watch. The init reads, over this socket pair, the filter
	// that sends the command's writes to sandbar (see watchPlan), and
	// hands back its listener. With nothing to watch, the init gets -1
	// and the descriptor is a harmless /dev/null that keeps the
	// numbering.
	watch := plan.filter != nil
	if watch {
		pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return pl, &SetupError{"creating watch socket", err}
		}
		pl.watchSock = os.NewFile(uintptr(pair[0]), "watch")
		pl.keep(pl.watchSock)
		pl.give(os.NewFile(uintptr(pair[1]), "watch-child"))
		if err := sendFilter(pair[0], plan.filter); err != nil {
			return pl, &SetupError{"handing the watch filter to the sandbox", err}
		}
	} else if err := pl.giveNull(); err != nil {
		return pl, err
	}

	// 9, 10, 11: the init's configuration and the network. The init
	// reads its configuration (the proxies' hello, the command's own
	// filter, whether to hide with Landlock) from a pipe, and reaches
	// the proxies through descriptors of their sockets.
	p := s.Network.Proxy
	var confW *os.File
	var conf initConfig
	if p != nil || hide != nil {
		var confR *os.File
		confR, confW, err = os.Pipe()
		if err != nil {
			return pl, &SetupError{"creating configuration pipe", err}
		}
		pl.give(confR)
		pl.keep(confW)
		if p != nil {
			conf.Hello = p.Hello
		}
		if cmdProg != nil {
			// bwrap's filter lets Unix sockets through, because the
			// relay needs them; the command's own filter does not.
			conf.Filter = seccomp.Marshal(cmdProg)
		}
	} else if err := pl.giveNull(); err != nil {
		return pl, err
	}
	if p != nil {
		for _, sock := range []string{p.HTTP, p.SOCKS} {
			f, err := openDescriptor(Descriptor{Path: sock})
			if err != nil {
				return pl, &SetupError{"reaching the proxy", err}
			}
			pl.give(f)
		}
	} else {
		for range 2 {
			if err := pl.giveNull(); err != nil {
				return pl, err
			}
		}
	}

	// 12: the Landlock ruleset the init puts in force (see
	// hide_linux.go). It is filled here, from the host's side, while
	// bwrap builds the sandbox; the configuration goes to the init only
	// once it is full, so the init, which waits for it, never puts a
	// half-filled ruleset in force.
	pl.layout = layoutFor(watch, confW != nil)
	if hide == nil {
		if confW != nil {
			if err := writeConfig(confW, conf); err != nil {
				return pl, err
			}
		}
		return pl, pl.giveNull()
	}
	rs, err := newRuleset()
	if err != nil {
		return pl, &SetupError{"building sandbox", err}
	}
	ruleset := os.NewFile(uintptr(rs), "landlock-ruleset")
	pl.give(ruleset)
	// Its own descriptor of the ruleset: the one given to bwrap is
	// closed once bwrap has it.
	fill, err := unix.FcntlInt(uintptr(rs), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return pl, &SetupError{"building sandbox", err}
	}
	go func() {
		defer unix.Close(fill)
		c := conf
		if err := fillRuleset(fill, hide); err != nil {
			c.HideError = err.Error()
		} else {
			c.Hide = true
		}
		writeConfig(confW, c)
	}()
	return pl, nil
}

// writeConfig writes the init's configuration and closes w. It is a few
// kilobytes at most, far below a pipe's buffer.
func writeConfig(w *os.File, conf initConfig) error {
	b, err := json.Marshal(conf)
	if err == nil {
		_, err = w.Write(b)
	}
	w.Close()
	if err != nil {
		return &SetupError{"writing the init's configuration", err}
	}
	return nil
}

func (pl *plumbing) giveNull() error {
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return &SetupError{"opening " + os.DevNull, err}
	}
	pl.give(devnull)
	return nil
}

// statuses collects what bwrap and the init report about the run.
type statuses struct {
	mu       sync.Mutex
	wg       sync.WaitGroup
	pidKnown chan struct{} // closed once pid is set, or bwrap said nothing more
	pid      int           // the init's host PID, from bwrap
	bwrapEnd *int          // bwrap's own report of the exit code
	started  bool          // the init is running
	final    *initStatus   // the init's report of how the command ended
}

func readStatuses(fromBwrap, fromInit io.Reader) *statuses {
	st := &statuses{pidKnown: make(chan struct{})}
	st.wg.Add(2)
	go func() {
		defer st.wg.Done()
		known := sync.OnceFunc(func() { close(st.pidKnown) })
		defer known()
		dec := json.NewDecoder(fromBwrap)
		for {
			var b bwrapStatus
			if err := dec.Decode(&b); err != nil {
				return
			}
			st.mu.Lock()
			if b.ChildPid != 0 && st.pid == 0 {
				st.pid = b.ChildPid
				known()
			}
			if b.ExitCode != nil {
				st.bwrapEnd = b.ExitCode
			}
			st.mu.Unlock()
		}
	}()
	go func() {
		defer st.wg.Done()
		br := bufio.NewReader(fromInit)
		for {
			line, err := br.ReadBytes('\n')
			var is initStatus
			if len(line) > 0 && json.Unmarshal(line, &is) == nil {
				st.mu.Lock()
				if is.Started {
					st.started = true
				} else {
					st.final = &is
				}
				st.mu.Unlock()
			}
			if err != nil {
				return
			}
		}
	}()
	return st
}

func (st *statuses) initPid() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.pid
}

// signal sends sig to the init, which passes it on to the command. With
// no init (bwrap failed before starting one) there is nobody to tell.
func (st *statuses) signal(sig os.Signal) {
	if pid := st.initPid(); pid != 0 {
		syscall.Kill(pid, sig.(syscall.Signal))
	}
}

func (st *statuses) wait() { st.wg.Wait() }

// result works out how the run ended from everything that reported.
func (st *statuses) result(res Result, cancelled bool, ws syscall.WaitStatus, waitErr error) (Result, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	switch {
	case st.final != nil:
		res.ExitCode = st.final.ExitCode
		if st.final.Signal != 0 {
			res.Signal = syscall.Signal(st.final.Signal)
			res.ExitCode = 128 + st.final.Signal
		}
		return res, nil
	case !st.started && !cancelled:
		// bwrap never got as far as the command: it printed why on
		// stderr.
		how := describe(ws)
		if waitErr != nil {
			how = waitErr.Error()
		}
		return res, &SetupError{"starting the sandbox", fmt.Errorf("bubblewrap could not build the sandbox (%s)", how)}
	case cancelled:
		res.Signal = syscall.SIGKILL
		res.ExitCode = 128 + int(syscall.SIGKILL)
		return res, nil
	}
	// The init itself was killed (SIGKILL from outside); bwrap reports
	// how.
	if waitErr == nil && ws.Signaled() {
		res.Signal = ws.Signal()
		res.ExitCode = 128 + int(ws.Signal())
		return res, nil
	}
	if st.bwrapEnd != nil {
		res.ExitCode = *st.bwrapEnd
		if res.ExitCode > 128 {
			res.Signal = syscall.Signal(res.ExitCode - 128)
		}
		return res, nil
	}
	res.ExitCode = ws.ExitStatus()
	if waitErr != nil {
		res.ExitCode = -1
	}
	return res, nil
}

// FindBwrap finds the bwrap executable: path if given, else bwrap on
// PATH, else /usr/bin/bwrap, where distributions install it (so a
// restricted PATH does not turn into a confusing failure).
func FindBwrap(path string) (string, error) {
	if path != "" {
		return exec.LookPath(path)
	}
	if p, err := exec.LookPath("bwrap"); err == nil {
		return p, nil
	}
	if p, err := exec.LookPath("/usr/bin/bwrap"); err == nil {
		return p, nil
	}
	return "", errors.New("bwrap is not installed; install bubblewrap (sudo apt-get install -y bubblewrap)")
}

type bwrapStatus struct {
	ChildPid int  `json:"child-pid"`
	ExitCode *int `json:"exit-code"`
}

func killSandbox(st *statuses, lifeline *os.File) {
	// Cutting the lifeline ends the sandbox from the inside, whatever
	// stage it is at: an init that has not started yet exits as soon as
	// it does. bwrap itself is never killed: in the middle of building
	// the sandbox, that would strand its child.
	lifeline.Close()
	// Killing PID 1 of the sandbox kills everything in it at once, and
	// its exit is reported only once the rest are gone, so when bwrap
	// exits the sandbox is empty.
	if pid := st.initPid(); pid != 0 {
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

// layoutFor is where Run puts bwrap's descriptors: 3 the seccomp filter,
// 4 bwrap's status, 5 sandbar's own executable (the init), 6 the init's
// status pipe, 7 the lifeline, 8 the watch socket, 9 the init's
// configuration (network and hiding), 10 and 11 the HTTP and SOCKS5
// proxies' sockets, 12 the Landlock ruleset (hideFD), 13 and up the
// descriptors BwrapArgs asks for. An unused descriptor is /dev/null, so
// the numbering never changes, and the init is told -1.
func layoutFor(watch, config bool) BwrapLayout {
	watchFD, confFD := "8", "9"
	if !watch {
		watchFD = "-1"
	}
	if !config {
		confFD = "-1"
	}
	return BwrapLayout{
		SeccompFD:    3,
		StatusFD:     4,
		FirstExtraFD: hideFD + 1,
		Init:         []string{"/proc/self/fd/5", initArg, "6", "5", "7", watchFD, confFD, "--"},
	}
}

// initConfig is what the init reads from its configuration descriptor.
type initConfig struct {
	// Hello goes first on every relayed connection; without it the
	// sandbox has no network and the init no relay.
	Hello []byte `json:"hello,omitempty"`
	// Filter, when set, is a seccomp program (seccomp.Marshal) the init
	// installs on the thread that starts the command, on top of bwrap's.
	Filter []byte `json:"filter,omitempty"`
	// Hide tells the init to put the Landlock ruleset at hideFD in
	// force on the command (see hide_linux.go); HideError, that sandbar
	// could not fill it, and the command must not start.
	Hide      bool   `json:"hide,omitempty"`
	HideError string `json:"hideError,omitempty"`
}

// hideFD is where the init finds the Landlock ruleset, when there is one.
const hideFD = 12

// openDescriptor opens what BwrapArgs asked for. A path is opened with
// RESOLVE_NO_SYMLINKS: if any component became a symbolic link since the
// Spec was made, the run fails rather than bind something else.
func openDescriptor(d Descriptor) (*os.File, error) {
	if d.Self {
		return os.Open("/proc/self/exe")
	}
	if d.Path == "" {
		return os.Open(os.DevNull)
	}
	fd, err := unix.Openat2(unix.AT_FDCWD, d.Path, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		if errors.Is(err, unix.ELOOP) {
			return nil, fmt.Errorf("opening %s: a part of the path became a symbolic link after the sandbox was planned; run again", d.Path)
		}
		return nil, fmt.Errorf("opening %s: %w", d.Path, err)
	}
	return os.NewFile(uintptr(fd), d.Path), nil
}

// Explain returns the bwrap command line Run would execute for s, quoted
// for a POSIX shell, followed by what each extra descriptor holds.
func Explain(s Spec) (string, error) {
	plan, err := planWatch(Runner{}, s)
	if err != nil {
		return "", err
	}
	hide, err := hideFor(s)
	if err != nil {
		return "", err
	}
	layout := layoutFor(plan.filter != nil, s.Network.Proxy != nil || hide != nil)
	args, fds, err := BwrapArgs(s, layout)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("bwrap")
	for _, a := range args {
		b.WriteString(" ")
		if strings.HasPrefix(a, "--") {
			b.WriteString("\\\n  ")
		}
		b.WriteString(ShellQuote(a))
	}
	b.WriteString("\n")
	explainHiding(&b, s, hide)
	for i, d := range fds {
		what := "empty content (a hidden file)"
		if d.Self {
			what = "sandbar's own executable"
		} else if d.Path != "" {
			what = d.Path + " (opened without following symbolic links)"
		}
		fmt.Fprintf(&b, "# fd %d: %s\n", layout.FirstExtraFD+i, what)
	}
	return b.String(), nil
}

// explainHiding says how the hidden paths of s stay hidden when the host
// replaces them (docs/hiding.md).
func explainHiding(b *strings.Builder, s Spec, hide *hidePlan) {
	v, err := s.Validate()
	if err != nil {
		return
	}
	guarded, mountOnly := hidingOf(v)
	if hide != nil {
		fmt.Fprintf(b, "# fd %d: a Landlock ruleset the init puts in force on the command: it reads and\n", hideFD)
		b.WriteString("#   executes only what existed at start in these directories, but their hidden entries:\n")
		for _, d := range hide.Dirs {
			b.WriteString("#     " + d.Path + "\n")
		}
		for _, p := range hide.Beneath {
			b.WriteString("#   and everything in " + p + "\n")
		}
	} else if len(guarded) > 0 {
		b.WriteString("# hidden by mounts only, which the host undoes by replacing a hidden path: " + HidingOff() + "\n")
	}
	for _, p := range mountOnly {
		b.WriteString("# hidden by a mount only, being inside a writable folder: " + p.Path + "\n")
	}
}
