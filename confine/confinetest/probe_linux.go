package confinetest

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

const probeEnv = "SANDBAR_PROBE"

// Outcome is what a probe reports.
type Outcome struct {
	// Errno is the error number the operation failed with, 0 on success.
	Errno syscall.Errno `json:"errno"`
	// Err is the error text, for failure messages.
	Err string `json:"err,omitempty"`
	// Out is data the operation read.
	Out string `json:"out,omitempty"`
}

// Failed reports whether the operation failed with errno.
func (o Outcome) Failed(errno syscall.Errno) bool { return errors.Is(o.Errno, errno) }

func (o Outcome) String() string {
	if o.Errno == 0 && o.Err == "" {
		return fmt.Sprintf("succeeded (out %q)", o.Out)
	}
	return fmt.Sprintf("failed: %s (%s)", o.Err, unix.ErrnoName(o.Errno))
}

// Argv is the command line that runs operation op with args inside a
// sandbox. Pass Env() in the Spec's environment as well.
func Argv(op string, args ...string) []string {
	return append([]string{"/proc/self/exe", "-test.run=^$", op}, args...)
}

// Env is the environment entry that makes the test binary a probe.
func Env() string { return probeEnv + "=1" }

// Parse reads a probe's output.
func Parse(t testing.TB, stdout []byte) Outcome {
	t.Helper()
	line := strings.TrimSpace(string(stdout))
	if i := strings.LastIndexByte(line, '\n'); i >= 0 {
		line = line[i+1:]
	}
	var o Outcome
	if err := json.Unmarshal([]byte(line), &o); err != nil {
		t.Fatalf("probe printed %q, not an outcome: %v", stdout, err)
	}
	return o
}

// MaybeProbe runs the probe and exits if this process is one.
func MaybeProbe() {
	if os.Getenv(probeEnv) == "" {
		return
	}
	args := os.Args[1:]
	if len(args) > 0 && strings.HasPrefix(args[0], "-test.") {
		args = args[1:]
	}
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "probe: no operation")
		os.Exit(2)
	}
	op, ok := ops[args[0]]
	if !ok {
		fmt.Fprintf(os.Stderr, "probe: unknown operation %q\n", args[0])
		os.Exit(2)
	}
	out, err := op(args[1:])
	o := Outcome{Out: out}
	if err != nil {
		o.Err = err.Error()
		var errno syscall.Errno
		if errors.As(err, &errno) {
			o.Errno = errno
		} else {
			o.Errno = syscall.Errno(0xffff)
		}
	}
	b, _ := json.Marshal(o)
	fmt.Println(string(b))
	os.Exit(0)
}

// atFDCWD is AT_FDCWD (-100) as a system call argument.
var atFDCWD = func() uintptr { fd := unix.AT_FDCWD; return uintptr(fd) }()

