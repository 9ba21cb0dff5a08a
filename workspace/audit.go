package workspace

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sandbar-dev/sandbar/confine"
)

// Audit runs after a command ended. It finds what the mount layer could
// not stop: protected paths that did not exist when the sandbox was built
// and exist now, and git repositories the command created with hooks or a
// config that would run code. It moves each to quarantine (a directory
// outside every workspace; nothing is deleted) and reports it.
//
// It cannot tell who made a protected path, the command or the host
// while the command ran: it moves both. A run known to have created
// nothing (confine.Result's CreatedNothing) needs no audit.
func (sb *Sandbox) Audit(quarantine string) ([]confine.Violation, error) {
	q := quarantiner{dir: filepath.Join(quarantine, time.Now().UTC().Format("20060102T150405.000000000Z"))}
	var out []confine.Violation
	var errs []error
	for _, w := range sb.Watch {
		if _, err := os.Lstat(w.Path); err != nil {
			continue
		}
		if sb.wroteItself(w.Path) {
			continue
		}
		v := confine.Violation{Kind: "file-write", Operation: "create", Path: w.Path, Rule: w.Rule, Count: 1}
		where, err := q.move(w.Path)
		if err != nil {
			errs = append(errs, err)
			v.Undone = "could not be undone: " + err.Error()
		} else {
			v.Undone = "moved to " + where
		}
		out = append(out, v)
	}

	// Repositories created during the run: rescan, reading only the
	// directories whose ctime changed.
	known := map[string]bool{}
	for _, r := range sb.Repos {
		known[r] = true
	}
	spec := confine.Spec{Paths: sb.Paths}
	p := protector{home: sb.home, writable: func(path string) bool {
		return spec.AccessOf(path).Access == confine.ReadWrite
	}}
	for _, old := range sb.scans {
		sc := old.update(old.Root, p.writable, sb.now())
		sb.cache.save(sc)
		p.repos = append(p.repos, sc.repos()...)
	}
	for _, repo := range p.repos {
		if known[repo] {
			continue
		}
		gitDir := filepath.Join(repo, ".git")
		if fi, err := os.Lstat(gitDir); err != nil || !fi.IsDir() {
			continue
		}
		hooks, _ := os.ReadDir(filepath.Join(gitDir, "hooks"))
		for _, h := range hooks {
			if strings.HasSuffix(h.Name(), ".sample") {
				continue
			}
			path := filepath.Join(gitDir, "hooks", h.Name())
			v := confine.Violation{Kind: "file-write", Operation: "create", Path: path, Rule: "protected: .git/hooks (repository created in the sandbox)", Count: 1}
			if where, err := q.move(path); err != nil {
				errs = append(errs, err)
				v.Undone = "could not be undone: " + err.Error()
			} else {
				v.Undone = "moved to " + where
			}
			out = append(out, v)
		}
		config := filepath.Join(gitDir, "config")
		if b, err := os.ReadFile(config); err == nil {
			if bad := unsafeGitKeys(b); len(bad) > 0 {
				v := confine.Violation{Kind: "file-write", Operation: "write", Path: config,
					Rule: "protected: .git/config (repository created in the sandbox sets " + strings.Join(bad, ", ") + ")", Count: 1}
				if where, err := q.move(config); err != nil {
					errs = append(errs, err)
					v.Undone = "could not be undone: " + err.Error()
				} else {
					v.Undone = "moved to " + where
				}
				out = append(out, v)
			}
		}
	}
	return out, errors.Join(errs...)
}

// wroteItself says whether path, a protected path created during the run,
// is a folder's policy file (or its .sandbar directory holding only that
// file) whose content the user approved: sandbar writes it while a command
// runs when the user answers a prompt with "for this workspace", and
// records the approval of exactly what it writes. A command cannot create
// the file (its creation is refused as it happens); were it to get one
// there somehow, content the user approved for that path is no widening
// they did not agree to.
func (sb *Sandbox) wroteItself(path string) bool {
	if sb.trust == nil {
		return false
	}
	for _, f := range sb.Folders {
		policyFile := filepath.Join(f, PolicyFileName)
		dir := filepath.Dir(policyFile)
		switch path {
		case dir:
			entries, err := os.ReadDir(dir)
			if err != nil || len(entries) != 1 || entries[0].Name() != filepath.Base(policyFile) {
				return false
			}
		case policyFile:
		default:
			continue
		}
		fi, err := os.Lstat(policyFile)
		if err != nil || !fi.Mode().IsRegular() {
			return false
		}
		b, err := os.ReadFile(policyFile)
		if err != nil {
			return false
		}
		ok, err := sb.trust.Trusted(policyFile, b)
		return err == nil && ok
	}
	return false
}

// safeGitKeys are the config keys `git init` and `git clone` write, and
// nothing else: none of them names a command or a path git would run.
var safeGitKeys = map[string]bool{
	"core.repositoryformatversion": true, "core.filemode": true, "core.bare": true,
	"core.logallrefupdates": true, "core.ignorecase": true, "core.precomposeunicode": true,
	"core.symlinks": true, "init.defaultbranch": true, "extensions.objectformat": true,
	"user.name": true, "user.email": true,
}

func unsafeGitKeys(b []byte) []string {
	var bad []string
	for _, kv := range gitConfigValues(b) {
		k := kv.key
		section, _, _ := strings.Cut(k, ".")
		name := k[strings.LastIndexByte(k, '.')+1:]
		switch {
		case safeGitKeys[k]:
		case section == "remote" && (name == "url" || name == "fetch" || name == "pushurl"):
		case section == "branch" && (name == "remote" || name == "merge"):
		default:
			bad = append(bad, k)
		}
	}
	return bad
}

type quarantiner struct{ dir string }

// move takes path out of the workspace. It prefers the quarantine
// directory; where that is on another file system it renames in place
// with a suffix no tool reads.
func (q quarantiner) move(path string) (string, error) {
	dest := filepath.Join(q.dir, path)
	if err := os.MkdirAll(filepath.Dir(dest), 0o700); err == nil {
		if err := os.Rename(path, dest); err == nil {
			return dest, nil
		}
	}
	dest = fmt.Sprintf("%s.sandbar-quarantine-%d", path, time.Now().UnixNano())
	if err := os.Rename(path, dest); err != nil {
		return "", fmt.Errorf("quarantining %s: %w", path, err)
	}
	return dest, nil
}
