package confine

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// This file is the network relay of backends whose sandbox shares the
// host's network (macOS's Seatbelt): there the command cannot be given a
// loopback of its own on which sandbar's init listens, as on Linux. It has
// no build tag, so it is tested on Linux against the real proxies.
//
// The relay runs in sandbar's own process, outside the sandbox. It listens
// on a free port of 127.0.0.1 for each proxy (and on the same port of ::1,
// so that nothing else can listen behind it there), and the profile lets
// the command connect to those ports and nowhere else. Any local process
// can reach a loopback port, so a client must prove it is the command: it
// presents a credential made for the run, as the proxy authentication its
// tools already speak (the user-info of HTTP_PROXY and ALL_PROXY): HTTP
// Proxy-Authorization Basic on its first request, SOCKS5 username and
// password (RFC 1929). Then the relay connects to the proxy's Unix socket,
// sends the Hello (which never enters the sandbox) and joins the two
// connections. Tools that cannot authenticate to a proxy (the JVM) get 407.
//
// The relay reads only what it must to check the credential: the first
// request's head, passed on to the proxy byte for byte (the proxy drops
// Proxy-Authorization before forwarding a request), or the SOCKS5
// negotiation, which it answers itself and replays to the proxy as
// "no authentication", which the proxy expects after a Hello.

// loopbackUser is the user name in the proxies' URLs; only the password,
// the credential, is checked.
const loopbackUser = "sandbar"

// loopbackTimeout bounds how long a client has to authenticate.
const loopbackTimeout = 10 * time.Second

// loopbackRefusedReason is the reason of a refused client, as the proxy
// gives it for a missing Hello.
const loopbackRefusedReason = "missing or wrong credential"

type loopbackRelay struct {
	// HTTPPort and SOCKSPort are where the relay listens, on 127.0.0.1
	// and ::1.
	HTTPPort, SOCKSPort int
	// Credential is what clients must present.
	Credential string

	proxy  *Proxy
	report func(Violation)
	lns    []net.Listener
	wg     sync.WaitGroup

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

// startLoopbackRelay starts relaying to p's sockets. report, if set,
// receives the clients refused for want of the credential.
func startLoopbackRelay(p *Proxy, report func(Violation)) (*loopbackRelay, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("starting the network relay: %w", err)
	}
	r := &loopbackRelay{Credential: hex.EncodeToString(b[:]), proxy: p, report: report, conns: map[net.Conn]struct{}{}}
	for i, serve := range []func(net.Conn){r.serveHTTP, r.serveSOCKS} {
		lns, port, err := listenLoopback()
		if err != nil {
			r.Close()
			return nil, fmt.Errorf("starting the network relay: %w", err)
		}
		if i == 0 {
			r.HTTPPort = port
		} else {
			r.SOCKSPort = port
		}
		r.lns = append(r.lns, lns...)
		for _, ln := range lns {
			r.wg.Add(1)
			go r.accept(ln, serve)
		}
	}
	return r, nil
}

// listenLoopback listens on a free port of 127.0.0.1 and on the same port
// of ::1. Seatbelt's "localhost" matches both addresses; holding both
// ports keeps another program from listening behind the relay on the
// other one. Where ::1 does not exist, nothing can listen there either.
func listenLoopback() ([]net.Listener, int, error) {
	for range 20 {
		ln4, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			return nil, 0, err
		}
		port := ln4.Addr().(*net.TCPAddr).Port
		ln6, err := net.Listen("tcp6", net.JoinHostPort("::1", strconv.Itoa(port)))
		switch {
		case err == nil:
			return []net.Listener{ln4, ln6}, port, nil
		case errors.Is(err, syscall.EADDRINUSE):
			ln4.Close()
			continue
		default:
			return []net.Listener{ln4}, port, nil
		}
	}
	return nil, 0, errors.New("no port free on both 127.0.0.1 and ::1")
}

// Close stops the relay and ends every connection through it.
func (r *loopbackRelay) Close() error {
	r.mu.Lock()
	r.closed = true
	for c := range r.conns {
		c.Close()
	}
	r.mu.Unlock()
	for _, ln := range r.lns {
		ln.Close()
	}
	r.wg.Wait()
	return nil
}

func (r *loopbackRelay) track(c net.Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		c.Close()
		return false
	}
	r.conns[c] = struct{}{}
	return true
}

