package host

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/sandbar-dev/sandbar/workspace"
	"github.com/sandbar-dev/sandbar/workspace/auditlog"
)

// Config is what a session needs from the process that runs it.
type Config struct {
	// Version is sandbar's version, for serverInfo.
	Version string
	// Getenv finds the user's directories (HOME, XDG_*); nil means
	// os.Getenv.
	Getenv func(string) string
	// Environ is the environment commands would inherit; nil means
	// os.Environ().
	Environ []string
	// Log receives the host's log (it also goes to the editor as
	// window/logMessage); nil means os.Stderr. Never stdout: that is the
	// protocol's.
	Log io.Writer
}

// Serve runs one editor session over in (the editor's requests) and out
// (the host's answers and notifications) until the editor sends exit,
// closes in, or ctx ends. It returns the process's exit status as LSP
// wants it: 0 if the editor asked for shutdown first, else 1.
func Serve(ctx context.Context, cfg Config, in io.Reader, out io.Writer) int {
	h := newHost(cfg)
	h.conn = newConn(in, out, func(msg string) { h.logf(messageWarning, "%s", msg) })
	h.conn.serve(ctx, h.route)
	select {
	case <-h.exited:
	case <-h.conn.done():
	case <-h.conn.inputEnded():
	case <-ctx.Done():
	}
	h.mu.Lock()
	t := h.terminals
	h.mu.Unlock()
	t.close()
	h.stopPolicy()
	<-h.conn.close()
	if err := h.conn.rpc.Err(); err != nil {
		h.logf(messageError, "the connection ended: %v", err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.state == stateShutdown {
		return 0
	}
	return 1
}

// host is one editor session.
type host struct {
	cfg       Config
	places    workspace.Places
	placesErr error
	conn      *conn
	methods   map[string]method

	mu       sync.Mutex // guards what follows
	state    state
	client   clientInfo
	encoding string
	folders  []folder
	backend  backendInfo
	// approvalTimeout is how long a prompt waits for the editor.
	approvalTimeout time.Duration

	runs runs
	asks prompts
	// offered are the policy contents whose trust was asked about.
	offered map[string]bool
	// terminals takes questions from sandbar run in the editor's
	// terminals.
	terminals *terminals
	// audit records every decision; nil when there is no home to keep it.
	audit *auditlog.Log

	exited   chan struct{}
	exitOnce sync.Once

	policy livePolicy
}

// folder is a workspace folder as the editor named it.
type folder struct {
	uri  string
	path string
	name string
}

func newHost(cfg Config) *host {
	if cfg.Getenv == nil {
		cfg.Getenv = os.Getenv
	}
	if cfg.Environ == nil {
		cfg.Environ = os.Environ()
	}
	if cfg.Log == nil {
		cfg.Log = os.Stderr
	}
	h := &host{cfg: cfg, exited: make(chan struct{}), encoding: encodingUTF16, approvalTimeout: defaultApprovalTimeout}
	h.places, h.placesErr = workspace.UserPlaces(cfg.Getenv)
	if h.placesErr == nil {
		h.audit = auditlog.Open(filepath.Join(h.places.StateDir, auditlog.FileName), auditlog.Options{})
	}
	h.methods = map[string]method{
		"initialize":                          request(h.initialize),
		"initialized":                         notification(h.initialized),
		"shutdown":                            request(h.shutdown),
		"exit":                                notification(h.exit),
		"workspace/didChangeWorkspaceFolders": notification(h.didChangeWorkspaceFolders),
		"sandbar/policy":                      request(h.policyRequest),
		"sandbar/explain":                     request(h.explain),
		"sandbar/run":                         request(h.run),
		"sandbar/input":                       notification(h.input),
		"sandbar/resize":                      notification(h.resize),
		"sandbar/trust":                       request(h.trust),
	}
	return h
}

// logf writes to the host's log and, once the editor has initialized the
// session, to the editor's (window/logMessage).
func (h *host) logf(level int, format string, a ...any) {
	msg := fmt.Sprintf(format, a...)
	fmt.Fprintf(h.cfg.Log, "sandbar serve: %s\n", msg)
	h.mu.Lock()
	st := h.state
	h.mu.Unlock()
	if st != stateNew {
		h.conn.notify("window/logMessage", messageParams{Type: level, Message: msg})
	}
}

// snapshot returns the folders now.
func (h *host) snapshot() []folder {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]folder(nil), h.folders...)
}

// options are the inputs of workspace.Load for folders, as the sandbar
// command line makes them.
func (h *host) options(paths []string) (workspace.Options, error) {
	if h.placesErr != nil {
		return workspace.Options{}, h.placesErr
	}
	return h.places.Options(paths, h.cfg.Environ), nil
}

func paths(fs []folder) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.path
	}
	return out
}

// uriOf is the file URI of path, in the editor's terms: workspace reads
// folders with their symbolic links resolved, and a path under a folder's
// real directory is named under the folder as the editor opened it, so
// that a diagnostic lands on the document the editor has open.
func (h *host) uriOf(path string) string {
	for _, f := range h.snapshot() {
		real, err := filepath.EvalSymlinks(f.path)
		if err != nil || real == f.path {
			continue
		}
		if path == real || strings.HasPrefix(path, real+"/") {
			return fileURI(f.path + strings.TrimPrefix(path, real))
		}
	}
	return fileURI(path)
}
