package launch

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sandbar-dev/sandbar/confine"
	"github.com/sandbar-dev/sandbar/proxy"
	"github.com/sandbar-dev/sandbar/proxy/gate"
	"github.com/sandbar-dev/sandbar/workspace"
	"github.com/sandbar-dev/sandbar/workspace/auditlog"
)

// Job is one command to run in a sandbox.
type Job struct {
	Sandbox *workspace.Sandbox
	Places  workspace.Places
	Argv    []string
	// Dir is the working directory; empty means the first folder.
	Dir string
	// Env, when not nil, replaces the sandbox's environment (before the
	// proxies' variables are added).
	Env   []string
	Stdio confine.Stdio
	// Signals are forwarded to the command (see confine.Runner).
	Signals <-chan os.Signal
	// Rules are the network rules in force, asked at every connection;
	// nil means the sandbox's own policy, fixed for the run.
	Rules func() *proxy.CompiledRules
	// Approver answers for hosts the rules leave undecided; nil denies
	// them.
	Approver proxy.Approver
	// OnViolation receives each refusal as it happens: refused writes
	// and refused connections. It must not block.
	OnViolation func(confine.Violation)
	// Ready, if set, is called once the sandbox is planned and the
	// proxies are up, just before the command starts: the last moment to
	// give up without having run anything. An error cancels the run.
	Ready func(spec confine.Spec) error
	// Bwrap is the bwrap to use; empty finds it.
	Bwrap string
	// Audit, if set, records every decision of the run: each connection
	// allowed or refused, each refused file access, and the run itself.
	Audit *auditlog.Log
	// RunID names the run in the audit log.
	RunID string
}

// Outcome is how a run ended and everything the sandbox refused.
type Outcome struct {
	confine.Result
	// Violations are the refused writes as they happened, what the audit
	// after the run had to undo, and the refused connections, in that
	// order.
	Violations []confine.Violation
	// AuditErr is set when the protected paths could not be checked
	// after the run; the journal stays, so the next run checks them.
	AuditErr error
}

// Error is a failure before the command started: nothing was run.
type Error struct {
	Op  string
	Err error
}

