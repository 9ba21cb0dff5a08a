package gitguard

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/sandbar-dev/sandbar/proxy"
)

// maxDrain is how much of a refused push is read (and dropped) before the
// refusal is sent, so that git, still sending, reads the answer rather
// than a reset connection. A larger push is cut off.
const maxDrain = 64 << 20

// maxBoundary bounds the commits where a walk through a push's commits
// may leave them; the server is asked about all of them at once.
const maxBoundary = 64

// push checks a git-receive-pack request and, if every ref it updates is
// allowed, sends it on. A refused push is answered in git's own report
// format, so git prints each ref as rejected with sandbar's reason.
func (h *tunnelHandler) push(w http.ResponseWriter, r *http.Request, repo Repository) {
	ctx := r.Context()
	p := h.g.policy()
	if p == nil {
		p = &Policy{}
	}
	body, err := decodedBody(r)
	if err != nil {
		h.g.report(h.t, false, err.Error())
		plain(w, http.StatusUnsupportedMediaType, err.Error()+"\n")
		return
	}
	br := bufio.NewReaderSize(body, 64<<10)
	head, err := readPushHead(br)
	if err != nil {
		msg := fmt.Sprintf("sandbar: cannot read the push to %s: %v", repo, err)
		h.g.report(h.t, false, msg)
		plain(w, http.StatusBadRequest, msg+"\n")
		return
	}
	refused := map[string]string{}
	for _, c := range head.Commands {
		if why := p.checkRef(c); why != "" {
			refused[c.Ref] = why
		}
	}
	if len(refused) > 0 {
		h.reject(w, br, head, repo, refused, "")
		return
	}

	var pack *os.File
	var packSize int64
	if head.needsPack() {
		if pack, err = h.g.tempFile(); err != nil {
			h.reject(w, br, head, repo, nil, fmt.Sprintf("sandbar: cannot check the push: %v", err))
			return
		}
		defer pack.Close()
		packSize, err = io.Copy(pack, io.LimitReader(br, h.g.cfg.MaxPushBytes+1))
		switch {
		case err != nil:
			return // the client went away
		case packSize > h.g.cfg.MaxPushBytes:
			h.reject(w, br, head, repo, nil, fmt.Sprintf("sandbar: the push is larger than %d bytes, more than sandbar checks", h.g.cfg.MaxPushBytes))
			return
		}
	} else if n, _ := io.Copy(io.Discard, io.LimitReader(br, 1)); n != 0 {
		h.reject(w, br, head, repo, nil, "sandbar: cannot read the push: data after the commands of a push that only deletes")
		return
	}

	cred, err := h.g.credential(ctx, repo)
	if err != nil {
		h.reject(w, br, head, repo, nil, fmt.Sprintf("sandbar: no credentials for %s: %v", repo, err))
		return
	}
	if !p.ForcePush {
		var graph commitGraph
		for _, c := range head.Commands {
			if c.Create() || c.Delete() {
				continue
			}
			if graph == nil {
				if graph, err = readPackCommits(pack, packSize, head.hexLen); err != nil {
					h.reject(w, br, head, repo, nil, fmt.Sprintf("sandbar: cannot check the push: %v", err))
					return
				}
			}
			if why := h.fastForward(ctx, graph, c, repo, cred, head.hexLen); why != "" {
				refused[c.Ref] = why
			}
		}
		if len(refused) > 0 {
			h.reject(w, br, head, repo, refused, "")
			return
		}
	}
	// A push of nothing (git sends none, but a client may) updates
	// nothing to ask about.
	if len(head.Commands) > 0 {
		if why := h.g.approvePush(ctx, p, h.t, repo, head.Commands); why != "" {
			h.reject(w, br, head, repo, nil, why)
			return
		}
	}

	var refs []string
	for _, c := range head.Commands {
		refs = append(refs, c.Ref)
	}
	h.g.report(h.t, true, fmt.Sprintf("git push to %s: %s", repo, strings.Join(refs, ", ")))
	var rest io.Reader = bytes.NewReader(nil)
	if pack != nil {
		rest = io.NewSectionReader(pack, 0, packSize)
	}
	out, err := h.request(r, receivePack, repo, io.MultiReader(bytes.NewReader(head.raw), rest), cred)
	if err != nil {
		plain(w, http.StatusBadRequest, err.Error()+"\n")
		return
	}
	out.ContentLength = int64(len(head.raw)) + packSize
	h.roundTrip(w, out, receivePack, repo, cred)
}

// decodedBody is the request's body as git wrote it: git compresses
// large requests with gzip. Any other encoding is refused.
func decodedBody(r *http.Request) (io.Reader, error) {
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
		return r.Body, nil
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			return nil, fmt.Errorf("sandbar: the push is not valid gzip: %v", err)
		}
		// One gzip member only, as git writes it: a second could hide
		// data after the end sandbar checks.
		zr.Multistream(false)
		return zr, nil
	default:
		return nil, fmt.Errorf("sandbar: a push with Content-Encoding %q; sandbar reads gzip or none", clip(enc))
	}
}

