package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	xproxy "golang.org/x/net/proxy"
)

func TestProxyAuth(t *testing.T) {
	tests := []struct {
		name, via, allProxy string
		want                *xproxy.Auth
	}{
		{"no login (Linux)", "127.0.0.1:1080", "socks5h://127.0.0.1:1080", nil},
		{"login for this relay", "127.0.0.1:50123", "socks5h://sandbar:s3cret@127.0.0.1:50123", &xproxy.Auth{User: "sandbar", Password: "s3cret"}},
		{"login for another address", "127.0.0.1:1080", "socks5h://sandbar:s3cret@127.0.0.1:50123", nil},
		{"no proxy", "127.0.0.1:1080", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, proxyAuth(tc.via, tc.allProxy)); diff != "" {
				t.Errorf("proxyAuth (-want +got):\n%s", diff)
			}
		})
	}
}
