package policy

import (
	"slices"
	"testing"
)

// The package panics at init if the default does not parse; this test says
// why in words, and also checks that it parses with no file-name tricks.
func TestDefaultParses(t *testing.T) {
	if _, err := Parse(DefaultFile, DefaultSource()); err != nil {
		t.Fatalf("the built-in default policy does not parse:\n%v", err)
	}
}

func TestDefaultContents(t *testing.T) {
	p := Default()
	texts := func(vs []Value) []string {
		var out []string
		for _, v := range vs {
			out = append(out, v.Text)
		}
		return out
	}
	tests := []struct {
		name  string
		list  []Value
		entry string
	}{
		{name: "ssh keys", list: p.Filesystem.DenyRead, entry: "~/.ssh"},
		{name: "cloud credentials", list: p.Filesystem.DenyRead, entry: "~/.aws"},
		{name: "browser profile", list: p.Filesystem.DenyRead, entry: "~/.mozilla"},
		{name: "token variables", list: p.Env.Deny, entry: "*TOKEN*"},
		{name: "ssh agent", list: p.Env.Deny, entry: "SSH_AUTH_SOCK"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !slices.Contains(texts(tt.list), tt.entry) {
				t.Errorf("default policy lacks %q; have %q", tt.entry, texts(tt.list))
			}
		})
	}
}

func TestDefaultPositions(t *testing.T) {
	for _, v := range Default().Filesystem.DenyRead {
		if v.Pos.File != DefaultFile || v.Pos.Line < 1 || v.Pos.Col < 1 {
			t.Errorf("default entry %q has position %v, want a line in %q", v.Text, v.Pos, DefaultFile)
		}
	}
}

// Default hands out copies so that one caller cannot weaken the default for
// the rest of the process.
func TestDefaultIsACopy(t *testing.T) {
	Default().Filesystem.DenyRead[0].Text = "changed"
	if got := Default().Filesystem.DenyRead[0].Text; got == "changed" {
		t.Errorf("modifying Default's result changed the next Default: first denyRead = %q", got)
	}
}
