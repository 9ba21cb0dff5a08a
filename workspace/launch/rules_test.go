package launch_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/sandbar-dev/sandbar/proxy"
	"github.com/sandbar-dev/sandbar/workspace"
	"github.com/sandbar-dev/sandbar/workspace/launch"
)

// TestLiveRulesCompiledOncePerPolicy: every connection asks for the
// rules; they are compiled again only when the policy is reloaded, and
// then decide by the new policy.
func TestLiveRulesCompiledOncePerPolicy(t *testing.T) {
	dir := t.TempDir()
	folder := filepath.Join(dir, "ws")
	os.MkdirAll(folder, 0o755)
	userPolicy := filepath.Join(dir, "policy.json")
	write := func(domain string) {
		t.Helper()
		if err := os.WriteFile(userPolicy, []byte(`{"version": 1, "network": {"allowedDomains": ["`+domain+`"]}}`), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("one.example")
	opts := workspace.Options{Folders: []string{folder}, UserPolicy: userPolicy, Home: dir}
	ps, err := workspace.LoadPolicies(opts)
	if err != nil {
		t.Fatal(err)
	}
	reloaded := make(chan error, 8)
	f, err := workspace.Follow(opts, ps, func(_ *workspace.Policies, err error) { reloaded <- err })
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rules := launch.LiveRules(f.Current)

	decide := func(r *proxy.CompiledRules, host string) proxy.Verdict {
		return r.Decide(context.Background(), proxy.Target{Host: host, Port: 443}).Verdict
	}
	first := rules()
	if again := rules(); again != first {
		t.Error("the rules were compiled again without a policy change")
	}
	if v := decide(first, "one.example"); v != proxy.Allow {
		t.Errorf("one.example: %v, want allow", v)
	}

	write("two.example")
	if err := <-reloaded; err != nil {
		t.Fatalf("reloading the policy: %v", err)
	}
	second := rules()
	if second == first {
		t.Fatal("the rules were not compiled again after the policy changed")
	}
	if v, w := decide(second, "one.example"), decide(second, "two.example"); v != proxy.Ask || w != proxy.Allow {
		t.Errorf("after the change: one.example %v, two.example %v; want ask, allow", v, w)
	}
}

func TestGitHostsAreAllowedOnTheirPort(t *testing.T) {
	dir := t.TempDir()
	folder := filepath.Join(dir, "ws")
	os.MkdirAll(folder, 0o755)
	userPolicy := filepath.Join(dir, "policy.json")
	os.WriteFile(userPolicy, []byte(`{"git": {"hosts": ["github.com", "git.example.com:8443", "::1"], "push": {"branches": ["agent/*"]}, "forcePush": true}}`), 0o644)
	ps, err := workspace.LoadPolicies(workspace.Options{Folders: []string{folder}, UserPolicy: userPolicy, Home: dir})
	if err != nil {
		t.Fatal(err)
	}
	r := launch.Rules(ps).Compile()
	for _, tt := range []struct {
		host string
		port int
		want proxy.Verdict
	}{
		{"github.com", 443, proxy.Allow},
		{"github.com", 22, proxy.Ask},
		{"git.example.com", 8443, proxy.Allow},
		{"git.example.com", 443, proxy.Ask},
	} {
		if got := r.Decide(context.Background(), proxy.Target{Host: tt.host, Port: tt.port}).Verdict; got != tt.want {
			t.Errorf("%s:%d: %v; want %v", tt.host, tt.port, got, tt.want)
		}
	}
	g := launch.GitPolicy(ps)
	if !g.ForcePush || g.DeleteBranches || len(g.Hosts) != 3 || g.Branches[0] != "agent/*" {
		t.Errorf("GitPolicy = %+v", g)
	}
}