var ops = map[string]func(args []string) (string, error){
	"write": func(a []string) (string, error) {
		return "", os.WriteFile(a[0], []byte("written by probe\n"), 0o644)
	},
	"append": func(a []string) (string, error) {
		f, err := os.OpenFile(a[0], os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return "", err
		}
		defer f.Close()
		_, err = f.WriteString("appended by probe\n")
		return "", err
	},
	"read": func(a []string) (string, error) {
		b, err := os.ReadFile(a[0])
		return string(b), err
	},
	// write-read writes a[0] and reads it back.
	"write-read": func(a []string) (string, error) {
		if err := os.WriteFile(a[0], []byte("written by probe\n"), 0o644); err != nil {
			return "", err
		}
		b, err := os.ReadFile(a[0])
		return string(b), err
	},
	// read-when-told prints "ready" on stdout (see ProbeWhile), waits
	// for a line on stdin, then reads a[0].
	"read-when-told": func(a []string) (string, error) {
		fmt.Println(readyLine)
		var b [1]byte
		os.Stdin.Read(b[:])
		out, err := os.ReadFile(a[0])
		return string(out), err
	},
	// spin-read reads a[0] over and over, as a command lying in wait for
	// a secret would. After its first try it prints "ready" on stdout
	// (see ProbeWhile); it keeps trying until a line arrives on stdin,
	// then tries a[1] more times. It reports the first content it ever
	// read, or else the last error.
	"spin-read": func(a []string) (string, error) {
		var read []byte
		err := spin(a[1], func() (err error) {
			read, err = os.ReadFile(a[0])
			return err
		})
		return string(read), err
	},
	// spin-write changes a[0] over and over, as a command lying in wait
	// for a protected file to become writable would: "append" opens it
	// for appending, "create" writes it whole (creating it if need be), "link" makes a hard link to it and appends through
	// that, "reopen" opens it for reading and again for writing through
	// /proc/self/fd, "replace" writes a file beside it and renames it over it. Like spin-read it prints "ready" after its first try and
	// keeps trying until a line arrives on stdin, then a[2] more times.
	// It reports success as soon as one try succeeds, or else the last
	// error. A write that reached only a file the host had just removed
	// (opened in the instant the host renamed over it) changed nothing,
	// and is no success.
	"spin-write": func(a []string) (string, error) {
		try := map[string]func() error{
			"append": func() error {
				f, err := os.OpenFile(a[0], os.O_WRONLY|os.O_APPEND, 0)
				if err != nil {
					return err
				}
				return writeLinked(f)
			},
			"create": func() error {
				return os.WriteFile(a[0], []byte("#!/bin/sh\necho written by the sandbox\n"), 0o755)
			},
			"link": func() error {
				// A hard link is another name for the same file, which
				// no mount on the old name protects.
				alias := a[0] + ".alias"
				os.Remove(alias)
				if err := os.Link(a[0], alias); err != nil {
					return err
				}
				f, err := os.OpenFile(alias, os.O_WRONLY|os.O_APPEND, 0)
				if err != nil {
					return err
				}
				return writeLinked(f)
			},
			"reopen": func() error {
				// Opened for reading, which the sandbox allows, then
				// opened again for writing through /proc/self/fd.
				r, err := os.Open(a[0])
				if err != nil {
					return err
				}
				defer r.Close()
				f, err := os.OpenFile(fmt.Sprintf("/proc/self/fd/%d", r.Fd()), os.O_WRONLY|os.O_APPEND, 0)
				if err != nil {
					return err
				}
				return writeLinked(f)
			},
			"replace": func() error {
				tmp := a[0] + ".sandbox"
				if err := os.WriteFile(tmp, []byte("written by the sandbox\n"), 0o644); err != nil {
					return err
				}
				return unix.Rename(tmp, a[0])
			},
		}[a[1]]
		if try == nil {
			return "", fmt.Errorf("spin-write: no way %q", a[1])
		}
		return "", spin(a[2], try)
	},
	"list": func(a []string) (string, error) {
		ents, err := os.ReadDir(a[0])
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		return strings.Join(names, " "), err
	},
	"mkdir":   func(a []string) (string, error) { return "", os.Mkdir(a[0], 0o755) },
	"mkdirp":  func(a []string) (string, error) { return "", os.MkdirAll(a[0], 0o755) },
	"remove":  func(a []string) (string, error) { return "", unix.Unlink(a[0]) },
	"rmdir":   func(a []string) (string, error) { return "", unix.Rmdir(a[0]) },
	"rename":  func(a []string) (string, error) { return "", unix.Rename(a[0], a[1]) },
	"symlink": func(a []string) (string, error) { return "", unix.Symlink(a[0], a[1]) },
	"link":    func(a []string) (string, error) { return "", unix.Link(a[0], a[1]) },
	"chmod":   func(a []string) (string, error) { return "", unix.Chmod(a[0], 0o777) },
	"truncate": func(a []string) (string, error) {
		return "", unix.Truncate(a[0], 0)
	},
	"chown": func(a []string) (string, error) { return "", unix.Chown(a[0], -1, -1) },
	"touch": func(a []string) (string, error) {
		return "", unix.UtimesNano(a[0], []unix.Timespec{{Nsec: unix.UTIME_NOW}, {Nsec: unix.UTIME_NOW}})
	},
	"setxattr": func(a []string) (string, error) {
		return "", unix.Setxattr(a[0], "user.sandbar-probe", []byte("x"), 0)
	},
	"socket-unix": func(a []string) (string, error) {
		fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err == nil {
			unix.Close(fd)
		}
		return "", err
	},
	"socket-raw": func(a []string) (string, error) {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_ICMP)
		if err == nil {
			unix.Close(fd)
		}
		return "", err
	},
	// threads-write starts a[0] threads, each writing a file named
	// a[1]-N (N from 0), or all the same file a[1] if a[2] is "same".
	// It reports the first error.
	"threads-write": func(a []string) (string, error) {
		n, err := strconv.Atoi(a[0])
		if err != nil {
			return "", err
		}
		same := len(a) > 2 && a[2] == "same"
		errs := make(chan error, n)
		start := make(chan struct{})
		for i := range n {
			go func() {
				// Each on a thread of its own.
				runtime.LockOSThread()
				<-start
				name := a[1]
				if !same {
					name += "-" + strconv.Itoa(i)
				}
				errs <- os.WriteFile(name, []byte("written by a thread\n"), 0o644)
			}()
		}
		close(start)
		var first error
		for range n {
			if err := <-errs; err != nil && first == nil {
				first = err
			}
		}
		return "", first
	},
	// race-symlink races the supervisor for a[2] (a duration): one
	// thread keeps turning the link a[0] between a directory in the
	// workspace and the directory a[1], another keeps writing through
	// it. It reports how many writes succeeded; the test checks that
	// none reached a[1].
	"race-symlink": func(a []string) (string, error) {
		d, err := time.ParseDuration(a[2])
		if err != nil {
			return "", err
		}
		inside := a[0] + ".inside"
		if err := os.MkdirAll(inside, 0o755); err != nil {
			return "", err
		}
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			runtime.LockOSThread()
			defer close(done)
			tmp := a[0] + ".tmp"
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				target := inside
				if i%2 == 1 {
					target = a[1]
				}
				os.Remove(tmp)
				os.Symlink(target, tmp)
				os.Rename(tmp, a[0])
			}
		}()
		wrote := 0
		deadline := time.Now().Add(d)
		for time.Now().Before(deadline) {
			fd, err := unix.Open(a[0]+"/canary.txt", unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_CLOEXEC, 0o644)
			if err != nil {
				continue
			}
			if _, err := unix.Write(fd, []byte("pwned\n")); err == nil {
				wrote++
			}
			unix.Close(fd)
		}
		close(stop)
		<-done
		return strconv.Itoa(wrote), nil
	},
	// race-string races the supervisor by rewriting, from another
	// thread, the path a call is reading: it flips a buffer between
	// a[0] (a workspace file) and a[1] (a file outside) while opening
	// it for writing, for a[2]. It reports how many writes succeeded.
	"race-string": func(a []string) (string, error) {
		d, err := time.ParseDuration(a[2])
		if err != nil {
			return "", err
		}
		n := max(len(a[0]), len(a[1])) + 1
		buf := make([]byte, n)
		paths := [2][]byte{make([]byte, n), make([]byte, n)}
		copy(paths[0], a[0])
		copy(paths[1], a[1])
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			runtime.LockOSThread()
			defer close(done)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				copy(buf, paths[i%2])
			}
		}()
		wrote := 0
		deadline := time.Now().Add(d)
		for time.Now().Before(deadline) {
			fd, _, errno := unix.Syscall6(unix.SYS_OPENAT, atFDCWD, uintptr(unsafePointer(&buf[0])),
				unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_CLOEXEC, 0o644, 0, 0)
			if errno != 0 {
				continue
			}
			if _, err := unix.Write(int(fd), []byte("pwned\n")); err == nil {
				wrote++
			}
			unix.Close(int(fd))
		}
		close(stop)
		<-done
		return strconv.Itoa(wrote), nil
	},
	"connect-unix": func(a []string) (string, error) {
		fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
		if err != nil {
			return "", err
		}
		defer unix.Close(fd)
		return "", unix.Connect(fd, &unix.SockaddrUnix{Name: a[0]})
	},
	"socketpair": func(a []string) (string, error) {
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
		if err == nil {
			unix.Close(fds[0])
			unix.Close(fds[1])
		}
		return "", err
	},
	"dial-tcp": func(a []string) (string, error) {
		c, err := net.Dial("tcp", a[0])
		if err != nil {
			var se *os.SyscallError
			if errors.As(err, &se) {
				return "", se.Err
			}
			return "", err
		}
		c.Close()
		return "", nil
	},
	// exchange dials a[0], sends a[1], half-closes and returns what comes
	// back.
	"exchange": func(a []string) (string, error) {
		c, err := net.Dial("tcp", a[0])
		if err != nil {
			var se *os.SyscallError
			if errors.As(err, &se) {
				return "", se.Err
			}
			return "", err
		}
		defer c.Close()
		if _, err := c.Write([]byte(a[1])); err != nil {
			return "", err
		}
		c.(*net.TCPConn).CloseWrite()
		b, err := io.ReadAll(c)
		return string(b), err
	},
	"ptrace-attach": func(a []string) (string, error) {
		pid, err := strconv.Atoi(a[0])
		if err != nil {
			return "", err
		}
		if err := unix.PtraceAttach(pid); err != nil {
			return "", err
		}
		// Attached: let the process go again, or its sandbox would stay
		// stopped.
		var ws unix.WaitStatus
		unix.Wait4(pid, &ws, unix.WALL, nil)
		unix.PtraceDetach(pid)
		return "attached", nil
	},
	// grep-proc reports which /proc/PID/{cmdline,environ} files it could
	// read contain the text hex-encoded in a[0] (encoded, so that the
	// probe's own command line does not contain it).
	"grep-proc": func(a []string) (string, error) {
		needle, err := hex.DecodeString(a[0])
		if err != nil {
			return "", err
		}
		ents, err := os.ReadDir("/proc")
		if err != nil {
			return "", err
		}
		var found []string
		for _, e := range ents {
			if _, err := strconv.Atoi(e.Name()); err != nil {
				continue
			}
			for _, f := range []string{"cmdline", "environ"} {
				b, err := os.ReadFile("/proc/" + e.Name() + "/" + f)
				if err == nil && bytes.Contains(b, needle) {
					found = append(found, e.Name()+"/"+f)
				}
			}
		}
		return strings.Join(found, " "), nil
	},
	"unshare-user": func(a []string) (string, error) { return "", unix.Unshare(unix.CLONE_NEWUSER) },
	"unshare-mount": func(a []string) (string, error) {
		return "", unix.Unshare(unix.CLONE_NEWNS)
	},
	"mount-tmpfs": func(a []string) (string, error) {
		return "", unix.Mount("tmpfs", a[0], "tmpfs", 0, "")
	},
	"tiocsti": func(a []string) (string, error) {
		// Push a byte into the terminal on stdin as if typed.
		b := byte('x')
		_, _, errno := unix.Syscall(unix.SYS_IOCTL, 0, unix.TIOCSTI, uintptr(unsafePointer(&b)))
		if errno != 0 {
			return "", errno
		}
		return "", nil
	},
	"pids": func(a []string) (string, error) {
		ents, err := os.ReadDir("/proc")
		var pids []string
		for _, e := range ents {
			if _, err := strconv.Atoi(e.Name()); err == nil {
				pids = append(pids, e.Name())
			}
		}
		return strings.Join(pids, " "), err
	},
	"getenv": func(a []string) (string, error) {
		v, ok := os.LookupEnv(a[0])
		if !ok {
			return "", syscall.ENOENT
		}
		return v, nil
	},
	"environ": func(a []string) (string, error) { return strings.Join(os.Environ(), "\n"), nil },
	"status-field": func(a []string) (string, error) {
		b, err := os.ReadFile("/proc/self/status")
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, a[0]+":") {
				return strings.TrimSpace(strings.TrimPrefix(l, a[0]+":")), nil
			}
		}
		return "", err
	},
	"io-uring": func(a []string) (string, error) {
		params := make([]byte, 120) // struct io_uring_params
		_, _, errno := unix.Syscall(unix.SYS_IO_URING_SETUP, 1, uintptr(unsafePointer(&params[0])), 0)
		if errno != 0 {
			return "", errno
		}
		return "", nil
	},
	"capeff": func(a []string) (string, error) {
		b, err := os.ReadFile("/proc/self/status")
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "CapEff:") {
				return strings.TrimSpace(strings.TrimPrefix(l, "CapEff:")), nil
			}
		}
		return "", err
	},
	// spawn starts a detached background process that outlives the probe
	// unless the sandbox kills it; the marker lets the host look for it.
	"spawn": func(a []string) (string, error) {
		// The shell stays (no exec), so its argv keeps the marker.
		cmd := exec.Command("/bin/sh", "-c", "sleep 1000; true", a[0])
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if err := cmd.Start(); err != nil {
			return "", err
		}
		return strconv.Itoa(cmd.Process.Pid), nil
	},
	// churn creates, writes and removes a[1] small files in directory
	// a[0], one after another: a write-heavy job.
	"churn": func(a []string) (string, error) {
		n, err := strconv.Atoi(a[1])
		if err != nil {
			return "", err
		}
		data := []byte("a small file\n")
		for i := range n {
			name := a[0] + "/f" + strconv.Itoa(i)
			fd, err := unix.Open(name, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_CLOEXEC, 0o644)
			if err != nil {
				return "", err
			}
			_, err = unix.Write(fd, data)
			unix.Close(fd)
			if err != nil {
				return "", err
			}
			if err := unix.Unlink(name); err != nil {
				return "", err
			}
		}
		return "", nil
	},
	// read-tree reads every file in every directory of directory a[0]:
	// a read-heavy job. It prints the number of bytes read.
	"read-tree": func(a []string) (string, error) {
		dirs, err := os.ReadDir(a[0])
		if err != nil {
			return "", err
		}
		b := make([]byte, 4096)
		total := 0
		for _, d := range dirs {
			dir := a[0] + "/" + d.Name()
			files, err := os.ReadDir(dir)
			if err != nil {
				return "", err
			}
			for _, f := range files {
				fd, err := unix.Open(dir+"/"+f.Name(), unix.O_RDONLY|unix.O_CLOEXEC, 0)
				if err != nil {
					return "", err
				}
				n, err := unix.Read(fd, b)
				unix.Close(fd)
				if err != nil {
					return "", err
				}
				total += n
			}
		}
		return strconv.Itoa(total), nil
	},
	"exit": func(a []string) (string, error) {
		n, _ := strconv.Atoi(a[0])
		os.Exit(n)
		return "", nil
	},
	"kill-self": func(a []string) (string, error) {
		n, _ := strconv.Atoi(a[0])
		return "", unix.Kill(os.Getpid(), syscall.Signal(n))
	},
}

// errOrphan: a write reached a file no name leads to any more.
var errOrphan = errors.New("wrote a file that was removed meanwhile")

// writeLinked writes a line to f and closes it; it reports errOrphan if
// f had no name left by then, since such a write changed nothing anyone
// will read.
func writeLinked(f *os.File) error {
	defer f.Close()
	if _, err := f.WriteString("written by the sandbox\n"); err != nil {
		return err
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return err
	}
	if st.Nlink == 0 {
		return errOrphan
	}
	return nil
}

// spin calls try until it succeeds, as a command lying in wait does: it
// prints "ready" (see ProbeWhile) after the first try, and once a line
// arrives on its standard input it tries more (a number) times again. It
// returns nil at the first success, else try's last error.
func spin(more string, try func() error) error {
	left, err := strconv.Atoi(more)
	if err != nil {
		return err
	}
	told := make(chan struct{})
	go func() {
		var b [1]byte
		os.Stdin.Read(b[:])
		close(told)
	}()
	var last error
	for i := 0; left > 0; i++ {
		if last = try(); last == nil {
			return nil
		}
		if i == 0 {
			fmt.Println(readyLine)
		}
		select {
		case <-told:
			left--
		default:
		}
	}
	return last
}
