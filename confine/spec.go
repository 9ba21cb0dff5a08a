package confine

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
)

// Access is what a confined command may do with a path.
type Access int

const (
	// ReadOnly paths can be read and executed but not changed, created,
	// renamed or removed. It is the access of everything a Spec does not
	// name, and it re-allows reading inside a Hidden directory.
	ReadOnly Access = iota
	// ReadWrite paths can be changed freely.
	ReadWrite
	// Hidden paths can be neither read nor written. A hidden directory
	// appears empty and unlistable; a hidden file appears empty and
	// unopenable. Writing into either fails with an error rather than
	// landing in a throwaway copy, so a command never believes it saved
	// something it did not.
	Hidden
)

func (a Access) String() string {
	switch a {
	case ReadOnly:
		return "read-only"
	case ReadWrite:
		return "read-write"
	case Hidden:
		return "hidden"
	}
	return fmt.Sprintf("Access(%d)", int(a))
}

// Path gives one absolute, symlink-free path an access. The deepest Path
// that contains a location decides its access.
type Path struct {
	Path   string
	Access Access
	// Dir tells whether Path is a directory. Hidden files and hidden
	// directories are built differently.
	Dir bool
	// Why names the rule this path came from ("workspace folder",
	// "protected: .git/hooks", "policy ~/.config/sandbar/policy.jsonc:4:7"),
	// for explain output and violation reports.
	Why string
}

// Network says how the sandbox reaches the network. The zero value is no
// network at all: the sandbox has its own network namespace with only a
// loopback interface.
type Network struct {
	// Proxy, when set, is the only way out. The sandbox keeps its own
	// network namespace, with no route and no resolver; inside it, the
	// init listens on HTTPProxyAddr and SOCKSProxyAddr and relays each
	// connection to the matching Unix socket outside, where sandbar's
	// proxies decide where it may go.
	Proxy *Proxy
}

// Proxy is where the in-sandbox relay sends connections.
type Proxy struct {
	// HTTP and SOCKS are the absolute paths of the Unix sockets the HTTP
	// and SOCKS5 proxies listen on, outside the sandbox. The relay reaches
	// them through descriptors opened before the sandbox starts, so they
	// need not be visible inside it.
	HTTP, SOCKS string
	// Hello goes with every relayed connection, in the same message as
	// the client's socket, which the proxy then serves itself: the
	// proxies' per-run credential. It reaches the init through a pipe and never
	// appears in an environment or a command line, and the init cannot be
	// traced or read by the command.
	Hello []byte
}

// SelfPath is where a sandbox with a proxy finds sandbar's own binary,
// read-only, for `sandbar connect` (ssh's ProxyCommand). The sandbox's
// /tmp is its own, so the path is free.
const SelfPath = "/tmp/.sandbar/sandbar"

// The addresses the relay listens on inside the sandbox. The sandbox has
// its own network namespace, so they are always free.
const (
	HTTPProxyAddr  = "127.0.0.1:3128"
	SOCKSProxyAddr = "127.0.0.1:1080"
)

// Spec is everything needed to confine one command.
type Spec struct {
	Argv []string
	// Dir is the working directory inside the sandbox. It must be visible
	// in the sandbox (not Hidden).
	Dir string
	// Env is the complete environment of the command, as "NAME=value".
	Env []string
	// Paths, in any order; Validate sorts them.
	Paths []Path
	// Pin lists directories that must not be renamed or removed while the
	// command runs, because a protected path lies beneath them: a command
	// that could rename .git away and create a fresh one would slip past
	// the read-only mount on the old .git/hooks.
	Pin []string
	// Uncreatable are paths that do not exist and that the command must
	// not create (by any name: file, directory, link, rename), because
	// something on the host would later run what it put there. A mount
	// cannot cover a path that does not exist, so Run watches the system
	// calls that create directory entries and refuses these (best effort:
	// see Violation and docs/notify.md; on a kernel that cannot watch,
	// see Result.ViolationsOff, only an audit after the run guards them);
	// Why names the rule.
	Uncreatable []Path
	Network     Network
	// AllowUnixSockets lets the command create Unix domain sockets. Off,
	// the command can still use socketpair(2) but cannot connect to any
	// socket on the host (ssh-agent, Docker, D-Bus, X11).
	AllowUnixSockets bool
}

