package trust

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// Store is the trust file. The zero value is not usable; use Open.
type Store struct {
	path string
	now  func() time.Time
}

// Open returns the store kept at path. Nothing is read until asked.
func Open(path string) *Store { return &Store{path: path, now: time.Now} }

// Path is where the store lives.
func (s *Store) Path() string { return s.path }

// DefaultPath is $XDG_STATE_HOME/sandbar/trust.json, falling back to
// ~/.local/state as the XDG base directory specification says.
func DefaultPath(getenv func(string) string, home string) (string, error) {
	if d := getenv("XDG_STATE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "sandbar", "trust.json"), nil
	}
	if home == "" {
		return "", errors.New("locating the trust store: neither $XDG_STATE_HOME nor a home directory is set")
	}
	return filepath.Join(home, ".local", "state", "sandbar", "trust.json"), nil
}

// Hash names one exact content of a policy file.
func Hash(content []byte) string {
	sum := sha256.Sum256(content)
	return "sha256:" + hex.EncodeToString(sum[:])
}

type approval struct {
	Hash       string    `json:"hash"`
	ApprovedAt time.Time `json:"approvedAt"`
}

type file struct {
	Version  int                 `json:"version"`
	Approved map[string]approval `json:"approved"`
}

func (s *Store) load() (file, error) {
	f := file{Version: 1, Approved: map[string]approval{}}
	b, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return f, fmt.Errorf("reading trust store %s: %w", s.path, err)
	}
	if err := json.Unmarshal(b, &f); err != nil {
		// Fail closed: a damaged store approves nothing, and says so.
		return file{Version: 1, Approved: map[string]approval{}},
			fmt.Errorf("reading trust store %s: %w (fix or delete the file; every repository policy is untrusted until then)", s.path, err)
	}
	if f.Approved == nil {
		f.Approved = map[string]approval{}
	}
	return f, nil
}

// Trusted reports whether the user approved exactly this content for the
// policy file at policyPath (an absolute path).
func (s *Store) Trusted(policyPath string, content []byte) (bool, error) {
	f, err := s.load()
	if err != nil {
		return false, err
	}
	a, ok := f.Approved[policyPath]
	return ok && a.Hash == Hash(content), nil
}

// Approve records that the user approved this content for policyPath,
// replacing any earlier approval of that path.
func (s *Store) Approve(policyPath string, content []byte) error {
	if !filepath.IsAbs(policyPath) {
		return fmt.Errorf("approving %s: path is not absolute", policyPath)
	}
	f, err := s.load()
	if err != nil {
		return err
	}
	f.Approved[policyPath] = approval{Hash: Hash(content), ApprovedAt: s.now().UTC()}
	return s.save(f)
}

// Revoke forgets any approval of policyPath.
func (s *Store) Revoke(policyPath string) error {
	f, err := s.load()
	if err != nil {
		return err
	}
	delete(f.Approved, policyPath)
	return s.save(f)
}

// Approved lists the approved policy paths, sorted.
func (s *Store) Approved() ([]string, error) {
	f, err := s.load()
	if err != nil {
		return nil, err
	}
	var out []string
	for p := range f.Approved {
		out = append(out, p)
	}
	sort.Strings(out)
	return out, nil
}

func (s *Store) save(f file) error {
	dir := filepath.Dir(s.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("writing trust store: %w", err)
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("writing trust store: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".trust-*.json")
	if err != nil {
		return fmt.Errorf("writing trust store: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("writing trust store %s: %w", tmp.Name(), err)
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("writing trust store: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing trust store: %w", err)
	}
	// Rename is atomic: a reader sees the old store or the new one.
	if err := os.Rename(tmp.Name(), s.path); err != nil {
		return fmt.Errorf("writing trust store %s: %w", s.path, err)
	}
	return nil
}
