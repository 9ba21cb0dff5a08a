package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/sandbar-dev/sandbar/confine"
	"github.com/sandbar-dev/sandbar/host"
	"github.com/sandbar-dev/sandbar/proxy"
	"github.com/sandbar-dev/sandbar/proxy/gitguard"
	"github.com/sandbar-dev/sandbar/workspace"
	"github.com/sandbar-dev/sandbar/workspace/auditlog"
)

// asker puts a question to the user and returns the key they chose, one
// of keys; an error, or the end of ctx, is no answer.
type asker interface {
	ask(ctx context.Context, question string, keys string) (byte, error)
}

// approvalTimeout is how long a connection is held open waiting for the
// user; after it the answer is deny, as if they had said so.
const approvalTimeout = 2 * time.Minute

// approver asks the user on their terminal about hosts the policy neither
// allows nor denies, one question at a time. Answers hold for the rest of
// the run; "for this workspace" also goes into the folder's policy file.
type approver struct {
	asker  asker
	folder string // where "allow for this workspace" writes
	home   string
	trust  workspace.TrustRecorder
	// note tells the user what became of an answer.
	note func(string)

	turn    chan struct{}
	decided map[string]bool

	// audit records each answer; argv is the run's command.
	audit *auditlog.Log
	argv  []string
}

// record notes the user's answer about key in the audit log.
func (a *approver) record(key string, allowed bool, how, answer, reason string) {
	d := auditlog.Denied
	if allowed {
		d = auditlog.Allowed
	}
	a.audit.Append(auditlog.Entry{Kind: auditlog.KindNetwork, Target: key, Decision: d, How: how,
		By: "user (terminal)", Answer: answer, Reason: reason, Command: a.argv, Folder: a.folder})
}

func newApprover(a asker, folder, home string, trust workspace.TrustRecorder, note func(string)) *approver {
	return &approver{asker: a, folder: folder, home: home, trust: trust, note: note,
		turn: make(chan struct{}, 1), decided: map[string]bool{}}
}

func (a *approver) Approve(ctx context.Context, t proxy.Target) (bool, error) {
	if a.asker == nil {
		a.record(t.String(), false, auditlog.HowNoOneToAsk, "", "no terminal to ask on")
		return false, errors.New("no terminal to ask on")
	}
	// One question at a time; connections behind it wait, held open.
	select {
	case a.turn <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	defer func() { <-a.turn }()
	key := t.String()
	if ok, seen := a.decided[key]; seen {
		return ok, nil
	}
	ctx, cancel := context.WithTimeout(ctx, approvalTimeout)
	defer cancel()
	q := fmt.Sprintf("sandbar: the command wants to connect to %s, which the policy does not allow.\n"+
		"  [o] allow once (for this run)   [w] allow for this workspace   [d] deny ", key)
	choice, err := a.asker.ask(ctx, q, "owd")
	if err != nil {
		// No answer in time is an answer; a connection that went away
		// while waiting is not, and the next one asks again.
		if !errors.Is(err, context.Canceled) {
			a.decided[key] = false
		}
		if errors.Is(err, context.DeadlineExceeded) {
			a.note(fmt.Sprintf("no answer within %v: denied %s", approvalTimeout, key))
			a.record(key, false, auditlog.HowTimeout, "", fmt.Sprintf("no answer within %v", approvalTimeout))
		}
		return false, err
	}
	switch choice {
	case 'o':
		a.decided[key] = true
		a.record(key, true, auditlog.HowAsked, "allow once", "")
		return true, nil
	case 'w':
		a.decided[key] = true
		a.record(key, true, auditlog.HowAsked, "allow for this workspace", "")
		entry := t.Host
		if t.Port != 80 && t.Port != 443 {
			entry = t.String()
		}
		res, err := workspace.AllowDomain(a.folder, a.home, entry, a.trust)
		switch {
		case err != nil:
			a.note(fmt.Sprintf("could not add %q to %s (%v); allowed for this run only", entry, a.folder, err))
		case !res.Trusted:
			a.note(fmt.Sprintf("added %q to %s, which also holds entries you have not approved; allowed for this run only until you run: sandbar trust %s",
				entry, res.Path, confine.ShellQuote(a.folder)))
		default:
			a.note(fmt.Sprintf("added %q to network.allowedDomains in %s", entry, res.Path))
		}
		return true, nil
	}
	a.decided[key] = false
	a.record(key, false, auditlog.HowAsked, "deny", "")
	return false, nil
}

// ttyAsker asks on the controlling terminal when the command's standard
// input is not one: a line answer, since the terminal stays in its
// ordinary mode.
type ttyAsker struct {
	tty   *os.File
	once  sync.Once
	lines chan string
}

// openTTY opens the controlling terminal, or returns nil when there is
// none (a CI job, a pipe from another program): then nobody can be asked
// and undecided hosts are denied.
func openTTY() *ttyAsker {
	f, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return nil
	}
	return &ttyAsker{tty: f, lines: make(chan string, 8)}
}

