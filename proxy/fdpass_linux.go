package proxy

import (
	"fmt"
	"io"
	"net"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// receiveHello reads the Hello from c, a Unix connection, together with the
// descriptor the relay may send with it (SCM_RIGHTS), and returns the
// client's connection: nil when no descriptor came, so that the client's
// protocol follows on c; else the client's TCP socket, which the proxy then
// serves instead of c.
//
// The credential is checked first, exactly as on any connection
// (readHello). Only then is the descriptor looked at: one TCP socket, no
// more, or the Hello is refused. A refused Hello's descriptors are closed
// unused.
func receiveHello(c *net.UnixConn, credential string) (net.Conn, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	r := &rightsReader{rc: rc, oob: make([]byte, unix.CmsgSpace(maxHelloFDs*4))}
	if err := readHello(r, credential); err != nil {
		r.closeFDs()
		return nil, err
	}
	switch {
	case r.junk:
		r.closeFDs()
		return nil, &socketError{"control data other than descriptors"}
	case len(r.fds) == 0:
		return nil, nil
	case len(r.fds) > 1:
		n := len(r.fds)
		r.closeFDs()
		return nil, &socketError{fmt.Sprintf("%d descriptors, want one", n)}
	}
	return tcpSocket(r.fds[0])
}

// maxHelloFDs is how many descriptors receiveHello has room for in one
// read: more than the one it accepts, so that it sees a second one, and
// refuses it, rather than the kernel cutting it off. Should even more come,
// the kernel closes those that do not fit and says so (MSG_CTRUNC), which
// is refused too.
const maxHelloFDs = 4

// rightsReader reads a Unix socket with recvmsg, keeping the descriptors
// that come with the bytes. A plain read would have the kernel drop them.
type rightsReader struct {
	rc  syscall.RawConn
	oob []byte
	fds []int
	// junk is set by control data that is not descriptors, or that did
	// not fit in oob.
	junk bool
}

func (r *rightsReader) Read(b []byte) (int, error) {
	var n, oobn, flags int
	var err error
	rerr := r.rc.Read(func(fd uintptr) bool {
		for {
			// MSG_CMSG_CLOEXEC: a received descriptor is never
			// inherited by a process sandbar starts, not even for the
			// moment before it is checked.
			n, oobn, flags, _, err = unix.Recvmsg(int(fd), b, r.oob, unix.MSG_CMSG_CLOEXEC)
			if err != unix.EINTR {
				return err != unix.EAGAIN
			}
		}
	})
	if oobn > 0 {
		r.keep(r.oob[:oobn])
	}
	if flags&unix.MSG_CTRUNC != 0 {
		r.junk = true
	}
	switch {
	case rerr != nil:
		return 0, rerr
	case err != nil:
		return 0, os.NewSyscallError("recvmsg", err)
	case n == 0 && len(b) > 0:
		return 0, io.EOF
	}
	return n, nil
}

// keep takes the descriptors out of the control messages in oob.
func (r *rightsReader) keep(oob []byte) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		r.junk = true
		return
	}
	for _, m := range msgs {
		if m.Header.Level != unix.SOL_SOCKET || m.Header.Type != unix.SCM_RIGHTS {
			r.junk = true
			continue
		}
		fds, err := unix.ParseUnixRights(&m)
		if err != nil {
			r.junk = true
			continue
		}
		r.fds = append(r.fds, fds...)
	}
}

func (r *rightsReader) closeFDs() {
	for _, fd := range r.fds {
		unix.Close(fd)
	}
	r.fds = nil
}

// tcpSocket returns a connection on fd, which must be a TCP socket that is
// not listening, and closes fd. The socket's address family, type and
// protocol are asked of the kernel, so a file, a pipe, a Unix or UDP socket
// is refused before anything is read from or written to it. Multipath TCP
// counts as TCP: Go's listeners, the relay's among them, use it when the
// kernel has it.
func tcpSocket(fd int) (net.Conn, error) {
	if err := checkTCPSocket(fd); err != nil {
		unix.Close(fd)
		return nil, err
	}
	f := os.NewFile(uintptr(fd), "client socket")
	defer f.Close()
	c, err := net.FileConn(f)
	if err != nil {
		return nil, &socketError{"a TCP socket that cannot be used: " + err.Error()}
	}
	if _, ok := c.(*net.TCPConn); !ok {
		c.Close()
		return nil, &socketError{"a TCP socket that cannot be used"}
	}
	return c, nil
}

func checkTCPSocket(fd int) error {
	get := func(opt int) (int, error) { return unix.GetsockoptInt(fd, unix.SOL_SOCKET, opt) }
	domain, err := get(unix.SO_DOMAIN)
	if err != nil {
		return &socketError{"a descriptor that is not a socket"}
	}
	typ, err1 := get(unix.SO_TYPE)
	proto, err2 := get(unix.SO_PROTOCOL)
	listening, err3 := get(unix.SO_ACCEPTCONN)
	if err1 != nil || err2 != nil || err3 != nil ||
		domain != unix.AF_INET && domain != unix.AF_INET6 || typ != unix.SOCK_STREAM ||
		proto != unix.IPPROTO_TCP && proto != unix.IPPROTO_MPTCP {
		return &socketError{"a socket that is not TCP"}
	}
	if listening != 0 {
		return &socketError{"a listening socket"}
	}
	return nil
}
