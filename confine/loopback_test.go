package confine

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	xproxy "golang.org/x/net/proxy"

	"github.com/sandbar-dev/sandbar/proxy"
)

type allowAll struct{}

func (allowAll) Decide(context.Context, proxy.Target) proxy.Decision {
	return proxy.Decision{Verdict: proxy.Allow, Reason: "test"}
}

// relayToProxies starts sandbar's real proxies on Unix sockets, as the
// gate does, and the loopback relay in front of them.
func relayToProxies(t *testing.T) (*loopbackRelay, *[]Violation) {
	t.Helper()
	cred, err := proxy.NewCredential()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := proxy.Config{
		Decider:    allowAll{},
		Credential: cred,
		AllowAddr:  func(netip.Addr) bool { return true },
	}
	p := &Proxy{HTTP: filepath.Join(dir, "http.sock"), SOCKS: filepath.Join(dir, "socks.sock"), Hello: proxy.Hello(cred)}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for path, serve := range map[string]func(context.Context, net.Listener, proxy.Config) error{p.HTTP: proxy.ServeHTTP, p.SOCKS: proxy.ServeSOCKS5} {
		ln, err := net.Listen("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			serve(ctx, ln, cfg)
		}()
	}
	var mu sync.Mutex
	var refused []Violation
	r, err := startLoopbackRelay(p, func(v Violation) {
		mu.Lock()
		refused = append(refused, v)
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		r.Close()
		cancel()
		wg.Wait()
	})
	return r, &refused
}

func httpClient(proxyURL string, tlsConfig *tls.Config) *http.Client {
	u, _ := url.Parse(proxyURL)
	return &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(u), TLSClientConfig: tlsConfig}}
}

func TestLoopbackRelayHTTP(t *testing.T) {
	r, refused := relayToProxies(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Header.Get("Proxy-Authorization") != "" {
			t.Errorf("the server received the proxy credential")
		}
		io.WriteString(w, "hello from "+req.URL.Path)
	}))
	defer srv.Close()
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		io.WriteString(w, "tls "+req.URL.Path)
	}))
	defer tlsSrv.Close()
	pool := tlsSrv.Client().Transport.(*http.Transport).TLSClientConfig

	port := strconv.Itoa(r.HTTPPort)
	good := "http://" + loopbackUser + ":" + r.Credential + "@127.0.0.1:" + port
	tests := []struct {
		name     string
		proxy    string
		url      string
		tls      *tls.Config
		status   int
		body     string
		refusals int
	}{
		{"plain request", good, srv.URL + "/a", nil, 200, "hello from /a", 0},
		{"tunnel", good, tlsSrv.URL + "/b", pool, 200, "tls /b", 0},
		{"through ::1", "http://" + loopbackUser + ":" + r.Credential + "@[::1]:" + port, srv.URL + "/c", nil, 200, "hello from /c", 0},
		{"no credential", "http://127.0.0.1:" + port, srv.URL + "/d", nil, 407, "", 1},
		{"wrong credential", "http://" + loopbackUser + ":wrong@127.0.0.1:" + port, srv.URL + "/e", nil, 407, "", 1},
		{"wrong credential, tunnel", "http://" + loopbackUser + ":wrong@127.0.0.1:" + port, tlsSrv.URL + "/f", pool, 0, "", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "through ::1" && !hasIPv6Loopback() {
				t.Skip("no ::1 on this machine")
			}
			before := len(*refused)
			resp, err := httpClient(tt.proxy, tt.tls).Get(tt.url)
			if tt.status == 0 {
				if err == nil {
					resp.Body.Close()
					t.Fatalf("tunnel opened with a wrong credential")
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != tt.status {
					t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, b)
				}
				if tt.body != "" && string(b) != tt.body {
					t.Errorf("body %q, want %q", b, tt.body)
				}
			}
			if got := len(*refused) - before; got != tt.refusals {
				t.Errorf("%d refusals reported, want %d", got, tt.refusals)
			}
		})
	}
	want := Violation{Kind: "network", Decision: "denied", Reason: loopbackRefusedReason, Count: 1}
	for _, v := range *refused {
		if diff := cmp.Diff(want, v); diff != "" {
			t.Errorf("refusal (-want +got):\n%s", diff)
		}
	}
}

func TestLoopbackRelaySOCKS(t *testing.T) {
	r, refused := relayToProxies(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		io.WriteString(w, "socks "+req.URL.Path)
	}))
	defer srv.Close()
	addr := "127.0.0.1:" + strconv.Itoa(r.SOCKSPort)
	get := func(auth *xproxy.Auth) (string, error) {
		d, err := xproxy.SOCKS5("tcp", addr, auth, xproxy.Direct)
		if err != nil {
			return "", err
		}
		c := &http.Client{Transport: &http.Transport{Dial: d.Dial}}
		resp, err := c.Get(srv.URL + "/x")
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	if body, err := get(&xproxy.Auth{User: loopbackUser, Password: r.Credential}); err != nil || body != "socks /x" {
		t.Errorf("with the credential: %q, %v", body, err)
	}
	if _, err := get(&xproxy.Auth{User: loopbackUser, Password: "wrong"}); err == nil {
		t.Errorf("a wrong password got through")
	}
	if _, err := get(nil); err == nil {
		t.Errorf("no authentication got through")
	}
	if len(*refused) != 2 {
		t.Errorf("%d refusals reported, want 2", len(*refused))
	}
}

