package host

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/sandbar-dev/sandbar/workspace"
	"github.com/sandbar-dev/sandbar/workspace/auditlog"
	"github.com/sandbar-dev/sandbar/workspace/trust"
)

// trust answers sandbar/trust: it shows the user what the folder's policy
// file would widen and records their answer. The content approved is the
// content shown; any later change needs approval again.
func (h *host) trust(ctx context.Context, p trustParams) (*trustResult, error) {
	f, err := h.folderFor(p.Folder)
	if err != nil {
		return nil, err
	}
	h.startPolicy()
	ps, _, err := h.currentPolicy()
	if err != nil {
		return nil, err
	}
	file := policyFileOf(ps, f.path)
	if file == nil {
		return nil, errorf(codeRequestFailed, "%s has no %s; nothing to trust", f.path, workspace.PolicyFileName)
	}
	res := &trustResult{Folder: fileURI(f.path), Path: file.Path, Trusted: file.Trusted, Widens: entryStrings(file.Widening)}
	if file.Trusted || len(file.Widening) == 0 {
		// Nothing to ask: approved as it is, or it only narrows.
		res.Trusted = true
		return res, nil
	}
	release(ctx)
	answer, err := h.askTrust(ctx, file, true)
	if err != nil && !errors.Is(err, errNoAnswer) {
		var re *rpcError
		if errors.As(err, &re) || errors.Is(err, context.Canceled) {
			return nil, err
		}
		return nil, errorf(codeRequestFailed, "%v", err)
	}
	res.Answer = answer
	res.Trusted = answer == actionTrust
	return res, nil
}

// askTrust asks whether to trust file as it is, records a yes, and
// reloads the policy so that its entries apply.
//
// asked says the editor asked (sandbar/trust) rather than the host
// offering on its own: an explicit request gets its own prompt, never
// the answer to an offer the user may have just turned down.
func (h *host) askTrust(ctx context.Context, file *workspace.PolicyFile, asked bool) (string, error) {
	question := fmt.Sprintf("%s in %s would widen the sandbox: %s. Trust this file as it is now? Any change to it will be asked about again.",
		workspace.PolicyFileName, filepath.Base(file.Folder), strings.Join(widenText(file.Widening), "; "))
	key := "offer"
	if asked {
		key = "asked"
	}
	answer, err := h.asks.share(ctx, "trust\x00"+key+"\x00"+file.Path+"\x00"+contentKey(file.Content), func() (string, error) {
		answer, err := h.ask(h.conn.ctx, messageWarning, question, actionTrust, actionNotNow)
		d := auditlog.Denied
		if err == nil && answer == actionTrust {
			d = auditlog.Allowed
		}
		h.record(auditlog.Entry{Kind: auditlog.KindTrust, Target: file.Path, Decision: d, Folder: file.Folder,
			Reason: strings.Join(widenText(file.Widening), "; ")}, answer, err)
		if err != nil || answer != actionTrust {
			return answer, err
		}
		if err := trust.Open(h.places.Trust).Approve(file.Path, file.Content); err != nil {
			return "", fmt.Errorf("recording trust of %s: %w", file.Path, err)
		}
		h.logf(messageInfo, "trusted %s as it is now", file.Path)
		// The trust store is not watched: load again so its entries
		// apply now.
		go h.restartPolicy(causeTrust)
		return answer, nil
	})
	if answer == "" && err == nil {
		answer = actionNotNow
	}
	if errors.Is(err, errNoAnswer) {
		answer = actionNotNow
	}
	return answer, err
}

// offerTrust asks, once per content, about each workspace policy file that
// would widen the sandbox and is not trusted: its widening entries are
// left out until the user says yes.
func (h *host) offerTrust(ps *workspace.Policies) {
	if ps == nil {
		return
	}
	for i := range ps.Files {
		file := &ps.Files[i]
		if file.Folder == "" || file.Trusted || len(file.Widening) == 0 {
			continue
		}
		key := file.Path + "\x00" + contentKey(file.Content)
		h.mu.Lock()
		if h.offered == nil {
			h.offered = map[string]bool{}
		}
		seen := h.offered[key]
		h.offered[key] = true
		h.mu.Unlock()
		if seen {
			continue
		}
		go h.askTrust(h.conn.ctx, file, false)
	}
}

func contentKey(b []byte) string {
	sum := sha256.Sum256(b)
	return fmt.Sprintf("%x", sum[:8])
}

// widenText is what each entry widens, without where it is written.
func widenText(es []workspace.Entry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = fmt.Sprintf("%s %q", e.Key, e.Value.Text)
		if e.Note != "" {
			out[i] += " (" + e.Note + ")"
		}
	}
	return out
}

func entryStrings(es []workspace.Entry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.String()
	}
	return out
}

// policyFileOf is folder's own policy file among ps's, or nil.
func policyFileOf(ps *workspace.Policies, folder string) *workspace.PolicyFile {
	real := folder
	if r, err := filepath.EvalSymlinks(folder); err == nil {
		real = r
	}
	for i := range ps.Files {
		if f := &ps.Files[i]; f.Folder != "" && (f.Folder == folder || f.Folder == real) {
			return f
		}
	}
	return nil
}
