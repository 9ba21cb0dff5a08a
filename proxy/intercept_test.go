package proxy

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// upperInterceptor takes over the tunnels to echo.test: it dials the
// target itself and sends it what the client says in upper case. Tunnels
// to refused.test are refused; all others stay opaque.
type upperInterceptor struct{}

func (upperInterceptor) Intercept(_ context.Context, t Target) (ServeTunnel, error) {
	switch t.Host {
	case "refused.test":
		return nil, errors.New("git checks are not available: no CA")
	case "echo.test":
	default:
		return nil, nil
	}
	return func(ctx context.Context, client net.Conn, dial func(context.Context) (net.Conn, error)) {
		up, err := dial(ctx)
		if err != nil {
			io.WriteString(client, "dial: "+err.Error())
			return
		}
		defer up.Close()
		line, _ := bufio.NewReader(client).ReadString('\n')
		io.WriteString(up, strings.ToUpper(line))
		b := make([]byte, len(line))
		io.ReadFull(up, b)
		client.Write(b)
	}, nil
}

func interceptRules() Rules {
	return Rules{Allowed: append([]string{"echo.test:7", "refused.test:7"}, testRules.Allowed...)}
}

func TestInterceptedConnect(t *testing.T) {
	names := map[string][]string{"refused.test": {"127.0.0.1"}}
	for k, v := range testNames {
		names[k] = v
	}
	e := start(t, Config{Decider: interceptRules(), AllowAddr: allowLoopback, Interceptor: upperInterceptor{}})
	e.resolver.names = names

	t.Run("intercepted", func(t *testing.T) {
		c := dialRelay(t, e.httpAddr)
		// The first line follows the CONNECT at once, as a client that
		// does not wait for the answer sends it.
		io.WriteString(c, connectReq("echo.test:7")+"hello\n")
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("CONNECT: %v, %v", resp, err)
		}
		got, _ := br.ReadString('\n')
		if got != "HELLO\n" {
			t.Errorf("through the interceptor: %q; want HELLO", got)
		}
	})
	t.Run("socks5 intercepted", func(t *testing.T) {
		rep, c := e.socks(t, socksConnect("echo.test", 7))
		if rep != repSucceeded {
			t.Fatalf("reply %d", rep)
		}
		io.WriteString(c, "socks\n")
		got, _ := bufio.NewReader(c).ReadString('\n')
		if got != "SOCKS\n" {
			t.Errorf("through the interceptor: %q; want SOCKS", got)
		}
	})
	t.Run("opaque", func(t *testing.T) {
		status, body := e.get(t, e.client(), "https://allowed.test/")
		if status != 200 || body != "host=allowed.test" {
			t.Errorf("opaque tunnel: %d %q", status, body)
		}
	})
	t.Run("refused", func(t *testing.T) {
		before := len(e.Events())
		resp, body := e.raw(t, connectReq("refused.test:7"))
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "git checks are not available: no CA") {
			t.Errorf("CONNECT to a target the interceptor refuses: %d %q; want 403 with the reason", resp.StatusCode, body)
		}
		rep, _ := e.socks(t, socksConnect("refused.test", 7))
		if rep != repNotAllowed {
			t.Errorf("SOCKS5 CONNECT to a target the interceptor refuses: reply %d; want %d", rep, repNotAllowed)
		}
		var got []Event
		for _, ev := range e.Events()[before:] {
			got = append(got, Event{Kind: ev.Kind, Target: ev.Target, Decision: ev.Decision, Reason: ev.Reason})
		}
		want := []Event{
			{Kind: "network", Target: "refused.test:7", Decision: "allowed", Reason: "in allowedDomains"},
			{Kind: "network", Target: "refused.test:7", Decision: "denied", Reason: "git checks are not available: no CA"},
			{Kind: "network", Target: "refused.test:7", Decision: "allowed", Reason: "in allowedDomains"},
			{Kind: "network", Target: "refused.test:7", Decision: "denied", Reason: "git checks are not available: no CA"},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
	})
}
