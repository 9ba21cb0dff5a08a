package notify

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// errNotCreating: the call, openat2 without O_CREAT, creates nothing.
var errNotCreating = errors.New("the call creates nothing")

// pathMax is PATH_MAX: the kernel refuses longer path arguments, and
// longer symbolic link contents do not fit in a page either.
const pathMax = 4096

// task is the thread that made a call, read through /proc/TID. Every
// /proc entry of a thread is reachable by its TID, although only
// processes are listed.
type task struct {
	tid  int
	mem  int // /proc/TID/mem
	root int // /proc/TID/root, opened when first needed; -1 before
	st   *procStatus
}

func openTask(tid int) (*task, error) {
	mem, err := unix.Open(fmt.Sprintf("/proc/%d/mem", tid), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("opening memory of thread %d: %w", tid, err)
	}
	return &task{tid: tid, mem: mem, root: -1}, nil
}

func (t *task) close() {
	unix.Close(t.mem)
	if t.root >= 0 {
		unix.Close(t.root)
	}
}

func (t *task) proc(name string) string { return fmt.Sprintf("/proc/%d/%s", t.tid, name) }

// read reads len(b) bytes of the task's memory at addr.
func (t *task) read(addr uint64, b []byte) (int, error) {
	if addr == 0 || addr > math.MaxInt64 {
		return 0, unix.EFAULT
	}
	for {
		n, err := unix.Pread(t.mem, b, int64(addr))
		if err == unix.EINTR {
			continue
		}
		return n, err
	}
}

// readString reads the NUL-terminated string at addr, as the kernel reads
// a path argument. A read that crosses into unmapped memory comes back
// short, so a string near the end of a mapping reads correctly.
func (t *task) readString(addr uint64) (string, error) {
	b := make([]byte, pathMax)
	n, err := t.read(addr, b)
	if err != nil {
		return "", fmt.Errorf("reading string at %#x: %w", addr, err)
	}
	if i := bytes.IndexByte(b[:n], 0); i >= 0 {
		return string(b[:i]), nil
	}
	if n == len(b) {
		return "", unix.ENAMETOOLONG
	}
	return "", fmt.Errorf("reading string at %#x: %w", addr, unix.EFAULT)
}

// openHow reads openat2's struct open_how {u64 flags, mode, resolve}.
func (t *task) openHow(addr, size uint64) (flags, resolve uint64, err error) {
	// The kernel refuses a smaller struct (EINVAL); a larger one has
	// fields this code does not know, which must be zero.
	if size < unix.SizeofOpenHow {
		return 0, 0, unix.EINVAL
	}
	var b [unix.SizeofOpenHow]byte
	n, err := t.read(addr, b[:])
	if err != nil {
		return 0, 0, err
	}
	if n < len(b) {
		return 0, 0, unix.EFAULT
	}
	return binary.NativeEndian.Uint64(b[0:]), binary.NativeEndian.Uint64(b[16:]), nil
}

// link reads a /proc/TID magic link (cwd, fd/N): the path of what it
// points to, in the task's mount namespace.
func (t *task) link(name string) (string, error) {
	return readlinkat(unix.AT_FDCWD, t.proc(name))
}

func readlinkat(dirfd int, path string) (string, error) {
	b := make([]byte, pathMax)
	n, err := unix.Readlinkat(dirfd, path, b)
	if err != nil {
		return "", err
	}
	if n == len(b) {
		return "", unix.ENAMETOOLONG
	}
	return string(b[:n]), nil
}

func (t *task) comm() string {
	b, err := readFile(unix.AT_FDCWD, t.proc("comm"))
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(string(b), "\n")
}

// procStatus is what sandbar needs from /proc/TID/status.
type procStatus struct {
	tgid int
	// nstgid and nspid are the process's and the thread's IDs in each PID
	// namespace from the reader's (the procfs instance's) down to the
	// task's own.
	nstgid, nspid []int
}

func (t *task) status() (*procStatus, error) {
	if t.st != nil {
		return t.st, nil
	}
	st, err := readStatus(unix.AT_FDCWD, t.proc("status"))
	if err != nil {
		return nil, err
	}
	t.st = st
	return st, nil
}

