package proxy

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// fdRelay listens on 127.0.0.1 and hands each client to the proxy socket
// at path as sandbar's relay does: the Hello and the client's socket in one
// message, then it closes its own copies. It returns the address clients
// connect to.
func fdRelay(t testing.TB, path string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				up, err := net.Dial("unix", path)
				if err != nil {
					return
				}
				defer up.Close()
				rc, _ := c.(*net.TCPConn).SyscallConn()
				rc.Control(func(fd uintptr) {
					up.(*net.UnixConn).WriteMsgUnix(Hello(testCredential), unix.UnixRights(int(fd)), nil)
				})
			}()
		}
	}()
	return ln.Addr().String()
}

// sendHello connects to the proxy socket at path and sends hello with
// files' descriptors in one message, then closes files: from then on only
// the proxy may hold them.
func sendHello(t *testing.T, path string, hello []byte, files ...*os.File) *net.UnixConn {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	var fds []int
	for _, f := range files {
		fds = append(fds, int(f.Fd()))
	}
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	if _, _, err := c.(*net.UnixConn).WriteMsgUnix(hello, oob, nil); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		f.Close()
	}
	return c.(*net.UnixConn)
}

// tcpPair returns the two ends of a TCP connection: the peer, and the
// other end as a file to send.
func tcpPair(t *testing.T) (peer net.Conn, end *os.File) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	peer, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { peer.Close() })
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	end, err = c.(*net.TCPConn).File()
	if err != nil {
		t.Fatal(err)
	}
	return peer, end
}

// TestHelloWithSocket: a Hello that comes with the client's TCP socket is
// served on that socket, for plain HTTP, CONNECT and SOCKS5, after the
// relay has closed its copies.
func TestHelloWithSocket(t *testing.T) {
	e := startUnix(t, Config{Decider: testRules, AllowAddr: allowLoopback})
	httpRelay, socksRelay := fdRelay(t, e.httpAddr), fdRelay(t, e.socksAddr)

	c := e.client()
	tr := c.Transport.(*http.Transport)
	tr.Proxy = http.ProxyURL(&url.URL{Scheme: "http", Host: httpRelay})
	tr.DialContext = nil // the relay sends the Hello
	for _, u := range []string{"http://allowed.test/", "https://allowed.test/"} {
		if status, body := e.get(t, c, u); status != 200 || body != "host=allowed.test" {
			t.Errorf("GET %s = %d %q, want 200 host=allowed.test", u, status, body)
		}
	}

	sc, err := net.Dial("tcp", socksRelay)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	sc.Write(append(append([]byte(nil), socksGreeting...), socksConnect("echo.test", 7)...))
	var rep [12]byte
	if _, err := io.ReadFull(sc, rep[:]); err != nil || rep[3] != repSucceeded {
		t.Fatalf("socks replies %v, %v; want success", rep, err)
	}
	io.WriteString(sc, "ping")
	var b [4]byte
	if _, err := io.ReadFull(sc, b[:]); err != nil || string(b[:]) != "ping" {
		t.Errorf("echo through socks = %q, %v; want ping", b, err)
	}

	want := append(append(allowed("allowed.test:80"), allowed("allowed.test:443")...), allowed("echo.test:7")...)
	if diff := cmp.Diff(want, e.Events(), ignoreTime); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

// TestHelloOnUnixStream: on a Unix socket, a Hello that comes without a
// descriptor is followed by the client's protocol on the same connection,
// as on any other.
func TestHelloOnUnixStream(t *testing.T) {
	e := startUnix(t, Config{Decider: testRules, AllowAddr: allowLoopback})
	c, err := net.Dial("unix", e.httpAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, string(Hello(testCredential))+getReq("http://allowed.test/", "allowed.test"))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET through the Unix socket: %v, %v; want 200", resp, err)
	}

	sc, err := net.Dial("unix", e.socksAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	sc.Write(append(append(Hello(testCredential), socksGreeting...), socksConnect("echo.test", 7)...))
	var rep [12]byte
	if _, err := io.ReadFull(sc, rep[:]); err != nil || rep[3] != repSucceeded {
		t.Fatalf("socks replies %v, %v; want success", rep, err)
	}
}

// TestHelloWithBadDescriptors: a Hello that comes with anything but one TCP
// socket, or with a wrong credential, is refused as a connection without a
// Hello is, on the Unix connection; every descriptor that came with it is
// closed, unused, and nothing is dialled.
func TestHelloWithBadDescriptors(t *testing.T) {
	// Each case makes the files to send, and a check, run once the
	// refusal has come, that the proxy kept none of them open.
	type sent struct {
		files  []*os.File
		closed func(t *testing.T)
	}
	// peerSeesEOF: the proxy closed the TCP socket it was sent.
	peerSeesEOF := func(t *testing.T, peer net.Conn) {
		peer.SetReadDeadline(time.Now().Add(10 * time.Second))
		if n, err := peer.Read(make([]byte, 1)); err != io.EOF {
			t.Errorf("the peer of a socket sent with a refused Hello read %d bytes, %v; want EOF (the proxy closes the socket)", n, err)
		}
	}
	tcp := func(t *testing.T) sent {
		peer, end := tcpPair(t)
		return sent{[]*os.File{end}, func(t *testing.T) { peerSeesEOF(t, peer) }}
	}
	tests := []struct {
		name       string
		credential string
		send       func(t *testing.T) sent
		wantReason string
	}{
		{"wrong credential, with a TCP socket", "0" + testCredential[1:], tcp, noHelloReason},
		{"a pipe", testCredential, func(t *testing.T) sent {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { w.Close() })
			return sent{[]*os.File{r}, func(t *testing.T) {
				if _, err := w.Write([]byte("x")); !errors.Is(err, syscall.EPIPE) {
					t.Errorf("writing to a pipe whose read end was sent with a refused Hello: %v; want EPIPE (the proxy closes it)", err)
				}
			}}
		}, "the Hello came with a descriptor that is not a socket"},
		{"a Unix socket", testCredential, func(t *testing.T) sent {
			fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				t.Fatal(err)
			}
			peer := os.NewFile(uintptr(fds[0]), "peer")
			t.Cleanup(func() { peer.Close() })
			return sent{[]*os.File{os.NewFile(uintptr(fds[1]), "end")}, func(t *testing.T) {
				peer.SetReadDeadline(time.Now().Add(10 * time.Second))
				if n, err := peer.Read(make([]byte, 1)); err != io.EOF {
					t.Errorf("the peer of a Unix socket sent with a refused Hello read %d bytes, %v; want EOF", n, err)
				}
			}}
		}, "the Hello came with a socket that is not TCP"},
		{"a listening TCP socket", testCredential, func(t *testing.T) sent {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			f, err := ln.(*net.TCPListener).File()
			if err != nil {
				t.Fatal(err)
			}
			ln.Close()
			return sent{[]*os.File{f}, func(t *testing.T) {
				if c, err := net.Dial("tcp", ln.Addr().String()); !errors.Is(err, syscall.ECONNREFUSED) {
					if c != nil {
						c.Close()
					}
					t.Errorf("dialing a listener sent with a refused Hello: %v; want ECONNREFUSED (the proxy closes it)", err)
				}
			}}
		}, "the Hello came with a listening socket"},
		{"two TCP sockets", testCredential, func(t *testing.T) sent {
			a, b := tcp(t), tcp(t)
			return sent{append(a.files, b.files...), func(t *testing.T) { a.closed(t); b.closed(t) }}
		}, "the Hello came with 2 descriptors, want one"},
	}
	for _, proxy := range []struct {
		name    string
		refusal []byte
	}{{"http", httpRefusal}, {"socks5", socksRefusal}} {
		for _, tt := range tests {
			t.Run(proxy.name+"/"+tt.name, func(t *testing.T) {
				e := startUnix(t, Config{Decider: testRules, AllowAddr: allowLoopback})
				path := e.httpAddr
				if proxy.name == "socks5" {
					path = e.socksAddr
				}
				s := tt.send(t)
				c := sendHello(t, path, Hello(tt.credential), s.files...)
				c.SetDeadline(time.Now().Add(helloTimeout / 2))
				if got, err := io.ReadAll(c); err != nil || !bytes.Equal(got, proxy.refusal) {
					t.Errorf("proxy sent %q, %v, then closed; want %q", got, err, proxy.refusal)
				}
				s.closed(t)
				want := []Event{{Kind: "network", Decision: "denied", Reason: tt.wantReason}}
				if diff := cmp.Diff(want, e.waitEvents(t, 1), ignoreTime); diff != "" {
					t.Errorf("events (-want +got):\n%s", diff)
				}
				if q, d := e.resolver.Queries(), e.dialer.Dialed(); len(q)+len(d) != 0 {
					t.Errorf("refused connection got queries %v, dials %v; want none", q, d)
				}
			})
		}
	}
}

