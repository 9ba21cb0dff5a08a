package confine_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sandbar-dev/sandbar/confine"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

var layout = confine.BwrapLayout{
	SeccompFD:    3,
	StatusFD:     4,
	FirstExtraFD: 8,
	Init:         []string{"/proc/self/fd/5", "__sandbar_init", "6", "5", "7", "--"},
}

func TestBwrapArgsGolden(t *testing.T) {
	tests := []struct {
		name string
		spec confine.Spec
	}{
		{"workspace only", confine.Spec{
			Argv:  []string{"make", "test"},
			Dir:   "/home/u/proj",
			Paths: []confine.Path{{Path: "/home/u/proj", Access: confine.ReadWrite, Dir: true}},
		}},
		{"secrets and re-allowed", confine.Spec{
			Argv: []string{"sh"},
			Dir:  "/home/u/proj",
			Paths: []confine.Path{
				{Path: "/home/u", Access: confine.Hidden, Dir: true},
				{Path: "/home/u/proj", Access: confine.ReadWrite, Dir: true},
				{Path: "/home/u/.ssh", Access: confine.Hidden, Dir: true},
				{Path: "/home/u/.netrc", Access: confine.Hidden},
				{Path: "/home/u/src", Access: confine.ReadOnly, Dir: true},
				{Path: "/home/u/.aws", Access: confine.Hidden, Dir: true},
			},
		}},
		{"protected and pinned", confine.Spec{
			Argv: []string{"git", "commit"},
			Dir:  "/w",
			Paths: []confine.Path{
				{Path: "/w", Access: confine.ReadWrite, Dir: true},
				{Path: "/w/.git/hooks", Access: confine.ReadOnly, Dir: true},
				{Path: "/w/.git/config", Access: confine.ReadOnly},
				{Path: "/w/vendor/lib/.git/hooks", Access: confine.ReadOnly, Dir: true},
				{Path: "/w/.vscode", Access: confine.ReadOnly, Dir: true},
			},
			Pin: []string{"/w/.git", "/w/vendor", "/w/vendor/lib", "/w/vendor/lib/.git", "/readonly/elsewhere"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args, fds, err := confine.BwrapArgs(tt.spec, layout)
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join(args, "\n") + "\n"
			for i, d := range fds {
				got += fmt.Sprintf("# fd %d: %q\n", 8+i, d.Path)
			}
			golden := filepath.Join("testdata", strings.ReplaceAll(tt.name, " ", "-")+".bwrap.golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./confine -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("bwrap args (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBwrapArgsInvariants(t *testing.T) {
	spec := confine.Spec{
		Argv: []string{"true"},
		Dir:  "/w",
		Paths: []confine.Path{
			{Path: "/w", Access: confine.ReadWrite, Dir: true},
			{Path: "/w/.git/hooks", Access: confine.ReadOnly, Dir: true},
			{Path: "/home/u/.ssh", Access: confine.Hidden, Dir: true},
		},
	}
	args, _, err := confine.BwrapArgs(spec, layout)
	if err != nil {
		t.Fatal(err)
	}
	joined := " " + strings.Join(args, " ") + " "
	for _, must := range []string{
		" --unshare-user ", " --unshare-pid ", " --unshare-net ", " --unshare-ipc ",
		" --unshare-uts ", " --unshare-cgroup ", " --disable-userns ", " --cap-drop ALL ",
		" --new-session ", " --ro-bind / / ", " --seccomp 3 ",
		" --bind-fd 8 /w ",
	} {
		if !strings.Contains(joined, must) {
			t.Errorf("bwrap args lack %q:\n%s", must, joined)
		}
	}
	// The read-only bind of a protected path must come after the
	// writable bind of its folder, or the folder would cover it.
	rw := strings.Index(joined, " /w ")
	ro := strings.Index(joined, " /w/.git/hooks ")
	if rw < 0 || ro < 0 || ro < rw {
		t.Errorf("protected bind must follow the workspace bind:\n%s", joined)
	}
	// A hidden directory is made read-only after it is mounted.
	if !strings.Contains(joined, " --remount-ro /home/u/.ssh ") {
		t.Errorf("hidden directory not remounted read-only:\n%s", joined)
	}
}

func TestSpecValidate(t *testing.T) {
	tests := []struct {
		name string
		spec confine.Spec
		want string
	}{
		{"no command", confine.Spec{Dir: "/"}, "no command"},
		{"relative dir", confine.Spec{Argv: []string{"x"}, Dir: "w"}, "not absolute"},
		{"relative path", confine.Spec{Argv: []string{"x"}, Dir: "/", Paths: []confine.Path{{Path: "w"}}}, "not absolute"},
		{"unclean path", confine.Spec{Argv: []string{"x"}, Dir: "/", Paths: []confine.Path{{Path: "/w/../etc"}}}, "not clean"},
		{"writable root", confine.Spec{Argv: []string{"x"}, Dir: "/", Paths: []confine.Path{{Path: "/", Access: confine.ReadWrite}}}, "root directory"},
		{"bad env", confine.Spec{Argv: []string{"x"}, Dir: "/", Env: []string{"NOEQUALS"}}, "NAME=value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.spec.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate() = %v; want an error mentioning %q", err, tt.want)
			}
		})
	}
}

func TestSpecSamePathNarrowerWins(t *testing.T) {
	s, err := confine.Spec{Argv: []string{"x"}, Dir: "/", Paths: []confine.Path{
		{Path: "/a", Access: confine.ReadWrite},
		{Path: "/a", Access: confine.Hidden},
		{Path: "/a", Access: confine.ReadOnly},
	}}.Validate()
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Paths) != 1 || s.Paths[0].Access != confine.Hidden {
		t.Errorf("paths = %+v; want one hidden /a", s.Paths)
	}
}
