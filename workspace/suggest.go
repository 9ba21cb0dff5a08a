package workspace

import (
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/sandbar-dev/sandbar/confine"
	"github.com/sandbar-dev/sandbar/workspace/policy"
)

// Suggestion is a policy entry that would allow some of what the sandbox
// refused during a run.
type Suggestion struct {
	// Key is the list the entry goes in: "filesystem.allowWrite",
	// "filesystem.allowRead", "network.allowedDomains" or "presets".
	Key string
	// Entry is the value to add, written as a user would write it:
	// "~/.cache/foo", "./build", "/opt/sdk", "registry.npmjs.org",
	// "example.com:8443", "go".
	Entry string
	// Folder is set when Entry is relative ("./..."): it is relative to
	// that workspace folder, so it belongs in the folder's
	// .sandbar/policy.jsonc.
	Folder string
	// Covers is how many refusals (repeats included) the entry would allow.
	Covers int
	// Warning, when set, says why adding the entry is risky: it exposes a
	// secret the built-in default hides, overrides a deny entry someone
	// wrote on purpose, or lets the command reach services on this machine
	// or its network.
	Warning string
}

// String is the suggestion as an instruction: `add "~/.cache/foo" to
// filesystem.allowWrite`.
func (s Suggestion) String() string {
	out := fmt.Sprintf("add %q to %s", s.Entry, s.Key)
	if s.Folder != "" {
		out += " in " + filepath.Join(s.Folder, PolicyFileName)
	}
	return out
}

// Suggest works out the narrowest policy entries that would allow what the
// sandbox refused, most refusals first (ties in the order of vs), so the
// first is the line to show after a run. It does no I/O.
//
// Files: a refused write suggests filesystem.allowWrite and a refused read
// filesystem.allowRead, of the path itself, or of its directory when the
// command tried to create, rename or remove an entry there (a path that
// does not exist yet cannot be allowed by name). Several refused paths
// under one directory become that directory: the deepest one holding at
// least two of them. A directory is never `/` or a top-level directory,
// the home directory or anything above it, a workspace folder or anything
// above one, or a directory every program shares (~/.config, ~/.cache,
// ~/.local/share, /usr/local...); nor, for groups, a direct child of home
// (~/src, ~/.cargo), which would take in unrelated projects or a
// toolchain's executables. A refused write under a preset's cache suggests
// the preset.
//
// Never suggested, because no policy entry can or should allow them:
// protected paths (git hooks and config, editor and agent settings, shell
// start-up files, sandbar's own files, hard links), and any path that would
// be protected once writable (so the entry would not work); refusals the
// policy did not cause (a write where the sandbox already allows writing);
// a path that is exactly an entry of denyRead or denyWrite in the user's or
// a repository's policy (the fix is to edit that entry, which the
// violation's Rule names); Unix sockets (not supported yet).
//
// Secrets (the built-in default's denyRead) are suggested one path at a
// time, never as a directory holding them, and always with a Warning.
// Allowing a path below an explicit deny entry also carries a Warning
// naming that entry.
//
// Network: network.allowedDomains with the host, or host:port when the
// port is not 80 or 443, for connections refused because no entry allowed
// them ("not in allowedDomains", "port N not in allowedDomains", "IP
// literal"). Refusals an allowed entry would not fix are skipped:
// deniedDomains (it wins over allowedDomains), a name that resolves to a
// non-public address or does not resolve, an invalid host or port, and a
// connection without sandbar's credential.
func (sb *Sandbox) Suggest(vs []confine.Violation) []Suggestion {
	s := suggester{sb: sb, spec: confine.Spec{Paths: sb.Paths}}
	for _, raw := range policy.Default().Filesystem.DenyRead {
		if abs, err := policy.ExpandPath(raw.Text, sb.home, sb.home); err == nil {
			s.secrets = append(s.secrets, abs)
		}
	}
	var out []*suggestion
	byEntry := map[[2]string]*suggestion{} // network and preset suggestions by key and entry
	add := func(key, entry, warning string, n, i int) {
		if sg, ok := byEntry[[2]string{key, entry}]; ok {
			sg.Covers += n
			return
		}
		sg := &suggestion{Suggestion: Suggestion{Key: key, Entry: entry, Covers: n, Warning: warning}, first: i}
		byEntry[[2]string{key, entry}] = sg
		out = append(out, sg)
	}
	files := map[string][]*unit{}
	for i, v := range vs {
		n := max(v.Count, 1)
		switch v.Kind {
		case "network":
			if entry, warning, ok := networkEntry(v); ok {
				add("network.allowedDomains", entry, warning, n, i)
			}
		case "file-write", "file-read":
			if name := s.preset(v); name != "" {
				add("presets", name, "", n, i)
			} else if u := s.unit(v); u != nil {
				u.covers, u.first = n, i
				files[u.key] = append(files[u.key], u)
			}
		}
	}
	for _, key := range []string{"filesystem.allowWrite", "filesystem.allowRead"} {
		for _, u := range s.group(files[key]) {
			out = append(out, s.suggestion(u))
		}
	}
	slices.SortStableFunc(out, func(a, b *suggestion) int {
		if a.Covers != b.Covers {
			return b.Covers - a.Covers
		}
		return a.first - b.first
	})
	var res []Suggestion
	for _, sg := range out {
		res = append(res, sg.Suggestion)
	}
	return res
}

