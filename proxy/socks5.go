package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"
)

// ServeSOCKS5 serves a SOCKS5 proxy (RFC 1928) on ln until ctx ends, on
// connections that begin with a valid [Hello]; any other connection is told
// that no authentication method is acceptable and closed. After the Hello it
// offers only "no authentication required", since the connection is already
// authenticated, and only the CONNECT command. It returns nil when ctx ends;
// when it returns, ln and every connection it accepted are closed.
func ServeSOCKS5(ctx context.Context, ln net.Listener, cfg Config) error {
	e := newEngine(cfg)
	tl := &trackingListener{Listener: ln, t: e.conns}
	stop := context.AfterFunc(ctx, tl.closeAll)
	defer stop()
	defer tl.closeAll()
	err := acceptLoop(ctx, tl, func(c *trackedConn) {
		if c, ok := e.admitConn(c, socksRefusal); ok {
			e.serveSOCKS5(ctx, c)
		}
	})
	if err == nil {
		return nil
	}
	return fmt.Errorf("serving socks5 proxy: %w", err)
}

// SOCKS5 protocol constants.
const (
	socksVersion       = 5
	methodNoAuth       = 0
	methodNoAcceptable = 0xff
	cmdConnect         = 1
	atypIPv4           = 1
	atypDomain         = 3
	atypIPv6           = 4

	repSucceeded        = 0
	repGeneralFailure   = 1
	repNotAllowed       = 2
	repHostUnreachable  = 4
	repCommandNotSupp   = 7
	repAddrTypeNotSupp  = 8
	handshakeTimeout    = time.Minute
	maxSOCKSRequestSize = 4 + 1 + 255 + 2
)

// socksRequest is a parsed SOCKS5 request.
type socksRequest struct {
	Cmd  byte
	Host string // a domain name as sent, or an IP address
	Port int
}

// socksError is a request the proxy answers with a reply code and closes.
type socksError struct {
	rep byte
	msg string
}

func (e *socksError) Error() string { return e.msg }

// readGreeting reads the client's version and method list.
func readGreeting(r io.Reader) ([]byte, error) {
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, err
	}
	if h[0] != socksVersion {
		return nil, fmt.Errorf("socks version %d, want 5", h[0])
	}
	methods := make([]byte, h[1])
	_, err := io.ReadFull(r, methods)
	return methods, err
}

// readRequest reads a SOCKS5 request. An unknown address type is a
// *socksError; a command other than CONNECT is returned for the caller to
// refuse.
func readRequest(r io.Reader) (socksRequest, error) {
	var h [4]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return socksRequest{}, err
	}
	if h[0] != socksVersion {
		return socksRequest{}, &socksError{repGeneralFailure, fmt.Sprintf("socks version %d, want 5", h[0])}
	}
	req := socksRequest{Cmd: h[1]}
	var b [256]byte
	switch h[3] {
	case atypIPv4, atypIPv6:
		n := 4
		if h[3] == atypIPv6 {
			n = 16
		}
		if _, err := io.ReadFull(r, b[:n]); err != nil {
			return socksRequest{}, err
		}
		a, _ := netip.AddrFromSlice(b[:n])
		req.Host = a.String()
	case atypDomain:
		if _, err := io.ReadFull(r, b[:1]); err != nil {
			return socksRequest{}, err
		}
		n := int(b[0])
		if _, err := io.ReadFull(r, b[:n]); err != nil {
			return socksRequest{}, err
		}
		if n == 0 {
			return socksRequest{}, &socksError{repHostUnreachable, "empty domain name"}
		}
		req.Host = string(b[:n])
	default:
		return socksRequest{}, &socksError{repAddrTypeNotSupp, fmt.Sprintf("address type %d not supported", h[3])}
	}
	if _, err := io.ReadFull(r, b[:2]); err != nil {
		return socksRequest{}, err
	}
	req.Port = int(b[0])<<8 | int(b[1])
	return req, nil
}

func writeReply(w io.Writer, rep byte) error {
	// The bound address is not useful to a client of a relay; send zeros.
	_, err := w.Write([]byte{socksVersion, rep, 0, atypIPv4, 0, 0, 0, 0, 0, 0})
	return err
}

func (e *engine) serveSOCKS5(ctx context.Context, c *trackedConn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(handshakeTimeout))
	methods, err := readGreeting(c)
	if err != nil {
		return
	}
	// The Hello authenticated the connection: "no authentication
	// required" is the only method offered.
	offered := false
	for _, m := range methods {
		offered = offered || m == methodNoAuth
	}
	if !offered {
		c.Write([]byte{socksVersion, methodNoAcceptable})
		return
	}
	if _, err := c.Write([]byte{socksVersion, methodNoAuth}); err != nil {
		return
	}
	req, err := readRequest(c)
	var se *socksError
	if errors.As(err, &se) {
		writeReply(c, se.rep)
		return
	} else if err != nil {
		return
	}
	if req.Cmd != cmdConnect {
		writeReply(c, repCommandNotSupp)
		return
	}
	// An approval may take long; the connection waits for it.
	c.SetDeadline(time.Time{})
	o := e.admit(ctx, req.Host, req.Port)
	if o.Verdict != Allow {
		writeReply(c, repNotAllowed)
		return
	}
	serve, err := e.intercepted(ctx, o)
	if err != nil {
		writeReply(c, repNotAllowed)
		return
	}
	if serve != nil {
		if err := writeReply(c, repSucceeded); err != nil {
			return
		}
		serve(ctx, c, e.dialTo(o))
		return
	}
	conn, err := e.dial(ctx, o.addrs)
	if err != nil {
		writeReply(c, repHostUnreachable)
		return
	}
	up, err := e.conns.add(conn)
	if err != nil {
		return // the proxy is stopping
	}
	defer up.Close()
	if err := writeReply(c, repSucceeded); err != nil {
		return
	}
	tunnel(c, up)
}
