package confine

import (
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// This file turns a Spec into a Seatbelt profile (SBPL, the sandbox
// profile language of macOS's sandbox-exec). It is pure and has no build
// tag, so the profiles are golden-tested on Linux like the bubblewrap
// argument list (testdata/seatbelt/*.sb), and `sandbar explain` on a Mac
// prints exactly what the kernel is asked for. The runner is in
// run_darwin.go; docs/macos.md explains the design.
//
// How Seatbelt decides, and what the profile relies on:
//
//   - Rules match the path the kernel resolved (symbolic links followed,
//     /tmp as /private/tmp), at the moment of each operation. So every path
//     goes through SeatbeltLayout.Resolve first, and a path that does not
//     exist yet is refused by name when something tries to create it,
//     with no race: unlike the Linux backend, nothing needs to exist to be
//     protected.
//   - When several rules match an operation, the last one in the profile
//     wins. The Spec's paths are written parent before child, so the
//     deepest rule wins, as with bubblewrap's mounts; the rules that must
//     win over everything (paths that must not be created, directories
//     that must not move) come after all of them.
//   - Renaming moves every path beneath the renamed entry, and the rules
//     stay with the old names. So the directories between a writable
//     folder and anything protected inside it, the folder included,
//     cannot be renamed or removed (file-write-unlink, which rename(2)
//     needs on its source).
//   - Every deny rule carries (with message "MARKER:N"): the kernel
//     appends that message to the refusal it logs, so the runner reads
//     only its own run's refusals from the unified log, and N says which
//     rule refused (Seatbelt.Rules[N]).
//
// Every string placed in the profile goes through sbplString, which
// escapes it so that no path, however it is spelled, can end its string
// or its comment early.

// SeatbeltLayout is what the macOS runner puts around a Spec: like
// BwrapLayout, it keeps SeatbeltProfile pure.
type SeatbeltLayout struct {
	// Marker tags every deny rule of the run, so its refusals can be told
	// apart in the unified log from every other sandbox's. Letters,
	// digits, '-' and '_' only.
	Marker string
	// TempDir is the run's private temporary directory (TMPDIR), writable
	// by the command. Empty: none.
	TempDir string
	// ProxyPorts are the TCP ports on the loopback interface where the
	// runner's relay to sandbar's proxies listens: the only network
	// destinations the command can reach.
	ProxyPorts []int
	// Self is sandbar's own executable, which the runner starts in the
	// sandbox to supervise the command (and which `sandbar connect` is): it
	// stays readable and executable even under a hidden directory.
	// Empty: none.
	Self string
	// Resolve returns the path the kernel sees for path: symbolic links
	// resolved in the part that exists (/tmp/x is /private/tmp/x, even
	// when x does not exist yet). Nil: paths are taken as they are, and
	// must already be resolved. Seatbelt rules name the resolved path; a
	// rule naming /tmp/x would match nothing.
	Resolve func(path string) (string, error)
}

// Seatbelt is a Spec turned into a Seatbelt profile.
type Seatbelt struct {
	// Profile is the SBPL text for `sandbox-exec -p`.
	Profile string
	// Rules describes the profile's deny rules: the one whose message is
	// "MARKER:N" is Rules[N]. Rules[0] is the default rule, which refuses
	// everything the profile does not allow.
	Rules []SeatbeltRule
	// Spec is the Spec with every path resolved, as the profile names
	// them (and as the kernel reports them).
	Spec Spec
}

// SeatbeltRule is what one deny rule of a profile refuses, and why.
type SeatbeltRule struct {
	// Path is the path the rule is about; empty for the default rule.
	Path string
	// Why names the Spec's rule behind it (Path.Why).
	Why string
}

// seatbeltDefaultWhy is the Why of the profile's default rule.
const seatbeltDefaultWhy = "not allowed in the sandbox"

// SeatbeltProfile turns s into a Seatbelt profile. It does no I/O except
// through l.Resolve: what the command is allowed is decided entirely by
// its inputs.
func SeatbeltProfile(s Spec, l SeatbeltLayout) (Seatbelt, error) {
	s, err := s.Validate()
	if err != nil {
		return Seatbelt{}, err
	}
	if l.Marker == "" || strings.IndexFunc(l.Marker, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
	}) >= 0 {
		return Seatbelt{}, fmt.Errorf("seatbelt layout: marker %q must be letters, digits, '-' and '_'", l.Marker)
	}
	for _, port := range l.ProxyPorts {
		if port < 1 || port > 65535 {
			return Seatbelt{}, fmt.Errorf("seatbelt layout: proxy port %d out of range", port)
		}
	}
	if l.ProxyPorts != nil && s.Network.Proxy == nil {
		return Seatbelt{}, fmt.Errorf("seatbelt layout: proxy ports without a proxy in the spec")
	}
	resolve := l.Resolve
	if resolve == nil {
		resolve = func(p string) (string, error) { return p, nil }
	}
	res := func(what, p string) (string, error) {
		r, err := resolve(p)
		if err != nil {
			return "", fmt.Errorf("resolving %s %q: %w", what, p, err)
		}
		if err := checkAbs(r); err != nil {
			return "", fmt.Errorf("resolving %s %q: %w", what, p, err)
		}
		return r, nil
	}
	// The Spec with its paths as the kernel will see them. Two paths may
	// become one (/tmp/w and /private/tmp/w); Validate keeps the narrower
	// access, as it does for duplicates.
	rs := s
	rs.Paths = nil
	for _, p := range s.Paths {
		if p.Path, err = res("path", p.Path); err != nil {
			return Seatbelt{}, err
		}
		rs.Paths = append(rs.Paths, p)
	}
	rs.Uncreatable = nil
	for _, u := range s.Uncreatable {
		if u.Path, err = res("uncreatable path", u.Path); err != nil {
			return Seatbelt{}, err
		}
		rs.Uncreatable = append(rs.Uncreatable, u)
	}
	rs.Pin = nil
	for _, d := range s.Pin {
		r, err := res("pinned directory", d)
		if err != nil {
			return Seatbelt{}, err
		}
		rs.Pin = append(rs.Pin, r)
	}
	if rs.Dir, err = res("working directory", s.Dir); err != nil {
		return Seatbelt{}, err
	}
	if rs, err = rs.Validate(); err != nil {
		return Seatbelt{}, err
	}
	tmp, self := "", ""
	if l.TempDir != "" {
		if tmp, err = res("temporary directory", l.TempDir); err != nil {
			return Seatbelt{}, err
		}
	}
	if l.Self != "" {
		if self, err = res("sandbar's executable", l.Self); err != nil {
			return Seatbelt{}, err
		}
	}

	p := &sbpl{marker: l.Marker}
	p.header(rs)
	p.line("(version 1)")
	p.deny("default", nil, SeatbeltRule{Why: seatbeltDefaultWhy})
	p.base()
	p.files(rs, tmp)
	p.unmovable(rs)
	if self != "" {
		p.blank()
		p.comment("sandbar's own executable: the runner starts it in the sandbox to supervise",
			"the command (its exit status, and the lifeline that ends it when sandbar",
			"dies), and it is `sandbar connect`.")
		p.allow("file-read* process-exec", literal(self))
	}
	p.network(rs, l.ProxyPorts)
	return Seatbelt{Profile: p.b.String(), Rules: p.rules, Spec: rs}, nil
}

