package notify

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Op is one system call that may change the file system, or create a
// socket, as the supervisor sees it.
type Op struct {
	// Pid is the process that made the call, as seen by the supervisor
	// (the host PID namespace when the supervisor runs on the host). It
	// is filled in only for the calls the supervisor reports (see
	// Answer.Report), as is Comm.
	Pid int
	// Tid is the thread that made the call, as seen by the supervisor.
	Tid int
	// Comm is the thread's name, /proc/TID/comm: the first 15 bytes of
	// the executable's base name unless the program renamed itself.
	Comm string
	// Syscall is the system call: "openat", "mkdirat", "renameat2", ...
	Syscall string
	// Operation is what the call does: "create" (an open that creates
	// the file, creat), "write" (an open of an existing file for writing
	// or truncation), "truncate", "mkdir", "mknod", "rename", "link",
	// "symlink", "unlink", "rmdir", "chmod", "chown", "utimes",
	// "setxattr", "removexattr" or "socket".
	Operation string
	// Path is the absolute, clean path of the directory entry the call
	// creates or changes, as the process names it, in its own mount
	// namespace: a relative path is resolved against its working
	// directory or the directory descriptor the call names, every
	// symbolic link in the parent directories is resolved in the
	// process's view, and the last component is followed where the
	// kernel follows it (open without O_NOFOLLOW, or with O_CREAT and
	// without O_EXCL, which creates the target of a dangling link;
	// chmod, truncate, ...). It is "" for socket.
	Path string
	// From is, for rename and link, the existing entry, resolved the
	// same way (the last component followed only for linkat with
	// AT_SYMLINK_FOLLOW; for linkat with AT_EMPTY_PATH, the file the
	// descriptor names). It is "" for other operations, and when it could
	// not be read or resolved.
	From string
	// Target is, for symlink, the contents of the new link exactly as
	// given (it is not resolved: a symbolic link may point anywhere,
	// and is only followed later, from wherever it is used); "" otherwise.
	// Like Pid, it is filled in only for reported calls.
	Target string
	// Domain and Type are socket's first two arguments (AF_UNIX,
	// SOCK_RAW|SOCK_CLOEXEC, ...); 0 for other calls.
	Domain, Type int
}

// Answer is what the supervisor does with one call.
type Answer struct {
	// Errno, if not 0, fails the call with that error. 0 lets the kernel
	// carry it out as if the filter were not there
	// (SECCOMP_USER_NOTIF_FLAG_CONTINUE).
	Errno syscall.Errno
	// Report, if not nil, is called with the Op completed with the
	// process that made the call (Pid, Comm) and, for symlink, Target,
	// once Serve has checked that the call is still pending: a call whose
	// process died in the meantime (its PID could name another process
	// by now) is not reported. It runs before the answer is sent, while
	// the process waits.
	Report func(Op)
}

// Supervisor says how Serve answers.
type Supervisor struct {
	// Decide is called for every call that changes something, from one
	// goroutine at a time, while the process waits: it must be quick.
	// The Op it gets has no Pid, Comm or Target yet; they cost several
	// reads of /proc, paid only for the calls Decide reports.
	Decide func(op *Op) Answer
	// Created, if not nil, counts every call that may have created a
	// directory entry, decided or not, read or not. It is decided from
	// the call's number and registers alone, which no other thread can
	// change, so a count of zero after the sandbox ended proves that no
	// directory entry was created, whatever paths a racing thread
	// showed.
	Created *atomic.Int64
	// Protected, if not nil, is asked about a call that Decide does not
	// see because what it names does not exist (an open for writing
	// without O_CREAT of a missing file, any call below a missing
	// directory): the kernel would fail it with ENOENT. Between this
	// look and the kernel's, something outside the sandbox can create
	// the path (the host making .git/hooks, or writing .git/config
	// anew), and the call would then change it. When Protected says path
	// must not change, Serve fails the call with ENOENT itself.
	Protected func(path string) bool
}

