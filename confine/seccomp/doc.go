// Package seccomp builds the seccomp filter sandbar's Linux sandbox runs
// every confined command under.
//
// The filter is a classic BPF program, built by Build as a plain value and
// handed to bubblewrap with `bwrap --seccomp FD` (Marshal gives the bytes
// bwrap reads). bwrap installs it, with no_new_privs set, just before it
// executes the command, so the command and everything it starts run under
// it and cannot remove it. Disassemble prints the program one instruction
// a line with the syscall and constant names filled in; the golden files
// in testdata/ and `sandbar explain --seccomp` show a reviewer exactly
// what the kernel is asked to enforce. Install installs a program in the
// calling process, for tests and for code that confines itself.
//
// # Why a denylist
//
// bwrap already decides what the command can see: the mount namespace
// holds only the paths the policy grants, the network namespace has no
// route out, and the PID namespace hides the host's processes. The
// filter's job is narrower: take away the few system calls that would let
// the command undo or get around those walls, or reach kernel code that
// an ordinary program never needs and that has a long record of
// privilege-escalation bugs. Listing what is refused, as Flatpak and
// Docker do, keeps every ordinary program (compilers, package managers,
// language runtimes, test suites) working without a per-tool allowlist
// that would break whenever a runtime starts using a new system call.
//
// # What is refused
//
// Refused calls fail with EPERM, which programs already handle as "not
// allowed here", except clone3, which fails with ENOSYS so that glibc and
// Go fall back to clone. In short:
//
//   - creating or entering namespaces (unshare and clone with a CLONE_NEW*
//     flag, setns, clone3): a new user namespace would give the command
//     capabilities over new mount and network namespaces, the first step of
//     many container escapes;
//   - mounting anything (mount, umount2, pivot_root, chroot and the new
//     mount API): bwrap built the file-system view and the command must not
//     change it;
//   - io_uring, whose operations bypass seccomp;
//   - ioctl TIOCSTI and TIOCLINUX, which push keystrokes into a terminal;
//   - socket(AF_UNIX, ...) unless Options.AllowUnixSockets;
//   - keyrings, bpf, perf events, userfaultfd, kernel modules, kexec,
//     reboot, swap, accounting, quotas, the kernel log, file handles,
//     vhangup, uselib, lookup_dcookie and fanotify.
//
// A system call made through another ABI (32-bit x86 on amd64, 32-bit ARM
// on arm64, x32) kills the process: its numbers differ, so the checks
// above would test the wrong calls. docs/seccomp.md has the table with
// the reason for every entry and explains how to read the disassembly.
//
// # What it does not protect
//
// The filter does not decide which files or hosts the command reaches;
// bwrap's namespaces and sandbar's proxy do. It does not limit CPU,
// memory or process counts. It cannot read memory, so it cannot inspect
// paths or clone3's flags. It leaves every allowed system call's kernel
// code reachable, so a kernel bug there is still a way out. ptrace,
// process_vm_readv and friends stay allowed: the PID namespace confines
// them to processes in the same sandbox. personality stays allowed: its
// flags (such as turning off address-space randomisation) change only the
// caller and its children, and the kernel clears the risky ones when a
// setuid binary is executed. Netlink sockets stay allowed: tools use them
// to read interface and route state, and changing that state needs
// privilege in the network namespace.
//
// # The notify filter
//
// BuildNotify builds a second, separate filter that refuses nothing by
// itself: it sends system calls to a supervisor outside the sandbox with
// SECCOMP_RET_USER_NOTIF, and allows every other call. What it sends
// depends on NotifyOptions: the calls that create a directory entry
// (open and openat only with O_CREAT); with Writes, every call that
// changes the file system through a path (open and openat with any of
// O_WRONLY, O_RDWR, O_CREAT and O_TRUNC); socket() for Unix, raw and
// packet sockets with UnixSockets and RawSockets. InstallListener
// installs it on the calling thread and returns the listener the
// supervisor reads; package confine/notify is that supervisor, and
// CheckListener tells whether this process can have one at all. It lets
// sandbar refuse paths that do not exist yet, which no mount can
// protect, and report what the sandbox refuses. docs/notify.md and
// docs/violations.md describe it.
//
// The package builds only on Linux; on other systems it is empty.
package seccomp