// sbpl writes a profile.
type sbpl struct {
	b      strings.Builder
	marker string
	rules  []SeatbeltRule
}

func (p *sbpl) line(s string) { p.b.WriteString(s + "\n") }
func (p *sbpl) blank()        { p.b.WriteString("\n") }

// comment writes lines of commentary. They must be text of the program's
// own: anything that comes from outside (a path, a rule's Why) goes
// through sbplString first, so it cannot end the comment.
func (p *sbpl) comment(lines ...string) {
	for _, l := range lines {
		if strings.ContainsAny(l, "\n\r") {
			panic("sbpl comment with a line break: " + strconv.Quote(l))
		}
		p.line("; " + l)
	}
}

// allow writes (allow OPS FILTER...).
func (p *sbpl) allow(ops string, filters ...string) {
	p.rule("allow", ops, filters, "")
}

// deny writes (deny OPS FILTER... (with message "MARKER:N")), N being the
// index of r in the profile's Rules.
func (p *sbpl) deny(ops string, filters []string, r SeatbeltRule) {
	n := len(p.rules)
	p.rules = append(p.rules, r)
	p.rule("deny", ops, filters, "(with message "+sbplString(p.marker+":"+strconv.Itoa(n))+")")
}

func (p *sbpl) rule(action, ops string, filters []string, modifier string) {
	head := "(" + action + " " + ops
	switch {
	case len(filters) == 0 && modifier == "":
		p.line(head + ")")
	case len(filters) <= 1 && len(head)+len(strings.Join(filters, ""))+len(modifier) < 100:
		parts := append([]string{head}, filters...)
		if modifier != "" {
			parts = append(parts, modifier)
		}
		p.line(strings.Join(parts, " ") + ")")
	default:
		p.line(head)
		for i, f := range filters {
			end := ""
			if i == len(filters)-1 && modifier == "" {
				end = ")"
			}
			p.line("  " + f + end)
		}
		if modifier != "" {
			p.line("  " + modifier + ")")
		}
	}
}