func (t *ttyAsker) ask(ctx context.Context, question, keys string) (byte, error) {
	// One reader for the whole run: a read on a terminal cannot be
	// interrupted, so a reader per question would eat the next answer.
	t.once.Do(func() {
		go func() {
			defer close(t.lines)
			br := bufio.NewReader(t.tty)
			for {
				line, err := br.ReadString('\n')
				if err != nil {
					return
				}
				t.lines <- line
			}
		}()
	})
	// Lines typed before the question are not its answer.
	for drained := false; !drained; {
		select {
		case <-t.lines:
		default:
			drained = true
		}
	}
	// The question quotes a host or a repository the command chose.
	fmt.Fprint(textOnly{t.tty}, question+"? ")
	select {
	case <-ctx.Done():
		fmt.Fprintln(t.tty)
		return 0, ctx.Err()
	case line, ok := <-t.lines:
		if !ok {
			return 0, io.EOF
		}
		return firstKey(line, keys), nil
	}
}

// firstKey is the answer in line: its first letter if that is one of
// keys, else deny.
func firstKey(line, keys string) byte {
	s := strings.ToLower(strings.TrimSpace(line))
	if s != "" && strings.IndexByte(keys, s[0]) >= 0 {
		return s[0]
	}
	return 'd'
}

func (t *ttyAsker) close() { t.tty.Close() }

// editorApprover asks the editor whose integrated terminal sandbar runs in
// ($SANDBAR_HOST), through its host: the question shows as the editor's
// own prompt, and the host writes the policy for "Allow for workspace"
// and "Always allow". When the editor cannot be reached, the terminal is
// asked instead.
type editorApprover struct {
	socket   string
	argv     []string
	folder   string
	fallback *approver
	note     func(string)

	mu      sync.Mutex
	term    *host.Terminal
	decided map[string]bool
}

func (a *editorApprover) Approve(ctx context.Context, t proxy.Target) (bool, error) {
	return a.decide(ctx, t.String(),
		func(ctx context.Context, term *host.Terminal) (string, bool, error) {
			return term.AskNetwork(ctx, a.argv, a.folder, t)
		},
		func(ctx context.Context) (bool, error) { return a.fallback.Approve(ctx, t) },
		"denied "+t.String())
}

// ApprovePush asks the editor about a first push, as Approve does about
// a host.
func (a *editorApprover) ApprovePush(ctx context.Context, p gitguard.Push) (bool, error) {
	return a.decide(ctx, "push\x00"+p.Repository,
		func(ctx context.Context, term *host.Terminal) (string, bool, error) {
			return term.AskPush(ctx, a.argv, a.folder, p.Repository, p.Refs)
		},
		func(ctx context.Context) (bool, error) { return a.fallback.ApprovePush(ctx, p) },
		"push to "+p.Repository+" refused")
}

