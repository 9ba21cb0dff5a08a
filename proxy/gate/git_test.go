package gate_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sandbar-dev/sandbar/proxy"
	"github.com/sandbar-dev/sandbar/proxy/gate"
	"github.com/sandbar-dev/sandbar/proxy/gitguard"
)

func gitPolicy() *gitguard.Policy {
	return &gitguard.Policy{Hosts: []string{"github.com", "git.example.com:8443", "::1"}, Branches: []string{"agent/*"}}
}

func TestWithGit(t *testing.T) {
	user := []string{
		"PATH=/usr/bin",
		"SSL_CERT_FILE=/etc/my-roots.pem",
		"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=core.pager", "GIT_CONFIG_VALUE_0=less",
	}
	env := gate.WithGit(user, &gate.GitEnv{CAFile: "/s/git-ca/ca.pem", Bundle: "/s/git-ca/bundle.pem", Policy: gitPolicy})
	want := map[string]string{
		"PATH":                "/usr/bin",
		"SSL_CERT_FILE":       "/s/git-ca/bundle.pem",
		"GIT_SSL_CAINFO":      "/s/git-ca/bundle.pem",
		"REQUESTS_CA_BUNDLE":  "/s/git-ca/bundle.pem",
		"CURL_CA_BUNDLE":      "/s/git-ca/bundle.pem",
		"NODE_EXTRA_CA_CERTS": "/s/git-ca/ca.pem",
		"GIT_CONFIG_COUNT":    "16",
		"GIT_CONFIG_KEY_0":    "core.pager",
		"GIT_CONFIG_VALUE_0":  "less",
		"GIT_CONFIG_KEY_1":    "url.https://github.com/.insteadOf",
		"GIT_CONFIG_VALUE_1":  "git@github.com:",
		"GIT_CONFIG_VALUE_2":  "ssh://git@github.com/",
		"GIT_CONFIG_VALUE_3":  "ssh://git@github.com:22/",
		"GIT_CONFIG_VALUE_4":  "ssh://github.com/",
		"GIT_CONFIG_VALUE_5":  "git://github.com/",
		"GIT_CONFIG_KEY_6":    "url.https://git.example.com:8443/.insteadOf",
		"GIT_CONFIG_VALUE_6":  "git@git.example.com:",
		"GIT_CONFIG_KEY_11":   "url.https://[::1]/.insteadOf",
		"GIT_CONFIG_VALUE_11": "git@[::1]:",
	}
	checkEnv(t, env, want)
	if gate.WithGit(user, nil) == nil || !cmp.Equal(gate.WithGit(user, nil), user) {
		t.Error("WithGit without git changed the environment")
	}
}

// A system without a roots file gets only git's setting, to the CA alone:
// the others would replace every root with it. A user's own Node CA file
// is kept.
func TestWithGitWithoutSystemRoots(t *testing.T) {
	env := gate.WithGit([]string{"NODE_EXTRA_CA_CERTS=/mine.pem", "GIT_CONFIG_COUNT=x"}, &gate.GitEnv{CAFile: "/s/ca.pem"})
	want := []string{"NODE_EXTRA_CA_CERTS=/mine.pem", "GIT_SSL_CAINFO=/s/ca.pem"}
	if diff := cmp.Diff(want, env); diff != "" {
		t.Errorf("env (-want +got):\n%s", diff)
	}
}

