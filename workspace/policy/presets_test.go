package policy

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPresetNames(t *testing.T) {
	want := []string{"go", "java", "node", "python", "rust"}
	if diff := cmp.Diff(want, PresetNames()); diff != "" {
		t.Errorf("PresetNames mismatch (-want +got):\n%s", diff)
	}
}

func TestPresetPathsFor(t *testing.T) {
	tests := []struct {
		name   string
		goos   string
		preset string
		want   []string
	}{
		{name: "go on linux", goos: "linux", preset: "go", want: []string{"~/.cache/go-build", "~/go/pkg/mod"}},
		{name: "node on linux", goos: "linux", preset: "node", want: []string{"~/.npm", "~/.cache/yarn", "~/.yarn/berry/cache", "~/.local/share/pnpm/store", "~/.cache/pnpm", "~/.bun/install/cache"}},
		{name: "python on linux", goos: "linux", preset: "python", want: []string{"~/.cache/pip", "~/.cache/uv", "~/.cache/pypoetry"}},
		{name: "rust on linux", goos: "linux", preset: "rust", want: []string{"~/.cargo/registry", "~/.cargo/git"}},
		{name: "java on linux", goos: "linux", preset: "java", want: []string{"~/.m2/repository", "~/.gradle/caches", "~/.gradle/wrapper"}},

		{name: "go on macOS", goos: "darwin", preset: "go", want: []string{"~/Library/Caches/go-build", "~/go/pkg/mod"}},
		{name: "node on macOS", goos: "darwin", preset: "node", want: []string{"~/.npm", "~/Library/Caches/Yarn", "~/.yarn/berry/cache", "~/Library/pnpm/store", "~/Library/Caches/pnpm", "~/.bun/install/cache"}},
		{name: "python on macOS", goos: "darwin", preset: "python", want: []string{"~/Library/Caches/pip", "~/.cache/uv", "~/Library/Caches/pypoetry"}},
		{name: "rust on macOS", goos: "darwin", preset: "rust", want: []string{"~/.cargo/registry", "~/.cargo/git"}},
		{name: "java on macOS", goos: "darwin", preset: "java", want: []string{"~/.m2/repository", "~/.gradle/caches", "~/.gradle/wrapper"}},

		// A system sandbar has no backend for gets the paths that are the
		// same everywhere, none of Linux's or macOS's own.
		{name: "go elsewhere", goos: "freebsd", preset: "go", want: []string{"~/go/pkg/mod"}},

		{name: "unknown preset", goos: "linux", preset: "unknown", want: nil},
		{name: "names are case-sensitive", goos: "darwin", preset: "Go", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, PresetPathsFor(tt.preset, tt.goos)); diff != "" {
				t.Errorf("PresetPathsFor(%q, %q) mismatch (-want +got):\n%s", tt.preset, tt.goos, diff)
			}
		})
	}
}

// EnsureCaches creates the missing paths of a preset, so a macOS path in
// Linux's list would make a ~/Library in every Linux home.
func TestPresetPathsOnLinuxAreNotMacOSs(t *testing.T) {
	for _, name := range PresetNames() {
		for _, p := range PresetPathsFor(name, "linux") {
			if strings.HasPrefix(p, "~/Library/") {
				t.Errorf("preset %q on linux has macOS's %q", name, p)
			}
		}
	}
}

// Preset paths are fed to ExpandPath like policy paths, so they must pass
// the same checks a policy entry would, on every system.
func TestPresetPathsAreValidPolicyPaths(t *testing.T) {
	for _, goos := range []string{"linux", "darwin"} {
		for _, name := range PresetNames() {
			for _, p := range PresetPathsFor(name, goos) {
				if msg := checkPath(p); msg != "" {
					t.Errorf("preset %q on %s, path %q: %s", name, goos, p, msg)
				}
				if _, err := ExpandPath(p, "/home/u", ""); err != nil {
					t.Errorf("preset %q on %s, path %q: %v", name, goos, p, err)
				}
			}
		}
	}
}

func TestPresetPathsIsACopy(t *testing.T) {
	want := PresetPaths("go")[0]
	PresetPaths("go")[0] = "changed"
	if got := PresetPaths("go")[0]; got != want {
		t.Errorf("modifying PresetPaths's result changed the preset: %q, want %q", got, want)
	}
}
