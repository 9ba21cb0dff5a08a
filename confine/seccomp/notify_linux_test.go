package seccomp

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"unsafe"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

func TestDisassembleNotifyGolden(t *testing.T) {
	tests := []struct {
		file string
		arch Arch
	}{
		{"notify-amd64.golden", AMD64},
		{"notify-arm64.golden", ARM64},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			prog, err := BuildNotify(tt.arch)
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
				t.Errorf("Disassemble(BuildNotify(%v)) mismatch (-want +got); if the change is intended, run `go test ./confine/seccomp -update`:\n%s", tt.arch, diff)
			}
		})
	}
}

// TestNotifyDecisions runs the notify filter in the interpreter, for both
// architectures.
func TestNotifyDecisions(t *testing.T) {
	type call struct {
		name string
		args [6]uint64
	}
	const (
		oRDONLY = 0
		oWRONLY = 1
		oTRUNC  = 0o1000
		oEXCL   = 0o200
		atFDCWD = 0xffffff9c // AT_FDCWD (-100) as the low 32 bits
	)
	tests := []struct {
		name string
		only Arch // run only for this Arch when set
		call call
		want uint32
	}{
		{"getpid allowed", 0, call{name: "getpid"}, retAllow},
		{"openat O_RDONLY allowed", 0, call{"openat", [6]uint64{atFDCWD, 0, oRDONLY}}, retAllow},
		{"openat O_WRONLY|O_TRUNC allowed", 0, call{"openat", [6]uint64{atFDCWD, 0, oWRONLY | oTRUNC}}, retAllow},
		{"openat O_CREAT", 0, call{"openat", [6]uint64{atFDCWD, 0, oWRONLY | oCreat}}, retNotify},
		{"openat O_CREAT|O_EXCL", 0, call{"openat", [6]uint64{atFDCWD, 0, oCreat | oEXCL}}, retNotify},
		{"openat O_CREAT with high bits", 0, call{"openat", [6]uint64{atFDCWD, 0, 1<<40 | oCreat}}, retNotify},
		{"openat O_CREAT in the mode is not a flag", 0, call{"openat", [6]uint64{atFDCWD, 0, oRDONLY, oCreat}}, retAllow},
		{"openat dirfd with O_CREAT's bit is not a flag", 0, call{"openat", [6]uint64{oCreat, 0, oRDONLY}}, retAllow},
		{"open O_RDONLY allowed", AMD64, call{"open", [6]uint64{0, oRDONLY}}, retAllow},
		{"open O_CREAT", AMD64, call{"open", [6]uint64{0, oCreat | oWRONLY}}, retNotify},
		{"open O_CREAT in the mode is not a flag", AMD64, call{"open", [6]uint64{0, oRDONLY, oCreat}}, retAllow},
		{"openat2 always", 0, call{name: "openat2"}, retNotify},
		{"creat", AMD64, call{name: "creat"}, retNotify},
		{"mkdir", AMD64, call{name: "mkdir"}, retNotify},
		{"mkdirat", 0, call{name: "mkdirat"}, retNotify},
		{"mknod", AMD64, call{name: "mknod"}, retNotify},
		{"mknodat", 0, call{name: "mknodat"}, retNotify},
		{"rename", AMD64, call{name: "rename"}, retNotify},
		{"renameat", 0, call{name: "renameat"}, retNotify},
		{"renameat2", 0, call{name: "renameat2"}, retNotify},
		{"link", AMD64, call{name: "link"}, retNotify},
		{"linkat", 0, call{name: "linkat"}, retNotify},
		{"symlink", AMD64, call{name: "symlink"}, retNotify},
		{"symlinkat", 0, call{name: "symlinkat"}, retNotify},
		{"unlinkat allowed", 0, call{name: "unlinkat"}, retAllow},
		{"seccomp NEW_LISTENER refused", 0, call{"seccomp", [6]uint64{unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_NEW_LISTENER}}, retEPERM},
		{"seccomp NEW_LISTENER|TSYNC_ESRCH refused", 0, call{"seccomp", [6]uint64{unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_NEW_LISTENER | unix.SECCOMP_FILTER_FLAG_TSYNC_ESRCH}}, retEPERM},
		{"seccomp NEW_LISTENER with high bits refused", 0, call{"seccomp", [6]uint64{unix.SECCOMP_SET_MODE_FILTER, 1<<32 | unix.SECCOMP_FILTER_FLAG_NEW_LISTENER}}, retEPERM},
		{"seccomp TSYNC allowed", 0, call{"seccomp", [6]uint64{unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC}}, retAllow},
		{"seccomp no flags allowed", 0, call{"seccomp", [6]uint64{unix.SECCOMP_SET_MODE_FILTER, 0}}, retAllow},
		{"seccomp op equal to the flag allowed", 0, call{"seccomp", [6]uint64{unix.SECCOMP_FILTER_FLAG_NEW_LISTENER, 0}}, retAllow},
		{"read allowed", 0, call{name: "read"}, retAllow},
	}
	// Numbers of calls the filters do not name, so not in archs.
	extra := map[Arch]map[string]uint32{
		AMD64: {"getpid": 39, "unlinkat": 263, "read": 0},
		ARM64: {"getpid": 172, "unlinkat": 35, "read": 63},
	}
	for _, arch := range []Arch{AMD64, ARM64} {
		prog, err := BuildNotify(arch)
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
				got := evaluate(t, prog, seccompData{nr: nr, arch: archs[arch].auditArch, args: tt.call.args})
				if got != tt.want {
					t.Errorf("%s(%#x) = %s, want %s", tt.call.name, tt.call.args, actionName(got), actionName(tt.want))
				}
			})
		}
	}
}

