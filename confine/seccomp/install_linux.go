package seccomp

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Marshal returns prog as the bytes of a struct sock_filter array in
// native byte order: {u16 code; u8 jt; u8 jf; u32 k} per instruction, no
// header. That is what `bwrap --seccomp FD` reads from FD (to end of file)
// and installs just before it executes the command.
func Marshal(prog []unix.SockFilter) []byte {
	b := make([]byte, 0, len(prog)*8)
	for _, in := range prog {
		b = binary.NativeEndian.AppendUint16(b, in.Code)
		b = append(b, in.Jt, in.Jf)
		b = binary.NativeEndian.AppendUint32(b, in.K)
	}
	return b
}

// Install confines the calling process with prog: it sets no_new_privs,
// which an unprivileged process needs before it may install a filter and
// which keeps setuid binaries from gaining privileges past it, then
// installs prog with SECCOMP_FILTER_FLAG_TSYNC so that every thread of the
// process, not only the caller's, is filtered. It cannot be undone, and
// children inherit the filter.
//
// no_new_privs is a property of a thread and seccomp checks it on the
// calling thread, so both steps must run on the same OS thread; Install
// locks the calling goroutine to its thread for their duration (TSYNC then
// copies both the filter and no_new_privs to every other thread). It fails
// if another thread already has a filter that is not an ancestor of this
// one. sandbar itself hands the filter to bwrap instead; Install is for
// tests and for code that confines the process it runs in.
func Install(prog []unix.SockFilter) error {
	if len(prog) == 0 || len(prog) > maxInsns {
		return fmt.Errorf("installing seccomp filter: program has %d instructions, want 1 to %d", len(prog), maxInsns)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("installing seccomp filter: setting no_new_privs: %w", err)
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	r, _, errno := unix.Syscall(unix.SYS_SECCOMP,
		unix.SECCOMP_SET_MODE_FILTER,
		unix.SECCOMP_FILTER_FLAG_TSYNC,
		uintptr(unsafe.Pointer(&fprog)))
	runtime.KeepAlive(prog)
	if errno != 0 {
		return fmt.Errorf("installing seccomp filter: %w", errno)
	}
	if r != 0 {
		// With TSYNC, a positive return is the ID of a thread that could
		// not be synchronized.
		return fmt.Errorf("installing seccomp filter: thread %d could not be synchronized", r)
	}
	return nil
}

// Unmarshal is the inverse of Marshal: it reads a program from the bytes
// of a struct sock_filter array in native byte order.
func Unmarshal(b []byte) ([]unix.SockFilter, error) {
	if len(b) == 0 || len(b)%8 != 0 || len(b)/8 > maxInsns {
		return nil, fmt.Errorf("reading seccomp filter: %d bytes is not a program of 1 to %d instructions", len(b), maxInsns)
	}
	prog := make([]unix.SockFilter, 0, len(b)/8)
	for ; len(b) > 0; b = b[8:] {
		prog = append(prog, unix.SockFilter{
			Code: binary.NativeEndian.Uint16(b[0:2]),
			Jt:   b[2],
			Jf:   b[3],
			K:    binary.NativeEndian.Uint32(b[4:8]),
		})
	}
	return prog, nil
}

// InstallThread confines only the calling OS thread with prog, and
// whatever that thread starts from now on; the process's other threads
// stay as they are. It locks the calling goroutine to its thread for good:
// Go never schedules another goroutine there, and starts new threads from
// a clean template thread rather than from a locked one, so the filter
// stays with the one goroutine that installed it.
//
// sandbar's init uses it to put a stricter filter on the thread that
// forks the command than on its own relay threads, which still need what
// the command is refused (Unix sockets to reach the proxy).
func InstallThread(prog []unix.SockFilter) error {
	if len(prog) == 0 || len(prog) > maxInsns {
		return fmt.Errorf("installing seccomp filter: program has %d instructions, want 1 to %d", len(prog), maxInsns)
	}
	runtime.LockOSThread()
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("installing seccomp filter: setting no_new_privs: %w", err)
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	_, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(&fprog)))
	runtime.KeepAlive(prog)
	if errno != 0 {
		return fmt.Errorf("installing seccomp filter: %w", errno)
	}
	return nil
}
