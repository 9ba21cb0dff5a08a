package confine

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/sandbar-dev/sandbar/confine/notify"
	"github.com/sandbar-dev/sandbar/confine/seccomp"
)

// The watch: inside the sandbox, the init puts the command under a second
// seccomp filter whose calls come here (package notify). It serves two
// purposes. It refuses the creation of a Spec's Uncreatable paths, which
// no mount can protect. And it reports, as violations, the file-system
// changes and sockets the sandbox refuses: the mount layer refuses them
// (read-only and hidden paths fail with EROFS or EACCES whatever the
// watch says), and the watch names them. docs/violations.md explains the
// design.

// watchPlan is how one run watches its command.
type watchPlan struct {
	// filter is the notify program the init installs on the thread that
	// starts the command (seccomp.Marshal); nil when nothing is watched.
	filter []byte
	// report: refused writes and sockets are reported, not only the
	// refused creations of Uncreatable paths.
	report bool
	// off says why refused writes and sockets are not reported; "" when
	// they are.
	off string
	// unixByWatch: socket(AF_UNIX) is refused here, by the supervisor,
	// rather than by an ERRNO in the command's filters. Stacked filters
	// combine by precedence and ERRNO ranks above USER_NOTIF, so a
	// filter that refused the call would hide it: the other filters must
	// then allow it.
	unixByWatch bool
}

// planWatch decides how a run of s watches its command.
func planWatch(r Runner, s Spec) (watchPlan, error) {
	var p watchPlan
	switch err := seccomp.CheckListener(); {
	case err != nil:
		// Nothing can be watched, Uncreatable paths included: the audit
		// after the run is their only guard then.
		p.off = "seccomp user notification is not available: " + err.Error()
		return p, nil
	case r.NoViolationReports:
		p.off = "turned off (Runner.NoViolationReports)"
		if len(s.Uncreatable) == 0 {
			return p, nil
		}
	default:
		p.report = true
	}
	p.unixByWatch = p.report && !s.AllowUnixSockets
	arch, err := seccomp.NativeArch()
	if err != nil {
		return p, err
	}
	prog, err := seccomp.BuildNotify(arch, seccomp.NotifyOptions{
		Writes:      p.report,
		UnixSockets: p.unixByWatch,
		RawSockets:  p.report,
	})
	if err != nil {
		return p, err
	}
	p.filter = seccomp.Marshal(prog)
	return p, nil
}

// watcher serves the watch of one run.
type watcher struct {
	cancel context.CancelFunc
	done   chan struct{}

	// created counts every call that could create a directory entry.
	created atomic.Int64

	uncreatable map[string]string // path → rule
	rules       writeRules
	report      bool
	unixAllowed bool
	onViolation func(Violation)

	mu       sync.Mutex
	seen     []Violation
	index    map[violationKey]int
	listener int
}

type violationKey struct{ kind, operation, path string }

// sendFilter writes the notify program the init is to install on its
// end of the watch socket, then ends that direction: the init reads to
// end of file. The program is a few hundred bytes, far below a socket's
// buffer, so this never waits for the init.
func sendFilter(sock int, filter []byte) error {
	for len(filter) > 0 {
		n, err := unix.Write(sock, filter)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		filter = filter[n:]
	}
	return unix.Shutdown(sock, unix.SHUT_WR)
}

// startWatch receives the listener from the init over sock and serves
// it.
func startWatch(sock *os.File, s Spec, plan watchPlan, onViolation func(Violation)) *watcher {
	w := &watcher{
		done:        make(chan struct{}),
		uncreatable: map[string]string{},
		rules:       newWriteRules(s),
		report:      plan.report,
		unixAllowed: !plan.unixByWatch,
		onViolation: onViolation,
		index:       map[violationKey]int{},
		listener:    -1,
	}
	for _, u := range s.Uncreatable {
		w.uncreatable[u.Path] = u.Why
	}
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel = cancel
	go func() {
		defer close(w.done)
		// The init sends the listener once its filter is in place; if it
		// never does (bwrap failed), the socket closes and this returns.
		listener, err := notify.RecvFD(int(sock.Fd()))
		if err != nil {
			return
		}
		w.mu.Lock()
		w.listener = listener
		w.mu.Unlock()
		notify.Serve(ctx, listener, notify.Supervisor{Decide: w.decide, Created: &w.created, Protected: w.protected})
	}()
	return w
}

