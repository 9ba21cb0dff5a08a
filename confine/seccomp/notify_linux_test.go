package seccomp

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

func TestDisassembleNotifyGolden(t *testing.T) {
	all := NotifyOptions{Writes: true, UnixSockets: true, RawSockets: true}
	tests := []struct {
		file string
		arch Arch
		opts NotifyOptions
	}{
		{"notify-amd64.golden", AMD64, NotifyOptions{}},
		{"notify-arm64.golden", ARM64, NotifyOptions{}},
		{"notify-writes-amd64.golden", AMD64, all},
		{"notify-writes-arm64.golden", ARM64, all},
		{"notify-writes-allow-unix-amd64.golden", AMD64, NotifyOptions{Writes: true, RawSockets: true}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			prog, err := BuildNotify(tt.arch, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			got := Disassemble(prog)
			path := filepath.Join("testdata", tt.file)
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("reading golden file (regenerate with `go test ./confine/seccomp -update`): %v", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("Disassemble(BuildNotify(%v, %+v)) mismatch (-want +got); if the change is intended, run `go test ./confine/seccomp -update`:\n%s", tt.arch, tt.opts, diff)
			}
		})
	}
}

// TestNotifyDecisions runs the notify filter in the interpreter, for both
// architectures, built for creations only and for every write.
func TestNotifyDecisions(t *testing.T) {
	type call struct {
		name string
		args [6]uint64
	}
	const (
		oRDONLY   = 0
		oEXCL     = 0o200
		oNOFOLLOW = 0o400000   // amd64; arm64's is 0o100000, neither is a write flag
		atFDCWD   = 0xffffff9c // AT_FDCWD (-100) as the low 32 bits
		sockDgram = 2
		nonblock  = 0o4000
		cloexec   = 0o2000000
		path      = 0x7ffd0000 // some address: a path argument
	)
	// want is the answer of the creations-only filter and of the filter
	// with Writes, UnixSockets and RawSockets.
	type want struct{ creates, writes uint32 }
	var (
		allow  = want{retAllow, retAllow}
		notify = want{retNotify, retNotify}
		write  = want{retAllow, retNotify} // sent only with Writes
		socket = want{retAllow, retNotify} // sent only with the socket options
	)
	tests := []struct {
		name string
		only Arch // run only for this Arch when set
		call call
		want want
	}{
		{"getpid allowed", 0, call{name: "getpid"}, allow},
		{"read allowed", 0, call{name: "read"}, allow},
		{"openat O_RDONLY allowed", 0, call{"openat", [6]uint64{atFDCWD, path, oRDONLY}}, allow},
		{"openat O_RDONLY|O_NOFOLLOW allowed", 0, call{"openat", [6]uint64{atFDCWD, path, oRDONLY | oNOFOLLOW}}, allow},
		{"openat O_WRONLY", 0, call{"openat", [6]uint64{atFDCWD, path, oWronly}}, write},
		{"openat O_RDWR", 0, call{"openat", [6]uint64{atFDCWD, path, oRdwr}}, write},
		{"openat O_RDONLY|O_TRUNC", 0, call{"openat", [6]uint64{atFDCWD, path, oTrunc}}, write},
		{"openat O_WRONLY|O_TRUNC", 0, call{"openat", [6]uint64{atFDCWD, path, oWronly | oTrunc}}, write},
		{"openat O_CREAT", 0, call{"openat", [6]uint64{atFDCWD, path, oWronly | oCreat}}, notify},
		{"openat O_CREAT|O_EXCL", 0, call{"openat", [6]uint64{atFDCWD, path, oCreat | oEXCL}}, notify},
		{"openat O_CREAT with high bits", 0, call{"openat", [6]uint64{atFDCWD, path, 1<<40 | oCreat}}, notify},
		{"openat write flags in the high bits are not flags", 0, call{"openat", [6]uint64{atFDCWD, path, 1<<32 | 1<<33 | 1<<38}}, allow},
		{"openat O_CREAT in the mode is not a flag", 0, call{"openat", [6]uint64{atFDCWD, path, oRDONLY, oCreat | oWronly}}, allow},
		{"openat dirfd with the flag bits is not a flag", 0, call{"openat", [6]uint64{oWrite, path, oRDONLY}}, allow},
		{"open O_RDONLY allowed", AMD64, call{"open", [6]uint64{path, oRDONLY}}, allow},
		{"open O_WRONLY", AMD64, call{"open", [6]uint64{path, oWronly}}, write},
		{"open O_CREAT", AMD64, call{"open", [6]uint64{path, oCreat | oWronly}}, notify},
		{"open O_CREAT in the mode is not a flag", AMD64, call{"open", [6]uint64{path, oRDONLY, oCreat}}, allow},
		{"openat2 always", 0, call{name: "openat2"}, notify},
		{"creat", AMD64, call{name: "creat"}, notify},
		{"mkdir", AMD64, call{name: "mkdir"}, notify},
		{"mkdirat", 0, call{name: "mkdirat"}, notify},
		{"mknod", AMD64, call{name: "mknod"}, notify},
		{"mknodat", 0, call{name: "mknodat"}, notify},
		{"rename", AMD64, call{name: "rename"}, notify},
		{"renameat", 0, call{name: "renameat"}, notify},
		{"renameat2", 0, call{name: "renameat2"}, notify},
		{"link", AMD64, call{name: "link"}, notify},
		{"linkat", 0, call{name: "linkat"}, notify},
		{"symlink", AMD64, call{name: "symlink"}, notify},
		{"symlinkat", 0, call{name: "symlinkat"}, notify},
		{"truncate", 0, call{name: "truncate"}, write},
		{"ftruncate allowed", 0, call{name: "ftruncate"}, allow},
		{"unlinkat", 0, call{name: "unlinkat"}, write},
		{"unlink", AMD64, call{name: "unlink"}, write},
		{"rmdir", AMD64, call{name: "rmdir"}, write},
		{"chmod", AMD64, call{name: "chmod"}, write},
		{"fchmodat", 0, call{name: "fchmodat"}, write},
		{"fchmodat2", 0, call{name: "fchmodat2"}, write},
		{"fchmod allowed", 0, call{name: "fchmod"}, allow},
		{"chown", AMD64, call{name: "chown"}, write},
		{"lchown", AMD64, call{name: "lchown"}, write},
		{"fchownat", 0, call{name: "fchownat"}, write},
		{"fchown allowed", 0, call{name: "fchown"}, allow},
		{"utime", AMD64, call{name: "utime"}, write},
		{"utimes", AMD64, call{name: "utimes"}, write},
		{"futimesat", AMD64, call{name: "futimesat"}, write},
		{"utimensat with a path", 0, call{"utimensat", [6]uint64{atFDCWD, path}}, write},
		{"utimensat with a path above 4 GiB", 0, call{"utimensat", [6]uint64{atFDCWD, 1 << 40}}, write},
		{"utimensat NULL (futimens) allowed", 0, call{"utimensat", [6]uint64{3, 0}}, allow},
		{"setxattr", 0, call{name: "setxattr"}, write},
		{"lsetxattr", 0, call{name: "lsetxattr"}, write},
		{"setxattrat", 0, call{name: "setxattrat"}, write},
		{"fsetxattr allowed", 0, call{name: "fsetxattr"}, allow},
		{"removexattr", 0, call{name: "removexattr"}, write},
		{"lremovexattr", 0, call{name: "lremovexattr"}, write},
		{"removexattrat", 0, call{name: "removexattrat"}, write},
		{"socket AF_UNIX", 0, call{"socket", [6]uint64{afUnix, 1}}, socket},
		{"socket AF_UNIX with high bits", 0, call{"socket", [6]uint64{1<<32 | afUnix, 1}}, socket},
		{"socket AF_INET stream allowed", 0, call{"socket", [6]uint64{afInet, 1}}, allow},
		{"socket AF_INET dgram allowed", 0, call{"socket", [6]uint64{afInet, sockDgram}}, allow},
		{"socket AF_INET6 dgram|nonblock allowed", 0, call{"socket", [6]uint64{afInet6, sockDgram | nonblock | cloexec}}, allow},
		{"socket AF_INET raw", 0, call{"socket", [6]uint64{afInet, sockRaw}}, socket},
		{"socket AF_INET raw|cloexec|nonblock", 0, call{"socket", [6]uint64{afInet, sockRaw | cloexec | nonblock}}, socket},
		{"socket AF_INET6 raw", 0, call{"socket", [6]uint64{afInet6, sockRaw}}, socket},
		{"socket AF_INET packet", 0, call{"socket", [6]uint64{afInet, sockPacket}}, socket},
		{"socket AF_PACKET", 0, call{"socket", [6]uint64{afPacket, sockDgram}}, socket},
		{"socket AF_NETLINK raw allowed", 0, call{"socket", [6]uint64{16, sockRaw}}, allow},
		{"socketpair allowed", 0, call{"socketpair", [6]uint64{afUnix, 1}}, allow},
		{"seccomp NEW_LISTENER refused", 0, call{"seccomp", [6]uint64{unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_NEW_LISTENER}}, want{retEPERM, retEPERM}},
		{"seccomp NEW_LISTENER|TSYNC_ESRCH refused", 0, call{"seccomp", [6]uint64{unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_NEW_LISTENER | unix.SECCOMP_FILTER_FLAG_TSYNC_ESRCH}}, want{retEPERM, retEPERM}},
		{"seccomp NEW_LISTENER with high bits refused", 0, call{"seccomp", [6]uint64{unix.SECCOMP_SET_MODE_FILTER, 1<<32 | unix.SECCOMP_FILTER_FLAG_NEW_LISTENER}}, want{retEPERM, retEPERM}},
		{"seccomp TSYNC allowed", 0, call{"seccomp", [6]uint64{unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC}}, allow},
		{"seccomp no flags allowed", 0, call{"seccomp", [6]uint64{unix.SECCOMP_SET_MODE_FILTER, 0}}, allow},
		{"seccomp op equal to the flag allowed", 0, call{"seccomp", [6]uint64{unix.SECCOMP_FILTER_FLAG_NEW_LISTENER, 0}}, allow},
	}
	// Numbers of calls the filters do not name, so not in archs.
	extra := map[Arch]map[string]uint32{
		AMD64: {"getpid": 39, "read": 0, "ftruncate": 77, "fchmod": 91, "fchown": 93, "fsetxattr": 190, "socketpair": 53},
		ARM64: {"getpid": 172, "read": 63, "ftruncate": 46, "fchmod": 52, "fchown": 55, "fsetxattr": 7, "socketpair": 199},
	}
	all := NotifyOptions{Writes: true, UnixSockets: true, RawSockets: true}
	for _, arch := range []Arch{AMD64, ARM64} {
		creates, err := BuildNotify(arch, NotifyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		writes, err := BuildNotify(arch, all)
		if err != nil {
			t.Fatal(err)
		}
		for _, tt := range tests {
			if tt.only != 0 && tt.only != arch {
				continue
			}
			t.Run(arch.String()+"/"+tt.name, func(t *testing.T) {
				nr, ok := archs[arch].syscalls[tt.call.name]
				if !ok {
					nr, ok = extra[arch][tt.call.name]
				}
				if !ok {
					t.Fatalf("no number for %s on %v", tt.call.name, arch)
				}
				data := seccompData{nr: nr, arch: archs[arch].auditArch, args: tt.call.args}
				if got := evaluate(t, creates, data); got != tt.want.creates {
					t.Errorf("creations only: %s(%#x) = %s, want %s", tt.call.name, tt.call.args, actionName(got), actionName(tt.want.creates))
				}
				if got := evaluate(t, writes, data); got != tt.want.writes {
					t.Errorf("every write: %s(%#x) = %s, want %s", tt.call.name, tt.call.args, actionName(got), actionName(tt.want.writes))
				}
			})
		}
	}
}

// TestNotifySocketOptions: each socket option sends its own sockets only.
func TestNotifySocketOptions(t *testing.T) {
	arch, err := NativeArch()
	if err != nil {
		t.Fatal(err)
	}
	socket := archs[arch].syscalls["socket"]
	unixSock := seccompData{nr: socket, arch: archs[arch].auditArch, args: [6]uint64{afUnix, 1}}
	raw := seccompData{nr: socket, arch: archs[arch].auditArch, args: [6]uint64{afInet, sockRaw}}
	tests := []struct {
		opts        NotifyOptions
		unixW, rawW uint32
	}{
		{NotifyOptions{}, retAllow, retAllow},
		{NotifyOptions{Writes: true}, retAllow, retAllow},
		{NotifyOptions{UnixSockets: true}, retNotify, retAllow},
		{NotifyOptions{RawSockets: true}, retAllow, retNotify},
	}
	for _, tt := range tests {
		prog, err := BuildNotify(arch, tt.opts)
		if err != nil {
			t.Fatal(err)
		}
		if got := evaluate(t, prog, unixSock); got != tt.unixW {
			t.Errorf("%+v: socket(AF_UNIX) = %s, want %s", tt.opts, actionName(got), actionName(tt.unixW))
		}
		if got := evaluate(t, prog, raw); got != tt.rawW {
			t.Errorf("%+v: socket(AF_INET, SOCK_RAW) = %s, want %s", tt.opts, actionName(got), actionName(tt.rawW))
		}
	}
}

// TestNotifyArchChecks: foreign calls are the main filter's to kill; this
// one lets them through rather than sending numbers it would misread.
func TestNotifyArchChecks(t *testing.T) {
	all := NotifyOptions{Writes: true, UnixSockets: true, RawSockets: true}
	amd64, err := BuildNotify(AMD64, all)
	if err != nil {
		t.Fatal(err)
	}
	arm64, err := BuildNotify(ARM64, all)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		prog []unix.SockFilter
		data seccompData
		want uint32
	}{
		{"i386 creat (8) on amd64", amd64, seccompData{nr: 8, arch: unix.AUDIT_ARCH_I386}, retAllow},
		{"i386 mkdir (39) on amd64", amd64, seccompData{nr: 39, arch: unix.AUDIT_ARCH_I386}, retAllow},
		{"arm32 mkdir (39) on arm64", arm64, seccompData{nr: 39, arch: unix.AUDIT_ARCH_ARM}, retAllow},
		{"aarch64 mkdirat (34) on amd64", amd64, seccompData{nr: 34, arch: unix.AUDIT_ARCH_AARCH64}, retAllow},
		{"x32 mkdir", amd64, seccompData{nr: x32Bit | 83, arch: unix.AUDIT_ARCH_X86_64}, retAllow},
		{"x32 openat O_CREAT", amd64, seccompData{nr: x32Bit | 257, arch: unix.AUDIT_ARCH_X86_64, args: [6]uint64{0, 0, oCreat}}, retAllow},
		{"x32 unlink", amd64, seccompData{nr: x32Bit | 87, arch: unix.AUDIT_ARCH_X86_64}, retAllow},
		{"i386 socket (359) on amd64", amd64, seccompData{nr: 359, arch: unix.AUDIT_ARCH_I386, args: [6]uint64{afUnix}}, retAllow},
		{"native mkdir on amd64", amd64, seccompData{nr: 83, arch: unix.AUDIT_ARCH_X86_64}, retNotify},
		{"bit 30 on arm64 is just a number", arm64, seccompData{nr: x32Bit | 34, arch: unix.AUDIT_ARCH_AARCH64}, retAllow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := evaluate(t, tt.prog, tt.data); got != tt.want {
				t.Errorf("got %s, want %s", actionName(got), actionName(tt.want))
			}
		})
	}
}

