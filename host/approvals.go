package host

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/sandbar-dev/sandbar/confine"
	"github.com/sandbar-dev/sandbar/proxy"
	"github.com/sandbar-dev/sandbar/proxy/gitguard"
	"github.com/sandbar-dev/sandbar/workspace"
	"github.com/sandbar-dev/sandbar/workspace/auditlog"
	"github.com/sandbar-dev/sandbar/workspace/launch"
	"github.com/sandbar-dev/sandbar/workspace/trust"
)

// defaultApprovalTimeout is how long a prompt waits for the user unless
// initializationOptions.approvalTimeoutMs says otherwise; after it the
// answer is Deny.
const defaultApprovalTimeout = 60 * time.Second

// The action titles of the prompts. Editors show them as buttons; tests
// and scripted clients answer with them, so they are the contract.
const (
	actionAllowOnce      = "Allow once"
	actionAllowWorkspace = "Allow for workspace"
	actionAlwaysAllow    = "Always allow"
	actionDeny           = "Deny"
	actionAllowRerun     = "Allow and re-run"
	actionTrust          = "Trust"
	actionNotNow         = "Not now"
	actionRunUnconfined  = "Run unconfined"
)

// errNoAnswer is a prompt that ended without a choice: dismissed, timed
// out, or the editor could not show it. Every one of them means Deny.
// ask's errors are noAnswer values, which say which it was and match it
// with errors.Is.
var errNoAnswer = errors.New("no answer")

type noAnswer struct{ why string }

func (e noAnswer) Error() string        { return e.why }
func (e noAnswer) Is(target error) bool { return target == errNoAnswer }

// ask puts a question to the user as window/showMessageRequest and returns
// the title of the action they chose. It waits at most the approval
// timeout; no choice, for whatever reason, is errNoAnswer wrapped with the
// reason, and the reason is logged.
func (h *host) ask(ctx context.Context, typ int, message string, actions ...string) (string, error) {
	h.mu.Lock()
	timeout := h.approvalTimeout
	h.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	items := make([]messageActionItem, len(actions))
	for i, a := range actions {
		items[i] = messageActionItem{Title: a}
	}
	var chosen *messageActionItem
	err := h.conn.call(ctx, "window/showMessageRequest", showMessageRequestParams{Type: typ, Message: message, Actions: items}, &chosen)
	var why string
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		why = fmt.Sprintf("no answer within %v", timeout)
	case ctx.Err() != nil:
		why = "the question was withdrawn"
	case err != nil:
		why = fmt.Sprintf("the editor could not ask (%v)", err)
	case chosen == nil:
		why = "dismissed"
	default:
		for _, a := range actions {
			if a == chosen.Title {
				return a, nil
			}
		}
		why = fmt.Sprintf("the editor answered %q, which was not offered", chosen.Title)
	}
	h.logf(messageInfo, "%s: %s; that means %s", strings.TrimSuffix(firstLine(message), "."), why, actions[len(actions)-1])
	return "", noAnswer{why}
}

func firstLine(s string) string { return strings.SplitN(s, "\n", 2)[0] }

// prompts shares one question between everyone who would ask it at the
// same time: concurrent connections to the same host from one workspace
// get one prompt and its answer.
type prompts struct {
	mu      sync.Mutex
	pending map[string]*prompt
}

type prompt struct {
	done    chan struct{}
	answer  string
	err     error
	waiters int // callers sharing it, the asker included
}

// share runs ask once for key among the callers that come while it is
// asked, and gives each its answer.
func (p *prompts) share(ctx context.Context, key string, ask func() (string, error)) (string, error) {
	p.mu.Lock()
	if p.pending == nil {
		p.pending = map[string]*prompt{}
	}
	q, asking := p.pending[key]
	if !asking {
		q = &prompt{done: make(chan struct{})}
		p.pending[key] = q
	}
	q.waiters++
	p.mu.Unlock()
	if !asking {
		// Not the caller's context: a caller that goes away must not
		// withdraw the question from the others.
		q.answer, q.err = ask()
		p.mu.Lock()
		delete(p.pending, key)
		p.mu.Unlock()
		close(q.done)
	}
	select {
	case <-q.done:
		return q.answer, q.err
	case <-ctx.Done():
		// An answer that came at the same moment still counts.
		select {
		case <-q.done:
			return q.answer, q.err
		default:
		}
		return "", ctx.Err()
	}
}

// networkApprover answers for the hosts one run's policy leaves undecided,
// by asking the editor. Answers hold for the rest of the run.
type networkApprover struct {
	h      *host
	run    *liveRun
	folder string
	// ctx ends with the session: a prompt outlives the connection that
	// raised it (others may wait on it), not the session.
	ctx context.Context

	mu      sync.Mutex
	decided map[string]bool
}