func (r *loopbackRelay) untrack(c net.Conn) {
	r.mu.Lock()
	delete(r.conns, c)
	r.mu.Unlock()
	c.Close()
}

func (r *loopbackRelay) accept(ln net.Listener, serve func(net.Conn)) {
	defer r.wg.Done()
	acceptAll(ln, func(c net.Conn) {
		if !r.track(c) {
			return
		}
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			defer r.untrack(c)
			serve(c)
		}()
	})
}

// acceptAll hands each connection ln accepts to handle until ln is
// closed. A failed accept (out of descriptors, most likely: the
// command's own doing) is tried again after a growing pause, rather than
// the network given up.
func acceptAll(ln net.Listener, handle func(net.Conn)) {
	var backoff time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		handle(c)
	}
}

func (r *loopbackRelay) refused() {
	if r.report != nil {
		r.report(Violation{Kind: "network", Decision: "denied", Reason: loopbackRefusedReason, Count: 1})
	}
}

// loopback407 answers an HTTP client without the credential. Its
// challenge is Basic, which is what clients answer with the user-info of
// their proxy URL.
var loopback407 = func() []byte {
	const body = "sandbar: this connection did not present the run's proxy credential (" + loopbackRefusedReason + ")\n"
	return []byte("HTTP/1.1 407 Proxy Authentication Required\r\n" +
		"Proxy-Authenticate: Basic realm=\"sandbar\"\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n" +
		"Connection: close\r\n" +
		"\r\n" + body)
}()

// serveHTTP checks the credential on the client's first request, then
// passes everything the client sent, from its first byte, to the HTTP
// proxy after the Hello.
func (r *loopbackRelay) serveHTTP(c net.Conn) {
	c.SetDeadline(time.Now().Add(loopbackTimeout))
	var seen bytes.Buffer
	// At most a request head's worth is read before the credential is
	// checked; whatever was read is replayed as it came.
	br := bufio.NewReader(io.TeeReader(io.LimitReader(c, 1<<20), &seen))
	req, err := http.ReadRequest(br)
	if err != nil {
		return
	}
	if !r.basicAuth(req.Header.Get("Proxy-Authorization")) {
		r.refused()
		c.Write(loopback407)
		lingerAfterRefusal(c)
		return
	}
	r.pass(c, r.proxy.HTTP, seen.Bytes(), nil)
}

func (r *loopbackRelay) basicAuth(h string) bool {
	scheme, cred, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Basic") {
		return false
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
	if err != nil {
		return false
	}
	_, pass, ok := strings.Cut(string(b), ":")
	return ok && r.check(pass)
}

func (r *loopbackRelay) check(pass string) bool {
	return r.Credential != "" && subtle.ConstantTimeCompare([]byte(pass), []byte(r.Credential)) == 1
}

// SOCKS5 (RFC 1928) and its username/password negotiation (RFC 1929).
const (
	socks5Version      = 0x05
	socks5NoAuth       = 0x00
	socks5UserPass     = 0x02
	socks5NoAcceptable = 0xff
	userPassVersion    = 0x01
)

// serveSOCKS negotiates username/password authentication with the client
// itself, then gives the proxy the Hello and a greeting offering no
// authentication, checks that the proxy accepts it, and from there joins
// the client and the proxy.
func (r *loopbackRelay) serveSOCKS(c net.Conn) {
	c.SetDeadline(time.Now().Add(loopbackTimeout))
	var head [2]byte
	if _, err := io.ReadFull(c, head[:]); err != nil || head[0] != socks5Version {
		return
	}
	methods := make([]byte, head[1])
	if _, err := io.ReadFull(c, methods); err != nil {
		return
	}
	if bytes.IndexByte(methods, socks5UserPass) < 0 {
		r.refused()
		c.Write([]byte{socks5Version, socks5NoAcceptable})
		return
	}
	if _, err := c.Write([]byte{socks5Version, socks5UserPass}); err != nil {
		return
	}
	var ver [2]byte
	if _, err := io.ReadFull(c, ver[:]); err != nil || ver[0] != userPassVersion {
		return
	}
	user := make([]byte, ver[1])
	if _, err := io.ReadFull(c, user); err != nil {
		return
	}
	var plen [1]byte
	if _, err := io.ReadFull(c, plen[:]); err != nil {
		return
	}
	pass := make([]byte, plen[0])
	if _, err := io.ReadFull(c, pass); err != nil {
		return
	}
	if !r.check(string(pass)) {
		r.refused()
		c.Write([]byte{userPassVersion, 0x01})
		return
	}
	if _, err := c.Write([]byte{userPassVersion, 0x00}); err != nil {
		return
	}
	// The client now sends its request, which the proxy reads after its
	// own, replayed negotiation; the proxy's choice of method is not the
	// client's to see.
	r.pass(c, r.proxy.SOCKS, []byte{socks5Version, 1, socks5NoAuth}, []byte{socks5Version, socks5NoAuth})
}

