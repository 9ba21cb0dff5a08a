package policy

import (
	"errors"
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"",
		"{}",
		"// c\n",
		"\uFEFF{}",
		`{"version": 1, "filesystem": {"denyRead": ["~/.ssh", "rel", "~bob", "*"]}}`,
		`{"network": {"allowedDomains": ["*.example.com:443", "[::1]:80", "https://x", "a..b"]}}`,
		`{"env": {"allow": ["A*"], "deny": ["x-y"], "set": {"A": "1", "A": 2, "SANDBAR": ""}}}`,
		`{"presets": ["go", "nope"], "extra": [], "Filesystem": 1,}`,
		"{\n\t\"presets\": [\"gö\"\n",
		"{\"presets\": [\"\xff\"]}",
		"/* open",
		`{"git": {"hosts": ["github.com", "*.x"], "push": {"branches": ["agent/*", "refs/x"], "repositories": ["a/b"]}, "forcePush": 1}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Add(DefaultSource())
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("f", data)
		if err != nil {
			if p != nil {
				t.Errorf("Parse returned a policy along with an error")
			}
			var list ErrorList
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("Parse error %v (%T) is not a non-empty ErrorList", err, err)
			}
			for _, e := range list {
				if e.Pos.Line < 1 || e.Pos.Col < 1 || e.Pos.File != "f" {
					t.Errorf("error without a position: %q at %+v", e.Msg, e.Pos)
				}
			}
			return
		}
		// Every value must point at the opening quote of its string.
		for _, v := range values(p) {
			if off, ok := offset(data, v.Pos); !ok || data[off] != '"' {
				t.Errorf("value %q at %v does not point at a '\"'", v.Text, v.Pos)
			}
		}
	})
}

func values(p *Policy) []Value {
	var vs []Value
	for _, list := range [][]Value{
		p.Filesystem.DenyRead, p.Filesystem.AllowRead, p.Filesystem.AllowWrite, p.Filesystem.DenyWrite,
		p.Network.AllowedDomains, p.Network.DeniedDomains, p.Network.AllowUnixSockets,
		p.Env.Allow, p.Env.Deny, p.Presets,
	} {
		vs = append(vs, list...)
	}
	for _, s := range p.Env.Set {
		vs = append(vs, s.Name, s.Value)
	}
	return vs
}

// offset finds the byte offset of pos in data, independently of the parser.
func offset(data []byte, pos Pos) (int, bool) {
	line, start := 1, 0
	for i, b := range data {
		if line == pos.Line {
			break
		}
		if b == '\n' {
			line, start = line+1, i+1
		}
	}
	off := start + pos.Col - 1
	return off, line == pos.Line && pos.Col >= 1 && off < len(data)
}
