package gitguard

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sandbar-dev/sandbar/proxy"
)

var wantAuth = "Basic " + base64.StdEncoding.EncodeToString([]byte(testUser+":"+testPass))

// agentPolicy lets pushes to agent/* of org/repo without asking.
func agentPolicy(srv *gitServer) *Policy {
	return &Policy{
		Hosts:        []string{srv.host()},
		Branches:     []string{"agent/*"},
		Repositories: []string{srv.host() + "/org/repo"},
	}
}

// serverRef is a ref of the server's repository, or "" if it has none.
func serverRef(t *testing.T, bare, ref string) string {
	t.Helper()
	out, err := tryGit(nil, bare, "rev-parse", "--verify", "-q", ref)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(out)
}

// clone clones org/repo in the sandbox and makes a commit on top.
func clone(t *testing.T, sb *sandbox) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "work")
	sb.mustGit("", "clone", "-q", sb.srv.url("org/repo.git"), dir)
	commit(t, sb, dir, "a change")
	return dir
}

func commit(t *testing.T, sb *sandbox, dir, msg string) string {
	t.Helper()
	f := filepath.Join(dir, "file")
	old, _ := os.ReadFile(f)
	os.WriteFile(f, append(old, msg+"\n"...), 0o644)
	sb.mustGit(dir, "add", "file")
	sb.mustGit(dir, "commit", "-q", "-m", msg)
	return strings.TrimSpace(sb.mustGit(dir, "rev-parse", "HEAD"))
}

// Clone, fetch and an allowed push work, and reach the server with the
// user's credential on every request, which the sandboxed git never had.
func TestFetchAndAllowedPush(t *testing.T) {
	srv := startGitServer(t)
	bare := srv.bareRepo(t, "org/repo.git")
	sb := newSandbox(t, srv, agentPolicy(srv), sandboxOpts{})
	dir := clone(t, sb)
	head := strings.TrimSpace(sb.mustGit(dir, "rev-parse", "HEAD"))

	sb.mustGit(dir, "push", "-q", "origin", "HEAD:agent/one")
	if got := serverRef(t, bare, "refs/heads/agent/one"); got != head {
		t.Errorf("server's agent/one = %q; want %q", got, head)
	}
	// A fast-forward of the branch, then a fetch.
	next := commit(t, sb, dir, "more")
	sb.mustGit(dir, "push", "-q", "origin", "HEAD:agent/one")
	if got := serverRef(t, bare, "refs/heads/agent/one"); got != next {
		t.Errorf("after a fast-forward, server's agent/one = %q; want %q", got, next)
	}
	sb.mustGit(dir, "fetch", "-q", "origin")

	auths, reqs := srv.requests()
	for i, a := range auths {
		if a != wantAuth {
			t.Errorf("request %q reached the server with Authorization %q; want the user's credential", reqs[i], a)
		}
	}
	if len(auths) < 6 {
		t.Errorf("the server saw %d requests: %q", len(auths), reqs)
	}
}

