package e2e

// A fake editor, in the spirit of gopls's integration tests: it starts the
// real `sandbar serve`, speaks framed JSON-RPC over the host's real stdin
// and stdout, records everything the host sends, answers the host's
// requests with a responder, and lets a test await a condition on what it
// has received, with a deadline, instead of sleeping.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// awaitTimeout bounds every wait for the host. It is generous: a wait
// ends as soon as its condition holds.
const awaitTimeout = 15 * time.Second

// rpcMessage is any JSON-RPC message, as the editor reads it.
type rpcMessage struct {
	ID     json.RawMessage `json:"id,omitempty"`
	Method string          `json:"method,omitempty"`
	Params json.RawMessage `json:"params,omitempty"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  *rpcError       `json:"error,omitempty"`
}

type rpcError struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

func (e *rpcError) Error() string { return fmt.Sprintf("%d %s", e.Code, e.Message) }

// editor is one fake editor session with a running host.
type editor struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr *syncBuffer
	// respond answers the host's requests (window/showMessageRequest...);
	// by default the editor does not know the method. It runs on its own
	// goroutine, so it may block (to answer late), and it may return
	// errNoReply to leave the request unanswered, as a user who never
	// clicks. Set it before the host can ask.
	respond func(method string, params json.RawMessage) (any, *rpcError)
	// keep, when set, says which notifications to record; the others are
	// only counted (in received.dropped), so a test streaming gigabytes of
	// output does not keep them. Set it before the host can send them.
	keep func(method string, params json.RawMessage) bool

	writeMu sync.Mutex

	mu       sync.Mutex
	changed  chan struct{} // closed and replaced whenever something arrives
	nextID   int
	pending  map[string]chan rpcMessage
	received editorState
	exited   chan struct{}
	exitCode int
}

// editorState is what the host has sent, for conditions to look at.
type editorState struct {
	// notifications are the host's notifications, in order.
	notifications []rpcMessage
	// orphans are answers with a null id: to frames the host could not
	// read an id from.
	orphans []rpcMessage
	// garbage is anything on stdout that is not a frame; it must stay
	// empty (stdout carries only the protocol).
	garbage string
	// requests are the host's requests to the editor, in order.
	requests []rpcMessage
	// dropped counts the notifications keep refused, and their bytes.
	dropped, droppedBytes int
}

// errNoReply, returned by a responder, leaves the host's request
// unanswered.
var errNoReply = &rpcError{Code: 0, Message: "no reply"}

// startEditor starts `sandbar serve --stdio` on e's machine, in dir.
func startEditor(t *testing.T, e *env, dir string) *editor {
	t.Helper()
	cmd := exec.Command(sandbarBin, "serve", "--stdio")
	cmd.Dir = dir
	cmd.Env = e.environ()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	ed := &editor{
		t: t, cmd: cmd, stdin: stdin, stderr: &syncBuffer{},
		changed: make(chan struct{}), pending: map[string]chan rpcMessage{}, exited: make(chan struct{}),
		respond: func(method string, _ json.RawMessage) (any, *rpcError) {
			return nil, &rpcError{Code: -32601, Message: "the fake editor does not answer " + method}
		},
	}
	cmd.Stderr = ed.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go ed.read(stdout)
	t.Cleanup(func() {
		select {
		case <-ed.exited:
		default:
			stdin.Close()
			select {
			case <-ed.exited:
			case <-time.After(awaitTimeout):
				cmd.Process.Kill()
				<-ed.exited
				t.Errorf("the host did not exit within %v of its stdin closing", awaitTimeout)
			}
		}
		ed.mu.Lock()
		garbage := ed.received.garbage
		ed.mu.Unlock()
		if garbage != "" {
			t.Errorf("the host's stdout carried more than the protocol: %q", garbage)
		}
		if t.Failed() {
			t.Logf("the host's stderr:\n%s", ed.stderr.String())
		}
	})
	return ed
}

// read reads the host's stdout until it ends, then waits for the host.
func (ed *editor) read(stdout io.Reader) {
	defer func() {
		err := ed.cmd.Wait()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			code = -1
		}
		ed.mu.Lock()
		ed.exitCode = code
		close(ed.exited)
		ed.broadcast()
		ed.mu.Unlock()
	}()
	r := bufio.NewReader(stdout)
	for {
		body, err := readFrame(r)
		if err != nil {
			if err != io.EOF {
				rest, _ := io.ReadAll(r)
				ed.mu.Lock()
				ed.received.garbage += err.Error() + ": " + string(rest)
				ed.broadcast()
				ed.mu.Unlock()
			}
			return
		}
		var m rpcMessage
		if err := json.Unmarshal(body, &m); err != nil {
			ed.mu.Lock()
			ed.received.garbage += string(body)
			ed.broadcast()
			ed.mu.Unlock()
			continue
		}
		ed.dispatch(m)
	}
}

// readFrame reads one frame exactly as the host must write it.
func readFrame(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		if err == io.EOF && line == "" {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("reading a header: %q: %v", line, err)
	}
	n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(line, "Content-Length: "), "\r\n"))
	if !strings.HasPrefix(line, "Content-Length: ") || err != nil {
		return nil, fmt.Errorf("not a Content-Length header: %q", line)
	}
	if blank, err := r.ReadString('\n'); err != nil || blank != "\r\n" {
		return nil, fmt.Errorf("no blank line after the header: %q", blank)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, fmt.Errorf("reading a body of %d bytes: %v", n, err)
	}
	return body, nil
}

func (ed *editor) dispatch(m rpcMessage) {
	switch {
	case m.Method != "" && len(m.ID) > 0:
		ed.mu.Lock()
		ed.received.requests = append(ed.received.requests, m)
		ed.broadcast()
		ed.mu.Unlock()
		go func() {
			result, rerr := ed.respond(m.Method, m.Params)
			if rerr == errNoReply {
				return
			}
			reply := map[string]any{"jsonrpc": "2.0", "id": m.ID}
			if rerr != nil {
				reply["error"] = rerr
			} else {
				reply["result"] = result
			}
			if b, err := json.Marshal(reply); err == nil {
				ed.write(string(b)) // a failure shows as the host exiting
			}
		}()
	case m.Method != "":
		ed.mu.Lock()
		if ed.keep != nil && !ed.keep(m.Method, m.Params) {
			ed.received.dropped++
			ed.received.droppedBytes += len(m.Params)
		} else {
			ed.received.notifications = append(ed.received.notifications, m)
		}
		ed.broadcast()
		ed.mu.Unlock()
	default:
		ed.mu.Lock()
		if ch, ok := ed.pending[string(m.ID)]; ok {
			delete(ed.pending, string(m.ID))
			ch <- m
		} else {
			ed.received.orphans = append(ed.received.orphans, m)
		}
		ed.broadcast()
		ed.mu.Unlock()
	}
}

// broadcast wakes the waiters; ed.mu is held.
func (ed *editor) broadcast() {
	close(ed.changed)
	ed.changed = make(chan struct{})
}

// await waits until cond holds on what the host has sent. cond runs with
// the editor locked: it must not talk to the host.
func (ed *editor) await(what string, cond func(s *editorState) bool) {
	ed.t.Helper()
	deadline := time.After(awaitTimeout)
	for {
		ed.mu.Lock()
		ok := cond(&ed.received)
		ch := ed.changed
		ed.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			ed.mu.Lock()
			var sent []string
			for _, n := range ed.received.notifications {
				sent = append(sent, n.Method+" "+string(n.Params))
			}
			ed.mu.Unlock()
			ed.t.Fatalf("waiting for %s: not within %v; the host sent:\n%s", what, awaitTimeout, strings.Join(sent, "\n"))
		}
	}
}

// raw writes bytes to the host's stdin as they are.
func (ed *editor) raw(s string) {
	ed.t.Helper()
	ed.writeMu.Lock()
	defer ed.writeMu.Unlock()
	if _, err := io.WriteString(ed.stdin, s); err != nil {
		ed.t.Fatalf("writing to the host: %v", err)
	}
}

// write frames body, from any goroutine.
func (ed *editor) write(body string) error {
	ed.writeMu.Lock()
	defer ed.writeMu.Unlock()
	_, err := fmt.Fprintf(ed.stdin, "Content-Length: %d\r\n\r\n%s", len(body), body)
	return err
}

// frame writes one framed message.
func (ed *editor) frame(body string) {
	ed.raw(fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(body), body))
}

func (ed *editor) sendJSON(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		ed.t.Fatal(err)
	}
	ed.frame(string(b))
}

// notify sends a notification.
func (ed *editor) notify(method string, params any) {
	ed.t.Helper()
	ed.sendJSON(map[string]any{"jsonrpc": "2.0", "method": method, "params": params})
}

// call sends a request and waits for its answer: the error the host
// answered with (an *rpcError), or nil with the result in result.
func (ed *editor) call(method string, params, result any) error {
	ed.t.Helper()
	ed.mu.Lock()
	ed.nextID++
	id := ed.nextID
	ed.mu.Unlock()
	msg := map[string]any{"jsonrpc": "2.0", "id": id, "method": method}
	if params != nil {
		msg["params"] = params
	}
	b, err := json.Marshal(msg)
	if err != nil {
		ed.t.Fatal(err)
	}
	m := ed.exchange(strconv.Itoa(id), string(b))
	if m.Error != nil {
		return m.Error
	}
	if result != nil {
		if err := json.Unmarshal(m.Result, result); err != nil {
			ed.t.Fatalf("%s: reading the result %s: %v", method, m.Result, err)
		}
	}
	return nil
}

// exchange frames body, a request with id (as JSON), and waits for its
// answer.
func (ed *editor) exchange(id, body string) rpcMessage {
	ed.t.Helper()
	ch := make(chan rpcMessage, 1)
	ed.mu.Lock()
	ed.pending[id] = ch
	ed.mu.Unlock()
	ed.frame(body)
	select {
	case m := <-ch:
		return m
	case <-ed.exited:
		ed.t.Fatalf("the host exited (status %d) before answering %s", ed.exitCode, body)
	case <-time.After(awaitTimeout):
		ed.t.Fatalf("no answer to %s within %v", body, awaitTimeout)
	}
	return rpcMessage{}
}

// wait waits for the host to exit and returns its status.
func (ed *editor) wait() int {
	ed.t.Helper()
	select {
	case <-ed.exited:
		return ed.exitCode
	case <-time.After(awaitTimeout):
		ed.t.Fatalf("the host did not exit within %v", awaitTimeout)
		return 0
	}
}

// The host's messages, as a client reads them (docs/protocol.md).

type initializeResult struct {
	Capabilities struct {
		PositionEncoding string `json:"positionEncoding"`
		Workspace        struct {
			WorkspaceFolders struct {
				Supported           bool `json:"supported"`
				ChangeNotifications bool `json:"changeNotifications"`
			} `json:"workspaceFolders"`
		} `json:"workspace"`
		Experimental struct {
			Sandbar struct {
				Backend  string   `json:"backend"`
				Version  string   `json:"version"`
				Enforces []string `json:"enforces"`
				// HostSocket is where sandbar run in the editor's
				// terminals asks the host.
				HostSocket string `json:"hostSocket"`
			} `json:"sandbar"`
		} `json:"experimental"`
	} `json:"capabilities"`
	ServerInfo struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	} `json:"serverInfo"`
}

type policyAppliedParams struct {
	Generation int64        `json:"generation"`
	Folder     *string      `json:"folder"`
	OK         bool         `json:"ok"`
	Errors     []policyItem `json:"errors"`
	Cause      string       `json:"cause"`
}

// policyItem is a rule, an ignored entry or an error, and where it was
// written.
type policyItem struct {
	Key     string `json:"key,omitempty"`
	Value   string `json:"value,omitempty"`
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
	File    string `json:"file,omitempty"`
	URI     string `json:"uri,omitempty"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
}

