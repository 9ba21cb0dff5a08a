package notify

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Paths are resolved the way the kernel resolves them for the task, in
// the task's own view of the file system: the walk starts at the task's
// root directory, reached through /proc/TID/root, and opens one
// component at a time with O_PATH|O_NOFOLLOW, following symbolic links
// itself. So it sees the task's mounts (bwrap's binds and tmpfs, not the
// host's tree), an absolute symbolic link starts again at the task's
// root, ".." stops there, and the names it keeps are the path the task
// would name the entry by. The supervisor's own root, working directory
// and PID never enter into it:
//
//   - /proc/self and /proc/thread-self, which procfs answers for the
//     reader, are answered for the task (see procSelf);
//   - a procfs magic link (/proc/N/cwd, /proc/N/fd/M, /proc/N/root) reads
//     as the path of what it points to, which the walk then follows.
//
// filepath.EvalSymlinks would do none of this: it resolves in the
// supervisor's view, where "/proc/self/cwd/.git/hooks" is the
// supervisor's own working directory.

// maxLinks is the kernel's limit on symbolic links followed in one
// lookup (MAXSYMLINKS); more is ELOOP.
const maxLinks = 40

// procRootIno is the inode number of every procfs root (PROC_ROOT_INO).
const procRootIno = 1

// walk is a lookup in progress: the directory it has reached, as the
// descriptors of every directory from the root down, and their names.
type walk struct {
	t        *task
	rootPath string // the lookup's root in the task's view: "/" or, for RESOLVE_IN_ROOT, a directory
	rootfd   int
	ownRoot  bool  // rootfd is the walk's to close
	fds      []int // fds[i] is the directory names[:i+1] below the root
	names    []string
	links    int
}

// resolved is a path argument resolved in the task's view.
type resolved struct {
	path string
	// mode is the file type (the S_IFMT bits) of the entry path names,
	// when the lookup was asked to look at it: modeMissing when there is
	// none, modeUnknown when it could not be looked at (a directory the
	// supervisor may not search either).
	mode uint32
}

const (
	modeMissing = 0
	modeUnknown = ^uint32(0)
)

// resolve returns the path, in the task's view, of the directory entry p
// names. A relative p is taken from base, an absolute path in the task's
// view (its working directory or a directory descriptor). Every symbolic
// link in the parent directories is followed; the last component is
// followed only if follow is set, as open(O_CREAT) follows it. With stat,
// or follow, the entry's type is looked up too. root, if not "", is the
// lookup's root (openat2's RESOLVE_IN_ROOT).
//
// Most paths take one openat2 from the task's root (resolveFast); the
// rest, those through /proc or a final symbolic link to follow, take the
// walk below.
func (t *task) resolve(root, base, p string, follow, stat bool) (resolved, error) {
	if root == "" {
		full := p
		if !strings.HasPrefix(p, "/") {
			full = base + "/" + p
		}
		if r, ok := t.resolveFast(full, follow, stat); ok {
			return r, nil
		}
	}
	return t.resolveWalk(root, base, p, follow, stat)
}

// resolveWalk is resolve one component at a time, following symbolic
// links itself.
func (t *task) resolveWalk(root, base, p string, follow, stat bool) (resolved, error) {
	w, err := t.newWalk(root)
	if err != nil {
		return resolved{}, err
	}
	defer w.close()
	if !strings.HasPrefix(p, "/") && base != "" {
		if err := w.follow(base); err != nil {
			return resolved{}, withRest(err, p)
		}
	}
	dir, name := splitLast(p)
	for {
		if err := w.follow(dir); err != nil {
			return resolved{}, withRest(err, name)
		}
		if name == "" || name == "." || name == ".." {
			// Not a new name ("/", "dir/.", "dir/.."): the call will
			// fail with EEXIST or EISDIR; the entry is the directory.
			if err := w.follow(name); err != nil {
				return resolved{}, err
			}
			return resolved{path: w.path(), mode: unix.S_IFDIR}, nil
		}
		if !follow && !stat {
			return resolved{path: w.join(name)}, nil
		}
		target, mode, err := w.readlink(name)
		if err != nil {
			return resolved{}, err
		}
		if !follow || mode != unix.S_IFLNK {
			return resolved{path: w.join(name), mode: mode}, nil
		}
		if w.links++; w.links > maxLinks {
			return resolved{}, unix.ELOOP
		}
		dir, name = splitLast(target)
	}
}