func TestRefusedPushes(t *testing.T) {
	srv := startGitServer(t)
	bare := srv.bareRepo(t, "org/repo.git")
	p := agentPolicy(srv)
	sb := newSandbox(t, srv, p, sandboxOpts{})
	dir := clone(t, sb)
	sb.mustGit(dir, "push", "-q", "origin", "HEAD:agent/keep")
	sb.mustGit(dir, "tag", "v1")
	mainBefore := serverRef(t, bare, "refs/heads/main")
	keepBefore := serverRef(t, bare, "refs/heads/agent/keep")

	tests := []struct {
		name  string
		setup func()
		args  []string
		want  []string
	}{
		{
			name: "push to main",
			args: []string{"push", "origin", "HEAD:main"},
			want: []string{
				"! [remote rejected] HEAD -> main (sandbar: push to refs/heads/main refused by policy; allowed: agent/*)",
				"remote: sandbar: push to refs/heads/main refused by policy; allowed: agent/*",
			},
		},
		{
			name: "deletion",
			args: []string{"push", "origin", ":agent/keep"},
			want: []string{"(sandbar: deleting refs/heads/agent/keep refused by policy (git.deleteBranches is not true))"},
		},
		{
			name: "force push",
			setup: func() {
				sb.mustGit(dir, "commit", "-q", "--amend", "-m", "rewritten")
			},
			args: []string{"push", "-f", "origin", "HEAD:agent/keep"},
			want: []string{"(sandbar: non-fast-forward push to refs/heads/agent/keep refused by policy (git.forcePush is not true))"},
		},
		{
			name: "tag",
			args: []string{"push", "origin", "v1"},
			want: []string{"(sandbar: push to refs/tags/v1 refused by policy; allowed: agent/*)"},
		},
		{
			name: "one refused ref refuses the whole push",
			args: []string{"push", "origin", "HEAD:agent/new", "HEAD:main"},
			want: []string{
				"! [remote rejected] HEAD -> agent/new (sandbar: not pushed, because another ref of the push was refused)",
				"! [remote rejected] HEAD -> main (sandbar: push to refs/heads/main refused by policy; allowed: agent/*)",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.setup != nil {
				tt.setup()
			}
			out, err := sb.git(dir, tt.args...)
			if err == nil {
				t.Fatalf("git %v succeeded:\n%s", tt.args, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("git's output lacks %q:\n%s", w, out)
				}
			}
		})
	}
	if got := serverRef(t, bare, "refs/heads/main"); got != mainBefore {
		t.Errorf("server's main moved to %s", got)
	}
	if got := serverRef(t, bare, "refs/heads/agent/keep"); got != keepBefore {
		t.Errorf("server's agent/keep moved to %q", got)
	}
	for _, ref := range []string{"refs/heads/agent/new", "refs/tags/v1"} {
		if got := serverRef(t, bare, ref); got != "" {
			t.Errorf("server has %s", ref)
		}
	}
	var refusals []string
	for _, ev := range sb.Events() {
		if ev.Decision == "denied" {
			refusals = append(refusals, ev.Reason)
		}
	}
	if len(refusals) != 5 {
		t.Errorf("denied events: %q; want one per refusal", refusals)
	}

	t.Run("allowed by policy", func(t *testing.T) {
		p2 := *p
		p2.ForcePush, p2.DeleteBranches = true, true
		sb.setPolicy(&p2)
		defer sb.setPolicy(p)
		sb.mustGit(dir, "push", "-q", "-f", "origin", "HEAD:agent/keep")
		sb.mustGit(dir, "push", "-q", "origin", ":agent/keep")
		if got := serverRef(t, bare, "refs/heads/agent/keep"); got != "" {
			t.Errorf("agent/keep still on the server")
		}
	})
}

// A fast-forward whose history runs through commits only the server has
// (here: the branch was merged into main, and the agent builds on main)
// is told from one that is not by asking the server.
func TestFastForwardThroughTheServersHistory(t *testing.T) {
	// A server that leaves trees out of what the guard fetches, and one
	// that does not.
	for _, filter := range []bool{false, true} {
		t.Run(fmt.Sprintf("filter %v", filter), func(t *testing.T) {
			var srv *gitServer
			if filter {
				srv = startGitServer(t, "uploadpack.allowFilter=true")
			} else {
				srv = startGitServer(t)
			}
			fastForwardThroughTheServersHistory(t, srv)
			// Without the filter, the guard asked again without it.
			if refused := strings.Contains(srv.logText(), "unexpected line: 'filter tree:0'"); refused == filter {
				t.Errorf("filter %v, and the server refused one: %v\n%s", filter, refused, srv.logText())
			}
		})
	}
}