// decide answers one call. It runs while the calling process waits, for
// every write the command makes, so it only looks things up; the work of
// recording is left to the calls it reports.
func (w *watcher) decide(op *notify.Op) notify.Answer {
	if op.Operation == "socket" {
		return w.decideSocket(op)
	}
	// An Uncreatable path has no mount: the watch refuses it whole.
	// Not only its creation: the host may create it while the command
	// runs (VS Code writing .vscode/settings.json, a hook manager making
	// .git/hooks), and then every change to it or beneath it, and every
	// new name for it, must be refused here too.
	if rule, ok := w.uncreatableAt(op.Path); ok {
		return notify.Answer{Errno: unix.EACCES, Report: w.reporter("file-write", op.Path, rule)}
	}
	if op.Operation == "link" && op.From != "" {
		if rule, ok := w.uncreatableAt(op.From); ok {
			return notify.Answer{Errno: unix.EACCES, Report: w.reporter("file-write", op.From, rule)}
		}
	}
	if !w.report {
		return notify.Answer{}
	}
	if r, refused := w.rules.refused(op); refused {
		a := notify.Answer{Report: w.reporter("file-write", r.path, r.rule)}
		if r.exposed {
			// The mount that refuses it may be gone: the host replaced
			// the path. Refuse it here, as the mount would have.
			a.Errno = r.errno
		}
		// Otherwise the mount layer refuses it; the kernel says so.
		return a
	}
	return notify.Answer{}
}

// protected reports whether path must not change even though it does
// not exist yet: it is Uncreatable or beneath one, or an exposed path
// the host removed and may write again (notify.Supervisor.Protected).
func (w *watcher) protected(path string) bool {
	if _, ok := w.uncreatableAt(path); ok {
		return true
	}
	return w.rules.ruleFor(path).exposed
}

// uncreatableAt reports whether path is an Uncreatable path or lies
// beneath one, and its rule.
func (w *watcher) uncreatableAt(path string) (string, bool) {
	if len(w.uncreatable) == 0 {
		return "", false
	}
	for p := path; p != "/" && p != ""; p = parentDir(p) {
		if rule, ok := w.uncreatable[p]; ok {
			return rule, true
		}
	}
	return "", false
}

const (
	afUnix   = 1
	afInet   = 2
	afInet6  = 10
	afPacket = 17
)

func (w *watcher) decideSocket(op *notify.Op) notify.Answer {
	typ := op.Type & 0xf // SOCK_TYPE_MASK: without SOCK_NONBLOCK, SOCK_CLOEXEC
	switch {
	case op.Domain == afUnix && !w.unixAllowed:
		// The filter sends these only when this supervisor is what
		// refuses them; it never lets one through.
		return notify.Answer{Errno: unix.EPERM, Report: w.reporter("socket", "AF_UNIX", "unix sockets are not allowed (allowUnixSockets)")}
	case !w.report:
	case op.Domain == afPacket:
		return notify.Answer{Report: w.reporter("socket", "AF_PACKET", rawSocketRule)}
	case (op.Domain == afInet || op.Domain == afInet6) && (typ == unix.SOCK_RAW || typ == unix.SOCK_PACKET):
		name := map[int]string{afInet: "AF_INET", afInet6: "AF_INET6"}[op.Domain] + " " +
			map[int]string{unix.SOCK_RAW: "SOCK_RAW", unix.SOCK_PACKET: "SOCK_PACKET"}[typ]
		// Carried on: the kernel refuses it, the sandbox having no
		// CAP_NET_RAW.
		return notify.Answer{Report: w.reporter("socket", name, rawSocketRule)}
	}
	return notify.Answer{}
}