// TestStopEndsTunnelsOfPassedSockets is TestStopEndsTunnels for clients
// whose socket came with the Hello.
func TestStopEndsTunnelsOfPassedSockets(t *testing.T) {
	e := startUnix(t, Config{Decider: testRules, AllowAddr: allowLoopback})
	relays := map[string]string{e.httpAddr: fdRelay(t, e.httpAddr), e.socksAddr: fdRelay(t, e.socksAddr)}
	stopEndsTunnels(t, e, func(addr string) net.Conn {
		c, err := net.Dial("tcp", relays[addr])
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	})
}

// BenchmarkNewTunnel: what a new CONNECT tunnel costs, from the client's
// connect to the first byte echoed through it, with the client's socket
// passed to the proxy as sandbar's relay passes it; "direct" is the same
// exchange with the echo server itself.
//
//	go test ./proxy -run '^$' -bench NewTunnel
func BenchmarkNewTunnel(b *testing.B) {
	e := startUnix(b, Config{Decider: testRules.Compile(), AllowAddr: allowLoopback})
	relay := fdRelay(b, e.httpAddr)
	echo := e.up.echo.Addr().String()
	exchange := func(b *testing.B, c net.Conn, br *bufio.Reader) {
		if _, err := c.Write([]byte("x")); err != nil {
			b.Fatal(err)
		}
		if _, err := br.ReadByte(); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("direct", func(b *testing.B) {
		for b.Loop() {
			c, err := net.Dial("tcp", echo)
			if err != nil {
				b.Fatal(err)
			}
			exchange(b, c, bufio.NewReader(c))
			c.Close()
		}
	})
	b.Run("proxied", func(b *testing.B) {
		for b.Loop() {
			c, err := net.Dial("tcp", relay)
			if err != nil {
				b.Fatal(err)
			}
			io.WriteString(c, connectReq("echo.test:7"))
			br := bufio.NewReader(c)
			resp, err := http.ReadResponse(br, nil)
			if err != nil || resp.StatusCode != 200 {
				b.Fatalf("CONNECT: %v, %v", resp, err)
			}
			exchange(b, c, br)
			c.Close()
		}
	})
}
