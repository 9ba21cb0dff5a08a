package workspace_test

import (
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sandbar-dev/sandbar/workspace/policy"
)

// A repository's git entries widen, except turning force pushes and
// deletions off: until the file is approved, only those apply.
func TestRepositoryGitPolicyTrust(t *testing.T) {
	m := newMachine(t)
	m.write(t, filepath.Join(m.home, ".config", "sandbar", "policy.jsonc"), `{
  "git": {"hosts": ["github.com"], "push": {"branches": ["agent/*"]}, "forcePush": true, "deleteBranches": true},
}`)
	policyPath := filepath.Join(m.ws, ".sandbar", "policy.jsonc")
	content := `{
  "git": {
    "hosts": ["evil.example"],
    "push": {"branches": ["main"], "repositories": ["github.com/me/proj"]},
    "forcePush": false,
    "deleteBranches": true,
  },
}`
	m.write(t, policyPath, content)

	texts := func(vs []policy.Value) []string {
		var out []string
		for _, v := range vs {
			out = append(out, v.Text)
		}
		return out
	}
	t.Run("untrusted", func(t *testing.T) {
		sb := mustLoad(t, m)
		var ignored []string
		for _, e := range sb.Ignored {
			ignored = append(ignored, e.Key+" "+e.Value.Text)
		}
		want := []string{"git.hosts evil.example", "git.push.branches main", "git.push.repositories github.com/me/proj", "git.deleteBranches true"}
		if diff := cmp.Diff(want, ignored); diff != "" {
			t.Errorf("ignored (-want +got):\n%s", diff)
		}
		g := sb.Effective.Git
		if diff := cmp.Diff([]string{"github.com"}, texts(g.Hosts)); diff != "" {
			t.Errorf("hosts (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"agent/*"}, texts(g.Push.Branches)); diff != "" {
			t.Errorf("branches (-want +got):\n%s", diff)
		}
		if g.ForcePush == nil || g.ForcePush.Value {
			t.Errorf("forcePush = %+v; want the repository's false (it narrows)", g.ForcePush)
		}
		if g.DeleteBranches == nil || !g.DeleteBranches.Value {
			t.Errorf("deleteBranches = %+v; want the user's true (the repository's widens, unapproved)", g.DeleteBranches)
		}
	})
	t.Run("approved", func(t *testing.T) {
		if err := m.trust.Approve(policyPath, []byte(content)); err != nil {
			t.Fatal(err)
		}
		sb := mustLoad(t, m)
		if len(sb.Ignored) != 0 {
			t.Errorf("ignored = %v; want none", sb.Ignored)
		}
		g := sb.Effective.Git
		if diff := cmp.Diff([]string{"github.com", "evil.example"}, texts(g.Hosts)); diff != "" {
			t.Errorf("hosts (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"github.com/me/proj"}, texts(g.Push.Repositories)); diff != "" {
			t.Errorf("repositories (-want +got):\n%s", diff)
		}
	})
}
