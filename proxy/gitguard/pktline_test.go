package gitguard

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReadPkt(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		kind    pktKind
		payload string
		err     string
	}{
		{"data", "0009hello", pktData, "hello", ""},
		{"upper-case length", "000Ahello!", pktData, "hello!", ""},
		{"empty data", "0004", pktData, "", ""},
		{"flush", "0000", pktFlush, "", ""},
		{"delim", "0001", pktDelim, "", ""},
		{"response end", "0002", pktResponseEnd, "", ""},
		{"length 3", "0003", 0, "", "length 3"},
		{"not hex", "00g4", 0, "", "not hexadecimal"},
		{"too long", "fff1" + strings.Repeat("x", 0xfff1), 0, "", "more than 65520"},
		{"longest", "fff0" + strings.Repeat("x", 0xfff0-4), pktData, strings.Repeat("x", 0xfff0-4), ""},
		{"cut in the length", "00", 0, "", "unexpected EOF"},
		{"cut in the payload", "0010abc", 0, "", "unexpected EOF"},
		{"nothing", "", 0, "", "EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, p, err := readPkt(strings.NewReader(tt.in), make([]byte, maxPktLen))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("err = %v; want %q", err, tt.err)
				}
				return
			}
			if err != nil || k != tt.kind || string(p) != tt.payload {
				t.Errorf("readPkt = %v %q %v; want %v %q", k, p, err, tt.kind, tt.payload)
			}
		})
	}
}

func TestAppendSideband(t *testing.T) {
	data := bytes.Repeat([]byte("x"), 2000)
	for _, small := range []bool{false, true} {
		b := appendSideband(nil, 1, data, small)
		var got []byte
		r := bytes.NewReader(b)
		for {
			k, p, err := readPkt(r, make([]byte, maxPktLen))
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil || k != pktData || p[0] != 1 || (small && len(p)+4 > 1000) {
				t.Fatalf("small=%v: packet %v %d bytes %v", small, k, len(p), err)
			}
			got = append(got, p[1:]...)
		}
		if !bytes.Equal(got, data) {
			t.Errorf("small=%v: %d bytes back of %d", small, len(got), len(data))
		}
	}
}

const (
	oidA = "1111111111111111111111111111111111111111"
	oidB = "2222222222222222222222222222222222222222"
)

func pkts(lines ...string) string {
	var b []byte
	for _, l := range lines {
		if l == "" {
			b = appendFlush(b)
		} else {
			b = appendPkt(b, l)
		}
	}
	return string(b)
}