func TestLoopbackRelayHoldsBothLoopbacks(t *testing.T) {
	if !hasIPv6Loopback() {
		t.Skip("no ::1 on this machine")
	}
	r, _ := relayToProxies(t)
	for _, port := range []int{r.HTTPPort, r.SOCKSPort} {
		ln, err := net.Listen("tcp6", net.JoinHostPort("::1", strconv.Itoa(port)))
		if err == nil {
			ln.Close()
			t.Errorf("port %d of ::1 is free: another program could listen behind the relay", port)
		} else if !errors.Is(err, syscall.EADDRINUSE) {
			t.Errorf("port %d of ::1: %v", port, err)
		}
	}
}

func hasIPv6Loopback() bool {
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

func TestLoopbackEnv(t *testing.T) {
	r := &loopbackRelay{HTTPPort: 50001, SOCKSPort: 50002, Credential: "c0ffee"}
	// The variables gate.Env sets, and some of the user's.
	env := []string{
		"HOME=/Users/u",
		"TMPDIR=/tmp",
		"HTTP_PROXY=http://127.0.0.1:3128",
		"https_proxy=http://127.0.0.1:3128",
		"ALL_PROXY=socks5h://127.0.0.1:1080",
		"NO_PROXY=localhost,127.0.0.1,::1",
		"npm_config_proxy=http://127.0.0.1:3128",
		"JAVA_TOOL_OPTIONS=-Xmx1g -Dhttp.proxyHost=127.0.0.1 -Dhttp.proxyPort=3128 -Dhttps.proxyHost=127.0.0.1 -Dhttps.proxyPort=3128",
		"GIT_SSH_COMMAND=ssh -o 'ProxyCommand=/tmp/.sandbar/sandbar connect %h %p'",
	}
	want := []string{
		"HOME=/Users/u",
		"HTTP_PROXY=http://sandbar:c0ffee@127.0.0.1:50001",
		"https_proxy=http://sandbar:c0ffee@127.0.0.1:50001",
		"ALL_PROXY=socks5h://sandbar:c0ffee@127.0.0.1:50002",
		"NO_PROXY=localhost,127.0.0.1,::1",
		"npm_config_proxy=http://sandbar:c0ffee@127.0.0.1:50001",
		"JAVA_TOOL_OPTIONS=-Xmx1g -Dhttp.proxyHost=127.0.0.1 -Dhttp.proxyPort=50001 -Dhttps.proxyHost=127.0.0.1 -Dhttps.proxyPort=50001",
		"GIT_SSH_COMMAND=ssh -o 'ProxyCommand=/usr/local/bin/sandbar connect --via 127.0.0.1:50002 %h %p'",
		"TMPDIR=/private/var/folders/x/T/sandbar-tmp-1",
	}
	got := loopbackEnv(env, r, "/usr/local/bin/sandbar", "/private/var/folders/x/T/sandbar-tmp-1")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// Without a network, only TMPDIR changes.
	got = loopbackEnv(env[:3], nil, "/usr/local/bin/sandbar", "/t")
	if diff := cmp.Diff([]string{"HOME=/Users/u", "HTTP_PROXY=http://127.0.0.1:3128", "TMPDIR=/t"}, got); diff != "" {
		t.Errorf("without a relay (-want +got):\n%s", diff)
	}
}

// TestLoopbackRelayCurl checks that a real client authenticates with the
// user-info of the proxy URLs loopbackEnv writes, as macOS tools will.
func TestLoopbackRelayCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl is not installed (e2e/test-all.sh installs it)")
	}
	r, refused := relayToProxies(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		io.WriteString(w, "curl "+req.URL.Path)
	}))
	defer srv.Close()
	env := loopbackEnv([]string{"HTTP_PROXY=http://" + HTTPProxyAddr, "ALL_PROXY=socks5h://" + SOCKSProxyAddr}, r, "", "")
	for _, tt := range []struct{ name, proxyEnv string }{
		{"http proxy", env[0]},
		{"socks5h proxy", env[1]},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, proxyURL, _ := strings.Cut(tt.proxyEnv, "=")
			out, err := exec.Command(curl, "-sS", "--noproxy", "", "-x", proxyURL, srv.URL+"/ok").CombinedOutput()
			if err != nil || string(out) != "curl /ok" {
				t.Errorf("curl through %s: %q, %v", proxyURL, out, err)
			}
		})
	}
	if len(*refused) != 0 {
		t.Errorf("refusals: %v", *refused)
	}
}
