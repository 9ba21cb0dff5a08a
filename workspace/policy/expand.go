package policy

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// ExpandPath turns a path as written in a policy into an absolute, cleaned
// path: "~" and "~/x" are taken from home, and a relative path from baseDir,
// the directory that holds the policy file, so that a policy means the same
// thing whichever directory sandbar is started from.
//
// It is pure string work: it neither resolves symlinks nor checks that the
// path exists, because a policy may name a cache that is created later.
// home and baseDir must be absolute when the path needs them.
func ExpandPath(raw, home, baseDir string) (string, error) {
	switch {
	case raw == "":
		return "", errors.New("expanding path: path is empty")
	case raw == "~" || strings.HasPrefix(raw, "~/"):
		if home == "" {
			return "", fmt.Errorf("expanding %q: home directory is not known", raw)
		}
		if !filepath.IsAbs(home) {
			return "", fmt.Errorf("expanding %q: home directory %q is not absolute", raw, home)
		}
		return filepath.Join(home, raw[1:]), nil
	case strings.HasPrefix(raw, "~"):
		name, _, _ := strings.Cut(raw, "/")
		return "", fmt.Errorf(`expanding %q: %q is not supported; write "~/" for your home or an absolute path`, raw, name)
	case filepath.IsAbs(raw):
		return filepath.Clean(raw), nil
	case baseDir == "":
		return "", fmt.Errorf("expanding %q: relative path needs the policy's directory, which is not known", raw)
	case !filepath.IsAbs(baseDir):
		return "", fmt.Errorf("expanding %q: policy directory %q is not absolute", raw, baseDir)
	}
	return filepath.Join(baseDir, raw), nil
}
