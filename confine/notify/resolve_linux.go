package notify

import (
	"fmt"
	"path"
	"slices"
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

// resolve returns the path, in the task's view, of the directory entry p
// names. A relative p is taken from base, an absolute path in the task's
// view (its working directory or a directory descriptor). Every symbolic
// link in the parent directories is followed; the last component is
// followed only if follow is set, as open(O_CREAT) follows it. root, if
// not "", is the lookup's root (openat2's RESOLVE_IN_ROOT).
func (t *task) resolve(root, base, p string, follow bool) (string, error) {
	w, err := t.newWalk(root)
	if err != nil {
		return "", err
	}
	defer w.close()
	if !strings.HasPrefix(p, "/") && base != "" {
		if err := w.follow(base); err != nil {
			return "", err
		}
	}
	dir, name := splitLast(p)
	for {
		if err := w.follow(dir); err != nil {
			return "", err
		}
		if name == "" || name == "." || name == ".." {
			// Not a new name ("/", "dir/.", "dir/.."): the call will
			// fail with EEXIST or EISDIR; the entry is the directory.
			if err := w.follow(name); err != nil {
				return "", err
			}
			return w.path(), nil
		}
		if !follow {
			return w.join(name), nil
		}
		target, isLink, err := w.readlink(name)
		if err != nil {
			return "", err
		}
		if !isLink {
			return w.join(name), nil
		}
		if w.links++; w.links > maxLinks {
			return "", unix.ELOOP
		}
		dir, name = splitLast(target)
	}
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
	for c := range strings.SplitSeq(p, "/") {
		switch c {
		case "", ".":
		case "..":
			w.up()
		default:
			if err := w.step(c); err != nil {
				return err
			}
		}
	}
	return nil
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

// readlink reads name in the current directory if it is a symbolic link;
// isLink is false if it is anything else or does not exist.
func (w *walk) readlink(name string) (target string, isLink bool, err error) {
	fd, err := unix.Openat(w.dir(), name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err == unix.ENOENT {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return "", false, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFLNK {
		return "", false, nil
	}
	target, err = w.linkTarget(fd, name)
	return target, err == nil, err
}

// linkTarget reads the symbolic link fd (opened O_PATH|O_NOFOLLOW), named
// name in the current directory.
func (w *walk) linkTarget(fd int, name string) (string, error) {
	if (name == "self" || name == "thread-self") && isProcRoot(w.dir()) {
		return w.t.procSelf(w.dir(), name)
	}
	return readlinkat(fd, "")
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
