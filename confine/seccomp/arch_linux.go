package seccomp

import (
	"fmt"
	"maps"
	"runtime"

	"golang.org/x/sys/unix"
)

// Arch is a system-call ABI the filter is built for. The kernel tags every
// system call with the audit architecture of the ABI it came through, and
// syscall numbers differ between ABIs, so a filter is only meaningful for
// one of them. The zero value is not a valid Arch.
type Arch int

const (
	// AMD64 is the x86-64 ABI (AUDIT_ARCH_X86_64).
	AMD64 Arch = iota + 1
	// ARM64 is the AArch64 ABI (AUDIT_ARCH_AARCH64).
	ARM64
)

func (a Arch) String() string {
	if info, ok := archs[a]; ok {
		return info.name
	}
	return fmt.Sprintf("Arch(%d)", int(a))
}

// NativeArch returns the Arch of the running program, which is the ABI the
// commands it confines will use (sandbar only confines native binaries).
func NativeArch() (Arch, error) {
	switch runtime.GOARCH {
	case "amd64":
		return AMD64, nil
	case "arm64":
		return ARM64, nil
	}
	return 0, fmt.Errorf("choosing seccomp arch: GOARCH %s is not supported (only amd64 and arm64)", runtime.GOARCH)
}

// archInfo is what the builder and the disassembler need to know about one
// ABI.
type archInfo struct {
	name      string
	auditArch uint32
	auditName string
	// x32 reports whether the ABI shares its audit arch with a second ABI
	// that is told apart only by a bit in the syscall number: on x86-64,
	// x32 system calls arrive as AUDIT_ARCH_X86_64 with bit 30 set.
	x32 bool
	// syscalls maps the name of every system call the filters name to its
	// number on this ABI. golang.org/x/sys/unix only has numbers for the
	// build architecture, so the tables are kept here; sysnum tests check
	// them against x/sys on each architecture they run on.
	syscalls map[string]uint32
}

var archs = map[Arch]archInfo{
	AMD64: {
		name:      "amd64",
		auditArch: unix.AUDIT_ARCH_X86_64,
		auditName: "AUDIT_ARCH_X86_64",
		x32:       true,
		syscalls: withCommon(map[string]uint32{
			"open":              2,
			"ioctl":             16,
			"socket":            41,
			"clone":             56,
			"truncate":          76,
			"rename":            82,
			"mkdir":             83,
			"rmdir":             84,
			"creat":             85,
			"link":              86,
			"unlink":            87,
			"symlink":           88,
			"chmod":             90,
			"chown":             92,
			"lchown":            94,
			"syslog":            103,
			"utime":             132,
			"mknod":             133,
			"uselib":            134,
			"vhangup":           153,
			"pivot_root":        155,
			"chroot":            161,
			"acct":              163,
			"mount":             165,
			"umount2":           166,
			"swapon":            167,
			"swapoff":           168,
			"reboot":            169,
			"init_module":       175,
			"delete_module":     176,
			"quotactl":          179,
			"setxattr":          188,
			"lsetxattr":         189,
			"removexattr":       197,
			"lremovexattr":      198,
			"lookup_dcookie":    212,
			"utimes":            235,
			"kexec_load":        246,
			"add_key":           248,
			"request_key":       249,
			"keyctl":            250,
			"openat":            257,
			"mkdirat":           258,
			"mknodat":           259,
			"fchownat":          260,
			"futimesat":         261,
			"unlinkat":          263,
			"renameat":          264,
			"linkat":            265,
			"symlinkat":         266,
			"fchmodat":          268,
			"unshare":           272,
			"utimensat":         280,
			"perf_event_open":   298,
			"fanotify_init":     300,
			"name_to_handle_at": 303,
			"open_by_handle_at": 304,
			"setns":             308,
			"finit_module":      313,
			"renameat2":         316,
			"seccomp":           317,
			"kexec_file_load":   320,
			"bpf":               321,
			"userfaultfd":       323,
		}),
	},
	ARM64: {
		name:      "arm64",
		auditArch: unix.AUDIT_ARCH_AARCH64,
		auditName: "AUDIT_ARCH_AARCH64",
		syscalls: withCommon(map[string]uint32{
			"setxattr":          5,
			"lsetxattr":         6,
			"removexattr":       14,
			"lremovexattr":      15,
			"lookup_dcookie":    18,
			"ioctl":             29,
			"mknodat":           33,
			"mkdirat":           34,
			"unlinkat":          35,
			"symlinkat":         36,
			"linkat":            37,
			"renameat":          38,
			"umount2":           39,
			"mount":             40,
			"pivot_root":        41,
			"truncate":          45,
			"chroot":            51,
			"fchmodat":          53,
			"fchownat":          54,
			"openat":            56,
			"vhangup":           58,
			"quotactl":          60,
			"utimensat":         88,
			"acct":              89,
			"unshare":           97,
			"kexec_load":        104,
			"init_module":       105,
			"delete_module":     106,
			"syslog":            116,
			"reboot":            142,
			"socket":            198,
			"add_key":           217,
			"request_key":       218,
			"keyctl":            219,
			"clone":             220,
			"swapon":            224,
			"swapoff":           225,
			"perf_event_open":   241,
			"fanotify_init":     262,
			"name_to_handle_at": 264,
			"open_by_handle_at": 265,
			"setns":             268,
			"finit_module":      273,
			"renameat2":         276,
			"seccomp":           277,
			"bpf":               280,
			"userfaultfd":       282,
			"kexec_file_load":   294,
		}),
	},
}

// commonSyscalls have the same number on every ABI: since Linux 5.1
// (io_uring_setup, 425), new system calls are numbered once for all.
var commonSyscalls = map[string]uint32{
	"io_uring_setup":    425,
	"io_uring_enter":    426,
	"io_uring_register": 427,
	"open_tree":         428,
	"move_mount":        429,
	"fsopen":            430,
	"fsconfig":          431,
	"fsmount":           432,
	"fspick":            433,
	"clone3":            435,
	"openat2":           437,
	"mount_setattr":     442,
	"quotactl_fd":       443,
	"fchmodat2":         452,
	"setxattrat":        463,
	"removexattrat":     466,
	"open_tree_attr":    467,
}

// withCommon is an ABI's own system-call numbers and the common ones.
func withCommon(own map[string]uint32) map[string]uint32 {
	maps.Copy(own, commonSyscalls)
	return own
}

// archByAudit finds the ABI with the given audit arch, for the
// disassembler.
func archByAudit(audit uint32) (archInfo, bool) {
	for _, info := range archs {
		if info.auditArch == audit {
			return info, true
		}
	}
	return archInfo{}, false
}