// Validate checks that the Spec is well formed and returns a copy with
// Paths sorted parent before child and Pin sorted and de-duplicated.
// It does no I/O.
func (s Spec) Validate() (Spec, error) {
	if len(s.Argv) == 0 || s.Argv[0] == "" {
		return s, fmt.Errorf("spec: no command to run")
	}
	if !filepath.IsAbs(s.Dir) {
		return s, fmt.Errorf("spec: working directory %q is not absolute", s.Dir)
	}
	for _, e := range s.Env {
		if !strings.Contains(e, "=") || strings.HasPrefix(e, "=") {
			return s, fmt.Errorf("spec: environment entry %q is not NAME=value", e)
		}
	}
	if p := s.Network.Proxy; p != nil {
		if err := checkAbs(p.HTTP); err != nil {
			return s, fmt.Errorf("spec: http proxy socket: %w", err)
		}
		if err := checkAbs(p.SOCKS); err != nil {
			return s, fmt.Errorf("spec: socks proxy socket: %w", err)
		}
		if len(p.Hello) == 0 || len(p.Hello) > maxHello {
			return s, fmt.Errorf("spec: proxy hello of %d bytes, want 1 to %d", len(p.Hello), maxHello)
		}
	}
	out := s
	out.Paths = append([]Path(nil), s.Paths...)
	seen := map[string]int{}
	for i, p := range out.Paths {
		if err := checkAbs(p.Path); err != nil {
			return s, fmt.Errorf("spec: %s path (%s): %w", p.Access, p.Why, err)
		}
		if p.Path == "/" && p.Access != ReadOnly {
			return s, fmt.Errorf("spec: the root directory can only be read-only (%s)", p.Why)
		}
		if j, ok := seen[p.Path]; ok {
			// The narrower access wins: Hidden over ReadOnly over ReadWrite.
			if narrower(p.Access, out.Paths[j].Access) {
				out.Paths[j] = p
			}
			out.Paths[i].Path = ""
			continue
		}
		seen[p.Path] = i
	}
	kept := out.Paths[:0]
	for _, p := range out.Paths {
		if p.Path != "" {
			kept = append(kept, p)
		}
	}
	out.Paths = kept
	sortPaths(out.Paths)

	for _, u := range s.Uncreatable {
		if err := checkAbs(u.Path); err != nil {
			return s, fmt.Errorf("spec: uncreatable path (%s): %w", u.Why, err)
		}
	}

	pins := map[string]bool{}
	for _, d := range s.Pin {
		if err := checkAbs(d); err != nil {
			return s, fmt.Errorf("spec: pinned directory: %w", err)
		}
		if _, named := seen[d]; !named {
			pins[d] = true
		}
	}
	out.Pin = out.Pin[:0:0]
	for d := range pins {
		out.Pin = append(out.Pin, d)
	}
	sort.Slice(out.Pin, func(i, j int) bool { return pathLess(out.Pin[i], out.Pin[j]) })
	return out, nil
}

// maxHello bounds what the init reads from its configuration pipe.
const maxHello = 1024

func narrower(a, b Access) bool {
	rank := map[Access]int{ReadWrite: 0, ReadOnly: 1, Hidden: 2}
	return rank[a] > rank[b]
}

func checkAbs(p string) error {
	if !filepath.IsAbs(p) {
		return fmt.Errorf("%q is not absolute", p)
	}
	if filepath.Clean(p) != p {
		return fmt.Errorf("%q is not clean (want %q)", p, filepath.Clean(p))
	}
	if strings.ContainsRune(p, 0) {
		return fmt.Errorf("%q contains a NUL byte", p)
	}
	return nil
}

func sortPaths(ps []Path) {
	sort.SliceStable(ps, func(i, j int) bool { return pathLess(ps[i].Path, ps[j].Path) })
}

// pathLess orders parents before their children, and siblings by name, so
// that applying mounts in this order lets the deepest rule win.
func pathLess(a, b string) bool {
	da, db := depth(a), depth(b)
	if da != db {
		return da < db
	}
	return a < b
}

func depth(p string) int {
	if p == "/" {
		return 0
	}
	return strings.Count(p, "/")
}

// AccessOf reports the access the Spec gives path, and the rule that
// decides it. Paths not named by any rule are ReadOnly.
func (s Spec) AccessOf(path string) Path {
	best := Path{Path: "/", Access: ReadOnly, Why: "default: read-only"}
	bestDepth := 0
	for _, p := range s.Paths {
		if !within(path, p.Path) {
			continue
		}
		if d := depth(p.Path); d >= bestDepth {
			best, bestDepth = p, d
		}
	}
	return best
}

// within reports whether path is dir or lies beneath it. It allocates
// nothing: the walk for nested repositories asks it about every rule for
// every directory of the workspace.
func within(path, dir string) bool {
	if dir == "/" {
		return true
	}
	return strings.HasPrefix(path, dir) && (len(path) == len(dir) || path[len(dir)] == '/')
}
