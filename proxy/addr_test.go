package proxy

import (
	"net/netip"
	"testing"
)

func TestAddrClass(t *testing.T) {
	tests := []struct{ addr, want string }{
		{"93.184.216.34", ""},
		{"2606:2800:220:1::", ""},
		{"127.0.0.1", "loopback"},
		{"::1", "loopback"},
		{"::ffff:127.0.0.1", "loopback"},
		{"169.254.169.254", "link-local"},
		{"fe80::1", "link-local"},
		{"10.0.0.5", "private"},
		{"172.16.0.1", "private"},
		{"192.168.1.1", "private"},
		{"fd00::1", "unique-local"},
		{"100.64.0.1", "shared (CGNAT)"},
		{"0.0.0.0", "unspecified"},
		{"0.1.2.3", "unspecified"},
		{"::", "unspecified"},
		{"224.0.0.1", "multicast"},
		{"ff02::1", "multicast"},
		{"255.255.255.255", "reserved"},
		{"64:ff9b::a9fe:a9fe", "link-local"},
		{"64:ff9b::5db8:d822", ""},
	}
	for _, tt := range tests {
		if got := addrClass(netip.MustParseAddr(tt.addr)); got != tt.want {
			t.Errorf("addrClass(%s) = %q, want %q", tt.addr, got, tt.want)
		}
	}
}
