package host

import (
	"context"
	"errors"
	"path/filepath"
	"strings"

	"github.com/sandbar-dev/sandbar/confine"
	"github.com/sandbar-dev/sandbar/workspace"
	"github.com/sandbar-dev/sandbar/workspace/policy"
)

// Explain is what `sandbar explain` prints and sandbar/explain answers:
// the backend invocation that would run argv in dir in sb. On Linux that
// is the bubblewrap command line with the descriptors it is handed; on
// macOS, the Seatbelt profile with the sandbox-exec command line that
// applies it. runtimeDir is where a run makes its proxies' sockets; their
// real names are made when the run starts. It also returns the Spec, for
// the caller to say more about it.
func Explain(sb *workspace.Sandbox, argv []string, dir, runtimeDir string) (string, confine.Spec, error) {
	spec, err := sb.Spec(argv, dir)
	if err != nil {
		return "", spec, err
	}
	// As in a run: the relay is the only way out.
	sock := func(name string) string { return runtimeDir + "/sandbar-net-RUN/" + name }
	spec.Network.Proxy = &confine.Proxy{HTTP: sock("http.sock"), SOCKS: sock("socks.sock"), Hello: []byte("per-run credential")}
	text, err := confine.Explain(spec)
	if err != nil {
		return "", spec, err
	}
	return explainHeader() + text, spec, nil
}

// explain answers sandbar/explain.
func (h *host) explain(ctx context.Context, p explainParams) (*explainResult, error) {
	if len(p.Argv) == 0 || p.Argv[0] == "" {
		return nil, errorf(codeInvalidParams, "invalid params: argv: the command to explain is missing")
	}
	folders := h.snapshot()
	if len(folders) == 0 {
		return nil, errNoFolder()
	}
	dir := folders[0].path
	if p.Cwd != "" {
		d, err := h.cwd(p.Cwd, dir)
		if err != nil {
			return nil, err
		}
		dir = d
	}
	opts, err := h.options(paths(folders))
	if err != nil {
		return nil, errorf(codeRequestFailed, "%v", err)
	}
	// Loading walks the folders for repositories: let other messages be
	// handled meanwhile.
	release(ctx)
	sb, err := workspace.Load(opts)
	if ctx.Err() != nil {
		return nil, ctx.Err() // cancelled meanwhile
	}
	if err != nil {
		var el policy.ErrorList
		if errors.As(err, &el) {
			return nil, h.unusable(err)
		}
		return nil, errorf(codeRequestFailed, "%v", err)
	}
	text, _, err := Explain(sb, p.Argv, dir, h.places.RuntimeDir)
	if err != nil {
		return nil, errorf(codeRequestFailed, "%v", err)
	}
	h.mu.Lock()
	backend := h.backend.Backend
	h.mu.Unlock()
	return &explainResult{Backend: backend, Cwd: dir, Text: text}, nil
}

// cwd is the working directory a request names: a file URI or a path,
// relative ones from the first folder.
func (h *host) cwd(arg, first string) (string, error) {
	if !strings.Contains(arg, "://") && !filepath.IsAbs(arg) {
		return filepath.Join(first, arg), nil
	}
	path, err := localPath(arg)
	if err != nil {
		return "", errorf(codeInvalidParams, "invalid params: cwd: %v", err)
	}
	return path, nil
}
