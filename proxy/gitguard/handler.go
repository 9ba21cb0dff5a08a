package gitguard

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/sandbar-dev/sandbar/proxy"
)

// tunnelHandler serves the requests of one intercepted tunnel to a git
// host: it works out what each request is, checks it, and sends it on
// through tr, whose connections go to the host's checked address.
type tunnelHandler struct {
	g  *Guard
	t  proxy.Target
	tr *http.Transport
}

// kind is what a request to a git host is.
type kind int

const (
	other             kind = iota // anything else: GET and HEAD pass without credentials
	uploadPackAdvert              // GET .../info/refs?service=git-upload-pack
	receivePackAdvert             // GET .../info/refs?service=git-receive-pack
	uploadPack                    // POST .../git-upload-pack
	receivePack                   // POST .../git-receive-pack
)

// classify works out what r is and, for git's own requests, the
// repository's path. A git request whose path is not plain (escapes,
// "..", "//") is refused rather than guessed at: the path checked must be
// the path sent.
func classify(r *http.Request) (kind, string, error) {
	p := r.URL.Path
	var k kind
	var repo string
	switch {
	case strings.HasSuffix(p, "/info/refs") && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		switch r.URL.Query().Get("service") {
		case "git-upload-pack":
			k = uploadPackAdvert
		case "git-receive-pack":
			k = receivePackAdvert
		default:
			return other, "", nil // git's old "dumb" protocol: plain files
		}
		repo = strings.TrimSuffix(p, "/info/refs")
	case strings.HasSuffix(p, "/git-upload-pack") && r.Method == http.MethodPost:
		k, repo = uploadPack, strings.TrimSuffix(p, "/git-upload-pack")
	case strings.HasSuffix(p, "/git-receive-pack") && r.Method == http.MethodPost:
		k, repo = receivePack, strings.TrimSuffix(p, "/git-receive-pack")
	default:
		return other, "", nil
	}
	if r.URL.RawPath != "" || strings.ContainsAny(p, "%\\") || path.Clean(p) != p || strings.Trim(repo, "/") == "" {
		return k, "", fmt.Errorf("sandbar: the repository path %q is not plain; write the remote's URL without escapes, \"..\" or \"//\"", clip(p))
	}
	return k, strings.TrimPrefix(repo, "/"), nil
}

func (h *tunnelHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !sameHost(r.Host, h.t) {
		plain(w, http.StatusMisdirectedRequest, fmt.Sprintf("sandbar: this connection is to %s only, not %s\n", authority(h.t), clip(r.Host)))
		return
	}
	k, repoPath, err := classify(r)
	if err != nil {
		h.g.report(h.t, false, err.Error())
		h.refuse(w, k, err.Error())
		return
	}
	repo := Repository{Host: authority(h.t), Path: repoPath}
	switch k {
	case other:
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			msg := fmt.Sprintf("sandbar: %s %s on git host %s refused: through sandbar a git host serves git fetches and pushes, and plain GET requests", r.Method, clip(r.URL.Path), authority(h.t))
			h.g.report(h.t, false, msg)
			plain(w, http.StatusForbidden, msg+"\n")
			return
		}
		h.passThrough(w, r)
	case receivePackAdvert:
		if p := h.g.policy(); p == nil || len(p.Branches) == 0 {
			msg := fmt.Sprintf("sandbar: pushing to %s refused by policy; allowed: no branch (git.push.branches is empty)", repo)
			h.g.report(h.t, false, msg)
			h.refuse(w, k, msg)
			return
		}
		h.forward(w, r, k, repo, r.Body)
	case uploadPackAdvert, uploadPack:
		h.forward(w, r, k, repo, r.Body)
	case receivePack:
		h.push(w, r, repo)
	}
}

// sameHost reports whether a request's Host names the tunnel's target.
func sameHost(host string, t proxy.Target) bool {
	h, port := host, "443"
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.HasSuffix(host, "]") {
		h, port = host[:i], host[i+1:]
	}
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	c, err := proxy.Canonical(h)
	return err == nil && c == t.Host && port == fmt.Sprint(t.Port)
}

