package notify

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Op is one system call that would create a directory entry, as the
// supervisor sees it.
type Op struct {
	// Pid is the process that made the call, as seen by the supervisor
	// (the host PID namespace when the supervisor runs on the host).
	Pid int
	// Tid is the thread that made the call; Pid for a single-threaded
	// process.
	Tid int
	// Comm is the thread's name, /proc/TID/comm: the first 15 bytes of
	// the executable's base name unless the program renamed itself.
	Comm string
	// Syscall is the system call: "openat", "mkdirat", "renameat2", ...
	Syscall string
	// Operation is what the call does to the file system: "create" (open,
	// openat and openat2 with O_CREAT, creat), "mkdir", "mknod", "rename",
	// "link" or "symlink".
	Operation string
	// Path is the absolute, clean path of the new directory entry as the
	// process names it, in its own mount namespace: a relative path is
	// resolved against its working directory or the directory descriptor
	// the call names, every symbolic link in the parent directories is
	// resolved in the process's view, and the last component is not
	// followed, except where the kernel follows it: open with O_CREAT
	// and without O_EXCL or O_NOFOLLOW creates the target of a dangling
	// symbolic link, so Path is that target.
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
	Target string
}

// Serve answers the notifications of a filter built by
// seccomp.BuildNotify, read from its listener, until ctx is done or no
// process uses the filter any more. For each call that would create a
// directory entry it works out an Op and calls decide, from one goroutine
// at a time; decide returns true to refuse the call, which then fails
// with EACCES in the process, or false to let the kernel carry it out.
// decide should be quick: the process waits for it.
//
// Every read of the process's memory and /proc entries is followed by a
// check that the notification is still valid (the process is still
// waiting in the call) before decide is called, so an Op never mixes
// data from a process that died with data from one that reused its PID.
//
// Calls that are let through without calling decide:
//
//   - calls that create nothing: openat2 without O_CREAT (the filter
//     sends every openat2, as its flags are in memory), and any call the
//     filter should not have sent;
//   - calls whose path cannot be read or resolved: the process died, the
//     address is bad, the directory descriptor is not a directory, a
//     parent directory does not exist. Nearly all of these fail in the
//     kernel anyway; for the rest, the mount layer and sandbar's audit
//     after the run remain the enforcement, and an Op without a path
//     would give decide nothing to decide on.
//
// Serve returns nil when the last process using the filter has exited
// (the listener reports POLLHUP; Linux 5.8 and later: on older kernels
// Serve runs until ctx is done), ctx.Err() when ctx is done, and an error
// if the listener fails. Serve closes nothing it did not open: the
// caller closes the listener, after which every call the filter sends
// fails with ENOSYS. Only one Serve may read a listener at a time.
func Serve(ctx context.Context, listener int, decide func(Op) bool) error {
	return serve(ctx, listener, decide, hooks{})
}

// ServeCounting is Serve that also counts every notification received,
// decided or not. A count of zero after the sandbox ended proves that no
// directory entry was created, whatever paths a racing thread showed:
// the kernel notifies every such call, only its path can be spoofed.
func ServeCounting(ctx context.Context, listener int, decide func(Op) bool, count *atomic.Int64) error {
	return serve(ctx, listener, decide, hooks{received: func(int32) { count.Add(1) }})
}

// hooks let tests watch and steer Serve; the zero value does nothing.
type hooks struct {
	// received is called with every notification received.
	received func(nr int32)
	// beforeValidate is called after every read of the process, before
	// the last check that the notification is still valid.
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

func serve(ctx context.Context, listener int, decide func(Op) bool, h hooks) error {
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
		if op, ok := inspect(listener, &n, h); ok && decide(op) {
			resp = seccompNotifResp{ID: n.ID, Error: -int32(unix.EACCES)}
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

// inspect works out the Op for a notification, or reports false if the
// call is to be let through without asking.
func inspect(listener int, n *seccompNotif, h hooks) (Op, bool) {
	if n.Data.Arch != auditArch || n.Pid == 0 {
		return Op{}, false
	}
	c, ok := calls[n.Data.Nr]
	if !ok {
		return Op{}, false
	}
	req, ok := c.decode(n.Data.Args)
	if !ok {
		return Op{}, false
	}
	t, err := openTask(int(n.Pid))
	if err != nil {
		return Op{}, false
	}
	defer t.close()
	// The PID might have been reused between the notification and the
	// open; from here on t.mem is bound to the process that opened it.
	if !valid(listener, n.ID) {
		return Op{}, false
	}
	op, err := t.op(c, req)
	if h.beforeValidate != nil {
		h.beforeValidate(t.tid)
	}
	if err != nil || !valid(listener, n.ID) {
		return Op{}, false
	}
	return op, true
}
