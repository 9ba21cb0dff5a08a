package confine

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// logMarker is the marker of the run recorded in
// testdata/seatbelt/log/stream.ndjson, and logSpec its Spec: the rule
// numbers in the recorded messages are this profile's.
const logMarker = "sandbar-5be1c0ffee42"

func logProfile(t *testing.T) Seatbelt {
	t.Helper()
	s := Spec{
		Argv: []string{"sh"},
		Dir:  "/Users/u/w",
		Paths: []Path{
			{Path: "/Users/u", Access: Hidden, Dir: true, Why: "policy ~/.config/sandbar/policy.jsonc:3:18"},
			{Path: "/Users/u/w", Access: ReadWrite, Dir: true, Why: "workspace folder"},
			{Path: "/Users/u/.ssh", Access: Hidden, Dir: true, Why: "default: denyRead ~/.ssh"},
			{Path: "/Users/u/w/.git/hooks", Access: ReadOnly, Dir: true, Why: "protected: .git/hooks"},
			{Path: "/Users/u/w/.git/config", Access: ReadOnly, Why: "protected: .git/config"},
		},
		Pin:         []string{"/Users/u/w/.git"},
		Uncreatable: []Path{{Path: "/Users/u/w/.envrc", Why: "protected: .envrc"}},
		Network:     Network{Proxy: &Proxy{HTTP: "/x/http.sock", SOCKS: "/x/socks.sock", Hello: []byte("hello")}},
	}
	sb, err := SeatbeltProfile(s, SeatbeltLayout{Marker: logMarker, ProxyPorts: []int{52001, 52002}})
	if err != nil {
		t.Fatal(err)
	}
	// The numbers the recorded messages carry.
	for n, path := range map[int]string{1: "/Users/u", 2: "/Users/u/.ssh", 3: "/Users/u/w/.git/config", 4: "/Users/u/w/.git/hooks", 5: "/Users/u/w/.envrc", 7: "/Users/u/w/.git"} {
		if sb.Rules[n].Path != path {
			t.Fatalf("rule %d is about %q, but the recording has it about %q: the profile's rule order changed", n, sb.Rules[n].Path, path)
		}
	}
	return sb
}

func readLog(t *testing.T) [][]byte {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "seatbelt", "log", "stream.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		lines = append(lines, append([]byte(nil), sc.Bytes()...))
	}
	return lines
}

func TestSeatbeltLogViolations(t *testing.T) {
	sb := logProfile(t)
	var live []Violation
	c := newSeatbeltViolations(sb, func(v Violation) { live = append(live, v) })
	ours := 0
	for _, l := range readLog(t) {
		if c.line(l, logMarker) {
			ours++
		}
	}
	if ours != 14 {
		t.Errorf("%d lines read as this run's refusals, want 14", ours)
	}
	want := []Violation{
		{Kind: "file-write", Operation: "create", Path: "/Users/u/w/.envrc", Pid: 81234, Comm: "touch", Rule: "protected: .envrc", Count: 1},
		{Kind: "file-write", Operation: "create", Path: "/Users/u/w/.git/hooks/pre-commit", Pid: 81240, Comm: "bash", Rule: "protected: .git/hooks", Count: 2},
		{Kind: "file-write", Operation: "unlink", Path: "/Users/u/w/.git", Pid: 81241, Comm: "mv", Rule: "keeps protected paths in place: holds /Users/u/w/.git/config (protected: .git/config)", Count: 1},
		{Kind: "file-read", Operation: "read", Path: "/Users/u/.ssh/id_ed25519", Pid: 81242, Comm: "cat", Rule: "default: denyRead ~/.ssh", Count: 1},
		{Kind: "file-read", Operation: "read", Path: "/Users/u", Pid: 81243, Comm: "ls", Rule: "policy ~/.config/sandbar/policy.jsonc:3:18", Count: 1},
		{Kind: "file-write", Operation: "create", Path: "/Users/u/outside.txt", Pid: 81244, Comm: "touch", Rule: "policy ~/.config/sandbar/policy.jsonc:3:18", Count: 1},
		{Kind: "file-write", Operation: "create", Path: "/private/etc/sandbar-probe", Pid: 81245, Comm: "sh", Rule: "default: read-only", Count: 1},
		{Kind: "network", Target: "93.184.215.14:443", Decision: "denied", Reason: seatbeltNetworkReason, Pid: 81246, Comm: "curl", Count: 1},
		{Kind: "socket", Operation: "connect", Path: "AF_UNIX /private/var/run/mDNSResponder", Pid: 81248, Comm: "git", Rule: seatbeltUnixRule, Count: 1},
		{Kind: "file-write", Operation: "link", Path: "/Users/u/w/.git/config", Pid: 81249, Comm: "ln", Rule: "protected: .git/config", Count: 1},
		{Kind: "file-write", Operation: "create", Path: "/Users/u/Library/Application Support/Code (1) deny(1) x/state.json", Pid: 81251, Comm: "Python", Rule: "policy ~/.config/sandbar/policy.jsonc:3:18", Count: 1},
		{Kind: "file-write", Operation: "write", Path: "/Users/u/w/.git/config", Pid: 81252, Comm: "git", Rule: "protected: .git/config", Count: 1},
	}
	if diff := cmp.Diff(want, c.list()); diff != "" {
		t.Errorf("violations (-want +got):\n%s", diff)
	}
	// OnViolation sees each once, as it first happens.
	firsts := append([]Violation(nil), want...)
	firsts[1].Count = 1
	if diff := cmp.Diff(firsts, live); diff != "" {
		t.Errorf("OnViolation (-want +got):\n%s", diff)
	}
}