func fastForwardThroughTheServersHistory(t *testing.T, srv *gitServer) {
	bare := srv.bareRepo(t, "org/repo.git")
	sb := newSandbox(t, srv, agentPolicy(srv), sandboxOpts{})
	dir := clone(t, sb)
	sb.mustGit(dir, "push", "-q", "origin", "HEAD:agent/y")
	agentY := serverRef(t, bare, "refs/heads/agent/y")

	// Someone merges agent/y into main on the server, with a merge
	// commit, and adds to main.
	other := filepath.Join(t.TempDir(), "other")
	runGit(t, nil, "", "clone", "-q", bare, other)
	runGit(t, nil, other, "merge", "-q", "--no-ff", "-m", "merge agent/y", "origin/agent/y")
	runGit(t, nil, other, "commit", "-q", "--allow-empty", "-m", "more on main")
	runGit(t, nil, other, "push", "-q", "origin", "main")
	mainTip := serverRef(t, bare, "refs/heads/main")

	sb.mustGit(dir, "fetch", "-q", "origin")
	sb.mustGit(dir, "reset", "-q", "--hard", "origin/main")
	t.Run("to a commit the server has", func(t *testing.T) {
		sb.mustGit(dir, "push", "-q", "origin", "HEAD:agent/y")
		if got := serverRef(t, bare, "refs/heads/agent/y"); got != mainTip {
			t.Errorf("agent/y = %s; want main's %s", got, mainTip)
		}
	})
	t.Run("with a new commit on top", func(t *testing.T) {
		top := commit(t, sb, dir, "on top of main")
		sb.mustGit(dir, "push", "-q", "origin", "HEAD:agent/y")
		if got := serverRef(t, bare, "refs/heads/agent/y"); got != top {
			t.Errorf("agent/y = %s; want %s", got, top)
		}
	})
	t.Run("not a fast-forward through the server's history", func(t *testing.T) {
		// agent/z starts at the first agent/y; main does not contain
		// agent/z's next commit.
		sb.mustGit(dir, "checkout", "-q", "-b", "z", agentY)
		commit(t, sb, dir, "z1")
		sb.mustGit(dir, "push", "-q", "origin", "HEAD:agent/z")
		sb.mustGit(dir, "reset", "-q", "--hard", "origin/main")
		out, err := sb.git(dir, "push", "-f", "origin", "HEAD:agent/z")
		if err == nil || !strings.Contains(out, "non-fast-forward push to refs/heads/agent/z refused by policy") {
			t.Errorf("a rewind of agent/z to main: %v\n%s", err, out)
		}
	})
}

type approver struct {
	mu     sync.Mutex
	answer bool
	err    error
	asked  []Push
}

func (a *approver) ApprovePush(_ context.Context, p Push) (bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.asked = append(a.asked, p)
	return a.answer, a.err
}

func TestFirstPushAsks(t *testing.T) {
	srv := startGitServer(t)
	srv.bareRepo(t, "org/repo.git")
	p := agentPolicy(srv)
	p.Repositories = nil
	key := srv.host() + "/org/repo"

	t.Run("no one to ask", func(t *testing.T) {
		sb := newSandbox(t, srv, p, sandboxOpts{})
		dir := clone(t, sb)
		out, err := sb.git(dir, "push", "origin", "HEAD:agent/a")
		want := fmt.Sprintf("sandbar: the first push to %s needs your approval, and there is no one to ask; to allow pushes there, add %q to git.push.repositories", key, key)
		if err == nil || !strings.Contains(out, want) {
			t.Errorf("push: %v\n%s\nwant %q", err, out, want)
		}
	})
	t.Run("allowed once, for the run", func(t *testing.T) {
		a := &approver{answer: true}
		sb := newSandbox(t, srv, p, sandboxOpts{approver: a})
		dir := clone(t, sb)
		sb.mustGit(dir, "push", "-q", "origin", "HEAD:agent/b")
		commit(t, sb, dir, "again")
		sb.mustGit(dir, "push", "-q", "origin", "HEAD:agent/b")
		if len(a.asked) != 1 || a.asked[0].Repository != key || a.asked[0].Refs[0] != "refs/heads/agent/b" {
			t.Errorf("asked %+v; want once about %s", a.asked, key)
		}
	})
	t.Run("denied", func(t *testing.T) {
		a := &approver{answer: false}
		sb := newSandbox(t, srv, p, sandboxOpts{approver: a})
		dir := clone(t, sb)
		for range 2 {
			out, err := sb.git(dir, "push", "origin", "HEAD:agent/c")
			if err == nil || !strings.Contains(out, "sandbar: pushing to "+key+" refused") {
				t.Errorf("push: %v\n%s", err, out)
			}
		}
		if len(a.asked) != 1 {
			t.Errorf("asked %d times; want once", len(a.asked))
		}
	})
	t.Run("approval fails", func(t *testing.T) {
		a := &approver{err: errors.New("no answer within 2m0s")}
		sb := newSandbox(t, srv, p, sandboxOpts{approver: a})
		dir := clone(t, sb)
		out, err := sb.git(dir, "push", "origin", "HEAD:agent/d")
		if err == nil || !strings.Contains(out, "approval failed: no answer within 2m0s") {
			t.Errorf("push: %v\n%s", err, out)
		}
	})
}