func readStatus(dirfd int, path string) (*procStatus, error) {
	b, err := readFile(dirfd, path)
	if err != nil {
		return nil, err
	}
	var st procStatus
	for line := range strings.Lines(string(b)) {
		key, value, _ := strings.Cut(strings.TrimSuffix(line, "\n"), ":")
		switch key {
		case "Tgid":
			st.tgid, err = strconv.Atoi(strings.TrimSpace(value))
		case "NStgid":
			st.nstgid, err = atois(value)
		case "NSpid":
			st.nspid, err = atois(value)
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", path, err)
		}
	}
	if st.tgid == 0 || len(st.nspid) == 0 || len(st.nspid) != len(st.nstgid) {
		return nil, fmt.Errorf("reading %s: no Tgid, NStgid or NSpid", path)
	}
	return &st, nil
}

func atois(s string) ([]int, error) {
	var ns []int
	for _, f := range strings.Fields(s) {
		n, err := strconv.Atoi(f)
		if err != nil {
			return nil, err
		}
		ns = append(ns, n)
	}
	return ns, nil
}

// readFile reads a small file (a /proc entry) relative to dirfd.
func readFile(dirfd int, path string) ([]byte, error) {
	fd, err := unix.Openat(dirfd, path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	var out []byte
	b := make([]byte, 4096)
	for {
		n, err := unix.Read(fd, b)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return out, nil
		}
		out = append(out, b[:n]...)
	}
}

// op reads what the call c with arguments req asks for.
func (t *task) op(c call, req request) (Op, error) {
	follow := req.follow
	root := ""
	if req.how != 0 {
		flags, resolve, err := t.openHow(req.how, req.howSize)
		if err != nil {
			return Op{}, err
		}
		if flags&unix.O_CREAT == 0 {
			return Op{}, errNotCreating
		}
		follow = flags&(unix.O_EXCL|unix.O_NOFOLLOW) == 0 && resolve&unix.RESOLVE_NO_SYMLINKS == 0
		if resolve&unix.RESOLVE_IN_ROOT != 0 {
			// The directory descriptor is the root for this lookup:
			// absolute paths and symbolic links start there, and ".."
			// stops there.
			dir, err := t.fdPath(req.path.dirfd)
			if err != nil {
				return Op{}, err
			}
			root = dir
		}
	}
	st, err := t.status()
	if err != nil {
		return Op{}, err
	}
	op := Op{Pid: st.tgid, Tid: t.tid, Comm: t.comm(), Syscall: c.name, Operation: c.op}
	if op.Path, err = t.resolveArg(req.path, root, follow); err != nil {
		return Op{}, err
	}
	if req.from.set {
		// From is information: a From that cannot be resolved (the
		// call will most likely fail) does not stop the report.
		if req.fromEmpty {
			if s, err := t.readString(req.from.addr); err == nil && s == "" {
				op.From, _ = t.fdPath(req.from.dirfd)
			}
		}
		if op.From == "" {
			op.From, _ = t.resolveArg(req.from, "", req.fromFollow)
		}
	}
	if req.target != 0 {
		if op.Target, err = t.readString(req.target); err != nil {
			return Op{}, err
		}
	}
	return op, nil
}

// fdPath is the path of what the task's descriptor dirfd (its working
// directory, for AT_FDCWD) names, in the task's view.
func (t *task) fdPath(dirfd int32) (string, error) {
	var p string
	var err error
	if dirfd == unix.AT_FDCWD {
		p, err = t.link("cwd")
	} else if dirfd >= 0 {
		p, err = t.link("fd/" + strconv.Itoa(int(dirfd)))
	} else {
		return "", unix.EBADF
	}
	if err != nil {
		return "", err
	}
	// Not a path: a pipe, socket or anonymous inode ("pipe:[1234]"),
	// which the call would refuse as a directory (ENOTDIR).
	if !strings.HasPrefix(p, "/") {
		return "", unix.ENOTDIR
	}
	// A directory that was removed cannot get new entries (ENOENT).
	if strings.HasSuffix(p, " (deleted)") {
		return "", unix.ENOENT
	}
	return p, nil
}

// resolveArg reads and resolves one path argument.
func (t *task) resolveArg(a pathArg, root string, follow bool) (string, error) {
	p, err := t.readString(a.addr)
	if err != nil {
		return "", err
	}
	if p == "" {
		return "", unix.ENOENT
	}
	base := ""
	if !strings.HasPrefix(p, "/") && root == "" {
		if base, err = t.fdPath(a.dirfd); err != nil {
			return "", err
		}
	}
	return t.resolve(root, base, p, follow)
}