func literal(path string) string { return "(literal " + sbplString(path) + ")" }
func subpath(path string) string { return "(subpath " + sbplString(path) + ")" }

// exactly matches path and everything beneath it. subpath alone already
// does; the literal is there for readers, and in case a file's rule were
// ever read as applying only below it.
func exactly(p Path) []string {
	if p.Dir {
		return []string{subpath(p.Path)}
	}
	return []string{literal(p.Path), subpath(p.Path)}
}

// anyCase adds to a deny rule's filters the same paths in any letter case.
// A Mac's volume ignores case by default: a command that creates .ENVRC
// has created what the host will open as .envrc, and the kernel names a
// new entry as the command spelled it. The literal and subpath filters
// compare exactly, so the rule also matches regular expressions in which
// every ASCII letter is [xX]. (Other differences a volume ignores, such as
// Unicode normalisation, matter only for names that are not ASCII, which
// no protected name is.) Matching more than the volume would, on a
// case-sensitive volume, only refuses more.
func anyCase(path string, beneath bool) []string {
	re := "^" + foldRegex(path)
	out := []string{"(regex " + sbplString(re+"$") + ")"}
	if beneath {
		out = append(out, "(regex "+sbplString(re+"/")+")")
	}
	return out
}

// foldRegex is s as a regular expression that matches it in any ASCII
// letter case, every other special character escaped.
func foldRegex(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z':
			b.WriteString("[" + string(c) + string(c-'a'+'A') + "]")
		case c >= 'A' && c <= 'Z':
			b.WriteString("[" + string(c-'A'+'a') + string(c) + "]")
		case strings.IndexByte(`.[](){}*+?|^$\`, c) >= 0:
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func (p *sbpl) header(s Spec) {
	p.comment("sandbar's Seatbelt profile for one run (sandbox-exec -p); see docs/macos.md.",
		"The last rule that matches an operation decides it. Every deny rule's message",
		"(\""+p.marker+":N\") is how the runner finds this run's refusals in the unified",
		"log; N numbers the rule, and the comment above it says why the rule is there.")
	p.comment("Command: " + sbplString(strings.Join(quoteAll(s.Argv), " ")))
	p.comment("Working directory: " + sbplString(s.Dir))
}

func quoteAll(argv []string) []string {
	out := make([]string, len(argv))
	for i, a := range argv {
		out[i] = ShellQuote(a)
	}
	return out
}

// base is what every process needs, whatever the Spec: the operations
// the kernel checks that have nothing to do with files or the network.
func (p *sbpl) base() {
	p.blank()
	p.comment("Processes. The command may run programs and fork; children inherit the",
		"profile. It may signal and inspect only processes of its own sandbox.")
	p.allow("process-exec")
	p.allow("process-fork")
	p.allow("signal", "(target same-sandbox)")
	p.allow("process-info*", "(target same-sandbox)")

	p.blank()
	p.comment("Mach services: only those a compiler, an interpreter or a shell needs. Not",
		"listed, so refused: launchservicesd (opening apps), the window server and",
		"pasteboard, cfprefsd (preferences would bypass the file rules), configd",
		"(network settings), mDNSResponder (names are resolved by sandbar's proxy only),",
		"trustd and ocspd (certificate checks that fetch URLs a certificate names, a",
		"way out around the proxy), and securityd (the keychain).")
	p.rule("allow", "mach-lookup", []string{
		// getpwuid, getgrgid, getaddrinfo's files: who am I, where is
		// my home (git, ssh, npm, Python's expanduser).
		`(global-name "com.apple.system.opendirectoryd.libinfo")`,
		// Group membership checks (getgrouplist, access checks in
		// libinfo).
		`(global-name "com.apple.system.opendirectoryd.membership")`,
		// notify(3): libSystem asks it for time zone and other changes.
		`(global-name "com.apple.system.notification_center")`,
		// Logging out of the sandbox: os_log and syslog(3).
		`(global-name "com.apple.logd")`,
		`(global-name "com.apple.system.logger")`,
		// confstr(_CS_DARWIN_USER_TEMP_DIR): the per-user temporary
		// directory's name.
		`(global-name "com.apple.bsd.dirhelper")`,
	}, "")
	p.comment("notify(3)'s shared state, read-only.")
	p.allow("ipc-posix-shm-read-data ipc-posix-shm-read-metadata", `(ipc-posix-name "apple.shm.notification_center")`)
	p.comment("POSIX semaphores: Python's multiprocessing locks.")
	p.allow("ipc-posix-sem")
	p.comment("The host's processor information (libuv's os.cpus(), for worker pools).")
	p.allow("mach-host*")

	p.blank()
	p.comment("sysctl: reading what runtimes ask about the machine (Go, Node, Python, Rust,",
		"the JVM). Not listed, so refused: kern.procargs2 and kern.proc.all, which",
		"would show other processes' command lines and environments.")
	p.rule("allow", "sysctl-read", []string{
		`(sysctl-name-prefix "hw.")`,
		`(sysctl-name-prefix "machdep.cpu.")`,
		`(sysctl-name "machdep.ptrauth_enabled")`,
		`(sysctl-name-prefix "kern.os")`,
		`(sysctl-name "kern.version")`,
		`(sysctl-name "kern.hostname")`,
		`(sysctl-name "kern.argmax")`,
		`(sysctl-name "kern.boottime")`,
		`(sysctl-name "kern.maxfiles")`,
		`(sysctl-name "kern.maxfilesperproc")`,
		`(sysctl-name "kern.maxproc")`,
		`(sysctl-name "kern.ngroups")`,
		`(sysctl-name "kern.secure_kernel")`,
		`(sysctl-name "kern.usrstack64")`,
		`(sysctl-name-prefix "kern.proc.pid.")`,
		`(sysctl-name-prefix "kern.proc.pgrp.")`,
		`(sysctl-name "sysctl.proc_cputype")`,
		`(sysctl-name "vm.loadavg")`,
		`(sysctl-name "security.mac.lockdown_mode_state")`,
	}, "")

	p.blank()
	p.comment("Devices. The terminal the command was given, pseudo-terminals it opens",
		"itself, and the usual character devices. The command runs in a session of its",
		"own, so the user's terminal is not its controlling terminal and TIOCSTI on it",
		"is refused by the kernel.")
	p.allow("pseudo-tty")
	p.rule("allow", "file-read* file-write* file-ioctl", []string{
		literal("/dev/null"),
		literal("/dev/zero"),
		literal("/dev/random"),
		literal("/dev/urandom"),
		literal("/dev/tty"),
		literal("/dev/ptmx"),
		literal("/dev/dtracehelper"),
		`(regex #"^/dev/ttys[0-9]+$")`,
		`(regex #"^/dev/fd/[0-9]+$")`,
	}, "")
}

