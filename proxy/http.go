package proxy

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/elazarl/goproxy"
)

// ServeHTTP serves the HTTP proxy on ln until ctx ends: absolute-URI http://
// requests and CONNECT tunnels, on connections that begin with a valid
// [Hello]; any other connection gets a 407 and is closed. It returns nil
// when ctx ends, else the error that stopped it. When it returns, ln and
// every connection it accepted, tunnels included, are closed.
func ServeHTTP(ctx context.Context, ln net.Listener, cfg Config) error {
	e := newEngine(cfg)
	tl := &trackingListener{Listener: ln, t: e.conns}
	// The HTTP server sees only connections whose Hello has been read, and
	// whose first request is not a CONNECT (see serveFirstConnect).
	admitted := newConnQueue(ln.Addr())
	srv := &http.Server{
		Handler:           newHTTPHandler(e),
		ReadHeaderTimeout: time.Minute,
		IdleTimeout:       2 * time.Minute,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	stop := context.AfterFunc(ctx, func() { srv.Close(); tl.closeAll() })
	defer stop()
	defer tl.closeAll()
	served := make(chan struct{})
	go func() {
		defer close(served)
		srv.Serve(admitted)
	}()
	err := acceptLoop(ctx, tl, func(c *trackedConn) {
		c, ok := e.admitConn(c, httpRefusal)
		if !ok {
			return
		}
		if next := e.serveFirstConnect(ctx, c); next != nil {
			admitted.put(next)
		}
	})
	srv.Close()
	<-served
	if err == nil {
		return nil
	}
	return fmt.Errorf("serving http proxy: %w", err)
}

func newHTTPHandler(e *engine) http.Handler {
	gp := goproxy.NewProxyHttpServer()
	gp.Logger = log.New(io.Discard, "", 0)
	// Tunnels and requests are dialled to the checked address through
	// e.dialer, never through an upstream proxy from the environment.
	gp.ConnectDial = nil
	gp.Tr = &http.Transport{
		DialContext:         e.dialer.DialContext,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     90 * time.Second,
	}
	gp.NonproxyHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "sandbar proxy: not a proxy request (want an absolute http:// URI or CONNECT)", http.StatusBadRequest)
	})
	gp.OnRequest().DoFunc(func(r *http.Request, ctx *goproxy.ProxyCtx) (*http.Request, *http.Response) {
		return e.httpRequest(r)
	})
	// CONNECT is sandbar's own, not goproxy's: see connect. Here it
	// comes after other requests on a kept-alive connection.
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			gp.ServeHTTP(w, r)
			return
		}
		hc, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		// Every connection the server gets is a firstConn (see
		// ServeHTTP). Bytes the client sent behind the CONNECT are in
		// the server's buffer, and maybe still in the firstConn's.
		c := hc.(*firstConn)
		early, _ := rw.Reader.Peek(rw.Reader.Buffered())
		more, _ := c.r.Peek(c.r.Buffered())
		e.connect(r.Context(), c.trackedConn, r, slices.Concat(early, more))
	})
}

// httpRequest decides a plain http:// request and points it at the checked
// address; the Host header still names the host.
func (e *engine) httpRequest(r *http.Request) (*http.Request, *http.Response) {
	if r.URL.Scheme != "http" {
		return r, goproxy.NewResponse(r, goproxy.ContentTypeText, http.StatusBadRequest,
			"sandbar proxy: only http:// URIs are proxied; use CONNECT for "+r.URL.Scheme+"\n")
	}
	host, port := r.URL.Hostname(), 80
	if p := r.URL.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil {
			return r, goproxy.NewResponse(r, goproxy.ContentTypeText, http.StatusBadRequest, "sandbar proxy: invalid port "+p+"\n")
		}
		port = n
	}
	// net/http's server already replaces the Host header by the URI's
	// authority (RFC 9112 §3.2.2), so this cannot fail today; it keeps the
	// rule if that ever changes.
	if r.Host != r.URL.Host {
		o := outcome{Target: Target{Host: host, Port: port}}
		o.Decision = Decision{Deny, fmt.Sprintf("Host header %q does not match the request URI's host %q", r.Host, r.URL.Host)}
		e.report(Event{Kind: "network", Target: o.Target.String(), Decision: "denied", Reason: o.Reason})
		return r, forbidden(r, o)
	}
	o := e.admit(r.Context(), host, port)
	if o.Verdict != Allow {
		return r, forbidden(r, o)
	}
	r.URL.Host = o.addrs[0].String()
	return r, nil
}

// maxHeaderBytes bounds a first request read by serveFirstConnect, as
// net/http's DefaultMaxHeaderBytes bounds the server's.
const maxHeaderBytes = 1 << 20