// passThrough sends a plain GET or HEAD on as it came, without
// credentials: release downloads, web pages, git's dumb protocol.
func (h *tunnelHandler) passThrough(w http.ResponseWriter, r *http.Request) {
	out := r.Clone(r.Context())
	out.URL = &url.URL{Scheme: "https", Host: authority(h.t), Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
	out.Host = authority(h.t)
	out.RequestURI = ""
	out.Body = nil
	out.ContentLength = 0
	removeHopHeaders(out.Header)
	resp, err := h.tr.RoundTrip(out)
	if err != nil {
		plain(w, http.StatusBadGateway, fmt.Sprintf("sandbar: reaching %s: %v\n", authority(h.t), err))
		return
	}
	defer resp.Body.Close()
	removeHopHeaders(resp.Header)
	copyHeader(w.Header(), resp.Header)
	w.WriteHeader(resp.StatusCode)
	copyFlushing(w, resp.Body, nil)
}

// forward sends a git request on to the host with the user's credential
// and streams the answer back, with nothing of the credential in it.
func (h *tunnelHandler) forward(w http.ResponseWriter, r *http.Request, k kind, repo Repository, body io.Reader) {
	cred, err := h.g.credential(r.Context(), repo)
	if err != nil {
		msg := fmt.Sprintf("sandbar: no credentials for %s: %v", repo, err)
		h.g.report(h.t, false, msg)
		h.refuse(w, k, msg)
		return
	}
	out, err := h.request(r, k, repo, body, cred)
	if err != nil {
		plain(w, http.StatusBadRequest, err.Error()+"\n")
		return
	}
	if k == uploadPack || k == uploadPackAdvert {
		// A fetch's request goes on as it came, compressed or not.
		if ce := r.Header.Get("Content-Encoding"); ce != "" {
			out.Header.Set("Content-Encoding", ce)
		}
		out.ContentLength = r.ContentLength
	}
	h.roundTrip(w, out, k, repo, cred)
}

// request builds the request sent to the host: the method, the checked
// path, git's own headers and the credential, and nothing else of the
// client's (no cookie, no authorization of its own).
func (h *tunnelHandler) request(r *http.Request, k kind, repo Repository, body io.Reader, cred Credential) (*http.Request, error) {
	u := &url.URL{Scheme: "https", Host: repo.Host, Path: "/" + repo.Path}
	switch k {
	case uploadPackAdvert:
		u.Path += "/info/refs"
		u.RawQuery = "service=git-upload-pack"
	case receivePackAdvert:
		u.Path += "/info/refs"
		u.RawQuery = "service=git-receive-pack"
	case uploadPack:
		u.Path += "/git-upload-pack"
	case receivePack:
		u.Path += "/git-receive-pack"
	}
	if body == http.NoBody || r.Method == http.MethodGet || r.Method == http.MethodHead {
		body = nil
	}
	out, err := http.NewRequestWithContext(r.Context(), r.Method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("sandbar: %v", err)
	}
	for _, name := range []string{"Accept", "Accept-Language", "Content-Type", "Git-Protocol", "User-Agent", "Pragma", "Cache-Control"} {
		if v := r.Header.Values(name); len(v) > 0 {
			out.Header[name] = v
		}
	}
	out.SetBasicAuth(cred.Username, cred.Password)
	return out, nil
}

// roundTrip sends out and streams the answer to w. An answer that refuses
// the credential becomes a message saying so; every header that could
// carry a credential is dropped; a body in which the credential shows up
// is cut off.
func (h *tunnelHandler) roundTrip(w http.ResponseWriter, out *http.Request, k kind, repo Repository, cred Credential) {
	resp, err := h.tr.RoundTrip(out)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return
		}
		msg := fmt.Sprintf("sandbar: reaching %s: %v", repo.Host, err)
		h.refuse(w, k, msg)
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusProxyAuthRequired {
		h.g.forgetCredential(repo)
		msg := fmt.Sprintf("sandbar: %s refused the credentials your git credential helper gave for %s (HTTP %d); check them outside the sandbox with git credential fill", repo.Host, repo, resp.StatusCode)
		h.g.report(h.t, false, msg)
		h.refuse(w, k, msg)
		return
	}
	removeHopHeaders(resp.Header)
	for _, name := range []string{"Www-Authenticate", "Proxy-Authenticate", "Authentication-Info", "Authorization", "Proxy-Authorization", "Set-Cookie"} {
		resp.Header.Del(name)
	}
	for name, vs := range resp.Header {
		for _, v := range vs {
			if newSecretScanner(cred).found([]byte(name + ": " + v)) {
				resp.Header.Del(name)
			}
		}
	}
	copyHeader(w.Header(), resp.Header)
	w.WriteHeader(resp.StatusCode)
	if err := copyFlushing(w, resp.Body, newSecretScanner(cred)); errors.Is(err, errLeak) {
		h.g.report(h.t, false, fmt.Sprintf("sandbar: the answer of %s carried your git credential; it was cut off", repo.Host))
		panic(http.ErrAbortHandler)
	}
}

