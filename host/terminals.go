package host

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"

	"github.com/sandbar-dev/sandbar/proxy"
	"github.com/sandbar-dev/sandbar/proxy/gitguard"
	"github.com/sandbar-dev/sandbar/workspace/auditlog"
)

// HostEnv is the variable that tells `sandbar run`, started in one of the
// editor's terminals, where the editor's host takes its questions.
const HostEnv = "SANDBAR_HOST"

// terminals is the socket on which `sandbar run` in the editor's
// integrated terminals asks the editor, through this host, what the
// terminal cannot decide alone. Only the user's own processes may connect
// (the directory is theirs alone and the peer's uid is checked), and every
// sandbox has the directory hidden (workspace.Options.HiddenPaths), so no
// confined command can reach it.
type terminals struct {
	path string
	ln   net.Listener
	wg   sync.WaitGroup
	mu   sync.Mutex
	open map[*conn]bool
}

// listenTerminals starts the socket in dir.
func (h *host) listenTerminals(dir string) (*terminals, error) {
	if err := privateDir(dir); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "host-"+strconv.Itoa(os.Getpid())+".sock")
	os.Remove(path) // a host of this PID is gone: the PID is ours now
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listening for the editor's terminals: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("listening for the editor's terminals: %w", err)
	}
	t := &terminals{path: path, ln: ln, open: map[*conn]bool{}}
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if !sameUser(c) {
				h.logf(messageWarning, "refused a connection to %s from another user", path)
				c.Close()
				continue
			}
			t.wg.Add(1)
			go func() {
				defer t.wg.Done()
				h.serveTerminal(t, c)
			}()
		}
	}()
	return t, nil
}

// privateDir makes dir, or checks that it is already, a directory of this
// user's that nobody else can enter. In a shared temporary directory
// another user could have made it first, or a link in its place.
func privateDir(dir string) error {
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("making %s: %w", dir, err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("checking %s: %w", dir, err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !fi.IsDir() || !ok || int(st.Uid) != os.Getuid() {
		return fmt.Errorf("%s is not a directory of yours; remove it and start the editor again", dir)
	}
	if fi.Mode().Perm() != 0o700 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("making %s private: %w", dir, err)
		}
	}
	return nil
}

// serveTerminal answers one terminal's questions until it hangs up.
func (h *host) serveTerminal(t *terminals, nc net.Conn) {
	c := newConn(nc, nc, func(msg string) { h.logf(messageWarning, "terminal: %s", msg) })
	t.mu.Lock()
	if t.open == nil { // closed meanwhile
		t.mu.Unlock()
		nc.Close()
		return
	}
	t.open[c] = true
	t.mu.Unlock()
	c.serve(h.conn.ctx, func(name string, isCall bool) (method, error) {
		if name == "sandbar/ask" {
			return request(h.terminalAsk), nil
		}
		return method{}, errorf(codeMethodNotFound, "unknown method %s", name)
	})
	<-c.done()
	<-c.close()
	t.mu.Lock()
	if t.open != nil {
		delete(t.open, c)
	}
	t.mu.Unlock()
}

// close stops taking terminals and hangs up on those connected.
func (t *terminals) close() {
	if t == nil {
		return
	}
	t.ln.Close()
	os.Remove(t.path)
	t.mu.Lock()
	open := t.open
	t.open = nil
	t.mu.Unlock()
	for c := range open {
		c.close()
	}
	t.wg.Wait()
}