// serveFirstConnect serves c's first request if it is a CONNECT, as it is
// for most connections: tools open a connection for each tunnel. It is
// served on the connection's own goroutine, without the hand-offs of
// net/http's server (to its accept loop, to a goroutine of the connection,
// and the background read it stops again to hand the connection over). Any
// other request is left to the HTTP server: serveFirstConnect returns the
// connection, with what it read of it, for the server to accept.
func (e *engine) serveFirstConnect(ctx context.Context, c *trackedConn) net.Conn {
	c.SetReadDeadline(time.Now().Add(time.Minute))
	br := bufio.NewReader(io.LimitReader(c, maxHeaderBytes))
	method, err := br.Peek(len("CONNECT "))
	if err != nil {
		// Not even a request line: nothing to answer.
		c.Close()
		return nil
	}
	if string(method) != "CONNECT " {
		c.SetReadDeadline(time.Time{})
		return &firstConn{trackedConn: c, r: br}
	}
	r, err := http.ReadRequest(br)
	if err != nil {
		r = &http.Request{Method: http.MethodConnect, ProtoMajor: 1, ProtoMinor: 1}
		answer(c, goproxy.NewResponse(r, goproxy.ContentTypeText, http.StatusBadRequest, "sandbar proxy: malformed CONNECT request\n"))
		return nil
	}
	c.SetReadDeadline(time.Time{})
	early, _ := br.Peek(br.Buffered())
	e.connect(ctx, c, r, early)
	return nil
}

// firstConn is a connection handed to the HTTP server after
// serveFirstConnect read the start of its first request: the server reads
// what was read first.
type firstConn struct {
	*trackedConn
	r *bufio.Reader
}

func (c *firstConn) Read(b []byte) (int, error) {
	if c.r.Buffered() > 0 {
		return c.r.Read(b)
	}
	return c.trackedConn.Read(b)
}

// connect serves a CONNECT request r from client: it decides the target
// and, when it is allowed, dials the checked address, answers 200 and
// joins the client to it, early (bytes the client sent behind the request)
// first. Refusals are answered with a 403, as for plain HTTP (forbidden).
// The tunnel runs on the caller's goroutine and copies between the sockets
// themselves (see tunnel), so that the bytes of an HTTPS download never
// pass through the proxy's memory; goproxy's tunnels copy through buffers,
// between the wrappers that track connections.
func (e *engine) connect(ctx context.Context, client *trackedConn, r *http.Request, early []byte) {
	h, p, err := net.SplitHostPort(r.URL.Host)
	port, perr := strconv.Atoi(p)
	if err != nil || perr != nil {
		answer(client, goproxy.NewResponse(r, goproxy.ContentTypeText, http.StatusBadRequest,
			"sandbar proxy: CONNECT wants host:port, got "+strconv.Quote(r.URL.Host)+"\n"))
		return
	}
	o := e.admit(ctx, h, port)
	if o.Verdict != Allow {
		answer(client, forbidden(r, o))
		return
	}
	serve, err := e.intercepted(ctx, o)
	if err != nil {
		answer(client, goproxy.NewResponse(r, goproxy.ContentTypeText, http.StatusForbidden,
			fmt.Sprintf("sandbar: connection to %s blocked: %v\n", o.Target, err)))
		return
	}
	if serve != nil {
		if _, err := fmt.Fprintf(client, "HTTP/%d.%d 200 Connection established\r\n\r\n", r.ProtoMajor, r.ProtoMinor); err != nil {
			client.Close()
			return
		}
		serve(ctx, &earlyConn{trackedConn: client, early: early}, e.dialTo(o))
		client.Close()
		return
	}
	c, err := e.dial(ctx, o.addrs)
	if err != nil {
		answer(client, goproxy.NewResponse(r, goproxy.ContentTypeText, http.StatusBadGateway,
			fmt.Sprintf("sandbar proxy: connecting to %s: %v\n", o.Target, err)))
		return
	}
	up, err := e.conns.add(c)
	if err != nil {
		client.Close()
		return // the proxy is stopping
	}
	if _, err := fmt.Fprintf(client, "HTTP/%d.%d 200 Connection established\r\n\r\n", r.ProtoMajor, r.ProtoMinor); err != nil {
		client.Close()
		up.Close()
		return
	}
	if len(early) > 0 {
		if _, err := up.Write(early); err != nil {
			client.Close()
			up.Close()
			return
		}
	}
	tunnel(client, up)
}

// answer writes a refusal to c and closes c.
func answer(c *trackedConn, resp *http.Response) {
	resp.Header.Set("Connection", "close")
	c.SetWriteDeadline(time.Now().Add(refusalLinger))
	if err := resp.Write(c); err != nil {
		c.Close()
		return
	}
	lingerClose(c)
}

// forbidden is the 403 a refused request gets: what was refused, why, and
// how to allow it.
func forbidden(r *http.Request, o outcome) *http.Response {
	entry := o.Host
	if o.Port != 80 && o.Port != 443 {
		entry = o.Target.String()
	}
	how := fmt.Sprintf("add %q to network.allowedDomains", entry)
	switch {
	case o.blocked.IsValid():
		how = fmt.Sprintf("list the address %q in network.allowedDomains", o.blocked.String())
	case o.Reason == "in deniedDomains":
		how = fmt.Sprintf("remove it from network.deniedDomains and add %q to network.allowedDomains", entry)
	}
	body := fmt.Sprintf("sandbar: connection to %s blocked: %s\nTo allow it, %s in .sandbar/policy.jsonc.\n", o.Target, o.Reason, how)
	resp := goproxy.NewResponse(r, goproxy.ContentTypeText, http.StatusForbidden, body)
	resp.Header.Set("Connection", "close")
	return resp
}