func TestBuildNotifyUnknownArch(t *testing.T) {
	if _, err := BuildNotify(Arch(0), NotifyOptions{}); err == nil {
		t.Error("BuildNotify(Arch(0)) succeeded, want an error")
	}
}

func TestInstallListenerEmpty(t *testing.T) {
	if _, err := InstallListener(nil); err == nil {
		t.Error("InstallListener(nil) succeeded, want an error")
	}
}

// The notify probes install the notify filter and close the listener at
// once: with no supervisor every call the filter sends fails with ENOSYS,
// which shows on a real kernel which calls it sends, with no supervisor
// involved. They run with filterNone, so probeMain's install is a no-op;
// each probe's control is the same operation in a probe that installs
// nothing.
func init() {
	for name, p := range map[string]func(dir string) error{
		"mkdir": func(dir string) error { return unix.Mkdir(filepath.Join(dir, "new"), 0o755) },
		"openat-creat": func(dir string) error {
			return closeFD(unix.Open(filepath.Join(dir, "new"), unix.O_CREAT|unix.O_WRONLY, 0o644))
		},
		"openat-rdonly": func(dir string) error { return closeFD(unix.Open(filepath.Join(dir, "existing"), unix.O_RDONLY, 0)) },
		"openat-wronly": func(dir string) error {
			return closeFD(unix.Open(filepath.Join(dir, "existing"), unix.O_WRONLY|unix.O_TRUNC, 0))
		},
		"symlinkat": func(dir string) error { return unix.Symlink("existing", filepath.Join(dir, "new")) },
		"unlinkat":  func(dir string) error { return unix.Unlink(filepath.Join(dir, "existing")) },
		"renameat2": func(dir string) error {
			return unix.Renameat2(unix.AT_FDCWD, filepath.Join(dir, "existing"), unix.AT_FDCWD, filepath.Join(dir, "new"), 0)
		},
		"fchmodat": func(dir string) error { return unix.Chmod(filepath.Join(dir, "existing"), 0o600) },
		"fchmod": func(dir string) error {
			fd, err := unix.Open(filepath.Join(dir, "existing"), unix.O_RDONLY, 0)
			if err != nil {
				return setupError{err}
			}
			defer unix.Close(fd)
			return unix.Fchmod(fd, 0o600)
		},
		"truncate": func(dir string) error { return unix.Truncate(filepath.Join(dir, "existing"), 0) },
		"utimensat": func(dir string) error {
			return unix.UtimesNano(filepath.Join(dir, "existing"), make([]unix.Timespec, 2))
		},
		"futimens": func(dir string) error {
			fd, err := unix.Open(filepath.Join(dir, "existing"), unix.O_RDONLY, 0)
			if err != nil {
				return setupError{err}
			}
			defer unix.Close(fd)
			// futimens(3): utimensat with a NULL path.
			ts := make([]unix.Timespec, 2)
			_, _, errno := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(fd), 0, uintptr(unsafe.Pointer(&ts[0])), 0, 0, 0)
			runtime.KeepAlive(ts)
			return errnoOf(errno)
		},
		"lsetxattr": func(dir string) error {
			return unix.Lsetxattr(filepath.Join(dir, "existing"), "user.sandbar", []byte("x"), 0)
		},
		"socket-unix": func(string) error { return closeFD(unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)) },
		"socket-raw": func(string) error {
			// Without CAP_NET_RAW the kernel refuses it itself (EPERM);
			// a process that has it (root) gets a socket.
			fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_ICMP)
			if err == unix.EPERM {
				return nil
			}
			return closeFD(fd, err)
		},
		"socket-tcp":      func(string) error { return closeFD(unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)) },
		"openat-tmpfile":  func(dir string) error { return closeFD(unix.Open(dir, unix.O_TMPFILE|unix.O_WRONLY, 0o600)) },
		"second-listener": func(string) error { return closeFD(installAllow(unix.SECCOMP_FILTER_FLAG_NEW_LISTENER)) },
		"second-filter":   func(string) error { return closeFD(installAllow(0)) },
	} {
		probes["notify-closed-"+name] = notifyProbe(true, NotifyOptions{}, p)
		probes["notify-closed-writes-"+name] = notifyProbe(true, NotifyOptions{Writes: true, UnixSockets: true, RawSockets: true}, p)
		probes["notify-control-"+name] = notifyProbe(false, NotifyOptions{}, p)
	}
	probes["notify-cloexec"] = func(func() error) error {
		prog, err := nativeNotify(NotifyOptions{})
		if err != nil {
			return setupError{err}
		}
		fd, err := InstallListener(prog)
		if err != nil {
			return setupError{err}
		}
		flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		if err != nil {
			return setupError{err}
		}
		if flags&unix.FD_CLOEXEC == 0 {
			return errors.New("listener is not close-on-exec")
		}
		return nil
	}
}

