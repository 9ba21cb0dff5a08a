package seccomp

import (
	"errors"
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// oCreat is O_CREAT, the same on every Arch here (asm-generic 0100).
const oCreat = 0o100

// retNotify hands the system call to the supervisor holding the filter's
// listener, which answers for the kernel (SECCOMP_RET_USER_NOTIF).
const retNotify = unix.SECCOMP_RET_USER_NOTIF

// notifyCall is one system call the notify filter sends to the
// supervisor.
type notifyCall struct {
	syscall string
	// flagsArg is the index of the open flags argument when the call is
	// sent only if they contain O_CREAT; -1 when it is always sent.
	flagsArg int
	only     Arch // if set, the system call exists only on this Arch
}

// notifyCalls are the system calls that create a directory entry, in
// filter order. open and openat come first: they are the most frequent
// calls here and the only ones whose arguments decide, so the kernel runs
// the program for them on every call. The others are answered from the
// kernel's per-syscall cache when the filter allows them, which it never
// does, so their order does not matter.
var notifyCalls = []notifyCall{
	{syscall: "openat", flagsArg: 2},
	{syscall: "open", flagsArg: 1, only: AMD64},
	// open_how, with the flags, is in memory: always sent.
	{syscall: "openat2", flagsArg: -1},
	{syscall: "creat", flagsArg: -1, only: AMD64},
	{syscall: "mkdirat", flagsArg: -1},
	{syscall: "mkdir", flagsArg: -1, only: AMD64},
	{syscall: "mknodat", flagsArg: -1},
	{syscall: "mknod", flagsArg: -1, only: AMD64},
	{syscall: "renameat2", flagsArg: -1},
	{syscall: "renameat", flagsArg: -1},
	{syscall: "rename", flagsArg: -1, only: AMD64},
	{syscall: "linkat", flagsArg: -1},
	{syscall: "link", flagsArg: -1, only: AMD64},
	{syscall: "symlinkat", flagsArg: -1},
	{syscall: "symlink", flagsArg: -1, only: AMD64},
}

// BuildNotify returns the filter that sends every system call creating a
// directory entry to a supervisor (SECCOMP_RET_USER_NOTIF) and allows
// every other call. The supervisor (package confine/notify) reads the
// path, resolves it and answers for the kernel: refuse, or carry on.
//
// The calls sent are creat, mkdir, mkdirat, mknod, mknodat, rename,
// renameat, renameat2, link, linkat, symlink, symlinkat and openat2
// (whose flags are in memory, out of a filter's reach), and open and
// openat only when their flags contain O_CREAT, so that opening a file
// for reading never leaves the kernel. Calls through a foreign ABI, and
// x32 calls on amd64, are allowed: this filter is stacked on Build's,
// which kills them.
//
// The filter refuses one call itself, with EPERM: seccomp(2) with
// SECCOMP_FILTER_FLAG_NEW_LISTENER. When filters stacked on one another
// all send a call to a listener, the most recent one's listener gets it,
// and its answer "continue" lets the call through without asking the
// older ones; a command that installed a filter with a listener of its
// own could answer for sandbar's supervisor. Other filters, such as a
// nested sandbox's, stay allowed: any refusal they make only adds to
// this one.
func BuildNotify(arch Arch) ([]unix.SockFilter, error) {
	b, err := newProgram(arch, "seccomp notify filter")
	if err != nil {
		return nil, err
	}
	a, info, nr := &b.assembler, b.info, b.nr
	a.stmt(opLoad, offArch)
	a.jump(opJEQ, info.auditArch, "", "allow")
	a.stmt(opLoad, offNR)
	if info.x32 {
		a.jump(opJGE, x32Bit, "allow", "")
	}
	for _, c := range notifyCalls {
		if c.only != 0 && c.only != arch {
			continue
		}
		target := "notify"
		if c.flagsArg >= 0 {
			target = "flags-" + c.syscall
		}
		a.jump(opJEQ, nr(c.syscall), target, "")
	}
	a.jump(opJEQ, nr("seccomp"), "seccomp-flags", "")
	a.stmt(opRet, retAllow)

	// open(path, flags, mode) and openat(dirfd, path, flags, mode): the
	// kernel takes flags as an int, so the low 32 bits decide.
	for _, c := range notifyCalls {
		if c.flagsArg < 0 || (c.only != 0 && c.only != arch) {
			continue
		}
		a.label("flags-" + c.syscall)
		a.stmt(opLoad, offArgLow(c.flagsArg))
		a.jump(opJSET, oCreat, "notify", "allow")
	}

	// seccomp(op, flags, args): flags is an unsigned int.
	a.label("seccomp-flags")
	a.stmt(opLoad, offArgLow(1))
	a.jump(opJSET, unix.SECCOMP_FILTER_FLAG_NEW_LISTENER, "eperm", "allow")

	a.label("allow")
	a.stmt(opRet, retAllow)
	a.label("notify")
	a.stmt(opRet, retNotify)
	a.label("eperm")
	a.stmt(opRet, retEPERM)
	return b.finish()
}

// InstallListener installs prog on the calling thread only and returns
// the filter's listener: a descriptor, close-on-exec, from which a
// supervisor receives the notifications prog asks for
// (SECCOMP_RET_USER_NOTIF) and answers them (see package confine/notify).
//
// Only the calling thread is filtered (there is no TSYNC: a listener
// cannot be shared by filters installed on several threads), so:
//
//   - InstallListener locks the calling goroutine to its thread with
//     runtime.LockOSThread and never unlocks it; the caller must not
//     undo that lock either. When the goroutine ends, the Go runtime ends
//     the thread with it, so no other goroutine ever runs on a filtered
//     thread.
//   - The command to confine must be started from that goroutine, for
//     example with syscall.ForkExec, so that it inherits the filter; the
//     Go runtime starts its own new threads from an unfiltered template
//     thread, and other goroutines run unfiltered.
//   - A filter installed with TSYNC (Install) must come first: TSYNC
//     fails once one thread has a filter the others lack.
//
// no_new_privs must be set before a process without CAP_SYS_ADMIN may
// install a filter; bwrap sets it for the whole sandbox, and
// InstallListener sets it again on the calling thread, which is harmless.
//
// Where the kernel supports it (Linux 5.19), the filter is installed with
// SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: once the supervisor has taken
// a notification, only a fatal signal interrupts the waiting call. Without
// it, every signal (a profiler's timer, a Go runtime's preemption) makes
// the call start over and be notified again.
//
// If every copy of the listener is closed, each call the filter sends
// fails with ENOSYS: a confined process whose supervisor is gone cannot
// create what the supervisor would have checked. The process that
// installs the filter should pass the listener on (notify.SendFD) and
// close its own copy, so that the confined command cannot reach it.
func InstallListener(prog []unix.SockFilter) (int, error) {
	if len(prog) == 0 || len(prog) > maxInsns {
		return -1, fmt.Errorf("installing seccomp listener filter: program has %d instructions, want 1 to %d", len(prog), maxInsns)
	}
	// Deliberately never unlocked: see above.
	runtime.LockOSThread()

	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return -1, fmt.Errorf("installing seccomp listener filter: setting no_new_privs: %w", err)
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	install := func(flags uintptr) (int, error) {
		r, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, flags, uintptr(unsafe.Pointer(&fprog)))
		runtime.KeepAlive(prog)
		if errno != 0 {
			return -1, errno
		}
		return int(r), nil
	}
	fd, err := install(unix.SECCOMP_FILTER_FLAG_NEW_LISTENER | unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV)
	if errors.Is(err, unix.EINVAL) {
		// Before Linux 5.19 the kernel rejects the unknown flag (flags
		// are checked before the program).
		fd, err = install(unix.SECCOMP_FILTER_FLAG_NEW_LISTENER)
	}
	if err != nil {
		return -1, fmt.Errorf("installing seccomp listener filter: %w", err)
	}
	// The kernel opens the listener close-on-exec already; say so here
	// too, so the command never inherits it whatever the kernel does.
	unix.CloseOnExec(fd)
	return fd, nil
}
