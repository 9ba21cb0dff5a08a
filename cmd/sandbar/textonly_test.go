package main

import (
	"strings"
	"testing"
)

func TestTextOnly(t *testing.T) {
	tests := []struct{ in, want string }{
		{"create /home/me/a\x1b]52;c;ZWNobw==\ab, default: read-only\n", `create /home/me/a\x1b]52;c;ZWNobw==\x07b, default: read-only` + "\n"},
		{"tab\tand line\n", "tab\tand line\n"},
		{"csi \u009b31m and a lone \x9b byte", `csi \u009b31m and a lone \x9b byte`},
		{"déjà vu, 名前, \x7f", `déjà vu, 名前, \u007f`},
		{"\r\x00", `\x0d\x00`},
	}
	for _, tt := range tests {
		var b strings.Builder
		n, err := textOnly{&b}.Write([]byte(tt.in))
		if err != nil || n != len(tt.in) {
			t.Errorf("Write(%q) = %d, %v; want %d, nil", tt.in, n, err, len(tt.in))
		}
		if b.String() != tt.want {
			t.Errorf("Write(%q) wrote %q; want %q", tt.in, b.String(), tt.want)
		}
	}
}