// resolveFast resolves the absolute path p (in the task's view) with the
// kernel's own lookup: openat2 of its directory from the task's root with
// RESOLVE_IN_ROOT, which follows symbolic links as the task would (an
// absolute link starts again at its root, ".." stops there). When the
// directory is reached without any symbolic link, p cleaned is its path;
// otherwise its path is read back from /proc/self/fd. It reports false
// when the walk must do it instead: a lookup that fails, or meets a
// procfs magic link, or ends in /proc through a link (where /proc/self
// would be the supervisor's), a last component to follow that is a
// symbolic link, or a name that is not a new entry ("", ".", "..").
func (t *task) resolveFast(p string, follow, stat bool) (resolved, bool) {
	dir, name := splitLast(p)
	if name == "" || name == "." || name == ".." {
		return resolved{}, false
	}
	rootfd, err := t.rootFD()
	if err != nil {
		return resolved{}, false
	}
	how := unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_SYMLINKS,
	}
	at := ""
	fd, err := unix.Openat2(rootfd, dir, &how)
	if err == nil {
		// No symbolic link on the way: every ".." went to the
		// lexical parent, and stopped at the root.
		at = path.Clean("/" + dir)
	} else if err == unix.ELOOP {
		how.Resolve = unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS
		if fd, err = unix.Openat2(rootfd, dir, &how); err != nil {
			return resolved{}, false
		}
		at, err = t.readlinkat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(fd))
		if err != nil || !strings.HasPrefix(at, "/") || strings.HasSuffix(at, " (deleted)") ||
			at == "/proc" || strings.HasPrefix(at, "/proc/") {
			unix.Close(fd)
			return resolved{}, false
		}
	} else {
		return resolved{}, false
	}
	defer unix.Close(fd)
	r := resolved{path: path.Join(at, name)}
	if !follow && !stat {
		return r, true
	}
	var st unix.Stat_t
	switch err := unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err {
	case nil:
		r.mode = st.Mode & unix.S_IFMT
	case unix.ENOENT:
		r.mode = modeMissing
	case unix.EACCES:
		// The directory cannot be searched (a hidden directory, for a
		// supervisor without privileges): neither can the task, whose
		// call then fails with EACCES.
		r.mode = modeUnknown
	default:
		return resolved{}, false
	}
	if follow && r.mode == unix.S_IFLNK {
		return resolved{}, false
	}
	return r, true
}

// splitLast splits p into the directory part and the last component,
// ignoring trailing slashes ("a/b/" names b, as mkdir takes it).
func splitLast(p string) (dir, name string) {
	trimmed := strings.TrimRight(p, "/")
	if trimmed == "" {
		if p == "" {
			return "", ""
		}
		return "/", ""
	}
	i := strings.LastIndexByte(trimmed, '/')
	return trimmed[:i+1], trimmed[i+1:]
}

func (t *task) rootFD() (int, error) {
	if t.root < 0 {
		// Opening the magic link itself, not O_NOFOLLOW: the
		// descriptor is the task's root directory, in its mount
		// namespace.
		fd, err := unix.Open(t.proc("root"), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return -1, fmt.Errorf("opening root of thread %d: %w", t.tid, err)
		}
		t.root = fd
	}
	return t.root, nil
}

func (t *task) newWalk(root string) (*walk, error) {
	rootfd, err := t.rootFD()
	if err != nil {
		return nil, err
	}
	w := &walk{t: t, rootPath: "/", rootfd: rootfd}
	if root == "" {
		return w, nil
	}
	// RESOLVE_IN_ROOT: reach the directory the ordinary way, then make
	// it the root.
	if err := w.follow(root); err != nil {
		w.close()
		return nil, err
	}
	if len(w.fds) == 0 {
		return w, nil
	}
	inner := &walk{t: t, rootPath: w.path(), rootfd: w.fds[len(w.fds)-1], ownRoot: true}
	w.fds = w.fds[:len(w.fds)-1]
	w.close()
	return inner, nil
}

func (w *walk) close() {
	for _, fd := range w.fds {
		unix.Close(fd)
	}
	w.fds, w.names = nil, nil
	if w.ownRoot {
		unix.Close(w.rootfd)
		w.ownRoot = false
	}
}

// dir is the directory the walk has reached.
func (w *walk) dir() int {
	if len(w.fds) == 0 {
		return w.rootfd
	}
	return w.fds[len(w.fds)-1]
}

func (w *walk) path() string { return path.Join(append([]string{w.rootPath}, w.names...)...) }

func (w *walk) join(name string) string { return path.Join(w.path(), name) }

func (w *walk) toRoot() {
	for _, fd := range w.fds {
		unix.Close(fd)
	}
	w.fds, w.names = w.fds[:0], w.names[:0]
}

