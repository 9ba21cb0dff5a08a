package proxy

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
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
	tl := track(ln)
	// The HTTP server sees only connections whose Hello has been read.
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
	err := acceptLoop(ctx, tl, func(c net.Conn) {
		if e.admitConn(c, httpRefusal) {
			admitted.put(c)
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
	gp.OnRequest().HandleConnectFunc(func(host string, ctx *goproxy.ProxyCtx) (*goproxy.ConnectAction, string) {
		return e.connect(host, ctx)
	})
	return gp
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

func (e *engine) connect(host string, ctx *goproxy.ProxyCtx) (*goproxy.ConnectAction, string) {
	h, p, err := net.SplitHostPort(host)
	port, perr := strconv.Atoi(p)
	if err != nil || perr != nil {
		ctx.Resp = goproxy.NewResponse(ctx.Req, goproxy.ContentTypeText, http.StatusBadRequest,
			"sandbar proxy: CONNECT wants host:port, got "+strconv.Quote(host)+"\n")
		return goproxy.RejectConnect, host
	}
	o := e.admit(ctx.Req.Context(), h, port)
	if o.Verdict != Allow {
		ctx.Resp = forbidden(ctx.Req, o)
		return goproxy.RejectConnect, host
	}
	ctx.Dialer = func(ctx context.Context, _, _ string) (net.Conn, error) {
		return e.dial(ctx, o.addrs)
	}
	return goproxy.OkConnect, host
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
