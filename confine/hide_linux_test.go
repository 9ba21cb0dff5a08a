package confine

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

func TestPlanHide(t *testing.T) {
	ws := Path{Path: "/home/u/proj", Access: ReadWrite, Dir: true}
	tests := []struct {
		name      string
		paths     []Path
		want      *hidePlan
		mountOnly []string
	}{
		{
			name:  "nothing hidden",
			paths: []Path{ws},
		},
		{
			name: "home secrets, and one in the workspace",
			paths: []Path{ws,
				{Path: "/home/u/.ssh", Access: Hidden, Dir: true},
				{Path: "/home/u/.netrc", Access: Hidden},
				{Path: "/home/u/.config/gh", Access: Hidden, Dir: true},
				{Path: "/home/u/proj/secrets", Access: Hidden, Dir: true},
			},
			want: &hidePlan{Dirs: []hideDir{
				{Path: "/", Skip: []string{"home"}},
				{Path: "/home", Skip: []string{"u"}},
				{Path: "/home/u", Skip: []string{".config", ".netrc", ".ssh"}, Named: []string{"proj"}},
				{Path: "/home/u/.config", Skip: []string{"gh"}},
			}},
			// Writable above: the workspace must read what it makes.
			mountOnly: []string{"/home/u/proj/secrets"},
		},
		{
			name: "in the sandbox's own /tmp",
			paths: []Path{ws,
				{Path: "/tmp/sandbar-hosts-0", Access: Hidden, Dir: true},
			},
		},
		{
			name: "under a host directory bound into /tmp",
			paths: []Path{ws,
				{Path: "/tmp/fixture", Access: ReadOnly, Dir: true},
				{Path: "/tmp/fixture/.netrc", Access: Hidden},
			},
			mountOnly: []string{"/tmp/fixture/.netrc"},
		},
		{
			name: "shown again inside a hidden directory",
			paths: []Path{ws,
				{Path: "/home/u/deny", Access: Hidden, Dir: true},
				{Path: "/home/u/deny/ok", Access: ReadOnly, Dir: true},
				{Path: "/home/u/deny/also/rw", Access: ReadWrite, Dir: true},
			},
			want: &hidePlan{
				Dirs: []hideDir{
					{Path: "/", Skip: []string{"home"}},
					{Path: "/home", Skip: []string{"u"}},
					{Path: "/home/u", Skip: []string{"deny"}, Named: []string{"proj"}},
				},
				Beneath: []string{"/home/u/deny/ok", "/home/u/deny/also/rw"},
			},
		},
		{
			name: "hidden again inside what a hidden directory shows",
			paths: []Path{ws,
				{Path: "/home/u/deny", Access: Hidden, Dir: true},
				{Path: "/home/u/deny/ok", Access: ReadOnly, Dir: true},
				{Path: "/home/u/deny/ok/key", Access: Hidden},
			},
			want: &hidePlan{Dirs: []hideDir{
				{Path: "/", Skip: []string{"home"}},
				{Path: "/home", Skip: []string{"u"}},
				{Path: "/home/u", Skip: []string{"deny"}, Named: []string{"proj"}},
				{Path: "/home/u/deny/ok", Skip: []string{"key"}},
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Spec{Argv: []string{"sh"}, Dir: ws.Path, Paths: tt.paths}.Validate()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, planHide(s)); diff != "" {
				t.Errorf("planHide (-want +got):\n%s", diff)
			}
			_, mountOnly := hidingOf(s)
			var got []string
			for _, p := range mountOnly {
				got = append(got, p.Path)
			}
			if diff := cmp.Diff(tt.mountOnly, got); diff != "" {
				t.Errorf("hidden by mounts only (-want +got):\n%s", diff)
			}
		})
	}
}

// BenchmarkFillRuleset measures what sandbar does while bwrap starts, for
// a home of 300 entries with four hidden paths (docs/hiding.md quotes
// it):
//
//	go test ./confine -run '^$' -bench FillRuleset
func BenchmarkFillRuleset(b *testing.B) {
	if HidingOff() != "" {
		b.Skip("no Landlock here: " + HidingOff())
	}
	home, err := os.MkdirTemp("/var/tmp", "sandbar-bench-home-")
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(home)
	for i := range 300 {
		p := filepath.Join(home, fmt.Sprintf(".entry%d", i))
		if i%3 == 0 {
			err = os.Mkdir(p, 0o755)
		} else {
			err = os.WriteFile(p, nil, 0o644)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	for _, d := range []string{"proj", ".ssh", ".aws", ".config/gh"} {
		if err := os.MkdirAll(filepath.Join(home, d), 0o700); err != nil {
			b.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(home, ".netrc"), nil, 0o600); err != nil {
		b.Fatal(err)
	}
	s, err := Spec{Argv: []string{"sh"}, Dir: home + "/proj", Paths: []Path{
		{Path: home + "/proj", Access: ReadWrite, Dir: true},
		{Path: home + "/.ssh", Access: Hidden, Dir: true},
		{Path: home + "/.aws", Access: Hidden, Dir: true},
		{Path: home + "/.netrc", Access: Hidden},
		{Path: home + "/.config/gh", Access: Hidden, Dir: true},
	}}.Validate()
	if err != nil {
		b.Fatal(err)
	}
	plan := planHide(s)
	for b.Loop() {
		rs, err := newRuleset()
		if err != nil {
			b.Fatal(err)
		}
		if err := fillRuleset(rs, plan); err != nil {
			b.Fatal(err)
		}
		unix.Close(rs)
	}
}
