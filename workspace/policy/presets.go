package policy

import (
	"maps"
	"runtime"
	"slices"
)

// cache is one path of a preset and the system it is on: a GOOS, or ""
// for every system. A path is listed only for the systems whose tools
// write there, because sandbar creates a preset's missing caches
// (workspace's EnsureCaches): a macOS path in a Linux list would litter
// Linux homes with a ~/Library.
type cache struct {
	path string
	goos string
}

// presets name the package-manager caches each toolchain writes to. Builds
// inside the sandbox fail, or download everything again, when these are not
// writable, and listing them by hand in every project is error-prone. The
// paths are where the tools put their caches when no variable moves them:
// Linux's follow the XDG base directories (~/.cache, ~/.local/share);
// on macOS most tools use ~/Library/Caches, but not all (npm, uv, bun).
var presets = map[string][]cache{
	"go": {
		{"~/.cache/go-build", "linux"},
		{"~/Library/Caches/go-build", "darwin"}, // os.UserCacheDir
		{"~/go/pkg/mod", ""},
	},
	"node": {
		{"~/.npm", ""},
		{"~/.cache/yarn", "linux"},
		{"~/Library/Caches/Yarn", "darwin"},
		{"~/.yarn/berry/cache", ""},
		{"~/.local/share/pnpm/store", "linux"},
		{"~/Library/pnpm/store", "darwin"},
		{"~/.cache/pnpm", "linux"},
		{"~/Library/Caches/pnpm", "darwin"},
		{"~/.bun/install/cache", ""},
	},
	"python": {
		{"~/.cache/pip", "linux"},
		{"~/Library/Caches/pip", "darwin"},
		{"~/.cache/uv", ""}, // uv follows XDG on macOS too
		{"~/.cache/pypoetry", "linux"},
		{"~/Library/Caches/pypoetry", "darwin"},
	},
	"rust": {
		{"~/.cargo/registry", ""},
		{"~/.cargo/git", ""},
	},
	"java": {
		{"~/.m2/repository", ""},
		{"~/.gradle/caches", ""},
		{"~/.gradle/wrapper", ""},
	},
}

// PresetNames returns the names a policy may list in "presets", sorted.
// They are the same on every system.
func PresetNames() []string {
	return slices.Sorted(maps.Keys(presets))
}

// PresetPaths returns the cache paths of the named preset on this system
// (runtime.GOOS); see PresetPathsFor.
func PresetPaths(name string) []string {
	return PresetPathsFor(name, runtime.GOOS)
}

// PresetPathsFor returns the cache paths of the named preset on the system
// goos (a GOOS value: "linux", "darwin"), written with "~/" like policy
// paths so they go through ExpandPath. It returns nil for an unknown name;
// Parse has already rejected those. The slice is the caller's.
func PresetPathsFor(name, goos string) []string {
	var paths []string
	for _, c := range presets[name] {
		if c.goos == "" || c.goos == goos {
			paths = append(paths, c.path)
		}
	}
	return paths
}
