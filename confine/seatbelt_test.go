package confine_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/sandbar-dev/sandbar/confine"
)

// darwinResolve stands in for the Mac's file system: /tmp, /var and /etc
// are symbolic links into /private there.
func darwinResolve(p string) (string, error) {
	for _, l := range []string{"/tmp", "/var", "/etc"} {
		if p == l || strings.HasPrefix(p, l+"/") {
			return "/private" + p, nil
		}
	}
	return p, nil
}

var seatbeltLayout = confine.SeatbeltLayout{
	Marker:  "sandbar-0123456789ab",
	TempDir: "/var/folders/xy/abcdefgh/T/sandbar-tmp-1234",
	Self:    "/usr/local/bin/sandbar",
	Resolve: darwinResolve,
}

func TestSeatbeltProfileGolden(t *testing.T) {
	withPorts := seatbeltLayout
	withPorts.ProxyPorts = []int{52001, 52002}
	proxy := &confine.Proxy{HTTP: "/var/folders/xy/abcdefgh/T/sandbar-net-1/http.sock", SOCKS: "/var/folders/xy/abcdefgh/T/sandbar-net-1/socks.sock", Hello: []byte("SANDBAR/1 x\r\n")}
	tests := []struct {
		name   string
		spec   confine.Spec
		layout confine.SeatbeltLayout
	}{
		{"workspace only", confine.Spec{
			Argv:  []string{"make", "test"},
			Dir:   "/Users/u/proj",
			Paths: []confine.Path{{Path: "/Users/u/proj", Access: confine.ReadWrite, Dir: true, Why: "workspace folder"}},
		}, seatbeltLayout},
		{"secrets and re-allowed", confine.Spec{
			Argv: []string{"sh"},
			Dir:  "/Users/u/proj",
			Paths: []confine.Path{
				{Path: "/Users/u", Access: confine.Hidden, Dir: true, Why: "policy ~/.config/sandbar/policy.jsonc:3:18"},
				{Path: "/Users/u/proj", Access: confine.ReadWrite, Dir: true, Why: "workspace folder"},
				{Path: "/Users/u/.ssh", Access: confine.Hidden, Dir: true, Why: "default: denyRead ~/.ssh"},
				{Path: "/Users/u/.netrc", Access: confine.Hidden, Why: "default: denyRead ~/.netrc"},
				{Path: "/Users/u/src/lib", Access: confine.ReadOnly, Dir: true, Why: "policy ~/.config/sandbar/policy.jsonc:4:19"},
				{Path: "/Users/u/proj/secrets", Access: confine.Hidden, Dir: true, Why: "policy /Users/u/proj/.sandbar/policy.jsonc:2:17"},
			},
		}, seatbeltLayout},
		{"protected and pinned", confine.Spec{
			Argv: []string{"git", "commit"},
			Dir:  "/Users/u/w",
			Paths: []confine.Path{
				{Path: "/Users/u/w", Access: confine.ReadWrite, Dir: true, Why: "workspace folder"},
				{Path: "/Users/u/w/.git/hooks", Access: confine.ReadOnly, Dir: true, Why: "protected: .git/hooks"},
				{Path: "/Users/u/w/.git/config", Access: confine.ReadOnly, Why: "protected: .git/config"},
				{Path: "/Users/u/w/vendor/lib/.git/hooks", Access: confine.ReadOnly, Dir: true, Why: "protected: .git/hooks"},
				{Path: "/Users/u/w/.vscode", Access: confine.ReadOnly, Dir: true, Why: "protected: .vscode"},
				{Path: "/Users/u/w/node_modules/x/index.js", Access: confine.ReadOnly, Why: "hard link: its content is shared with another path"},
			},
			Pin: []string{"/Users/u/w/.git", "/Users/u/w/vendor", "/Users/u/w/vendor/lib", "/Users/u/w/vendor/lib/.git", "/readonly/elsewhere"},
			Uncreatable: []confine.Path{
				{Path: "/Users/u/w/.envrc", Why: "protected: .envrc"},
				{Path: "/Users/u/w/.config/fish", Why: "protected: .config/fish"},
				{Path: "/Users/u/w/vendor/lib/.git/config.worktree", Why: "protected: .git/config.worktree"},
			},
		}, seatbeltLayout},
		{"network and unix sockets", confine.Spec{
			Argv: []string{"npm", "install"},
			Dir:  "/Users/u/proj",
			Paths: []confine.Path{
				{Path: "/Users/u", Access: confine.Hidden, Dir: true, Why: "policy ~/.config/sandbar/policy.jsonc:3:18"},
				{Path: "/Users/u/proj", Access: confine.ReadWrite, Dir: true, Why: "workspace folder"},
				{Path: "/Users/u/.docker", Access: confine.Hidden, Dir: true, Why: "default: denyRead ~/.docker"},
			},
			Network:          confine.Network{Proxy: proxy},
			AllowUnixSockets: true,
		}, withPorts},
		{"symlinked paths", confine.Spec{
			Argv: []string{"go", "test", "./..."},
			Dir:  "/tmp/w",
			Paths: []confine.Path{
				{Path: "/tmp/w", Access: confine.ReadWrite, Dir: true, Why: "workspace folder"},
				{Path: "/tmp/w/.git/hooks", Access: confine.ReadOnly, Dir: true, Why: "protected: .git/hooks"},
				{Path: "/etc/ssl/private", Access: confine.Hidden, Dir: true, Why: "policy /etc/sandbar.jsonc:1:1"},
			},
			Pin:         []string{"/tmp/w/.git"},
			Uncreatable: []confine.Path{{Path: "/tmp/w/.envrc", Why: "protected: .envrc"}},
		}, seatbeltLayout},
		{"hostile names", confine.Spec{
			Argv: []string{"sh", "-c", "echo \")\"\n(allow default)"},
			Dir:  "/Users/u/w",
			Paths: []confine.Path{
				{Path: "/Users/u/w", Access: confine.ReadWrite, Dir: true, Why: "workspace folder"},
				{Path: `/Users/u/w/a"b\c`, Access: confine.Hidden, Dir: true, Why: `policy "quoted"`},
				{Path: "/Users/u/w/x\")) (allow default) ; (\"", Access: confine.ReadOnly, Why: "protected: x\n(allow default)"},
				{Path: "/Users/u/w/line\nbreak\ttab\rret", Access: confine.Hidden, Why: "policy :1:1"},
				{Path: "/Users/u/w/ünïcødé/日本/💥", Access: confine.Hidden, Dir: true, Why: "policy ünï"},
				{Path: "/Users/u/w/ctl\x01\x1b\x7f", Access: confine.ReadOnly, Why: "protected: ctl"},
			},
			Uncreatable: []confine.Path{{Path: "/Users/u/w/#\"regex\"|;", Why: "protected: #"}},
		}, seatbeltLayout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sb, err := confine.SeatbeltProfile(tt.spec, tt.layout)
			if err != nil {
				t.Fatal(err)
			}
			got := sb.Profile + "\n; Rules (the N of each deny rule's message):\n"
			for i, r := range sb.Rules {
				got += fmt.Sprintf(";   %d: %s %s\n", i, strconv.Quote(r.Path), strconv.Quote(r.Why))
			}
			golden := filepath.Join("testdata", "seatbelt", strings.ReplaceAll(tt.name, " ", "-")+".sb")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./confine -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("profile differs from %s (-want +got):\n%s", golden, diff)
			}
			// Whatever it holds, the golden profile reads back as SBPL.
			if _, err := readSBPL(sb.Profile); err != nil {
				t.Errorf("profile does not read back: %v", err)
			}
		})
	}
}