// The user's credential store is read, never rewritten: a file renamed
// over on the host would no longer be hidden in running sandboxes.
func TestCredentialStoreIsNotRewritten(t *testing.T) {
	srv := startGitServer(t)
	srv.bareRepo(t, "org/repo.git")
	creds := userCredentials(t, srv)
	home, _ := strings.CutPrefix(creds.Env[0], "HOME=")
	store := filepath.Join(home, ".git-credentials")
	before, err := os.Stat(store)
	if err != nil {
		t.Fatal(err)
	}
	sb := newSandbox(t, srv, agentPolicy(srv), sandboxOpts{creds: creds})
	dir := clone(t, sb)
	sb.mustGit(dir, "push", "-q", "origin", "HEAD:agent/s")
	after, err := os.Stat(store)
	if err != nil || !os.SameFile(before, after) || !after.ModTime().Equal(before.ModTime()) {
		t.Errorf("the credential store was replaced or written: %v", err)
	}
}

// Without a credential, the git host is not reached at all, and git says
// why.
func TestNoCredential(t *testing.T) {
	srv := startGitServer(t)
	srv.bareRepo(t, "org/repo.git")
	sb := newSandbox(t, srv, agentPolicy(srv), sandboxOpts{creds: GitCredentials{Env: gitEnv(t.TempDir())}})
	out, err := sb.git("", "clone", srv.url("org/repo.git"), filepath.Join(t.TempDir(), "w"))
	want := "fatal: remote error: sandbar: no credentials for " + srv.url("org/repo.git") + ": git credential fill for " + srv.url("org/repo.git") + ": "
	if err == nil || !strings.Contains(out, want) {
		t.Errorf("clone: %v\n%s\nwant %q", err, out, want)
	}
	if _, reqs := srv.requests(); len(reqs) != 0 {
		t.Errorf("the server saw %q", reqs)
	}
}

// A wrong credential is not the sandbox's to fix: git gets a message, not
// a 401 that would make it ask for one.
func TestWrongCredential(t *testing.T) {
	srv := startGitServer(t)
	srv.bareRepo(t, "org/repo.git")
	sb := newSandbox(t, srv, agentPolicy(srv), sandboxOpts{creds: staticCreds{Credential{testUser, "wrong-password-123"}}})
	out, err := sb.git("", "clone", srv.url("org/repo.git"), filepath.Join(t.TempDir(), "w"))
	if err == nil || !strings.Contains(out, "refused the credentials your git credential helper gave") {
		t.Errorf("clone: %v\n%s", err, out)
	}
}

type staticCreds struct{ c Credential }

func (s staticCreds) Fill(context.Context, Repository) (Credential, error) { return s.c, nil }

// Nothing the sandboxed git sees or keeps holds the credential: its
// traces of every HTTP header and packet, and its repository.
func TestCredentialNeverReachesTheSandbox(t *testing.T) {
	srv := startGitServer(t)
	srv.bareRepo(t, "org/repo.git")
	sb := newSandbox(t, srv, agentPolicy(srv), sandboxOpts{})
	trace := filepath.Join(t.TempDir(), "trace")
	env := append(sb.env(), "GIT_TRACE_CURL="+trace, "GIT_TRACE_PACKET="+trace, "GIT_TRACE_REDACT=0")
	dir := filepath.Join(t.TempDir(), "w")
	if out, err := tryGit(env, "", "clone", srv.url("org/repo.git"), dir); err != nil {
		t.Fatalf("clone: %v\n%s", err, out)
	}
	commit(t, sb, dir, "x")
	if out, err := tryGit(env, dir, "push", "origin", "HEAD:agent/t"); err != nil {
		t.Fatalf("push: %v\n%s", err, out)
	}
	b, err := os.ReadFile(trace)
	if err != nil || len(b) < 1000 {
		t.Fatalf("no trace: %v", err)
	}
	secrets := []string{testPass, base64.StdEncoding.EncodeToString([]byte(testUser + ":" + testPass))}
	for _, s := range secrets {
		if bytes.Contains(b, []byte(s)) {
			t.Errorf("the sandboxed git's trace holds %q", s)
		}
	}
	if bytes.Contains(b, []byte("WWW-Authenticate")) || bytes.Contains(bytes.ToLower(b), []byte("\n< authorization")) {
		t.Errorf("an authentication header reached the sandboxed git")
	}
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			c, _ := os.ReadFile(p)
			for _, s := range secrets {
				if bytes.Contains(c, []byte(s)) {
					t.Errorf("%s holds the credential", p)
				}
			}
		}
		return nil
	})
}

