package notify

import "golang.org/x/sys/unix"

// auditArch is the audit arch of the calls the supervisor can read: the
// notify filter lets every other ABI through without sending it.
const auditArch = unix.AUDIT_ARCH_X86_64

// The calls amd64 has besides the *at forms. link(2) does not follow a
// final symbolic link on Linux; creat(2) is open with
// O_CREAT|O_WRONLY|O_TRUNC.
func init() {
	calls[unix.SYS_OPEN] = call{"open", "create", func(a [6]uint64) (request, bool) {
		return openRequest(cwd(a[0]), a[1])
	}}
	calls[unix.SYS_CREAT] = call{"creat", "create", func(a [6]uint64) (request, bool) {
		return openRequest(cwd(a[0]), unix.O_CREAT|unix.O_WRONLY|unix.O_TRUNC)
	}}
	calls[unix.SYS_MKDIR] = call{"mkdir", "mkdir", func(a [6]uint64) (request, bool) {
		return entry(cwd(a[0]))
	}}
	calls[unix.SYS_MKNOD] = call{"mknod", "mknod", func(a [6]uint64) (request, bool) {
		return entry(cwd(a[0]))
	}}
	calls[unix.SYS_RENAME] = call{"rename", "rename", func(a [6]uint64) (request, bool) {
		return request{from: cwd(a[0]), path: cwd(a[1])}, true
	}}
	calls[unix.SYS_LINK] = call{"link", "link", func(a [6]uint64) (request, bool) {
		return request{from: cwd(a[0]), path: cwd(a[1])}, true
	}}
	calls[unix.SYS_SYMLINK] = call{"symlink", "symlink", func(a [6]uint64) (request, bool) {
		return request{target: a[0], path: cwd(a[1])}, true
	}}
}
