package seccomp

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Options are the parts of the filter a policy may change.
type Options struct {
	// AllowUnixSockets lets the command create AF_UNIX sockets with
	// socket(2). When false, socket(AF_UNIX, ...) fails with EPERM, so the
	// command cannot connect to a Unix socket it can see in the file system
	// (a Docker or SSH agent socket bind-mounted by mistake, the D-Bus
	// session bus) nor listen on a new one. socketpair(2) stays allowed:
	// it only makes a connected pair inside the process, and many runtimes
	// and tools use it for their own plumbing.
	AllowUnixSockets bool
}

// Offsets into struct seccomp_data, the record a seccomp filter reads:
//
//	struct seccomp_data {
//		int   nr;                   // 0
//		__u32 arch;                 // 4
//		__u64 instruction_pointer;  // 8
//		__u64 args[6];              // 16, 24, ..., 56
//	};
//
// Classic BPF loads 32 bits at a time. Every Arch here is little-endian, so
// the low half of args[i] is at 16+8i.
const (
	offNR   = 0
	offArch = 4
)

func offArgLow(i int) uint32 { return uint32(16 + 8*i) }

// Instruction codes the filter uses.
const (
	opLoad = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS  // A = seccomp_data[k:k+4]
	opJEQ  = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K // A == k
	opJGE  = unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K // A >= k (unsigned)
	opJSET = unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K
	opRet  = unix.BPF_RET | unix.BPF_K
)

// Return values.
const (
	retAllow  = unix.SECCOMP_RET_ALLOW
	retKill   = unix.SECCOMP_RET_KILL_PROCESS
	retEPERM  = unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)
	retENOSYS = unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)
)

// Argument values the filter compares against. They are the asm-generic
// values, shared by every Arch here; x/sys/unix is not used for them
// because its values are those of the build architecture.
const (
	// x32Bit marks an x32 system call on x86-64 (__X32_SYSCALL_BIT).
	x32Bit = 0x40000000

	// nsFlags is every CLONE_NEW* flag. On clone(2) 0x80 (CLONE_NEWTIME)
	// lies in the exit-signal byte and no valid signal uses it, so refusing
	// it there costs nothing.
	nsFlags = unix.CLONE_NEWNS | unix.CLONE_NEWCGROUP | unix.CLONE_NEWUTS |
		unix.CLONE_NEWIPC | unix.CLONE_NEWUSER | unix.CLONE_NEWPID |
		unix.CLONE_NEWNET | unix.CLONE_NEWTIME

	tiocsti   = 0x5412 // TIOCSTI: push a byte into a terminal's input
	tioclinux = 0x541c // TIOCLINUX: virtual console commands, incl. selection paste
	afUnix    = 1      // AF_UNIX
)

// refusal refuses one system call whatever its arguments.
type refusal struct {
	syscall string
	ret     string // label of the return: "eperm" or "enosys"
	only    Arch   // if set, the system call exists only on this Arch
}

// refusals are the system calls refused outright, in filter order. The
// reason for each is in docs/seccomp.md; a test keeps that table and this
// list in step.
var refusals = []refusal{
	// Namespaces. clone and unshare are checked by their flags below.
	{syscall: "setns", ret: "eperm"},
	// clone3 takes its flags in a struct in memory, which seccomp cannot
	// read, so the namespace check on clone cannot be applied to it.
	// ENOSYS makes glibc (pthread_create, posix_spawn) and Go fall back to
	// clone, which is checked.
	{syscall: "clone3", ret: "enosys"},

	// Mounts: the sandbox's view of the file system is bwrap's to build.
	{syscall: "mount", ret: "eperm"},
	{syscall: "umount2", ret: "eperm"},
	{syscall: "pivot_root", ret: "eperm"},
	{syscall: "chroot", ret: "eperm"},
	{syscall: "move_mount", ret: "eperm"},
	{syscall: "open_tree", ret: "eperm"},
	{syscall: "open_tree_attr", ret: "eperm"},
	{syscall: "fsopen", ret: "eperm"},
	{syscall: "fsconfig", ret: "eperm"},
	{syscall: "fsmount", ret: "eperm"},
	{syscall: "fspick", ret: "eperm"},
	{syscall: "mount_setattr", ret: "eperm"},

	// io_uring performs operations (including openat, connect, socket)
	// without going through the system-call entry, so seccomp never sees
	// them.
	{syscall: "io_uring_setup", ret: "eperm"},
	{syscall: "io_uring_enter", ret: "eperm"},
	{syscall: "io_uring_register", ret: "eperm"},

	// Kernel attack surface and host-wide state.
	{syscall: "keyctl", ret: "eperm"},
	{syscall: "add_key", ret: "eperm"},
	{syscall: "request_key", ret: "eperm"},
	{syscall: "bpf", ret: "eperm"},
	{syscall: "perf_event_open", ret: "eperm"},
	{syscall: "userfaultfd", ret: "eperm"},
	{syscall: "kexec_load", ret: "eperm"},
	{syscall: "kexec_file_load", ret: "eperm"},
	{syscall: "init_module", ret: "eperm"},
	{syscall: "finit_module", ret: "eperm"},
	{syscall: "delete_module", ret: "eperm"},
	{syscall: "reboot", ret: "eperm"},
	{syscall: "swapon", ret: "eperm"},
	{syscall: "swapoff", ret: "eperm"},
	{syscall: "acct", ret: "eperm"},
	{syscall: "quotactl", ret: "eperm"},
	{syscall: "quotactl_fd", ret: "eperm"},
	{syscall: "syslog", ret: "eperm"},
	{syscall: "open_by_handle_at", ret: "eperm"},
	{syscall: "name_to_handle_at", ret: "eperm"},
	{syscall: "vhangup", ret: "eperm"},
	{syscall: "uselib", ret: "eperm", only: AMD64},
	{syscall: "lookup_dcookie", ret: "eperm"},
	{syscall: "fanotify_init", ret: "eperm"},
}