const rawSocketRule = "raw sockets: the sandbox has no CAP_NET_RAW"

// reporter returns the function that records one violation once the
// process that made the call is known.
func (w *watcher) reporter(kind, path, rule string) func(notify.Op) {
	return func(op notify.Op) {
		w.record(Violation{
			Kind: kind, Operation: op.Operation, Path: path,
			Pid: op.Pid, Comm: op.Comm, Rule: rule, Count: 1,
		})
	}
}

func (w *watcher) record(v Violation) {
	w.mu.Lock()
	key := violationKey{v.Kind, v.Operation, v.Path}
	if i, ok := w.index[key]; ok {
		w.seen[i].Count++
		w.mu.Unlock()
		return
	}
	w.index[key] = len(w.seen)
	w.seen = append(w.seen, v)
	w.mu.Unlock()
	if w.onViolation != nil {
		w.onViolation(v)
	}
}

// stop ends the watch once the sandbox is gone and returns what it
// saw, and whether the command created no directory entry at all (false
// if the watch never started).
func (w *watcher) stop() (seen []Violation, createdNothing bool) {
	w.cancel()
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	seen = append([]Violation(nil), w.seen...)
	if w.listener < 0 {
		return seen, false
	}
	closeFD(w.listener)
	return seen, w.created.Load() == 0
}

func closeFD(fd int) { os.NewFile(uintptr(fd), "listener").Close() }

// writeRules says which paths the command may change, as the sandbox's
// mounts do: the deepest of the Spec's paths decides, as in
// Spec.AccessOf, but by one map lookup per directory level of the path
// rather than a scan of every rule, since it runs for every write.
type writeRules struct {
	rules map[string]writeRule
	pins  map[string]bool
}

type writeRule struct {
	Path
	// own: the sandbox's own /dev and /proc, whose writes are not the
	// Spec's to decide (/dev/null, /proc/self/...).
	own bool
	// mounted: the path is a mount point, which can be neither removed
	// nor renamed (EBUSY) whatever its access.
	mounted bool
	// tmpfs: the sandbox's own /tmp, which the host cannot reach into.
	tmpfs bool
	// exposed: the path is not writable but lies in a writable one, so
	// its mounts are all that protect it, and the host takes a mount
	// away from every sandbox when it renames a file over the path or
	// removes it (`git config` rewriting .git/config by a lock file, an
	// editor saving .vscode/settings.json). The watch then refuses the
	// command's changes to it itself (docs/violations.md).
	exposed bool
}

// refusal is why the sandbox refuses one change.
type refusal struct {
	path, rule string
	// errno is what the sandbox's mounts answer: EBUSY for a mount
	// point removed or renamed, EACCES for a hidden path, EROFS for
	// the rest.
	errno unix.Errno
	// exposed: the mount that refuses it may be gone (writeRule.exposed).
	exposed bool
}

func newWriteRules(s Spec) writeRules {
	w := writeRules{rules: map[string]writeRule{}, pins: map[string]bool{}}
	// What bwrap mounts before the Spec's paths (see BwrapArgs).
	w.rules["/"] = writeRule{Path: Path{Path: "/", Access: ReadOnly, Why: "default: read-only"}}
	w.rules["/dev"] = writeRule{own: true, mounted: true}
	w.rules["/proc"] = writeRule{own: true, mounted: true}
	w.rules["/tmp"] = writeRule{Path: Path{Path: "/tmp", Access: ReadWrite, Why: "the sandbox's own /tmp"}, mounted: true, tmpfs: true}
	if s.Network.Proxy != nil {
		w.rules[SelfPath] = writeRule{Path: Path{Path: SelfPath, Access: ReadOnly, Why: "sandbar's own executable"}, mounted: true}
	}
	if v, err := s.Validate(); err == nil {
		s = v // duplicates resolved, the narrower access kept
	}
	for _, p := range s.Paths {
		w.rules[p.Path] = writeRule{Path: p, mounted: true}
	}
	for _, d := range s.Pin {
		w.pins[d] = true
	}
	exposed := map[string]bool{}
	for p, r := range w.rules {
		if !r.own && r.Access != ReadWrite && w.droppable(p, exposed) {
			r.exposed = true
			w.rules[p] = r
		}
	}
	return w
}

