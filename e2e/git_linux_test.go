package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// gitCase is a git host with one repository, org/repo.git, whose main
// has one commit, a user whose credential helper knows the host's
// credential, and a policy that lets pushes go to agent/* there.
type gitCase struct {
	e      *env
	host   *gitHost
	bare   string
	url    string
	policy string
}

func newGitCase(t *testing.T, push map[string]any, allowed ...string) *gitCase {
	t.Helper()
	e := newEnv(t)
	root := filepath.Join(e.root, "srv")
	bare := e.bareRepo(filepath.Join(root, "org"), "hello\n")
	g := startGitHost(t, root)
	e.gitSetup(g)
	if push == nil {
		push = map[string]any{"branches": []string{"agent/*"}, "repositories": []string{g.host + "/org/repo"}}
	}
	policy := e.writeGitPolicy(map[string]any{"hosts": []string{g.host}, "push": push}, allowed...)
	return &gitCase{e: e, host: g, bare: bare, url: "https://" + g.host + "/org/repo.git", policy: policy}
}

// run runs script in the workspace, in the sandbox, and fails the test
// unless it exits as want says.
func (c *gitCase) run(t *testing.T, script string, wantOK bool) (result, []netViolation) {
	t.Helper()
	r, refused := c.e.runNet(c.policy, script)
	if (r.code == 0) != wantOK {
		t.Fatalf("%s: exit %d\nstdout: %s\nstderr: %s\ngit http-backend: %s", script, r.code, r.stdout, r.stderr, c.host.log)
	}
	return r, refused
}

// ref is the server's value of ref, or "" if it has none.
func (c *gitCase) ref(ref string) string {
	out, err := exec.Command("git", "--git-dir", c.bare, "rev-parse", "--verify", "-q", ref).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// head is the commit checked out in the workspace's clone dir.
func (c *gitCase) head(dir string) string {
	return strings.TrimSpace(c.e.git(filepath.Join(c.e.ws, dir), "rev-parse", "HEAD"))
}

const commitScript = `echo change >> README && git commit -qam change`

// From inside the sandbox, with no credential of its own: clone, fetch
// and a push to an allowed branch work and reach the host with the
// user's credential; a push to main, a deletion and a force push are
// refused, in git's own output, with the reason, and in the run report.
func TestGitPushesThroughTheChecks(t *testing.T) {
	c := newGitCase(t, nil)
	c.run(t, "git clone -q "+c.url+" cloned", true)
	if b, err := os.ReadFile(filepath.Join(c.e.ws, "cloned", "README")); err != nil || string(b) != "hello\n" {
		t.Fatalf("cloned README: %q, %v", b, err)
	}
	_, refused := c.run(t, "cd cloned && "+commitScript+" && git push -q origin HEAD:agent/one && git fetch -q origin", true)
	if got, want := c.ref("refs/heads/agent/one"), c.head("cloned"); got != want {
		t.Errorf("the host's agent/one = %q; want %q", got, want)
	}
	if len(refused) != 0 {
		t.Errorf("report has network violations: %+v", refused)
	}
	mainBefore := c.ref("refs/heads/main")
	oneBefore := c.ref("refs/heads/agent/one")

	tests := []struct {
		name, script, want string
	}{
		{"push to main", "git push origin HEAD:main",
			"sandbar: push to refs/heads/main refused by policy; allowed: agent/*"},
		{"deletion", "git push origin :agent/one",
			"sandbar: deleting refs/heads/agent/one refused by policy (git.deleteBranches is not true)"},
		{"force push", "git commit -q --amend -m rewritten && git push -f origin HEAD:agent/one",
			"sandbar: non-fast-forward push to refs/heads/agent/one refused by policy (git.forcePush is not true)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, refused := c.run(t, "cd cloned && "+tt.script, false)
			for _, w := range []string{"[remote rejected]", "(" + tt.want + ")", "remote: " + tt.want} {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("git's output lacks %q:\n%s", w, r.stderr)
				}
			}
			found := false
			for _, v := range refused {
				found = found || (v.Target == c.host.host && v.Reason == tt.want)
			}
			if !found {
				t.Errorf("report's network violations %+v lack %q", refused, tt.want)
			}
		})
	}
	if got := c.ref("refs/heads/main"); got != mainBefore {
		t.Errorf("the host's main moved to %s", got)
	}
	if got := c.ref("refs/heads/agent/one"); got != oneBefore {
		t.Errorf("the host's agent/one moved to %q", got)
	}
	auths, reqs := c.host.requests()
	want := "Basic " + gitSecrets[1]
	for i, a := range auths {
		if a != want {
			t.Errorf("%s reached the host with Authorization %q; want the user's credential", reqs[i], a)
		}
	}
}