// suggestion is a Suggestion with the index of the first violation it
// covers, which orders suggestions that cover as many refusals.
type suggestion struct {
	Suggestion
	first int
}

// unit is one path entry that would allow some refusals.
type unit struct {
	key    string
	path   string
	covers int
	first  int
	// secret is set for a path inside a secret: such entries are never
	// merged into a directory.
	secret bool
	// limits are the explicit deny entries the refused paths lie under;
	// an allowing entry must lie strictly beneath each, or the deny entry
	// would still decide.
	limits []string
	warns  []string
	dead   bool
}

type suggester struct {
	sb      *Sandbox
	spec    confine.Spec
	secrets []string // the built-in default's denyRead, absolute
}

// entryOps are the operations that change a directory's entries: allowing
// them needs the directory, since the path may not exist (yet, or any more).
var entryOps = map[string]bool{
	"create": true, "mkdir": true, "mknod": true, "rename": true,
	"link": true, "symlink": true, "unlink": true, "rmdir": true,
}

// unit works out the entry that would allow one file violation, or nil.
func (s *suggester) unit(v confine.Violation) *unit {
	p := filepath.Clean(v.Path)
	if v.Path == "" || !filepath.IsAbs(p) || s.protectedRule(v.Rule) || s.watched(p) {
		return nil
	}
	write := v.Kind == "file-write"
	key := "filesystem.allowRead"
	if write {
		key = "filesystem.allowWrite"
	}
	r := s.spec.AccessOf(p)
	switch {
	case s.protectedRule(r.Why):
		return nil
	case write && r.Access == confine.ReadWrite:
		return nil // not the policy's doing
	case !write && r.Access != confine.Hidden:
		return nil
	case write && s.protectedIfWritable(p):
		return nil
	}
	u := &unit{key: key}
	if root := s.secretOf(p); root != "" {
		u.secret = true
		u.warns = append(u.warns, fmt.Sprintf("exposes a secret: the built-in default hides %s because it can hold passwords, keys or tokens", s.display(root)))
	}
	if explicitDeny(r) {
		u.limits = append(u.limits, r.Path)
		k, pos, _ := strings.Cut(r.Why, " ")
		u.warns = append(u.warns, fmt.Sprintf("overrides %s at %s", k, pos))
	}
	var candidates []string
	if write && entryOps[v.Operation] {
		candidates = append(candidates, filepath.Dir(p))
	}
	candidates = append(candidates, p)
	for _, c := range candidates {
		if !s.acceptable(c, u) {
			continue
		}
		if root := s.secretOf(c); u.secret && c != p && (root == "" || c == root) {
			// A secret's directory would expose all of it: allow
			// only what lies strictly inside.
			continue
		}
		u.path = c
		return u
	}
	return nil
}

// preset names the preset whose caches hold a refused write, if it is not
// in force already.
func (s *suggester) preset(v confine.Violation) string {
	p := filepath.Clean(v.Path)
	if v.Kind != "file-write" || v.Path == "" || !filepath.IsAbs(p) || s.protectedRule(v.Rule) || s.watched(p) {
		return ""
	}
	r := s.spec.AccessOf(p)
	if r.Access == confine.ReadWrite || explicitDeny(r) || s.protectedRule(r.Why) || s.secretOf(p) != "" || s.protectedIfWritable(p) {
		return ""
	}
	for _, name := range policy.PresetNames() {
		if s.sb.Effective != nil && slices.ContainsFunc(s.sb.Effective.Presets, func(v policy.Value) bool { return v.Text == name }) {
			continue
		}
		for _, raw := range policy.PresetPaths(name) {
			if abs, err := policy.ExpandPath(raw, s.sb.home, "/"); err == nil && within(p, abs) {
				return name
			}
		}
	}
	return ""
}

