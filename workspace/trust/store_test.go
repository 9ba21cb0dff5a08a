package trust

import (
	"os"
	"path/filepath"
	"testing"
)

func TestApproveIsForExactContent(t *testing.T) {
	s := Open(filepath.Join(t.TempDir(), "state", "trust.json"))
	const p = "/repo/.sandbar/policy.jsonc"
	content := []byte(`{"network": {"allowedDomains": ["example.com"]}}`)

	if ok, err := s.Trusted(p, content); err != nil || ok {
		t.Fatalf("Trusted before approval = %v, %v; want false, nil", ok, err)
	}
	if err := s.Approve(p, content); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		path    string
		content []byte
		want    bool
	}{
		{"same path and content", p, content, true},
		{"comment added", p, append([]byte("// hi\n"), content...), false},
		{"other path", "/other/.sandbar/policy.jsonc", content, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Trusted(tt.path, tt.content)
			if err != nil || got != tt.want {
				t.Errorf("Trusted = %v, %v; want %v, nil", got, err, tt.want)
			}
		})
	}
}

func TestStoreFileIsPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "sandbar", "trust.json")
	s := Open(path)
	if err := s.Approve("/r/.sandbar/policy.jsonc", []byte("{}")); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("trust store mode = %v, want 0600", fi.Mode().Perm())
	}
	di, _ := os.Stat(filepath.Dir(path))
	if di.Mode().Perm() != 0o700 {
		t.Errorf("trust store dir mode = %v, want 0700", di.Mode().Perm())
	}
}

func TestDamagedStoreTrustsNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "trust.json")
	os.WriteFile(path, []byte("{not json"), 0o600)
	s := Open(path)
	ok, err := s.Trusted("/r/.sandbar/policy.jsonc", []byte("{}"))
	if ok || err == nil {
		t.Fatalf("Trusted on damaged store = %v, %v; want false and an error", ok, err)
	}
}

func TestRevoke(t *testing.T) {
	s := Open(filepath.Join(t.TempDir(), "trust.json"))
	const p = "/r/.sandbar/policy.jsonc"
	s.Approve(p, []byte("{}"))
	if err := s.Revoke(p); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.Trusted(p, []byte("{}")); ok {
		t.Error("still trusted after Revoke")
	}
}

func TestDefaultPath(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	got, err := DefaultPath(getenv, "/home/u")
	if err != nil || got != "/home/u/.local/state/sandbar/trust.json" {
		t.Errorf("DefaultPath = %q, %v", got, err)
	}
	env["XDG_STATE_HOME"] = "/state"
	got, _ = DefaultPath(getenv, "/home/u")
	if got != "/state/sandbar/trust.json" {
		t.Errorf("DefaultPath with XDG_STATE_HOME = %q", got)
	}
	env["XDG_STATE_HOME"] = "relative"
	got, _ = DefaultPath(getenv, "/home/u")
	if got != "/home/u/.local/state/sandbar/trust.json" {
		t.Errorf("DefaultPath ignores a relative XDG_STATE_HOME: got %q", got)
	}
}