// files writes the file system rules: everything readable, then the
// Spec's paths parent before child, then the temporary directory.
func (p *sbpl) files(s Spec, tmp string) {
	p.blank()
	p.comment("Files. Everything can be read; nothing can be written unless a rule below",
		"allows it. Then the Spec's paths, parent before child, so that the deepest",
		"rule decides.")
	p.allow("file-read*")
	for _, sp := range s.Paths {
		why := sbplString(sp.Why)
		switch sp.Access {
		case ReadWrite:
			p.comment("read-write: " + why)
			p.allow("file-read* file-write*", exactly(sp)...)
		case ReadOnly:
			p.comment("read-only: " + why)
			p.allow("file-read*", exactly(sp)...)
			p.deny("file-write*", append(exactly(sp), anyCase(sp.Path, true)...), SeatbeltRule{Path: sp.Path, Why: sp.Why})
		case Hidden:
			p.comment("hidden: " + why)
			p.deny("file-read* file-write* process-exec", append(exactly(sp), anyCase(sp.Path, true)...), SeatbeltRule{Path: sp.Path, Why: sp.Why})
		}
	}
	if dirs := traversable(s); len(dirs) > 0 {
		p.blank()
		p.comment("Hidden directories on the way to visible paths inside them: their metadata",
			"only (stat, so that realpath and getcwd work), never their listing or",
			"content, as Linux gives them mode 0111.")
		var f []string
		for _, d := range dirs {
			f = append(f, literal(d))
		}
		p.rule("allow", "file-read-metadata", f, "")
	}
	if tmp != "" {
		p.blank()
		p.comment("The run's private temporary directory ($TMPDIR), removed after the run.")
		p.allow("file-read* file-write*", subpath(tmp))
	}
	if len(s.Uncreatable) > 0 {
		p.blank()
		p.comment("Protected paths that do not exist yet: refused by name, whatever makes",
			"them (a file, a directory, a link, a rename).")
		us := append([]Path(nil), s.Uncreatable...)
		sortPaths(us)
		seen := map[string]bool{}
		for _, u := range us {
			if seen[u.Path] {
				continue
			}
			seen[u.Path] = true
			p.comment("uncreatable: " + sbplString(u.Why))
			p.deny("file-write*", append([]string{literal(u.Path), subpath(u.Path)}, anyCase(u.Path, true)...), SeatbeltRule{Path: u.Path, Why: u.Why})
		}
	}
}

