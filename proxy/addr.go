package proxy

import "net/netip"

var (
	cgnat     = netip.MustParsePrefix("100.64.0.0/10")
	thisNet   = netip.MustParsePrefix("0.0.0.0/8")
	reserved4 = netip.MustParsePrefix("240.0.0.0/4")
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
)

// addrClass names the non-public range a is in, or returns "" for a public
// address. The proxy refuses to dial non-public addresses unless
// Config.AllowAddr says yes, so that an allowed name cannot be pointed at the
// machine itself, the local network or the cloud metadata service.
func addrClass(a netip.Addr) string {
	a = a.Unmap()
	switch {
	case a.IsUnspecified(), thisNet.Contains(a):
		return "unspecified"
	case a.IsLoopback():
		return "loopback"
	case a.IsLinkLocalUnicast():
		return "link-local"
	case a.IsMulticast():
		return "multicast"
	case a.IsPrivate() && a.Is4():
		return "private"
	case a.IsPrivate():
		return "unique-local"
	case cgnat.Contains(a):
		return "shared (CGNAT)"
	case reserved4.Contains(a):
		return "reserved"
	case nat64.Contains(a):
		// A NAT64 address reaches the IPv4 address embedded in its last
		// four bytes.
		b := a.As16()
		return addrClass(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}))
	}
	return ""
}
