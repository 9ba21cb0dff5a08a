package host

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/sandbar-dev/sandbar/confine"
	"github.com/sandbar-dev/sandbar/workspace/auditlog"
)

// runUnconfined runs p outside the sandbox, only if the user says so in
// the editor. Deny is the answer to everything else: dismissal, timeout,
// an editor that cannot ask.
func (h *host) runUnconfined(ctx context.Context, r *liveRun, p runParams, dir string) (*runResult, error) {
	question := fmt.Sprintf("Run %s WITHOUT the sandbox? It could read your secrets, change any of your files and reach any host. Command: %s",
		r.name(), quoteArgs(p.Argv))
	answer, err := h.ask(ctx, messageWarning, question, actionRunUnconfined, actionDeny)
	d := auditlog.Denied
	if err == nil && answer == actionRunUnconfined {
		d = auditlog.Allowed
	}
	h.record(auditlog.Entry{Kind: auditlog.KindUnconfined, Target: dir, Decision: d, Run: r.id, Command: p.Argv}, answer, err)
	if err != nil && !errors.Is(err, errNoAnswer) {
		return nil, err
	}
	if answer != actionRunUnconfined {
		why := "the user denied it"
		if err != nil {
			why = err.Error()
		}
		return nil, errorf(codeRequestFailed, "running %s unconfined was not approved (%s); nothing was run", r.name(), why)
	}
	h.logf(messageWarning, "run %s: %s runs unconfined, as the user approved", r.id, quoteArgs(p.Argv))

	if p.TimeoutMs > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(p.TimeoutMs)*time.Millisecond)
		defer cancel()
	}
	env := h.cfg.Environ
	if p.Pty != nil {
		env = withEnv(env, map[string]string{"TERM": termName(h.cfg.Environ)})
	}
	if len(p.Env) > 0 {
		env = withEnv(env, clientEnv(p.Env))
	}
	rio, err := h.plumb(r, p)
	if err != nil {
		return nil, errorf(codeRequestFailed, "setting up the command's input and output: %v", err)
	}
	defer rio.close()
	defer r.detach()
	cmd := exec.Command(p.Argv[0], p.Argv[1:]...)
	cmd.Dir, cmd.Env = dir, env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = rio.stdio.Stdin, rio.stdio.Stdout, rio.stdio.Stderr
	// Its own process group, so cancelling kills what it started too; and
	// it dies with the host.
	cmd.SysProcAttr = unconfinedAttr(p.Pty != nil)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		rio.finish()
		return nil, errorf(codeRequestFailed, "starting %s: %v; nothing was run", p.Argv[0], err)
	}
	h.conn.notify("sandbar/runStarted", runStarted{RunID: r.id, Argv: p.Argv, Cwd: dir})
	waited := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		case <-waited:
		}
	}()
	werr := cmd.Wait()
	close(waited)
	// Whatever it left behind in its group goes too.
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	r.detach()
	rio.finish()
	res := &runResult{RunID: r.id, DurationMs: time.Since(start).Milliseconds(), Violations: []violation{}}
	var ee *exec.ExitError
	if werr != nil && !errors.As(werr, &ee) {
		return nil, errorf(codeRequestFailed, "waiting for %s: %v", p.Argv[0], werr)
	}
	ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
	res.ExitCode = ws.ExitStatus()
	if ws.Signaled() {
		name := confine.SignalName(ws.Signal())
		res.Signal = &name
		res.ExitCode = 128 + int(ws.Signal())
	}
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		res.TimedOut = true
	case ctx.Err() != nil:
		res.Cancelled = true
	}
	return res, nil
}

// quoteArgs is argv as a shell would need it typed.
func quoteArgs(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = confine.ShellQuote(a)
	}
	return strings.Join(q, " ")
}
