package proxy

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// Canonical returns the form of host that rules are matched against: for a
// name, lower case, without a trailing dot, internationalised labels in
// punycode (IDNA lookup profile); for an IP literal in any spelling, the
// address's standard form (see [ParseIP]). A name whose last label is a
// number but which is not a valid IPv4 literal is an error, as it is for URL
// parsers: such names are how resolvers are tricked into treating text as an
// address.
func Canonical(host string) (string, error) {
	if a, ok := ParseIP(host); ok {
		return a.String(), nil
	}
	name := strings.TrimSuffix(host, ".")
	if name == "" {
		return "", errors.New("empty host name")
	}
	if endsInNumber(name) {
		return "", fmt.Errorf("host %q looks like an IPv4 address but is not a valid one", host)
	}
	if !utf8.ValidString(name) {
		return "", fmt.Errorf("host %q is not valid UTF-8", host)
	}
	ascii, err := idna.Lookup.ToASCII(name)
	if err != nil {
		return "", fmt.Errorf("host %q: %w", host, err)
	}
	// A canonical name must map to itself, so that it matches the same
	// entries however often it is canonicalised.
	if again, err := idna.Lookup.ToASCII(ascii); err != nil || again != ascii {
		return "", fmt.Errorf("host %q: not a stable IDNA name", host)
	}
	// The IDNA mapping turns full-width digits and ideographic full stops
	// into ASCII, so the mapped form gets the IP checks again.
	ascii = strings.TrimSuffix(ascii, ".")
	if a, ok := ParseIP(ascii); ok {
		return a.String(), nil
	}
	if ascii == "" || endsInNumber(ascii) {
		return "", fmt.Errorf("host %q looks like an IPv4 address but is not a valid one", host)
	}
	for l := range strings.SplitSeq(ascii, ".") {
		if l == "" {
			return "", fmt.Errorf("host %q has an empty label", host)
		}
	}
	return ascii, nil
}

// ParseIP reports whether host is an IP address literal and returns the
// address. It accepts what resolvers and URL parsers accept, so that no
// spelling slips past a rule: IPv6 with or without brackets (a zone is
// dropped), and IPv4 in the inet_aton forms — one to four dot-separated parts,
// each decimal, octal with a leading 0 or hex with 0x (2130706433, 0x7f.1,
// 127.1, 0177.0.0.1), with an optional trailing dot. IPv4-mapped IPv6
// addresses are returned as IPv4.
func ParseIP(host string) (netip.Addr, bool) {
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
		if !strings.Contains(host, ":") {
			return netip.Addr{}, false
		}
	}
	if strings.Contains(host, ":") {
		a, err := netip.ParseAddr(host)
		if err != nil {
			return netip.Addr{}, false
		}
		return a.WithZone("").Unmap(), true
	}
	return parseIPv4(strings.TrimSuffix(host, "."))
}

func parseIPv4(s string) (netip.Addr, bool) {
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	var v uint64
	for i, p := range parts {
		n, ok := parseIPv4Part(p)
		if !ok {
			return netip.Addr{}, false
		}
		if i < len(parts)-1 {
			if n > 255 {
				return netip.Addr{}, false
			}
			v |= n << (8 * (3 - i))
			continue
		}
		if n >= 1<<(8*(4-i)) {
			return netip.Addr{}, false
		}
		v |= n
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}

func parseIPv4Part(p string) (uint64, bool) {
	base := 10
	switch {
	case p == "":
		return 0, false
	case len(p) >= 2 && (p[:2] == "0x" || p[:2] == "0X"):
		base, p = 16, p[2:]
		if p == "" {
			return 0, true // inet_aton and URL parsers read "0x" as 0
		}
	case len(p) > 1 && p[0] == '0':
		base, p = 8, p[1:]
	}
	for _, c := range p {
		if c == '+' || c == '-' || c == '_' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(p, base, 32)
	return n, err == nil
}

// endsInNumber reports whether the last label of name is all digits or a hex
// number, which URL parsers treat as an IPv4 literal.
func endsInNumber(name string) bool {
	last := name[strings.LastIndex(name, ".")+1:]
	if last == "" {
		return false
	}
	if strings.HasPrefix(last, "0x") || strings.HasPrefix(last, "0X") {
		last = last[2:]
		return strings.Trim(last, "0123456789abcdefABCDEF") == ""
	}
	return strings.Trim(last, "0123456789") == ""
}
