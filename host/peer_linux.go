package host

import "syscall"

// peerUID is the user of the process at the other end of the Unix
// socket fd.
func peerUID(fd int) (int, error) {
	cred, err := syscall.GetsockoptUcred(fd, syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	if err != nil {
		return -1, err
	}
	return int(cred.Uid), nil
}

// unconfinedAttr starts an unconfined command in its own process group
// (a session of its own, with the pty as its terminal, when it has one),
// so cancelling kills what it started too, and kills it with the host.
func unconfinedAttr(terminal bool) *syscall.SysProcAttr {
	if terminal {
		return &syscall.SysProcAttr{Setsid: true, Setctty: true, Pdeathsig: syscall.SIGKILL}
	}
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
