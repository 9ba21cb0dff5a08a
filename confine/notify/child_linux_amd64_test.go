package notify

import "golang.org/x/sys/unix"

// The calls amd64 has besides the *at forms.
func init() {
	for name, op := range map[string]func(a []string) error{
		"open": func(a []string) error {
			fd, _, errno := unix.Syscall(unix.SYS_OPEN, str(a[0]), unix.O_CREAT|unix.O_WRONLY, 0o644)
			return closeFD(int(fd), errnoErr(errno))
		},
		"open-rdonly": func(a []string) error {
			fd, _, errno := unix.Syscall(unix.SYS_OPEN, str(a[0]), unix.O_RDONLY, 0)
			return closeFD(int(fd), errnoErr(errno))
		},
		"creat": func(a []string) error {
			fd, _, errno := unix.Syscall(unix.SYS_CREAT, str(a[0]), 0o644, 0)
			return closeFD(int(fd), errnoErr(errno))
		},
		"mkdir":   func(a []string) error { return sys(unix.SYS_MKDIR, str(a[0]), 0o755) },
		"mknod":   func(a []string) error { return sys(unix.SYS_MKNOD, str(a[0]), unix.S_IFIFO|0o644, 0) },
		"rename":  func(a []string) error { return sys(unix.SYS_RENAME, str(a[0]), str(a[1])) },
		"link":    func(a []string) error { return sys(unix.SYS_LINK, str(a[0]), str(a[1])) },
		"symlink": func(a []string) error { return sys(unix.SYS_SYMLINK, str(a[0]), str(a[1])) },
		"open-wronly": func(a []string) error {
			fd, _, errno := unix.Syscall(unix.SYS_OPEN, str(a[0]), unix.O_WRONLY, 0)
			return closeFD(int(fd), errnoErr(errno))
		},
		"unlink":    func(a []string) error { return sys(unix.SYS_UNLINK, str(a[0])) },
		"rmdir":     func(a []string) error { return sys(unix.SYS_RMDIR, str(a[0])) },
		"chmod":     func(a []string) error { return sys(unix.SYS_CHMOD, str(a[0]), 0o600) },
		"chown":     func(a []string) error { return sys(unix.SYS_CHOWN, str(a[0]), ^uintptr(0), ^uintptr(0)) },
		"lchown":    func(a []string) error { return sys(unix.SYS_LCHOWN, str(a[0]), ^uintptr(0), ^uintptr(0)) },
		"utime":     func(a []string) error { return sys(unix.SYS_UTIME, str(a[0]), 0) },
		"utimes":    func(a []string) error { return sys(unix.SYS_UTIMES, str(a[0]), 0) },
		"futimesat": func(a []string) error { return sys(unix.SYS_FUTIMESAT, atFDCWD, str(a[0]), 0) },
	} {
		childOps[name] = op
	}
}
