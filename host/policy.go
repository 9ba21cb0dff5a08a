package host

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/sandbar-dev/sandbar/workspace"
	"github.com/sandbar-dev/sandbar/workspace/policy"
)

// livePolicy is the policy of the session's folders as it is now: loaded
// when the session starts and whenever the folders change, and followed
// (a workspace.Follower) as its files are saved, renamed over, deleted
// and made again. Every attempt to load it is a generation, announced
// with sandbar/policyApplied once its diagnostics are out. A file that
// does not load leaves the last good policy in force; when the folders
// change, the old policy no longer applies, and until the new folders'
// policy loads nothing is in force (requests that need it fail).
type livePolicy struct {
	restart sync.Mutex // one (re)start at a time

	mu       sync.Mutex // guards what follows
	started  bool
	stopped  bool
	epoch    int // of the follower whose reloads count
	follower *workspace.Follower
	gen      int64
	good     *workspace.Policies // nil: none can be used
	goodGen  int64
	err      error           // why good is nil
	shown    map[string]bool // URIs of policy files with diagnostics shown
}

// startPolicy loads and follows the policy, unless that is done already.
func (h *host) startPolicy() { h.restartPolicy(causeInitialize) }

// restartPolicy loads the policy of the folders as they are now and
// follows it, instead of the old folders' policy.
func (h *host) restartPolicy(cause string) {
	p := &h.policy
	p.restart.Lock()
	defer p.restart.Unlock()
	p.mu.Lock()
	if p.stopped || (cause == causeInitialize && p.started) {
		p.mu.Unlock()
		return
	}
	p.started = true
	old := p.follower
	p.follower = nil
	p.epoch++
	epoch := p.epoch
	p.mu.Unlock()
	// Not under p.mu: the old follower may be waiting for it to report a
	// reload, and Close waits for that.
	if old != nil {
		old.Close()
	}

	folders := h.snapshot()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped || epoch != p.epoch {
		return
	}
	if len(folders) == 0 {
		h.applied(cause, nil, errNoFolder())
		return
	}
	opts, err := h.options(paths(folders))
	if err != nil {
		h.applied(cause, nil, err)
		return
	}
	// Watch first, then load: a change made meanwhile is then seen as a
	// change (its reload waits for p.mu), never lost between the two.
	if real, err := resolveFolders(opts.Folders); err == nil {
		f, err := workspace.Follow(opts, &workspace.Policies{Folders: real}, func(ps *workspace.Policies, err error) { h.followed(epoch, ps, err) })
		if err != nil {
			h.logf(messageError, "%v; saved changes to the policy will not apply until the folders change", err)
		} else {
			p.follower = f
		}
	} // else a folder that is not there: the load says so, and nothing is followed until the folders change
	ps, err := workspace.LoadPolicies(opts)
	h.applied(cause, ps, err)
}

// followed reports a reload of the follower of epoch.
func (h *host) followed(epoch int, ps *workspace.Policies, err error) {
	p := &h.policy
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped || epoch != p.epoch {
		return
	}
	h.applied(causeFile, ps, err)
}

// stopPolicy stops following; nothing is announced after it.
func (h *host) stopPolicy() {
	p := &h.policy
	p.mu.Lock()
	p.stopped = true
	old := p.follower
	p.follower = nil
	p.epoch++
	p.mu.Unlock()
	if old != nil {
		old.Close()
	}
}

// applied records one attempt to load the policy and tells the editor:
// diagnostics on the files with errors (and none on those fixed), one
// message if the attempt failed, then sandbar/policyApplied. p.mu is held.
func (h *host) applied(cause string, ps *workspace.Policies, err error) {
	p := &h.policy
	p.gen++
	prev := p.good
	n := policyApplied{Generation: p.gen, OK: err == nil, Errors: []policyError{}, Cause: cause}
	byFile := map[string][]*policy.Error{}
	var el policy.ErrorList
	switch {
	case err == nil:
		p.good, p.goodGen, p.err = ps, p.gen, nil
	case errors.As(err, &el):
		for _, e := range el {
			n.Errors = append(n.Errors, policyError{Message: e.Msg, source: h.source(e.Pos)})
			if e.Pos.File != "" && e.Pos.Line > 0 {
				byFile[e.Pos.File] = append(byFile[e.Pos.File], e)
			}
		}
	default:
		n.Errors = append(n.Errors, policyError{Message: err.Error()})
	}
	if err != nil && (cause != causeFile || p.good == nil) {
		// The folders changed (the old policy was another sandbox's), or
		// there never was a good policy: none is in force.
		p.good, p.err = nil, err
	}
	n.Folder = h.changedFolder(prev, ps, byFile)
	h.publishDiagnostics(byFile)
	switch {
	case err == nil:
		h.logf(messageLog, "policy generation %d applied (%s)", n.Generation, cause)
	case len(h.snapshot()) == 0:
		h.logf(messageInfo, "no workspace folder is open; nothing can run until one is")
	default:
		h.conn.notify("window/showMessage", messageParams{Type: messageError, Message: h.failureMessage(err, p.good != nil)})
		h.logf(messageError, "policy generation %d not applied: %v", n.Generation, err)
	}
	h.conn.notify("sandbar/policyApplied", n)
	if err == nil {
		h.offerTrust(ps)
	}
}

