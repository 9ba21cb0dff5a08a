package gitguard

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// Credential is what the guard adds to the requests it lets through, as
// HTTP basic authentication. It never reaches the sandbox.
type Credential struct {
	Username, Password string
}

// Credentials gives the credential for a repository. Fill is asked once
// per repository and run; the guard keeps the answer in memory.
//
// The guard never tells the helpers a credential worked (git credential
// approve), as git itself does: that makes the store helper rewrite
// ~/.git-credentials by renaming a new file over it, and a file replaced
// on the host is no longer hidden in the sandboxes already running (the
// kernel drops a mount whose mount point is renamed over, in every mount
// namespace). A helper that refreshes a token keeps it itself.
type Credentials interface {
	Fill(ctx context.Context, r Repository) (Credential, error)
}

// Repository is a repository on a git host, as git's credential protocol
// names it.
type Repository struct {
	// Host is the host, with ":port" when the port is not 443.
	Host string
	// Path is the repository's path in its URL, without the leading "/".
	Path string
}

func (r Repository) String() string { return "https://" + r.Host + "/" + r.Path }

// GitCredentials asks the user's own git: `git credential fill`, which
// runs the credential helpers the user configured (a keychain, the git
// credential manager, `gh auth git-credential`, a store file). It runs
// outside every sandbox, as the user.
type GitCredentials struct {
	// Git is the git program; empty means "git" from $PATH.
	Git string
	// Env is its environment; nil means sandbar's own. Variables that
	// would point git at a repository (GIT_DIR and friends) are dropped,
	// and terminal prompts are turned off: there is no terminal to ask
	// on, and the answer must come from a helper.
	Env []string
	// Dir is where it runs; empty means "/", so that no repository's
	// own configuration applies.
	Dir string
	// Timeout bounds each run; zero means two minutes (a helper may ask
	// the user in a window of its own).
	Timeout time.Duration
}

func (g GitCredentials) Fill(ctx context.Context, r Repository) (Credential, error) {
	out, err := g.run(ctx, "fill", describe(r))
	if err != nil {
		return Credential{}, fmt.Errorf("git credential fill for %s: %w", r, err)
	}
	var c Credential
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), "=")
		switch k {
		case "username":
			c.Username = v
		case "password":
			c.Password = v
		}
	}
	if c.Password == "" {
		return Credential{}, fmt.Errorf("git credential fill for %s gave no password", r)
	}
	return c, nil
}

// describe is the credential protocol's description of r.
func describe(r Repository) string {
	return fmt.Sprintf("protocol=https\nhost=%s\npath=%s\n\n", r.Host, r.Path)
}

func (g GitCredentials) run(ctx context.Context, op, input string) ([]byte, error) {
	timeout := g.Timeout
	if timeout == 0 {
		timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	git := g.Git
	if git == "" {
		git = "git"
	}
	cmd := exec.CommandContext(ctx, git, "credential", op)
	cmd.Dir = g.Dir
	if cmd.Dir == "" {
		cmd.Dir = "/"
	}
	env := g.Env
	if env == nil {
		env = os.Environ()
	}
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "GIT_DIR", "GIT_WORK_TREE", "GIT_COMMON_DIR", "GIT_INDEX_FILE", "GIT_TERMINAL_PROMPT":
			continue
		}
		cmd.Env = append(cmd.Env, kv)
	}
	cmd.Env = append(cmd.Env, "GIT_TERMINAL_PROMPT=0")
	cmd.Stdin = strings.NewReader(input)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("no answer within %v", timeout)
		}
		// Only git's last words: they say what went wrong, and a helper
		// has no reason to print a secret there.
		msg := strings.TrimSpace(stderr.String())
		if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
			msg = msg[i+1:]
		}
		if msg == "" {
			return nil, err
		}
		return nil, errors.New(clip(msg))
	}
	return stdout.Bytes(), nil
}
