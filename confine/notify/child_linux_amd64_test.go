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
	} {
		childOps[name] = op
	}
}
