package confine

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// readConfig reads the init's configuration from fd.
func readConfig(fd int) (initConfig, error) {
	f := os.NewFile(uintptr(fd), "config")
	b, err := io.ReadAll(io.LimitReader(f, 4<<20))
	f.Close()
	var conf initConfig
	if err == nil {
		err = json.Unmarshal(b, &conf)
	}
	if err != nil {
		return conf, fmt.Errorf("reading the init's configuration: %w", err)
	}
	return conf, nil
}

// startRelay listens on HTTPProxyAddr and SOCKSProxyAddr and hands every
// connection to the proxy sockets at fd+1 and fd+2, with the hello (see
// handOver), fd being the configuration's.
func startRelay(fd int, hello []byte) error {
	for i, addr := range []string{HTTPProxyAddr, SOCKSProxyAddr} {
		// Reached through /proc/self/fd, a magic link to the socket
		// opened outside: the path need not exist in the sandbox.
		sock := "/proc/self/fd/" + strconv.Itoa(fd+1+i)
		unix.CloseOnExec(fd + 1 + i)
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("starting the network relay: %w", err)
		}
		go relay(ln.(*net.TCPListener), sock, hello)
	}
	return nil
}

// relay accepts connections until the sandbox ends.
func relay(ln *net.TCPListener, sock string, hello []byte) {
	acceptAll(ln, func(c net.Conn) { go handOver(c.(*net.TCPConn), sock, hello) })
}

// handOver hands one client to the proxy: it sends the hello and the
// client's socket itself (SCM_RIGHTS) in one message on a new connection to
// the proxy's socket, then closes its own copies. From then on the proxy
// reads and writes the client's socket directly, so no byte passes through
// the relay, and none through an extra Unix socket. The relay never reads
// the client's bytes: the proxy decides. Should the message not go
// through, the client sees its connection closed.
func handOver(c *net.TCPConn, sock string, hello []byte) {
	defer c.Close()
	conn, err := net.Dial("unix", sock)
	if err != nil {
		// sandbar is gone or its proxy is: the command sees a closed
		// connection, never a way around.
		return
	}
	up := conn.(*net.UnixConn)
	defer up.Close()
	rc, err := c.SyscallConn()
	if err != nil {
		return
	}
	// Inside Control the socket cannot be closed under us; it is sent
	// as it is, without a duplicate to close afterwards.
	rc.Control(func(fd uintptr) {
		up.WriteMsgUnix(hello, unix.UnixRights(int(fd)), nil)
	})
}
