package gitguard

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sandbar-dev/sandbar/proxy"
	"github.com/sandbar-dev/sandbar/proxy/ca"
)

// The credential the test server wants, and the user's credential helper
// gives. Long enough to be looked for in every answer.
const (
	testUser = "agent-user"
	testPass = "s3cret-Token-0123456789"
)

// gitServer is git's own smart HTTP server (git http-backend, run as CGI)
// over HTTPS on 127.0.0.1, behind basic authentication, as a git host is.
type gitServer struct {
	*httptest.Server
	root string
	log  *bytes.Buffer

	mu    sync.Mutex
	auths []string // every Authorization header it got
	reqs  []string // "METHOD /path?query"
}

func requireGit(t testing.TB) string {
	t.Helper()
	git, err := exec.LookPath("git")
	if err != nil {
		t.Fatal("git is not installed; the guard is tested against git itself (apt-get install git)")
	}
	return git
}

// startGitServer starts the server, with git configuration settings
// ("uploadpack.allowFilter=true") on top of allowing pushes.
func startGitServer(t testing.TB, config ...string) *gitServer {
	t.Helper()
	git := requireGit(t)
	// Pushes too, as an authenticated user's are.
	config = append([]string{"http.receivepack=true"}, config...)
	confEnv := []string{fmt.Sprintf("GIT_CONFIG_COUNT=%d", len(config))}
	for i, kv := range config {
		k, v, _ := strings.Cut(kv, "=")
		confEnv = append(confEnv, fmt.Sprintf("GIT_CONFIG_KEY_%d=%s", i, k), fmt.Sprintf("GIT_CONFIG_VALUE_%d=%s", i, v))
	}
	s := &gitServer{root: t.TempDir(), log: &bytes.Buffer{}}
	logw := writerFunc(func(b []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.log.Write(b) })
	backend := &cgi.Handler{
		Path: git,
		Args: []string{"http-backend"},
		Dir:  s.root,
		Env: append([]string{
			"GIT_PROJECT_ROOT=" + s.root,
			"GIT_HTTP_EXPORT_ALL=1",
			"GIT_CONFIG_NOSYSTEM=1",
			"HOME=" + s.root,
		}, confEnv...),
		Stderr: logw,
		Logger: log.New(logw, "cgi: ", 0),
	}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.auths = append(s.auths, r.Header.Get("Authorization"))
		s.reqs = append(s.reqs, r.Method+" "+r.URL.RequestURI())
		s.mu.Unlock()
		if u, p, ok := r.BasicAuth(); !ok || u != testUser || p != testPass {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		backend.ServeHTTP(w, r)
	}))
	s.Server.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

func (s *gitServer) target() proxy.Target {
	ap := netip.MustParseAddrPort(s.Listener.Addr().String())
	return proxy.Target{Host: ap.Addr().String(), Port: int(ap.Port())}
}

func (s *gitServer) host() string { return s.target().String() }

func (s *gitServer) url(repo string) string { return "https://" + s.host() + "/" + repo }

func (s *gitServer) roots() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(s.Certificate())
	return p
}

// logText is what git http-backend printed.
func (s *gitServer) logText() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

func (s *gitServer) requests() (auths, reqs []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.auths...), append([]string(nil), s.reqs...)
}

// bareRepo makes the bare repository name on the server, whose main
// branch has one commit, and returns its path.
func (s *gitServer) bareRepo(t testing.TB, name string) string {
	t.Helper()
	src := filepath.Join(t.TempDir(), "src")
	runGit(t, nil, "", "init", "-q", "-b", "main", src)
	os.WriteFile(filepath.Join(src, "README"), []byte("hello\n"), 0o644)
	runGit(t, nil, src, "add", "README")
	runGit(t, nil, src, "commit", "-q", "-m", "first")
	bare := filepath.Join(s.root, name)
	runGit(t, nil, "", "clone", "-q", "--bare", src, bare)
	return bare
}

// gitEnv is a git without a user's configuration, identified for
// commits.
func gitEnv(home string) []string {
	return []string{
		"HOME=" + home, "PATH=" + os.Getenv("PATH"),
		"GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com",
	}
}