// tlsClient is a client in the sandbox that speaks HTTP itself, on one
// tunnel to the git host, to send what git would not.
type tlsClient struct {
	*tls.Conn
	br *bufio.Reader
}

func (sb *sandbox) dialTLS(t *testing.T, host string) *tlsClient {
	t.Helper()
	c, err := net.Dial("tcp", sb.relay)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", host, host)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("CONNECT %s: %v %v", host, resp, err)
	}
	tc := tls.Client(c, &tls.Config{RootCAs: sb.ca.Pool(), ServerName: sb.srv.target().Host})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	return &tlsClient{Conn: tc, br: bufio.NewReader(tc)}
}

func (c *tlsClient) response(t *testing.T) (*http.Response, string) {
	t.Helper()
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// pushBody is a receive-pack request: commands (the first with caps),
// a flush, and the pack.
func pushBody(cmds []string, caps string, pack []byte) []byte {
	var b []byte
	for i, c := range cmds {
		if i == 0 {
			c += "\x00" + caps
		}
		b = appendPkt(b, c)
	}
	return append(appendFlush(b), pack...)
}

func postPush(host, repo string, body []byte, extra string) string {
	return fmt.Sprintf("POST /%s/git-receive-pack HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-git-receive-pack-request\r\n%sContent-Length: %d\r\n\r\n%s",
		repo, host, extra, len(body), body)
}

// newBranchPack is a commit on top of main, and the pack that pushes it.
func newBranchPack(t *testing.T, sb *sandbox) (oid string, pack []byte) {
	t.Helper()
	dir := clone(t, sb)
	oid = strings.TrimSpace(sb.mustGit(dir, "rev-parse", "HEAD"))
	cmd := execGit(sb.env(), dir, "pack-objects", "--stdout", "--revs", "--thin", "--delta-base-offset")
	cmd.Stdin = strings.NewReader(oid + "\n^origin/main\n")
	pack, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	return oid, pack
}

// What git would not send is checked as carefully as what it does: a
// push on a kept-alive connection after a fetch, pipelined requests,
// chunked and gzip-compressed bodies, malformed pkt-lines, a wrong Host.
func TestRawRequests(t *testing.T) {
	srv := startGitServer(t)
	bare := srv.bareRepo(t, "org/repo.git")
	sb := newSandbox(t, srv, agentPolicy(srv), sandboxOpts{})
	host := srv.host()
	oid, pack := newBranchPack(t, sb)
	const caps = "report-status side-band-64k"
	toMain := pushBody([]string{zero + " " + oid + " refs/heads/main"}, caps, pack)
	toAgent := func(branch string) []byte {
		return pushBody([]string{zero + " " + oid + " refs/heads/agent/" + branch}, caps, pack)
	}

	t.Run("push to main after a fetch on the same connection", func(t *testing.T) {
		c := sb.dialTLS(t, host)
		fmt.Fprintf(c, "GET /org/repo.git/info/refs?service=git-upload-pack HTTP/1.1\r\nHost: %s\r\n\r\n", host)
		if resp, body := c.response(t); resp.StatusCode != 200 || !strings.Contains(body, "refs/heads/main") {
			t.Fatalf("advertisement: %d %q", resp.StatusCode, body)
		}
		io.WriteString(c, postPush(host, "org/repo.git", toMain, ""))
		resp, body := c.response(t)
		if !strings.Contains(body, "ng refs/heads/main sandbar: push to refs/heads/main refused by policy; allowed: agent/*") {
			t.Errorf("second request: %d %q", resp.StatusCode, body)
		}
	})
	t.Run("pipelined", func(t *testing.T) {
		c := sb.dialTLS(t, host)
		io.WriteString(c, postPush(host, "org/repo.git", toAgent("p1"), "")+postPush(host, "org/repo.git", toMain, ""))
		_, first := c.response(t)
		_, second := c.response(t)
		if !strings.Contains(first, "ok refs/heads/agent/p1") || !strings.Contains(second, "ng refs/heads/main") {
			t.Errorf("pipelined pushes: %q then %q", first, second)
		}
	})
	t.Run("chunked", func(t *testing.T) {
		c := sb.dialTLS(t, host)
		var chunked bytes.Buffer
		for b := toMain; len(b) > 0; {
			n := min(len(b), 7)
			fmt.Fprintf(&chunked, "%x\r\n%s\r\n", n, b[:n])
			b = b[n:]
		}
		chunked.WriteString("0\r\n\r\n")
		fmt.Fprintf(c, "POST /org/repo.git/git-receive-pack HTTP/1.1\r\nHost: %s\r\nTransfer-Encoding: chunked\r\n\r\n%s", host, chunked.Bytes())
		if _, body := c.response(t); !strings.Contains(body, "ng refs/heads/main") {
			t.Errorf("chunked push to main: %q", body)
		}
	})
	for _, tt := range []struct {
		name, branch string
		body         []byte
		want         string
	}{
		{"gzip to main", "", toMain, "ng refs/heads/main sandbar: push to refs/heads/main"},
		{"gzip to agent", "agent/gz", toAgent("gz"), "ok refs/heads/agent/gz"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var z bytes.Buffer
			zw := gzip.NewWriter(&z)
			zw.Write(tt.body)
			zw.Close()
			c := sb.dialTLS(t, host)
			io.WriteString(c, postPush(host, "org/repo.git", z.Bytes(), "Content-Encoding: gzip\r\n"))
			if _, body := c.response(t); !strings.Contains(body, tt.want) {
				t.Errorf("answer %q; want %q", body, tt.want)
			}
		})
	}
	if got := serverRef(t, bare, "refs/heads/agent/gz"); got != oid {
		t.Errorf("the gzip push did not reach the server: agent/gz = %q", got)
	}

	bad := []struct {
		name   string
		req    string
		status int
		want   string
	}{
		{"length not hex", postPush(host, "org/repo.git", []byte("zzzz"), ""), 400, "malformed pkt-line"},
		{"length too large", postPush(host, "org/repo.git", []byte("ffff"+strings.Repeat("a", 100)), ""), 400, "more than 65520"},
		{"length too small", postPush(host, "org/repo.git", []byte("0003"), ""), 400, "malformed pkt-line"},
		{"truncated", postPush(host, "org/repo.git", []byte("00ff"+zero), ""), 400, "unexpected EOF"},
		{"no ref", postPush(host, "org/repo.git", pushBody([]string{zero + " " + oid}, caps, nil), ""), 400, "old new ref"},
		{"ref outside refs/", postPush(host, "org/repo.git", pushBody([]string{zero + " " + oid + " HEAD"}, caps, nil), ""), 400, "not a ref under refs/"},
		{"ref with ..", postPush(host, "org/repo.git", pushBody([]string{zero + " " + oid + " refs/heads/agent/../main"}, caps, nil), ""), 400, "invalid ref name"},
		{"short object name", postPush(host, "org/repo.git", pushBody([]string{zero + " abc refs/heads/agent/x"}, caps, nil), ""), 400, "not an object name"},
		{"signed push", postPush(host, "org/repo.git", pushBody([]string{"push-cert"}, caps, nil), ""), 400, "signed pushes"},
		{"brotli", postPush(host, "org/repo.git", toMain, "Content-Encoding: br\r\n"), 415, `Content-Encoding "br"`},
		{"not gzip", postPush(host, "org/repo.git", toMain, "Content-Encoding: gzip\r\n"), 415, "not valid gzip"},
		{"path with ..", postPush(host, "org/x/../repo.git", toMain, ""), 403, "is not plain"},
		{"path with escapes", postPush(host, "org/%72epo.git", toMain, ""), 403, "is not plain"},
		{"other host", postPush("example.com", "org/repo.git", toMain, ""), 421, "this connection is to"},
		{"other method", "PUT /org/repo.git/objects/x HTTP/1.1\r\nHost: " + host + "\r\nContent-Length: 0\r\n\r\n", 403, "PUT /org/repo.git/objects/x on git host"},
		{"lfs", "POST /org/repo.git/info/lfs/objects/batch HTTP/1.1\r\nHost: " + host + "\r\nContent-Length: 0\r\n\r\n", 403, "refused"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			c := sb.dialTLS(t, host)
			io.WriteString(c, tt.req)
			resp, body := c.response(t)
			if resp.StatusCode != tt.status || !strings.Contains(body, tt.want) {
				t.Errorf("answer %d %q; want %d with %q", resp.StatusCode, body, tt.status, tt.want)
			}
		})
	}
	if got := serverRef(t, bare, "refs/heads/main"); got == oid {
		t.Error("main was pushed")
	}
}