// TestNotifyArchChecks: foreign calls are the main filter's to kill; this
// one lets them through rather than sending numbers it would misread.
func TestNotifyArchChecks(t *testing.T) {
	amd64, err := BuildNotify(AMD64)
	if err != nil {
		t.Fatal(err)
	}
	arm64, err := BuildNotify(ARM64)
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
	if _, err := BuildNotify(Arch(0)); err == nil {
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
		"fchmodat":        func(dir string) error { return unix.Chmod(filepath.Join(dir, "existing"), 0o600) },
		"openat-tmpfile":  func(dir string) error { return closeFD(unix.Open(dir, unix.O_TMPFILE|unix.O_WRONLY, 0o600)) },
		"second-listener": func(string) error { return closeFD(installAllow(unix.SECCOMP_FILTER_FLAG_NEW_LISTENER)) },
		"second-filter":   func(string) error { return closeFD(installAllow(0)) },
	} {
		probes["notify-closed-"+name] = notifyProbe(true, p)
		probes["notify-control-"+name] = notifyProbe(false, p)
	}
	probes["notify-cloexec"] = func(func() error) error {
		prog, err := nativeNotify()
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

func nativeNotify() ([]unix.SockFilter, error) {
	arch, err := NativeArch()
	if err != nil {
		return nil, err
	}
	return BuildNotify(arch)
}

func closeFD(fd int, err error) error {
	if err == nil {
		unix.Close(fd)
	}
	return err
}

// notifyProbe prepares a directory holding the file "existing", installs
// the notify filter and closes its listener when install is set, and runs
// op in the directory.
func notifyProbe(install bool, op func(dir string) error) probe {
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
			prog, err := nativeNotify()
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
// refuses.
func TestNotifyKernel(t *testing.T) {
	tests := []struct {
		name string
		op   string
		want error
	}{
		{"mkdir is sent", "mkdir", unix.ENOSYS},
		{"openat O_CREAT is sent", "openat-creat", unix.ENOSYS},
		{"symlinkat is sent", "symlinkat", unix.ENOSYS},
		{"renameat2 is sent", "renameat2", unix.ENOSYS},
		{"openat O_RDONLY stays in the kernel", "openat-rdonly", nil},
		{"openat O_WRONLY|O_TRUNC stays in the kernel", "openat-wronly", nil},
		{"openat O_TMPFILE stays in the kernel (no directory entry)", "openat-tmpfile", nil},
		{"unlinkat stays in the kernel", "unlinkat", nil},
		{"fchmodat stays in the kernel", "fchmodat", nil},
		// A second listener would answer for the first; see BuildNotify.
		{"a filter with a listener of its own is refused", "second-listener", unix.EPERM},
		{"a filter without a listener is allowed", "second-filter", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := runProbe(t, "notify-closed-"+tt.op, filterNone)
			if got.killed != 0 {
				t.Fatalf("probe killed by %v; %s", got.killed, got.output)
			}
			if !errors.Is(got.err, tt.want) {
				t.Errorf("under the notify filter with no listener: got %s, want %s", errString(got.err), errString(tt.want))
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
