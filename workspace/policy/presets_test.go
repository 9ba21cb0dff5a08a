package policy

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPresetNames(t *testing.T) {
	want := []string{"go", "java", "node", "python", "rust"}
	if diff := cmp.Diff(want, PresetNames()); diff != "" {
		t.Errorf("PresetNames mismatch (-want +got):\n%s", diff)
	}
}

func TestPresetPaths(t *testing.T) {
	tests := []struct {
		name string
		want []string
	}{
		{name: "go", want: []string{"~/.cache/go-build", "~/go/pkg/mod"}},
		{name: "node", want: []string{"~/.npm", "~/.cache/yarn", "~/.yarn/berry/cache", "~/.local/share/pnpm/store", "~/.cache/pnpm", "~/.bun/install/cache"}},
		{name: "python", want: []string{"~/.cache/pip", "~/.cache/uv", "~/.cache/pypoetry"}},
		{name: "rust", want: []string{"~/.cargo/registry", "~/.cargo/git"}},
		{name: "java", want: []string{"~/.m2/repository", "~/.gradle/caches", "~/.gradle/wrapper"}},
		{name: "unknown", want: nil},
		{name: "Go", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, PresetPaths(tt.name)); diff != "" {
				t.Errorf("PresetPaths(%q) mismatch (-want +got):\n%s", tt.name, diff)
			}
		})
	}
}

// Preset paths are fed to ExpandPath like policy paths, so they must pass
// the same checks a policy entry would.
func TestPresetPathsAreValidPolicyPaths(t *testing.T) {
	for _, name := range PresetNames() {
		for _, p := range PresetPaths(name) {
			if msg := checkPath(p); msg != "" {
				t.Errorf("preset %q path %q: %s", name, p, msg)
			}
			if _, err := ExpandPath(p, "/home/u", ""); err != nil {
				t.Errorf("preset %q path %q: %v", name, p, err)
			}
		}
	}
}

func TestPresetPathsIsACopy(t *testing.T) {
	PresetPaths("go")[0] = "changed"
	if got := PresetPaths("go")[0]; got != "~/.cache/go-build" {
		t.Errorf("modifying PresetPaths's result changed the preset: %q", got)
	}
}
