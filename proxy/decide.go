package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"
)

// Target is where a connection wants to go. Host is canonical (see
// [Canonical]); an IP literal is in its standard form, without brackets.
type Target struct {
	Host string
	Port int
}

// String returns host:port, with brackets around an IPv6 host.
func (t Target) String() string { return net.JoinHostPort(t.Host, strconv.Itoa(t.Port)) }

// Verdict is a [Decider]'s answer. The zero Verdict is Deny.
type Verdict int

const (
	Deny  Verdict = iota
	Allow         // connect, subject to the address checks
	Ask           // ask the Approver; without one, deny
)

func (v Verdict) String() string {
	switch v {
	case Allow:
		return "allow"
	case Ask:
		return "ask"
	}
	return "deny"
}

// Decision is a verdict and why, in words a user reads in a 403 body and in
// the run report, such as "not in allowedDomains".
type Decision struct {
	Verdict Verdict
	Reason  string
}

// Decider decides a target. The proxy calls it once per connection (per
// request for plain HTTP), at connection time, so a Decider that reads the
// current policy makes policy changes apply to commands already running.
type Decider interface {
	Decide(ctx context.Context, t Target) Decision
}

// Approver answers an Ask. The connection is held open while it waits; ctx
// ends if the proxy stops. An error, like false, denies.
type Approver interface {
	Approve(ctx context.Context, t Target) (bool, error)
}

// Resolver resolves names; *net.Resolver satisfies it.
type Resolver interface {
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
}

// Dialer dials; *net.Dialer satisfies it. The proxy only ever asks it for
// "tcp" to an IP address it has checked.
type Dialer interface {
	DialContext(ctx context.Context, network, addr string) (net.Conn, error)
}

// Event records one decision, for the run report. A connection refused for
// want of a valid [Hello] is an Event too, with an empty Target (it was
// refused before it named one) and Reason "missing or wrong credential".
type Event struct {
	Kind     string // "network"
	Target   string // host:port as requested, canonical when it could be made so; "" before the Hello
	Decision string // "allowed" or "denied"
	Reason   string
	Time     time.Time
}

// Config is what both proxies need.
type Config struct {
	// Decider decides every target. Required: without one everything is
	// denied.
	Decider Decider
	// Approver answers Ask. Nil: Ask means deny.
	Approver Approver
	// Resolver resolves allowed names. Nil: net.DefaultResolver.
	Resolver Resolver
	// Dialer dials the checked addresses. Nil: a net.Dialer.
	Dialer Dialer
	// Credential is the per-run secret every connection must begin with,
	// in its [Hello]. It must be long random text: use [NewCredential].
	// Empty: every connection is refused.
	Credential string
	// AllowAddr says which non-public addresses (loopback, link-local,
	// private, unique-local, CGNAT, multicast, unspecified, reserved) may
	// be dialled. Nil: none. Production passes CompiledRules.ListsAddr;
	// tests pass a function admitting their 127.0.0.1 servers.
	AllowAddr func(netip.Addr) bool
	// OnEvent, if set, receives every decision, and every connection
	// refused for want of a valid Hello. It must not block for long: it
	// runs on the connection's goroutine.
	OnEvent func(Event)
	// Interceptor, if set, may take over allowed tunnels (see
	// [Interceptor]). Nil: every tunnel is opaque.
	Interceptor Interceptor
}

type engine struct {
	cfg      Config
	resolver Resolver
	dialer   Dialer
	// conns are the proxy's open connections, closed when it stops.
	conns *tracker
}

func newEngine(cfg Config) *engine {
	e := &engine{cfg: cfg, resolver: cfg.Resolver, dialer: cfg.Dialer, conns: newTracker()}
	if e.resolver == nil {
		e.resolver = net.DefaultResolver
	}
	if e.dialer == nil {
		e.dialer = &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	}
	return e
}

// outcome is what admit found about one connection.
type outcome struct {
	Target
	Decision                  // Allow or Deny, never Ask
	addrs    []netip.AddrPort // when allowed: the checked addresses, in the resolver's order
	blocked  netip.Addr       // when refused for an address: that address
}

// admit decides host:port and, when allowed, resolves and checks it. It
// reports the final decision as an Event.
func (e *engine) admit(ctx context.Context, host string, port int) outcome {
	o := outcome{Target: Target{Host: host, Port: port}}
	e.decide(ctx, &o)
	ev := Event{Kind: "network", Target: o.Target.String(), Decision: "denied", Reason: o.Reason}
	if o.Verdict == Allow {
		ev.Decision = "allowed"
	}
	e.report(ev)
	return o
}

// report passes ev, stamped with the time, to Config.OnEvent.
func (e *engine) report(ev Event) {
	if e.cfg.OnEvent != nil {
		ev.Time = time.Now()
		e.cfg.OnEvent(ev)
	}
}

func (e *engine) decide(ctx context.Context, o *outcome) {
	deny := func(reason string) { o.Decision = Decision{Deny, reason} }
	if o.Port < 1 || o.Port > 65535 {
		deny(fmt.Sprintf("invalid port %d", o.Port))
		return
	}
	c, err := Canonical(o.Host)
	if err != nil {
		deny("invalid host: " + err.Error())
		return
	}
	o.Host = c
	if e.cfg.Decider == nil {
		deny("no policy")
		return
	}
	o.Decision = e.cfg.Decider.Decide(ctx, o.Target)
	if o.Verdict == Ask {
		o.Decision = e.ask(ctx, o.Target, o.Decision)
	}
	if o.Verdict != Allow {
		o.Verdict = Deny
		return
	}
	// Only now, once the name is allowed, is it resolved.
	var ips []netip.Addr
	a, literal := ParseIP(o.Host)
	if literal {
		ips = []netip.Addr{a}
	} else {
		res, err := e.resolver.LookupIPAddr(ctx, o.Host)
		if err != nil {
			deny("resolving " + o.Host + ": " + err.Error())
			return
		}
		for _, r := range res {
			if a, ok := netip.AddrFromSlice(r.IP); ok {
				ips = append(ips, a.Unmap())
			}
		}
		if len(ips) == 0 {
			deny("resolving " + o.Host + ": no addresses")
			return
		}
	}
	// Every address must pass, not just the one dialled first: a name with
	// one public and one internal address is refused.
	for _, a := range ips {
		if class := addrClass(a); class != "" && (e.cfg.AllowAddr == nil || !e.cfg.AllowAddr(a)) {
			verb := "resolves to"
			if literal {
				verb = "is"
			}
			deny(fmt.Sprintf("%s a %s address %s", verb, class, a))
			o.blocked = a
			return
		}
		o.addrs = append(o.addrs, netip.AddrPortFrom(a, uint16(o.Port)))
	}
}

func (e *engine) ask(ctx context.Context, t Target, d Decision) Decision {
	if e.cfg.Approver == nil {
		return Decision{Deny, d.Reason + "; no one to ask"}
	}
	ok, err := e.cfg.Approver.Approve(ctx, t)
	switch {
	case err != nil:
		return Decision{Deny, d.Reason + "; approval failed: " + err.Error()}
	case !ok:
		return Decision{Deny, d.Reason + "; denied by approver"}
	}
	return Decision{Allow, "approved"}
}

// dial connects to the first of addrs that answers. addrs were checked by
// admit; no name is resolved here.
func (e *engine) dial(ctx context.Context, addrs []netip.AddrPort) (net.Conn, error) {
	var errs []error
	for _, a := range addrs {
		c, err := e.dialer.DialContext(ctx, "tcp", a.String())
		if err == nil {
			return c, nil
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}
