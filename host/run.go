package host

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/creack/pty"

	"github.com/sandbar-dev/sandbar/confine"
	"github.com/sandbar-dev/sandbar/workspace"
	"github.com/sandbar-dev/sandbar/workspace/launch"
)

// runs are the commands running for the editor, by run ID.
type runs struct {
	mu   sync.Mutex
	next int
	live map[string]*liveRun
}

// liveRun is one running command.
type liveRun struct {
	id   string
	argv []string
	mu   sync.Mutex // guards input and term
	// input takes what sandbar/input sends; a goroutine writes it to the
	// command, so a command that does not read never blocks the session.
	// nil between commands (a re-run is a second command).
	input chan inputParams
	// term is the pseudo-terminal's master when the command has one.
	term    *os.File
	dropped int // refusals not sent as they happened
}

// name is how a prompt names the run's command: its program's name.
func (r *liveRun) name() string {
	if len(r.argv) == 0 {
		return "the command"
	}
	return "`" + filepath.Base(r.argv[0]) + "`"
}

// outputChunk is the most one sandbar/output carries. The editor gets the
// output as fast as it reads it: the notification is sent before the next
// read from the command's pipe, so a command that prints faster than the
// editor reads waits, and the host holds at most one chunk per stream.
const outputChunk = 32 << 10

// inputQueue is how many sandbar/input messages may wait for a command
// that is not reading; more are dropped, and the log says so.
const inputQueue = 256

// register adds a run under id (or a new one), refusing an ID in use.
func (rs *runs) register(id string, argv []string) (*liveRun, error) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.live == nil {
		rs.live = map[string]*liveRun{}
	}
	if id == "" {
		for {
			rs.next++
			id = "r" + strconv.Itoa(rs.next)
			if rs.live[id] == nil {
				break
			}
		}
	} else if rs.live[id] != nil {
		return nil, errorf(codeInvalidParams, "invalid params: runId: a run named %q is already running", id)
	}
	r := &liveRun{id: id, argv: argv}
	rs.live[id] = r
	return r, nil
}

func (rs *runs) remove(r *liveRun) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.live[r.id] == r {
		delete(rs.live, r.id)
	}
}

func (rs *runs) get(id string) *liveRun {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.live[id]
}

