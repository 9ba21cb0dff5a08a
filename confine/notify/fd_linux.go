package notify

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// SendFD sends the descriptor fd over the Unix socket sock (SCM_RIGHTS),
// with one byte of data so that a stream socket carries it. The receiver
// gets its own descriptor for the same open file; the caller still owns
// fd and usually closes it next.
//
// sandbar's init installs the notify filter inside the sandbox and hands
// the listener to sandbar this way, through one end of a socketpair it
// inherited: socket(AF_UNIX) is refused inside the sandbox, socketpair,
// sendmsg and recvmsg are not.
func SendFD(sock int, fd int) error {
	rights := unix.UnixRights(fd)
	for {
		err := unix.Sendmsg(sock, []byte{0}, rights, nil, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("sending descriptor %d on socket %d: %w", fd, sock, err)
		}
		return nil
	}
}

// RecvFD receives one descriptor sent with SendFD on the Unix socket
// sock and returns it, close-on-exec. It fails, closing whatever arrived,
// if the peer closed its end first or sent other than one descriptor.
func RecvFD(sock int) (int, error) {
	var data [1]byte
	// Room for a few descriptors, so that extra ones are seen and closed
	// rather than silently truncated.
	oob := make([]byte, unix.CmsgSpace(4*4))
	var n, oobn, flags int
	var err error
	for {
		n, oobn, flags, _, err = unix.Recvmsg(sock, data[:], oob, unix.MSG_CMSG_CLOEXEC)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return -1, fmt.Errorf("receiving descriptor on socket %d: %w", sock, err)
	}
	var fds []int
	msgs, perr := unix.ParseSocketControlMessage(oob[:oobn])
	for _, m := range msgs {
		if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SCM_RIGHTS {
			got, err := unix.ParseUnixRights(&m)
			if err == nil {
				fds = append(fds, got...)
			}
		}
	}
	fail := func(err error) (int, error) {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return -1, fmt.Errorf("receiving descriptor on socket %d: %w", sock, err)
	}
	switch {
	case perr != nil:
		return fail(perr)
	case flags&unix.MSG_CTRUNC != 0:
		return fail(errors.New("control message truncated"))
	case n == 0 && len(fds) == 0:
		return fail(errors.New("the peer closed the socket without sending one"))
	case len(fds) != 1:
		return fail(fmt.Errorf("got %d descriptors, want 1", len(fds)))
	}
	return fds[0], nil
}
