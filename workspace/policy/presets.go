package policy

import (
	"maps"
	"slices"
)

// presets name the package-manager caches each toolchain writes to. Builds
// inside the sandbox fail, or download everything again, when these are not
// writable, and listing them by hand in every project is error-prone.
var presets = map[string][]string{
	"go": {
		"~/.cache/go-build",
		"~/go/pkg/mod",
	},
	"node": {
		"~/.npm",
		"~/.cache/yarn",
		"~/.yarn/berry/cache",
		"~/.local/share/pnpm/store",
		"~/.cache/pnpm",
		"~/.bun/install/cache",
	},
	"python": {
		"~/.cache/pip",
		"~/.cache/uv",
		"~/.cache/pypoetry",
	},
	"rust": {
		"~/.cargo/registry",
		"~/.cargo/git",
	},
	"java": {
		"~/.m2/repository",
		"~/.gradle/caches",
		"~/.gradle/wrapper",
	},
}

// PresetNames returns the names a policy may list in "presets", sorted.
func PresetNames() []string {
	return slices.Sorted(maps.Keys(presets))
}

// PresetPaths returns the cache paths of the named preset, written with "~/"
// like policy paths so they go through ExpandPath. It returns nil for an
// unknown name; Parse has already rejected those. The slice is a copy.
func PresetPaths(name string) []string {
	return slices.Clone(presets[name])
}
