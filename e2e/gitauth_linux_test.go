package e2e

import (
	"encoding/base64"
	"encoding/json"
	"log"
	"net/http"
	"net/http/cgi"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// The test user's credential for the git host: what their own credential
// helper gives `git credential fill` outside the sandbox, and the only
// one the host lets in.
const (
	gitUser     = "e2e-agent"
	gitPassword = "e2e-Secret-Token-4f9a2c1d7b"
)

// gitSecrets are the forms the credential could take where it should
// never be: as written, in an Authorization header, and URL-encoded.
var gitSecrets = []string{gitPassword, base64.StdEncoding.EncodeToString([]byte(gitUser + ":" + gitPassword))}

// gitHost is git's own smart HTTP server (git http-backend, as CGI) over
// HTTPS on serverIP, behind basic authentication and taking pushes, as a
// git host is. It records the Authorization header of every request.
type gitHost struct {
	*hostServer
	root string
	cert testCert
	log  *syncBuffer

	mu    sync.Mutex
	auths []string
	reqs  []string
}

func startGitHost(t *testing.T, root string) *gitHost {
	t.Helper()
	git := requireTool(t, "git", "git")
	g := &gitHost{root: root, cert: newTestCert(t, serverIP), log: &syncBuffer{}}
	backend := &cgi.Handler{
		Path: git,
		Args: []string{"http-backend"},
		Dir:  root,
		Env: []string{
			"GIT_PROJECT_ROOT=" + root,
			"GIT_HTTP_EXPORT_ALL=1",
			"GIT_CONFIG_NOSYSTEM=1",
			"HOME=" + root,
			"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=http.receivepack", "GIT_CONFIG_VALUE_0=true",
		},
		Stderr: g.log,
		Logger: log.New(g.log, "cgi: ", 0),
	}
	g.hostServer = startServer(t, serverIP, &g.cert, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		g.auths = append(g.auths, r.Header.Get("Authorization"))
		g.reqs = append(g.reqs, r.Method+" "+r.URL.RequestURI())
		g.mu.Unlock()
		if u, p, ok := r.BasicAuth(); !ok || u != gitUser || p != gitPassword {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		backend.ServeHTTP(w, r)
	}))
	return g
}

func (g *gitHost) requests() (auths, reqs []string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.auths...), append([]string(nil), g.reqs...)
}

// gitSetup is a user whose git host is g: their credential helper knows
// the credential (in ~/.git-credentials, which the sandbox hides), and
// sandbar, outside the sandbox, trusts g's certificate as the system's
// roots ($SSL_CERT_FILE), as it would a real host's.
func (e *env) gitSetup(g *gitHost) {
	e.t.Helper()
	e.write(filepath.Join(e.home, ".gitconfig"), "[credential]\n\thelper = store\n")
	store := filepath.Join(e.home, ".git-credentials")
	e.write(store, "https://"+gitUser+":"+gitPassword+"@"+g.host+"\n")
	os.Chmod(store, 0o600)
	roots := filepath.Join(e.root, "system-roots.pem")
	e.write(roots, string(g.cert.pem))
	e.extraEnv = append(e.extraEnv, "SSL_CERT_FILE="+roots)
}

// writeGitPolicy writes a user policy with a git section (and network
// entries) and returns its path, for `sandbar run --policy`.
func (e *env) writeGitPolicy(git map[string]any, allowed ...string) string {
	e.t.Helper()
	if allowed == nil {
		allowed = []string{}
	}
	b, err := json.MarshalIndent(map[string]any{"git": git, "network": map[string]any{"allowedDomains": allowed}}, "", "  ")
	if err != nil {
		e.t.Fatal(err)
	}
	path := filepath.Join(e.root, "policy.jsonc")
	e.write(path, string(b)+"\n")
	return path
}

// leaks lists the forms of the credential found in s.
func leaks(s string) []string {
	var out []string
	for _, sec := range gitSecrets {
		if strings.Contains(s, sec) {
			out = append(out, sec)
		}
	}
	return out
}