type policyResult struct {
	Generation int64    `json:"generation"`
	Folder     string   `json:"folder"`
	Folders    []string `json:"folders"`
	Backend    string   `json:"backend"`
	Files      []struct {
		Path    string `json:"path"`
		URI     string `json:"uri"`
		Folder  string `json:"folder"`
		Trusted bool   `json:"trusted"`
	} `json:"files"`
	Rules    []policyItem `json:"rules"`
	Ignored  []policyItem `json:"ignored"`
	Warnings []string     `json:"warnings"`
}

type diagnostic struct {
	Range struct {
		Start lspPosition `json:"start"`
		End   lspPosition `json:"end"`
	} `json:"range"`
	Severity int    `json:"severity"`
	Source   string `json:"source"`
	Message  string `json:"message"`
}

type lspPosition struct {
	Line      int `json:"line"`
	Character int `json:"character"`
}

type publishDiagnosticsParams struct {
	URI         string       `json:"uri"`
	Diagnostics []diagnostic `json:"diagnostics"`
}

// named returns the params of every notification called method.
func (s *editorState) named(method string) []json.RawMessage {
	var out []json.RawMessage
	for _, n := range s.notifications {
		if n.Method == method {
			out = append(out, n.Params)
		}
	}
	return out
}

// applied is every sandbar/policyApplied so far.
func (s *editorState) applied() []policyAppliedParams {
	return decoded[policyAppliedParams](s.named("sandbar/policyApplied"))
}

