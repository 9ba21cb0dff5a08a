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
// per repository and run (the guard keeps the answer in memory);
// Approve is told once a request with it succeeded, as git tells its
// credential helpers, so that a helper that made a fresh token can keep
// it.
type Credentials interface {
	Fill(ctx context.Context, r Repository) (Credential, error)
	Approve(ctx context.Context, r Repository, c Credential) error
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
	out, err := g.run(ctx, "fill", describe(r, Credential{}))
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

func (g GitCredentials) Approve(ctx context.Context, r Repository, c Credential) error {
	if _, err := g.run(ctx, "approve", describe(r, c)); err != nil {
		return fmt.Errorf("git credential approve for %s: %w", r, err)
	}
	return nil
}

// describe is the credential protocol's description of r, with c when it
// is set.
func describe(r Repository, c Credential) string {
	var b strings.Builder
	fmt.Fprintf(&b, "protocol=https\nhost=%s\npath=%s\n", r.Host, r.Path)
	if c.Password != "" {
		fmt.Fprintf(&b, "username=%s\npassword=%s\n", c.Username, c.Password)
	}
	b.WriteString("\n")
	return b.String()
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