// TestSeatbeltEscapesEveryString builds profiles around hostile names and
// reads them back the way TinyScheme (SBPL's reader) does: every string
// must decode to exactly what was put in, and the profile must have
// exactly the structure it has with a harmless name. A name that ended
// its string or comment early would add, drop or change a form.
func TestSeatbeltEscapesEveryString(t *testing.T) {
	// Names, not paths: a slash would make another directory, and the
	// structure would change for that reason alone.
	names := []string{
		`quote"`, `back\slash`, `\"`, `\\"`, `")`, `"))(allow default)(deny`,
		"paren(s)", "semi;colon", "new\nline", "\n(allow file-write* (subpath \"~\"))\n;",
		"cr\rlf", "tab\t", "\x01\x02\x1f\x7f", "#\"regex\"", "|pipe|", "ünïcødé", "日本語", "💥",
		"\xff\xfe", `\x41`, `\n`, "'quote'", "`tick`", "$(sh)", "a b", "-", "_",
	}
	// And random ones made of the dangerous characters.
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"\"", "\\", "(", ")", ";", "#", "|", "\n", "\r", "\t", "\x01", "\x7f", "x", "é", "💥", " ", "\\x", "\\n"}
	for range 300 {
		var b strings.Builder
		for range 1 + r.IntN(12) {
			b.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		if n := b.String(); n != "." && n != ".." {
			names = append(names, n)
		}
	}
	spec := func(name string) confine.Spec {
		dir := "/Users/u/w/" + name
		return confine.Spec{
			Argv: []string{"sh", "-c", name},
			Dir:  "/Users/u/w",
			Paths: []confine.Path{
				{Path: "/Users/u/w", Access: confine.ReadWrite, Dir: true, Why: "workspace folder " + name},
				{Path: dir, Access: confine.Hidden, Dir: true, Why: "hidden " + name},
				{Path: dir + "/visible", Access: confine.ReadOnly, Dir: true, Why: name},
				{Path: "/Users/u/w/ro/sub/" + name, Access: confine.ReadOnly, Why: name},
			},
			Pin:              []string{"/Users/u/w/ro", "/Users/u/w/ro/sub"},
			Uncreatable:      []confine.Path{{Path: "/Users/u/w/.new/" + name, Why: name}},
			AllowUnixSockets: true,
		}
	}
	layout := seatbeltLayout
	layout.Resolve = nil
	base, err := confine.SeatbeltProfile(spec("harmless"), layout)
	if err != nil {
		t.Fatal(err)
	}
	baseForms, err := readSBPL(base.Profile)
	if err != nil {
		t.Fatal(err)
	}
	baseForms, _ = maskRegexes(baseForms)
	for _, name := range names {
		sb, err := confine.SeatbeltProfile(spec(name), layout)
		if err != nil {
			t.Fatalf("%q: %v", name, err)
		}
		forms, err := readSBPL(sb.Profile)
		if err != nil {
			t.Fatalf("%q: profile does not read back: %v\n%s", name, err, sb.Profile)
		}
		// The regular expressions, which spell the name in any case,
		// must match the paths, in any case.
		forms, regexes := maskRegexes(forms)
		if len(regexes) == 0 {
			t.Fatalf("%q: no regular expressions", name)
		}
		for _, re := range regexes {
			checkFoldRegex(t, re, name)
		}
		// The same forms, with the name wherever "harmless" was.
		want := replaceStrings(baseForms, "harmless", name)
		if diff := cmp.Diff(want, forms); diff != "" {
			t.Fatalf("%q: the profile's structure changed (-want +got):\n%s", name, diff)
		}
		// And no line of the profile is anything but a comment, a blank or
		// a line that reads as SBPL on its own terms: a comment cannot
		// have been broken onto a second line.
		for _, l := range strings.Split(sb.Profile, "\n") {
			if strings.HasPrefix(l, ";") && strings.ContainsAny(l, "\r") {
				t.Fatalf("%q: comment line with a carriage return: %q", name, l)
			}
		}
	}
}

