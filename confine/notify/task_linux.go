package notify

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// errNothing: the call changes nothing (openat2 for reading, an open of
// a file that does not exist without O_CREAT, a write to a device).
var errNothing = errors.New("the call changes nothing")

// absentError is a call that changes nothing because path does not
// exist as things stand (ENOENT in the kernel): the file, or a directory
// on the way. Something outside the sandbox may create it before the
// kernel looks again, so Serve asks Supervisor.Protected about path.
type absentError struct{ path string }

func (a *absentError) Error() string { return a.path + " does not exist" }

func (a *absentError) Unwrap() error { return errNothing }

// pathMax is PATH_MAX: the kernel refuses longer path arguments, and
// longer symbolic link contents do not fit in a page either.
const pathMax = 4096

// firstRead is how much of a string is read at first: most paths are
// shorter.
const firstRead = 256

// pageSize bounds the first read of a string: most paths end well
// within the page they start in, and a read that crosses into an
// unmapped page would come back short anyway.
var pageSize = uint64(os.Getpagesize())

// task is the thread that made a call. Its memory is read with
// process_vm_readv, its /proc entries through /proc/TID: every /proc
// entry of a thread is reachable by its TID, although only processes are
// listed. One task value is reused for every call Serve reads, so that
// reading a call allocates little.
type task struct {
	tid  int
	root int // the root directory every watched process shares; -1 until opened
	st   *procStatus
	buf  [pathMax]byte // scratch for strings read from memory and links
}

func newTask() *task { return &task{root: -1} }

// reset makes t the thread tid, keeping the shared root.
func (t *task) reset(tid int) {
	t.tid, t.st = tid, nil
}

// close releases what t holds for good.
func (t *task) close() {
	if t.root >= 0 {
		unix.Close(t.root)
		t.root = -1
	}
}

func (t *task) proc(name string) string { return "/proc/" + strconv.Itoa(t.tid) + "/" + name }

// read reads len(b) bytes of the task's memory at addr, or fewer when
// the range runs into unmapped memory.
func (t *task) read(addr uint64, b []byte) (int, error) {
	if addr == 0 || addr > math.MaxInt64 {
		return 0, unix.EFAULT
	}
	local := []unix.Iovec{{Base: &b[0]}}
	local[0].SetLen(len(b))
	remote := []unix.RemoteIovec{{Base: uintptr(addr), Len: len(b)}}
	for {
		n, err := unix.ProcessVMReadv(t.tid, local, remote, 0)
		if err == unix.EINTR {
			continue
		}
		if n == 0 && err == nil {
			err = unix.EFAULT
		}
		return n, err
	}
}

