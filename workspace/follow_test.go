package workspace_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sandbar-dev/sandbar/workspace"
	"github.com/sandbar-dev/sandbar/workspace/policy"
)

func domains(ps *workspace.Policies) []string {
	var out []string
	for _, v := range ps.Effective.Network.AllowedDomains {
		out = append(out, v.Text)
	}
	return out
}

// follow starts a Follower on m and returns a channel of its reloads.
func follow(t *testing.T, m *machine) (*workspace.Follower, <-chan error) {
	t.Helper()
	opts := m.options()
	ps, err := workspace.LoadPolicies(opts)
	if err != nil {
		t.Fatal(err)
	}
	reloads := make(chan error, 16)
	f, err := workspace.Follow(opts, ps, func(_ *workspace.Policies, err error) { reloads <- err })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, reloads
}

func waitReload(t *testing.T, reloads <-chan error) error {
	t.Helper()
	select {
	case err := <-reloads:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("no reload within 10s of a policy change")
		return nil
	}
}

func TestFollowerSeesASavedPolicy(t *testing.T) {
	m := newMachine(t)
	user := filepath.Join(m.home, ".config", "sandbar", "policy.jsonc")
	m.write(t, user, `{"version": 1}`)
	f, reloads := follow(t, m)
	if got := domains(f.Current()); len(got) != 0 {
		t.Fatalf("allowed domains before the edit: %v", got)
	}

	// An editor's atomic save: write elsewhere, rename over.
	tmp := user + ".tmp"
	m.write(t, tmp, `{"version": 1, "network": {"allowedDomains": ["example.com"]}}`)
	if err := os.Rename(tmp, user); err != nil {
		t.Fatal(err)
	}
	if err := waitReload(t, reloads); err != nil {
		t.Fatalf("reload: %v", err)
	}
	if got := domains(f.Current()); len(got) != 1 || got[0] != "example.com" {
		t.Errorf("allowed domains after the edit: %v; want [example.com]", got)
	}
}

func TestFollowerKeepsTheLastGoodPolicy(t *testing.T) {
	m := newMachine(t)
	user := filepath.Join(m.home, ".config", "sandbar", "policy.jsonc")
	m.write(t, user, `{"version": 1, "network": {"allowedDomains": ["example.com"]}}`)
	f, reloads := follow(t, m)

	m.write(t, user, `{"version": 1, "network": {"allowedDomain": ["evil.example"]}}`)
	err := waitReload(t, reloads)
	if _, ok := err.(policy.ErrorList); !ok {
		t.Fatalf("reload of a broken policy: %v; want a policy.ErrorList naming the file", err)
	}
	if got := domains(f.Current()); len(got) != 1 || got[0] != "example.com" {
		t.Errorf("allowed domains after a broken edit: %v; want the last good [example.com]", got)
	}
}

func TestFollowerSeesANewWorkspacePolicy(t *testing.T) {
	m := newMachine(t)
	f, reloads := follow(t, m)
	// .sandbar/ does not exist when following starts.
	m.write(t, filepath.Join(m.ws, ".sandbar", "policy.jsonc"), `{"version": 1, "network": {"deniedDomains": ["evil.example"]}}`)
	for {
		if err := waitReload(t, reloads); err != nil {
			t.Fatalf("reload: %v", err)
		}
		if len(f.Current().Effective.Network.DeniedDomains) > 0 {
			break
		}
	}
	if got := f.Current().Effective.Network.DeniedDomains[0].Text; got != "evil.example" {
		t.Errorf("denied domain %q; want evil.example", got)
	}
}

// The user's policy directory may not exist when following starts.
func TestFollowerSeesANewUserPolicyDirectory(t *testing.T) {
	m := newMachine(t)
	f, reloads := follow(t, m)
	m.write(t, filepath.Join(m.home, ".config", "sandbar", "policy.jsonc"), `{"version": 1, "network": {"allowedDomains": ["example.com"]}}`)
	for {
		if err := waitReload(t, reloads); err != nil {
			t.Fatalf("reload: %v", err)
		}
		if len(domains(f.Current())) > 0 {
			break
		}
	}
}