// terminalAsk answers sandbar/ask from a terminal: the same prompt an
// editor run would get, shared with any alike, and the same effect.
func (h *host) terminalAsk(ctx context.Context, p askParams) (*askResult, error) {
	if p.Folder == "" || !filepath.IsAbs(p.Folder) {
		return nil, errorf(codeInvalidParams, "invalid params: folder: want the run's absolute workspace folder")
	}
	switch p.Kind {
	case "network":
	case "push":
		if p.Repository == "" {
			return nil, errorf(codeInvalidParams, "invalid params: repository: missing")
		}
		release(ctx)
		answer, err := h.askPush(ctx, "a terminal", p.Argv, p.Folder, "terminal", gitguard.Push{Repository: p.Repository, Refs: p.Refs})
		if err != nil && !errors.Is(err, errNoAnswer) {
			return nil, err
		}
		if answer == "" {
			answer = actionDeny
		}
		return &askResult{Answer: answer, Allowed: answer != actionDeny}, nil
	default:
		return nil, errorf(codeInvalidParams, "invalid params: kind: %q is not a question the host asks; want \"network\" or \"push\"", p.Kind)
	}
	if p.Host == "" || p.Port <= 0 || p.Port > 65535 {
		return nil, errorf(codeInvalidParams, "invalid params: host and port: want a host name and a port from 1 to 65535")
	}
	release(ctx)
	target := proxy.Target{Host: p.Host, Port: p.Port}
	key := target.String()
	name := "the command"
	if len(p.Argv) > 0 {
		name = "`" + filepath.Base(p.Argv[0]) + "`"
	}
	question := fmt.Sprintf("%s (in a terminal, in %s) wants to reach %s, which the policy does not allow.", name, filepath.Base(p.Folder), key)
	answer, err := h.asks.share(ctx, p.Folder+"\x00"+key, func() (string, error) {
		answer, err := h.ask(h.conn.ctx, messageWarning, question, actionAllowOnce, actionAllowWorkspace, actionAlwaysAllow, actionDeny)
		d := auditlog.Denied
		if err == nil && answer != actionDeny {
			d = auditlog.Allowed
		}
		h.record(auditlog.Entry{Kind: auditlog.KindNetwork, Target: key, Decision: d, Command: p.Argv, Folder: p.Folder, Run: "terminal"}, answer, err)
		if err == nil {
			h.applyNetworkAnswer(answer, p.Folder, target)
		}
		return answer, err
	})
	if err != nil && !errors.Is(err, errNoAnswer) {
		return nil, err
	}
	if answer == "" {
		answer = actionDeny
	}
	return &askResult{Answer: answer, Allowed: answer != actionDeny}, nil
}

// Terminal is `sandbar run`'s end of a host's terminal socket.
type Terminal struct {
	c *client
}

// DialTerminal connects to the host socket at path (from $SANDBAR_HOST).
func DialTerminal(ctx context.Context, path string) (*Terminal, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, fmt.Errorf("reaching the editor at %s: %w", path, err)
	}
	return &Terminal{c: newClient(nc)}, nil
}

// AskNetwork asks the editor whether the run of argv in folder may reach
// target. The host shows the prompt and, for "Allow for workspace" and
// "Always allow", writes the policy itself. It returns the answer's title.
func (t *Terminal) AskNetwork(ctx context.Context, argv []string, folder string, target proxy.Target) (answer string, allowed bool, err error) {
	var res askResult
	if err := t.c.call(ctx, "sandbar/ask", askParams{Kind: "network", Host: target.Host, Port: target.Port, Argv: argv, Folder: folder}, &res); err != nil {
		return "", false, fmt.Errorf("asking the editor: %w", err)
	}
	return res.Answer, res.Allowed, nil
}

// AskPush asks the editor whether the run of argv in folder may push refs
// to repository: the first push of the run there, which the policy does
// not list.
func (t *Terminal) AskPush(ctx context.Context, argv []string, folder, repository string, refs []string) (answer string, allowed bool, err error) {
	var res askResult
	if err := t.c.call(ctx, "sandbar/ask", askParams{Kind: "push", Repository: repository, Refs: refs, Argv: argv, Folder: folder}, &res); err != nil {
		return "", false, fmt.Errorf("asking the editor: %w", err)
	}
	return res.Answer, res.Allowed, nil
}

// Close hangs up.
func (t *Terminal) Close() error { return t.c.close() }