// traversable lists the hidden directories that must be statable because
// something visible lies inside them: each one from a hidden directory
// down to the parent of a visible path.
func traversable(s Spec) []string {
	set := map[string]bool{}
	for _, v := range s.Paths {
		if v.Access == Hidden {
			continue
		}
		for d := filepath.Dir(v.Path); d != "/" && d != "."; d = filepath.Dir(d) {
			if s.AccessOf(d).Access == Hidden {
				set[d] = true
			}
		}
	}
	return sortedSet(set)
}

// unmovable writes the rules that keep protected paths where their rules
// are: the writable directories above each of them, up to and including
// the writable folder, can be neither renamed nor removed.
func (p *sbpl) unmovable(s Spec) {
	why := map[string]string{}
	add := func(dir, because string) {
		if _, ok := why[dir]; !ok {
			why[dir] = because
		}
	}
	explicitRW := map[string]bool{}
	for _, sp := range s.Paths {
		if sp.Access == ReadWrite {
			explicitRW[sp.Path] = true
		}
	}
	pinned := map[string]bool{}
	for _, d := range s.Pin {
		pinned[d] = true
	}
	for _, sp := range s.Paths {
		if sp.Access == ReadWrite {
			continue
		}
		// Every directory above an existing path exists.
		for d := filepath.Dir(sp.Path); d != "/"; d = filepath.Dir(d) {
			if s.AccessOf(d).Access == ReadWrite {
				add(d, "holds "+sp.Path+" ("+sp.Why+")")
			}
		}
	}
	for _, u := range s.Uncreatable {
		// Above a path that does not exist yet, only the directories
		// known to exist: the pinned ones and the writable folders.
		// Keeping a directory the command makes itself from being
		// removed would protect nothing.
		for d := filepath.Dir(u.Path); d != "/"; d = filepath.Dir(d) {
			if (pinned[d] || explicitRW[d]) && s.AccessOf(d).Access == ReadWrite {
				add(d, "holds "+u.Path+" ("+u.Why+")")
			}
		}
	}
	for _, d := range s.Pin {
		if s.AccessOf(d).Access == ReadWrite {
			add(d, "pinned: a protected path lies beneath")
		}
	}
	if len(why) == 0 {
		return
	}
	p.blank()
	p.comment("Directories that hold protected paths, from the writable folder down: they",
		"cannot be renamed or removed, or the protected paths beneath would move away",
		"from their rules (mv .git x; mkdir .git).")
	dirs := make([]string, 0, len(why))
	for d := range why {
		dirs = append(dirs, d)
	}
	sort.Slice(dirs, func(i, j int) bool { return pathLess(dirs[i], dirs[j]) })
	for _, d := range dirs {
		p.comment("unmovable: " + sbplString(why[d]))
		p.deny("file-write-unlink", append([]string{literal(d)}, anyCase(d, false)...), SeatbeltRule{Path: d, Why: "keeps protected paths in place: " + why[d]})
	}
}