func TestGateWithGit(t *testing.T) {
	caDir := filepath.Join(t.TempDir(), "git-ca")
	roots := filepath.Join(t.TempDir(), "roots.pem")
	os.WriteFile(roots, []byte("-----BEGIN CERTIFICATE-----\nroot\n-----END CERTIFICATE-----\n"), 0o644)
	g, err := gate.Start(gate.Config{
		RuntimeDir: t.TempDir(),
		Git: &gate.Git{
			Policy: gitPolicy,
			CADir:  caDir,
			Getenv: func(k string) string { return map[string]string{"SSL_CERT_FILE": roots}[k] },
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if g.GitErr != nil || g.GitEnv == nil {
		t.Fatalf("git checks: %v, %+v", g.GitErr, g.GitEnv)
	}
	bundle, _ := os.ReadFile(g.GitEnv.Bundle)
	ca, _ := os.ReadFile(g.GitEnv.CAFile)
	if !strings.HasPrefix(string(bundle), "-----BEGIN CERTIFICATE-----\nroot\n") || !strings.HasSuffix(string(bundle), string(ca)) {
		t.Errorf("bundle is not the roots and the CA:\n%s", bundle)
	}
	if _, err := os.Stat(filepath.Join(caDir, "private", "ca-key.pem")); err != nil {
		t.Errorf("no CA key: %v", err)
	}
}

// A CA that cannot be opened refuses the git hosts, with its reason; it
// does not let them through unchecked.
func TestGateWithoutCA(t *testing.T) {
	caDir := filepath.Join(t.TempDir(), "git-ca")
	os.WriteFile(caDir, []byte("a file where the directory should be"), 0o600)
	var events []proxy.Event
	g, err := gate.Start(gate.Config{
		RuntimeDir: t.TempDir(),
		Rules:      func() *proxy.CompiledRules { return proxy.Rules{Allowed: []string{"github.com"}}.Compile() },
		OnEvent:    func(ev proxy.Event) { events = append(events, ev) },
		Resolver:   publicResolver{},
		Git:        &gate.Git{Policy: gitPolicy, CADir: caDir},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if g.GitErr == nil || g.GitEnv != nil {
		t.Fatalf("GitErr %v, GitEnv %+v; want an error and no environment", g.GitErr, g.GitEnv)
	}
	c, err := net.Dial("unix", g.Proxy.HTTP)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write(g.Proxy.Hello)
	io.WriteString(c, "CONNECT github.com:443 HTTP/1.1\r\nHost: github.com:443\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "github.com:443 is a git host but sandbar's git checks are not available: making the git CA directory") {
		t.Errorf("CONNECT to a git host without a CA: %d %q", resp.StatusCode, body)
	}
	if last := events[len(events)-1]; last.Decision != "denied" || !strings.Contains(last.Reason, "git checks are not available") {
		t.Errorf("last event %+v; want the refusal", last)
	}
}

// publicResolver resolves every name to a public address, and dials
// nothing: the test never gets that far.
type publicResolver struct{}

func (publicResolver) LookupIPAddr(context.Context, string) ([]net.IPAddr, error) {
	return []net.IPAddr{{IP: net.ParseIP("203.0.113.7")}}, nil
}

// The sandbox's git reads a system config that sandbar writes: the git
// hosts' HTTPS URLs rewritten to themselves and their SSH forms to HTTPS,
// read before any config of the user's, then the system config git would
// have read. A user without a system config (GIT_CONFIG_NOSYSTEM) gets
// the rules alone; one with their own (GIT_CONFIG_SYSTEM) gets theirs.
func TestWithGitSystemConfig(t *testing.T) {
	policy := func() *gitguard.Policy { return &gitguard.Policy{Hosts: []string{"github.com"}} }
	tests := []struct {
		name        string
		user        []string
		wantInclude []string
	}{
		{"the machine's", []string{"PATH=/usr/bin"}, []string{"/etc/gitconfig", "/opt/homebrew/etc/gitconfig"}},
		{"the user's own", []string{"GIT_CONFIG_SYSTEM=/home/me/my \"odd\" git\\config"}, []string{`"/home/me/my \"odd\" git\\config"`}},
		{"none", []string{"GIT_CONFIG_NOSYSTEM=1"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			env := gate.WithGit(tt.user, &gate.GitEnv{CAFile: "/s/ca.pem", Policy: policy, Dir: dir})
			file, ok := lookup(env, "GIT_CONFIG_SYSTEM")
			if !ok || filepath.Dir(file) != dir {
				t.Fatalf("GIT_CONFIG_SYSTEM = %q, %v; want a file in %s (env %q)", file, ok, dir, env)
			}
			if _, ok := lookup(env, "GIT_CONFIG_NOSYSTEM"); ok {
				t.Errorf("GIT_CONFIG_NOSYSTEM is still set: git would not read the rules")
			}
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			text := string(b)
			for _, w := range []string{
				"[url \"https://github.com/\"]\n\tinsteadOf = \"https://github.com/\"\n\tpushInsteadOf = \"https://github.com/\"\n",
				"\tinsteadOf = \"git@github.com:\"\n",
			} {
				if !strings.Contains(text, w) {
					t.Errorf("system config lacks %q:\n%s", w, text)
				}
			}
			for _, inc := range tt.wantInclude {
				if !strings.Contains(text, "\tpath = "+inc) && !strings.Contains(text, "\tpath = \""+inc+"\"") {
					t.Errorf("system config does not include %s:\n%s", inc, text)
				}
			}
			if tt.wantInclude == nil && strings.Contains(text, "[include]") {
				t.Errorf("system config includes something:\n%s", text)
			}
			// The same content is the same file, written once.
			again := gate.WithGit(tt.user, &gate.GitEnv{CAFile: "/s/ca.pem", Policy: policy, Dir: dir})
			if f, _ := lookup(again, "GIT_CONFIG_SYSTEM"); f != file {
				t.Errorf("second run's file %q; want %q", f, file)
			}
		})
	}
}
