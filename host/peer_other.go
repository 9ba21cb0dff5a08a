//go:build !linux

package host

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// peerUID is the user of the process at the other end of the Unix
// socket fd.
func peerUID(fd int) (int, error) {
	cred, err := unix.GetsockoptXucred(fd, unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
	if err != nil {
		return -1, err
	}
	return int(cred.Uid), nil
}

// unconfinedAttr starts an unconfined command in its own process group
// (a session of its own, with the pty as its terminal, when it has one),
// so cancelling kills what it started too.
func unconfinedAttr(terminal bool) *syscall.SysProcAttr {
	if terminal {
		return &syscall.SysProcAttr{Setsid: true, Setctty: true}
	}
	return &syscall.SysProcAttr{Setpgid: true}
}
