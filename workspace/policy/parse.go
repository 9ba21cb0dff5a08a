package policy

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/tailscale/hujson"
)

// The keys of each object, in the order the schema documents them; unknown
// key messages list them in this order.
var (
	topKeys        = []string{"version", "filesystem", "network", "env", "presets", "git"}
	filesystemKeys = []string{"denyRead", "allowRead", "allowWrite", "denyWrite"}
	networkKeys    = []string{"allowedDomains", "deniedDomains", "allowUnixSockets"}
	envKeys        = []string{"allow", "deny", "set"}
	gitKeys        = []string{"hosts", "push", "forcePush", "deleteBranches"}
	gitPushKeys    = []string{"branches", "repositories"}
)

// Parse reads one policy file. file is only used in positions and messages;
// Parse never opens it. On failure the error is an ErrorList holding every
// problem found, sorted by position, and the policy is nil: a half-read
// policy must never reach the sandbox.
func Parse(file string, data []byte) (*Policy, error) {
	p := newParser(file, data)
	if p.blank() {
		return &Policy{Version: 1}, nil
	}
	root, err := hujson.Parse(p.buf)
	if err != nil {
		p.syntaxError(err)
		return nil, p.errs
	}
	pol := p.policy(&root)
	if len(p.errs) > 0 {
		p.errs.Sort()
		return nil, p.errs
	}
	return pol, nil
}

type parser struct {
	file string
	// buf is the file as handed to hujson: a leading byte order mark blanked
	// out (some Windows editors write one, and hujson rejects it) and a
	// newline appended (hujson rejects a line comment that ends the file).
	// Both keep every byte offset of the original file unchanged.
	buf   []byte
	size  int   // length of the original file
	lines []int // offset of the first byte of each line of buf
	errs  ErrorList
}

func newParser(file string, data []byte) *parser {
	buf := make([]byte, len(data)+1)
	copy(buf, data)
	buf[len(data)] = '\n'
	if len(data) >= 3 && string(data[:3]) == "\uFEFF" {
		copy(buf, "   ")
	}
	lines := []int{0}
	for i, b := range buf {
		if b == '\n' {
			lines = append(lines, i+1)
		}
	}
	return &parser{file: file, buf: buf, size: len(data), lines: lines}
}

// pos turns a byte offset into a 1-based line and byte column, counting lines
// by '\n' exactly as hujson does so syntax and schema errors agree. Offsets
// past the original file (hujson running into our added newline) are moved
// back to its end: "unexpected EOF" belongs after the last byte written.
func (p *parser) pos(off int) Pos {
	off = min(max(off, 0), p.size)
	i := sort.SearchInts(p.lines, off+1) - 1
	return Pos{File: p.file, Line: i + 1, Col: off - p.lines[i] + 1}
}

func (p *parser) errorf(off int, format string, args ...any) {
	p.errs = append(p.errs, &Error{Pos: p.pos(off), Msg: fmt.Sprintf(format, args...)})
}

// blank reports whether the file holds nothing but whitespace and comments.
// hujson calls that a syntax error, but an empty policy file is a natural
// thing to create before filling it in.
func (p *parser) blank() bool {
	s := string(p.buf[:p.size])
	for s != "" {
		switch {
		case s[0] == ' ' || s[0] == '\t' || s[0] == '\r' || s[0] == '\n':
			s = s[1:]
		case strings.HasPrefix(s, "//"):
			comment, rest, _ := strings.Cut(s, "\n")
			if !utf8.ValidString(comment) || strings.ContainsAny(comment, "\u2028\u2029") {
				return false // let hujson describe the problem
			}
			s = rest
		case strings.HasPrefix(s, "/*"):
			comment, rest, ok := strings.Cut(s[2:], "*/")
			if !ok || !utf8.ValidString(comment) {
				return false
			}
			s = rest
		default:
			return false
		}
	}
	return true
}

// syntaxError converts hujson's "hujson: line L, column C: msg" into our
// position format. hujson counts lines and byte columns the way pos does.
func (p *parser) syntaxError(err error) {
	msg := err.Error()
	if inner := errors.Unwrap(err); inner != nil {
		msg = inner.Error()
	}
	var line, col int
	off := 0
	if _, scanErr := fmt.Sscanf(err.Error(), "hujson: line %d, column %d:", &line, &col); scanErr == nil &&
		line >= 1 && line <= len(p.lines) && col >= 1 {
		off = p.lines[line-1] + col - 1
	}
	p.errorf(off, "syntax error: %s", msg)
}

