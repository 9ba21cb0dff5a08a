package workspace

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/sandbar-dev/sandbar/workspace/policy"
)

// TrustRecorder is a Truster that can also record an approval.
type TrustRecorder interface {
	Truster
	Approve(path string, content []byte) error
}

// Allowed is what AllowDomain did.
type Allowed struct {
	// Path is the policy file written.
	Path string
	// Trusted is true when the new content was approved, so the entry
	// applies at once. It is false when the file already held widening
	// entries the user has not approved: approving the new content would
	// approve those too, so that is left to `sandbar trust`.
	Trusted bool
}

// AllowDomain adds entry to network.allowedDomains of folder's policy file
// (creating it if need be), keeping the file's comments and layout, and
// records the user's approval of the new content when that approves
// nothing else. The approval is recorded before the file is written, so a
// Follower never sees the new content unapproved.
func AllowDomain(folder, home, entry string, rec TrustRecorder) (Allowed, error) {
	path := filepath.Join(folder, PolicyFileName)
	a := Allowed{Path: path}
	old, err := readPolicy(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return a, err
	}
	updated, err := policy.AddAllowedDomain(path, old, entry)
	if err != nil {
		return a, err
	}
	a.Trusted = true
	if old != nil {
		p, err := policy.Parse(path, old)
		if err != nil {
			return a, err
		}
		if len(Widening(p, folder, home)) > 0 {
			ok, err := rec.Trusted(path, old)
			if err != nil {
				return a, err
			}
			a.Trusted = ok
		}
	}
	if a.Trusted {
		if err := rec.Approve(path, updated); err != nil {
			return a, err
		}
	}
	if err := writeFileAtomic(path, updated); err != nil {
		return a, err
	}
	return a, nil
}

// writeFileAtomic replaces path with content in one rename, so that
// nothing ever reads half a policy.
func writeFileAtomic(path string, content []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	mode := os.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".policy-*.jsonc")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(content); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