func TestSeatbeltRefuses(t *testing.T) {
	ok := confine.Spec{Argv: []string{"true"}, Dir: "/w", Paths: []confine.Path{{Path: "/w", Access: confine.ReadWrite, Dir: true}}}
	withPath := func(p string) confine.Spec {
		s := ok
		s.Paths = append([]confine.Path{}, ok.Paths...)
		s.Paths = append(s.Paths, confine.Path{Path: p, Access: confine.Hidden})
		return s
	}
	badResolve := seatbeltLayout
	badResolve.Resolve = func(p string) (string, error) { return "relative/" + p, nil }
	tests := []struct {
		name   string
		spec   confine.Spec
		layout confine.SeatbeltLayout
	}{
		{"NUL in a path", withPath("/w/a\x00b"), seatbeltLayout},
		{"NUL in an uncreatable path", func() confine.Spec {
			s := ok
			s.Uncreatable = []confine.Path{{Path: "/w/.envrc\x00"}}
			return s
		}(), seatbeltLayout},
		{"relative path", withPath("w/x"), seatbeltLayout},
		{"marker with a quote", ok, func() confine.SeatbeltLayout { l := seatbeltLayout; l.Marker = `m"`; return l }()},
		{"empty marker", ok, func() confine.SeatbeltLayout { l := seatbeltLayout; l.Marker = ""; return l }()},
		{"NUL in the temporary directory", ok, func() confine.SeatbeltLayout { l := seatbeltLayout; l.TempDir = "/t\x00"; return l }()},
		{"port out of range", ok, func() confine.SeatbeltLayout { l := seatbeltLayout; l.ProxyPorts = []int{70000}; return l }()},
		{"ports without a proxy", ok, func() confine.SeatbeltLayout { l := seatbeltLayout; l.ProxyPorts = []int{1}; return l }()},
		{"resolver returns a relative path", ok, badResolve},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if sb, err := confine.SeatbeltProfile(tt.spec, tt.layout); err == nil {
				t.Errorf("no error; profile:\n%s", sb.Profile)
			}
		})
	}
}

