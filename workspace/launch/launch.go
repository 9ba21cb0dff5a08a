package launch

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sandbar-dev/sandbar/confine"
	"github.com/sandbar-dev/sandbar/proxy"
	"github.com/sandbar-dev/sandbar/proxy/ca"
	"github.com/sandbar-dev/sandbar/proxy/gate"
	"github.com/sandbar-dev/sandbar/proxy/gitguard"
	"github.com/sandbar-dev/sandbar/workspace"
	"github.com/sandbar-dev/sandbar/workspace/auditlog"
	"github.com/sandbar-dev/sandbar/workspace/policy"
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
	// Git is the git policy in force (git hosts, branches), asked at
	// every connection; nil means the sandbox's own, fixed for the run.
	Git func() *gitguard.Policy
	// PushApprover answers for the first push to a repository the
	// policy does not list; nil means Approver if it is one, else such
	// a push is refused.
	PushApprover gitguard.PushApprover
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
	gitPolicy := job.Git
	if gitPolicy == nil {
		fixed := GitPolicy(&sb.Policies)
		gitPolicy = func() *gitguard.Policy { return fixed }
	}
	caFiles := ca.Files{Dir: filepath.Join(job.Places.StateDir, "git-ca")}
	if job.Places.StateDir != "" {
		if err := hideCAKey(&spec, caFiles); err != nil {
			return Outcome{}, &Error{"hiding sandbar's git CA key", err}
		}
	}
	refused := &refusals{byKey: map[string]*confine.Violation{}, live: job.OnViolation, audit: job.audit}
	gcfg := gate.Config{
		Rules:      rules,
		Approver:   job.Approver,
		OnEvent:    refused.record,
		RuntimeDir: job.Places.RuntimeDir,
	}
	if job.Places.StateDir != "" && len(gitPolicy().Hosts) > 0 {
		pushes := job.PushApprover
		if pushes == nil {
			pushes, _ = job.Approver.(gitguard.PushApprover)
		}
		gcfg.Git = &gate.Git{Policy: gitPolicy, CADir: caFiles.Dir, Approver: pushes}
	}
	// The proxies are the sandbox's only way out; without them nothing
	// runs.
	g, err := gate.Start(gcfg)
	if err != nil {
		return Outcome{}, &Error{"starting the network proxies", err}
	}
	closeGate := sync.OnceFunc(func() { g.Close() })
	defer closeGate()
	spec.Network.Proxy = g.Proxy
	spec.Env = gate.Env(spec.Env, confine.SelfPath+" connect %h %p")
	if ge := g.GitEnv; ge != nil {
		for _, f := range []string{ge.CAFile, ge.Bundle} {
			if f != "" && spec.AccessOf(f).Access == confine.Hidden {
				return Outcome{}, &Error{"setting up the git checks", fmt.Errorf("%s is hidden in the sandbox (%s), so nothing there could trust sandbar's git CA; allow reading it, or remove git.hosts", f, spec.AccessOf(f).Why)}
			}
		}
		spec.Env = gate.WithGit(spec.Env, ge)
	}

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
	var undone []confine.Violation
	var auditErr error
	if !res.CreatedNothing {
		undone, auditErr = sb.Audit(job.Places.Quarantine)
	}
	// Else the watch counted no call that could have created anything,
	// whatever path it showed: what is at a protected path now, the host
	// made while the command ran (VS Code writing .vscode/settings.json),
	// and it stays where the user put it.
	if auditErr != nil {
		out.AuditErr = fmt.Errorf("checking protected paths after the run: %w", auditErr)
	} else if err := journal.Done(); err != nil {
		out.AuditErr = err
	}
	out.Violations = append(append(res.Violations, undone...), refused.list()...)
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

// Rules are the network entries of ps. The git hosts are allowed on
// their HTTPS port: what goes there is checked by the git checks.
func Rules(ps *workspace.Policies) proxy.Rules {
	net := ps.Effective.Network
	var r proxy.Rules
	for _, v := range net.AllowedDomains {
		r.Allowed = append(r.Allowed, v.Text)
	}
	for _, v := range ps.Effective.Git.Hosts {
		r.Allowed = append(r.Allowed, withPort(v.Text))
	}
	for _, v := range net.DeniedDomains {
		r.Denied = append(r.Denied, v.Text)
	}
	return r
}

// withPort is a git.hosts entry as an allowedDomains entry for its one
// port: 443 unless it names another.
func withPort(entry string) string {
	if _, _, err := net.SplitHostPort(entry); err == nil {
		return entry
	}
	return net.JoinHostPort(strings.TrimSuffix(strings.TrimPrefix(entry, "["), "]"), "443")
}

// GitPolicy is the git section of ps, for the git checks.
func GitPolicy(ps *workspace.Policies) *gitguard.Policy {
	g := ps.Effective.Git
	texts := func(vs []policy.Value) []string {
		var out []string
		for _, v := range vs {
			out = append(out, v.Text)
		}
		return out
	}
	return &gitguard.Policy{
		Hosts:          texts(g.Hosts),
		Branches:       texts(g.Push.Branches),
		Repositories:   texts(g.Push.Repositories),
		ForcePush:      g.ForcePush != nil && g.ForcePush.Value,
		DeleteBranches: g.DeleteBranches != nil && g.DeleteBranches.Value,
	}
}

// LiveGitPolicy is GitPolicy of the policies current returns, made again
// only when current returns a different value.
func LiveGitPolicy(current func() *workspace.Policies) func() *gitguard.Policy {
	type made struct {
		from *workspace.Policies
		p    *gitguard.Policy
	}
	var last atomic.Pointer[made]
	return func() *gitguard.Policy {
		ps := current()
		if ps == nil {
			return nil
		}
		if m := last.Load(); m != nil && m.from == ps {
			return m.p
		}
		m := &made{from: ps, p: GitPolicy(ps)}
		last.Store(m)
		return m.p
	}
}

// hideCAKey hides the private directory of sandbar's git CA in the
// sandbox, making it first (empty) if need be, so that the directory is
// hidden in every sandbox before any key is put there: a sandbox that
// started before the key existed must not see it appear. sandbar's state
// directory is read-only in every sandbox, so a command can neither
// remove the rule's target nor put anything in its place.
func hideCAKey(spec *confine.Spec, f ca.Files) error {
	if err := f.MakePrivateDir(); err != nil {
		return err
	}
	real, err := filepath.EvalSymlinks(f.PrivateDir())
	if err != nil {
		return err
	}
	spec.Paths = append(spec.Paths, confine.Path{Path: real, Access: confine.Hidden, Dir: true, Why: "sandbar's git CA key"})
	return nil
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
