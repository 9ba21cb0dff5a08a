package notify

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"github.com/sandbar-dev/sandbar/confine/seccomp"
	"golang.org/x/sys/unix"
)

// The kernel tests run the test binary as a confined child: with
// childEnv set, TestMain runs childMain instead of the tests. The child
// creates nothing before it installs the notify filter; it sends the
// listener to the test over the socket on fd 3, then runs the operations
// named on its command line in the directory named by dirEnv and prints
// a childReport as JSON.
const (
	childEnv  = "SANDBAR_NOTIFY_CHILD"
	dirEnv    = "SANDBAR_NOTIFY_DIR"
	writesEnv = "SANDBAR_NOTIFY_WRITES" // set: the filter sends every write and socket
	noneEnv   = "SANDBAR_NOTIFY_NONE"   // set: the filter sends nothing
	childFD   = 3
)

// childReport is what the child prints.
type childReport struct {
	Pid     int      // the child's PID in its own PID namespace
	UserNS  string   // readlink /proc/self/ns/user
	Results []string // per operation: "OK" or the errno's name
}

func init() {
	if os.Getenv(childEnv) != "" {
		// Keep the main goroutine on the main thread, so that the
		// thread making the calls has the process's ID.
		runtime.LockOSThread()
	}
}

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(childMain(os.Args[1:]))
	}
	os.Exit(m.Run())
}

func childMain(ops []string) int {
	fail := func(format string, args ...any) int {
		fmt.Fprintf(os.Stderr, "notify child: "+format+"\n", args...)
		return 2
	}
	arch, err := seccomp.NativeArch()
	if err != nil {
		return fail("%v", err)
	}
	var opts seccomp.NotifyOptions
	if os.Getenv(writesEnv) != "" {
		opts = seccomp.NotifyOptions{Writes: true, UnixSockets: true, RawSockets: true}
	}
	prog, err := seccomp.BuildNotify(arch, opts)
	if err != nil {
		return fail("%v", err)
	}
	if os.Getenv(noneEnv) != "" {
		// A filter that sends nothing, for comparison.
		prog = []unix.SockFilter{{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW}}
	}
	listener, err := seccomp.InstallListener(prog)
	if err != nil {
		return fail("%v", err)
	}
	if err := SendFD(childFD, listener); err != nil {
		return fail("%v", err)
	}
	unix.Close(listener)
	unix.Close(childFD)

	if err := unix.Chdir(os.Getenv(dirEnv)); err != nil {
		return fail("chdir: %v", err)
	}
	userNS, _ := os.Readlink("/proc/self/ns/user")
	report := childReport{Pid: os.Getpid(), UserNS: userNS}
	for _, op := range ops {
		name, argString, _ := strings.Cut(op, ":")
		var args []string
		if argString != "" {
			args = strings.Split(argString, ":")
		}
		f, ok := childOps[name]
		if !ok {
			return fail("unknown operation %q", op)
		}
		result := "OK"
		if err := f(args); err != nil {
			errno, ok := err.(syscall.Errno)
			if !ok {
				return fail("%s: %v", op, err)
			}
			result = unix.ErrnoName(errno)
		}
		report.Results = append(report.Results, result)
	}
	if err := json.NewEncoder(os.Stdout).Encode(report); err != nil {
		return fail("%v", err)
	}
	return 0
}