// TestSeatbeltRulesNameTheirPaths checks that each deny rule's message
// leads to a Rules entry about the path the rule names.
func TestSeatbeltRulesNameTheirPaths(t *testing.T) {
	spec := confine.Spec{
		Argv: []string{"true"},
		Dir:  "/tmp/w",
		Paths: []confine.Path{
			{Path: "/tmp/w", Access: confine.ReadWrite, Dir: true, Why: "workspace folder"},
			{Path: "/tmp/w/.git/hooks", Access: confine.ReadOnly, Dir: true, Why: "protected: .git/hooks"},
			{Path: "/Users/u/.ssh", Access: confine.Hidden, Dir: true, Why: "default: denyRead ~/.ssh"},
		},
		Uncreatable: []confine.Path{{Path: "/tmp/w/.envrc", Why: "protected: .envrc"}},
	}
	sb, err := confine.SeatbeltProfile(spec, seatbeltLayout)
	if err != nil {
		t.Fatal(err)
	}
	forms, err := readSBPL(sb.Profile)
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, f := range forms {
		l, ok := f.([]any)
		if !ok || len(l) == 0 || l[0] != sym("deny") {
			continue
		}
		msg, paths := "", []string{}
		for _, x := range l[1:] {
			sub, ok := x.([]any)
			if !ok || len(sub) < 2 {
				continue
			}
			switch sub[0] {
			case sym("with"):
				msg = string(sub[2].(str))
			case sym("literal"), sym("subpath"):
				paths = append(paths, string(sub[1].(str)))
			}
		}
		marker, n, ok := strings.Cut(msg, ":")
		if !ok || marker != seatbeltLayout.Marker {
			t.Fatalf("deny rule without this run's message: %v", l)
		}
		i, err := strconv.Atoi(n)
		if err != nil || i < 0 || i >= len(sb.Rules) {
			t.Fatalf("message %q names no rule", msg)
		}
		seen++
		for _, p := range paths {
			if p != sb.Rules[i].Path {
				t.Errorf("rule %d is about %q, but its deny rule names %q", i, sb.Rules[i].Path, p)
			}
		}
	}
	if seen != len(sb.Rules) {
		t.Errorf("%d deny rules for %d Rules", seen, len(sb.Rules))
	}
	if got, want := sb.Spec.Dir, "/private/tmp/w"; got != want {
		t.Errorf("resolved working directory %q, want %q", got, want)
	}
	if got := sb.Spec.AccessOf("/private/tmp/w/.git/hooks/pre-commit"); got.Why != "protected: .git/hooks" {
		t.Errorf("the resolved Spec gives the hook %v", got)
	}
}

// A small reader for what the profile builder writes: lists, symbols,
// strings (with TinyScheme's escapes) and #"..." regular expressions.

type sym string
type str string
type rx string

