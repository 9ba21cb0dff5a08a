package policy

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseGit(t *testing.T) {
	src := `{
  "git": {
    "hosts": ["github.com", "git.example.com:8443", "127.0.0.2:9443"],
    "push": {
      "branches": ["agent/*", "sandbar/*", "fix-*", "*"],
      "repositories": ["github.com/me/project", "github.com/me/*", "git.example.com:8443/a/b.git"],
    },
    "forcePush": false,
    "deleteBranches": true,
  },
}`
	got, err := Parse(file, []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := Git{
		Hosts: []Value{val("github.com", 3, 15), val("git.example.com:8443", 3, 29), val("127.0.0.2:9443", 3, 53)},
		Push: GitPush{
			Branches: []Value{val("agent/*", 5, 20), val("sandbar/*", 5, 31), val("fix-*", 5, 44), val("*", 5, 53)},
			Repositories: []Value{val("github.com/me/project", 6, 24), val("github.com/me/*", 6, 49),
				val("git.example.com:8443/a/b.git", 6, 68)},
		},
		ForcePush:      &Flag{Value: false, Pos: Pos{File: file, Line: 8, Col: 18}},
		DeleteBranches: &Flag{Value: true, Pos: Pos{File: file, Line: 9, Col: 23}},
	}
	if diff := cmp.Diff(want, got.Git); diff != "" {
		t.Errorf("git (-want +got):\n%s", diff)
	}
}

func TestParseGitErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{
			name: "wildcard host",
			src:  `{"git": {"hosts": ["*.github.com"]}}`,
			want: []string{`p.jsonc:1:20: "*.github.com": a git host is one host name; list each host, like "github.com"`},
		},
		{
			name: "host with a scheme",
			src:  `{"git": {"hosts": ["https://github.com"]}}`,
			want: []string{`p.jsonc:1:20: "https://github.com": write the host name without a scheme`},
		},
		{
			name: "branch written as a ref",
			src:  `{"git": {"push": {"branches": ["refs/heads/agent/*"]}}}`,
			want: []string{`p.jsonc:1:32: "refs/heads/agent/*": write the branch name without "refs/heads/", like "agent/*"`},
		},
		{
			name: "tag ref",
			src:  `{"git": {"push": {"branches": ["refs/tags/v1"]}}}`,
			want: []string{`p.jsonc:1:32: "refs/tags/v1": only branches can be listed; write a branch name, like "agent/*"`},
		},
		{
			name: "branches git would refuse",
			src:  `{"git": {"push": {"branches": ["a b", "a..b", "a/", ".x", "x.lock", "a?", "a//b", "a@{1}", "x."]}}}`,
			want: []string{
				`p.jsonc:1:32: "a b": invalid character ' ' in a branch name`,
				`p.jsonc:1:39: "a..b": a branch name cannot contain ".."`,
				`p.jsonc:1:47: "a/": a branch name cannot start or end with "/" or contain "//"`,
				`p.jsonc:1:53: ".x": a part of a branch name cannot start with "." or end with ".lock"`,
				`p.jsonc:1:59: "x.lock": a part of a branch name cannot start with "." or end with ".lock"`,
				`p.jsonc:1:69: "a?": invalid character '?' in a branch name`,
				`p.jsonc:1:75: "a//b": a branch name cannot start or end with "/" or contain "//"`,
				`p.jsonc:1:83: "a@{1}": a branch name cannot contain "@{"`,
				`p.jsonc:1:92: "x.": a branch name cannot end with "."`,
			},
		},
		{
			name: "repositories",
			src:  `{"git": {"push": {"repositories": ["https://github.com/a/b", "github.com", "git@github.com/a", "github.com/a//b", "github.com/../b", "bad_host/a", "github.com/a b"]}}}`,
			want: []string{
				`p.jsonc:1:36: "https://github.com/a/b": write the repository without a scheme, like "github.com/me/project"`,
				`p.jsonc:1:62: "github.com": name a repository as host/path, like "github.com/me/project"`,
				`p.jsonc:1:76: "git@github.com/a": write the repository without user info, like "github.com/me/project"`,
				`p.jsonc:1:96: "github.com/a//b": empty segment in the repository path; remove the extra "/"`,
				`p.jsonc:1:115: "github.com/../b": ".." is not allowed in a repository path`,
				`p.jsonc:1:134: "bad_host": invalid character '_' in host name; use letters, digits, "-" and "."`,
				`p.jsonc:1:148: "github.com/a b": invalid character ' ' in a repository path`,
			},
		},
		{
			name: "flags that are not booleans",
			src:  `{"git": {"forcePush": "yes", "deleteBranches": 0}}`,
			want: []string{
				`p.jsonc:1:23: "forcePush" must be true or false, got string`,
				`p.jsonc:1:48: "deleteBranches" must be true or false, got number`,
			},
		},
		{
			name: "unknown keys",
			src:  `{"git": {"host": [], "push": {"branch": []}, "force": true}}`,
			want: []string{
				`p.jsonc:1:10: unknown key "host" in "git"; did you mean "hosts"?`,
				`p.jsonc:1:31: unknown key "branch" in "push"; did you mean "branches"?`,
				`p.jsonc:1:46: unknown key "force" in "git"; known keys are "hosts", "push", "forcePush", "deleteBranches"`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(file, []byte(tt.src))
			if err == nil {
				t.Fatal("Parse accepted it")
			}
			if diff := cmp.Diff(tt.want, strings.Split(err.Error(), "\n")); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMergeGit(t *testing.T) {
	user := &Policy{Git: Git{
		Hosts:     []Value{at("u", "github.com", 1)},
		Push:      GitPush{Branches: []Value{at("u", "agent/*", 2)}},
		ForcePush: &Flag{Value: true, Pos: Pos{File: "u", Line: 3, Col: 1}},
	}}
	repo := &Policy{Git: Git{
		Push:           GitPush{Branches: []Value{at("r", "fix/*", 1)}, Repositories: []Value{at("r", "github.com/a/b", 2)}},
		ForcePush:      &Flag{Value: false, Pos: Pos{File: "r", Line: 3, Col: 1}},
		DeleteBranches: &Flag{Value: true, Pos: Pos{File: "r", Line: 4, Col: 1}},
	}}
	want := Git{
		Hosts:          []Value{at("u", "github.com", 1)},
		Push:           GitPush{Branches: []Value{at("u", "agent/*", 2), at("r", "fix/*", 1)}, Repositories: []Value{at("r", "github.com/a/b", 2)}},
		ForcePush:      &Flag{Value: false, Pos: Pos{File: "r", Line: 3, Col: 1}},
		DeleteBranches: &Flag{Value: true, Pos: Pos{File: "r", Line: 4, Col: 1}},
	}
	got := Merge(user, repo)
	if diff := cmp.Diff(want, got.Git); diff != "" {
		t.Errorf("merged git (-want +got):\n%s", diff)
	}
	// The merge shares no flag with its inputs.
	got.Git.ForcePush.Value = true
	if repo.Git.ForcePush.Value {
		t.Error("Merge shares flags with its inputs")
	}
	if got := Merge(user, &Policy{}); got.Git.ForcePush == nil || !got.Git.ForcePush.Value {
		t.Errorf("a policy that does not set forcePush changed it: %+v", got.Git.ForcePush)
	}
}
