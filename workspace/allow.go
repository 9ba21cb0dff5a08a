package workspace

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sandbar-dev/sandbar/workspace/policy"
)

// TrustRecorder is a Truster that can also record an approval.
type TrustRecorder interface {
	Truster
	Approve(path string, content []byte) error
}

// Allowed is what AllowEntry did.
type Allowed struct {
	// Path is the policy file written.
	Path string
	// Trusted is true when the new content was approved, so the entry
	// applies at once. It is false when the file already held widening
	// entries the user has not approved: approving the new content would
	// approve those too, so that is left to `sandbar trust`.
	Trusted bool
}

// AllowDomain is AllowEntry for network.allowedDomains.
func AllowDomain(folder, home, entry string, rec TrustRecorder) (Allowed, error) {
	return AllowEntry(folder, home, "network.allowedDomains", entry, rec)
}

// AllowEntry adds entry to the list key ("filesystem.allowRead",
// "filesystem.allowWrite", "network.allowedDomains" or "presets"; see
// policy.AddEntry) of folder's policy file, creating it if need be and
// keeping the file's comments and layout, and records the user's approval
// of the new content when that approves nothing else. The approval is
// recorded before the file is written, so a Follower never sees the new
// content unapproved. An entry already in the list writes and records
// nothing.
func AllowEntry(folder, home, key, entry string, rec TrustRecorder) (Allowed, error) {
	path := filepath.Join(folder, PolicyFileName)
	a := Allowed{Path: path}
	old, err := readPolicy(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return a, err
	}
	updated, err := policy.AddEntry(path, old, key, entry)
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
		if bytes.Equal(updated, old) {
			return a, nil
		}
	}
	if a.Trusted {
		if err := rec.Approve(path, updated); err != nil {
			return a, err
		}
	}
	if err := writeFileAtomic(path, updated, 0o755); err != nil {
		return a, err
	}
	return a, nil
}

// newUserPolicy starts a user policy file that does not exist. Its lists
// are added by policy.AddEntry like those of any other file.
const newUserPolicy = `{
  "version": 1,
}
`

// newUserPolicyHeader says what the file is, above newUserPolicy, unless
// the user's own comments already head the file.
const newUserPolicyHeader = `// Your sandbar policy: it applies to every command sandbar runs for you,
// in every workspace, and needs no approval. sandbar adds an entry here
// when you answer "Always allow". The format is described in sandbar's
// docs/policy-schema.md.
`

// AllowUserEntry adds entry to the list key (as for AllowEntry) of the
// user's policy file at path, keeping the file's comments and layout. A
// missing file is created, with its directory (mode 0700, as for the rest
// of the user's configuration). Nothing is recorded: Load trusts the
// user's own file as it is. An entry already in the list writes nothing.
// It returns the file's path, as AllowEntry's Allowed.Path, so a caller
// reports both alike.
//
// A relative path is refused for the filesystem lists: in this file it
// would mean a path under path's directory, not under a workspace folder,
// so the entry belongs in the folder's policy (AllowEntry) instead.
func AllowUserEntry(path, key, entry string) (string, error) {
	if strings.HasPrefix(key, "filesystem.") && entry != "" && !filepath.IsAbs(entry) && !strings.HasPrefix(entry, "~") {
		return path, fmt.Errorf("adding %q to %s in %s: a relative path here would be relative to %s, not to a workspace folder; write an absolute path or one starting with \"~/\", or add it to the folder's %s",
			entry, key, path, filepath.Dir(path), PolicyFileName)
	}
	old, err := readPolicy(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return path, err
	}
	src := old
	switch {
	case len(bytes.TrimSpace(old)) == 0:
		src = []byte(newUserPolicyHeader + newUserPolicy)
	case isBlank(path, old):
		// Comments only: keep them, and start the object after them
		// rather than let AddEntry add the header of a folder's file.
		src = slices.Concat(old, []byte("\n"), []byte(newUserPolicy))
	}
	updated, err := policy.AddEntry(path, src, key, entry)
	if err != nil {
		return path, err
	}
	if old != nil && bytes.Equal(updated, old) {
		return path, nil
	}
	return path, writeFileAtomic(path, updated, 0o700)
}

// isBlank reports whether src holds only whitespace and comments, which
// Parse reads as an empty policy: exactly then is src followed by an
// object a valid file too.
func isBlank(file string, src []byte) bool {
	_, err := policy.Parse(file, slices.Concat(src, []byte("\n{}")))
	return err == nil
}

// writeFileAtomic replaces path with content in one rename, so that
// nothing ever reads half a policy. A missing directory is created with
// dirMode; the file keeps its mode, or gets 0644 if it is new.
func writeFileAtomic(path string, content []byte, dirMode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), dirMode); err != nil {
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