// Serve answers the notifications of a filter built by
// seccomp.BuildNotify, read from its listener, until ctx is done or no
// process uses the filter any more. For each call that creates or
// changes something it works out an Op and asks s.Decide.
//
// Calls that are let through without asking:
//
//   - calls that change nothing: openat2 for reading (the filter sends
//     every openat2, as its flags are in memory), an open without
//     O_CREAT of a file that does not exist, an open for writing of a
//     device, FIFO or socket (which changes no file), and any call the
//     filter should not have sent;
//   - calls whose path cannot be read or resolved: the process died, the
//     address is bad, the directory descriptor is not a directory, a
//     parent directory does not exist. Nearly all of these fail in the
//     kernel anyway; for the rest, the mount layer and sandbar's audit
//     after the run remain the enforcement, and an Op without a path
//     would give Decide nothing to decide on.
//
// Of those, the calls that would fail with ENOENT because what they name
// does not exist (the file, or a directory on its way) are shown to
// s.Protected, if set, with the path the entry would have: a protected
// one is failed with ENOENT here, since something outside the sandbox
// may create it before the kernel looks again.
//
// socket() calls are decided from their arguments alone: nothing is read
// from the process, so the answer cannot be raced or lost.
//
// Paths are resolved in the view of the process's root directory, which
// Serve opens once, from the first process it reads: every process using
// the filter must share it. In sandbar's sandbox they do: its main filter
// refuses chroot, pivot_root, unshare and setns.
//
// Serve returns nil when the last process using the filter has exited
// (the listener reports POLLHUP; Linux 5.8 and later: on older kernels
// Serve runs until ctx is done), ctx.Err() when ctx is done, and an error
// if the listener fails. Serve closes nothing it did not open: the
// caller closes the listener, after which every call the filter sends
// fails with ENOSYS. Only one Serve may read a listener at a time.
func Serve(ctx context.Context, listener int, s Supervisor) error {
	return serve(ctx, listener, s, hooks{})
}

// hooks let tests watch and steer Serve; the zero value does nothing.
type hooks struct {
	// received is called with every notification received.
	received func(nr int32)
	// asyncWake leaves SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP off, for
	// comparison.
	asyncWake bool
	// beforeValidate is called, for a call to report, after every read
	// of the process and before the check that the notification is still
	// valid.
	beforeValidate func(tid int)
}

// Kernel interface. golang.org/x/sys/unix (v0.50.0) has the ioctl numbers
// and flags but not the structures, so they are declared here as in
// <linux/seccomp.h>; a test checks their sizes against the sizes encoded
// in the ioctl numbers.

// seccompData is struct seccomp_data.
type seccompData struct {
	Nr                 int32
	Arch               uint32
	InstructionPointer uint64
	Args               [6]uint64
}

// seccompNotif is struct seccomp_notif, what SECCOMP_IOCTL_NOTIF_RECV
// fills in.
type seccompNotif struct {
	ID    uint64
	Pid   uint32 // in the PID namespace of the receiver; 0 if not visible there
	Flags uint32
	Data  seccompData
}

// seccompNotifResp is struct seccomp_notif_resp, the answer
// SECCOMP_IOCTL_NOTIF_SEND takes.
type seccompNotifResp struct {
	ID    uint64
	Val   int64
	Error int32 // a negated errno, or 0
	Flags uint32
}

func ioctl(fd int, req uint, arg unsafe.Pointer) error {
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(req), uintptr(arg))
	if errno != 0 {
		return errno
	}
	return nil
}

// recv receives one notification. The kernel requires the structure to be
// zeroed.
func recv(listener int, n *seccompNotif) error {
	for {
		*n = seccompNotif{}
		err := ioctl(listener, unix.SECCOMP_IOCTL_NOTIF_RECV, unsafe.Pointer(n))
		if err != unix.EINTR {
			return err
		}
	}
}

func send(listener int, r *seccompNotifResp) error {
	for {
		err := ioctl(listener, unix.SECCOMP_IOCTL_NOTIF_SEND, unsafe.Pointer(r))
		if err != unix.EINTR {
			return err
		}
	}
}

// valid reports whether the notification id is still pending: the
// process is still waiting in the call, so its PID still names it.
func valid(listener int, id uint64) bool {
	for {
		err := ioctl(listener, unix.SECCOMP_IOCTL_NOTIF_ID_VALID, unsafe.Pointer(&id))
		if err != unix.EINTR {
			return err == nil
		}
	}
}

