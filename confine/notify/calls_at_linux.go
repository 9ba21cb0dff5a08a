//go:build linux && (amd64 || arm64)

package notify

import "golang.org/x/sys/unix"

// The calls every architecture sandbar supports has. calls_linux_amd64.go
// adds the older forms amd64 also has.
func init() {
	for nr, c := range map[int32]call{
		unix.SYS_OPENAT: {"openat", "write", func(a [6]uint64) (request, bool) {
			return openRequest(at(a[0], a[1]), a[2])
		}, func(a [6]uint64) bool { return openCreates(a[2]) }},
		// Its flags are in memory, where another thread can change
		// them after they are read: counted as creating.
		unix.SYS_OPENAT2: {"openat2", "write", func(a [6]uint64) (request, bool) {
			return request{path: at(a[0], a[1]), open: true, how: a[2], howSize: a[3]}, true
		}, always},
		unix.SYS_MKDIRAT: {"mkdirat", "mkdir", func(a [6]uint64) (request, bool) {
			return newEntry(at(a[0], a[1]))
		}, always},
		unix.SYS_MKNODAT: {"mknodat", "mknod", func(a [6]uint64) (request, bool) {
			return newEntry(at(a[0], a[1]))
		}, always},
		unix.SYS_RENAMEAT: {"renameat", "rename", func(a [6]uint64) (request, bool) {
			return request{from: at(a[0], a[1]), path: at(a[2], a[3])}, true
		}, always},
		// RENAME_EXCHANGE needs both entries to exist already and
		// RENAME_NOREPLACE only refuses more, so the flags change nothing
		// here.
		unix.SYS_RENAMEAT2: {"renameat2", "rename", func(a [6]uint64) (request, bool) {
			return request{from: at(a[0], a[1]), path: at(a[2], a[3])}, true
		}, always},
		unix.SYS_LINKAT: {"linkat", "link", func(a [6]uint64) (request, bool) {
			flags := uint32(a[4])
			return request{
				from:       at(a[0], a[1]),
				path:       at(a[2], a[3]),
				fresh:      true,
				fromFollow: flags&unix.AT_SYMLINK_FOLLOW != 0,
				fromEmpty:  flags&unix.AT_EMPTY_PATH != 0,
			}, true
		}, always},
		unix.SYS_SYMLINKAT: {"symlinkat", "symlink", func(a [6]uint64) (request, bool) {
			return request{target: a[0], path: at(a[1], a[2]), fresh: true}, true
		}, always},
		unix.SYS_TRUNCATE: {"truncate", "truncate", func(a [6]uint64) (request, bool) {
			return onExisting(cwd(a[0]), true)
		}, never},
		unix.SYS_UNLINKAT: {"unlinkat", "unlink", func(a [6]uint64) (request, bool) {
			r, _ := entry(at(a[0], a[1]))
			if uint32(a[2])&unix.AT_REMOVEDIR != 0 {
				r.op = "rmdir"
			}
			return r, true
		}, never},
		// fchmodat has no flags argument; fchmodat2 (Linux 6.6) does.
		unix.SYS_FCHMODAT: {"fchmodat", "chmod", func(a [6]uint64) (request, bool) {
			return onExisting(at(a[0], a[1]), true)
		}, never},
		unix.SYS_FCHMODAT2: {"fchmodat2", "chmod", func(a [6]uint64) (request, bool) {
			return atFlags(at(a[0], a[1]), a[3])
		}, never},
		unix.SYS_FCHOWNAT: {"fchownat", "chown", func(a [6]uint64) (request, bool) {
			return atFlags(at(a[0], a[1]), a[4])
		}, never},
		// The filter does not send utimensat with a NULL path (futimens).
		unix.SYS_UTIMENSAT: {"utimensat", "utimes", func(a [6]uint64) (request, bool) {
			return atFlags(at(a[0], a[1]), a[3])
		}, never},
		unix.SYS_SETXATTR: {"setxattr", "setxattr", func(a [6]uint64) (request, bool) {
			return onExisting(cwd(a[0]), true)
		}, never},
		unix.SYS_LSETXATTR: {"lsetxattr", "setxattr", func(a [6]uint64) (request, bool) {
			return onExisting(cwd(a[0]), false)
		}, never},
		// setxattrat and removexattrat (Linux 6.13): dirfd, path,
		// at_flags, name, ...
		unix.SYS_SETXATTRAT: {"setxattrat", "setxattr", func(a [6]uint64) (request, bool) {
			return atFlags(at(a[0], a[1]), a[2])
		}, never},
		unix.SYS_REMOVEXATTR: {"removexattr", "removexattr", func(a [6]uint64) (request, bool) {
			return onExisting(cwd(a[0]), true)
		}, never},
		unix.SYS_LREMOVEXATTR: {"lremovexattr", "removexattr", func(a [6]uint64) (request, bool) {
			return onExisting(cwd(a[0]), false)
		}, never},
		unix.SYS_REMOVEXATTRAT: {"removexattrat", "removexattr", func(a [6]uint64) (request, bool) {
			return atFlags(at(a[0], a[1]), a[2])
		}, never},
		// The kernel takes domain and type as ints.
		unix.SYS_SOCKET: {"socket", "socket", func(a [6]uint64) (request, bool) {
			return request{socket: true, domain: int(int32(a[0])), typ: int(int32(a[1]))}, true
		}, never},
	} {
		calls[nr] = c
	}
}
