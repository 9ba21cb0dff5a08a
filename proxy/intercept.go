package proxy

import (
	"context"
	"net"
)

// Interceptor takes over the tunnels to some targets: instead of joining
// the client to the target, the proxy hands the client's connection to
// the function Intercept returns. Sandbar's git checks (package gitguard)
// use it to terminate TLS for the git hosts the policy lists; every other
// tunnel stays opaque.
type Interceptor interface {
	// Intercept is asked about every tunnel (HTTP CONNECT or SOCKS5
	// CONNECT) that was allowed and whose addresses passed the checks,
	// before anything is dialled. It returns nil to leave the tunnel
	// opaque, or the function that serves it. An error refuses the
	// tunnel: a target that must be checked is never passed through
	// unchecked.
	Intercept(ctx context.Context, t Target) (ServeTunnel, error)
}

// ServeTunnel serves the client's side of an intercepted tunnel, once the
// proxy has told the client the tunnel is open, until the client is done;
// the proxy closes client afterwards. dial connects to the target's
// checked addresses, as a tunnel would; the connections it returns, like
// client, are closed when the proxy stops.
type ServeTunnel func(ctx context.Context, client net.Conn, dial func(context.Context) (net.Conn, error))

// intercepted asks Config.Interceptor about an allowed target.
func (e *engine) intercepted(ctx context.Context, o outcome) (ServeTunnel, error) {
	if e.cfg.Interceptor == nil {
		return nil, nil
	}
	serve, err := e.cfg.Interceptor.Intercept(ctx, o.Target)
	if err != nil {
		e.report(Event{Kind: "network", Target: o.Target.String(), Decision: "denied", Reason: err.Error()})
	}
	return serve, err
}

// dialTo returns the dial function of an intercepted tunnel to o.
func (e *engine) dialTo(o outcome) func(context.Context) (net.Conn, error) {
	return func(ctx context.Context) (net.Conn, error) {
		c, err := e.dial(ctx, o.addrs)
		if err != nil {
			return nil, err
		}
		return e.conns.add(c)
	}
}

// earlyConn reads the bytes the client sent behind its CONNECT first.
type earlyConn struct {
	*trackedConn
	early []byte
}

func (c *earlyConn) Read(b []byte) (int, error) {
	if len(c.early) > 0 {
		n := copy(b, c.early)
		c.early = c.early[n:]
		return n, nil
	}
	return c.trackedConn.Read(b)
}