// decoded is each of raws decoded as a T (the zero T where one does not
// decode: the test comparing it then says what it got).
func decoded[T any](raws []json.RawMessage) []T {
	out := make([]T, 0, len(raws))
	for _, raw := range raws {
		var v T
		json.Unmarshal(raw, &v)
		out = append(out, v)
	}
	return out
}

// appliedAfter is the first sandbar/policyApplied of a generation after
// gen for which ok holds, if there is one yet.
func (s *editorState) appliedAfter(gen int64, ok func(policyAppliedParams) bool) (policyAppliedParams, bool) {
	for _, a := range s.applied() {
		if a.Generation > gen && ok(a) {
			return a, true
		}
	}
	return policyAppliedParams{}, false
}

// diagnostics is the last publishDiagnostics for uri, if any.
func (s *editorState) diagnostics(uri string) ([]diagnostic, bool) {
	var last []diagnostic
	found := false
	for _, d := range decoded[publishDiagnosticsParams](s.named("textDocument/publishDiagnostics")) {
		if d.URI == uri {
			last, found = d.Diagnostics, true
		}
	}
	return last, found
}

// generation is the last generation announced.
func (ed *editor) generation() int64 {
	ed.mu.Lock()
	defer ed.mu.Unlock()
	var g int64
	for _, a := range ed.received.applied() {
		g = max(g, a.Generation)
	}
	return g
}

