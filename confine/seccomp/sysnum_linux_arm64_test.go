//go:build linux

package seccomp

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// TestSyscallNumbers checks the arm64 table against golang.org/x/sys,
// which is generated from the kernel headers. It runs only on arm64, the
// one architecture whose numbers x/sys exposes there.
func TestSyscallNumbers(t *testing.T) {
	want := map[string]uint32{
		"acct":              unix.SYS_ACCT,
		"add_key":           unix.SYS_ADD_KEY,
		"bpf":               unix.SYS_BPF,
		"chroot":            unix.SYS_CHROOT,
		"clone":             unix.SYS_CLONE,
		"clone3":            unix.SYS_CLONE3,
		"delete_module":     unix.SYS_DELETE_MODULE,
		"fanotify_init":     unix.SYS_FANOTIFY_INIT,
		"fchmodat":          unix.SYS_FCHMODAT,
		"fchmodat2":         unix.SYS_FCHMODAT2,
		"fchownat":          unix.SYS_FCHOWNAT,
		"finit_module":      unix.SYS_FINIT_MODULE,
		"fsconfig":          unix.SYS_FSCONFIG,
		"fsmount":           unix.SYS_FSMOUNT,
		"fsopen":            unix.SYS_FSOPEN,
		"fspick":            unix.SYS_FSPICK,
		"init_module":       unix.SYS_INIT_MODULE,
		"io_uring_enter":    unix.SYS_IO_URING_ENTER,
		"io_uring_register": unix.SYS_IO_URING_REGISTER,
		"io_uring_setup":    unix.SYS_IO_URING_SETUP,
		"ioctl":             unix.SYS_IOCTL,
		"kexec_file_load":   unix.SYS_KEXEC_FILE_LOAD,
		"kexec_load":        unix.SYS_KEXEC_LOAD,
		"keyctl":            unix.SYS_KEYCTL,
		"linkat":            unix.SYS_LINKAT,
		"lookup_dcookie":    unix.SYS_LOOKUP_DCOOKIE,
		"lremovexattr":      unix.SYS_LREMOVEXATTR,
		"lsetxattr":         unix.SYS_LSETXATTR,
		"mkdirat":           unix.SYS_MKDIRAT,
		"mknodat":           unix.SYS_MKNODAT,
		"mount":             unix.SYS_MOUNT,
		"mount_setattr":     unix.SYS_MOUNT_SETATTR,
		"move_mount":        unix.SYS_MOVE_MOUNT,
		"name_to_handle_at": unix.SYS_NAME_TO_HANDLE_AT,
		"open_by_handle_at": unix.SYS_OPEN_BY_HANDLE_AT,
		"open_tree":         unix.SYS_OPEN_TREE,
		"open_tree_attr":    unix.SYS_OPEN_TREE_ATTR,
		"openat":            unix.SYS_OPENAT,
		"openat2":           unix.SYS_OPENAT2,
		"perf_event_open":   unix.SYS_PERF_EVENT_OPEN,
		"pivot_root":        unix.SYS_PIVOT_ROOT,
		"quotactl":          unix.SYS_QUOTACTL,
		"quotactl_fd":       unix.SYS_QUOTACTL_FD,
		"reboot":            unix.SYS_REBOOT,
		"removexattr":       unix.SYS_REMOVEXATTR,
		"removexattrat":     unix.SYS_REMOVEXATTRAT,
		"renameat":          unix.SYS_RENAMEAT,
		"renameat2":         unix.SYS_RENAMEAT2,
		"request_key":       unix.SYS_REQUEST_KEY,
		"seccomp":           unix.SYS_SECCOMP,
		"setns":             unix.SYS_SETNS,
		"setxattr":          unix.SYS_SETXATTR,
		"setxattrat":        unix.SYS_SETXATTRAT,
		"socket":            unix.SYS_SOCKET,
		"swapoff":           unix.SYS_SWAPOFF,
		"swapon":            unix.SYS_SWAPON,
		"symlinkat":         unix.SYS_SYMLINKAT,
		"syslog":            unix.SYS_SYSLOG,
		"truncate":          unix.SYS_TRUNCATE,
		"umount2":           unix.SYS_UMOUNT2,
		"unlinkat":          unix.SYS_UNLINKAT,
		"unshare":           unix.SYS_UNSHARE,
		"userfaultfd":       unix.SYS_USERFAULTFD,
		"utimensat":         unix.SYS_UTIMENSAT,
		"vhangup":           unix.SYS_VHANGUP,
	}
	if diff := cmp.Diff(want, archs[ARM64].syscalls); diff != "" {
		t.Errorf("arm64 syscall table mismatch (-x/sys +ours):\n%s", diff)
	}
}