func (p *parser) policy(root *hujson.Value) *Policy {
	pol := &Policy{Version: 1}
	p.object(root, "", topKeys, func(key string, v *hujson.Value) {
		switch key {
		case "version":
			p.version(v)
		case "filesystem":
			fs := &pol.Filesystem
			p.object(v, key, filesystemKeys, func(key string, v *hujson.Value) {
				list := p.strings(v, key, checkPath)
				switch key {
				case "denyRead":
					fs.DenyRead = append(fs.DenyRead, list...)
				case "allowRead":
					fs.AllowRead = append(fs.AllowRead, list...)
				case "allowWrite":
					fs.AllowWrite = append(fs.AllowWrite, list...)
				case "denyWrite":
					fs.DenyWrite = append(fs.DenyWrite, list...)
				}
			})
		case "network":
			net := &pol.Network
			p.object(v, key, networkKeys, func(key string, v *hujson.Value) {
				switch key {
				case "allowedDomains":
					net.AllowedDomains = append(net.AllowedDomains, p.strings(v, key, checkDomain)...)
				case "deniedDomains":
					net.DeniedDomains = append(net.DeniedDomains, p.strings(v, key, checkDomain)...)
				case "allowUnixSockets":
					net.AllowUnixSockets = append(net.AllowUnixSockets, p.strings(v, key, checkPath)...)
				}
			})
		case "env":
			env := &pol.Env
			p.object(v, key, envKeys, func(key string, v *hujson.Value) {
				switch key {
				case "allow":
					env.Allow = append(env.Allow, p.strings(v, key, checkEnvPattern)...)
				case "deny":
					env.Deny = append(env.Deny, p.strings(v, key, checkEnvPattern)...)
				case "set":
					env.Set = append(env.Set, p.envSet(v)...)
				}
			})
		case "presets":
			pol.Presets = append(pol.Presets, p.strings(v, key, checkPreset)...)
		case "git":
			p.git(v, &pol.Git)
		}
	})
	return pol
}

func (p *parser) git(v *hujson.Value, g *Git) {
	p.object(v, "git", gitKeys, func(key string, v *hujson.Value) {
		switch key {
		case "hosts":
			g.Hosts = append(g.Hosts, p.strings(v, key, checkGitHost)...)
		case "push":
			p.object(v, key, gitPushKeys, func(key string, v *hujson.Value) {
				switch key {
				case "branches":
					g.Push.Branches = append(g.Push.Branches, p.strings(v, key, checkBranchPattern)...)
				case "repositories":
					g.Push.Repositories = append(g.Push.Repositories, p.strings(v, key, checkRepository)...)
				}
			})
		case "forcePush":
			if f := p.flag(v, key); f != nil {
				g.ForcePush = f
			}
		case "deleteBranches":
			if f := p.flag(v, key); f != nil {
				g.DeleteBranches = f
			}
		}
	})
}

// flag reads true or false.
func (p *parser) flag(v *hujson.Value, name string) *Flag {
	lit, ok := v.Value.(hujson.Literal)
	if !ok || (lit.Kind() != 't' && lit.Kind() != 'f') {
		p.errorf(v.StartOffset, "%q must be true or false, got %s", name, kindName(v.Value))
		return nil
	}
	return &Flag{Value: lit.Bool(), Pos: p.pos(v.StartOffset)}
}

// object checks that v is an object with only known, unrepeated keys and
// calls visit for each known key. A repeated key is still visited so that
// problems inside it are reported in the same pass.
func (p *parser) object(v *hujson.Value, name string, known []string, visit func(key string, v *hujson.Value)) {
	obj, ok := v.Value.(*hujson.Object)
	if !ok {
		if name == "" {
			p.errorf(v.StartOffset, "a policy must be an object, got %s", kindName(v.Value))
		} else {
			p.errorf(v.StartOffset, "%q must be an object, got %s", name, kindName(v.Value))
		}
		return
	}
	in := ""
	if name != "" {
		in = fmt.Sprintf(" in %q", name)
	}
	seen := map[string]Pos{}
	for i := range obj.Members {
		m := &obj.Members[i]
		key, ok := p.str(&m.Name)
		if !ok {
			continue
		}
		if !slices.Contains(known, key) {
			if s := suggest(key, known); s != "" {
				p.errorf(m.Name.StartOffset, "unknown key %q%s; did you mean %q?", key, in, s)
			} else {
				p.errorf(m.Name.StartOffset, "unknown key %q%s; known keys are %s", key, in, quoteList(known))
			}
			continue
		}
		if first, dup := seen[key]; dup {
			p.errorf(m.Name.StartOffset, "duplicate key %q%s; keep one (the first is at %d:%d)", key, in, first.Line, first.Col)
		} else {
			seen[key] = p.pos(m.Name.StartOffset)
		}
		visit(key, &m.Value)
	}
}

