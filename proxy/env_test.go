package proxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// testCredential has the shape of a production credential (NewCredential).
const testCredential = "5f1d3c0a9b8e7d6c4b3a29181f0e0d0c"

// relayDial dials as sandbar's relay does: it connects and writes hello
// before anything else. Tests pass it as http.Transport.DialContext and use
// it for their SOCKS5 clients.
func relayDial(hello []byte) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		if _, err := c.Write(hello); err != nil {
			c.Close()
			return nil, err
		}
		return c, nil
	}
}

// dialRelay connects to addr through relayDial with the test credential.
func dialRelay(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := relayDial(Hello(testCredential))(context.Background(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// fakeResolver maps test names to addresses and records every query, so a
// test can check that a denied name was never looked up.
type fakeResolver struct {
	names   map[string][]string
	mu      sync.Mutex
	queries []string
}

func (r *fakeResolver) LookupIPAddr(_ context.Context, host string) ([]net.IPAddr, error) {
	r.mu.Lock()
	r.queries = append(r.queries, host)
	r.mu.Unlock()
	addrs, ok := r.names[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	var out []net.IPAddr
	for _, a := range addrs {
		out = append(out, net.IPAddr{IP: net.ParseIP(a)})
	}
	return out, nil
}

func (r *fakeResolver) Queries() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.queries...)
}

// routeDialer dials only the addresses it has a route for, each to a server
// the test started on 127.0.0.1, and records what the proxy asked for. It
// never dials anything else.
type routeDialer struct {
	routes map[string]string
	mu     sync.Mutex
	dialed []string
}

func (d *routeDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	d.mu.Lock()
	d.dialed = append(d.dialed, addr)
	d.mu.Unlock()
	real, ok := d.routes[addr]
	if network != "tcp" || !ok {
		return nil, fmt.Errorf("test dialer: no route to %s %s", network, addr)
	}
	var nd net.Dialer
	return nd.DialContext(ctx, "tcp", real)
}

func (d *routeDialer) Dialed() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.dialed...)
}

// upstreamHandler tells the client which Host it saw.
var upstreamHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	fmt.Fprintf(w, "host=%s", r.Host)
})

// upstreams are the servers the proxy may reach in a test.
type upstreams struct {
	http, tls *httptest.Server
	echo      net.Listener
	// echoEnded receives when a connection to echo ends (if it has room).
	echoEnded chan struct{}
}

func startUpstreams(t testing.TB) *upstreams {
	t.Helper()
	u := &upstreams{http: httptest.NewServer(upstreamHandler), tls: httptest.NewTLSServer(upstreamHandler), echoEnded: make(chan struct{}, 16)}
	t.Cleanup(u.http.Close)
	t.Cleanup(u.tls.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u.echo = ln
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
				select {
				case u.echoEnded <- struct{}{}:
				default:
				}
			}()
		}
	}()
	return u
}

// testNames is what the fake resolver knows.
var testNames = map[string][]string{
	"allowed.test": {"127.0.0.1"},
	"a.wild.test":  {"127.0.0.1"},
	"asked.test":   {"127.0.0.1"},
	"echo.test":    {"127.0.0.1"},
	"rebind.test":  {"127.0.0.1"},
	"meta.test":    {"169.254.169.254"},
	"private.test": {"10.0.0.5"},
	"mixed.test":   {"203.0.113.7", "10.0.0.5"},
}

// testRules is the policy most tests run under.
var testRules = Rules{
	Allowed: []string{"allowed.test", "*.wild.test", "echo.test:7", "rebind.test", "meta.test",
		"private.test", "mixed.test", "10.0.0.5", "*.both.test"},
	Denied: []string{"x.both.test"},
}

// allowLoopback admits the 127.0.0.1 test servers. Production passes
// Rules.ListsAddr, never this.
func allowLoopback(a netip.Addr) bool { return a == netip.MustParseAddr("127.0.0.1") }

// env is a running pair of proxies with fakes around them.
type env struct {
	up        *upstreams
	resolver  *fakeResolver
	dialer    *routeDialer
	httpAddr  string
	socksAddr string
	stop      func() // stops both proxies and waits for them to return
	mu        sync.Mutex
	events    []Event
	changed   chan struct{} // closed and replaced on every event
}

// start runs both proxies with cfg, filling in the fakes, the test
// credential and the event recorder.
func start(t testing.TB, cfg Config) *env {
	t.Helper()
	return startWith(t, cfg, testCredential)
}

// startWith is start with the given Config.Credential.
func startWith(t testing.TB, cfg Config, credential string) *env {
	t.Helper()
	return startOn(t, cfg, credential, "tcp")
}

// startUnix is start with the proxies on Unix sockets, as in production;
// httpAddr and socksAddr are the sockets' paths.
func startUnix(t testing.TB, cfg Config) *env {
	t.Helper()
	return startOn(t, cfg, testCredential, "unix")
}