// decide answers the question key once per run: through the editor, or
// on the terminal (fallback) when the editor cannot be reached.
func (a *editorApprover) decide(ctx context.Context, key string,
	ask func(context.Context, *host.Terminal) (string, bool, error),
	fallback func(context.Context) (bool, error), refused string) (bool, error) {
	a.mu.Lock()
	ok, seen := a.decided[key]
	if !seen && a.term == nil {
		term, err := host.DialTerminal(ctx, a.socket)
		if err != nil {
			a.mu.Unlock()
			a.note(fmt.Sprintf("%v; asking here instead", err))
			return fallback(ctx)
		}
		a.term = term
	}
	term := a.term
	a.mu.Unlock()
	if seen {
		return ok, nil
	}
	// The editor's own deadline applies (a minute unless set otherwise);
	// this one only keeps a host that stopped answering from holding the
	// connection for ever.
	ctx, cancel := context.WithTimeout(ctx, 15*time.Minute)
	defer cancel()
	answer, allowed, err := ask(ctx, term)
	if err != nil {
		a.note(fmt.Sprintf("%v; asking here instead", err))
		return fallback(ctx)
	}
	a.mu.Lock()
	a.decided[key] = allowed
	a.mu.Unlock()
	if !allowed {
		a.note(fmt.Sprintf("the editor answered %q: %s", answer, refused))
	}
	return allowed, nil
}

func (a *editorApprover) close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.term != nil {
		a.term.Close()
	}
}

// ApprovePush asks on the terminal about the first push of the run to a
// repository the policy does not list (see docs/git.md).
func (a *approver) ApprovePush(ctx context.Context, p gitguard.Push) (bool, error) {
	if a.asker == nil {
		a.recordPush(p, false, auditlog.HowNoOneToAsk, "", "no terminal to ask on")
		return false, fmt.Errorf("no terminal to ask on; to allow pushes there, add %q to git.push.repositories", p.Repository)
	}
	select {
	case a.turn <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	defer func() { <-a.turn }()
	key := "push\x00" + p.Repository
	if ok, seen := a.decided[key]; seen {
		return ok, nil
	}
	ctx, cancel := context.WithTimeout(ctx, approvalTimeout)
	defer cancel()
	q := fmt.Sprintf("sandbar: the command wants to push %s to %s, which the policy does not list.\n"+
		"  [o] allow once (for this run)   [w] allow for this workspace   [d] deny ", strings.Join(p.Refs, ", "), p.Repository)
	choice, err := a.asker.ask(ctx, q, "owd")
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			a.decided[key] = false
		}
		if errors.Is(err, context.DeadlineExceeded) {
			a.recordPush(p, false, auditlog.HowTimeout, "", fmt.Sprintf("no answer within %v", approvalTimeout))
		}
		return false, err
	}
	switch choice {
	case 'o':
		a.decided[key] = true
		a.recordPush(p, true, auditlog.HowAsked, "allow once", "")
		return true, nil
	case 'w':
		a.decided[key] = true
		a.recordPush(p, true, auditlog.HowAsked, "allow for this workspace", "")
		res, err := workspace.AllowEntry(a.folder, a.home, "git.push.repositories", p.Repository, a.trust)
		switch {
		case err != nil:
			a.note(fmt.Sprintf("could not add %q to %s (%v); allowed for this run only", p.Repository, a.folder, err))
		case !res.Trusted:
			a.note(fmt.Sprintf("added %q to %s, which also holds entries you have not approved; allowed for this run only until you run: sandbar trust %s",
				p.Repository, res.Path, confine.ShellQuote(a.folder)))
		default:
			a.note(fmt.Sprintf("added %q to git.push.repositories in %s", p.Repository, res.Path))
		}
		return true, nil
	}
	a.decided[key] = false
	a.recordPush(p, false, auditlog.HowAsked, "deny", "")
	return false, nil
}

func (a *approver) recordPush(p gitguard.Push, allowed bool, how, answer, reason string) {
	d := auditlog.Denied
	if allowed {
		d = auditlog.Allowed
	}
	a.audit.Append(auditlog.Entry{Kind: auditlog.KindNetwork, Operation: "git push " + strings.Join(p.Refs, " "), Target: p.Repository,
		Decision: d, How: how, By: "user (terminal)", Answer: answer, Reason: reason, Command: a.argv, Folder: a.folder})
}
