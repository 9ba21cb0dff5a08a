package policy

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestExpandPath(t *testing.T) {
	const home, base = "/home/u", "/work/proj/.sandbar"
	tests := []struct {
		name    string
		raw     string
		home    string
		base    string
		want    string
		wantErr string
	}{
		{name: "tilde alone", raw: "~", home: home, base: base, want: "/home/u"},
		{name: "tilde slash", raw: "~/", home: home, base: base, want: "/home/u"},
		{name: "under home", raw: "~/.ssh", home: home, base: base, want: "/home/u/.ssh"},
		{name: "under home is cleaned", raw: "~//a/./b/../c/", home: home, base: base, want: "/home/u/a/c"},
		{name: "home with trailing slash", raw: "~/x", home: "/home/u/", base: base, want: "/home/u/x"},
		{name: "absolute", raw: "/etc/passwd", home: home, base: base, want: "/etc/passwd"},
		{name: "absolute is cleaned", raw: "/a//b/../c/.", home: home, base: base, want: "/a/c"},
		{name: "absolute needs neither home nor base", raw: "/x", want: "/x"},
		{name: "relative", raw: "build", home: home, base: base, want: "/work/proj/.sandbar/build"},
		{name: "relative parent", raw: "../out", home: home, base: base, want: "/work/proj/out"},
		{name: "relative dot", raw: ".", home: home, base: base, want: "/work/proj/.sandbar"},
		{name: "tilde inside a name is literal", raw: "a~b", home: home, base: base, want: "/work/proj/.sandbar/a~b"},
		{name: "relative needs no home", raw: "x", base: base, want: "/work/proj/.sandbar/x"},
		{name: "home path needs no base", raw: "~/x", home: home, want: "/home/u/x"},

		{name: "empty", raw: "", home: home, base: base, wantErr: "expanding path: path is empty"},
		{name: "unknown home", raw: "~/x", base: base, wantErr: `expanding "~/x": home directory is not known`},
		{name: "relative home", raw: "~", home: "home/u", base: base, wantErr: `expanding "~": home directory "home/u" is not absolute`},
		{name: "other user", raw: "~bob/x", home: home, base: base, wantErr: `expanding "~bob/x": "~bob" is not supported; write "~/" for your home or an absolute path`},
		{name: "unknown base", raw: "x", home: home, wantErr: `expanding "x": relative path needs the policy's directory, which is not known`},
		{name: "relative base", raw: "x", home: home, base: "proj", wantErr: `expanding "x": policy directory "proj" is not absolute`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ExpandPath(tt.raw, tt.home, tt.base)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if diff := cmp.Diff(tt.wantErr, gotErr); diff != "" {
				t.Errorf("ExpandPath(%q, %q, %q) error mismatch (-want +got):\n%s", tt.raw, tt.home, tt.base, diff)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ExpandPath(%q, %q, %q) mismatch (-want +got):\n%s", tt.raw, tt.home, tt.base, diff)
			}
		})
	}
}
