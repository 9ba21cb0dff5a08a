package notify

import "golang.org/x/sys/unix"

// call says how to read one system call the notify filter sends.
type call struct {
	name string // Op.Syscall
	op   string // Op.Operation
	// decode picks the arguments apart. It reports false if the call
	// creates nothing (open without O_CREAT).
	decode func(args [6]uint64) (request, bool)
}

// request is what a call's arguments say, before memory is read.
type request struct {
	path pathArg // the new entry
	from pathArg // rename, link: the existing entry; unset otherwise
	// fromFollow and fromEmpty are linkat's AT_SYMLINK_FOLLOW and
	// AT_EMPTY_PATH.
	fromFollow, fromEmpty bool
	// target is the address of a symlink's contents; 0 otherwise.
	target uint64
	// follow: the kernel follows a final symbolic link and creates its
	// target (open with O_CREAT without O_EXCL or O_NOFOLLOW).
	follow bool
	// how is openat2's struct open_how, whose flags are read from memory;
	// 0 otherwise.
	how, howSize uint64
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

// openRequest decodes open(2)-style flags (an int: the low 32 bits).
func openRequest(p pathArg, flags uint64) (request, bool) {
	f := uint32(flags)
	if f&unix.O_CREAT == 0 {
		return request{}, false
	}
	return request{path: p, follow: f&(unix.O_EXCL|unix.O_NOFOLLOW) == 0}, true
}

func entry(p pathArg) (request, bool) { return request{path: p}, true }

// calls are the system calls the notify filter sends, by number on the
// native architecture (calls_at_linux.go and calls_linux_$GOARCH.go fill
// it in).
var calls = map[int32]call{}
