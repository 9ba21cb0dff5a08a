package gitguard

import (
	"context"
	"strings"
	"testing"

	"github.com/sandbar-dev/sandbar/proxy"
)

func TestMatchGlob(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"agent/*", "agent/x", true},
		{"agent/*", "agent/x/y", true},
		{"agent/*", "agent/", true},
		{"agent/*", "agent", false},
		{"agent/*", "main", false},
		{"agent/*", "xagent/x", false},
		{"*", "main", true},
		{"main", "main", true},
		{"main", "mainline", false},
		{"fix-*-done", "fix-a-b-done", true},
		{"fix-*-done", "fix-done", false},
		{"*-*-*-*", "a-b-c", false},
		{"a*b*c", "aXbYbZc", true},
		{"**", "", true},
	}
	for _, tt := range tests {
		if got := matchGlob(tt.pattern, tt.name); got != tt.want {
			t.Errorf("matchGlob(%q, %q) = %v; want %v", tt.pattern, tt.name, got, tt.want)
		}
	}
	// The worst case stays fast.
	if matchGlob(strings.Repeat("*a", 50)+"b", strings.Repeat("a", 5000)) {
		t.Error("matched")
	}
}

func TestCheckRef(t *testing.T) {
	p := &Policy{Branches: []string{"agent/*", "sandbar/*"}}
	tests := []struct {
		c    Command
		want string
	}{
		{Command{oidA, oidB, "refs/heads/agent/x"}, ""},
		{Command{zero, oidB, "refs/heads/sandbar/y"}, ""},
		{Command{oidA, oidB, "refs/heads/main"}, "sandbar: push to refs/heads/main refused by policy; allowed: agent/*, sandbar/*"},
		{Command{oidA, oidB, "refs/tags/agent/x"}, "sandbar: push to refs/tags/agent/x refused by policy; allowed: agent/*, sandbar/*"},
		{Command{oidA, oidB, "refs/notes/commits"}, "sandbar: push to refs/notes/commits refused by policy; allowed: agent/*, sandbar/*"},
		{Command{oidA, zero, "refs/heads/agent/x"}, "sandbar: deleting refs/heads/agent/x refused by policy (git.deleteBranches is not true)"},
	}
	for _, tt := range tests {
		if got := p.checkRef(tt.c); got != tt.want {
			t.Errorf("checkRef(%s) = %q; want %q", tt.c.Ref, got, tt.want)
		}
	}
	if got := (&Policy{}).checkRef(Command{oidA, oidB, "refs/heads/x"}); !strings.HasSuffix(got, "allowed: no branch (git.push.branches is empty)") {
		t.Errorf("with no branches: %q", got)
	}
	if got := (&Policy{Branches: []string{"*"}, DeleteBranches: true}).checkRef(Command{oidA, zero, "refs/heads/x"}); got != "" {
		t.Errorf("an allowed deletion: %q", got)
	}
}

func TestPolicyLists(t *testing.T) {
	p := &Policy{Hosts: []string{"GitHub.com", "git.example.com:8443", "127.0.0.2:9443", "[::1]:7443", "::2"}}
	tests := []struct {
		t    proxy.Target
		want bool
	}{
		{proxy.Target{Host: "github.com", Port: 443}, true},
		{proxy.Target{Host: "github.com", Port: 22}, false},
		{proxy.Target{Host: "gist.github.com", Port: 443}, false},
		{proxy.Target{Host: "git.example.com", Port: 8443}, true},
		{proxy.Target{Host: "git.example.com", Port: 443}, false},
		{proxy.Target{Host: "127.0.0.2", Port: 9443}, true},
		{proxy.Target{Host: "::1", Port: 7443}, true},
		{proxy.Target{Host: "::2", Port: 443}, true},
	}
	for _, tt := range tests {
		if got := p.Lists(tt.t); got != tt.want {
			t.Errorf("Lists(%v) = %v; want %v", tt.t, got, tt.want)
		}
	}
	if (*Policy)(nil).Lists(proxy.Target{Host: "github.com", Port: 443}) {
		t.Error("a nil policy lists a host")
	}
}

func TestListsRepository(t *testing.T) {
	p := &Policy{Repositories: []string{"github.com/me/project", "github.com/org/*", "git.example.com:8443/a/b.git"}}
	gh := proxy.Target{Host: "github.com", Port: 443}
	tests := []struct {
		t    proxy.Target
		path string
		want bool
	}{
		{gh, "me/project.git", true},
		{gh, "/Me/Project/", true},
		{gh, "me/project2", false},
		{gh, "org/anything.git", true},
		{gh, "org/a/b", false},
		{gh, "other/project", false},
		{proxy.Target{Host: "git.example.com", Port: 8443}, "a/b", true},
		{proxy.Target{Host: "git.example.com", Port: 443}, "a/b", false},
	}
	for _, tt := range tests {
		if got := p.listsRepository(tt.t, tt.path); got != tt.want {
			t.Errorf("listsRepository(%v, %q) = %v; want %v", tt.t, tt.path, got, tt.want)
		}
	}
}

func TestSecretScanner(t *testing.T) {
	c := Credential{Username: "u", Password: "p4ssw0rd-long"}
	s := newSecretScanner(c)
	for _, chunk := range []string{"nothing here ", "still nothing p4ss"} {
		if s.found([]byte(chunk)) {
			t.Fatalf("found in %q", chunk)
		}
	}
	if !s.found([]byte("w0rd-long and more")) {
		t.Error("a password cut across two reads was not found")
	}
	if !newSecretScanner(c).found([]byte("Basic dTpwNHNzdzByZC1sb25n")) {
		t.Error("the Authorization value was not found")
	}
	if newSecretScanner(Credential{Username: "u", Password: "x"}).found([]byte("xxxx")) {
		t.Error("a one-letter password is looked for")
	}
}

func TestGitCredentials(t *testing.T) {
	srv := startGitServer(t)
	repo := Repository{Host: srv.host(), Path: "org/repo.git"}
	got, err := userCredentials(t, srv).Fill(context.Background(), repo)
	if err != nil || got != (Credential{testUser, testPass}) {
		t.Errorf("Fill = %+v, %v", got, err)
	}
	// No helper: git would ask on the terminal, which it may not.
	_, err = GitCredentials{Env: gitEnv(t.TempDir())}.Fill(context.Background(), repo)
	if err == nil || !strings.Contains(err.Error(), "terminal prompts disabled") {
		t.Errorf("Fill without a helper: %v", err)
	}
}