func readSBPL(src string) ([]any, error) {
	r := &sbplReader{s: src}
	var out []any
	for {
		r.skip()
		if r.i >= len(r.s) {
			return out, nil
		}
		v, err := r.read()
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
}

type sbplReader struct {
	s string
	i int
}

func (r *sbplReader) skip() {
	for r.i < len(r.s) {
		switch c := r.s[r.i]; {
		case c == ';':
			for r.i < len(r.s) && r.s[r.i] != '\n' {
				r.i++
			}
		case c == ' ' || c == '\n' || c == '\t' || c == '\r':
			r.i++
		default:
			return
		}
	}
}

func (r *sbplReader) read() (any, error) {
	r.skip()
	if r.i >= len(r.s) {
		return nil, fmt.Errorf("unexpected end")
	}
	switch c := r.s[r.i]; {
	case c == '(':
		r.i++
		var l []any
		for {
			r.skip()
			if r.i >= len(r.s) {
				return nil, fmt.Errorf("unclosed list")
			}
			if r.s[r.i] == ')' {
				r.i++
				return l, nil
			}
			v, err := r.read()
			if err != nil {
				return nil, err
			}
			l = append(l, v)
		}
	case c == ')':
		return nil, fmt.Errorf("unexpected ) at %d", r.i)
	case c == '"':
		r.i++
		s, err := r.str()
		return str(s), err
	case strings.HasPrefix(r.s[r.i:], `#"`):
		r.i += 2
		s, err := r.str()
		return rx(s), err
	default:
		start := r.i
		for r.i < len(r.s) && !strings.ContainsRune(" \n\t\r()\";", rune(r.s[r.i])) {
			r.i++
		}
		return sym(r.s[start:r.i]), nil
	}
}

// str reads a string's body as TinyScheme's readstrexp does.
func (r *sbplReader) str() (string, error) {
	var b strings.Builder
	for r.i < len(r.s) {
		c := r.s[r.i]
		r.i++
		switch c {
		case '"':
			return b.String(), nil
		case '\\':
			if r.i >= len(r.s) {
				return "", fmt.Errorf("unfinished escape")
			}
			e := r.s[r.i]
			r.i++
			switch e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case 'x', 'X':
				if r.i+2 > len(r.s) {
					return "", fmt.Errorf("unfinished \\x")
				}
				v, err := strconv.ParseUint(r.s[r.i:r.i+2], 16, 8)
				if err != nil {
					return "", fmt.Errorf("bad \\x escape %q", r.s[r.i:r.i+2])
				}
				r.i += 2
				b.WriteByte(byte(v))
			case '0', '1', '2', '3', '4', '5', '6', '7':
				return "", fmt.Errorf("octal escapes are never written")
			default:
				b.WriteByte(e)
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", fmt.Errorf("unterminated string")
}

// maskRegexes replaces the string of every (regex "...") by "REGEX", and
// returns the strings.
func maskRegexes(forms []any) ([]any, []string) {
	var out []any
	var regexes []string
	for _, f := range forms {
		l, ok := f.([]any)
		if !ok {
			out = append(out, f)
			continue
		}
		if len(l) == 2 && l[0] == sym("regex") {
			if s, ok := l[1].(str); ok {
				regexes = append(regexes, string(s))
				out = append(out, []any{sym("regex"), str("REGEX")})
				continue
			}
		}
		sub, res := maskRegexes(l)
		out = append(out, sub)
		regexes = append(regexes, res...)
	}
	return out, regexes
}

// checkFoldRegex checks that re, one of the regular expressions of a
// profile built around name, matches one of the profile's paths in any
// letter case (and what lies beneath it, for a subtree), and not a
// sibling whose name merely starts the same.
func checkFoldRegex(t *testing.T, re, name string) {
	t.Helper()
	if !utf8.ValidString(re) {
		// Go's regular expressions read UTF-8; SBPL's read bytes.
		return
	}
	g, err := regexp.Compile(re)
	if err != nil {
		t.Fatalf("%q: %q is not a regular expression: %v", name, re, err)
	}
	paths := []string{
		"/Users/u/w", "/Users/u/w/ro", "/Users/u/w/ro/sub",
		"/Users/u/w/" + name, "/Users/u/w/" + name + "/visible",
		"/Users/u/w/ro/sub/" + name, "/Users/u/w/.new/" + name,
	}
	for _, p := range paths {
		matches := true
		// ASCII letters only: see anyCase.
		upper := strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' {
				return r - 'a' + 'A'
			}
			return r
		}, p)
		lower := strings.Map(func(r rune) rune {
			if r >= 'A' && r <= 'Z' {
				return r - 'A' + 'a'
			}
			return r
		}, p)
		for _, spelled := range []string{p, upper, lower} {
			matches = matches && (g.MatchString(spelled) || g.MatchString(spelled+"/x"))
		}
		if matches {
			if g.MatchString(p + "x") {
				t.Errorf("%q: %q also matches %q", name, re, p+"x")
			}
			return
		}
	}
	t.Errorf("%q: %q matches none of the paths in every case", name, re)
}

// replaceStrings replaces old by new in every string of forms.
func replaceStrings(forms []any, old, new string) []any {
	var out []any
	for _, f := range forms {
		switch v := f.(type) {
		case []any:
			out = append(out, replaceStrings(v, old, new))
		case str:
			out = append(out, str(strings.ReplaceAll(string(v), old, new)))
		default:
			out = append(out, v)
		}
	}
	return out
}
