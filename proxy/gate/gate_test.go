package gate_test

import (
	"bufio"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/sandbar-dev/sandbar/proxy"
	"github.com/sandbar-dev/sandbar/proxy/gate"
)

func lookup(env []string, name string) (string, bool) {
	for _, kv := range env {
		if n, v, _ := strings.Cut(kv, "="); n == name {
			return v, true
		}
	}
	return "", false
}

func TestEnv(t *testing.T) {
	user := []string{
		"PATH=/usr/bin",
		"HTTPS_PROXY=http://corp-proxy:8080", // cannot work from the sandbox
		"no_proxy=*",                         // would send everything direct, into nothing
		"JAVA_TOOL_OPTIONS=-Xmx1g",
		"GIT_SSH_COMMAND=ssh -i ~/work/key",
	}
	env := gate.Env(user, "/usr/bin/sandbar connect %h %p")
	want := map[string]string{
		"PATH":              "/usr/bin",
		"HTTPS_PROXY":       "http://127.0.0.1:3128",
		"https_proxy":       "http://127.0.0.1:3128",
		"HTTP_PROXY":        "http://127.0.0.1:3128",
		"ALL_PROXY":         "socks5h://127.0.0.1:1080",
		"no_proxy":          "localhost,127.0.0.1,::1",
		"npm_config_proxy":  "http://127.0.0.1:3128",
		"JAVA_TOOL_OPTIONS": "-Xmx1g -Dhttp.proxyHost=127.0.0.1 -Dhttp.proxyPort=3128 -Dhttps.proxyHost=127.0.0.1 -Dhttps.proxyPort=3128 -Dhttp.nonProxyHosts=localhost|127.0.0.1|[::1]",
		"GIT_SSH_COMMAND":   "ssh -i ~/work/key -o 'ProxyCommand=/usr/bin/sandbar connect %h %p'",
	}
	checkEnv(t, env, want)
	if !slices.Equal(env, gate.Env(user, "/usr/bin/sandbar connect %h %p")) {
		t.Error("Env is not deterministic")
	}
	if got, _ := lookup(gate.Env(nil, "sb connect %h %p"), "GIT_SSH_COMMAND"); got != "ssh -o 'ProxyCommand=sb connect %h %p'" {
		t.Errorf("GIT_SSH_COMMAND without the user's = %q", got)
	}
}

func TestGateSocketsArePrivateAndGoAway(t *testing.T) {
	g, err := gate.Start(gate.Config{RuntimeDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(g.Proxy.HTTP)
	fi, err := os.Stat(dir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("socket directory mode %v, %v; want 0700", fi.Mode().Perm(), err)
	}
	if !strings.HasPrefix(string(g.Proxy.Hello), "SANDBAR/1 ") {
		t.Errorf("hello %q", g.Proxy.Hello)
	}

	// A client that did not come through the relay is refused.
	c, err := net.Dial("unix", g.Proxy.HTTP)
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != http.StatusProxyAuthRequired {
		t.Errorf("CONNECT without the hello: %v, %v; want 407", resp, err)
	}
	c.Close()

	// With the hello, and no rules, everything is denied.
	c, err = net.Dial("unix", g.Proxy.HTTP)
	if err != nil {
		t.Fatal(err)
	}
	c.Write(g.Proxy.Hello)
	c.Write([]byte("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"))
	resp, err = http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("CONNECT with no rules: %v, %v; want 403", resp, err)
	}
	c.Close()

	if err := g.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("socket directory still there after Close: %v", err)
	}
}

// The rules are read at every connection.
func TestGateReadsRulesPerConnection(t *testing.T) {
	var mu sync.Mutex
	denied := []string{}
	var events []proxy.Event
	g, err := gate.Start(gate.Config{
		RuntimeDir: t.TempDir(),
		Rules: func() *proxy.CompiledRules {
			mu.Lock()
			defer mu.Unlock()
			return proxy.Rules{Denied: denied}.Compile()
		},
		OnEvent: func(ev proxy.Event) {
			mu.Lock()
			defer mu.Unlock()
			events = append(events, ev)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	try := func() string {
		c, err := net.Dial("unix", g.Proxy.HTTP)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write(g.Proxy.Hello)
		c.Write([]byte("CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n"))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		mu.Lock()
		defer mu.Unlock()
		return events[len(events)-1].Reason
	}
	first := try()
	mu.Lock()
	denied = []string{"evil.example"}
	mu.Unlock()
	if second := try(); second == first || !strings.Contains(second, "denied") {
		t.Errorf("reasons %q then %q; want the second to come from the new deniedDomains", first, second)
	}
}

// checkEnv fails t unless env sets each variable of want to its value,
// and sets no variable twice.
func checkEnv(t *testing.T, env []string, want map[string]string) {
	t.Helper()
	for name, w := range want {
		if got, _ := lookup(env, name); got != w {
			t.Errorf("%s = %q; want %q", name, got, w)
		}
	}
	seen := map[string]bool{}
	for _, kv := range env {
		n, _, _ := strings.Cut(kv, "=")
		if seen[n] {
			t.Errorf("%s set twice", n)
		}
		seen[n] = true
	}
}