// refuse answers a request the guard refuses, so that git shows msg: in
// a ref advertisement, as an ERR packet ("fatal: remote error: msg"),
// else as a plain-text 403, whose lines git shows as "remote: msg".
func (h *tunnelHandler) refuse(w http.ResponseWriter, k kind, msg string) {
	switch k {
	case uploadPackAdvert, receivePackAdvert:
		service := "git-upload-pack"
		if k == receivePackAdvert {
			service = "git-receive-pack"
		}
		w.Header().Set("Content-Type", "application/x-"+service+"-advertisement")
		w.Header().Set("Cache-Control", "no-cache")
		w.WriteHeader(http.StatusOK)
		w.Write(appendPkt(nil, "ERR "+msg+"\n"))
	default:
		plain(w, http.StatusForbidden, msg+"\n")
	}
}

func plain(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// hopHeaders are the connection's own, never passed on (RFC 9110 §7.6.1).
var hopHeaders = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

func removeHopHeaders(h http.Header) {
	for _, f := range h.Values("Connection") {
		for _, name := range strings.Split(f, ",") {
			h.Del(strings.TrimSpace(name))
		}
	}
	for _, name := range hopHeaders {
		h.Del(name)
	}
}

func copyHeader(dst, src http.Header) {
	for k, vs := range src {
		dst[k] = append([]string(nil), vs...)
	}
}

// copyFlushing copies src to w, flushing after each read so that git's
// progress reaches the user as it comes, through sc when it is set.
func copyFlushing(w http.ResponseWriter, src io.Reader, sc *secretScanner) error {
	rc := http.NewResponseController(w)
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if sc != nil && sc.found(buf[:n]) {
				return errLeak
			}
			if _, werr := w.Write(buf[:n]); werr != nil {
				return werr
			}
			rc.Flush()
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

var errLeak = errors.New("the answer carried the credential")

// secretScanner looks for a credential in a stream, across the places it
// is cut: the password, user:password, and its base64 form as it goes in
// an Authorization header. Short ones are not looked for: they would
// match by chance, and they are not secrets worth the name.
type secretScanner struct {
	secrets [][]byte
	tail    []byte
	keep    int
}

const minSecretLen = 8

func newSecretScanner(c Credential) *secretScanner {
	s := &secretScanner{}
	for _, v := range []string{
		c.Password,
		c.Username + ":" + c.Password,
		base64.StdEncoding.EncodeToString([]byte(c.Username + ":" + c.Password)),
		url.QueryEscape(c.Password),
	} {
		if len(v) >= minSecretLen {
			s.secrets = append(s.secrets, []byte(v))
			s.keep = max(s.keep, len(v)-1)
		}
	}
	return s
}

// found reports whether a secret appears in what came so far, up to and
// including b.
func (s *secretScanner) found(b []byte) bool {
	if len(s.secrets) == 0 {
		return false
	}
	window := append(s.tail, b...)
	for _, sec := range s.secrets {
		if bytes.Contains(window, sec) {
			return true
		}
	}
	if len(window) > s.keep {
		window = window[len(window)-s.keep:]
	}
	s.tail = append(s.tail[:0], window...)
	return false
}