// group merges entries of one key under their deepest common directory,
// deepest directories first, wherever the directory is acceptable to all
// the entries beneath it. Entries inside a secret stay on their own.
func (s *suggester) group(units []*unit) []*unit {
	// The same entry from several violations is one entry.
	var entries []*unit
	byPath := map[string]*unit{}
	for _, u := range units {
		if e, ok := byPath[u.path]; ok {
			e.absorb(u)
			continue
		}
		byPath[u.path] = u
		entries = append(entries, u)
	}
	beneath := map[string][]*unit{}
	for _, e := range entries {
		if e.secret {
			continue
		}
		for d := e.path; ; d = filepath.Dir(d) {
			beneath[d] = append(beneath[d], e)
			if d == "/" {
				break
			}
		}
	}
	dirs := make([]string, 0, len(beneath))
	for d := range beneath {
		dirs = append(dirs, d)
	}
	slices.SortFunc(dirs, func(a, b string) int {
		if da, db := strings.Count(a, "/"), strings.Count(b, "/"); da != db {
			return db - da
		}
		return strings.Compare(a, b)
	})
	for _, d := range dirs {
		var live []*unit
		var exact *unit
		for _, e := range beneath[d] {
			if e.dead {
				continue
			}
			live = append(live, e)
			if e.path == d {
				exact = e
			}
		}
		if len(live) < 2 || (exact == nil && !s.groupable(d)) || s.secretOf(d) != "" {
			continue
		}
		if !slices.ContainsFunc(live, func(e *unit) bool { return !s.acceptable(d, e) }) {
			g := exact
			if g == nil {
				g = &unit{key: live[0].key, path: d, first: live[0].first}
				entries = append(entries, g)
				for a := d; a != "/"; {
					a = filepath.Dir(a)
					beneath[a] = append(beneath[a], g)
				}
			}
			for _, e := range live {
				if e != g {
					g.absorb(e)
					e.dead = true
				}
			}
		}
	}
	var out []*unit
	for _, e := range entries {
		if !e.dead {
			out = append(out, e)
		}
	}
	return out
}

func (u *unit) absorb(o *unit) {
	u.covers += o.covers
	u.first = min(u.first, o.first)
	u.secret = u.secret || o.secret
	for _, l := range o.limits {
		if !slices.Contains(u.limits, l) {
			u.limits = append(u.limits, l)
		}
	}
	for _, w := range o.warns {
		if !slices.Contains(u.warns, w) {
			u.warns = append(u.warns, w)
		}
	}
}

func (s *suggester) suggestion(u *unit) *suggestion {
	sg := &suggestion{Suggestion: Suggestion{Key: u.key, Covers: u.covers, Warning: strings.Join(u.warns, "; ")}, first: u.first}
	sg.Entry, sg.Folder = s.entry(u.path)
	return sg
}

// entry writes path as a policy entry: relative to the deepest workspace
// folder holding it (other than the home directory), else under "~/",
// else absolute.
func (s *suggester) entry(path string) (entry, folder string) {
	for _, f := range s.sb.Folders {
		if f != s.sb.home && within(path, f) && len(f) > len(folder) {
			folder = f
		}
	}
	if folder != "" {
		rel, _ := filepath.Rel(folder, path)
		return "./" + rel, folder
	}
	return s.display(path), ""
}

// display writes path with "~/" when it lies under the home directory.
func (s *suggester) display(path string) string {
	if h := s.sb.home; h != "" && h != "/" && within(path, h) {
		if path == h {
			return "~"
		}
		return "~/" + strings.TrimPrefix(path, h+"/")
	}
	return path
}

// acceptable reports whether an entry for c would allow u's refusals and
// is narrow enough to suggest.
func (s *suggester) acceptable(c string, u *unit) bool {
	if !s.suggestable(c) {
		return false
	}
	if u.key == "filesystem.allowWrite" && s.protectedIfWritable(c) {
		return false
	}
	for _, l := range u.limits {
		if c == l || !within(c, l) {
			return false
		}
	}
	return true
}

// shared are directories that many programs keep their files in: allowing
// one of them allows far more than what was refused.
var shared = []string{
	"~/.config", "~/.cache", "~/.local", "~/.local/share", "~/.local/state",
	"~/Library", "~/Library/Application Support", "~/Library/Caches", "~/Library/Preferences",
	"~/snap", "~/.var", "~/.var/app",
	"/usr/local", "/usr/local/lib", "/usr/local/share", "/usr/lib", "/usr/share",
	"/var/lib", "/var/cache",
}