// network writes the socket rules: the proxies' ports on the loopback
// interface, and Unix sockets when the Spec allows them.
func (p *sbpl) network(s Spec, ports []int) {
	p.blank()
	p.comment("Network. Creating sockets is allowed (socketpair(2) included); where they",
		"may connect is not. Nothing may listen or accept connections, and names",
		"cannot be resolved in the sandbox: sandbar's proxy resolves them.")
	p.allow("system-socket", "(socket-domain AF_UNIX)", "(socket-domain AF_INET)", "(socket-domain AF_INET6)")
	if len(ports) > 0 {
		p.comment("The relay to sandbar's proxies, on 127.0.0.1 and ::1 (it holds the port on",
			"both, so nothing else can listen behind it): the only way out.")
		var f []string
		for _, port := range ports {
			f = append(f, `(remote tcp "localhost:`+strconv.Itoa(port)+`")`)
		}
		p.allow("network-outbound", f...)
	}
	if !s.AllowUnixSockets {
		p.comment("Unix sockets: none can be bound or connected (allowUnixSockets is off).")
		return
	}
	p.comment("Unix sockets (allowUnixSockets): any the command can reach, except in hidden",
		"directories. Binding one also creates a file, which the file rules decide.")
	p.allow("network-outbound", `(remote unix-socket (path-regex #"^/"))`)
	p.allow("network-bind", `(local unix-socket (path-regex #"^/"))`)
	// Parent before child, as for files: a visible path inside a hidden
	// directory comes after it and stays reachable.
	for _, sp := range s.Paths {
		switch {
		case sp.Access == Hidden:
			r := SeatbeltRule{Path: sp.Path, Why: sp.Why}
			p.deny("network-outbound", []string{"(remote unix-socket " + subpath(sp.Path) + ")"}, r)
			p.deny("network-bind", []string{"(local unix-socket " + subpath(sp.Path) + ")"}, r)
		case sp.Path != "/" && s.AccessOf(filepath.Dir(sp.Path)).Access == Hidden:
			p.allow("network-outbound", "(remote unix-socket "+subpath(sp.Path)+")")
			p.allow("network-bind", "(local unix-socket "+subpath(sp.Path)+")")
		}
	}
}

func sortedSet(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return pathLess(out[i], out[j]) })
	return out
}

// sbplString returns s as an SBPL string literal. SBPL is read by
// TinyScheme: in a string, a backslash starts an escape, a double quote
// ends it, and \xHH is the byte HH. Quotes and backslashes are escaped,
// and every control character (line breaks included, so that a string
// also stays on one line in a comment) is written as \xHH or \n, \t, \r;
// other bytes, UTF-8 included, pass as they are. NUL cannot be passed
// to sandbox-exec at all: Spec.Validate refuses paths with one, and the
// marker is plain letters.
func sbplString(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\r':
			b.WriteString(`\r`)
		case c < 0x20 || c == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}
