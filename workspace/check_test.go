package workspace_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sandbar-dev/sandbar/workspace"
	"github.com/sandbar-dev/sandbar/workspace/policy"
)

func checker(t *testing.T, m *machine) (*workspace.Checker, *[]error) {
	t.Helper()
	opts := m.options()
	ps, err := workspace.LoadPolicies(opts)
	if err != nil {
		t.Fatal(err)
	}
	var reloads []error
	return workspace.CheckPolicies(opts, ps, func(_ *workspace.Policies, err error) { reloads = append(reloads, err) }), &reloads
}

func TestCheckerSeesEveryKindOfSave(t *testing.T) {
	m := newMachine(t)
	user := filepath.Join(m.home, ".config", "sandbar", "policy.jsonc")
	c, reloads := checker(t, m)
	if got := domains(c.Current()); len(got) != 0 || len(*reloads) != 0 {
		t.Fatalf("before any change: domains %v, reloads %v", got, *reloads)
	}
	steps := []struct {
		name string
		do   func()
		want []string
	}{
		{"created", func() { m.write(t, user, `{"version": 1, "network": {"allowedDomains": ["a.example"]}}`) }, []string{"a.example"}},
		{"replaced by rename", func() {
			m.write(t, user+".new", `{"version": 1, "network": {"allowedDomains": ["b.example"]}}`)
			os.Rename(user+".new", user)
		}, []string{"b.example"}},
		{"rewritten in place, same size", func() { m.write(t, user, `{"version": 1, "network": {"allowedDomains": ["c.example"]}}`) }, []string{"c.example"}},
		{"removed", func() { os.Remove(user) }, nil},
	}
	for _, s := range steps {
		s.do()
		if got := domains(c.Current()); !equal(got, s.want) {
			t.Errorf("%s: domains %v; want %v", s.name, got, s.want)
		}
	}
	// Nothing changed: nothing is read again.
	n := len(*reloads)
	c.Current()
	if len(*reloads) != n {
		t.Errorf("a look with no change reloaded")
	}
}

func TestCheckerKeepsTheLastGoodPolicy(t *testing.T) {
	m := newMachine(t)
	user := filepath.Join(m.home, ".config", "sandbar", "policy.jsonc")
	m.write(t, user, `{"version": 1, "network": {"allowedDomains": ["a.example"]}}`)
	c, reloads := checker(t, m)
	m.write(t, user, `{"version": 1, "network": {"allowedDomain": ["evil.example"]}}`)
	if got := domains(c.Current()); !equal(got, []string{"a.example"}) {
		t.Errorf("after a broken edit: %v; want the last good [a.example]", got)
	}
	c.Current()
	if len(*reloads) != 1 {
		t.Fatalf("reloads %v; want the broken edit reported once", *reloads)
	}
	if _, ok := (*reloads)[0].(policy.ErrorList); !ok {
		t.Errorf("reported %v; want a policy.ErrorList", (*reloads)[0])
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