// An SSH remote of a git host (git@host:org/repo.git) goes over HTTPS,
// through the same checks: git in the sandbox is configured so through
// its environment, and no file changes.
func TestGitSSHRemoteIsRewritten(t *testing.T) {
	c := newGitCase(t, nil)
	ip, _, _ := strings.Cut(c.host.host, ":")
	remote := "git@" + ip + ":org/repo.git"
	c.run(t, "git clone -q "+remote+" cloned", true)
	if got := strings.TrimSpace(c.e.git(filepath.Join(c.e.ws, "cloned"), "remote", "get-url", "origin")); got != remote {
		t.Errorf("origin is %q; want the SSH remote as written, %q", got, remote)
	}
	c.run(t, "cd cloned && "+commitScript+" && git push -q origin HEAD:agent/ssh", true)
	if got, want := c.ref("refs/heads/agent/ssh"), c.head("cloned"); got != want {
		t.Errorf("the host's agent/ssh = %q; want %q", got, want)
	}
	r, _ := c.run(t, "cd cloned && git push origin HEAD:main", false)
	if !strings.Contains(r.stderr, "sandbar: push to refs/heads/main refused by policy; allowed: agent/*") {
		t.Errorf("push to main over the SSH remote:\n%s", r.stderr)
	}
	if _, err := os.Stat(filepath.Join(c.e.home, ".gitconfig")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(c.e.home, ".gitconfig")); strings.Contains(string(b), "insteadOf") {
		t.Errorf("~/.gitconfig was changed:\n%s", b)
	}
}

// The first push to a repository the policy does not list waits for the
// user; with no one to ask (no terminal), it is refused, saying how to
// allow it.
func TestGitFirstPushNeedsApproval(t *testing.T) {
	c := newGitCase(t, map[string]any{"branches": []string{"agent/*"}})
	c.run(t, "git clone -q "+c.url+" cloned", true)
	r, _ := c.run(t, "cd cloned && "+commitScript+" && git push origin HEAD:agent/first", false)
	key := c.host.host + "/org/repo"
	want := "sandbar: pushing to " + key + " refused: approval failed: no terminal to ask on; to allow pushes there, add \"" + key + "\" to git.push.repositories"
	if !strings.Contains(r.stderr, want) {
		t.Errorf("git's output lacks %q:\n%s", want, r.stderr)
	}
	if got := c.ref("refs/heads/agent/first"); got != "" {
		t.Errorf("the push reached the host")
	}
}

// Nothing the sandbox can see holds the credential: its environment,
// every process's environment and command line in /proc, every file it
// can read (the home, the workspace, /tmp, /etc, /run, sandbar's state),
// and every HTTP header and packet git got (git's own traces, unredacted).
// The search gets the credential on its standard input, so that the
// search itself puts it in no file and no environment.
func TestGitCredentialNeverReachesTheSandbox(t *testing.T) {
	c := newGitCase(t, nil)
	trace := "GIT_TRACE_CURL=/tmp/trace GIT_TRACE_PACKET=/tmp/trace GIT_TRACE_REDACT=0"
	script := strings.Join([]string{
		"echo '== env'; env",
		"echo '== proc'; for f in /proc/[0-9]*/environ /proc/[0-9]*/cmdline; do tr '\\0' '\\n' < $f 2>/dev/null; done",
		trace + " git clone -q " + c.url + " cloned",
		"cd cloned && " + commitScript,
		trace + " git push -q origin HEAD:agent/leak",
		trace + " git push origin HEAD:main 2>&1",
		trace + " git ls-remote origin",
		"echo '== trace'; cat /tmp/trace",
		"echo '== files'; grep -rlsF -f - \"$HOME\" /tmp /etc /run " + c.e.root + "; echo '== end'",
	}, "\n")
	cmd := c.e.sandbarCmd(c.e.ws, "run", "--policy", c.policy, "--", "sh", "-c", script)
	cmd.Stdin = strings.NewReader(strings.Join(gitSecrets, "\n") + "\n")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Run()
	stdout := out.String()
	for _, part := range []string{"== env", "== proc", "== trace", "== files", "== end", "git-receive-pack", "refs/heads/agent/leak", "push to refs/heads/main refused"} {
		if !strings.Contains(stdout, part) {
			t.Fatalf("the search did not run through (no %q):\nstdout: %s\nstderr: %s", part, stdout, errb.String())
		}
	}
	if got := c.ref("refs/heads/agent/leak"); got == "" {
		t.Errorf("the push did not reach the host:\n%s", errb.String())
	}
	if found := leaks(stdout + errb.String()); len(found) > 0 {
		for _, line := range strings.Split(stdout, "\n") {
			if len(leaks(line)) > 0 {
				t.Errorf("the sandbox saw the credential: %s", line)
			}
		}
	}
	_, files, _ := strings.Cut(stdout, "== files\n")
	if files, _, _ = strings.Cut(files, "== end"); strings.TrimSpace(files) != "" {
		t.Errorf("files the sandbox can read hold the credential:\n%s", files)
	}
	if strings.Contains(stdout, "WWW-Authenticate") {
		t.Errorf("an authentication challenge reached git in the sandbox")
	}
	// And after the run, nothing the sandbox wrote holds it either.
	filepath.Walk(c.e.ws, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			if b, _ := os.ReadFile(p); len(leaks(string(b))) > 0 {
				t.Errorf("%s holds the credential", p)
			}
		}
		return nil
	})
}