// up goes to the parent directory; at the root it stays, as ".." does.
func (w *walk) up() {
	if n := len(w.fds); n > 0 {
		unix.Close(w.fds[n-1])
		w.fds, w.names = w.fds[:n-1], w.names[:n-1]
	}
}

// follow walks p, every component a directory or a symbolic link to one.
func (w *walk) follow(p string) error {
	if strings.HasPrefix(p, "/") {
		w.toRoot()
	}
	parts := strings.Split(p, "/")
	for i, c := range parts {
		switch c {
		case "", ".":
		case "..":
			w.up()
		default:
			if err := w.step(c); err != nil {
				var m *missingError
				switch {
				case errors.As(err, &m):
					// Missing deeper, through a symbolic link: what is
					// left of p comes after the link's path.
					m.path = path.Join(append([]string{m.path}, parts[i+1:]...)...)
				case err == unix.ENOENT:
					err = &missingError{path: path.Join(append([]string{w.join(c)}, parts[i+1:]...)...)}
				}
				return err
			}
		}
	}
	return nil
}

// missingError is a lookup that failed because a directory on the way
// does not exist (ENOENT): path is where the entry would be were the
// missing directories there, the rest of the path taken as written.
type missingError struct{ path string }

func (m *missingError) Error() string { return m.path + ": a directory on the way does not exist" }

func (m *missingError) Unwrap() error { return unix.ENOENT }

// withRest adds rest to the path of a missingError.
func withRest(err error, rest string) error {
	var m *missingError
	if errors.As(err, &m) {
		m.path = path.Join(m.path, rest)
	}
	return err
}

// step enters the directory name, following it if it is a symbolic link.
func (w *walk) step(name string) error {
	fd, err := unix.Openat(w.dir(), name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return err
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		w.fds = append(w.fds, fd)
		w.names = append(w.names, name)
		return nil
	case unix.S_IFLNK:
		target, err := w.linkTarget(fd, name)
		unix.Close(fd)
		if err != nil {
			return err
		}
		if w.links++; w.links > maxLinks {
			return unix.ELOOP
		}
		return w.follow(target)
	}
	unix.Close(fd)
	return unix.ENOTDIR
}

// readlink looks at name in the current directory: its file type
// (modeMissing if it does not exist, modeUnknown if the directory cannot
// be searched) and, if it is a symbolic link, its target.
func (w *walk) readlink(name string) (target string, mode uint32, err error) {
	fd, err := unix.Openat(w.dir(), name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	switch err {
	case nil:
	case unix.ENOENT:
		return "", modeMissing, nil
	case unix.EACCES:
		return "", modeUnknown, nil
	default:
		return "", 0, err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return "", 0, err
	}
	mode = st.Mode & unix.S_IFMT
	if mode != unix.S_IFLNK {
		return "", mode, nil
	}
	target, err = w.linkTarget(fd, name)
	return target, mode, err
}

// linkTarget reads the symbolic link fd (opened O_PATH|O_NOFOLLOW), named
// name in the current directory.
func (w *walk) linkTarget(fd int, name string) (string, error) {
	if (name == "self" || name == "thread-self") && isProcRoot(w.dir()) {
		return w.t.procSelf(w.dir(), name)
	}
	return w.t.readlinkat(fd, "")
}

func isProcRoot(fd int) bool {
	var fs unix.Statfs_t
	var st unix.Stat_t
	return unix.Fstatfs(fd, &fs) == nil && fs.Type == unix.PROC_SUPER_MAGIC &&
		unix.Fstat(fd, &st) == nil && st.Ino == procRootIno
}

// procSelf answers /proc/self ("self") or /proc/thread-self
// ("thread-self") in the procfs whose root is procfd as the kernel
// answers the task. procfs reads these links for the reader, here the
// supervisor, and numbers PIDs in the PID namespace it was mounted for,
// which may be the task's (bwrap --proc) or an outer one. The task's IDs
// in every namespace from the supervisor's down are in its status file;
// the one the procfs numbers by is the one under which the procfs shows
// the task's own IDs from that level down.
func (t *task) procSelf(procfd int, name string) (string, error) {
	st, err := t.status()
	if err != nil {
		return "", err
	}
	for i := len(st.nspid) - 1; i >= 0; i-- {
		dir := fmt.Sprintf("%d/task/%d", st.nstgid[i], st.nspid[i])
		seen, err := readStatus(procfd, dir+"/status")
		if err != nil || !slices.Equal(seen.nspid, st.nspid[i:]) {
			continue
		}
		if name == "self" {
			return fmt.Sprint(st.nstgid[i]), nil
		}
		return dir, nil
	}
	return "", fmt.Errorf("finding thread %d in a procfs: %w", t.tid, unix.ENOENT)
}