func serve(ctx context.Context, listener int, sup Supervisor, h hooks) error {
	if auditArch == 0 {
		return fmt.Errorf("serving seccomp notifications: not supported on this architecture")
	}
	// An eventfd wakes poll when ctx is done, so Serve answers at once
	// and polls with no timeout.
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return fmt.Errorf("serving seccomp notifications: creating eventfd: %w", err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-ctx.Done():
			var one [8]byte
			one[0] = 1 // eventfd counters are native-endian; any nonzero value wakes
			unix.Write(wake, one[:])
		case <-stop:
		}
	}()
	defer func() {
		close(stop)
		wg.Wait()
		unix.Close(wake)
	}()

	// One thread serves throughout: a notification wakes the same
	// thread every time, and the process waits less.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	t := newTask()
	defer t.close()
	if !h.asyncWake {
		// Linux 6.6: the process's wake-up of this thread, and this
		// thread's of the process, happen on the waker's CPU, which
		// spares a cross-CPU wake-up each way. Older kernels refuse the
		// ioctl, which changes nothing.
		unix.Syscall(unix.SYS_IOCTL, uintptr(listener), unix.SECCOMP_IOCTL_NOTIF_SET_FLAGS, unix.SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP)
	}

	fds := []unix.PollFd{
		{Fd: int32(listener), Events: unix.POLLIN},
		{Fd: int32(wake), Events: unix.POLLIN},
	}
	var n seccompNotif
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		fds[0].Revents, fds[1].Revents = 0, 0
		if _, err := unix.Poll(fds, -1); err != nil {
			if err == unix.EINTR {
				continue
			}
			return fmt.Errorf("serving seccomp notifications: polling listener: %w", err)
		}
		if fds[1].Revents != 0 {
			continue // ctx is done; checked at the top
		}
		ev := fds[0].Revents
		switch {
		case ev&unix.POLLNVAL != 0:
			return fmt.Errorf("serving seccomp notifications: listener %d is not open", listener)
		case ev&unix.POLLIN != 0:
		case ev&(unix.POLLHUP|unix.POLLERR) != 0:
			// Every process using the filter has exited.
			return nil
		default:
			continue
		}

		switch err := recv(listener, &n); err {
		case nil:
		case unix.ENOENT:
			// The process was interrupted or killed after poll saw
			// the notification.
			continue
		default:
			return fmt.Errorf("serving seccomp notifications: receiving: %w", err)
		}
		if h.received != nil {
			h.received(n.Data.Nr)
		}
		resp := seccompNotifResp{ID: n.ID, Flags: unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE}
		if a := answer(listener, &n, t, sup, h); a.Errno != 0 {
			resp = seccompNotifResp{ID: n.ID, Error: -int32(a.Errno)}
		}
		switch err := send(listener, &resp); err {
		case nil, unix.ENOENT:
			// ENOENT: the process died, or a signal interrupted the call
			// before it was answered (it restarts and is sent again).
		default:
			return fmt.Errorf("serving seccomp notifications: answering: %w", err)
		}
	}
}

// answer works out what to do with one notification.
func answer(listener int, n *seccompNotif, t *task, sup Supervisor, h hooks) Answer {
	if n.Data.Arch != auditArch {
		return Answer{}
	}
	c, ok := calls[n.Data.Nr]
	if !ok {
		return Answer{}
	}
	if sup.Created != nil && c.creates(n.Data.Args) {
		sup.Created.Add(1)
	}
	if n.Pid == 0 {
		// The process is not visible in this PID namespace.
		return Answer{}
	}
	req, ok := c.decode(n.Data.Args)
	if !ok {
		return Answer{}
	}
	t.reset(int(n.Pid))
	if !req.socket && t.root < 0 {
		// The root every later call is resolved from: it must be this
		// process's, not that of one that took its PID after it died.
		if _, err := t.rootFD(); err != nil || !valid(listener, n.ID) {
			t.close()
			return Answer{}
		}
	}
	op, err := t.op(c, req)
	if a := (*absentError)(nil); errors.As(err, &a) && sup.Protected != nil && sup.Protected(a.path) {
		// Failed as the kernel would fail it now, rather than let
		// through to a kernel that may find the path made meanwhile.
		return Answer{Errno: unix.ENOENT}
	}
	if err != nil {
		return Answer{}
	}
	a := sup.Decide(&op)
	if a.Report != nil && complete(listener, n.ID, t, req, &op, h) {
		a.Report(op)
	}
	return a
}

// complete fills in what Decide does not get, for a call to report: the
// process and the link contents. It reports false if the call is no
// longer pending, in which case what was read may come from another
// process that reused the thread's ID.
func complete(listener int, id uint64, t *task, req request, op *Op, h hooks) bool {
	st, err := t.status()
	if err != nil {
		return false
	}
	op.Pid, op.Comm = st.tgid, t.comm()
	if req.target != 0 {
		if op.Target, err = t.readString(req.target); err != nil {
			return false
		}
	}
	if h.beforeValidate != nil {
		h.beforeValidate(t.tid)
	}
	return valid(listener, id)
}
