package notify

import "golang.org/x/sys/unix"

// auditArch is the audit arch of the calls the supervisor can read: the
// notify filter lets every other ABI through without sending it.
const auditArch = unix.AUDIT_ARCH_X86_64

// The calls amd64 has besides the *at forms. link(2) does not follow a
// final symbolic link on Linux; creat(2) is open with
// O_CREAT|O_WRONLY|O_TRUNC.
func init() {
	calls[unix.SYS_OPEN] = call{"open", "write", func(a [6]uint64) (request, bool) {
		return openRequest(cwd(a[0]), a[1])
	}, func(a [6]uint64) bool { return openCreates(a[1]) }}
	calls[unix.SYS_CREAT] = call{"creat", "write", func(a [6]uint64) (request, bool) {
		return openRequest(cwd(a[0]), unix.O_CREAT|unix.O_WRONLY|unix.O_TRUNC)
	}, always}
	calls[unix.SYS_MKDIR] = call{"mkdir", "mkdir", func(a [6]uint64) (request, bool) {
		return newEntry(cwd(a[0]))
	}, always}
	calls[unix.SYS_MKNOD] = call{"mknod", "mknod", func(a [6]uint64) (request, bool) {
		return newEntry(cwd(a[0]))
	}, always}
	calls[unix.SYS_RENAME] = call{"rename", "rename", func(a [6]uint64) (request, bool) {
		return request{from: cwd(a[0]), path: cwd(a[1])}, true
	}, always}
	calls[unix.SYS_LINK] = call{"link", "link", func(a [6]uint64) (request, bool) {
		return request{from: cwd(a[0]), path: cwd(a[1]), fresh: true}, true
	}, always}
	calls[unix.SYS_SYMLINK] = call{"symlink", "symlink", func(a [6]uint64) (request, bool) {
		return request{target: a[0], path: cwd(a[1]), fresh: true}, true
	}, always}
	calls[unix.SYS_UNLINK] = call{"unlink", "unlink", func(a [6]uint64) (request, bool) {
		return entry(cwd(a[0]))
	}, never}
	calls[unix.SYS_RMDIR] = call{"rmdir", "rmdir", func(a [6]uint64) (request, bool) {
		return entry(cwd(a[0]))
	}, never}
	calls[unix.SYS_CHMOD] = call{"chmod", "chmod", func(a [6]uint64) (request, bool) {
		return onExisting(cwd(a[0]), true)
	}, never}
	calls[unix.SYS_CHOWN] = call{"chown", "chown", func(a [6]uint64) (request, bool) {
		return onExisting(cwd(a[0]), true)
	}, never}
	calls[unix.SYS_LCHOWN] = call{"lchown", "chown", func(a [6]uint64) (request, bool) {
		return onExisting(cwd(a[0]), false)
	}, never}
	calls[unix.SYS_UTIME] = call{"utime", "utimes", func(a [6]uint64) (request, bool) {
		return onExisting(cwd(a[0]), true)
	}, never}
	calls[unix.SYS_UTIMES] = call{"utimes", "utimes", func(a [6]uint64) (request, bool) {
		return onExisting(cwd(a[0]), true)
	}, never}
	// futimesat(dirfd, path, times) has no flags and follows a final
	// symbolic link; a NULL path names the descriptor itself.
	calls[unix.SYS_FUTIMESAT] = call{"futimesat", "utimes", func(a [6]uint64) (request, bool) {
		r, _ := onExisting(at(a[0], a[1]), true)
		r.emptyPath = a[1] == 0
		return r, true
	}, never}
}