func (a *networkApprover) Approve(ctx context.Context, t proxy.Target) (bool, error) {
	key := t.String()
	a.mu.Lock()
	ok, seen := a.decided[key]
	a.mu.Unlock()
	if seen {
		return ok, nil
	}
	question := fmt.Sprintf("%s (in %s) wants to reach %s, which the policy does not allow.", a.run.name(), filepath.Base(a.folder), key)
	answer, err := a.h.asks.share(ctx, a.folder+"\x00"+key, func() (string, error) {
		// The answer is remembered for the run (below) before share lets
		// the question go: a connection that comes in between finds
		// neither in Approve above and asks again, and finds the answer
		// here instead of a second prompt.
		a.mu.Lock()
		ok, seen := a.decided[key]
		a.mu.Unlock()
		if seen {
			if ok {
				return actionAllowOnce, nil
			}
			return actionDeny, nil
		}
		answer, err := a.h.ask(a.ctx, messageWarning, question, actionAllowOnce, actionAllowWorkspace, actionAlwaysAllow, actionDeny)
		if err == nil || errors.Is(err, errNoAnswer) {
			a.mu.Lock()
			a.decided[key] = err == nil && answer != actionDeny
			a.mu.Unlock()
		}
		d := auditlog.Denied
		if err == nil && answer != actionDeny {
			d = auditlog.Allowed
		}
		a.h.record(auditlog.Entry{Kind: auditlog.KindNetwork, Target: key, Decision: d, Run: a.run.id, Command: a.run.argv, Folder: a.folder}, answer, err)
		if err == nil {
			a.h.applyNetworkAnswer(answer, a.folder, t)
		}
		return answer, err
	})
	allowed := err == nil && answer != actionDeny
	if err == nil || errors.Is(err, errNoAnswer) {
		a.mu.Lock()
		a.decided[key] = allowed
		a.mu.Unlock()
	}
	if err != nil {
		return false, err
	}
	return allowed, nil
}

// applyNetworkAnswer writes what an answer about t means for later runs:
// the workspace's or the user's policy gains an entry. The watcher then
// reloads it as it would any saved edit.
func (h *host) applyNetworkAnswer(answer, folder string, t proxy.Target) {
	entry := t.Host
	if t.Port != 80 && t.Port != 443 {
		entry = t.String()
	}
	switch answer {
	case actionAllowWorkspace:
		res, err := workspace.AllowDomain(folder, h.places.Home, entry, trust.Open(h.places.Trust))
		switch {
		case err != nil:
			h.notifyUser(messageError, "sandbar could not add %q to %s (%v); it is allowed for this run only.", entry, filepath.Join(folder, workspace.PolicyFileName), err)
		case !res.Trusted:
			h.notifyUser(messageWarning, "sandbar added %q to %s, which also holds entries you have not approved; it applies to this run only until you trust that file.", entry, res.Path)
		default:
			h.logf(messageInfo, "added %q to network.allowedDomains in %s", entry, res.Path)
		}
	case actionAlwaysAllow:
		if _, err := workspace.AllowUserEntry(h.userPolicy(), "network.allowedDomains", entry); err != nil {
			h.notifyUser(messageError, "sandbar could not add %q to your policy %s (%v); it is allowed for this run only.", entry, h.userPolicy(), err)
		} else {
			h.logf(messageInfo, "added %q to network.allowedDomains in %s", entry, h.userPolicy())
		}
	}
}

// record appends a decision the user made (or that was made for want of
// an answer) to the audit log. err is ask's error: no answer.
func (h *host) record(e auditlog.Entry, answer string, err error) {
	e.By = "user (" + h.clientName() + ")"
	e.Answer = answer
	e.How = auditlog.HowAsked
	if err != nil {
		e.How = auditlog.HowDismissed
		if strings.Contains(err.Error(), "no answer within") {
			e.How = auditlog.HowTimeout
		}
		e.Reason = err.Error()
	}
	h.audit.Append(e)
}

// clientName is the editor's name, for the audit log.
func (h *host) clientName() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return clientName(&h.client)
}

// userPolicy is the user's own policy file.
func (h *host) userPolicy() string { return h.places.UserPolicy }

// notifyUser shows a message in the editor and logs it.
func (h *host) notifyUser(level int, format string, a ...any) {
	msg := fmt.Sprintf(format, a...)
	h.logf(level, "%s", msg)
	h.conn.notify("window/showMessage", messageParams{Type: level, Message: msg})
}

