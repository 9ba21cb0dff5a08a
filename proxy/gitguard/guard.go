package gitguard

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/sandbar-dev/sandbar/proxy"
)

// Signer makes the certificates the guard shows the sandbox; *ca.CA is
// one.
type Signer interface {
	Certificate(host string) (*tls.Certificate, error)
}

// Push is a push that waits for the user's approval: the first to a
// repository in a run, unless the policy lists the repository.
type Push struct {
	// Repository is host/path, as git.push.repositories lists it:
	// "github.com/me/project".
	Repository string
	// Refs are the refs it updates, each already allowed by the policy.
	Refs []string
}

// PushApprover asks the user about a push. An error, like false, refuses
// it; the connection is held while it waits.
type PushApprover interface {
	ApprovePush(ctx context.Context, p Push) (bool, error)
}

// Config is what a Guard needs. Every dependency is passed in.
type Config struct {
	// Policy returns the policy in force; it is asked for every tunnel
	// and every request, so a policy change applies at once. Nil, or a
	// nil result, lists no git host.
	Policy func() *Policy
	// Signer signs for the git hosts. Nil (the CA could not be opened):
	// the tunnels to the git hosts are refused with SignerErr.
	Signer    Signer
	SignerErr error
	// Credentials gives the user's credentials. Nil: GitCredentials{}.
	Credentials Credentials
	// Roots verify the git hosts' own certificates. Nil: the system's.
	Roots *x509.CertPool
	// Approver asks about the first push to a repository the policy does
	// not list. Nil: such a push is refused, saying how to list it.
	Approver PushApprover
	// OnEvent receives each push decision and each refusal, as the
	// proxy's own decisions (Kind "network", Target host:port).
	OnEvent func(proxy.Event)
	// TempDir holds the pushes being checked (deleted at once, so only
	// the open file remains). Empty: os.TempDir().
	TempDir string
	// MaxPushBytes bounds a push; zero means 2 GiB.
	MaxPushBytes int64
}

// Guard checks the git traffic of one run. It is a proxy.Interceptor.
type Guard struct {
	cfg Config

	mu       sync.Mutex
	creds    map[Repository]*credEntry
	approved map[string]bool // by repository key, for this run
	asking   chan struct{}   // one question at a time
}

type credEntry struct {
	ready chan struct{}
	cred  Credential
	err   error
}

// New returns a Guard for cfg.
func New(cfg Config) *Guard {
	if cfg.Credentials == nil {
		cfg.Credentials = GitCredentials{}
	}
	if cfg.MaxPushBytes == 0 {
		cfg.MaxPushBytes = 2 << 30
	}
	return &Guard{cfg: cfg, creds: map[Repository]*credEntry{}, approved: map[string]bool{}, asking: make(chan struct{}, 1)}
}

func (g *Guard) policy() *Policy {
	if g.cfg.Policy == nil {
		return nil
	}
	return g.cfg.Policy()
}

// Intercept takes over the tunnels to the git hosts the policy lists.
func (g *Guard) Intercept(_ context.Context, t proxy.Target) (proxy.ServeTunnel, error) {
	if !g.policy().Lists(t) {
		return nil, nil
	}
	if g.cfg.Signer == nil {
		err := g.cfg.SignerErr
		if err == nil {
			err = errors.New("no certificate authority")
		}
		return nil, fmt.Errorf("%s is a git host but sandbar's git checks are not available: %v", t, err)
	}
	leaf, err := g.cfg.Signer.Certificate(t.Host)
	if err != nil {
		return nil, fmt.Errorf("%s is a git host but sandbar's git checks are not available: %v", t, err)
	}
	return func(ctx context.Context, client net.Conn, dial func(context.Context) (net.Conn, error)) {
		g.serve(ctx, t, leaf, client, dial)
	}, nil
}

func (g *Guard) report(t proxy.Target, allowed bool, reason string) {
	if g.cfg.OnEvent == nil {
		return
	}
	d := "denied"
	if allowed {
		d = "allowed"
	}
	g.cfg.OnEvent(proxy.Event{Kind: "network", Target: t.String(), Decision: d, Reason: reason, Time: time.Now()})
}

// serve terminates TLS with the sandboxed client and serves its requests
// one by one, each checked and sent on by a tunnelHandler, until the
// client is done or the proxy stops.
func (g *Guard) serve(ctx context.Context, t proxy.Target, leaf *tls.Certificate, client net.Conn, dial func(context.Context) (net.Conn, error)) {
	tc := tls.Server(client, &tls.Config{
		Certificates: []tls.Certificate{*leaf},
		// HTTP/1.1 only: one request at a time is what the checks
		// read, and what git speaks.
		NextProtos: []string{"http/1.1"},
		MinVersion: tls.VersionTLS12,
	})
	client.SetDeadline(time.Now().Add(time.Minute))
	if err := tc.HandshakeContext(ctx); err != nil {
		return
	}
	client.SetDeadline(time.Time{})
	// The name the client asked for must be the one it tunnelled to: a
	// certificate is made for the tunnel's host only.
	if sni := tc.ConnectionState().ServerName; sni != "" && !strings.EqualFold(strings.TrimSuffix(sni, "."), t.Host) {
		return
	}
	upTLS := &tls.Config{ServerName: t.Host, RootCAs: g.cfg.Roots, NextProtos: []string{"http/1.1"}, MinVersion: tls.VersionTLS12}
	tr := &http.Transport{
		DialTLSContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			c, err := dial(ctx)
			if err != nil {
				return nil, err
			}
			uc := tls.Client(c, upTLS)
			if err := uc.HandshakeContext(ctx); err != nil {
				c.Close()
				return nil, fmt.Errorf("TLS with %s: %w", t, err)
			}
			return uc, nil
		},
		DisableCompression:  true,
		MaxIdleConnsPerHost: 2,
		IdleConnTimeout:     90 * time.Second,
		Proxy:               nil,
	}
	defer tr.CloseIdleConnections()
	srv := &http.Server{
		Handler:           &tunnelHandler{g: g, t: t, tr: tr},
		ReadHeaderTimeout: time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          log.New(io.Discard, "", 0),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	stop := context.AfterFunc(ctx, func() { srv.Close() })
	defer stop()
	srv.Serve(newOneConn(tc))
}

// oneConn is a listener that accepts one connection, then waits for it
// to be closed, so that http.Server.Serve returns when it is done.
type oneConn struct {
	c    net.Conn
	once sync.Once
	done chan struct{}
	took bool
	mu   sync.Mutex
}

func newOneConn(c net.Conn) *oneConn {
	o := &oneConn{done: make(chan struct{})}
	o.c = &closeNotifyConn{Conn: c, closed: func() { o.once.Do(func() { close(o.done) }) }}
	return o
}

func (o *oneConn) Accept() (net.Conn, error) {
	o.mu.Lock()
	took := o.took
	o.took = true
	o.mu.Unlock()
	if !took {
		return o.c, nil
	}
	<-o.done
	return nil, net.ErrClosed
}

func (o *oneConn) Close() error {
	o.once.Do(func() { close(o.done) })
	return nil
}

func (o *oneConn) Addr() net.Addr { return o.c.LocalAddr() }

type closeNotifyConn struct {
	net.Conn
	closed func()
}

func (c *closeNotifyConn) Close() error {
	err := c.Conn.Close()
	c.closed()
	return err
}

// tempFile is an anonymous file for a push being checked.
func (g *Guard) tempFile() (*os.File, error) {
	f, err := os.CreateTemp(g.cfg.TempDir, "sandbar-push-*")
	if err != nil {
		return nil, err
	}
	os.Remove(f.Name())
	return f, nil
}