func (e *Error) Error() string { return e.Op + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Run runs the job and waits for it. Cancelling ctx kills everything in
// the sandbox. An *Error or a *confine.SetupError means nothing ran.
func Run(ctx context.Context, job Job) (Outcome, error) {
	sb := job.Sandbox
	spec, err := sb.Spec(job.Argv, job.Dir)
	if err != nil {
		return Outcome{}, &Error{"planning the sandbox", err}
	}
	if job.Env != nil {
		spec.Env = job.Env
	}
	rules := job.Rules
	if rules == nil {
		fixed := Rules(&sb.Policies).Compile()
		rules = func() *proxy.CompiledRules { return fixed }
	}
	net := &refusals{byKey: map[string]*confine.Violation{}, live: job.OnViolation, audit: job.audit}
	// The proxies are the sandbox's only way out; without them nothing
	// runs.
	g, err := gate.Start(gate.Config{
		Rules:      rules,
		Approver:   job.Approver,
		OnEvent:    net.record,
		RuntimeDir: job.Places.RuntimeDir,
	})
	if err != nil {
		return Outcome{}, &Error{"starting the network proxies", err}
	}
	closeGate := sync.OnceFunc(func() { g.Close() })
	defer closeGate()
	spec.Network.Proxy = g.Proxy
	spec.Env = gate.Env(spec.Env, confine.SelfPath+" connect %h %p")

	journal, err := sb.Journal(job.Places.Runs)
	if err != nil {
		return Outcome{}, &Error{"recording the run", err}
	}
	if job.Ready != nil {
		if err := job.Ready(spec); err != nil {
			journal.Done()
			return Outcome{}, &Error{"preparing the run", err}
		}
	}
	runner := confine.Runner{Bwrap: job.Bwrap, Signals: job.Signals, OnViolation: job.OnViolation}
	res, err := runner.Run(ctx, spec, job.Stdio)
	closeGate()
	if err != nil {
		journal.Done()
		return Outcome{}, err
	}
	out := Outcome{Result: res}
	audit := sb.Audit
	if res.CreatedNothing {
		audit = sb.AuditQuick
	}
	undone, auditErr := audit(job.Places.Quarantine)
	if auditErr != nil {
		out.AuditErr = fmt.Errorf("checking protected paths after the run: %w", auditErr)
	} else if err := journal.Done(); err != nil {
		out.AuditErr = err
	}
	out.Violations = append(append(res.Violations, undone...), net.list()...)
	job.auditRun(spec.Dir, res.Violations, undone, out)
	return out, nil
}

// audit appends one entry about the job to its audit log; a log that
// cannot be written is not a reason to fail the run.
func (job Job) audit(e auditlog.Entry) {
	if job.Audit == nil {
		return
	}
	e.Run, e.Command = job.RunID, job.Argv
	if e.Folder == "" && len(job.Sandbox.Folders) > 0 {
		e.Folder = job.Sandbox.Folders[0]
	}
	job.Audit.Append(e)
}

// auditRun records the refused file accesses (once each, with their
// count) and how the run ended.
func (job Job) auditRun(dir string, refused, undone []confine.Violation, out Outcome) {
	if job.Audit == nil {
		return
	}
	for _, v := range append(append([]confine.Violation(nil), refused...), undone...) {
		reason := v.Rule
		if v.Undone != "" {
			reason += "; undone: " + v.Undone
		}
		if v.Count > 1 {
			reason += fmt.Sprintf(" (%d times)", v.Count)
		}
		job.audit(auditlog.Entry{Kind: auditlog.KindFile, Target: v.Path, Operation: v.Kind + " " + v.Operation,
			Decision: auditlog.Denied, How: auditlog.HowPolicy, By: "policy", Reason: reason})
	}
	how := fmt.Sprintf("exit %d", out.ExitCode)
	if out.Signal != 0 {
		how = "killed by " + confine.SignalName(out.Signal)
	}
	job.audit(auditlog.Entry{Kind: auditlog.KindRun, Target: dir, Decision: auditlog.Allowed, How: auditlog.HowPolicy,
		By: "policy", Reason: fmt.Sprintf("ran confined; %s after %v", how, out.Duration.Round(time.Millisecond))})
}

// refusals are the connections the proxies refused, one entry per
// target and reason.
type refusals struct {
	live  func(confine.Violation)
	audit func(auditlog.Entry)
	mu    sync.Mutex
	byKey map[string]*confine.Violation
	order []string
}

func (r *refusals) record(ev proxy.Event) {
	if r.audit != nil {
		how := auditlog.HowPolicy
		if strings.Contains(ev.Reason, "approv") || strings.Contains(ev.Reason, "no one to ask") {
			how = auditlog.HowAsked
		}
		r.audit(auditlog.Entry{Kind: auditlog.KindNetwork, Target: ev.Target, Decision: ev.Decision, How: how, Reason: ev.Reason})
	}
	if ev.Decision != "denied" {
		return
	}
	v := confine.Violation{Kind: "network", Target: ev.Target, Decision: ev.Decision, Reason: ev.Reason, Count: 1}
	if r.live != nil {
		r.live(v)
	}
	key := ev.Target + "\x00" + ev.Reason
	r.mu.Lock()
	defer r.mu.Unlock()
	if have, ok := r.byKey[key]; ok {
		have.Count++
		return
	}
	r.byKey[key] = &v
	r.order = append(r.order, key)
}

func (r *refusals) list() []confine.Violation {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []confine.Violation
	for _, k := range r.order {
		out = append(out, *r.byKey[k])
	}
	return out
}

// Rules are the network entries of ps.
func Rules(ps *workspace.Policies) proxy.Rules {
	net := ps.Effective.Network
	var r proxy.Rules
	for _, v := range net.AllowedDomains {
		r.Allowed = append(r.Allowed, v.Text)
	}
	for _, v := range net.DeniedDomains {
		r.Denied = append(r.Denied, v.Text)
	}
	return r
}

// LiveRules returns the compiled rules of the policies current returns,
// compiling again only when current returns a different value: policy
// watchers make a new Policies at each reload.
func LiveRules(current func() *workspace.Policies) func() *proxy.CompiledRules {
	type compiled struct {
		from  *workspace.Policies
		rules *proxy.CompiledRules
	}
	var last atomic.Pointer[compiled]
	return func() *proxy.CompiledRules {
		ps := current()
		if ps == nil {
			return nil
		}
		if c := last.Load(); c != nil && c.from == ps {
			return c.rules
		}
		// Two connections at once after a reload may both compile; the
		// rules are the same.
		c := &compiled{from: ps, rules: Rules(ps).Compile()}
		last.Store(c)
		return c.rules
	}
}