// pass connects to the proxy's socket, sends the Hello and first, reads
// and checks expect from the proxy if it is set, and then joins c and
// the proxy until both directions end.
func (r *loopbackRelay) pass(c net.Conn, sock string, first, expect []byte) {
	up, err := net.DialTimeout("unix", sock, loopbackTimeout)
	if err != nil {
		return
	}
	if !r.track(up) {
		return
	}
	defer r.untrack(up)
	up.SetDeadline(time.Now().Add(loopbackTimeout))
	msg := append(append([]byte(nil), r.proxy.Hello...), first...)
	if _, err := up.Write(msg); err != nil {
		return
	}
	if expect != nil {
		got := make([]byte, len(expect))
		if _, err := io.ReadFull(up, got); err != nil || !bytes.Equal(got, expect) {
			return
		}
	}
	c.SetDeadline(time.Time{})
	up.SetDeadline(time.Time{})
	join(c, up)
}

// join copies both ways until both directions have ended, passing an end
// of file on as a half-close. A direction that fails ends both.
func join(a, b net.Conn) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		copyAndHalfClose(b, a)
	}()
	copyAndHalfClose(a, b)
	<-done
}

func copyAndHalfClose(dst, src net.Conn) {
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		src.Close()
		return
	}
	if hc, ok := dst.(interface{ CloseWrite() error }); ok {
		hc.CloseWrite()
	} else {
		dst.Close()
	}
}

// lingerAfterRefusal ends c after a refusal was written, reading what the
// client still sends for a moment, so that closing does not reset the
// connection before the client has read the refusal.
func lingerAfterRefusal(c net.Conn) {
	c.SetDeadline(time.Now().Add(time.Second))
	if hc, ok := c.(interface{ CloseWrite() error }); ok && hc.CloseWrite() == nil {
		io.Copy(io.Discard, c)
	}
}

// loopbackEnv points the proxy settings of env at the relay. The Spec's
// environment names the addresses the Linux relay listens on inside the
// sandbox (HTTPProxyAddr, SOCKSProxyAddr, the self path for ssh); here
// the relay listens on ports of the host's loopback, chosen for the run,
// and wants the credential, so every value that names those addresses is
// rewritten, and TMPDIR is the run's private temporary directory.
func loopbackEnv(env []string, r *loopbackRelay, self, tmp string) []string {
	var rewrite *strings.Replacer
	if r != nil {
		userinfo := loopbackUser + ":" + r.Credential + "@"
		httpAddr := "127.0.0.1:" + strconv.Itoa(r.HTTPPort)
		socksAddr := "127.0.0.1:" + strconv.Itoa(r.SOCKSPort)
		_, httpPort, _ := strings.Cut(HTTPProxyAddr, ":")
		pairs := []string{
			"http://" + HTTPProxyAddr, "http://" + userinfo + httpAddr,
			"socks5h://" + SOCKSProxyAddr, "socks5h://" + userinfo + socksAddr,
			"socks5://" + SOCKSProxyAddr, "socks5://" + userinfo + socksAddr,
			// The JVM's properties: it cannot authenticate to a proxy
			// from them, but it is pointed at the right port.
			"proxyPort=" + httpPort, "proxyPort=" + strconv.Itoa(r.HTTPPort),
		}
		// ssh's ProxyCommand: sandbar's own path (the Linux sandbox
		// has it at SelfPath), told where the SOCKS relay is.
		if self != "" && ShellQuote(self) == self {
			pairs = append(pairs, SelfPath+" connect", self+" connect --via "+socksAddr)
		}
		rewrite = strings.NewReplacer(pairs...)
	}
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if name == "TMPDIR" && tmp != "" {
			continue
		}
		if rewrite != nil {
			kv = rewrite.Replace(kv)
		}
		out = append(out, kv)
	}
	if tmp != "" {
		out = append(out, "TMPDIR="+tmp)
	}
	return out
}