// The CA's key is sandbar's alone: the sandbox cannot read it or list
// its directory, with or without git hosts in the policy, while the CA's
// certificate is there to trust.
func TestGitCAKeyIsHidden(t *testing.T) {
	c := newGitCase(t, nil)
	state := filepath.Join(c.e.home, ".local", "state", "sandbar", "git-ca")
	key := filepath.Join(state, "private", "ca-key.pem")
	script := "cat " + key + "; echo cat=$?; ls " + filepath.Dir(key) + "; echo ls=$?; head -1 " + filepath.Join(state, "ca.pem")
	noGit := filepath.Join(c.e.root, "no-git.jsonc")
	c.e.write(noGit, "{}\n")
	for _, policy := range []string{c.policy, noGit} {
		r := c.e.sandbar(c.e.ws, "run", "--policy", policy, "--", "sh", "-c", script)
		for _, want := range []string{"cat=1", "ls=2", "-----BEGIN CERTIFICATE-----"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("%s:\nstdout lacks %q\nstdout: %s\nstderr: %s", policy, want, r.stdout, r.stderr)
			}
		}
		if strings.Contains(r.stdout, "PRIVATE KEY") {
			t.Errorf("the sandbox read the CA's key")
		}
	}
	fi, err := os.Stat(key)
	if err != nil {
		t.Fatalf("no CA key on the host: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("CA key mode %v; want 0600", fi.Mode().Perm())
	}
}

// Every other host on the same proxy is still an opaque tunnel: the
// client sees the host's own certificate.
func TestGitOtherHostsStayOpaque(t *testing.T) {
	otherCert := newTestCert(t, otherIP)
	other := startServer(t, otherIP, &otherCert, nil)
	c := newGitCase(t, nil, other.host)
	c.e.write(filepath.Join(c.e.ws, "other.pem"), string(otherCert.pem))
	r, _ := c.run(t, curlArgs+" --cacert other.pem https://"+other.host+"/", true)
	if !strings.HasPrefix(r.stdout, helloBody) {
		t.Errorf("the other host's answer: %q", r.stdout)
	}
	if other.hits.Load() != 1 {
		t.Errorf("the other host answered %d requests; want 1", other.hits.Load())
	}
}

// A user who sends a host's HTTPS remotes over SSH (url.<ssh>.insteadOf
// = https://host/ in ~/.gitconfig, a common setup) still fetches and
// pushes from the sandbox, over HTTPS and through the checks: the
// sandbox has no SSH key, and the push checks apply only to HTTPS.
func TestGitUserRewriteToSSHStaysHTTPS(t *testing.T) {
	for _, key := range []string{"insteadOf", "pushInsteadOf"} {
		t.Run(key, func(t *testing.T) {
			c := newGitCase(t, nil)
			ip, _, _ := strings.Cut(c.host.host, ":")
			gitconfig := filepath.Join(c.e.home, ".gitconfig")
			b, err := os.ReadFile(gitconfig)
			if err != nil {
				t.Fatal(err)
			}
			rule := "[url \"git@" + ip + ":\"]\n\t" + key + " = https://" + c.host.host + "/\n"
			c.e.write(gitconfig, string(b)+rule)
			c.run(t, "git clone -q "+c.url+" cloned", true)
			c.run(t, "cd cloned && "+commitScript+" && git push -q origin HEAD:agent/rewritten", true)
			if got, want := c.ref("refs/heads/agent/rewritten"), c.head("cloned"); got != want {
				t.Errorf("the host's agent/rewritten = %q; want %q", got, want)
			}
			r, _ := c.run(t, "cd cloned && git push origin HEAD:main", false)
			if !strings.Contains(r.stderr, "sandbar: push to refs/heads/main refused by policy") {
				t.Errorf("push to main:\n%s", r.stderr)
			}
			// Outside the sandbox, the user's rule is untouched.
			if out := c.e.git(c.e.ws, "ls-remote", "--get-url", c.url); !strings.HasPrefix(out, "git@") && key == "insteadOf" {
				t.Errorf("on the host, %s resolves to %q; want the user's SSH rewrite", c.url, out)
			}
		})
	}
}
