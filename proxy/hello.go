package proxy

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// helloPrefix opens every Hello. It is public: it only tells a client that
// knows nothing of the preamble apart from one that does, early.
const helloPrefix = "SANDBAR/1 "

const (
	// helloTimeout bounds the wait for a connection's Hello. The relay
	// writes it as soon as it connects, so only a stray client waits this
	// long.
	helloTimeout = 10 * time.Second
	// refusalLinger bounds how long a refused connection is kept to read
	// what the client still sends, so that closing it does not reset the
	// connection before the client has read the refusal.
	refusalLinger = time.Second
)

// noHelloReason is the Reason of the Event reported for a refused
// connection.
const noHelloReason = "missing or wrong credential"

// Hello returns the bytes sandbar's relay sends first on every connection
// to either proxy:
//
//	"SANDBAR/1 " credential "\r\n"
//
// The proxy answers nothing to a valid Hello; the client's own protocol
// (HTTP or SOCKS5) follows, on the same connection or on the client's
// socket sent with the Hello (see the package documentation). credential is
// [Config.Credential]: it must be long random text, such as the 32 hex
// digits of [NewCredential], since it is all that tells the relay apart
// from any other process that can reach the proxy's socket.
func Hello(credential string) []byte {
	return []byte(helloPrefix + credential + "\r\n")
}

// NewCredential returns a new random credential: 32 hex digits (128 bits)
// from crypto/rand.
func NewCredential() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("making proxy credential: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

var errBadHello = errors.New(noHelloReason)

// readHello reads a Hello for credential from r, and nothing after it, so
// that the client's protocol can be read from r next. It asks r for the
// whole Hello at once, which is one read when the Hello arrives in one
// piece, as the relay sends it. The public prefix is compared as it
// arrives and refused at the first wrong byte, so a client that knows
// nothing of the preamble and waits for an answer (a SOCKS5 greeting is
// three bytes) gets one at once. The whole Hello, once read, is compared in
// constant time, so how soon a wrong credential is refused says nothing
// about it. An empty credential admits no one.
func readHello(r io.Reader, credential string) error {
	if credential == "" {
		return errBadHello
	}
	want := Hello(credential)
	got := make([]byte, len(want))
	for n := 0; n < len(got); {
		m, err := r.Read(got[n:])
		if p := min(n+m, len(helloPrefix)); p > n && string(got[n:p]) != helloPrefix[n:p] {
			return errBadHello
		}
		n += m
		if err != nil && n < len(got) {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
	}
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return errBadHello
	}
	return nil
}

// admitConn reads c's Hello, waiting at most helloTimeout, and returns the
// connection to serve: c itself, or the client's socket when one came with
// the Hello (see receiveHello), in which case c is closed. It runs on the
// connection's own goroutine, never on the accept loop, so a client that
// sends nothing holds up no one else. Without a valid Hello it reports the
// refusal, writes refusal to c and closes c, and any descriptor that came
// with it; nothing is decided, resolved or dialled.
func (e *engine) admitConn(c *trackedConn, refusal []byte) (*trackedConn, bool) {
	c.SetDeadline(time.Now().Add(helloTimeout))
	var client net.Conn
	var err error
	if uc, ok := c.Conn.(*net.UnixConn); ok {
		client, err = receiveHello(uc, e.cfg.Credential)
	} else {
		err = readHello(c, e.cfg.Credential)
	}
	switch {
	case err == nil && client == nil:
		c.SetDeadline(time.Time{})
		return c, true
	case err == nil:
		// The Unix connection has done its work: from here on the proxy
		// speaks to the client's own socket.
		c.Close()
		tc, err := e.conns.add(client)
		return tc, err == nil
	case errors.Is(err, net.ErrClosed):
		// The proxy is stopping and closed c itself; that refuses no one.
		c.Close()
		return nil, false
	}
	reason := noHelloReason
	var se *socketError
	if errors.As(err, &se) {
		reason = se.Error()
	}
	e.report(Event{Kind: "network", Decision: "denied", Reason: reason})
	c.SetDeadline(time.Now().Add(refusalLinger))
	if _, err := c.Write(refusal); err != nil {
		c.Close()
		return nil, false
	}
	lingerClose(c)
	return nil, false
}

// lingerClose ends c after a refusal was written to it. Closing with
// unread input would reset the connection and might discard the refusal
// before the client reads it: it ends our side, then reads until the client
// closes, or refusalLinger has passed.
func lingerClose(c *trackedConn) {
	c.SetDeadline(time.Now().Add(refusalLinger))
	if c.CloseWrite() == nil {
		io.Copy(io.Discard, c)
	}
	c.Close()
}

// socketError is a valid Hello that came with something other than none or
// one TCP socket.
type socketError struct{ msg string }

func (e *socketError) Error() string { return "the Hello came with " + e.msg }

// httpRefusal is the HTTP proxy's answer to a connection without a valid
// Hello. Its challenge names a scheme no client can answer with a header:
// the only answer is to come through the relay.
var httpRefusal = func() []byte {
	const body = "sandbar proxy: this connection did not come through sandbar's relay (" + noHelloReason + ")\n"
	return []byte("HTTP/1.1 407 Proxy Authentication Required\r\n" +
		"Proxy-Authenticate: Sandbar realm=\"sandbar\"\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n" +
		"Connection: close\r\n" +
		"\r\n" + body)
}()

// socksRefusal is the SOCKS5 proxy's answer to a connection without a valid
// Hello: version 5, no acceptable methods.
var socksRefusal = []byte{socksVersion, methodNoAcceptable}