// Build returns the seccomp filter for arch. The program is a denylist:
// it refuses the system calls listed in docs/seccomp.md and allows every
// other one. It reads only the syscall number, the arch and the low 32
// bits of arguments, never memory.
func Build(arch Arch, opts Options) ([]unix.SockFilter, error) {
	b, err := newProgram(arch, "seccomp filter")
	if err != nil {
		return nil, err
	}
	a, info, nr := &b.assembler, b.info, b.nr

	// A system call from another ABI (i386 via int 0x80 on x86-64, arm32
	// compat on arm64) has other numbers, so the checks below would test
	// the wrong calls. Nothing sandbar confines needs one: kill.
	a.stmt(opLoad, offArch)
	a.jump(opJEQ, info.auditArch, "", "kill")
	a.stmt(opLoad, offNR)
	if info.x32 {
		// x32 calls share AUDIT_ARCH_X86_64 but number from 0x40000000;
		// they would miss every check below. syscall(-1) has the bit set
		// too and is let through to get ENOSYS, as libseccomp does.
		a.jump(opJGE, x32Bit, "x32", "")
	}

	// Calls refused only for some arguments come first: the kernel caches
	// "always allowed" per syscall number, but cannot cache these, so
	// they run the program on every call (ioctl is frequent).
	a.jump(opJEQ, nr("ioctl"), "ioctl", "")
	if !opts.AllowUnixSockets {
		a.jump(opJEQ, nr("socket"), "socket", "")
	}
	a.jump(opJEQ, nr("clone"), "namespace-flags", "")
	a.jump(opJEQ, nr("unshare"), "namespace-flags", "")

	for _, r := range refusals {
		if r.only != 0 && r.only != arch {
			continue
		}
		a.jump(opJEQ, nr(r.syscall), r.ret, "")
	}

	// Everything else.
	a.stmt(opRet, retAllow)

	// ioctl(fd, cmd, ...): the kernel truncates cmd to unsigned int, so
	// only the low 32 bits are compared; comparing all 64 would let
	// 0x1_0000_5412 through as TIOCSTI (CVE-2019-10063 in Flatpak).
	a.label("ioctl")
	a.stmt(opLoad, offArgLow(1))
	a.jump(opJEQ, tiocsti, "eperm", "")
	a.jump(opJEQ, tioclinux, "eperm", "allow")

	// socket(domain, type, protocol): domain is an int.
	if !opts.AllowUnixSockets {
		a.label("socket")
		a.stmt(opLoad, offArgLow(0))
		a.jump(opJEQ, afUnix, "eperm", "allow")
	}

	// clone(flags, ...) and unshare(flags): the kernel uses only the low
	// 32 bits of clone's flags, and unshare rejects any unknown bit, so
	// the low half decides.
	a.label("namespace-flags")
	a.stmt(opLoad, offArgLow(0))
	a.jump(opJSET, nsFlags, "eperm", "allow")

	if info.x32 {
		a.label("x32")
		a.jump(opJEQ, 0xffffffff, "allow", "kill")
	}

	a.label("allow")
	a.stmt(opRet, retAllow)
	a.label("eperm")
	a.stmt(opRet, retEPERM)
	a.label("enosys")
	a.stmt(opRet, retENOSYS)
	a.label("kill")
	a.stmt(opRet, retKill)
	return b.finish()
}

// program is a filter being built for one arch: the assembler, the arch's
// syscall table, and the names the table lacked, reported when the
// program is finished rather than as each one is looked up.
type program struct {
	assembler
	arch    Arch
	info    archInfo
	what    string
	missing []string
}

func newProgram(arch Arch, what string) (*program, error) {
	info, ok := archs[arch]
	if !ok {
		return nil, fmt.Errorf("building %s: unknown arch %v", what, arch)
	}
	return &program{arch: arch, info: info, what: what}, nil
}

// nr is the number of the named syscall on the program's arch.
func (p *program) nr(name string) uint32 {
	n, ok := p.info.syscalls[name]
	if !ok {
		p.missing = append(p.missing, name)
	}
	return n
}

func (p *program) finish() ([]unix.SockFilter, error) {
	if len(p.missing) > 0 {
		return nil, fmt.Errorf("building %s for %v: no syscall number for %q", p.what, p.arch, p.missing)
	}
	prog, err := p.assemble()
	if err != nil {
		return nil, fmt.Errorf("building %s for %v: %w", p.what, p.arch, err)
	}
	return prog, nil
}