// fastForward says why updating c is not a fast-forward, or "" if it is:
// if old is an ancestor of new. It walks new's ancestry through the
// pack's commits; when the walk leaves the pack (the rest of the history
// is on the server) without meeting old, it fetches from the server the
// commits reachable from where the walk stopped and not from old, and
// walks on through those.
func (h *tunnelHandler) fastForward(ctx context.Context, graph commitGraph, c Command, repo Repository, cred Credential, hexLen int) string {
	found, boundary := graph.reaches(c.New, c.Old)
	if found {
		return ""
	}
	if len(boundary) > maxBoundary {
		return fmt.Sprintf("sandbar: push to %s refused: it joins %d histories, too many to check that it is a fast-forward (git.forcePush is not true)", c.Ref, len(boundary))
	}
	server, err := h.serverCommits(ctx, repo, cred, boundary, c.Old, hexLen)
	if err != nil {
		return fmt.Sprintf("sandbar: push to %s refused: cannot tell whether it is a fast-forward (%v); git.forcePush is not true", c.Ref, err)
	}
	for _, b := range boundary {
		if found, _ := server.reaches(b, c.Old); found {
			return ""
		}
	}
	return fmt.Sprintf("sandbar: non-fast-forward push to %s refused by policy (git.forcePush is not true)", c.Ref)
}

// serverCommits fetches from the server, with protocol v2, the commits
// reachable from wants and not from old: "want" each, "have" old, "done".
// When old is an ancestor of a wanted commit, every commit on the way
// from it to old is in that set and old is not, so the walk from it meets
// old; when it is not, the walk never does. Trees are left out when the
// server can (filter tree:0); the pack is read like a pushed one.
func (h *tunnelHandler) serverCommits(ctx context.Context, repo Repository, cred Credential, wants []string, old string, hexLen int) (commitGraph, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	g, err := h.fetchCommits(ctx, repo, cred, wants, old, hexLen, true)
	if errors.Is(err, errNoFilter) {
		g, err = h.fetchCommits(ctx, repo, cred, wants, old, hexLen, false)
	}
	return g, err
}

var errNoFilter = errors.New("the server does not filter")