// run answers sandbar/run: it runs the command in the sandbox of the
// session's folders, streams its output as sandbar/output, reports each
// refusal as sandbar/violation, and answers with how it ended. Cancelling
// the request kills everything the command started.
func (h *host) run(ctx context.Context, p runParams) (*runResult, error) {
	if len(p.Argv) == 0 || p.Argv[0] == "" {
		return nil, errorf(codeInvalidParams, "invalid params: argv: the command to run is missing")
	}
	if p.Stdin != nil && (p.StdinOpen || p.Pty != nil) {
		return nil, errorf(codeInvalidParams, "invalid params: stdin: give the input either whole (stdin) or as it comes (stdinOpen or pty), not both")
	}
	if p.TimeoutMs < 0 {
		return nil, errorf(codeInvalidParams, "invalid params: timeoutMs: must not be negative")
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
	// Before initialized, the policy is loaded on demand.
	h.startPolicy()
	// A run lasts as long as its command: let the session go on.
	release(ctx)
	r, err := h.runs.register(p.RunID, p.Argv)
	if err != nil {
		return nil, err
	}
	defer h.runs.remove(r)
	if p.Unconfined {
		return h.runUnconfined(ctx, r, p, dir)
	}
	res, out, sb, err := h.runOnce(ctx, r, p, dir, false)
	if err != nil {
		return nil, err
	}
	// An interactive terminal is a session, not a command to repeat.
	if rerun := h.offerRerunUnlessTerminal(ctx, r, p, sb, out); rerun != nil {
		res.Allowed = rerun
		again, _, _, err := h.runOnce(ctx, r, p, dir, true)
		if err != nil {
			return nil, err
		}
		res.Rerun = again
	}
	return res, nil
}

// runOnce runs p once in the sandbox of the policy in force now; fresh
// reads the policy files again first, for a re-run right after sandbar
// wrote them (the watcher reloads them too, a moment later).
func (h *host) runOnce(ctx context.Context, r *liveRun, p runParams, dir string, fresh bool) (*runResult, launch.Outcome, *workspace.Sandbox, error) {
	folders := h.snapshot()
	ps, _, err := h.currentPolicy()
	if err != nil {
		return nil, launch.Outcome{}, nil, err
	}
	opts, err := h.options(paths(folders))
	if err != nil {
		return nil, launch.Outcome{}, nil, errorf(codeRequestFailed, "%v", err)
	}
	if fresh {
		if again, err := workspace.LoadPolicies(opts); err == nil {
			ps = again
		}
	}
	sb, err := workspace.FromPolicies(opts, ps)
	if err != nil {
		return nil, launch.Outcome{}, nil, errorf(codeRequestFailed, "building the sandbox: %v", err)
	}
	if p.TimeoutMs > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(p.TimeoutMs)*time.Millisecond)
		defer cancel()
	}
	env := sb.Env
	if p.Pty != nil {
		env = withEnv(env, map[string]string{"TERM": termName(h.cfg.Environ)})
	}
	if len(p.Env) > 0 {
		env = withEnv(env, clientEnv(p.Env))
	}

	rio, err := h.plumb(r, p)
	if err != nil {
		return nil, launch.Outcome{}, nil, errorf(codeRequestFailed, "setting up the command's input and output: %v", err)
	}
	defer rio.close()
	defer r.detach()
	live := h.reportLive(r)
	approver := &networkApprover{h: h, run: r, folder: folderOf(sb.Folders, dir), ctx: h.conn.ctx, decided: map[string]bool{}}
	started := false
	out, runErr := launch.Run(ctx, launch.Job{
		Sandbox:  sb,
		Places:   h.places,
		Argv:     p.Argv,
		Dir:      dir,
		Env:      env,
		Stdio:    rio.stdio,
		Rules:    launch.LiveRules(h.livePolicies),
		Git:      launch.LiveGitPolicy(h.livePolicies),
		Approver: approver,
		Audit:    h.audit,
		RunID:    r.id,
		OnViolation: func(v confine.Violation) {
			live(v)
		},
		Ready: func(spec confine.Spec) error {
			started = true
			h.conn.notify("sandbar/runStarted", runStarted{RunID: r.id, Argv: p.Argv, Cwd: spec.Dir})
			return nil
		},
	})
	// Everything in the sandbox is gone: the output ends once the pipes
	// are drained.
	r.detach()
	rio.finish()
	live(confine.Violation{}) // flush
	if runErr != nil {
		var se *confine.SetupError
		var le *launch.Error
		if errors.As(runErr, &se) || errors.As(runErr, &le) || !started {
			return nil, launch.Outcome{}, nil, errorf(codeRequestFailed, "%v; nothing was run", runErr)
		}
		return nil, launch.Outcome{}, nil, errorf(codeRequestFailed, "%v", runErr)
	}
	if out.AuditErr != nil {
		h.logf(messageError, "run %s: %v", r.id, out.AuditErr)
	}
	res := &runResult{
		RunID:      r.id,
		ExitCode:   out.ExitCode,
		DurationMs: out.Duration.Milliseconds(),
		Violations: wireViolations(out.Violations),
		Confined:   true,
	}
	if out.Signal != 0 {
		name := confine.SignalName(out.Signal)
		res.Signal = &name
	}
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		res.TimedOut = true
	case ctx.Err() != nil:
		res.Cancelled = true
	}
	return res, out, sb, nil
}

// livePolicies is the policy in force, for the network rules of running
// commands: a saved change reaches their next connection.
func (h *host) livePolicies() *workspace.Policies {
	ps, _, _ := h.currentPolicy()
	return ps
}

// reportLive returns the function that sends one refusal to the editor
// as sandbar/violation. It never blocks the sandbox: refusals queue, and
// past the queue's size they are counted and said once the run ends.
// The zero Violation flushes the queue and waits for it.
func (h *host) reportLive(r *liveRun) func(confine.Violation) {
	ch := make(chan violation, 256)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for v := range ch {
			h.conn.notify("sandbar/violation", v)
		}
	}()
	var mu sync.Mutex
	closed := false
	return func(v confine.Violation) {
		mu.Lock()
		defer mu.Unlock()
		if closed {
			return
		}
		if v == (confine.Violation{}) {
			closed = true
			close(ch)
			<-done
			if r.dropped > 0 {
				h.logf(messageWarning, "run %s: %d refusals were not sent as they happened (the editor was not reading); the result lists them all", r.id, r.dropped)
				r.dropped = 0
			}
			return
		}
		w := toWire(v)
		w.RunID = r.id
		select {
		case ch <- w:
		default:
			r.dropped++
		}
	}
}

