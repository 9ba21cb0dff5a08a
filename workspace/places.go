package workspace

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sandbar-dev/sandbar/workspace/trust"
)

// Places are where sandbar keeps the user's files, per the XDG base
// directory specification.
type Places struct {
	Home string
	// UserPolicy is $XDG_CONFIG_HOME/sandbar/policy.jsonc.
	UserPolicy string
	// ConfigDir and StateDir are sandbar's own directories; they stay
	// read-only in every sandbox.
	ConfigDir string
	StateDir  string
	// Trust is the trust store, Quarantine where Audit moves what a
	// command should not have created.
	Trust      string
	Quarantine string
	// Runs holds the journals of running commands.
	Runs string
	// CacheDir holds what sandbar can always rebuild (scans of
	// workspaces).
	CacheDir string
	// RuntimeDir is where a run makes the private directory of its
	// proxies' sockets: $XDG_RUNTIME_DIR when it is a directory (private
	// to the user, emptied at logout), else the temporary directory.
	RuntimeDir string
	// HostSockets is the directory of the sockets on which editor hosts
	// (`sandbar serve`) take questions from `sandbar run` in the editor's
	// terminals. It is hidden in every sandbox.
	HostSockets string
}

// UserPlaces works out Places from the environment.
func UserPlaces(getenv func(string) string) (Places, error) {
	home := getenv("HOME")
	if home == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return Places{}, errors.New("finding your home directory: $HOME is not set")
		}
		home = h
	}
	xdg := func(name, fallback string) string {
		if d := getenv(name); filepath.IsAbs(d) {
			return d
		}
		return filepath.Join(home, fallback)
	}
	config := filepath.Join(xdg("XDG_CONFIG_HOME", ".config"), "sandbar")
	state := filepath.Join(xdg("XDG_STATE_HOME", ".local/state"), "sandbar")
	return Places{
		Home:       home,
		UserPolicy: filepath.Join(config, "policy.jsonc"),
		ConfigDir:  config,
		StateDir:   state,
		Trust:      filepath.Join(state, "trust.json"),
		Quarantine: filepath.Join(state, "quarantine"),
		Runs:       filepath.Join(state, "runs"),
		CacheDir:   filepath.Join(xdg("XDG_CACHE_HOME", ".cache"), "sandbar"),
		RuntimeDir: runtimeDir(getenv),
		// Named for the user: without $XDG_RUNTIME_DIR it is in the
		// shared temporary directory.
		HostSockets: filepath.Join(runtimeDir(getenv), fmt.Sprintf("sandbar-hosts-%d", os.Getuid())),
	}, nil
}

func runtimeDir(getenv func(string) string) string {
	if d := getenv("XDG_RUNTIME_DIR"); filepath.IsAbs(d) {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			return d
		}
	}
	return os.TempDir()
}

// DefaultFolder is the workspace folder for a command started in dir: the
// top of the git repository dir is in, else dir itself.
func DefaultFolder(dir string) string {
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Lstat(filepath.Join(d, ".git")); err == nil {
			return d
		}
		if d == filepath.Dir(d) {
			return dir
		}
	}
}

// Options are the inputs of Load for folders and the environment a
// command would inherit, with the user's policy, trust store and scan
// cache in these places, and sandbar's own directories kept read-only.
func (p Places) Options(folders, environ []string) Options {
	return Options{
		Folders:    folders,
		UserPolicy: p.UserPolicy,
		Home:       p.Home,
		Trust:      trust.Open(p.Trust),
		Environ:    environ,
		OwnPaths:   []string{p.ConfigDir, p.StateDir, p.CacheDir},
		// The hosts' sockets, and the key of the CA that signs for git
		// hosts (proxy/ca keeps it in git-ca/private).
		HiddenPaths: []string{p.HostSockets, filepath.Join(p.StateDir, "git-ca", "private")},
		ScanCache:   ScanCache{Dir: filepath.Join(p.CacheDir, "scan")},
	}
}