func TestSeatbeltLogReady(t *testing.T) {
	lines := readLog(t)
	found := 0
	for _, l := range lines {
		if seatbeltLogReady(l, logMarker+"-ready") {
			found++
		}
	}
	if found != 1 {
		t.Errorf("%d ready lines, want 1", found)
	}
}

func TestSeatbeltLogParse(t *testing.T) {
	const kext = "/System/Library/Extensions/Sandbox.kext/Contents/MacOS/Sandbox"
	line := func(msg, sender string) []byte {
		b, _ := jsonMarshal(map[string]any{"eventMessage": msg, "senderImagePath": sender, "processImagePath": "/kernel", "processID": 0})
		return b
	}
	tests := []struct {
		name string
		line []byte
		want seatbeltDenial
		ok   bool
	}{
		{"rule on its own line", line("Sandbox: touch(12) deny(1) file-write-create /w/.envrc\nm-1:5", kext),
			seatbeltDenial{Comm: "touch", Pid: 12, Operation: "file-write-create", Target: "/w/.envrc", Rule: 5, Count: 1}, true},
		{"rule after a space", line("Sandbox: touch(12) deny(1) file-write-create /w/.envrc m-1:5", kext),
			seatbeltDenial{Comm: "touch", Pid: 12, Operation: "file-write-create", Target: "/w/.envrc", Rule: 5, Count: 1}, true},
		{"command name with spaces and parentheses", line("Sandbox: Code Helper (R)(77) deny(1) file-read-data /a b/(c)\nm-1:2", kext),
			seatbeltDenial{Comm: "Code Helper (R)", Pid: 77, Operation: "file-read-data", Target: "/a b/(c)", Rule: 2, Count: 1}, true},
		{"path that looks like a refusal", line("Sandbox: sh(5) deny(1) file-write-create /w/x(9) deny(1) y\nm-1:0", kext),
			seatbeltDenial{Comm: "sh", Pid: 5, Operation: "file-write-create", Target: "/w/x(9) deny(1) y", Rule: 0, Count: 1}, true},
		{"path with a line break", line("Sandbox: sh(5) deny(1) file-write-create /w/a\nb\nm-1:0", kext),
			seatbeltDenial{Comm: "sh", Pid: 5, Operation: "file-write-create", Target: "/w/a\nb", Rule: 0, Count: 1}, true},
		{"path that holds the marker", line("Sandbox: sh(5) deny(1) file-write-create /w/m-1:3\nm-1:0", kext),
			seatbeltDenial{Comm: "sh", Pid: 5, Operation: "file-write-create", Target: "/w/m-1:3", Rule: 0, Count: 1}, true},
		{"no target", line("Sandbox: sh(5) deny(1) process-fork\nm-1:0", kext),
			seatbeltDenial{Comm: "sh", Pid: 5, Operation: "process-fork", Rule: 0, Count: 1}, true},
		{"folded duplicates", line("3 duplicate reports for Sandbox: sh(5) deny(1) file-write-data /etc/hosts\nm-1:0", kext),
			seatbeltDenial{Comm: "sh", Pid: 5, Operation: "file-write-data", Target: "/etc/hosts", Rule: 0, Count: 3}, true},
		{"another run", line("Sandbox: sh(5) deny(1) file-write-data /etc/hosts\nm-2:0", kext), seatbeltDenial{}, false},
		{"marker as a prefix of another", line("Sandbox: sh(5) deny(1) file-write-data /etc/hosts\nm-10:0", kext), seatbeltDenial{}, false},
		{"untagged", line("Sandbox: sh(5) deny(1) file-write-data /etc/hosts", kext), seatbeltDenial{}, false},
		{"not the kernel", line("Sandbox: sh(5) deny(1) file-write-data /etc/hosts\nm-1:0", "/usr/bin/logger"), seatbeltDenial{}, false},
		{"not a refusal", line("Sandbox: sh(5) allow file-write-data /etc/hosts\nm-1:0", kext), seatbeltDenial{}, false},
		{"bad rule number", line("Sandbox: sh(5) deny(1) file-write-data /etc/hosts\nm-1:x", kext), seatbeltDenial{}, false},
		{"not JSON", []byte(`Filtering the log data using "eventMessage CONTAINS \"m-1:\""`), seatbeltDenial{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseSeatbeltLog(tt.line, "m-1")
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v (%+v)", ok, tt.ok, got)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestSeatbeltDenialViolation(t *testing.T) {
	sb := logProfile(t)
	tests := []struct {
		name string
		d    seatbeltDenial
		want Violation
		ok   bool
	}{
		{"stat of a hidden file", seatbeltDenial{Comm: "ls", Pid: 1, Operation: "file-read-metadata", Target: "/Users/u/.ssh/config", Rule: 2, Count: 1},
			Violation{Kind: "file-read", Operation: "stat", Path: "/Users/u/.ssh/config", Pid: 1, Comm: "ls", Rule: "default: denyRead ~/.ssh", Count: 1}, true},
		{"running a hidden program", seatbeltDenial{Comm: "sh", Pid: 1, Operation: "process-exec*", Target: "/Users/u/.ssh/run", Rule: 2, Count: 1},
			Violation{Kind: "file-read", Operation: "exec", Path: "/Users/u/.ssh/run", Pid: 1, Comm: "sh", Rule: "default: denyRead ~/.ssh", Count: 1}, true},
		{"chmod outside", seatbeltDenial{Comm: "chmod", Pid: 1, Operation: "file-write-mode", Target: "/private/etc/hosts", Count: 1},
			Violation{Kind: "file-write", Operation: "chmod", Path: "/private/etc/hosts", Pid: 1, Comm: "chmod", Rule: "default: read-only", Count: 1}, true},
		{"IPv6 with brackets", seatbeltDenial{Comm: "curl", Pid: 1, Operation: "network-outbound", Target: "[2001:db8::1]:443", Count: 1},
			Violation{Kind: "network", Target: "[2001:db8::1]:443", Decision: "denied", Reason: seatbeltNetworkReason, Pid: 1, Comm: "curl", Count: 1}, true},
		{"IPv6 without brackets", seatbeltDenial{Comm: "curl", Pid: 1, Operation: "network-outbound", Target: "2001:db8::1:443", Count: 1},
			Violation{Kind: "network", Target: "[2001:db8::1]:443", Decision: "denied", Reason: seatbeltNetworkReason, Pid: 1, Comm: "curl", Count: 1}, true},
		{"listening", seatbeltDenial{Comm: "node", Pid: 1, Operation: "network-bind", Target: "127.0.0.1:3000", Count: 1},
			Violation{Kind: "socket", Operation: "bind", Path: "AF_INET 127.0.0.1:3000", Pid: 1, Comm: "node", Rule: seatbeltListenRule, Count: 1}, true},
		{"binding a unix socket", seatbeltDenial{Comm: "node", Pid: 1, Operation: "network-bind", Target: "/Users/u/w/x.sock", Count: 1},
			Violation{Kind: "socket", Operation: "bind", Path: "AF_UNIX /Users/u/w/x.sock", Pid: 1, Comm: "node", Rule: seatbeltUnixRule, Count: 1}, true},
		{"a Mach service", seatbeltDenial{Comm: "node", Pid: 1, Operation: "mach-lookup", Target: "com.apple.diagnosticd", Count: 1}, Violation{}, false},
		{"a sysctl", seatbeltDenial{Comm: "ps", Pid: 1, Operation: "sysctl-read", Target: "kern.procargs2", Count: 1}, Violation{}, false},
		{"a file operation without a path", seatbeltDenial{Comm: "x", Pid: 1, Operation: "file-write-data", Count: 1}, Violation{}, false},
		{"a rule number past the end", seatbeltDenial{Comm: "x", Pid: 1, Operation: "file-write-data", Target: "/private/etc/x", Rule: 999, Count: 1},
			Violation{Kind: "file-write", Operation: "write", Path: "/private/etc/x", Pid: 1, Comm: "x", Rule: "default: read-only", Count: 1}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.d.violation(sb)
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v (%+v)", ok, tt.ok, got)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