// installAllow installs a filter that allows everything on the calling
// thread, with flags. It sets no_new_privs first, as an unprivileged
// process must, so that the control run needs no filter of ours.
func installAllow(flags uintptr) (int, error) {
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return -1, setupError{err}
	}
	prog := []unix.SockFilter{{Code: opRet, K: retAllow}}
	fprog := unix.SockFprog{Len: 1, Filter: &prog[0]}
	r, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, flags, uintptr(unsafe.Pointer(&fprog)))
	runtime.KeepAlive(prog)
	if errno != 0 {
		return -1, errno
	}
	return int(r), nil
}

func nativeNotify(opts NotifyOptions) ([]unix.SockFilter, error) {
	arch, err := NativeArch()
	if err != nil {
		return nil, err
	}
	return BuildNotify(arch, opts)
}

func closeFD(fd int, err error) error {
	if err == nil {
		unix.Close(fd)
	}
	return err
}

// notifyProbe prepares a directory holding the file "existing", installs
// the notify filter built with opts and closes its listener when install
// is set, and runs op in the directory.
func notifyProbe(install bool, opts NotifyOptions, op func(dir string) error) probe {
	return func(func() error) error {
		dir, err := os.MkdirTemp("", "sandbar-notify-probe-")
		if err != nil {
			return setupError{err}
		}
		defer os.RemoveAll(dir)
		if err := os.WriteFile(filepath.Join(dir, "existing"), nil, 0o644); err != nil {
			return setupError{err}
		}
		if install {
			prog, err := nativeNotify(opts)
			if err != nil {
				return setupError{err}
			}
			fd, err := InstallListener(prog)
			if err != nil {
				return setupError{err}
			}
			if err := unix.Close(fd); err != nil {
				return setupError{err}
			}
		}
		return op(dir)
	}
}

