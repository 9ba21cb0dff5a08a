package host

import (
	"net"
	"os"
)

// sameUser says whether the process at the other end of c runs as this
// user.
func sameUser(c net.Conn) bool {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return false
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return false
	}
	var uid int
	var uerr error
	if err := raw.Control(func(fd uintptr) { uid, uerr = peerUID(int(fd)) }); err != nil || uerr != nil {
		return false
	}
	return uid == os.Getuid()
}
