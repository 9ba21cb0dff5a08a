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
	path = filepath.Clean(path)
	if r, err := filepath.EvalSymlinks(path); err == nil {
		return r, true, nil
	} else if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
		return "", false, err
	}
	dir, base := filepath.Split(path)
	dir = filepath.Clean(dir)
	if dir == path { // reached "/"
		return path, false, nil
	}
	r, _, err := resolve(dir)
	if err != nil {
		return "", false, err
	}
	return filepath.Join(r, base), false, nil
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
