package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// Rules decides from two lists of entries, as the policy's
// network.allowedDomains and network.deniedDomains give them. An entry is
//
//	example.com        that host only, ports 80 and 443
//	*.example.com      strict subdomains of example.com (not example.com itself)
//	example.com:8443   that host, that port only
//	10.0.0.5, [::1]:8080  an IP literal, matched against the target's canonical form
//
// A denied entry without a port denies every port. Denied wins over allowed.
// A target that is an IP literal is denied unless an allowed entry lists it.
// Anything else that no entry matches is Ask. Invalid entries never match;
// [Rules.Validate] reports them.
type Rules struct {
	Allowed, Denied []string
}

type entry struct {
	host     string // canonical; for a wildcard, the suffix without "*."
	wildcard bool
	port     int        // 0: none given
	addr     netip.Addr // an IP literal's address; the zero Addr for a name
}

func parseEntry(s string) (entry, error) {
	host, port := s, ""
	switch {
	case strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]"):
	case strings.HasPrefix(s, "[") || strings.Count(s, ":") == 1:
		var err error
		if host, port, err = net.SplitHostPort(s); err != nil {
			return entry{}, err
		}
	}
	var e entry
	if port != "" {
		p, err := strconv.Atoi(port)
		if err != nil || p < 1 || p > 65535 {
			return entry{}, fmt.Errorf("invalid port %q", port)
		}
		e.port = p
	}
	if rest, ok := strings.CutPrefix(host, "*."); ok {
		e.wildcard, host = true, rest
	}
	c, err := Canonical(host)
	if err != nil {
		return entry{}, err
	}
	if a, ip := ParseIP(c); ip {
		if e.wildcard {
			return entry{}, errors.New("a wildcard cannot apply to an IP address")
		}
		e.addr = a
	}
	e.host = c
	return e, nil
}

// matchesHost reports whether the entry names host (canonical).
func (e entry) matchesHost(host string, isIP bool) bool {
	if e.wildcard {
		return !isIP && strings.HasSuffix(host, "."+e.host)
	}
	return host == e.host
}

// Validate reports every invalid entry, in one error.
func (r Rules) Validate() error {
	var errs []error
	for _, l := range []struct {
		name    string
		entries []string
	}{{"allowedDomains", r.Allowed}, {"deniedDomains", r.Denied}} {
		for i, s := range l.entries {
			if _, err := parseEntry(s); err != nil {
				errs = append(errs, fmt.Errorf("%s[%d] %q: %w", l.name, i, s, err))
			}
		}
	}
	return errors.Join(errs...)
}

// Decide implements [Decider]. It is pure: it looks at nothing but r and t.
// It parses every entry on every call; a caller that decides often, as the
// proxy does for every connection, should [Rules.Compile] once and decide
// with the result.
func (r Rules) Decide(ctx context.Context, t Target) Decision {
	return r.Compile().Decide(ctx, t)
}

// ListsAddr reports whether an allowed entry names a literally and no denied
// entry does. Like Decide, it parses every entry on every call; see
// [CompiledRules.ListsAddr].
func (r Rules) ListsAddr(a netip.Addr) bool {
	return r.Compile().ListsAddr(a)
}

// CompiledRules are [Rules] with every entry parsed and made canonical
// once, so that deciding a connection compares strings and nothing more.
// They decide exactly as the Rules they were compiled from. A nil
// *CompiledRules has no entries.
type CompiledRules struct {
	allowed, denied []entry
}

// Compile parses r's entries. Invalid entries are left out, since they
// never match; [Rules.Validate] reports them.
func (r Rules) Compile() *CompiledRules {
	parse := func(list []string) []entry {
		out := make([]entry, 0, len(list))
		for _, s := range list {
			if e, err := parseEntry(s); err == nil {
				out = append(out, e)
			}
		}
		return out
	}
	return &CompiledRules{allowed: parse(r.Allowed), denied: parse(r.Denied)}
}

// Decide implements [Decider]; see [Rules] for what the entries mean. It is
// pure: it looks at nothing but c and t.
func (c *CompiledRules) Decide(_ context.Context, t Target) Decision {
	if c == nil {
		c = &CompiledRules{}
	}
	_, isIP := ParseIP(t.Host)
	for _, e := range c.denied {
		if e.matchesHost(t.Host, isIP) && (e.port == 0 || e.port == t.Port) {
			return Decision{Deny, "in deniedDomains"}
		}
	}
	otherPort := -1 // the port of the last entry naming the host, but for other ports
	for _, e := range c.allowed {
		if !e.matchesHost(t.Host, isIP) {
			continue
		}
		if e.port == t.Port || e.port == 0 && (t.Port == 80 || t.Port == 443) {
			return Decision{Allow, "in allowedDomains"}
		}
		otherPort = e.port
	}
	if isIP {
		return Decision{Deny, "IP literal"}
	}
	if otherPort >= 0 {
		allows := "ports 80 and 443 only"
		if otherPort != 0 {
			allows = "port " + strconv.Itoa(otherPort) + " only"
		}
		return Decision{Ask, fmt.Sprintf("port %d not in allowedDomains (its entry allows %s)", t.Port, allows)}
	}
	return Decision{Ask, "not in allowedDomains"}
}

// ListsAddr reports whether an allowed entry names a literally and no denied
// entry does. Pass it as Config.AllowAddr so that a non-public address the
// policy lists can be dialled.
func (c *CompiledRules) ListsAddr(a netip.Addr) bool {
	if c == nil {
		return false
	}
	a = a.Unmap()
	for _, e := range c.denied {
		if e.addr == a {
			return false
		}
	}
	for _, e := range c.allowed {
		if e.addr == a {
			return true
		}
	}
	return false
}
