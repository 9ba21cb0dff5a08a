package notify

import "golang.org/x/sys/unix"

// call says how to read one system call the notify filter sends.
type call struct {
	name string // Op.Syscall
	op   string // Op.Operation, unless the request says otherwise
	// decode picks the arguments apart. It reports false if the call
	// changes nothing (open for reading).
	decode func(args [6]uint64) (request, bool)
	// creates reports whether the call may create a directory entry,
	// from its arguments alone: they are registers, which no other
	// thread can change, unlike the memory a path is read from.
	creates func(args [6]uint64) bool
}

// request is what a call's arguments say, before memory is read.
type request struct {
	path pathArg // the entry the call changes or creates
	from pathArg // rename, link: the existing entry; unset otherwise
	// fromFollow and fromEmpty are linkat's AT_SYMLINK_FOLLOW and
	// AT_EMPTY_PATH.
	fromFollow, fromEmpty bool
	// target is the address of a symlink's contents; 0 otherwise.
	target uint64
	// follow: the kernel follows a final symbolic link (open without
	// O_NOFOLLOW, chmod, truncate, ...).
	follow bool
	// existing: the call acts on an entry that must exist (chmod,
	// truncate, open without O_CREAT); a missing one fails with ENOENT
	// in the kernel and changes nothing.
	existing bool
	// fresh: the call makes a new entry, and fails with EEXIST if
	// there is one already (mkdir, mknod, link, symlink).
	fresh bool
	// emptyPath: AT_EMPTY_PATH, with which "" names the descriptor
	// itself.
	emptyPath bool
	// open: an open, whose operation is "create" or "write" depending on
	// whether the file exists; openFlags are its flags.
	open      bool
	openFlags uint64
	// how is openat2's struct open_how, whose flags are read from memory;
	// 0 otherwise.
	how, howSize uint64
	// op, if set, overrides the call's operation (unlinkat with
	// AT_REMOVEDIR is an rmdir).
	op string
	// socket: a socket() call, described by domain and typ; no memory is
	// read.
	socket      bool
	domain, typ int
}

// pathArg is a path argument: a directory descriptor and the address of
// the path string.
type pathArg struct {
	set   bool
	dirfd int32 // unix.AT_FDCWD for the calls without one
	addr  uint64
}

func at(dirfd, addr uint64) pathArg {
	// The kernel takes a descriptor as an int: the low 32 bits.
	return pathArg{set: true, dirfd: int32(dirfd), addr: addr}
}

func cwd(addr uint64) pathArg {
	return pathArg{set: true, dirfd: unix.AT_FDCWD, addr: addr}
}

// openWrites are the flags with which an open may change the file
// system; O_TMPFILE needs O_WRONLY or O_RDWR.
const openWrites = unix.O_WRONLY | unix.O_RDWR | unix.O_CREAT | unix.O_TRUNC

// openRequest decodes open(2)-style flags (an int: the low 32 bits).
func openRequest(p pathArg, flags uint64) (request, bool) {
	f := uint32(flags)
	if f&openWrites == 0 {
		return request{}, false
	}
	return request{path: p, open: true, openFlags: uint64(f)}.withOpenFlags(), true
}

// withOpenFlags sets what the open flags say about the last component.
func (r request) withOpenFlags() request {
	f := r.openFlags
	switch {
	case f&unix.O_TMPFILE == unix.O_TMPFILE:
		// An unnamed file in the directory the path names.
		r.follow, r.existing = true, true
	case f&unix.O_CREAT != 0:
		// With O_EXCL the last component is never followed: an
		// existing entry, link or not, fails with EEXIST.
		r.follow = f&(unix.O_EXCL|unix.O_NOFOLLOW) == 0
	default:
		r.follow, r.existing = f&unix.O_NOFOLLOW == 0, true
	}
	return r
}

func openCreates(flags uint64) bool { return uint32(flags)&unix.O_CREAT != 0 }

func entry(p pathArg) (request, bool) { return request{path: p}, true }

// newEntry is a call that makes a new entry at p (mkdir, mknod, link,
// symlink), which fails with EEXIST if anything is there already, even
// where the mount is read-only.
func newEntry(p pathArg) (request, bool) { return request{path: p, fresh: true}, true }

// onExisting is a call on an entry that must exist, following a final
// symbolic link if follow is set.
func onExisting(p pathArg, follow bool) (request, bool) {
	return request{path: p, follow: follow, existing: true}, true
}

// atFlags is a *at call's flags: AT_SYMLINK_NOFOLLOW and AT_EMPTY_PATH.
func atFlags(p pathArg, flags uint64) (request, bool) {
	f := uint32(flags)
	r, _ := onExisting(p, f&unix.AT_SYMLINK_NOFOLLOW == 0)
	r.emptyPath = f&unix.AT_EMPTY_PATH != 0
	return r, true
}

func always(args [6]uint64) bool { return true }
func never(args [6]uint64) bool  { return false }

// calls are the system calls the notify filter sends, by number on the
// native architecture (calls_at_linux.go and calls_linux_$GOARCH.go fill
// it in).
var calls = map[int32]call{}
