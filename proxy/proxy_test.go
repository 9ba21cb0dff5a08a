package proxy

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var ignoreTime = cmpopts.IgnoreFields(Event{}, "Time")

func allowed(target string) []Event {
	return []Event{{Kind: "network", Target: target, Decision: "allowed", Reason: "in allowedDomains"}}
}

func denied(target, reason string) []Event {
	return []Event{{Kind: "network", Target: target, Decision: "denied", Reason: reason}}
}

func TestHTTPAllowed(t *testing.T) {
	tests := []struct {
		name       string
		url        string
		wantBody   string
		wantDialed []string
		wantEvents []Event
	}{
		{
			name:       "plain http",
			url:        "http://allowed.test/",
			wantBody:   `host=allowed.test`,
			wantDialed: []string{"127.0.0.1:80"},
			wantEvents: allowed("allowed.test:80"),
		},
		{
			name:       "plain http, host spelled differently",
			url:        "http://ALLOWED.test./",
			wantBody:   `host=ALLOWED.test.`,
			wantDialed: []string{"127.0.0.1:80"},
			wantEvents: allowed("allowed.test:80"),
		},
		{
			name:       "connect to tls",
			url:        "https://allowed.test/",
			wantBody:   `host=allowed.test`,
			wantDialed: []string{"127.0.0.1:443"},
			wantEvents: allowed("allowed.test:443"),
		},
		{
			name:       "connect to tls, wildcard",
			url:        "https://a.wild.test/",
			wantBody:   `host=a.wild.test`,
			wantDialed: []string{"127.0.0.1:443"},
			wantEvents: allowed("a.wild.test:443"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := start(t, Config{Decider: testRules, AllowAddr: allowLoopback})
			status, body := e.get(t, e.client(), tt.url)
			if status != 200 || body != tt.wantBody {
				t.Errorf("GET %s = %d %q, want 200 %q", tt.url, status, body, tt.wantBody)
			}
			if diff := cmp.Diff(tt.wantDialed, e.dialer.Dialed()); diff != "" {
				t.Errorf("dialed (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantEvents, e.Events(), ignoreTime); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSOCKS5Allowed(t *testing.T) {
	e := start(t, Config{Decider: testRules, AllowAddr: allowLoopback})
	rep, c := e.socks(t, socksConnect("echo.test", 7))
	if rep != repSucceeded {
		t.Fatalf("socks connect: reply %d, want 0", rep)
	}
	if _, err := io.WriteString(c, "ping"); err != nil {
		t.Fatal(err)
	}
	var b [4]byte
	if _, err := io.ReadFull(c, b[:]); err != nil || string(b[:]) != "ping" {
		t.Fatalf("echo = %q, %v; want ping", b, err)
	}
	if diff := cmp.Diff([]string{"127.0.0.1:7"}, e.dialer.Dialed()); diff != "" {
		t.Errorf("dialed (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(allowed("echo.test:7"), e.Events(), ignoreTime); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

// TestHTTPRefused sends each refused request after a valid Hello, with
// AllowAddr nil (as in production): the proxy answers 403 naming the target,
// records why, dials nothing and looks up only allowed names.
func TestHTTPRefused(t *testing.T) {
	const noOne = "; no one to ask"
	tests := []struct {
		name        string
		req         string
		wantTarget  string
		wantReason  string
		wantQueries []string
	}{
		{"not allowed", connectReq("other.test:443"), "other.test:443", "not in allowedDomains" + noOne, nil},
		{"not allowed, plain http", getReq("http://other.test/", "other.test"), "other.test:80", "not in allowedDomains" + noOne, nil},
		{"denied wins over wildcard", connectReq("x.both.test:443"), "x.both.test:443", "in deniedDomains", nil},
		{"denied, other spelling", connectReq("X.Both.Test.:443"), "x.both.test:443", "in deniedDomains", nil},
		{"wildcard excludes apex", connectReq("wild.test:443"), "wild.test:443", "not in allowedDomains" + noOne, nil},
		{"wildcard suffix without dot", connectReq("evilwild.test:443"), "evilwild.test:443", "not in allowedDomains" + noOne, nil},
		{"entry without port, port 8080", connectReq("allowed.test:8080"), "allowed.test:8080",
			"port 8080 not in allowedDomains (its entry allows ports 80 and 443 only)" + noOne, nil},
		{"entry with port, port 443", connectReq("echo.test:443"), "echo.test:443",
			"port 443 not in allowedDomains (its entry allows port 7 only)" + noOne, nil},
		{"ip literal", connectReq("127.0.0.1:80"), "127.0.0.1:80", "IP literal", nil},
		{"ip literal, decimal", connectReq("2130706433:80"), "127.0.0.1:80", "IP literal", nil},
		{"ip literal, hex", connectReq("0x7f.1:80"), "127.0.0.1:80", "IP literal", nil},
		{"ip literal, short", connectReq("127.1:80"), "127.0.0.1:80", "IP literal", nil},
		{"ip literal, octal", connectReq("0177.0.0.1:80"), "127.0.0.1:80", "IP literal", nil},
		{"ip literal, ipv4-mapped ipv6", connectReq("[::ffff:127.0.0.1]:80"), "127.0.0.1:80", "IP literal", nil},
		{"ip literal, ipv6 loopback", connectReq("[::1]:443"), "[::1]:443", "IP literal", nil},
		{"ip literal, metadata in hex", connectReq("0xa9fea9fe:80"), "169.254.169.254:80", "IP literal", nil},
		{"ip literal, plain http decimal", getReq("http://2130706433/", "2130706433"), "127.0.0.1:80", "IP literal", nil},
		{"listed private ip", connectReq("10.0.0.5:443"), "10.0.0.5:443", "is a private address 10.0.0.5", nil},
		{"rebinding to loopback", connectReq("rebind.test:443"), "rebind.test:443",
			"resolves to a loopback address 127.0.0.1", []string{"rebind.test"}},
		{"rebinding to loopback, plain http", getReq("http://rebind.test/", "rebind.test"), "rebind.test:80",
			"resolves to a loopback address 127.0.0.1", []string{"rebind.test"}},
		{"rebinding to metadata", connectReq("meta.test:80"), "meta.test:80",
			"resolves to a link-local address 169.254.169.254", []string{"meta.test"}},
		{"resolves to private", connectReq("private.test:443"), "private.test:443",
			"resolves to a private address 10.0.0.5", []string{"private.test"}},
		{"one of several addresses private", connectReq("mixed.test:443"), "mixed.test:443",
			"resolves to a private address 10.0.0.5", []string{"mixed.test"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := start(t, Config{Decider: testRules})
			resp, body := e.raw(t, tt.req)
			if resp.StatusCode != 403 {
				t.Errorf("status = %d, want 403; body %q", resp.StatusCode, body)
			}
			wantLine := "sandbar: connection to " + tt.wantTarget + " blocked: " + tt.wantReason + "\n"
			if !strings.HasPrefix(body, wantLine) || !strings.Contains(body, "network.allowedDomains in .sandbar/policy.jsonc.\n") {
				t.Errorf("body = %q, want it to start with %q and say how to allow it", body, wantLine)
			}
			if diff := cmp.Diff(denied(tt.wantTarget, tt.wantReason), e.Events(), ignoreTime); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantQueries, e.resolver.Queries()); diff != "" {
				t.Errorf("resolver queries (-want +got):\n%s", diff)
			}
			if got := e.dialer.Dialed(); len(got) != 0 {
				t.Errorf("dialed %v, want nothing", got)
			}
		})
	}
}

func TestHTTPRefusalBodySaysHowToAllow(t *testing.T) {
	tests := []struct {
		name, req, want string
	}{
		{"not allowed, other port", connectReq("other.test:8080"),
			"sandbar: connection to other.test:8080 blocked: not in allowedDomains; no one to ask\n" +
				"To allow it, add \"other.test:8080\" to network.allowedDomains in .sandbar/policy.jsonc.\n"},
		{"not allowed, https", connectReq("other.test:443"),
			"sandbar: connection to other.test:443 blocked: not in allowedDomains; no one to ask\n" +
				"To allow it, add \"other.test\" to network.allowedDomains in .sandbar/policy.jsonc.\n"},
		{"denied", connectReq("x.both.test:443"),
			"sandbar: connection to x.both.test:443 blocked: in deniedDomains\n" +
				"To allow it, remove it from network.deniedDomains and add \"x.both.test\" to network.allowedDomains in .sandbar/policy.jsonc.\n"},
		{"internal address", getReq("http://meta.test/", "meta.test"),
			"sandbar: connection to meta.test:80 blocked: resolves to a link-local address 169.254.169.254\n" +
				"To allow it, list the address \"169.254.169.254\" in network.allowedDomains in .sandbar/policy.jsonc.\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := start(t, Config{Decider: testRules})
			_, body := e.raw(t, tt.req)
			if diff := cmp.Diff(tt.want, body); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
		})
	}
}

// TestHTTPHostHeader: net/http's server makes an absolute URI's authority
// the request's Host (RFC 9112 §3.2.2), so a different Host header never
// reaches the upstream; a request without an absolute URI is not proxied.
func TestHTTPHostHeader(t *testing.T) {
	tests := []struct {
		name       string
		req        string
		wantStatus int
		wantBody   string
		wantDialed []string
	}{
		{"absolute uri wins over host header", getReq("http://allowed.test/", "evil.test"), 200,
			`host=allowed.test`, []string{"127.0.0.1:80"}},
		{"origin-form request refused", getReq("/", "allowed.test"), 400,
			"sandbar proxy: not a proxy request (want an absolute http:// URI or CONNECT)\n", nil},
		{"https uri without connect refused", getReq("https://allowed.test/", "allowed.test"), 400,
			"sandbar proxy: only http:// URIs are proxied; use CONNECT for https\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := start(t, Config{Decider: testRules, AllowAddr: allowLoopback})
			resp, body := e.raw(t, tt.req)
			if resp.StatusCode != tt.wantStatus || body != tt.wantBody {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, body, tt.wantStatus, tt.wantBody)
			}
			if diff := cmp.Diff(tt.wantDialed, e.dialer.Dialed()); diff != "" {
				t.Errorf("dialed (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSOCKS5Refused(t *testing.T) {
	tests := []struct {
		name        string
		req         []byte
		wantRep     byte
		wantEvents  []Event
		wantQueries []string
	}{
		{"not allowed", socksConnect("other.test", 22), repNotAllowed,
			denied("other.test:22", "not in allowedDomains; no one to ask"), nil},
		{"denied", socksConnect("x.both.test", 443), repNotAllowed, denied("x.both.test:443", "in deniedDomains"), nil},
		{"ipv4 address", socksConnect("127.0.0.1", 7), repNotAllowed, denied("127.0.0.1:7", "IP literal"), nil},
		{"ipv6 address", socksConnect("::ffff:127.0.0.1", 7), repNotAllowed, denied("127.0.0.1:7", "IP literal"), nil},
		{"decimal ip as domain", socksConnect("2130706433", 7), repNotAllowed, denied("127.0.0.1:7", "IP literal"), nil},
		{"rebinding", socksConnect("echo.test", 7), repNotAllowed,
			denied("echo.test:7", "resolves to a loopback address 127.0.0.1"), []string{"echo.test"}},
		{"bind command", encodeRequest(socksRequest{Cmd: 2, Host: "echo.test", Port: 7}), repCommandNotSupp, nil, nil},
		{"udp associate", encodeRequest(socksRequest{Cmd: 3, Host: "echo.test", Port: 7}), repCommandNotSupp, nil, nil},
		{"unknown address type", []byte{5, 1, 0, 9, 0, 7}, repAddrTypeNotSupp, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := start(t, Config{Decider: testRules})
			if rep, _ := e.socks(t, tt.req); rep != tt.wantRep {
				t.Errorf("reply %d, want %d", rep, tt.wantRep)
			}
			if diff := cmp.Diff(tt.wantEvents, e.Events(), ignoreTime); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantQueries, e.resolver.Queries()); diff != "" {
				t.Errorf("resolver queries (-want +got):\n%s", diff)
			}
			if got := e.dialer.Dialed(); len(got) != 0 {
				t.Errorf("dialed %v, want nothing", got)
			}
		})
	}
}

// chanApprover hands each question to the test and waits for its answer.
type chanApprover struct {
	asked   chan Target
	answers chan bool
}

func (a *chanApprover) Approve(ctx context.Context, t Target) (bool, error) {
	a.asked <- t
	select {
	case ok := <-a.answers:
		return ok, nil
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

func TestAskHoldsConnectionUntilAnswered(t *testing.T) {
	approved := func(target string) []Event {
		return []Event{{Kind: "network", Target: target, Decision: "allowed", Reason: "approved"}}
	}
	tests := []struct {
		name       string
		req        string
		wantAsked  Target
		answer     bool
		wantStatus int
		wantEvents []Event
	}{
		{"plain http, approved", getReq("http://asked.test/", "asked.test"), Target{"asked.test", 80}, true, 200, approved("asked.test:80")},
		{"plain http, refused", getReq("http://asked.test/", "asked.test"), Target{"asked.test", 80}, false, 403,
			denied("asked.test:80", "not in allowedDomains; denied by approver")},
		{"connect, approved", connectReq("asked.test:443"), Target{"asked.test", 443}, true, 200, approved("asked.test:443")},
		{"connect, refused", connectReq("asked.test:443"), Target{"asked.test", 443}, false, 403,
			denied("asked.test:443", "not in allowedDomains; denied by approver")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &chanApprover{asked: make(chan Target), answers: make(chan bool)}
			e := start(t, Config{Decider: testRules, Approver: a, AllowAddr: allowLoopback})
			done := make(chan int, 1)
			go func() {
				// Not e.raw: t.Fatal must not be called from this goroutine.
				status, err := rawStatus(e.httpAddr, tt.req)
				if err != nil {
					t.Error(err)
				}
				done <- status
			}()
			if got := <-a.asked; got != tt.wantAsked {
				t.Errorf("approver asked about %v, want %v", got, tt.wantAsked)
			}
			select {
			case status := <-done:
				t.Fatalf("request finished with %d before the approver answered", status)
			default:
			}
			if q := e.resolver.Queries(); len(q) != 0 {
				t.Errorf("resolved %v before the approver answered", q)
			}
			a.answers <- tt.answer
			if status := <-done; status != tt.wantStatus {
				t.Errorf("status = %d, want %d", status, tt.wantStatus)
			}
			if diff := cmp.Diff(tt.wantEvents, e.Events(), ignoreTime); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}

// switchDecider decides by whichever rules were stored last, as a Decider
// reading the current policy does.
type switchDecider struct{ rules atomic.Pointer[Rules] }

func (d *switchDecider) Decide(ctx context.Context, t Target) Decision {
	return d.rules.Load().Decide(ctx, t)
}

func TestPolicyChangeSeenByLaterConnections(t *testing.T) {
	d := &switchDecider{}
	d.rules.Store(&Rules{})
	e := start(t, Config{Decider: d, AllowAddr: allowLoopback})
	c := e.client()
	if status, _ := e.get(t, c, "http://allowed.test/"); status != 403 {
		t.Fatalf("before the change: status %d, want 403", status)
	}
	d.rules.Store(&Rules{Allowed: []string{"allowed.test"}})
	if status, _ := e.get(t, c, "http://allowed.test/"); status != 200 {
		t.Fatalf("after allowing: status %d, want 200", status)
	}
	d.rules.Store(&Rules{Allowed: []string{"allowed.test"}, Denied: []string{"allowed.test"}})
	if status, _ := e.get(t, c, "http://allowed.test/"); status != 403 {
		t.Fatalf("after denying: status %d, want 403", status)
	}
}

// TestStopEndsTunnels: when the proxies stop, open tunnels end too: the
// client sees its connection close, and the server sees the tunnel's
// connection to it end. TestStopEndsTunnelsOfPassedSockets is the same for
// clients whose socket came with the Hello.
func TestStopEndsTunnels(t *testing.T) {
	e := start(t, Config{Decider: testRules, AllowAddr: allowLoopback})
	stopEndsTunnels(t, e, func(addr string) net.Conn { return dialRelay(t, addr) })
}

// stopEndsTunnels opens a CONNECT and a SOCKS5 tunnel to the echo server,
// each on a connection from dial, stops the proxies and checks that both
// tunnels end at both ends.
func stopEndsTunnels(t *testing.T, e *env, dial func(proxyAddr string) net.Conn) {
	t.Helper()
	httpTunnel := dial(e.httpAddr)
	io.WriteString(httpTunnel, connectReq("echo.test:7"))
	// The tunnel is up once an echo comes back through it.
	br := bufio.NewReader(httpTunnel)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("CONNECT echo.test:7: %v %v", resp, err)
	}
	io.WriteString(httpTunnel, "x")
	if b, err := br.ReadByte(); err != nil || b != 'x' {
		t.Fatalf("echo through http tunnel = %q, %v", b, err)
	}
	socksTunnel := dial(e.socksAddr)
	socksTunnel.Write(append(append([]byte(nil), socksGreeting...), socksConnect("echo.test", 7)...))
	var rep [12]byte
	if _, err := io.ReadFull(socksTunnel, rep[:]); err != nil || rep[3] != repSucceeded {
		t.Fatalf("socks replies %v, %v; want success", rep, err)
	}

	e.stop()
	httpTunnel.SetDeadline(time.Now().Add(10 * time.Second))
	socksTunnel.SetDeadline(time.Now().Add(10 * time.Second))
	if n, err := br.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("http tunnel still open after stop: read %d bytes, %v", n, err)
	}
	if n, err := socksTunnel.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("socks tunnel still open after stop: read %d bytes, %v", n, err)
	}
	for range 2 {
		select {
		case <-e.up.echoEnded:
		case <-time.After(10 * time.Second):
			t.Fatal("the echo server's connections did not end after stop")
		}
	}
}

// TestConnectForwardsEarlyBytes: bytes a client sends right behind its
// CONNECT, before the answer (a TLS ClientHello, say), go through the
// tunnel first.
func TestConnectForwardsEarlyBytes(t *testing.T) {
	e := start(t, Config{Decider: testRules, AllowAddr: allowLoopback})
	c := dialRelay(t, e.httpAddr)
	io.WriteString(c, connectReq("echo.test:7")+"early")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("CONNECT echo.test:7: %v %v", resp, err)
	}
	got := make([]byte, len("early"))
	if _, err := io.ReadFull(br, got); err != nil || string(got) != "early" {
		t.Errorf("echo of the early bytes = %q, %v; want %q", got, err, "early")
	}
}

// TestConnectAfterOtherRequests: a CONNECT that comes after other requests
// on a kept-alive connection opens a tunnel too, with the bytes sent behind
// it first.
func TestConnectAfterOtherRequests(t *testing.T) {
	e := start(t, Config{Decider: testRules, AllowAddr: allowLoopback})
	c := dialRelay(t, e.httpAddr)
	br := bufio.NewReader(c)
	io.WriteString(c, getReq("http://allowed.test/", "allowed.test"))
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET http://allowed.test/: %v %v", resp, err)
	}
	if b, err := io.ReadAll(resp.Body); err != nil || string(b) != "host=allowed.test" {
		t.Fatalf("GET http://allowed.test/: body %q, %v", b, err)
	}
	io.WriteString(c, connectReq("echo.test:7")+"early")
	resp, err = http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("CONNECT echo.test:7 after a GET: %v %v", resp, err)
	}
	io.WriteString(c, "+late")
	got := make([]byte, len("early+late"))
	if _, err := io.ReadFull(br, got); err != nil || string(got) != "early+late" {
		t.Errorf("echo through the tunnel = %q, %v; want %q", got, err, "early+late")
	}
	if diff := cmp.Diff(append(allowed("allowed.test:80"), allowed("echo.test:7")...), e.Events(), ignoreTime); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

// TestConnectMalformed: a CONNECT without a port, or that does not parse,
// gets a 400 and nothing is decided or dialled.
func TestConnectMalformed(t *testing.T) {
	tests := []struct{ name, req, wantBody string }{
		{"no port", connectReq("allowed.test"), "sandbar proxy: CONNECT wants host:port, got \"allowed.test\"\n"},
		{"no version", "CONNECT allowed.test:443\r\n\r\n", "sandbar proxy: malformed CONNECT request\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := start(t, Config{Decider: testRules, AllowAddr: allowLoopback})
			resp, body := e.raw(t, tt.req)
			if resp.StatusCode != http.StatusBadRequest || body != tt.wantBody {
				t.Errorf("got %d %q, want 400 %q", resp.StatusCode, body, tt.wantBody)
			}
			if ev, d := e.Events(), e.dialer.Dialed(); len(ev)+len(d) != 0 {
				t.Errorf("got events %v, dials %v; want none", ev, d)
			}
		})
	}
}