// nextApplied waits for the first sandbar/policyApplied after gen.
func (ed *editor) nextApplied(gen int64, what string) policyAppliedParams {
	ed.t.Helper()
	return ed.awaitApplied(gen, what, func(policyAppliedParams) bool { return true })
}

// awaitApplied waits for a sandbar/policyApplied after gen for which ok
// holds. (A save can be seen as more than one change, the first of which
// may find the file half written.)
func (ed *editor) awaitApplied(gen int64, what string, ok func(policyAppliedParams) bool) policyAppliedParams {
	ed.t.Helper()
	var got policyAppliedParams
	ed.await(what, func(s *editorState) bool {
		a, found := s.appliedAfter(gen, ok)
		got = a
		return found
	})
	return got
}

// awaitPolicy waits, through successive sandbar/policyApplied after gen,
// until sandbar/policy answers what ok wants, and returns the last
// policyApplied. (A save may be seen half done first.) ok runs outside
// await's lock, so it may ask the host.
func (ed *editor) awaitPolicy(gen int64, what string, ok func(policyResult) bool) policyAppliedParams {
	ed.t.Helper()
	for {
		a := ed.awaitApplied(gen, what, func(a policyAppliedParams) bool { return a.OK })
		if ok(ed.mustPolicy("")) {
			return a
		}
		gen = a.Generation
	}
}

// initialize starts the session on folders (paths): initialize,
// initialized, and the first policy load.
func (ed *editor) initialize(folders ...string) initializeResult {
	ed.t.Helper()
	var ws []map[string]string
	for _, f := range folders {
		ws = append(ws, map[string]string{"uri": fileURI(f), "name": f})
	}
	return ed.initializeWith(map[string]any{
		"processId":        nil,
		"clientInfo":       map[string]string{"name": "fake editor", "version": "1"},
		"workspaceFolders": ws,
		"capabilities":     map[string]any{},
	})
}

func (ed *editor) initializeWith(params map[string]any) initializeResult {
	ed.t.Helper()
	var res initializeResult
	if err := ed.call("initialize", params, &res); err != nil {
		ed.t.Fatalf("initialize: %v", err)
	}
	ed.notify("initialized", map[string]any{})
	ed.nextApplied(0, "the first policy load")
	return res
}

// policy asks sandbar/policy for folder ("": the default).
func (ed *editor) policy(folder string) (policyResult, error) {
	ed.t.Helper()
	params := map[string]any{}
	if folder != "" {
		params["folder"] = folder
	}
	var res policyResult
	err := ed.call("sandbar/policy", params, &res)
	return res, err
}

// mustPolicy is policy that must succeed.
func (ed *editor) mustPolicy(folder string) policyResult {
	ed.t.Helper()
	res, err := ed.policy(folder)
	if err != nil {
		ed.t.Fatalf("sandbar/policy %s: %v", folder, err)
	}
	return res
}

// rulesFrom lists the rules written in file, as "key value line:col".
func (r policyResult) rulesFrom(file string) []string {
	var out []string
	for _, x := range r.Rules {
		if x.File == file {
			out = append(out, fmt.Sprintf("%s %s %d:%d", x.Key, x.Value, x.Line, x.Column))
		}
	}
	return out
}

func fileURI(path string) string { return (&url.URL{Scheme: "file", Path: path}).String() }
