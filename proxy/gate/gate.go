package gate

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sync"

	"github.com/sandbar-dev/sandbar/confine"
	"github.com/sandbar-dev/sandbar/proxy"
	"github.com/sandbar-dev/sandbar/proxy/ca"
	"github.com/sandbar-dev/sandbar/proxy/gitguard"
)

// Config is what a Gate needs.
type Config struct {
	// Rules returns the rules in force, compiled. It is called for every
	// connection, so it should return rules compiled once per policy
	// change, not compile them itself. Nil, or a nil result: no entries,
	// so every name is asked about and every address refused.
	Rules func() *proxy.CompiledRules
	// Approver answers for hosts the rules neither allow nor deny; nil
	// denies them.
	Approver proxy.Approver
	// OnEvent receives every decision (see proxy.Config.OnEvent).
	OnEvent func(proxy.Event)
	// RuntimeDir is where the private socket directory is made; it must
	// exist. Empty means os.TempDir().
	RuntimeDir string
	// Resolver and Dialer are passed to the proxies; nil means the
	// system's.
	Resolver proxy.Resolver
	Dialer   proxy.Dialer
	// Git, if set, puts the git hosts its policy lists behind sandbar's
	// git checks (package gitguard).
	Git *Git
}

// Git is what sandbar's git checks need.
type Git struct {
	// Policy returns the git policy in force; it is asked at every
	// connection and request.
	Policy func() *gitguard.Policy
	// CADir is the directory of the CA (package ca), made on first use.
	// A CA that cannot be opened does not stop the run: the git hosts'
	// tunnels are refused, with its error.
	CADir string
	// Credentials gives the user's credentials; nil means their own
	// `git credential fill`.
	Credentials gitguard.Credentials
	// Roots verify the git hosts; nil means the system's.
	Roots *x509.CertPool
	// Approver asks about the first push to a repository; nil refuses
	// it, saying how to list the repository in the policy.
	Approver gitguard.PushApprover
	// Getenv is the environment the system's roots are found with
	// ($SSL_CERT_FILE); nil means os.Getenv.
	Getenv func(string) string
}

// Gate is the proxies of one sandbox.
type Gate struct {
	// Proxy is what confine.Spec.Network needs to reach the proxies.
	Proxy *confine.Proxy
	// GitEnv is what commands in the sandbox need to go through the git
	// checks (see WithGit): set when Config.Git is, and the CA opened.
	GitEnv *GitEnv
	// GitErr is why the git checks could not start, if they could not:
	// the tunnels to the git hosts are refused with it.
	GitErr error

	dir    string
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	errs   []error
}

// Start starts the proxies. They run until Close.
func Start(cfg Config) (*Gate, error) {
	base := cfg.RuntimeDir
	if base == "" {
		base = os.TempDir()
	}
	// Private to this user, whatever the umask: the credential is the
	// real lock, this keeps other users from even trying.
	dir, err := os.MkdirTemp(base, "sandbar-net-")
	if err != nil {
		return nil, fmt.Errorf("starting the proxy: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("starting the proxy: %w", err)
	}
	cred, err := proxy.NewCredential()
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("starting the proxy: %w", err)
	}
	rules := cfg.Rules
	if rules == nil {
		rules = func() *proxy.CompiledRules { return nil }
	}
	pcfg := proxy.Config{
		Decider:    live(rules),
		Approver:   cfg.Approver,
		Resolver:   cfg.Resolver,
		Dialer:     cfg.Dialer,
		Credential: cred,
		AllowAddr:  func(a netip.Addr) bool { return rules().ListsAddr(a) },
		OnEvent:    cfg.OnEvent,
	}
	ctx, cancel := context.WithCancel(context.Background())
	g := &Gate{
		Proxy: &confine.Proxy{
			HTTP:  filepath.Join(dir, "http.sock"),
			SOCKS: filepath.Join(dir, "socks.sock"),
			Hello: proxy.Hello(cred),
		},
		dir:    dir,
		cancel: cancel,
	}
	if cfg.Git != nil {
		pcfg.Interceptor = g.startGit(cfg.Git, cfg.OnEvent)
	}
	serve := map[string]func(context.Context, net.Listener, proxy.Config) error{
		g.Proxy.HTTP:  proxy.ServeHTTP,
		g.Proxy.SOCKS: proxy.ServeSOCKS5,
	}
	for path, fn := range serve {
		ln, err := net.Listen("unix", path)
		if err != nil {
			g.Close()
			return nil, fmt.Errorf("starting the proxy: %w", err)
		}
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			if err := fn(ctx, ln, pcfg); err != nil {
				g.mu.Lock()
				g.errs = append(g.errs, err)
				g.mu.Unlock()
			}
		}()
	}
	return g, nil
}

// Close stops the proxies, ends every connection through them and removes
// their sockets. It returns what stopped a proxy early, if anything did.
func (g *Gate) Close() error {
	g.cancel()
	g.wg.Wait()
	os.RemoveAll(g.dir)
	g.mu.Lock()
	defer g.mu.Unlock()
	return errors.Join(g.errs...)
}

// live decides with the rules in force at the moment of each connection.
type live func() *proxy.CompiledRules

func (l live) Decide(ctx context.Context, t proxy.Target) proxy.Decision {
	return l().Decide(ctx, t)
}

// startGit opens the CA and writes what the sandbox trusts, and returns
// the guard. Failing that, the guard refuses the git hosts' tunnels.
func (g *Gate) startGit(cfg *Git, onEvent func(proxy.Event)) *gitguard.Guard {
	getenv := cfg.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	files := ca.Files{Dir: cfg.CADir}
	c, err := ca.Open(cfg.CADir)
	if err == nil {
		env := &GitEnv{CAFile: files.CertFile(), Policy: cfg.Policy, Dir: cfg.CADir}
		if roots := ca.SystemRoots(getenv); roots != nil {
			if err = files.WriteBundle(roots, c.CertPEM()); err == nil {
				env.Bundle = files.BundleFile()
			}
		}
		g.GitEnv = env
	}
	gcfg := gitguard.Config{
		Policy:      cfg.Policy,
		Credentials: cfg.Credentials,
		Roots:       cfg.Roots,
		Approver:    cfg.Approver,
		OnEvent:     onEvent,
	}
	if err != nil {
		g.GitErr = err
		g.GitEnv = nil
		gcfg.SignerErr = err
	} else {
		gcfg.Signer = c
	}
	return gitguard.New(gcfg)
}