// startOn is start with the given credential, on listeners of network
// ("tcp" or "unix").
func startOn(t testing.TB, cfg Config, credential, network string) *env {
	t.Helper()
	e := &env{up: startUpstreams(t), resolver: &fakeResolver{names: testNames}, changed: make(chan struct{})}
	e.dialer = &routeDialer{routes: map[string]string{
		"127.0.0.1:80":  e.up.http.Listener.Addr().String(),
		"127.0.0.1:443": e.up.tls.Listener.Addr().String(),
		"127.0.0.1:7":   e.up.echo.Addr().String(),
	}}
	cfg.Resolver, cfg.Dialer, cfg.Credential = e.resolver, e.dialer, credential
	cfg.OnEvent = func(ev Event) {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.events = append(e.events, ev)
		close(e.changed)
		e.changed = make(chan struct{})
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, serve := range []struct {
		addr *string
		f    func(context.Context, net.Listener, Config) error
	}{{&e.httpAddr, ServeHTTP}, {&e.socksAddr, ServeSOCKS5}} {
		addr := "127.0.0.1:0"
		if network == "unix" {
			addr = filepath.Join(t.TempDir(), "proxy.sock")
		}
		ln, err := net.Listen(network, addr)
		if err != nil {
			t.Fatal(err)
		}
		*serve.addr = ln.Addr().String()
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := serve.f(ctx, ln, cfg); err != nil {
				t.Errorf("serving: %v", err)
			}
		}()
	}
	var once sync.Once
	e.stop = func() { once.Do(func() { cancel(); wg.Wait() }) }
	t.Cleanup(e.stop)
	return e
}

func (e *env) Events() []Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Event(nil), e.events...)
}

// waitEvents waits until n events have been reported and returns them.
func (e *env) waitEvents(t *testing.T, n int) []Event {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		e.mu.Lock()
		got, changed := append([]Event(nil), e.events...), e.changed
		e.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-changed:
		case <-timeout:
			t.Fatalf("waiting for %d events, got %v", n, got)
		}
	}
}

// client is an HTTP client that reaches the proxy as a client inside the
// sandbox does, without a credential of its own, through a dialer that
// writes the Hello as the relay does. It trusts the TLS upstream's
// certificate (issued for example.com).
func (e *env) client() *http.Client {
	roots := e.up.tls.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	return &http.Client{Transport: &http.Transport{
		Proxy:           http.ProxyURL(&url.URL{Scheme: "http", Host: e.httpAddr}),
		DialContext:     relayDial(Hello(testCredential)),
		TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: "example.com"},
	}}
}

// get fetches url through the proxy and returns the status and body.
func (e *env) get(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", url, err)
	}
	return resp.StatusCode, string(b)
}

// raw sends a hand-written request to the HTTP proxy after the Hello, so
// that a test controls every byte (host spellings, Host headers), and
// returns the response. For a refused CONNECT that is the proxy's answer.
func (e *env) raw(t *testing.T, req string) (*http.Response, string) {
	t.Helper()
	return e.rawAfter(t, string(Hello(testCredential)), req)
}

// rawAfter is raw with the given preamble (a Hello, a wrong one, or none)
// in place of the right Hello.
func (e *env) rawAfter(t *testing.T, preamble, req string) (*http.Response, string) {
	t.Helper()
	c, err := net.Dial("tcp", e.httpAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, preamble+req); err != nil {
		t.Fatal(err)
	}
	// A guard only: a proxy that wrongly opens a tunnel would otherwise
	// leave the test waiting for a body that never ends.
	c.SetDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("reading response to %q: %v", req, err)
	}
	if strings.HasPrefix(req, "CONNECT ") && resp.StatusCode == 200 {
		return resp, "" // a tunnel, not a body
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("reading body: %v", err)
	}
	return resp, string(b)
}

// connectReq is a CONNECT to authority.
func connectReq(authority string) string {
	return "CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n\r\n"
}

// getReq is a plain proxied GET of url.
func getReq(url, host string) string {
	return "GET " + url + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n"
}

// socksGreeting offers "no authentication required" only, as curl and
// other clients without a SOCKS credential do.
var socksGreeting = []byte{5, 1, methodNoAuth}

// socks connects through relayDial, offers "no authentication required" and
// sends req (see socksConnect), returning the reply code and the
// connection.
func (e *env) socks(t *testing.T, req []byte) (rep byte, c net.Conn) {
	t.Helper()
	c = dialRelay(t, e.socksAddr)
	if _, err := c.Write(append(append([]byte(nil), socksGreeting...), req...)); err != nil {
		t.Fatal(err)
	}
	var m [2]byte
	if _, err := io.ReadFull(c, m[:]); err != nil || m != [2]byte{5, methodNoAuth} {
		t.Fatalf("socks method reply = %v, %v; want [5 0]", m, err)
	}
	var r [10]byte
	if _, err := io.ReadFull(c, r[:]); err != nil {
		t.Fatalf("reading socks reply: %v", err)
	}
	return r[1], c
}

// socksConnect encodes a SOCKS5 CONNECT request.
func socksConnect(host string, port int) []byte {
	return encodeRequest(socksRequest{Cmd: cmdConnect, Host: host, Port: port})
}

func encodeRequest(r socksRequest) []byte {
	b := []byte{5, r.Cmd, 0}
	if a, err := netip.ParseAddr(r.Host); err == nil && a.String() == r.Host {
		if a.Is4() {
			b = append(b, atypIPv4)
		} else {
			b = append(b, atypIPv6)
		}
		b = append(b, a.AsSlice()...)
	} else {
		b = append(b, atypDomain, byte(len(r.Host)))
		b = append(b, r.Host...)
	}
	return append(b, byte(r.Port>>8), byte(r.Port))
}

// rawStatus sends req to the HTTP proxy at addr, after the Hello, and
// returns the response status; it is safe to call from any goroutine.
func rawStatus(addr, req string) (int, error) {
	c, err := relayDial(Hello(testCredential))(context.Background(), "tcp", addr)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	if _, err := io.WriteString(c, req); err != nil {
		return 0, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
