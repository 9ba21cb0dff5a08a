package proxy

import (
	"strings"
	"testing"
)

func TestCanonical(t *testing.T) {
	tests := []struct {
		name, in, want string
		wantErr        bool
	}{
		{name: "lower case", in: "Example.COM", want: "example.com"},
		{name: "trailing dot", in: "example.com.", want: "example.com"},
		{name: "idn to punycode", in: "bücher.example", want: "xn--bcher-kva.example"},
		{name: "punycode kept", in: "xn--bcher-kva.example", want: "xn--bcher-kva.example"},
		{name: "ipv4", in: "127.0.0.1", want: "127.0.0.1"},
		{name: "decimal", in: "2130706433", want: "127.0.0.1"},
		{name: "hex short", in: "0x7f.1", want: "127.0.0.1"},
		{name: "short", in: "127.1", want: "127.0.0.1"},
		{name: "octal", in: "0177.0.0.1", want: "127.0.0.1"},
		{name: "hex parts", in: "0xA9.0xFE.0xa9.0xfe", want: "169.254.169.254"},
		{name: "ipv4 trailing dot", in: "127.0.0.1.", want: "127.0.0.1"},
		{name: "ipv4-mapped ipv6", in: "::ffff:127.0.0.1", want: "127.0.0.1"},
		{name: "bracketed ipv6", in: "[::1]", want: "::1"},
		{name: "ipv6 long form", in: "0:0:0:0:0:0:0:1", want: "::1"},
		{name: "ipv6 zone dropped", in: "fe80::1%eth0", want: "fe80::1"},
		{name: "full-width digits", in: "１２７.０.０.１", want: "127.0.0.1"},
		{name: "ideographic full stop", in: "example。com", want: "example.com"},
		{name: "empty", in: "", wantErr: true},
		{name: "only dot", in: ".", wantErr: true},
		{name: "octet too big", in: "256.0.0.1", wantErr: true},
		{name: "bad octal", in: "08.0.0.1", wantErr: true},
		{name: "five parts", in: "1.2.3.4.5", wantErr: true},
		{name: "ends in hex", in: "example.0x1g", want: "example.0x1g"},
		{name: "ends in number", in: "example.123", wantErr: true},
		{name: "empty label", in: "a..example", wantErr: true},
		{name: "space", in: "exa mple.com", wantErr: true},
		{name: "slash", in: "example.com/x", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Canonical(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Canonical(%q) = %q, %v; want error %v", tt.in, got, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("Canonical(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzCanonical(f *testing.F) {
	for _, s := range []string{"example.com", "Bücher.example.", "2130706433", "0x7f.1", "127.1", "0177.0.0.1",
		"::ffff:127.0.0.1", "[::1]", "１２７.０.０.１", "a..b", "xn--bcher-kva.example", "0x", "1.0x.1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := Canonical(s)
		if err != nil {
			return
		}
		// Canonical is idempotent: matching a canonical host again
		// cannot change what it names.
		again, err := Canonical(c)
		if err != nil || again != c {
			t.Fatalf("Canonical(%q) = %q, but Canonical(%q) = %q, %v", s, c, c, again, err)
		}
		if _, ip := ParseIP(c); !ip {
			if c != strings.ToLower(c) || strings.HasSuffix(c, ".") || endsInNumber(c) {
				t.Fatalf("Canonical(%q) = %q, not a canonical name", s, c)
			}
		}
		// What was an IP stays the same IP.
		if a, ok := ParseIP(s); ok && c != a.String() {
			t.Fatalf("Canonical(%q) = %q, want %q", s, c, a)
		}
	})
}
