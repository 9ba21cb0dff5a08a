package workspace

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// resolve returns the absolute, symlink-free form of path. Components that
// do not exist yet are kept as written, after the longest existing prefix
// has been resolved; exists says whether the whole path exists.
func resolve(path string) (resolved string, exists bool, err error) {
	return newResolver().resolve(path)
}

// A resolver resolves paths the way resolve does, remembering what each
// lstat and readlink found. Load resolves a hundred or so paths that share
// most of their directories (~/.config/..., <folder>/.git/...): walking
// each one from the root with filepath.EvalSymlinks cost ten times as
// many system calls as there are distinct paths. A resolver is a snapshot
// of the file system; Load uses one for its whole run and never asks it
// about paths Load itself creates. Nothing here is trusted to stay true
// until the command runs: confine opens every mounted path again without
// following symbolic links.
type resolver struct {
	lstats map[string]lstatResult
	links  map[string]string
}

type lstatResult struct {
	mode fs.FileMode
	err  error
}

func newResolver() *resolver {
	return &resolver{lstats: map[string]lstatResult{}, links: map[string]string{}}
}

func (r *resolver) resolve(path string) (resolved string, exists bool, err error) {
	path = filepath.Clean(path)
	if res, err := r.evalSymlinks(path); err == nil {
		return res, true, nil
	} else if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
		return "", false, err
	}
	dir, base := filepath.Split(path)
	dir = filepath.Clean(dir)
	if dir == path { // reached "/"
		return path, false, nil
	}
	res, _, err := r.resolve(dir)
	if err != nil {
		return "", false, err
	}
	return filepath.Join(res, base), false, nil
}

// isDir reports whether path, already resolved, is a directory.
func (r *resolver) isDir(path string) bool {
	l := r.lstat(path)
	return l.err == nil && l.mode.IsDir()
}

func (r *resolver) lstat(path string) lstatResult {
	l, ok := r.lstats[path]
	if !ok {
		fi, err := os.Lstat(path)
		if err == nil {
			l.mode = fi.Mode()
		}
		l.err = err
		r.lstats[path] = l
	}
	return l
}

func (r *resolver) readlink(path string) (string, error) {
	if link, ok := r.links[path]; ok {
		return link, nil
	}
	link, err := os.Readlink(path)
	if err == nil {
		r.links[path] = link
	}
	return link, err
}

// evalSymlinks is filepath.EvalSymlinks for an absolute path, answered
// from the resolver's memory where it can be. It follows the same steps:
// components one by one, "." and ".." taken lexically on the part already
// resolved (which holds no links), a link's target replacing the link.
// A relative path goes to filepath.EvalSymlinks as it is.
func (r *resolver) evalSymlinks(path string) (string, error) {
	if !filepath.IsAbs(path) {
		return filepath.EvalSymlinks(path)
	}
	dest := "/"
	rest := path
	links := 0
	for {
		rest = strings.TrimLeft(rest, "/")
		if rest == "" {
			return dest, nil
		}
		name, more, _ := strings.Cut(rest, "/")
		rest = more
		switch name {
		case ".":
			continue
		case "..":
			dest = filepath.Dir(dest)
			continue
		}
		next := filepath.Join(dest, name)
		l := r.lstat(next)
		if l.err != nil {
			return "", l.err
		}
		if l.mode&fs.ModeSymlink == 0 {
			if !l.mode.IsDir() && more != "" {
				return "", syscall.ENOTDIR
			}
			dest = next
			continue
		}
		links++
		if links > 255 {
			return "", errors.New("EvalSymlinks: too many links")
		}
		link, err := r.readlink(next)
		if err != nil {
			return "", err
		}
		if filepath.IsAbs(link) {
			dest = "/"
		}
		rest = link + "/" + rest
	}
}

// within reports whether path is dir or lies beneath it. Both must be
// clean and absolute.
func within(path, dir string) bool {
	if dir == "/" {
		return true
	}
	return path == dir || strings.HasPrefix(path, dir+"/")
}

func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

// linkInside reports the first folder whose contents the path passes
// through a symbolic link in, or "". A command in the sandbox can replace
// anything inside a writable folder with a link, so a path that is
// resolved through such a link means whatever the last command wanted it
// to mean.
func linkInside(path string, folders []string) string {
	cur := "/"
	for _, part := range strings.Split(strings.TrimPrefix(filepath.Clean(path), "/"), "/") {
		if part == "" {
			continue
		}
		next := filepath.Join(cur, part)
		fi, err := os.Lstat(next)
		if err != nil {
			return ""
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			for _, f := range folders {
				if within(cur, f) {
					return f
				}
			}
			r, err := filepath.EvalSymlinks(next)
			if err != nil {
				return ""
			}
			cur = r
			continue
		}
		cur = next
	}
	return ""
}
