package confine

import (
	"fmt"
	"strconv"
	"strings"
)

// BwrapLayout says where Run puts the things bwrap and the init need. The
// numbers are file descriptor numbers in bwrap's process; keeping them in a
// value makes BwrapArgs pure and its output stable enough to golden-test.
type BwrapLayout struct {
	// SeccompFD carries the compiled seccomp filter; 0 means none, which
	// only tests of the argv builder use.
	SeccompFD int
	// StatusFD is bwrap's --json-status-fd: it says when the sandbox is
	// up (and the host PID of its init) and how it ended.
	StatusFD int
	// FirstExtraFD is the first of the descriptors BwrapArgs asks for
	// (see Descriptor); the runner provides them in order.
	FirstExtraFD int
	// Init is the command line, inside the sandbox, that starts the init
	// process; the command's own argv follows it.
	Init []string
}

// Descriptor is one file descriptor bwrap needs besides the fixed ones.
type Descriptor struct {
	// Path, when set, is to be opened as an O_PATH descriptor without
	// following any symbolic link, and bwrap binds what the descriptor
	// refers to. A path resolved by bwrap itself could be swapped for a
	// link by a command in another sandbox between the moment sandbar
	// checked it and the mount; a descriptor cannot.
	Path string
	// Self, when set, is to be sandbar's own executable.
	Self bool
	// Otherwise the descriptor is to be open on empty content: bwrap
	// copies it into a file of mode 0000 (a hidden file) and closes it,
	// so one descriptor serves one file.
}

// BwrapArgs turns a validated Spec into bwrap's arguments (without the
// program name) and the descriptors the runner must provide from
// FirstExtraFD on. It does no I/O: what the command is allowed is decided
// entirely by its inputs.
func BwrapArgs(s Spec, l BwrapLayout) (args []string, fds []Descriptor, err error) {
	s, err = s.Validate()
	if err != nil {
		return nil, nil, err
	}
	if l.FirstExtraFD <= 2 {
		return nil, nil, fmt.Errorf("bwrap layout: extra descriptors must start above 2")
	}
	next := func(d Descriptor) string {
		fds = append(fds, d)
		return strconv.Itoa(l.FirstExtraFD + len(fds) - 1)
	}
	a := []string{
		// Every namespace bwrap knows. Asking for the user namespace
		// explicitly matters when sandbar runs as root: without it bwrap
		// would keep root's capabilities in the sandbox.
		"--unshare-user", "--unshare-pid", "--unshare-net", "--unshare-ipc",
		"--unshare-uts", "--unshare-cgroup",
		// No nested user namespaces: they are the way to regain
		// capabilities, and with them mount and unshare.
		"--disable-userns",
		"--cap-drop", "ALL",
		// No --die-with-parent: its parent-death signal would kill bwrap
		// if sandbar died while bwrap builds the sandbox, leaving bwrap's
		// child waiting forever with the mounts made. The init's lifeline
		// ends the sandbox when sandbar dies, at any stage (see Run).
		// A new session: no controlling terminal, so no TIOCSTI into
		// whatever terminal sandbar was started from.
		"--new-session",
		// Our own init is PID 1; see Init.
		"--as-pid-1",
		"--hostname", "sandbar",
		"--ro-bind", "/", "/",
		"--dev", "/dev",
		"--proc", "/proc",
		"--tmpfs", "/tmp",
	}

	// Pins become read-write binds of a directory onto itself: a mount
	// point cannot be renamed or removed (EBUSY). Only pins that are
	// writable need it; a read-only directory cannot be renamed anyway.
	steps := append([]Path(nil), s.Paths...)
	for _, d := range s.Pin {
		if s.AccessOf(d).Access == ReadWrite {
			steps = append(steps, Path{Path: d, Access: ReadWrite, Dir: true, Why: "pin"})
		}
	}
	sortPaths(steps)

	var remount []string
	for _, p := range steps {
		switch p.Access {
		case ReadOnly:
			a = append(a, "--ro-bind-fd", next(Descriptor{Path: p.Path}), p.Path)
		case ReadWrite:
			a = append(a, "--bind-fd", next(Descriptor{Path: p.Path}), p.Path)
		case Hidden:
			if !p.Dir {
				a = append(a, "--perms", "0000", "--ro-bind-data", next(Descriptor{}), p.Path)
				continue
			}
			// An empty tmpfs, made read-only once everything inside it is
			// mounted. Mode 0000 refuses listing; when something inside is
			// visible again the directory must stay traversable, so 0111.
			perms := "0000"
			if hasVisibleChild(s, p.Path) {
				perms = "0111"
			}
			a = append(a, "--perms", perms, "--tmpfs", p.Path)
			remount = append(remount, p.Path)
		}
	}
	for i := len(remount) - 1; i >= 0; i-- {
		a = append(a, "--remount-ro", remount[i])
	}
	if s.Network.Proxy != nil {
		// Tools in the sandbox run sandbar itself to get out (ssh's
		// ProxyCommand); its own path may be under /tmp or hidden.
		a = append(a, "--ro-bind-fd", next(Descriptor{Self: true}), SelfPath)
	}
	a = append(a, "--chdir", s.Dir)
	if l.SeccompFD > 0 {
		a = append(a, "--seccomp", strconv.Itoa(l.SeccompFD))
	}
	if l.StatusFD > 0 {
		a = append(a, "--json-status-fd", strconv.Itoa(l.StatusFD))
	}
	a = append(a, "--")
	a = append(a, l.Init...)
	a = append(a, s.Argv...)
	return a, fds, nil
}

func hasVisibleChild(s Spec, dir string) bool {
	for _, p := range s.Paths {
		if p.Path != dir && within(p.Path, dir) && p.Access != Hidden {
			return true
		}
	}
	return false
}

// ShellQuote quotes s for a POSIX shell, leaving plain words as they are,
// so that printed command lines can be pasted back.
func ShellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,+@%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
