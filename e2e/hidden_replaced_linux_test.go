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
			cmd := e.sandbarCmd(e.ws, "run", "--", "sh", "-c", script, "sh", target)
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			out := bufio.NewReader(stdout)
			first, err := out.ReadString('\n')
			if first != "ready\n" {
				stdin.Close()
				cmd.Wait()
				t.Fatalf("the command said %q (%v), not ready\nstderr: %s", first, err, stderr.String())
			}
			tt.replace(t, e.home)
			io.WriteString(stdin, "go\n")
			stdin.Close()
			rest, _ := io.ReadAll(out)
			cmd.Wait()
			if strings.Contains(string(rest), secret) || strings.Contains(string(rest), "hunter2") {
				t.Fatalf("the sandbox read %s after the host replaced it:\n%.200s", tt.read, rest)
			}
			if !strings.Contains(stderr.String(), "Permission denied") {
				t.Errorf("reading %s after the host replaced it: want Permission denied; stdout %q, stderr:\n%s", tt.read, rest, stderr.String())
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
	cmd := e.sandbarCmd(e.ws, "run", "--", "sh", "-c", script)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	out := bufio.NewReader(stdout)
	if first, err := out.ReadString('\n'); first != "ready\n" {
		stdin.Close()
		cmd.Wait()
		t.Fatalf("the command said %q (%v), not ready\nstderr: %s", first, err, stderr.String())
	}
	e.git(e.ws, "config", "user.name", "Host User")
	io.WriteString(stdin, "go\n")
	stdin.Close()
	io.ReadAll(out)
	cmd.Wait()
	b, err := os.ReadFile(config)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "fsmonitor") || !strings.Contains(string(b), "Host User") {
		t.Fatalf("%s after the run:\n%s", config, b)
	}
	if !strings.Contains(stderr.String(), "Read-only file system") {
		t.Errorf("writing .git/config after the host rewrote it: want Read-only file system; stderr:\n%s", stderr.String())
	}
}

// TestHostMadeProtectedPathKept: VS Code writes .vscode/settings.json
// while a command that creates nothing runs. The command could not have
// made it (the watch counts every call that could create anything), so
// the audit after the run leaves the user's file where it is.
func TestHostMadeProtectedPathKept(t *testing.T) {
	e := newEnv(t)
	cmd := e.sandbarCmd(e.ws, "run", "--", "sh", "-c", "echo ready; read go")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if first, err := bufio.NewReader(stdout).ReadString('\n'); first != "ready\n" {
		stdin.Close()
		cmd.Wait()
		t.Fatalf("the command said %q (%v), not ready\nstderr: %s", first, err, stderr.String())
	}
	settings := filepath.Join(e.ws, ".vscode", "settings.json")
	e.write(settings, `{"editor.tabSize": 2}`)
	io.WriteString(stdin, "go\n")
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("sandbar run: %v\nstderr: %s", err, stderr.String())
	}
	if b, err := os.ReadFile(settings); err != nil || string(b) != `{"editor.tabSize": 2}` {
		t.Errorf("%s after the run: %q, %v; want the host's file kept\nstderr: %s", settings, b, err, stderr.String())
	}
	if strings.Contains(stderr.String(), "settings.json") {
		t.Errorf("the run reported the host's file:\n%s", stderr.String())
	}
}