// droppable reports whether the host can take away the mount at path,
// or one between it and a writable folder above it, leaving path
// writable: the host can drop a mount whose mount point is in one of its
// own directories (a writable folder, or another such mount), not one in
// the sandbox's own /tmp or at its root. memo keeps the answers.
func (w writeRules) droppable(path string, memo map[string]bool) bool {
	if path == "/" {
		return false
	}
	if d, ok := memo[path]; ok {
		return d
	}
	above := parentDir(path)
	for above != "/" {
		if _, ok := w.rules[above]; ok {
			break
		}
		above = parentDir(above)
	}
	a := w.rules[above]
	var d bool
	switch {
	case a.tmpfs || a.own:
		d = false
	case a.Access == ReadWrite:
		d = true
	default:
		d = w.droppable(above, memo)
	}
	memo[path] = d
	return d
}

func parentDir(p string) string {
	i := strings.LastIndexByte(p, '/')
	if i <= 0 {
		return "/"
	}
	return p[:i]
}

// ruleFor is the rule that decides path: the deepest one at or above it.
func (w writeRules) ruleFor(path string) writeRule {
	for p := path; ; {
		if r, ok := w.rules[p]; ok {
			return r
		}
		i := strings.LastIndexByte(p, '/')
		switch {
		case i < 0:
			return w.rules["/"]
		case i == 0:
			p = "/"
		default:
			p = p[:i]
		}
	}
}

// refused reports whether the sandbox refuses op, and if so why.
func (w writeRules) refused(op *notify.Op) (refusal, bool) {
	switch op.Operation {
	case "unlink", "rmdir":
		return w.removable(op.Path)
	case "link":
		// A new name for a file the sandbox may not change would let it
		// change the file through that name. The kernel refuses a link
		// across mounts (EXDEV), so only a file whose mount the host
		// took away can be linked: refuse that here.
		if op.From != "" {
			if r, ok := w.writable(op.From); ok && r.exposed {
				r.errno = unix.EXDEV
				return r, true
			}
		}
	case "rename":
		if op.From != "" {
			if r, ok := w.removable(op.From); ok {
				return r, ok
			}
		}
		if r, ok := w.rules[op.Path]; ok && r.mounted && !r.own {
			return refusal{path: op.Path, rule: mountRule(r), errno: unix.EBUSY, exposed: r.exposed}, true
		}
	}
	return w.writable(op.Path)
}

// writable reports whether path is refused because its access is not
// read-write.
func (w writeRules) writable(path string) (refusal, bool) {
	r := w.ruleFor(path)
	if r.own || r.Access == ReadWrite {
		return refusal{}, false
	}
	errno := unix.EROFS
	if r.Access == Hidden && r.Path.Path == path {
		errno = unix.EACCES
	}
	return refusal{path: path, rule: r.Why, errno: errno, exposed: r.exposed}, true
}

// removable reports whether removing or renaming path is refused: it
// lies where nothing may change, or is a mount point or a pinned
// directory, which stay where they are.
func (w writeRules) removable(path string) (refusal, bool) {
	if r, ok := w.rules[path]; ok && r.mounted && !r.own {
		return refusal{path: path, rule: mountRule(r), errno: unix.EBUSY, exposed: r.exposed}, true
	}
	if w.pins[path] {
		// A pinned directory is a mount point in a writable folder.
		return refusal{path: path, rule: "pinned: protected paths lie beneath", errno: unix.EBUSY, exposed: true}, true
	}
	return w.writable(path)
}

func mountRule(r writeRule) string {
	if r.Access != ReadWrite {
		return r.Why
	}
	return fmt.Sprintf("mount point (%s)", r.Why)
}
