package proxy

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReadRequest(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		want    socksRequest
		wantErr error
	}{
		{"domain", []byte{5, 1, 0, 3, 4, 'a', '.', 'b', 'c', 0x01, 0xbb}, socksRequest{1, "a.bc", 443}, nil},
		{"ipv4", []byte{5, 1, 0, 1, 10, 0, 0, 5, 0, 22}, socksRequest{1, "10.0.0.5", 22}, nil},
		{"ipv6", append(append([]byte{5, 1, 0, 4}, make([]byte, 15)...), 1, 0, 80), socksRequest{1, "::1", 80}, nil},
		{"other command kept", []byte{5, 2, 0, 1, 1, 2, 3, 4, 0, 80}, socksRequest{2, "1.2.3.4", 80}, nil},
		{"truncated", []byte{5, 1, 0, 3, 10, 'a'}, socksRequest{}, io.ErrUnexpectedEOF},
		{"empty", nil, socksRequest{}, io.EOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readRequest(bytes.NewReader(tt.in))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("readRequest error = %v, want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("readRequest (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadRequestRefusals(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		wantRep byte
	}{
		{"version 4", []byte{4, 1, 0, 1, 1, 2, 3, 4, 0, 80}, repGeneralFailure},
		{"address type 2", []byte{5, 1, 0, 2, 0, 80}, repAddrTypeNotSupp},
		{"empty domain", []byte{5, 1, 0, 3, 0, 0, 80}, repHostUnreachable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := readRequest(bytes.NewReader(tt.in))
			var se *socksError
			if !errors.As(err, &se) || se.rep != tt.wantRep {
				t.Errorf("readRequest error = %v, want a socks error with reply %d", err, tt.wantRep)
			}
		})
	}
}

// FuzzSOCKS5Handshake feeds arbitrary bytes to the two parsers in the order
// a client's messages arrive after the Hello: neither may panic, and a
// request that parses re-encodes to one that parses the same.
func FuzzSOCKS5Handshake(f *testing.F) {
	f.Add([]byte{5, 1, 0, 5, 1, 0, 3, 4, 'a', '.', 'b', 'c', 0, 80})
	f.Add([]byte{5, 0, 5, 1, 0, 1, 127, 0, 0, 1, 0, 7})
	f.Add([]byte{5, 2, 2, 0, 5, 1, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 7})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		if _, err := readGreeting(r); err != nil {
			return
		}
		req, err := readRequest(r)
		if err != nil {
			return
		}
		if req.Host == "" || req.Port < 0 || req.Port > 65535 {
			t.Fatalf("readRequest = %+v: empty host or port out of range", req)
		}
		again, err := readRequest(bytes.NewReader(encodeRequest(req)))
		if err != nil {
			t.Fatalf("re-reading %+v: %v", req, err)
		}
		if diff := cmp.Diff(req, again); diff != "" {
			t.Fatalf("re-read request (-first +second):\n%s", diff)
		}
	})
}