// offerRerun asks, when a run ended with refused file accesses, whether to
// allow the narrowest policy entries that would have let them through and
// run the command again. It returns the entries added, or nil to not
// re-run.
func (h *host) offerRerun(ctx context.Context, r *liveRun, sb *workspace.Sandbox, out launch.Outcome) []string {
	var files []confine.Violation
	for _, v := range out.Violations {
		if v.Kind == "file-write" || v.Kind == "file-read" {
			files = append(files, v)
		}
	}
	if len(files) == 0 || ctx.Err() != nil {
		return nil
	}
	var picked []workspace.Suggestion
	for _, s := range sb.Suggest(files) {
		if s.Key == "filesystem.allowWrite" || s.Key == "filesystem.allowRead" || s.Key == "presets" {
			picked = append(picked, s)
		}
	}
	if len(picked) == 0 {
		return nil
	}
	first := files[0]
	var b strings.Builder
	fmt.Fprintf(&b, "%s was refused %s %s", r.name(), describeAccess(first), first.Path)
	if len(files) > 1 {
		fmt.Fprintf(&b, " and %d more", len(files)-1)
	}
	b.WriteString(". Allow ")
	for i, s := range picked {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %q", s.Key, s.Entry)
	}
	b.WriteString(" in this workspace's policy and run it again?")
	for _, s := range picked {
		if s.Warning != "" {
			fmt.Fprintf(&b, " Warning: %s.", s.Warning)
		}
	}
	answer, err := h.ask(ctx, messageWarning, b.String(), actionAllowRerun, actionDeny)
	d := auditlog.Denied
	if err == nil && answer == actionAllowRerun {
		d = auditlog.Allowed
	}
	for _, s := range picked {
		h.record(auditlog.Entry{Kind: auditlog.KindFile, Target: s.Entry, Operation: s.Key, Decision: d, Run: r.id, Command: r.argv, Folder: sb.Folders[0]}, answer, err)
	}
	if d == auditlog.Denied {
		return nil
	}
	var added []string
	for _, s := range picked {
		folder := s.Folder
		if folder == "" {
			folder = sb.Folders[0]
		}
		res, err := workspace.AllowEntry(folder, h.places.Home, s.Key, s.Entry, trust.Open(h.places.Trust))
		if err != nil {
			h.notifyUser(messageError, "sandbar could not add %q to %s: %v", s.Entry, filepath.Join(folder, workspace.PolicyFileName), err)
			return nil
		}
		if !res.Trusted {
			h.notifyUser(messageWarning, "sandbar added %q to %s, which also holds entries you have not approved; trust that file for it to apply.", s.Entry, res.Path)
		}
		added = append(added, s.Key+" "+strconvQuote(s.Entry)+" in "+res.Path)
	}
	return added
}

func describeAccess(v confine.Violation) string {
	if v.Kind == "file-read" {
		return "reading"
	}
	if v.Operation != "" {
		return v.Operation + " of"
	}
	return "writing"
}

func strconvQuote(s string) string { return fmt.Sprintf("%q", s) }

// ApprovePush asks the editor about the run's first push to a repository
// the policy does not list. The answer holds for the rest of the run.
func (a *networkApprover) ApprovePush(ctx context.Context, p gitguard.Push) (bool, error) {
	key := "push\x00" + p.Repository
	a.mu.Lock()
	ok, seen := a.decided[key]
	a.mu.Unlock()
	if seen {
		return ok, nil
	}
	answer, err := a.h.askPush(ctx, filepath.Base(a.folder), a.run.argv, a.folder, a.run.id, p)
	allowed := err == nil && answer != actionDeny
	if err == nil || errors.Is(err, errNoAnswer) {
		a.mu.Lock()
		a.decided[key] = allowed
		a.mu.Unlock()
	}
	if err != nil {
		return false, err
	}
	return allowed, nil
}

// askPush puts a first push to the user (shared with any alike), records
// the answer, and writes "Allow for workspace" into the folder's policy.
func (h *host) askPush(ctx context.Context, where string, argv []string, folder, run string, p gitguard.Push) (string, error) {
	name := "the command"
	if len(argv) > 0 {
		name = "`" + filepath.Base(argv[0]) + "`"
	}
	question := fmt.Sprintf("%s (in %s) wants to push %s to %s, which the policy does not list.", name, where, strings.Join(p.Refs, ", "), p.Repository)
	return h.asks.share(ctx, "push\x00"+folder+"\x00"+p.Repository, func() (string, error) {
		answer, err := h.ask(h.conn.ctx, messageWarning, question, actionAllowOnce, actionAllowWorkspace, actionDeny)
		d := auditlog.Denied
		if err == nil && answer != actionDeny {
			d = auditlog.Allowed
		}
		h.record(auditlog.Entry{Kind: auditlog.KindNetwork, Operation: "git push " + strings.Join(p.Refs, " "), Target: p.Repository,
			Decision: d, Run: run, Command: argv, Folder: folder}, answer, err)
		if err == nil && answer == actionAllowWorkspace {
			res, err := workspace.AllowEntry(folder, h.places.Home, "git.push.repositories", p.Repository, trust.Open(h.places.Trust))
			switch {
			case err != nil:
				h.notifyUser(messageError, "sandbar could not add %q to %s (%v); it is allowed for this run only.", p.Repository, filepath.Join(folder, workspace.PolicyFileName), err)
			case !res.Trusted:
				h.notifyUser(messageWarning, "sandbar added %q to %s, which also holds entries you have not approved; it applies to this run only until you trust that file.", p.Repository, res.Path)
			}
		}
		return answer, err
	})
}