func wireViolations(vs []confine.Violation) []violation {
	out := make([]violation, 0, len(vs))
	for _, v := range vs {
		out = append(out, toWire(v))
	}
	return out
}

func toWire(v confine.Violation) violation {
	decision := v.Decision
	if decision == "" {
		decision = "denied"
	}
	// A path, or a command's name, need not be UTF-8; the wire must be.
	u := func(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }
	return violation{Kind: v.Kind, Operation: v.Operation, Path: u(v.Path), Target: u(v.Target), Decision: decision,
		Reason: u(v.Reason), Rule: u(v.Rule), Pid: v.Pid, Comm: u(v.Comm), Count: v.Count, Undone: u(v.Undone)}
}

// clientEnv is what a request's env may set: anything but sandbar's own
// names (SANDBAR, SANDBAR_*), which say things about the sandbox that
// only sandbar may say.
func clientEnv(env map[string]string) map[string]string {
	out := make(map[string]string, len(env))
	for k, v := range env {
		if !strings.HasPrefix(strings.ToUpper(k), "SANDBAR") && k != "" && !strings.Contains(k, "=") {
			out[k] = v
		}
	}
	return out
}

// withEnv is environ with set's variables added or replaced.
func withEnv(environ []string, set map[string]string) []string {
	out := make([]string, 0, len(environ)+len(set))
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if _, replaced := set[name]; !replaced {
			out = append(out, kv)
		}
	}
	names := make([]string, 0, len(set))
	for k := range set {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		out = append(out, k+"="+set[k])
	}
	return out
}

// termName is the terminal type a pty run gets: the editor's, else
// xterm-256color, which every terminal emulator an editor embeds speaks.
func termName(environ []string) string {
	for _, kv := range environ {
		if v, ok := strings.CutPrefix(kv, "TERM="); ok && v != "" && v != "dumb" {
			return v
		}
	}
	return "xterm-256color"
}

// folderOf is the folder dir lies in, else the first.
func folderOf(folders []string, dir string) string {
	real := dir
	if r, err := filepath.EvalSymlinks(dir); err == nil {
		real = r
	}
	for _, f := range folders {
		if real == f || strings.HasPrefix(real, f+"/") {
			return f
		}
	}
	return folders[0]
}

// runIO is a run's standard streams as the host holds them.
type runIO struct {
	stdio   confine.Stdio
	ours    []*os.File // the command's ends, closed once it has them
	pumps   sync.WaitGroup
	closers []io.Closer
}

// plumb makes the command's standard streams: pipes, or a pseudo-terminal,
// read by pumps that send sandbar/output, and an input writer fed by
// sandbar/input.
func (h *host) plumb(r *liveRun, p runParams) (*runIO, error) {
	rio := &runIO{}
	pump := func(stream string, f *os.File) {
		rio.pumps.Add(1)
		go func() {
			defer rio.pumps.Done()
			h.pumpOutput(r.id, stream, f)
		}()
	}
	if p.Pty != nil {
		master, slave, err := pty.Open()
		if err != nil {
			return nil, err
		}
		if p.Pty.Cols > 0 && p.Pty.Rows > 0 {
			pty.Setsize(master, &pty.Winsize{Cols: p.Pty.Cols, Rows: p.Pty.Rows})
		}
		rio.stdio = confine.Stdio{Stdin: slave, Stdout: slave, Stderr: slave}
		rio.ours = []*os.File{slave}
		rio.closers = append(rio.closers, master)
		pump("stdout", master)
		go feed(r.attach(master), master, true)
		return rio, nil
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, err
	}
	rio.stdio = confine.Stdio{Stdout: outW, Stderr: errW}
	rio.ours = []*os.File{outW, errW}
	rio.closers = append(rio.closers, outR, errR)
	pump("stdout", outR)
	pump("stderr", errR)
	switch {
	case p.Stdin != nil:
		inR, inW, err := os.Pipe()
		if err != nil {
			rio.close()
			return nil, err
		}
		rio.stdio.Stdin = inR
		rio.ours = append(rio.ours, inR)
		data := *p.Stdin
		go func() {
			// A command that stops reading gets EPIPE here, and that is
			// the end of its input.
			io.WriteString(inW, data)
			inW.Close()
		}()
	case p.StdinOpen:
		inR, inW, err := os.Pipe()
		if err != nil {
			rio.close()
			return nil, err
		}
		rio.stdio.Stdin = inR
		rio.ours = append(rio.ours, inR)
		go feed(r.attach(nil), inW, false)
	}
	return rio, nil
}