// runGit runs git in dir with env (nil: gitEnv of a fresh home) and
// fails the test if it fails.
func runGit(t testing.TB, env []string, dir string, args ...string) string {
	t.Helper()
	out, err := tryGit(env, dir, args...)
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func tryGit(env []string, dir string, args ...string) (string, error) {
	if env == nil {
		env = gitEnv(os.TempDir())
	}
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// sandbox is what a sandboxed git sees: sandbar's proxy, reached through
// a relay that sends the Hello (as sandbar's relay does), with the guard
// in it, and the CA to trust. It holds no credential.
type sandbox struct {
	t      testing.TB
	srv    *gitServer
	guard  *Guard
	relay  string // host:port of the relay
	caFile string
	ca     *ca.CA
	home   string

	mu     sync.Mutex
	policy *Policy
	events []proxy.Event
}

type sandboxOpts struct {
	creds    Credentials
	approver PushApprover
	signer   Signer // nil: a fresh CA
	// allowed are other hosts the proxy allows (not git hosts).
	allowed []string
}

// userCredentials is the user's own git with a credential store holding
// the test credential for srv: what `git credential fill` gives outside
// the sandbox.
func userCredentials(t testing.TB, srv *gitServer) GitCredentials {
	t.Helper()
	home := t.TempDir()
	store := filepath.Join(home, ".git-credentials")
	os.WriteFile(store, []byte("https://"+testUser+":"+testPass+"@"+srv.host()+"\n"), 0o600)
	os.WriteFile(filepath.Join(home, ".gitconfig"), []byte("[credential]\n\thelper = store --file "+store+"\n"), 0o644)
	return GitCredentials{Env: gitEnv(home)}
}

func newSandbox(t testing.TB, srv *gitServer, p *Policy, o sandboxOpts) *sandbox {
	t.Helper()
	sb := &sandbox{t: t, srv: srv, policy: p, home: t.TempDir()}
	caDir := filepath.Join(t.TempDir(), "git-ca")
	c, err := ca.Open(caDir)
	if err != nil {
		t.Fatal(err)
	}
	sb.ca, sb.caFile = c, ca.Files{Dir: caDir}.CertFile()
	if o.creds == nil {
		o.creds = userCredentials(t, srv)
	}
	var signer Signer = c
	if o.signer != nil {
		signer = o.signer
	}
	record := func(ev proxy.Event) {
		sb.mu.Lock()
		defer sb.mu.Unlock()
		sb.events = append(sb.events, ev)
	}
	sb.guard = New(Config{
		Policy:      func() *Policy { sb.mu.Lock(); defer sb.mu.Unlock(); return sb.policy },
		Signer:      signer,
		Credentials: o.creds,
		Roots:       srv.roots(),
		Approver:    o.approver,
		OnEvent:     record,
		TempDir:     t.TempDir(),
	})
	const cred = "0123456789abcdef0123456789abcdef"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		proxy.ServeHTTP(ctx, ln, proxy.Config{
			Decider:     proxy.Rules{Allowed: append([]string{srv.host()}, o.allowed...)},
			Credential:  cred,
			AllowAddr:   func(a netip.Addr) bool { return a.IsLoopback() },
			Interceptor: sb.guard,
			OnEvent:     record,
		})
	}()
	sb.relay = startRelay(t, ln.Addr().String(), proxy.Hello(cred))
	t.Cleanup(func() { cancel(); <-done })
	return sb
}

// startRelay listens on 127.0.0.1 and joins each client to the proxy at
// addr after sending hello, as sandbar's relay does.
func startRelay(t testing.TB, addr string, hello []byte) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				up, err := net.Dial("tcp", addr)
				if err != nil {
					return
				}
				defer up.Close()
				up.Write(hello)
				go func() { io.Copy(up, c); up.(*net.TCPConn).CloseWrite() }()
				io.Copy(c, up)
			}()
		}
	}()
	return ln.Addr().String()
}

// env is the environment of a git in the sandbox: the proxy, the CA, no
// credential.
func (sb *sandbox) env() []string {
	return append(gitEnv(sb.home),
		"HTTPS_PROXY=http://"+sb.relay, "https_proxy=http://"+sb.relay,
		"GIT_SSL_CAINFO="+sb.caFile,
	)
}

func (sb *sandbox) git(dir string, args ...string) (string, error) {
	return tryGit(sb.env(), dir, args...)
}

func (sb *sandbox) mustGit(dir string, args ...string) string {
	sb.t.Helper()
	out, err := sb.git(dir, args...)
	if err != nil {
		sb.t.Fatalf("sandboxed git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (sb *sandbox) Events() []proxy.Event {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	return append([]proxy.Event(nil), sb.events...)
}

func (sb *sandbox) setPolicy(p *Policy) {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	sb.policy = p
}

func execGit(env []string, dir string, args ...string) *exec.Cmd {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = env
	return cmd
}

func newTLSServer(h http.Handler) *httptest.Server {
	s := httptest.NewUnstartedServer(h)
	s.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.StartTLS()
	return s
}