func (h *tunnelHandler) fetchCommits(ctx context.Context, repo Repository, cred Credential, wants []string, old string, hexLen int, filter bool) (commitGraph, error) {
	var body []byte
	body = appendPkt(body, "command=fetch\n")
	if hexLen == 64 {
		body = appendPkt(body, "object-format=sha256\n")
	}
	body = appendDelim(body)
	body = appendPkt(body, "no-progress\n")
	if filter {
		body = appendPkt(body, "filter tree:0\n")
	}
	for _, w := range wants {
		body = appendPkt(body, "want "+w+"\n")
	}
	body = appendPkt(body, "have "+old+"\n")
	body = appendPkt(body, "done\n")
	body = appendFlush(body)
	u := "https://" + repo.Host + "/" + repo.Path + "/git-upload-pack"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-git-upload-pack-request")
	req.Header.Set("Accept", "application/x-git-upload-pack-result")
	req.Header.Set("Git-Protocol", "version=2")
	req.SetBasicAuth(cred.Username, cred.Password)
	resp, err := h.tr.RoundTrip(req)
	if err != nil {
		return nil, fmt.Errorf("asking %s: %v", repo.Host, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("asking %s: HTTP %d", repo.Host, resp.StatusCode)
	}
	f, err := h.g.tempFile()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	br := bufio.NewReader(resp.Body)
	buf := make([]byte, maxPktLen)
	var size int64
	inPack := false
	for {
		k, p, err := readPkt(br, buf)
		if err != nil {
			if filter && !inPack {
				// git's upload-pack, asked for a filter it does not
				// allow, dies without a word.
				return nil, errNoFilter
			}
			return nil, fmt.Errorf("reading %s's answer: %v", repo.Host, err)
		}
		switch {
		case k == pktFlush && inPack:
			g, err := readPackCommits(f, size, hexLen)
			if err != nil {
				return nil, fmt.Errorf("reading %s's answer: %v", repo.Host, err)
			}
			return g, nil
		case k != pktData:
			if !inPack {
				continue // between sections
			}
			return nil, fmt.Errorf("reading %s's answer: unexpected special packet", repo.Host)
		case !inPack:
			line := strings.TrimSuffix(string(p), "\n")
			switch {
			case line == "packfile":
				inPack = true
			case strings.HasPrefix(line, "ERR "):
				if filter && strings.Contains(line, "filter") {
					return nil, errNoFilter
				}
				return nil, fmt.Errorf("%s: %s", repo.Host, clip(line[4:]))
			}
		case len(p) == 0:
			return nil, fmt.Errorf("reading %s's answer: empty side-band packet", repo.Host)
		case p[0] == 1:
			if size += int64(len(p) - 1); size > h.g.cfg.MaxPushBytes {
				return nil, fmt.Errorf("%s's answer is larger than %d bytes", repo.Host, h.g.cfg.MaxPushBytes)
			}
			if _, err := f.Write(p[1:]); err != nil {
				return nil, err
			}
		case p[0] == 3:
			msg := strings.TrimSpace(string(p[1:]))
			if filter && strings.Contains(msg, "filter") {
				return nil, errNoFilter
			}
			return nil, fmt.Errorf("%s: %s", repo.Host, clip(msg))
		}
	}
}

// reject answers a refused push in git's report-status format: each ref
// in refused with its reason, every other one with general (or, when
// general is empty, as not pushed because of the others); the reasons go
// to git's stderr too, as the remote's messages, when the client reads
// side-band messages. Each refusal is reported as an event.
func (h *tunnelHandler) reject(w http.ResponseWriter, body io.Reader, head *pushHead, repo Repository, refused map[string]string, general string) {
	// Let git finish sending, so that it reads the answer.
	io.Copy(io.Discard, io.LimitReader(body, maxDrain))
	w.Header().Set("Connection", "close")

	var report, msgs []byte
	report = appendPkt(report, "unpack ok\n")
	seen := map[string]bool{}
	for _, c := range head.Commands {
		why := refused[c.Ref]
		switch {
		case why != "":
			if !seen[why] {
				seen[why] = true
				msgs = append(msgs, why+"\n"...)
				h.g.report(h.t, false, why)
			}
		case general != "":
			why = general
		default:
			why = "sandbar: not pushed, because another ref of the push was refused"
		}
		report = appendPkt(report, "ng "+c.Ref+" "+oneLine(why)+"\n")
	}
	if general != "" {
		msgs = append(msgs, general+"\n"...)
		h.g.report(h.t, false, general)
	}
	if len(head.Commands) == 0 && general == "" {
		return
	}
	report = appendFlush(report)

	if !head.has("report-status") && !head.has("report-status-v2") {
		plain(w, http.StatusForbidden, string(msgs))
		return
	}
	w.Header().Set("Content-Type", "application/x-git-receive-pack-result")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	var out []byte
	switch {
	case head.has("side-band-64k"), head.has("side-band"):
		small := !head.has("side-band-64k")
		out = appendSideband(out, 2, msgs, small)
		out = appendSideband(out, 1, report, small)
		out = appendFlush(out)
	default:
		out = report
	}
	w.Write(out)
}

func oneLine(s string) string { return strings.ReplaceAll(s, "\n", " ") }

// credential returns the credential for repo, asking Credentials once per
// repository and run; a failure is not kept, so the next request asks
// again.
func (g *Guard) credential(ctx context.Context, repo Repository) (Credential, error) {
	g.mu.Lock()
	e, ok := g.creds[repo]
	if !ok {
		e = &credEntry{ready: make(chan struct{})}
		g.creds[repo] = e
		g.mu.Unlock()
		e.cred, e.err = g.cfg.Credentials.Fill(context.WithoutCancel(ctx), repo)
		close(e.ready)
		if e.err != nil {
			g.forgetCredential(repo)
		}
	} else {
		g.mu.Unlock()
	}
	select {
	case <-e.ready:
		return e.cred, e.err
	case <-ctx.Done():
		return Credential{}, ctx.Err()
	}
}

func (g *Guard) forgetCredential(repo Repository) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.creds, repo)
}

// approvePush says why a push to repo may not go ahead, or "" if it may:
// the policy lists the repository, or the user allowed pushes there
// earlier in the run, or does now.
func (g *Guard) approvePush(ctx context.Context, p *Policy, t proxy.Target, repo Repository, cmds []Command) string {
	if p.listsRepository(t, repo.Path) {
		return ""
	}
	key := repoKey(t, repo.Path)
	decided := func() (string, bool) {
		g.mu.Lock()
		defer g.mu.Unlock()
		ok, seen := g.approved[key]
		switch {
		case !seen:
			return "", false
		case ok:
			return "", true
		}
		return fmt.Sprintf("sandbar: pushing to %s refused: denied earlier in this run", key), true
	}
	if why, ok := decided(); ok {
		return why
	}
	if g.cfg.Approver == nil {
		return fmt.Sprintf("sandbar: the first push to %s needs your approval, and there is no one to ask; to allow pushes there, add %q to git.push.repositories", key, key)
	}
	// One question at a time; pushes behind it wait.
	select {
	case g.asking <- struct{}{}:
	case <-ctx.Done():
		return "sandbar: the push was cancelled while waiting for approval"
	}
	defer func() { <-g.asking }()
	if why, ok := decided(); ok {
		return why
	}
	var refs []string
	for _, c := range cmds {
		refs = append(refs, c.Ref)
	}
	ok, err := g.cfg.Approver.ApprovePush(ctx, Push{Repository: key, Refs: refs})
	if err == nil || !errors.Is(err, context.Canceled) {
		g.mu.Lock()
		g.approved[key] = ok && err == nil
		g.mu.Unlock()
	}
	switch {
	case err != nil:
		return fmt.Sprintf("sandbar: pushing to %s refused: approval failed: %v", key, err)
	case !ok:
		return fmt.Sprintf("sandbar: pushing to %s refused: denied by you", key)
	}
	return ""
}
