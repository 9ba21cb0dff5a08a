package notify

import (
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

func socketpair(t *testing.T) (a, b int) {
	t.Helper()
	sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(sp[0]); unix.Close(sp[1]) })
	return sp[0], sp[1]
}

func pipe(t *testing.T) (r, w int) {
	t.Helper()
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(p[0]); unix.Close(p[1]) })
	return p[0], p[1]
}

// TestSendRecvFD passes a pipe's write end and writes through the copy.
func TestSendRecvFD(t *testing.T) {
	a, b := socketpair(t)
	r, w := pipe(t)
	if err := SendFD(a, w); err != nil {
		t.Fatal(err)
	}
	got, err := RecvFD(b)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(got)
	if got == w {
		t.Fatalf("RecvFD returned the sent descriptor number %d itself", got)
	}
	if _, err := unix.Write(got, []byte("x")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1)
	if n, err := unix.Read(r, buf); err != nil || string(buf[:n]) != "x" {
		t.Errorf("read %q, %v through the pipe, want \"x\"", buf[:n], err)
	}
	flags, err := unix.FcntlInt(uintptr(got), unix.F_GETFD, 0)
	if err != nil {
		t.Fatal(err)
	}
	if flags&unix.FD_CLOEXEC == 0 {
		t.Error("received descriptor is not close-on-exec")
	}
}

func TestRecvFDErrors(t *testing.T) {
	tests := []struct {
		name string
		send func(t *testing.T, sock int)
		want string
	}{
		{"peer closed", func(t *testing.T, sock int) { unix.Close(sock) }, "closed the socket"},
		{"data without a descriptor", func(t *testing.T, sock int) {
			if _, err := unix.Write(sock, []byte{0}); err != nil {
				t.Fatal(err)
			}
		}, "got 0 descriptors"},
		{"two descriptors", func(t *testing.T, sock int) {
			r, w := pipe(t)
			if err := unix.Sendmsg(sock, []byte{0}, unix.UnixRights(r, w), nil, 0); err != nil {
				t.Fatal(err)
			}
		}, "got 2 descriptors"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := socketpair(t)
			tt.send(t, a)
			fd, err := RecvFD(b)
			if err == nil {
				unix.Close(fd)
				t.Fatal("RecvFD succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("RecvFD error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestKernelStructSizes checks the structures declared here against the
// sizes the kernel encoded in the ioctl numbers (_IOC_SIZE).
func TestKernelStructSizes(t *testing.T) {
	size := func(req uint) uintptr { return uintptr(req>>16) & 0x3fff }
	tests := []struct {
		name string
		req  uint
		got  uintptr
	}{
		{"struct seccomp_notif", unix.SECCOMP_IOCTL_NOTIF_RECV, unsafe.Sizeof(seccompNotif{})},
		{"struct seccomp_notif_resp", unix.SECCOMP_IOCTL_NOTIF_SEND, unsafe.Sizeof(seccompNotifResp{})},
		{"notification id", unix.SECCOMP_IOCTL_NOTIF_ID_VALID, unsafe.Sizeof(uint64(0))},
	}
	for _, tt := range tests {
		if want := size(tt.req); tt.got != want {
			t.Errorf("%s: %d bytes, the ioctl number says %d", tt.name, tt.got, want)
		}
	}
}
