package seccomp

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Open flags, the same on every Arch here (asm-generic): O_WRONLY,
// O_RDWR, O_CREAT and O_TRUNC. Opening with any of them may change the
// file system; opening with none only reads.
const (
	oWronly = 0o1
	oRdwr   = 0o2
	oCreat  = 0o100
	oTrunc  = 0o1000

	oWrite = oWronly | oRdwr | oCreat | oTrunc
)

// Socket arguments, the same on every Arch here.
const (
	afInet     = 2
	afInet6    = 10
	afPacket   = 17
	sockRaw    = 3
	sockPacket = 10
	// sockTypeMask keeps the type of socket(2)'s type argument, without
	// SOCK_NONBLOCK and SOCK_CLOEXEC.
	sockTypeMask = 0xf
)

// retNotify hands the system call to the supervisor holding the filter's
// listener, which answers for the kernel (SECCOMP_RET_USER_NOTIF).
const retNotify = unix.SECCOMP_RET_USER_NOTIF

// opAnd is A &= k.
const opAnd = unix.BPF_ALU | unix.BPF_AND | unix.BPF_K

// NotifyOptions say which system calls BuildNotify's filter sends to the
// supervisor. The zero value sends the calls that create a directory
// entry, and nothing else.
type NotifyOptions struct {
	// Writes also sends every other call that changes the file system
	// through a path: opening an existing file for writing or truncation,
	// truncate, unlink, rmdir, chmod, chown, utimes and the extended
	// attribute calls. Calls on a descriptor alone (write, ftruncate,
	// fchmod, fchown, futimens, fsetxattr) are not sent: they act on a
	// file the process already opened.
	Writes bool
	// UnixSockets sends socket(AF_UNIX, ...). The supervisor decides:
	// sandbar answers EPERM. Stacked filters combine by precedence, and
	// ERRNO ranks above USER_NOTIF, so this only reaches the supervisor
	// when no other filter refuses the call: the main filter must then be
	// built with AllowUnixSockets.
	UnixSockets bool
	// RawSockets sends socket() for raw and packet sockets: AF_INET and
	// AF_INET6 with SOCK_RAW or SOCK_PACKET, and AF_PACKET. The sandbox
	// holds no CAP_NET_RAW, so the kernel refuses them itself; the
	// supervisor gets to see the attempt.
	RawSockets bool
}

// notifyCall is one system call the notify filter sends to the
// supervisor.
type notifyCall struct {
	syscall string
	// check is the label of the argument check that decides whether the
	// call is sent; "" when it always is.
	check string
	// writes: sent only with NotifyOptions.Writes (the call changes the
	// file system without creating a directory entry).
	writes bool
	only   Arch // if set, the system call exists only on this Arch
}

// notifyCalls are the system calls the notify filter may send, in filter
// order. The calls whose arguments decide come first: the kernel runs the
// program for them on every call, and open and openat are the most
// frequent calls here. For the others the answer depends only on the
// number, and the kernel answers from a per-syscall cache when it is
// ALLOW; sent calls leave the kernel anyway.
var notifyCalls = []notifyCall{
	{syscall: "openat", check: "open-flags"},
	{syscall: "open", check: "open-flags", only: AMD64},
	{syscall: "socket", check: "socket"},
	// utimensat(fd, NULL, ...) is futimens(fd): no path to report.
	{syscall: "utimensat", check: "utimensat-path", writes: true},
	// open_how, with the flags, is in memory: always sent.
	{syscall: "openat2"},
	{syscall: "creat", only: AMD64},
	{syscall: "mkdirat"},
	{syscall: "mkdir", only: AMD64},
	{syscall: "mknodat"},
	{syscall: "mknod", only: AMD64},
	{syscall: "renameat2"},
	{syscall: "renameat"},
	{syscall: "rename", only: AMD64},
	{syscall: "linkat"},
	{syscall: "link", only: AMD64},
	{syscall: "symlinkat"},
	{syscall: "symlink", only: AMD64},
	{syscall: "truncate", writes: true},
	{syscall: "unlinkat", writes: true},
	{syscall: "unlink", writes: true, only: AMD64},
	{syscall: "rmdir", writes: true, only: AMD64},
	{syscall: "fchmodat", writes: true},
	{syscall: "fchmodat2", writes: true},
	{syscall: "chmod", writes: true, only: AMD64},
	{syscall: "fchownat", writes: true},
	{syscall: "chown", writes: true, only: AMD64},
	{syscall: "lchown", writes: true, only: AMD64},
	{syscall: "futimesat", writes: true, only: AMD64},
	{syscall: "utimes", writes: true, only: AMD64},
	{syscall: "utime", writes: true, only: AMD64},
	{syscall: "setxattr", writes: true},
	{syscall: "lsetxattr", writes: true},
	{syscall: "setxattrat", writes: true},
	{syscall: "removexattr", writes: true},
	{syscall: "lremovexattr", writes: true},
	{syscall: "removexattrat", writes: true},
}