func (p *parser) version(v *hujson.Value) {
	lit, ok := v.Value.(hujson.Literal)
	if !ok || lit.Kind() != '0' {
		p.errorf(v.StartOffset, `"version" must be the number 1, got %s`, kindName(v.Value))
		return
	}
	if lit.Float() != 1 {
		p.errorf(v.StartOffset, "unsupported version %s; this sandbar reads version 1", lit)
	}
}

// strings reads an array of non-empty strings. check returns a message for an
// entry that is well-formed JSON but not acceptable to the schema.
func (p *parser) strings(v *hujson.Value, name string, check func(string) string) []Value {
	arr, ok := v.Value.(*hujson.Array)
	if !ok {
		p.errorf(v.StartOffset, "%q must be an array of strings, got %s", name, kindName(v.Value))
		return nil
	}
	var out []Value
	for i := range arr.Elements {
		e := &arr.Elements[i]
		if e.Value.Kind() != '"' {
			p.errorf(e.StartOffset, "each entry of %q must be a string, got %s", name, kindName(e.Value))
			continue
		}
		s, ok := p.str(e)
		if !ok {
			continue
		}
		if s == "" {
			p.errorf(e.StartOffset, "empty string in %q; remove the entry", name)
			continue
		}
		if msg := check(s); msg != "" {
			p.errorf(e.StartOffset, "%s", msg)
			continue
		}
		out = append(out, Value{Text: s, Pos: p.pos(e.StartOffset)})
	}
	return out
}

func (p *parser) envSet(v *hujson.Value) []EnvVar {
	obj, ok := v.Value.(*hujson.Object)
	if !ok {
		p.errorf(v.StartOffset, `"set" must be an object of strings, got %s`, kindName(v.Value))
		return nil
	}
	var out []EnvVar
	seen := map[string]Pos{}
	for i := range obj.Members {
		m := &obj.Members[i]
		name, ok := p.str(&m.Name)
		if !ok {
			continue
		}
		bad := false
		if msg := checkEnvName(name); msg != "" {
			p.errorf(m.Name.StartOffset, "%s", msg)
			bad = true
		} else if first, dup := seen[name]; dup {
			p.errorf(m.Name.StartOffset, "duplicate key %q in \"set\"; keep one (the first is at %d:%d)", name, first.Line, first.Col)
			bad = true
		} else {
			seen[name] = p.pos(m.Name.StartOffset)
		}
		if m.Value.Value.Kind() != '"' {
			p.errorf(m.Value.StartOffset, "value of %q must be a string, got %s", name, kindName(m.Value.Value))
			continue
		}
		val, ok := p.str(&m.Value)
		if !ok {
			continue
		}
		if strings.IndexByte(val, 0) >= 0 {
			p.errorf(m.Value.StartOffset, "value of %q contains a NUL byte; remove it", name)
			continue
		}
		if bad {
			continue
		}
		out = append(out, EnvVar{
			Name:  Value{Text: name, Pos: p.pos(m.Name.StartOffset)},
			Value: Value{Text: val, Pos: p.pos(m.Value.StartOffset)},
		})
	}
	return out
}

// str unquotes a string literal. encoding/json would silently turn invalid
// UTF-8 into U+FFFD, which would make a path or name that matches nothing on
// disk, so it is an error here.
func (p *parser) str(v *hujson.Value) (string, bool) {
	lit := v.Value.(hujson.Literal)
	if !utf8.Valid(lit) {
		p.errorf(v.StartOffset, "invalid UTF-8 in string; save the file as UTF-8")
		return "", false
	}
	return lit.String(), true
}

func kindName(v hujson.ValueTrimmed) string {
	switch v.Kind() {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case '0':
		return "number"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "unknown value"
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}

// suggest returns the known key the user most likely meant: one that differs
// only in case, or else the closest within two edits. The distance must also
// be less than the key's length, or every short key would "mean" something.
func suggest(key string, known []string) string {
	for _, k := range known {
		if strings.EqualFold(k, key) {
			return k
		}
	}
	best, bestDist := "", 3
	for _, k := range known {
		if d := editDistance(key, k); d < bestDist && d < len(key) {
			best, bestDist = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes; keys
// are ASCII so bytes are characters.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