// TestNotifyKernel checks which calls the notify filter sends, on the real
// kernel: with the listener closed, a sent call fails with ENOSYS, and
// every other call runs as it would without the filter, except the one it
// refuses. Each call is tried under the filter for creations only and
// under the one for every write and socket.
func TestNotifyKernel(t *testing.T) {
	tests := []struct {
		name            string
		op              string
		creates, writes error
	}{
		{"mkdir", "mkdir", unix.ENOSYS, unix.ENOSYS},
		{"openat O_CREAT", "openat-creat", unix.ENOSYS, unix.ENOSYS},
		{"symlinkat", "symlinkat", unix.ENOSYS, unix.ENOSYS},
		{"renameat2", "renameat2", unix.ENOSYS, unix.ENOSYS},
		{"openat O_RDONLY", "openat-rdonly", nil, nil},
		{"openat O_WRONLY|O_TRUNC", "openat-wronly", nil, unix.ENOSYS},
		{"openat O_TMPFILE", "openat-tmpfile", nil, unix.ENOSYS},
		{"unlinkat", "unlinkat", nil, unix.ENOSYS},
		{"fchmodat", "fchmodat", nil, unix.ENOSYS},
		{"truncate", "truncate", nil, unix.ENOSYS},
		{"utimensat with a path", "utimensat", nil, unix.ENOSYS},
		{"lsetxattr", "lsetxattr", nil, unix.ENOSYS},
		// Calls on a descriptor alone stay in the kernel.
		{"fchmod", "fchmod", nil, nil},
		{"futimens", "futimens", nil, nil},
		{"socket AF_UNIX", "socket-unix", nil, unix.ENOSYS},
		{"socket AF_INET SOCK_RAW", "socket-raw", nil, unix.ENOSYS},
		{"socket AF_INET SOCK_STREAM", "socket-tcp", nil, nil},
		// A second listener would answer for the first; see BuildNotify.
		{"a filter with a listener of its own", "second-listener", unix.EPERM, unix.EPERM},
		{"a filter without a listener", "second-filter", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, run := range []struct {
				probe string
				want  error
			}{{"notify-closed-" + tt.op, tt.creates}, {"notify-closed-writes-" + tt.op, tt.writes}} {
				got := runProbe(t, run.probe, filterNone)
				if got.killed != 0 {
					t.Fatalf("%s: probe killed by %v; %s", run.probe, got.killed, got.output)
				}
				if !errors.Is(got.err, run.want) {
					t.Errorf("%s, with no listener: got %s, want %s", run.probe, errString(got.err), errString(run.want))
				}
			}
			if control := runProbe(t, "notify-control-"+tt.op, filterNone); control.err != nil || control.killed != 0 {
				t.Errorf("without the filter: got %s (killed: %v), want success", errString(control.err), control.killed)
			}
		})
	}
}