// suggestable reports whether c may be suggested at all.
func (s *suggester) suggestable(c string) bool {
	if strings.Count(c, "/") <= 1 { // "/" and "/usr", "/etc", "/home"...
		return false
	}
	if s.sb.home != "" && within(s.sb.home, c) {
		return false
	}
	for _, f := range s.sb.Folders {
		if within(f, c) {
			return false
		}
	}
	for _, raw := range shared {
		if abs, err := policy.ExpandPath(raw, s.sb.home, "/"); err == nil && abs == c {
			return false
		}
	}
	return true
}

// groupable reports whether c may be suggested for several refused paths
// beneath it. A direct child of home is too coarse for that: ~/src holds
// unrelated projects, ~/.cargo a toolchain's executables besides its
// caches.
func (s *suggester) groupable(c string) bool {
	return s.suggestable(c) && (s.sb.home == "" || filepath.Dir(c) != s.sb.home)
}

// protectedRule reports whether a rule (a violation's Rule or a path's
// Why) is one of the protections that no policy entry lifts.
func (s *suggester) protectedRule(rule string) bool {
	return strings.HasPrefix(rule, "protected:") || strings.HasPrefix(rule, "hard link:") || rule == "sandbar's own configuration"
}

// watched reports whether p is, or lies under, a protected path that did
// not exist when the sandbox was built.
func (s *suggester) watched(p string) bool {
	return slices.ContainsFunc(s.sb.Watch, func(w Watched) bool { return within(p, w.Path) })
}

// protectedIfWritable reports whether sandbar would protect p (or what it
// lies in) once a policy made it writable, so that allowing it would not
// work: the home directory's start-up and configuration files, and the
// names protected at the top of every writable folder or inside any git
// directory, wherever they appear in the path.
func (s *suggester) protectedIfWritable(p string) bool {
	if h := s.sb.home; h != "" {
		for _, name := range HomeNames {
			if within(p, filepath.Join(h, name)) {
				return true
			}
		}
	}
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	for i := range parts {
		if parts[i] == ".git" {
			return true
		}
		for _, name := range RootNames {
			n := strings.Split(name, "/")
			if i+len(n) <= len(parts) && slices.Equal(parts[i:i+len(n)], n) {
				return true
			}
		}
	}
	return false
}

// secretOf returns the built-in default's denyRead entry that holds p, or
// "".
func (s *suggester) secretOf(p string) string {
	for _, sec := range s.secrets {
		if within(p, sec) {
			return sec
		}
	}
	return ""
}

// explicitDeny reports whether a path's access comes from a denyRead or
// denyWrite entry of the user's or a repository's policy.
func explicitDeny(r confine.Path) bool {
	if r.Access == confine.ReadWrite || strings.Contains(r.Why, policy.DefaultFile) {
		return false
	}
	return strings.HasPrefix(r.Why, "denyRead ") || strings.HasPrefix(r.Why, "denyWrite ")
}

// networkEntry is the allowedDomains entry that would allow a refused
// connection, and a warning when it reaches this machine or its network;
// ok is false when no entry would allow it.
func networkEntry(v confine.Violation) (entry, warning string, ok bool) {
	base, _, _ := strings.Cut(v.Reason, "; ") // drop "; no one to ask", "; denied by approver"...
	fixable := base == "not in allowedDomains" || base == "IP literal" ||
		(strings.HasPrefix(base, "port ") && strings.Contains(base, " not in allowedDomains"))
	if !fixable || v.Target == "" {
		return "", "", false
	}
	host, portText, err := net.SplitHostPort(v.Target)
	if err != nil || host == "" {
		return "", "", false
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 1 || port > 65535 {
		return "", "", false
	}
	entry = host
	if port != 80 && port != 443 {
		entry = net.JoinHostPort(host, portText)
	}
	if a, err := netip.ParseAddr(host); err == nil {
		a = a.Unmap()
		switch {
		case a.IsLoopback() || a.IsUnspecified():
			warning = fmt.Sprintf("%s is this machine: the command could reach services running outside the sandbox", host)
		case a.IsPrivate() || a.IsLinkLocalUnicast():
			warning = fmt.Sprintf("%s is a local network address: the command could reach machines and services on your network", host)
		}
	} else if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		warning = fmt.Sprintf("%s is this machine: the command could reach services running outside the sandbox (sandbar also refuses it until its address, such as \"127.0.0.1\", is listed)", host)
	}
	return entry, warning, true
}