// childOps are the operations a child can run, "name:arg:arg" on its
// command line. Each makes exactly one system call of interest, raw, so
// that the test knows which call the kernel saw.
var childOps = map[string]func(args []string) error{
	"chdir": func(a []string) error { return unix.Chdir(a[0]) },
	// read opens an existing file for reading and reads it.
	"read": func(a []string) error {
		fd, err := rawOpenat(unix.AT_FDCWD, a[0], unix.O_RDONLY, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		_, err = unix.Read(fd, make([]byte, 16))
		return err
	},
	"openat": func(a []string) error {
		return closeFD(rawOpenat(unix.AT_FDCWD, a[0], unix.O_CREAT|unix.O_WRONLY, 0o644))
	},
	"openat-excl": func(a []string) error {
		return closeFD(rawOpenat(unix.AT_FDCWD, a[0], unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY, 0o644))
	},
	"openat-wronly": func(a []string) error {
		return closeFD(rawOpenat(unix.AT_FDCWD, a[0], unix.O_WRONLY|unix.O_TRUNC, 0))
	},
	// openat-dirfd:DIR:PATH opens DIR (O_PATH: not a creating call)
	// and creates PATH relative to it.
	"openat-dirfd": func(a []string) error {
		dirfd, err := rawOpenat(unix.AT_FDCWD, a[0], unix.O_PATH|unix.O_DIRECTORY, 0)
		if err != nil {
			return err
		}
		defer unix.Close(dirfd)
		return closeFD(rawOpenat(dirfd, a[1], unix.O_CREAT|unix.O_WRONLY, 0o644))
	},
	"openat2": func(a []string) error {
		return closeFD(rawOpenat2(unix.AT_FDCWD, a[0], &unix.OpenHow{Flags: unix.O_CREAT | unix.O_WRONLY, Mode: 0o644}))
	},
	"openat2-rdonly": func(a []string) error {
		return closeFD(rawOpenat2(unix.AT_FDCWD, a[0], &unix.OpenHow{Flags: unix.O_RDONLY}))
	},
	// openat2-in-root:DIR:PATH creates PATH with DIR as the lookup's
	// root (RESOLVE_IN_ROOT).
	"openat2-in-root": func(a []string) error {
		dirfd, err := rawOpenat(unix.AT_FDCWD, a[0], unix.O_PATH|unix.O_DIRECTORY, 0)
		if err != nil {
			return err
		}
		defer unix.Close(dirfd)
		return closeFD(rawOpenat2(dirfd, a[1], &unix.OpenHow{Flags: unix.O_CREAT | unix.O_WRONLY, Mode: 0o644, Resolve: unix.RESOLVE_IN_ROOT}))
	},
	"openat-rdwr": func(a []string) error {
		return closeFD(rawOpenat(unix.AT_FDCWD, a[0], unix.O_RDWR, 0))
	},
	"openat-rdonly-trunc": func(a []string) error {
		return closeFD(rawOpenat(unix.AT_FDCWD, a[0], unix.O_RDONLY|unix.O_TRUNC, 0))
	},
	"openat-nofollow": func(a []string) error {
		return closeFD(rawOpenat(unix.AT_FDCWD, a[0], unix.O_WRONLY|unix.O_NOFOLLOW, 0))
	},
	// openat-nonblock opens for writing without waiting for a reader (a
	// FIFO with none fails with ENXIO).
	"openat-nonblock": func(a []string) error {
		return closeFD(rawOpenat(unix.AT_FDCWD, a[0], unix.O_WRONLY|unix.O_NONBLOCK, 0))
	},
	"openat-tmpfile": func(a []string) error {
		return closeFD(rawOpenat(unix.AT_FDCWD, a[0], unix.O_TMPFILE|unix.O_WRONLY, 0o600))
	},
	"openat2-wronly": func(a []string) error {
		return closeFD(rawOpenat2(unix.AT_FDCWD, a[0], &unix.OpenHow{Flags: unix.O_WRONLY}))
	},
	"truncate": func(a []string) error { return sys(unix.SYS_TRUNCATE, str(a[0]), 0) },
	"unlinkat": func(a []string) error { return sys(unix.SYS_UNLINKAT, atFDCWD, str(a[0]), 0) },
	"unlinkat-dir": func(a []string) error {
		return sys(unix.SYS_UNLINKAT, atFDCWD, str(a[0]), unix.AT_REMOVEDIR)
	},
	"fchmodat": func(a []string) error { return sys(unix.SYS_FCHMODAT, atFDCWD, str(a[0]), 0o600) },
	"fchmodat2-nofollow": func(a []string) error {
		return sys(unix.SYS_FCHMODAT2, atFDCWD, str(a[0]), 0o600, unix.AT_SYMLINK_NOFOLLOW)
	},
	"fchownat": func(a []string) error {
		return sys(unix.SYS_FCHOWNAT, atFDCWD, str(a[0]), ^uintptr(0), ^uintptr(0), 0)
	},
	// fchownat-empty:DIR changes the directory DIR through a descriptor
	// and AT_EMPTY_PATH.
	"fchownat-empty": func(a []string) error {
		fd, err := rawOpenat(unix.AT_FDCWD, a[0], unix.O_PATH|unix.O_DIRECTORY, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		return sys(unix.SYS_FCHOWNAT, uintptr(fd), str(""), ^uintptr(0), ^uintptr(0), unix.AT_EMPTY_PATH)
	},
	"utimensat": func(a []string) error { return sys(unix.SYS_UTIMENSAT, atFDCWD, str(a[0]), 0, 0) },
	"utimensat-nofollow": func(a []string) error {
		return sys(unix.SYS_UTIMENSAT, atFDCWD, str(a[0]), 0, unix.AT_SYMLINK_NOFOLLOW)
	},
	// futimens opens the file for reading and sets its times through the
	// descriptor: utimensat with a NULL path.
	"futimens": func(a []string) error {
		fd, err := rawOpenat(unix.AT_FDCWD, a[0], unix.O_RDONLY, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		return sys(unix.SYS_UTIMENSAT, uintptr(fd), 0, 0, 0)
	},
	"setxattr": func(a []string) error {
		return sys(unix.SYS_SETXATTR, str(a[0]), str("user.sandbar"), str("x"), 1, 0)
	},
	"removexattr": func(a []string) error {
		return sys(unix.SYS_REMOVEXATTR, str(a[0]), str("user.sandbar"))
	},
	"socket-unix": func([]string) error {
		fd, _, errno := unix.Syscall(unix.SYS_SOCKET, unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		return closeFD(int(fd), errnoErr(errno))
	},
	"socket-tcp": func([]string) error {
		fd, _, errno := unix.Syscall(unix.SYS_SOCKET, unix.AF_INET, unix.SOCK_STREAM, 0)
		return closeFD(int(fd), errnoErr(errno))
	},
	"mkdirat": func(a []string) error {
		return sys(unix.SYS_MKDIRAT, atFDCWD, str(a[0]), 0o755)
	},
	"mknodat": func(a []string) error {
		return sys(unix.SYS_MKNODAT, atFDCWD, str(a[0]), unix.S_IFIFO|0o644, 0)
	},
	"renameat": func(a []string) error {
		return sys(unix.SYS_RENAMEAT, atFDCWD, str(a[0]), atFDCWD, str(a[1]))
	},
	"renameat2": func(a []string) error {
		return sys(unix.SYS_RENAMEAT2, atFDCWD, str(a[0]), atFDCWD, str(a[1]), 0)
	},
	"linkat": func(a []string) error {
		return sys(unix.SYS_LINKAT, atFDCWD, str(a[0]), atFDCWD, str(a[1]), 0)
	},
	"linkat-follow": func(a []string) error {
		return sys(unix.SYS_LINKAT, atFDCWD, str(a[0]), atFDCWD, str(a[1]), unix.AT_SYMLINK_FOLLOW)
	},
	"symlinkat": func(a []string) error {
		return sys(unix.SYS_SYMLINKAT, str(a[0]), atFDCWD, str(a[1]))
	},
	// second-listener installs a filter of its own with a listener,
	// which would answer for the test's.
	"second-listener": func([]string) error {
		prog := []unix.SockFilter{{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW}}
		fprog := unix.SockFprog{Len: 1, Filter: &prog[0]}
		fd, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_NEW_LISTENER, uintptr(unsafe.Pointer(&fprog)))
		runtime.KeepAlive(prog)
		return closeFD(int(fd), errnoErr(errno))
	},
	// wait blocks until standard input is closed.
	"wait": func([]string) error {
		_, err := io.Copy(io.Discard, os.Stdin)
		return err
	},
}

// atFDCWD is AT_FDCWD (-100) as a system call argument.
var atFDCWD = func() uintptr { fd := unix.AT_FDCWD; return uintptr(fd) }()

// str returns a pointer to a NUL-terminated copy of s as an argument.
// The copy is kept reachable by strs until the child exits.
func str(s string) uintptr {
	p, err := unix.BytePtrFromString(s)
	if err != nil {
		panic(err)
	}
	strs = append(strs, p)
	return uintptr(unsafe.Pointer(p))
}

var strs []*byte

func sys(nr uintptr, args ...uintptr) error {
	var a [6]uintptr
	copy(a[:], args)
	_, _, errno := unix.Syscall6(nr, a[0], a[1], a[2], a[3], a[4], a[5])
	return errnoErr(errno)
}

func errnoErr(errno syscall.Errno) error {
	if errno != 0 {
		return errno
	}
	return nil
}

func rawOpenat(dirfd int, path string, flags int, mode uint32) (int, error) {
	fd, _, errno := unix.Syscall6(unix.SYS_OPENAT, uintptr(dirfd), str(path), uintptr(flags), uintptr(mode), 0, 0)
	if errno != 0 {
		return -1, errno
	}
	return int(fd), nil
}

func rawOpenat2(dirfd int, path string, how *unix.OpenHow) (int, error) {
	fd, _, errno := unix.Syscall6(unix.SYS_OPENAT2, uintptr(dirfd), str(path), uintptr(unsafe.Pointer(how)), unsafe.Sizeof(*how), 0, 0)
	runtime.KeepAlive(how)
	if errno != 0 {
		return -1, errno
	}
	return int(fd), nil
}

func closeFD(fd int, err error) error {
	if err == nil {
		unix.Close(fd)
	}
	return err
}
