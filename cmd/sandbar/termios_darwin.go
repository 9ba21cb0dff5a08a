package main

import "golang.org/x/sys/unix"

// The ioctls that read and set a terminal's modes (tcgetattr, tcsetattr).
const (
	ioctlGetTermios = unix.TIOCGETA
	ioctlSetTermios = unix.TIOCSETA
)
