package workspace_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sandbar-dev/sandbar/workspace"
)

func TestAllowDomain(t *testing.T) {
	tests := []struct {
		name string
		// old is the workspace policy before, "" for none.
		old         string
		oldApproved bool
		wantTrusted bool
	}{
		{"no policy file", "", false, true},
		{"approved file", "// ours\n{\"version\": 1, \"network\": {\"allowedDomains\": [\"a.example\"]}}\n", true, true},
		{"file that only narrows", "{\"version\": 1, \"network\": {\"deniedDomains\": [\"evil.example\"]}}\n", false, true},
		// Approving the new content would approve a.example too, which
		// the user never saw.
		{"unapproved widening file", "{\"version\": 1, \"network\": {\"allowedDomains\": [\"a.example\"]}}\n", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMachine(t)
			path := filepath.Join(m.ws, workspace.PolicyFileName)
			if tt.old != "" {
				m.write(t, path, tt.old)
				if tt.oldApproved {
					if err := m.trust.Approve(path, []byte(tt.old)); err != nil {
						t.Fatal(err)
					}
				}
			}
			got, err := workspace.AllowDomain(m.ws, m.home, "new.example", m.trust)
			if err != nil {
				t.Fatalf("AllowDomain: %v", err)
			}
			if got.Trusted != tt.wantTrusted || got.Path != path {
				t.Errorf("AllowDomain = %+v; want trusted %v at %s", got, tt.wantTrusted, path)
			}
			b, _ := os.ReadFile(path)
			if tt.old != "" && strings.HasPrefix(tt.old, "//") && !strings.HasPrefix(string(b), "// ours") {
				t.Errorf("the file lost its comment:\n%s", b)
			}
			sb := mustLoad(t, m)
			applies := slices.Contains(domains(&sb.Policies), "new.example")
			if applies != tt.wantTrusted {
				t.Errorf("new.example applies: %v; want %v\nfile:\n%s", applies, tt.wantTrusted, b)
			}
		})
	}
}