func TestReadPushHead(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		commands []Command
		caps     []string
		rest     string
		err      string
	}{
		{
			name:     "one update",
			in:       pkts(oidA+" "+oidB+" refs/heads/agent/x\x00report-status side-band-64k agent=git/2.39", "") + "PACK...",
			commands: []Command{{oidA, oidB, "refs/heads/agent/x"}},
			caps:     []string{"report-status", "side-band-64k", "agent=git/2.39"},
			rest:     "PACK...",
		},
		{
			name: "several, with a newline, shallow lines and a deletion",
			in: pkts("shallow "+oidA, zero+" "+oidB+" refs/heads/a\x00report-status\n", oidA+" "+zero+" refs/heads/b\n", "") +
				"PACK",
			commands: []Command{{zero, oidB, "refs/heads/a"}, {oidA, zero, "refs/heads/b"}},
			caps:     []string{"report-status"},
			rest:     "PACK",
		},
		{
			name:     "push options",
			in:       pkts(oidA+" "+oidB+" refs/heads/a\x00push-options", "", "ci.skip", "x=y", "") + "PACK",
			commands: []Command{{oidA, oidB, "refs/heads/a"}},
			caps:     []string{"push-options"},
			rest:     "PACK",
		},
		{name: "signed", in: pkts("push-cert\x00report-status", ""), err: "signed pushes"},
		{name: "capabilities twice", in: pkts(oidA+" "+oidB+" refs/heads/a\x00x", oidA+" "+oidB+" refs/heads/b\x00y", ""), err: "capabilities after the first"},
		{name: "two fields", in: pkts(oidA+" refs/heads/a", ""), err: "old new ref"},
		{name: "four fields", in: pkts(oidA+" "+oidB+" refs/heads/a x", ""), err: "old new ref"},
		{name: "upper-case object name", in: pkts(strings.ToUpper("abcdef"+oidA[6:])+" "+oidB+" refs/heads/a", ""), err: "not an object name"},
		{name: "sha-1 and sha-256 mixed", in: pkts(oidA+" "+strings.Repeat("2", 64)+" refs/heads/a", ""), err: "not an object name"},
		{name: "create and delete", in: pkts(zero+" "+zero+" refs/heads/a", ""), err: "neither an old nor a new"},
		{name: "HEAD", in: pkts(oidA+" "+oidB+" HEAD", ""), err: "not a ref under refs/"},
		{name: "dot dot", in: pkts(oidA+" "+oidB+" refs/heads/a/../b", ""), err: "invalid ref name"},
		{name: "lock", in: pkts(oidA+" "+oidB+" refs/heads/a.lock", ""), err: "invalid ref name"},
		{name: "control character", in: pkts(oidA+" "+oidB+" refs/heads/a\tb", ""), err: "invalid character"},
		{name: "glob", in: pkts(oidA+" "+oidB+" refs/heads/*", ""), err: "invalid character"},
		{name: "delim", in: "0001", err: "unexpected special packet"},
		{name: "no flush", in: pkts(oidA + " " + oidB + " refs/heads/a"), err: "unexpected EOF"},
		{name: "shallow after a command", in: pkts(oidA+" "+oidB+" refs/heads/a", "shallow "+oidA, ""), err: "old new ref"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := strings.NewReader(tt.in)
			h, err := readPushHead(r)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("err = %v; want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.commands, h.Commands); diff != "" {
				t.Errorf("commands (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.caps, h.Caps); diff != "" {
				t.Errorf("caps (-want +got):\n%s", diff)
			}
			rest, _ := io.ReadAll(r)
			if string(rest) != tt.rest {
				t.Errorf("left %q; want %q", rest, tt.rest)
			}
			if string(h.raw) != strings.TrimSuffix(tt.in, tt.rest) {
				t.Errorf("raw %q; want what was read", h.raw)
			}
		})
	}
}

func TestReadPushHeadLimits(t *testing.T) {
	var b strings.Builder
	for range maxCommands + 1 {
		b.WriteString(pkts(oidA + " " + oidB + " refs/heads/a"))
	}
	b.WriteString("0000")
	if _, err := readPushHead(strings.NewReader(b.String())); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Errorf("too many commands: %v", err)
	}
	long := pkts(oidA+" "+oidB+" refs/heads/"+strings.Repeat("a", 65000)) + strings.Repeat(pkts(oidA+" "+oidB+" refs/heads/"+strings.Repeat("a", 65000)), 70)
	if _, err := readPushHead(strings.NewReader(long)); err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Errorf("too many bytes: %v", err)
	}
}

// Whatever the client sends, readPushHead does not panic, and what it
// accepts it can give back unchanged.
func FuzzReadPushHead(f *testing.F) {
	f.Add([]byte(pkts(oidA+" "+oidB+" refs/heads/agent/x\x00report-status side-band-64k", "") + "PACK"))
	f.Add([]byte(pkts("shallow "+oidA, zero+" "+oidB+" refs/heads/a\x00push-options", "", "o", "")))
	f.Add([]byte("ffff"))
	f.Add([]byte("0003"))
	f.Add([]byte("0001"))
	f.Add([]byte(pkts("push-cert\x00x", "")))
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := readPushHead(bytes.NewReader(data))
		if err != nil {
			return
		}
		if !bytes.HasPrefix(data, h.raw) && !bytes.EqualFold(data[:len(h.raw)], h.raw) {
			t.Fatalf("raw %q is not what was read from %q", h.raw, data)
		}
		again, err := readPushHead(bytes.NewReader(h.raw))
		if err != nil {
			t.Fatalf("raw does not read back: %v", err)
		}
		if !slices.Equal(again.Commands, h.Commands) {
			t.Fatalf("raw reads back as %v, not %v", again.Commands, h.Commands)
		}
		for _, c := range h.Commands {
			if checkRefName(c.Ref) != "" || (c.Create() && c.Delete()) {
				t.Fatalf("accepted %+v", c)
			}
		}
	})
}

const zero = "0000000000000000000000000000000000000000"