// readString reads the NUL-terminated string at addr, as the kernel reads
// a path argument. The first read is short and stops at the end of
// addr's page, so a string near the end of a mapping reads correctly and
// a short one costs one small copy.
func (t *task) readString(addr uint64) (string, error) {
	first := min(pageSize-addr%pageSize, firstRead)
	n, err := t.read(addr, t.buf[:first])
	if err != nil {
		return "", fmt.Errorf("reading string at %#x: %w", addr, err)
	}
	if i := bytes.IndexByte(t.buf[:n], 0); i >= 0 {
		return string(t.buf[:i]), nil
	}
	if uint64(n) < first {
		return "", fmt.Errorf("reading string at %#x: %w", addr, unix.EFAULT)
	}
	// The string goes on, maybe into the next page.
	m, err := t.read(addr+first, t.buf[first:])
	if err != nil {
		return "", fmt.Errorf("reading string at %#x: %w", addr, unix.EFAULT)
	}
	n += m
	if i := bytes.IndexByte(t.buf[:n], 0); i >= 0 {
		return string(t.buf[:i]), nil
	}
	if n == pathMax {
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
	return t.readlinkat(unix.AT_FDCWD, t.proc(name))
}

func (t *task) readlinkat(dirfd int, path string) (string, error) {
	n, err := unix.Readlinkat(dirfd, path, t.buf[:])
	if err != nil {
		return "", err
	}
	if n == len(t.buf) {
		return "", unix.ENAMETOOLONG
	}
	return string(t.buf[:n]), nil
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

// op reads what the call c with arguments req asks for: everything but
// the process (Pid, Comm) and a symbolic link's contents (Target), which
// complete adds for the calls the supervisor reports. It returns
// errNothing for a call that changes nothing.
func (t *task) op(c call, req request) (Op, error) {
	op := Op{Tid: t.tid, Syscall: c.name, Operation: c.op}
	if req.op != "" {
		op.Operation = req.op
	}
	if req.socket {
		op.Domain, op.Type = req.domain, req.typ
		return op, nil
	}
	root := ""
	if req.how != 0 {
		flags, resolve, err := t.openHow(req.how, req.howSize)
		if err != nil {
			return Op{}, err
		}
		if flags&openWrites == 0 {
			return Op{}, errNothing
		}
		req.openFlags = flags
		req = req.withOpenFlags()
		if resolve&unix.RESOLVE_NO_SYMLINKS != 0 {
			req.follow = false
		}
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
	stat := req.open || req.existing || req.fresh
	r, err := t.resolveArg(req.path, root, req.follow, stat, req.emptyPath)
	if m := (*missingError)(nil); errors.As(err, &m) {
		return Op{}, &absentError{path: m.path}
	}
	if err != nil {
		return Op{}, err
	}
	op.Path = r.path
	if req.open {
		if op.Operation, err = openOperation(req.openFlags, r.mode); err != nil {
			if r.mode == modeMissing {
				err = &absentError{path: r.path}
			}
			return Op{}, err
		}
	} else if req.existing && r.mode == modeMissing {
		// ENOENT in the kernel.
		return Op{}, &absentError{path: r.path}
	} else if req.fresh && r.mode != modeMissing && r.mode != modeUnknown {
		// EEXIST in the kernel, read-only mount or not.
		return Op{}, errNothing
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
			if f, err := t.resolveArg(req.from, "", req.fromFollow, false, false); err == nil {
				op.From = f.path
			}
		}
	}
	return op, nil
}

// openOperation names what an open with flags does to a file of type
// mode (modeMissing if there is none): "create" or "write", or
// errNothing when it changes nothing.
func openOperation(flags uint64, mode uint32) (string, error) {
	f := uint32(flags)
	switch {
	case f&unix.O_TMPFILE == unix.O_TMPFILE:
		// An unnamed file in a directory; anything else fails.
		if mode != unix.S_IFDIR && mode != modeUnknown {
			return "", errNothing
		}
		return "create", nil
	case mode == modeUnknown:
		// In a directory the supervisor cannot search: the call fails
		// with EACCES in the task too.
		if f&unix.O_CREAT != 0 {
			return "create", nil
		}
		return "write", nil
	case mode == modeMissing:
		if f&unix.O_CREAT == 0 {
			return "", errNothing // ENOENT
		}
		return "create", nil
	case f&(unix.O_CREAT|unix.O_EXCL) == unix.O_CREAT|unix.O_EXCL:
		return "", errNothing // EEXIST
	case mode == unix.S_IFREG:
		return "write", nil
	}
	// A directory fails with EISDIR; writing to a device, a FIFO or a
	// socket changes no file, and read-only mounts allow it.
	return "", errNothing
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

// resolveArg reads and resolves one path argument. With emptyPath
// (AT_EMPTY_PATH, or futimesat's NULL), an empty path names the
// descriptor itself.
func (t *task) resolveArg(a pathArg, root string, follow, stat, emptyPath bool) (resolved, error) {
	var p string
	if a.addr != 0 || !emptyPath {
		var err error
		if p, err = t.readString(a.addr); err != nil {
			return resolved{}, err
		}
	}
	if p == "" {
		if !emptyPath {
			return resolved{}, unix.ENOENT
		}
		self, err := t.fdPath(a.dirfd)
		if err != nil {
			return resolved{}, err
		}
		return resolved{path: self, mode: modeUnknown}, nil
	}
	base := ""
	if !strings.HasPrefix(p, "/") && root == "" {
		var err error
		if base, err = t.fdPath(a.dirfd); err != nil {
			return resolved{}, err
		}
	}
	return t.resolve(root, base, p, follow, stat)
}