// failureMessage is the one message a failed load shows.
func (h *host) failureMessage(err error, kept bool) string {
	outcome := "No command can run in this workspace until it is fixed."
	if kept {
		outcome = "The previous policy stays in force until it is fixed."
	}
	var el policy.ErrorList
	if errors.As(err, &el) && len(el) > 0 {
		first := el[0]
		where := first.Pos.File
		if folder := folderOfPolicyFile(where); folder != "" {
			where = filepath.Join(filepath.Base(folder), workspace.PolicyFileName)
		}
		if first.Pos.Line > 0 {
			where = fmt.Sprintf("%s:%d:%d", where, first.Pos.Line, first.Pos.Col)
		}
		more := ""
		if len(el) > 1 {
			more = fmt.Sprintf(" (and %d more error%s)", len(el)-1, plural(len(el)-1))
		}
		return sentence(fmt.Sprintf("sandbar: %s: %s%s", where, first.Msg, more)) + " " + outcome
	}
	return sentence("sandbar: the policy cannot be loaded: "+err.Error()) + " " + outcome
}

// sentence ends s with a full stop unless it has one of its own.
func sentence(s string) string {
	if strings.HasSuffix(s, ".") || strings.HasSuffix(s, "?") || strings.HasSuffix(s, "!") {
		return s
	}
	return s + "."
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// changedFolder is the URI of the one workspace folder whose policy file
// this load is about (it changed, or has the errors), or nil when that is
// not one folder's file (the user's policy, several files, a first load).
func (h *host) changedFolder(prev, next *workspace.Policies, byFile map[string][]*policy.Error) *string {
	folders := map[string]bool{}
	for file := range byFile {
		folders[folderOfPolicyFile(file)] = true
	}
	if prev != nil && next != nil {
		before := map[string]workspace.PolicyFile{}
		for _, f := range prev.Files {
			before[f.Path] = f
		}
		after := map[string]workspace.PolicyFile{}
		for _, f := range next.Files {
			after[f.Path] = f
			if b, ok := before[f.Path]; !ok || string(b.Content) != string(f.Content) {
				folders[f.Folder] = true
			}
		}
		for path, f := range before {
			if _, ok := after[path]; !ok {
				folders[f.Folder] = true
			}
		}
	}
	if len(folders) != 1 {
		return nil
	}
	for f := range folders {
		if f != "" {
			uri := h.uriOf(f)
			return &uri
		}
	}
	return nil
}

// folderOfPolicyFile is the folder of a workspace policy file, "" for
// another file (the user's policy).
func folderOfPolicyFile(file string) string {
	if dir, ok := strings.CutSuffix(file, "/"+workspace.PolicyFileName); ok {
		return dir
	}
	return ""
}

// publishDiagnostics shows the errors of each file, and clears those of
// files shown before that have none now. p.mu is held.
func (h *host) publishDiagnostics(byFile map[string][]*policy.Error) {
	p := &h.policy
	h.mu.Lock()
	encoding := h.encoding
	h.mu.Unlock()
	files := make([]string, 0, len(byFile))
	for f := range byFile {
		files = append(files, f)
	}
	sort.Strings(files)
	shown := map[string]bool{}
	for _, file := range files {
		// The file as it is now is the one the editor shows; if it
		// changed again since, the next reload says so.
		content, err := os.ReadFile(file)
		if err != nil {
			content = nil
		}
		uri := h.uriOf(file)
		h.conn.notify("textDocument/publishDiagnostics", publishDiagnosticsParams{URI: uri, Diagnostics: diagnostics(byFile[file], content, encoding)})
		shown[uri] = true
	}
	old := make([]string, 0, len(p.shown))
	for uri := range p.shown {
		if !shown[uri] {
			old = append(old, uri)
		}
	}
	sort.Strings(old)
	for _, uri := range old {
		h.conn.notify("textDocument/publishDiagnostics", publishDiagnosticsParams{URI: uri, Diagnostics: []diagnostic{}})
	}
	p.shown = shown
}

// source says where pos is, for the editor.
func (h *host) source(pos policy.Pos) source {
	s := source{File: pos.File, Line: pos.Line, Column: pos.Col}
	if filepath.IsAbs(pos.File) {
		s.URI = h.uriOf(pos.File)
	}
	return s
}

// policyRequest answers sandbar/policy: the sandbox in force for a folder.
func (h *host) policyRequest(ctx context.Context, p policyParams) (*policyResult, error) {
	f, err := h.folderFor(p.Folder)
	if err != nil {
		return nil, err
	}
	h.startPolicy()
	good, gen, err := h.currentPolicy()
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	backend := h.backend.Backend
	h.mu.Unlock()
	res := &policyResult{
		Generation: gen,
		Folder:     f.uri,
		Folders:    []string{},
		Backend:    backend,
		Files:      []policyFile{},
		Rules:      h.rules(good.Effective),
		Ignored:    []ignored{},
		Warnings:   append([]string{}, good.Warnings...),
	}
	for _, folder := range good.Folders {
		res.Folders = append(res.Folders, h.uriOf(folder))
	}
	for _, pf := range good.Files {
		out := policyFile{Path: pf.Path, URI: h.uriOf(pf.Path), Trusted: pf.Trusted}
		if pf.Folder != "" {
			out.Folder = h.uriOf(pf.Folder)
		}
		res.Files = append(res.Files, out)
	}
	for _, e := range good.Ignored {
		res.Ignored = append(res.Ignored, ignored{Key: e.Key, Value: e.Value.Text, Reason: e.Note, source: h.source(e.Value.Pos)})
	}
	return res, nil
}

// currentPolicy is the policy in force and its generation, or the error
// that says why there is none.
func (h *host) currentPolicy() (*workspace.Policies, int64, error) {
	p := &h.policy
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.good != nil {
		return p.good, p.goodGen, nil
	}
	return nil, 0, h.unusable(p.err)
}

// unusable is the error answering a request that needs a policy when none
// loads: its errors are in the data, as in sandbar/policyApplied.
func (h *host) unusable(err error) error {
	var re *rpcError
	switch {
	case err == nil:
		return errNoFolder()
	case errors.As(err, &re):
		return err
	}
	data := policyErrorData{Errors: []policyError{}}
	var el policy.ErrorList
	if errors.As(err, &el) {
		for _, e := range el {
			data.Errors = append(data.Errors, policyError{Message: e.Msg, source: h.source(e.Pos)})
		}
	} else {
		data.Errors = append(data.Errors, policyError{Message: err.Error()})
	}
	first := strings.SplitN(err.Error(), "\n", 2)[0]
	return &rpcError{code: codeRequestFailed, msg: "the policy cannot be used: " + first, data: data}
}

// rules lists a merged policy's entries in the order of the schema, each
// with where it was written.
func (h *host) rules(p *policy.Policy) []rule {
	out := []rule{}
	add := func(key string, vs []policy.Value) {
		for _, v := range vs {
			out = append(out, rule{Key: key, Value: v.Text, source: h.source(v.Pos)})
		}
	}
	add("filesystem.denyRead", p.Filesystem.DenyRead)
	add("filesystem.allowRead", p.Filesystem.AllowRead)
	add("filesystem.allowWrite", p.Filesystem.AllowWrite)
	add("filesystem.denyWrite", p.Filesystem.DenyWrite)
	add("network.allowedDomains", p.Network.AllowedDomains)
	add("network.deniedDomains", p.Network.DeniedDomains)
	add("network.allowUnixSockets", p.Network.AllowUnixSockets)
	add("env.allow", p.Env.Allow)
	add("env.deny", p.Env.Deny)
	for _, s := range p.Env.Set {
		out = append(out, rule{Key: "env.set", Value: s.Name.Text + "=" + s.Value.Text, source: h.source(s.Name.Pos)})
	}
	add("presets", p.Presets)
	add("git.hosts", p.Git.Hosts)
	add("git.push.branches", p.Git.Push.Branches)
	add("git.push.repositories", p.Git.Push.Repositories)
	flag := func(key string, f *policy.Flag) {
		if f != nil {
			out = append(out, rule{Key: key, Value: strconv.FormatBool(f.Value), source: h.source(f.Pos)})
		}
	}
	flag("git.forcePush", p.Git.ForcePush)
	flag("git.deleteBranches", p.Git.DeleteBranches)
	return out
}

// resolveFolders are folders as workspace.LoadPolicies names them:
// absolute, with symbolic links resolved.
func resolveFolders(folders []string) ([]string, error) {
	var out []string
	for _, f := range folders {
		abs, err := filepath.Abs(f)
		if err != nil {
			return nil, err
		}
		r, err := filepath.EvalSymlinks(abs)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out, nil
}