// A plain GET passes without the credential; an answer that echoes the
// credential anyway is cut off.
func TestPassThroughAndEchoes(t *testing.T) {
	srv := startGitServer(t)
	srv.bareRepo(t, "org/repo.git")
	sb := newSandbox(t, srv, agentPolicy(srv), sandboxOpts{})
	host := srv.host()

	c := sb.dialTLS(t, host)
	fmt.Fprintf(c, "GET /org/repo.git/HEAD HTTP/1.1\r\nHost: %s\r\n\r\n", host)
	if resp, _ := c.response(t); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("plain GET: %d; want the server's own 401, the credential not added", resp.StatusCode)
	}
	if auths, _ := srv.requests(); len(auths) != 1 || auths[0] != "" {
		t.Errorf("the server saw Authorization %q on a plain GET", auths)
	}

	echo := startEchoServer(t)
	p := &Policy{Hosts: []string{echo.host()}}
	sb2 := newSandbox(t, echo, p, sandboxOpts{creds: staticCreds{Credential{testUser, testPass}}})
	for _, path := range []string{"/r.git/info/refs?service=git-upload-pack", "/r.git/info/refs?service=git-upload-pack&header=1"} {
		c := sb2.dialTLS(t, echo.host())
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path, echo.host())
		resp, err := http.ReadResponse(c.br, nil)
		var all []byte
		if err == nil {
			all, _ = io.ReadAll(resp.Body)
			for k, v := range resp.Header {
				all = append(all, k+": "+strings.Join(v, ",")+"\n"...)
			}
		}
		if bytes.Contains(all, []byte(testPass)) || bytes.Contains(all, []byte(wantAuth[6:])) {
			t.Errorf("%s: the credential reached the client: %q", path, all)
		}
	}
}

