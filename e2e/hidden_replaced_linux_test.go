package e2e

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHiddenSecretsReplacedOnTheHost runs a command under the default
// policy that lies in wait for the user's credentials while the host
// saves new ones the way editors and credential helpers do: a new file
// renamed over ~/.netrc, ~/.ssh removed and made again. The command keeps
// reading; it must be refused every time.
func TestHiddenSecretsReplacedOnTheHost(t *testing.T) {
	const secret = "NEW-SECRET-FROM-THE-HOST"
	tests := []struct {
		name    string
		read    string // relative to the home
		replace func(t *testing.T, home string)
	}{
		{"netrc renamed over", ".netrc", func(t *testing.T, home string) {
			p := filepath.Join(home, ".netrc")
			if err := os.WriteFile(p+".new", []byte("machine example.com password "+secret), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(p+".new", p); err != nil {
				t.Fatal(err)
			}
		}},
		{"ssh made again", ".ssh/id_ed25519", func(t *testing.T, home string) {
			p := filepath.Join(home, ".ssh")
			if err := os.RemoveAll(p); err != nil {
				t.Fatal(err)
			}
			if err := os.Mkdir(p, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(p, "id_ed25519"), []byte(secret), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			target := filepath.Join(e.home, tt.read)
			// Says it is ready, waits to be told, then reads the secret
			// a hundred times over and once more for the error.
			script := `echo ready; read go; n=0
while [ $n -lt 100 ]; do cat "$1" 2>/dev/null; n=$((n+1)); done
cat "$1"`
			rest, stderr := runWhile(t, e, func() { tt.replace(t, e.home) }, script, target)
			if strings.Contains(rest, secret) || strings.Contains(rest, "hunter2") {
				t.Fatalf("the sandbox read %s after the host replaced it:\n%.200s", tt.read, rest)
			}
			if !strings.Contains(stderr, "Permission denied") {
				t.Errorf("reading %s after the host replaced it: want Permission denied; stdout %q, stderr:\n%s", tt.read, rest, stderr)
			}
		})
	}
}

// TestGitConfigRewrittenOnTheHost runs a command that lies in wait to
// plant core.fsmonitor in .git/config (which git on the host would run
// at the user's next `git status`) while the user runs `git config` on
// the host, which rewrites .git/config through a lock file renamed over
// it and so drops the read-only mount that protected it in every
// sandbox. The command keeps trying, with git and by hand; it must be
// refused every time, and the host's config must be the host's.
func TestGitConfigRewrittenOnTheHost(t *testing.T) {
	e := newEnv(t)
	config := filepath.Join(e.ws, ".git", "config")
	script := `echo ready; read go; n=0
while [ $n -lt 50 ]; do
  git config core.fsmonitor "touch $HOME/pwned" 2>/dev/null
  echo '[core] fsmonitor = "touch pwned"' >> .git/config 2>/dev/null
  n=$((n+1))
done
echo '[core] fsmonitor = "touch pwned"' >> .git/config`
	_, stderr := runWhile(t, e, func() { e.git(e.ws, "config", "user.name", "Host User") }, script)
	b, err := os.ReadFile(config)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "fsmonitor") || !strings.Contains(string(b), "Host User") {
		t.Fatalf("%s after the run:\n%s", config, b)
	}
	if !strings.Contains(stderr, "Read-only file system") {
		t.Errorf("writing .git/config after the host rewrote it: want Read-only file system; stderr:\n%s", stderr)
	}
}

// TestHostMadeProtectedPathKept: VS Code writes .vscode/settings.json
// while a command that creates nothing runs. The command could not have
// made it (the watch counts every call that could create anything), so
// the audit after the run leaves the user's file where it is.
func TestHostMadeProtectedPathKept(t *testing.T) {
	e := newEnv(t)
	settings := filepath.Join(e.ws, ".vscode", "settings.json")
	_, stderr := runWhile(t, e, func() { e.write(settings, `{"editor.tabSize": 2}`) }, "echo ready; read go")
	if b, err := os.ReadFile(settings); err != nil || string(b) != `{"editor.tabSize": 2}` {
		t.Errorf("%s after the run: %q, %v; want the host's file kept\nstderr: %s", settings, b, err, stderr)
	}
	if strings.Contains(stderr, "settings.json") {
		t.Errorf("the run reported the host's file:\n%s", stderr)
	}
}

// runWhile runs `sandbar run -- sh -c script args...` in the workspace,
// where script first prints "ready" and then waits for a line on its
// standard input. Once the command is ready, runWhile calls during, then
// tells the command to go on, and returns what the command printed
// after "ready" and sandbar's standard error, once the run has ended.
func runWhile(t *testing.T, e *env, during func(), script string, args ...string) (stdout, stderr string) {
	t.Helper()
	cmd := e.sandbarCmd(e.ws, append([]string{"run", "--", "sh", "-c", script, "sh"}, args...)...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errs strings.Builder
	cmd.Stderr = &errs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(out)
	if first, err := r.ReadString('\n'); first != "ready\n" {
		stdin.Close()
		cmd.Wait()
		t.Fatalf("the command said %q (%v), not ready\nstderr: %s", first, err, errs.String())
	}
	during()
	io.WriteString(stdin, "go\n")
	stdin.Close()
	rest, _ := io.ReadAll(r)
	cmd.Wait()
	return string(rest), errs.String()
}