// finish closes the command's ends of its streams (bwrap has them, and is
// gone) and waits until its output has all been sent.
func (rio *runIO) finish() {
	for _, f := range rio.ours {
		f.Close()
	}
	rio.ours = nil
	rio.pumps.Wait()
}

func (rio *runIO) close() {
	for _, f := range rio.ours {
		f.Close()
	}
	for _, c := range rio.closers {
		c.Close()
	}
}

// pumpOutput sends what the command writes on f as sandbar/output, in
// order, whole UTF-8 characters at a time, until f ends.
func (h *host) pumpOutput(id, stream string, f *os.File) {
	buf := make([]byte, outputChunk)
	held := 0 // bytes of an incomplete character kept from the last read
	for {
		n, err := f.Read(buf[held:])
		n += held
		if n > 0 {
			cut := completeUTF8(buf[:n])
			if err != nil {
				cut = n // nothing more will complete it
			}
			if cut > 0 {
				// JSON strings are UTF-8: bytes that are not become
				// U+FFFD rather than failing the notification.
				h.conn.notify("sandbar/output", outputParams{RunID: id, Stream: stream, Data: strings.ToValidUTF8(string(buf[:cut]), "\uFFFD")})
			}
			held = copy(buf, buf[cut:n])
		}
		if err != nil {
			// EIO is a pseudo-terminal whose other side has closed.
			return
		}
	}
}

// completeUTF8 is how much of b ends on a character boundary: a character
// cut by the end of a read waits for the rest of it. Bytes that are not
// UTF-8 at all are sent as U+FFFD.
func completeUTF8(b []byte) int {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if utf8.FullRune(b[i:]) {
				return len(b)
			}
			return i
		}
	}
	return len(b)
}

// feed writes what sandbar/input sends to w, until eof or the command
// ends (in is closed).
func feed(in <-chan inputParams, w *os.File, terminal bool) {
	for m := range in {
		if m.Data != "" {
			if _, err := io.WriteString(w, m.Data); err != nil {
				break
			}
		}
		if m.EOF {
			if terminal {
				// A terminal ends input with its EOF character.
				io.WriteString(w, "\x04")
				continue
			}
			break
		}
	}
	if !terminal {
		w.Close()
	}
	// Drain, so that input sent after the end is dropped, not queued.
	for range in {
	}
}

// attach makes the input queue of the run's next command, whose terminal
// (if it has one) is term.
func (r *liveRun) attach(term *os.File) <-chan inputParams {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.input = make(chan inputParams, inputQueue)
	r.term = term
	return r.input
}

// detach ends the input of the run's command, which has ended.
func (r *liveRun) detach() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.input != nil {
		close(r.input)
	}
	r.input, r.term = nil, nil
}

// input answers sandbar/input.
func (h *host) input(ctx context.Context, p inputParams) error {
	r := h.runs.get(p.RunID)
	if r == nil {
		return fmt.Errorf("no run %q is running", p.RunID)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.input == nil {
		return fmt.Errorf("run %s takes no input: start it with stdinOpen or pty", p.RunID)
	}
	select {
	case r.input <- p:
		return nil
	default:
		return fmt.Errorf("run %s is not reading its input; %d bytes were dropped", p.RunID, len(p.Data))
	}
}

// resize answers sandbar/resize.
func (h *host) resize(ctx context.Context, p resizeParams) error {
	r := h.runs.get(p.RunID)
	if r == nil {
		return fmt.Errorf("no run %q is running", p.RunID)
	}
	if p.Cols == 0 || p.Rows == 0 {
		return fmt.Errorf("invalid size %dx%d", p.Cols, p.Rows)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.term == nil {
		return fmt.Errorf("run %s has no terminal to resize; start it with pty", p.RunID)
	}
	// The kernel sends the command SIGWINCH.
	return pty.Setsize(r.term, &pty.Winsize{Cols: p.Cols, Rows: p.Rows})
}

func (h *host) offerRerunUnlessTerminal(ctx context.Context, r *liveRun, p runParams, sb *workspace.Sandbox, out launch.Outcome) []string {
	if p.Pty != nil {
		return nil
	}
	return h.offerRerun(ctx, r, sb, out)
}