// startEchoServer is a git host that echoes the Authorization header it
// gets, in its answer's body and in a header.
func startEchoServer(t *testing.T) *gitServer {
	t.Helper()
	s := &gitServer{log: &bytes.Buffer{}}
	s.Server = newTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("header") != "" {
			w.Header().Set("X-Echo", r.Header.Get("Authorization"))
			w.Header().Set("WWW-Authenticate", "Basic realm="+r.Header.Get("Authorization"))
		}
		w.Header().Set("Content-Type", "application/x-git-upload-pack-advertisement")
		io.WriteString(w, strings.Repeat("x", 50000)+"you sent "+r.Header.Get("Authorization"))
	}))
	t.Cleanup(s.Close)
	return s
}

// Every other host on the same proxy is an opaque tunnel: the client
// sees the host's own certificate.
func TestOtherHostsStayOpaque(t *testing.T) {
	srv := startGitServer(t)
	other := startEchoServer(t)
	sb := newSandbox(t, srv, agentPolicy(srv), sandboxOpts{allowed: []string{other.host()}})
	c, err := net.Dial("tcp", sb.relay)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", other.host(), other.host())
	br := bufio.NewReader(c)
	if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != 200 {
		t.Fatalf("CONNECT: %v %v", resp, err)
	}
	tc := tls.Client(&bufConn{Conn: c, r: br}, &tls.Config{RootCAs: other.roots(), ServerName: "127.0.0.1"})
	if err := tc.Handshake(); err != nil {
		t.Fatalf("the other host's own certificate did not verify: %v", err)
	}
	if !tc.ConnectionState().PeerCertificates[0].Equal(other.Certificate()) {
		t.Error("the other host's tunnel was intercepted")
	}
}

type bufConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufConn) Read(b []byte) (int, error) { return c.r.Read(b) }

// Without its CA, the guard refuses a git host's tunnel rather than let
// it through unchecked.
func TestNoCAFailsClosed(t *testing.T) {
	srv := startGitServer(t)
	srv.bareRepo(t, "org/repo.git")
	g := New(Config{Policy: func() *Policy { return agentPolicy(srv) }, SignerErr: errors.New("reading the git CA key: permission denied")})
	serve, err := g.Intercept(context.Background(), srv.target())
	if serve != nil || err == nil || !strings.Contains(err.Error(), "sandbar's git checks are not available: reading the git CA key: permission denied") {
		t.Errorf("Intercept = %v, %v; want a refusal", serve != nil, err)
	}
	if serve, err := g.Intercept(context.Background(), proxy.Target{Host: "example.com", Port: 443}); serve != nil || err != nil {
		t.Errorf("Intercept of a host that is not a git host = %v, %v; want an opaque tunnel", serve != nil, err)
	}
}