func TestInstallListenerCloseOnExec(t *testing.T) {
	if got := runProbe(t, "notify-cloexec", filterNone); got.err != nil || got.killed != 0 {
		t.Errorf("got %s (killed: %v); %s", errString(got.err), got.killed, got.output)
	}
}

// TestCheckListener: this machine runs the confinement tests, so it must
// be able to watch them; and the check leaves no filter behind on the
// test's own threads.
func TestCheckListener(t *testing.T) {
	if err := CheckListener(); err != nil {
		t.Fatalf("CheckListener: %v", err)
	}
	// The check's thread exits after it answers: wait for it to go.
	filtered := func() (names []string) {
		tasks, _ := os.ReadDir("/proc/self/task")
		for _, task := range tasks {
			status, err := os.ReadFile("/proc/self/task/" + task.Name() + "/status")
			if err == nil && !strings.Contains(string(status), "\nSeccomp:\t0\n") {
				names = append(names, task.Name())
			}
		}
		return names
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(filtered()) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("threads %v of the test are under a seccomp filter after CheckListener", filtered())
		}
		time.Sleep(time.Millisecond)
	}
}

func TestKernelAtLeast(t *testing.T) {
	tests := []struct {
		release string
		want    bool
	}{
		{"6.18.44-fc-v657", true},
		{"5.5.0", true},
		{"5.4.0-150-generic", false},
		{"4.19.0", false},
		{"weird", true},
	}
	for _, tt := range tests {
		if got := kernelAtLeast(tt.release, 5, 5); got != tt.want {
			t.Errorf("kernelAtLeast(%q, 5, 5) = %v, want %v", tt.release, got, tt.want)
		}
	}
}