// BuildNotify returns the filter that sends system calls to a supervisor
// (SECCOMP_RET_USER_NOTIF) and allows every other call. The supervisor
// (package confine/notify) reads the path, resolves it and answers for
// the kernel: refuse, or carry on.
//
// With the zero NotifyOptions the calls sent are those that create a
// directory entry: creat, mkdir, mkdirat, mknod, mknodat, rename,
// renameat, renameat2, link, linkat, symlink, symlinkat and openat2
// (whose flags are in memory, out of a filter's reach), and open and
// openat only when their flags contain O_CREAT. With Writes, open and
// openat are sent when their flags contain any of O_WRONLY, O_RDWR,
// O_CREAT and O_TRUNC, and so are the calls that change the file system
// through a path (see NotifyOptions). Opening a file for reading never
// leaves the kernel. UnixSockets and RawSockets add socket() for those
// domains and types. Calls through a foreign ABI, and x32 calls on
// amd64, are allowed: this filter is stacked on Build's, which kills
// them.
//
// The filter refuses one call itself, with EPERM: seccomp(2) with
// SECCOMP_FILTER_FLAG_NEW_LISTENER. When filters stacked on one another
// all send a call to a listener, the most recent one's listener gets it,
// and its answer "continue" lets the call through without asking the
// older ones; a command that installed a filter with a listener of its
// own could answer for sandbar's supervisor. Other filters, such as a
// nested sandbox's, stay allowed: any refusal they make only adds to
// this one.
func BuildNotify(arch Arch, opts NotifyOptions) ([]unix.SockFilter, error) {
	b, err := newProgram(arch, "seccomp notify filter")
	if err != nil {
		return nil, err
	}
	a, info, nr := &b.assembler, b.info, b.nr
	sockets := opts.UnixSockets || opts.RawSockets
	sent := func(c notifyCall) bool {
		return (c.only == 0 || c.only == arch) && (opts.Writes || !c.writes) &&
			(c.syscall != "socket" || sockets)
	}

	a.stmt(opLoad, offArch)
	a.jump(opJEQ, info.auditArch, "", "allow")
	a.stmt(opLoad, offNR)
	if info.x32 {
		a.jump(opJGE, x32Bit, "allow", "")
	}
	for _, c := range notifyCalls {
		if !sent(c) {
			continue
		}
		target := "notify"
		if c.check != "" {
			target = c.check + "-" + c.syscall
		}
		a.jump(opJEQ, nr(c.syscall), target, "")
	}
	a.jump(opJEQ, nr("seccomp"), "seccomp-flags", "")
	a.stmt(opRet, retAllow)

	// open(path, flags, mode) and openat(dirfd, path, flags, mode): the
	// kernel takes flags as an int, so the low 32 bits decide.
	openFlags := uint32(oCreat)
	if opts.Writes {
		openFlags = oWrite
	}
	for _, c := range notifyCalls {
		if !sent(c) {
			continue
		}
		switch c.check {
		case "open-flags":
			arg := map[string]int{"open": 1, "openat": 2}[c.syscall]
			a.label("open-flags-" + c.syscall)
			a.stmt(opLoad, offArgLow(arg))
			a.jump(opJSET, openFlags, "notify", "allow")
		case "utimensat-path":
			// utimensat(dirfd, path, times, flags): a NULL path (both
			// halves zero) names the descriptor itself.
			a.label("utimensat-path-" + c.syscall)
			a.stmt(opLoad, offArgLow(1))
			a.jump(opJEQ, 0, "", "notify")
			a.stmt(opLoad, offArgLow(1)+4)
			a.jump(opJEQ, 0, "allow", "notify")
		case "socket":
			// socket(domain, type, protocol): domain and type are ints.
			a.label("socket-" + c.syscall)
			a.stmt(opLoad, offArgLow(0))
			if opts.UnixSockets {
				a.jump(opJEQ, afUnix, "notify", "")
			}
			if opts.RawSockets {
				a.jump(opJEQ, afPacket, "notify", "")
				a.jump(opJEQ, afInet, "socket-type", "")
				a.jump(opJEQ, afInet6, "socket-type", "")
			}
			a.stmt(opRet, retAllow)
			if opts.RawSockets {
				a.label("socket-type")
				a.stmt(opLoad, offArgLow(1))
				a.stmt(opAnd, sockTypeMask)
				a.jump(opJEQ, sockRaw, "notify", "")
				a.jump(opJEQ, sockPacket, "notify", "allow")
			}
		}
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

// CheckListener reports whether a command can be put under a notify
// filter here: the kernel has seccomp user notification with
// SECCOMP_USER_NOTIF_FLAG_CONTINUE (Linux 5.5), and nothing already
// filtering this process refuses a filter with a listener (sandbar's own
// sandbox does, so a sandbar nested in another runs without one). It
// installs a filter that allows everything, with a listener, on a thread
// of its own that exits at once, and remembers the answer.
func CheckListener() error {
	listenerOnce.Do(func() { listenerErr = checkListener() })
	return listenerErr
}

var (
	listenerOnce sync.Once
	listenerErr  error
)

func checkListener() error {
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		return fmt.Errorf("reading the kernel version: %w", err)
	}
	release := unix.ByteSliceToString(uts.Release[:])
	if !kernelAtLeast(release, 5, 5) {
		return fmt.Errorf("Linux %s predates seccomp user notification with continue (5.5)", release)
	}
	return installProbe()
}

// installProbe installs a filter that allows everything, with a listener,
// on a thread that then ends, taking the filter with it.
func installProbe() error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if unix.Gettid() == unix.Getpid() {
			// A goroutine that ends locked to the main thread does not
			// end it: Go parks the thread for good, filter and all. Hand
			// over to a goroutine that cannot run here, as this one
			// keeps the main thread while it waits.
			errc <- installProbe()
			runtime.UnlockOSThread()
			return
		}
		// Never unlocked: the thread ends with the goroutine.
		fd, err := InstallListener([]unix.SockFilter{{Code: opRet, K: retAllow}})
		if err == nil {
			unix.Close(fd)
		}
		errc <- err
	}()
	return <-errc
}

// kernelAtLeast reports whether the release ("6.8.0-45-generic") is at
// least major.minor. An unreadable release counts as new enough: the
// install is the real test.
func kernelAtLeast(release string, major, minor int) bool {
	var ma, mi int
	if _, err := fmt.Sscanf(release, "%d.%d", &ma, &mi); err != nil {
		return true
	}
	return ma > major || ma == major && mi >= minor
}
