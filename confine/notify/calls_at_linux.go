//go:build linux && (amd64 || arm64)

package notify

import "golang.org/x/sys/unix"

// The *at calls, which every architecture sandbar supports has.
// calls_linux_amd64.go adds the older forms amd64 also has.
func init() {
	for nr, c := range map[int32]call{
		unix.SYS_OPENAT: {"openat", "create", func(a [6]uint64) (request, bool) {
			return openRequest(at(a[0], a[1]), a[2])
		}},
		unix.SYS_OPENAT2: {"openat2", "create", func(a [6]uint64) (request, bool) {
			return request{path: at(a[0], a[1]), how: a[2], howSize: a[3]}, true
		}},
		unix.SYS_MKDIRAT: {"mkdirat", "mkdir", func(a [6]uint64) (request, bool) {
			return entry(at(a[0], a[1]))
		}},
		unix.SYS_MKNODAT: {"mknodat", "mknod", func(a [6]uint64) (request, bool) {
			return entry(at(a[0], a[1]))
		}},
		unix.SYS_RENAMEAT: {"renameat", "rename", func(a [6]uint64) (request, bool) {
			return request{from: at(a[0], a[1]), path: at(a[2], a[3])}, true
		}},
		// RENAME_EXCHANGE needs both entries to exist already and
		// RENAME_NOREPLACE only refuses more, so the flags change nothing
		// here.
		unix.SYS_RENAMEAT2: {"renameat2", "rename", func(a [6]uint64) (request, bool) {
			return request{from: at(a[0], a[1]), path: at(a[2], a[3])}, true
		}},
		unix.SYS_LINKAT: {"linkat", "link", func(a [6]uint64) (request, bool) {
			flags := uint32(a[4])
			return request{
				from:       at(a[0], a[1]),
				path:       at(a[2], a[3]),
				fromFollow: flags&unix.AT_SYMLINK_FOLLOW != 0,
				fromEmpty:  flags&unix.AT_EMPTY_PATH != 0,
			}, true
		}},
		unix.SYS_SYMLINKAT: {"symlinkat", "symlink", func(a [6]uint64) (request, bool) {
			return request{target: a[0], path: at(a[1], a[2])}, true
		}},
	} {
		calls[nr] = c
	}
}
