package e2e

// The questions `sandbar serve` puts to the user, driven as an editor
// answers them (window/showMessageRequest): a host the policy leaves
// undecided, a refused file write to allow and re-run, a workspace policy
// that widens the sandbox; and every way of not answering, which denies.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sandbar-dev/sandbar/confine"
	"github.com/sandbar-dev/sandbar/confine/confinetest"
)

// hostPrompt is a window/showMessageRequest as the editor reads it.
type hostPrompt struct {
	Type    int    `json:"type"`
	Message string `json:"message"`
	Actions []struct {
		Title string `json:"title"`
	} `json:"actions"`
}

// titles are the prompt's actions, in order.
func (p hostPrompt) titles() []string {
	var out []string
	for _, a := range p.Actions {
		out = append(out, a.Title)
	}
	return out
}

// hostPrompts are the host's window/showMessageRequest so far, in order.
func (s *editorState) hostPrompts() []hostPrompt {
	var out []hostPrompt
	for _, r := range s.requests {
		if r.Method == "window/showMessageRequest" {
			var p hostPrompt
			json.Unmarshal(r.Params, &p)
			out = append(out, p)
		}
	}
	return out
}

func (ed *editor) hostPrompts() []hostPrompt {
	ed.mu.Lock()
	defer ed.mu.Unlock()
	return ed.received.hostPrompts()
}

// The network prompt's actions and the file prompt's, as the editor shows
// them.
var (
	networkActions = []string{"Allow once", "Allow for workspace", "Always allow", "Deny"}
	rerunActions   = []string{"Allow and re-run", "Deny"}
	trustActions   = []string{"Trust", "Not now"}
)

// dismiss, as an answer, is the user closing the prompt: a null result.
type dismissal struct{}

var dismiss = dismissal{}

// answerInTurn is a responder that answers the host's prompts in the order
// they come: a string is the title of the action the user clicks, dismiss
// closes the prompt, an *rpcError (errNoReply: never answer) is sent as it
// is. Past the last answer, the last one repeats. Other requests are
// methods the fake editor does not know.
func answerInTurn(answers ...any) func(string, json.RawMessage) (any, *rpcError) {
	var mu sync.Mutex
	n := 0
	return func(method string, _ json.RawMessage) (any, *rpcError) {
		if method != "window/showMessageRequest" {
			return nil, &rpcError{Code: -32601, Message: "the fake editor does not answer " + method}
		}
		mu.Lock()
		a := answers[min(n, len(answers)-1)]
		n++
		mu.Unlock()
		switch a := a.(type) {
		case string:
			return map[string]string{"title": a}, nil
		case *rpcError:
			return nil, a
		}
		return nil, nil
	}
}

// holdsWithin is await for a goroutine other than the test's (a
// responder's), which must not end the test: it reports whether cond held
// within the deadline.
func (ed *editor) holdsWithin(cond func(s *editorState) bool) bool {
	deadline := time.After(awaitTimeout)
	for {
		ed.mu.Lock()
		ok := cond(&ed.received)
		ch := ed.changed
		ed.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-ch:
		case <-ed.exited:
			return false
		case <-deadline:
			return false
		}
	}
}

// liveViolations are the sandbar/violation notifications so far.
func (s *editorState) liveViolations() []runViolation {
	return decoded[runViolation](s.named("sandbar/violation"))
}

// networkOnly are the network violations of vs.
func networkOnly(vs []runViolation) []runViolation {
	var out []runViolation
	for _, v := range vs {
		if v.Kind == "network" {
			out = append(out, v)
		}
	}
	return out
}

// hasRule reports whether p has the rule key value, written in file.
func hasRule(p policyResult, file, key, value string) bool {
	for _, r := range p.Rules {
		if r.File == file && r.Key == key && r.Value == value {
			return true
		}
	}
	return false
}

// isIgnored reports whether p ignores the entry key value of file.
func isIgnored(p policyResult, file, key, value string) bool {
	for _, r := range p.Ignored {
		if r.File == file && r.Key == key && r.Value == value {
			return true
		}
	}
	return false
}

// askedServer is a web server on 127.0.0.1 that the sandbox reaches by the
// name localhost, which no policy lists, so the host asks about it. The
// user's policy lists its addresses, not the name: the proxy may dial them
// (it dials no loopback address a policy does not list) once the name is
// allowed.
type askedServer struct {
	*hostServer
	// target is what the prompt and the violations name: localhost:port.
	target string
	// userPolicy is the user's policy file, which a comment heads.
	userPolicy string
}

// userPolicyComment heads the user's policy, for tests that check an edit
// kept it.
const userPolicyComment = "// My own sandbar policy."

func startAskedServer(t *testing.T, e *env) *askedServer {
	t.Helper()
	requireTool(t, "curl", "curl")
	srv := startServer(t, "127.0.0.1", nil, nil)
	port := strconv.Itoa(srv.port)
	s := &askedServer{hostServer: srv, target: "localhost:" + port,
		userPolicy: filepath.Join(e.home, ".config", "sandbar", "policy.jsonc")}
	e.write(s.userPolicy, userPolicyComment+"\n{\n  \"version\": 1,\n  \"network\": {\n"+
		"    \"allowedDomains\": [\"127.0.0.1:"+port+"\", \"[::1]:"+port+"\"], // the test server's addresses\n  },\n}\n")
	return s
}

// fetchCmd is a curl of the server by name through the proxy (NO_PROXY
// would send localhost direct, to the sandbox's own loopback), printing
// the status codes last.
func (s *askedServer) fetchCmd() string {
	return curlArgs + " --noproxy '' -x http://127.0.0.1:3128 http://" + s.target + "/"
}

// fetchArgv is fetchCmd as the run's own command, so that the prompt
// names curl.
func (s *askedServer) fetchArgv() []string {
	return []string{"curl", "-sS", "--max-time", "20", "--noproxy", "", "-x", "http://127.0.0.1:3128",
		"-w", `\nhttp_code=%{http_code}\n`, "http://" + s.target + "/"}
}

// checkNetworkPrompt checks that p is the network prompt for command and
// target.
func checkNetworkPrompt(t *testing.T, p hostPrompt, command, target string) {
	t.Helper()
	if diff := cmp.Diff(networkActions, p.titles()); diff != "" {
		t.Errorf("the prompt's actions (-want +got):\n%s", diff)
	}
	if !strings.Contains(p.Message, "`"+command+"`") || !strings.Contains(p.Message, target) {
		t.Errorf("prompt %q; want it to name `%s` and %s", p.Message, command, target)
	}
}

// checkRunReached checks that the run got the server's answer, unrefused.
func checkRunReached(t *testing.T, ed *editor, res runResult) {
	t.Helper()
	out := ed.output(res.RunID, "stdout")
	if res.ExitCode != 0 || !strings.HasPrefix(out, helloBody) || !strings.Contains(out, "http_code=200") {
		t.Errorf("run %s: exit %d, stdout %q; want 0 and the server's answer\nstderr: %s", res.RunID, res.ExitCode, out, ed.output(res.RunID, "stderr"))
	}
	if n := networkOnly(res.Violations); len(n) != 0 {
		t.Errorf("run %s: network violations %+v; want none", res.RunID, n)
	}
}

// "Allow once" lets the connection through for this run only: no policy
// file changes, and the next run is asked again.
func TestHostApproveNetworkAllowOnce(t *testing.T) {
	e := newEnv(t)
	srv := startAskedServer(t, e)
	before, err := os.ReadFile(srv.userPolicy)
	if err != nil {
		t.Fatal(err)
	}
	ed := startEditor(t, e, e.ws)
	ed.respond = answerInTurn("Allow once", "Deny")
	ed.initialize(e.ws)

	res := ed.mustRun(map[string]any{"runId": "once", "argv": srv.fetchArgv()})
	checkRunReached(t, ed, res)
	prompts := ed.hostPrompts()
	if len(prompts) != 1 {
		t.Fatalf("prompts %+v; want one", prompts)
	}
	checkNetworkPrompt(t, prompts[0], "curl", srv.target)
	if prompts[0].Type != 2 {
		t.Errorf("prompt type %d; want 2 (warning)", prompts[0].Type)
	}
	if got := srv.hits.Load(); got != 1 {
		t.Errorf("the server answered %d requests; want 1", got)
	}
	if after, err := os.ReadFile(srv.userPolicy); err != nil || string(after) != string(before) {
		t.Errorf("the user's policy changed:\n%s\nwant:\n%s", after, before)
	}
	if _, err := os.Stat(policyPath(e.ws)); err == nil {
		t.Errorf("Allow once wrote %s", policyPath(e.ws))
	}

	again := ed.mustRun(map[string]any{"runId": "again", "argv": srv.fetchArgv()})
	if n := len(ed.hostPrompts()); n != 2 {
		t.Errorf("%d prompts after a second run; want 2: Allow once holds for one run", n)
	}
	if out := ed.output(again.RunID, "stdout"); !strings.Contains(out, "http_code=403") {
		t.Errorf("second run, denied: stdout %q; want a 403", out)
	}
}

// "Allow for workspace" adds the host to the folder's policy, keeping its
// comments; the policy reloads, and the next run is not asked.
func TestHostApproveNetworkForWorkspace(t *testing.T) {
	e := newEnv(t)
	srv := startAskedServer(t, e)
	path := policyPath(e.ws)
	// Nothing in it widens the sandbox: it needs no trust as it is.
	seeded := []string{"// The team's policy.", `"ads.example", // never`}
	e.write(path, seeded[0]+"\n{\n  \"version\": 1,\n  \"network\": {\n    \"deniedDomains\": [\n      "+seeded[1]+"\n    ],\n  },\n}\n")
	ed := startEditor(t, e, e.ws)
	ed.respond = answerInTurn("Allow for workspace")
	ed.initialize(e.ws)
	g := ed.generation()

	checkRunReached(t, ed, ed.mustRun(map[string]any{"runId": "first", "argv": srv.fetchArgv()}))
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range append(seeded, `"`+srv.target+`"`) {
		if !strings.Contains(string(b), want) {
			t.Errorf("the folder's policy lacks %q:\n%s", want, b)
		}
	}
	a := ed.awaitPolicy(g, "the folder's policy with the host", func(p policyResult) bool {
		return hasRule(p, path, "network.allowedDomains", srv.target)
	})
	if a.Cause != "policyFile" || a.Folder == nil || *a.Folder != fileURI(e.ws) {
		t.Errorf("policyApplied %+v; want cause policyFile for %s", a, fileURI(e.ws))
	}

	checkRunReached(t, ed, ed.mustRun(map[string]any{"runId": "second", "argv": srv.fetchArgv()}))
	if n := len(ed.hostPrompts()); n != 1 {
		t.Errorf("%d prompts; want 1: the second run is allowed by the policy", n)
	}
}

// "Always allow" adds the host to the user's policy, keeping its comments;
// the next run is not asked.
func TestHostApproveNetworkAlways(t *testing.T) {
	e := newEnv(t)
	srv := startAskedServer(t, e)
	ed := startEditor(t, e, e.ws)
	ed.respond = answerInTurn("Always allow")
	ed.initialize(e.ws)
	g := ed.generation()

	checkRunReached(t, ed, ed.mustRun(map[string]any{"runId": "first", "argv": srv.fetchArgv()}))
	b, err := os.ReadFile(srv.userPolicy)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{userPolicyComment, "// the test server's addresses", `"` + srv.target + `"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the user's policy lacks %q:\n%s", want, b)
		}
	}
	if _, err := os.Stat(policyPath(e.ws)); err == nil {
		t.Errorf("Always allow wrote %s", policyPath(e.ws))
	}
	ed.awaitPolicy(g, "the user's policy with the host", func(p policyResult) bool {
		return hasRule(p, srv.userPolicy, "network.allowedDomains", srv.target)
	})

	checkRunReached(t, ed, ed.mustRun(map[string]any{"runId": "second", "argv": srv.fetchArgv()}))
	if n := len(ed.hostPrompts()); n != 1 {
		t.Errorf("%d prompts; want 1: the second run is allowed by the policy", n)
	}
}

// "Deny", and a prompt closed without a choice, refuse the connection: the
// command gets a 403, the server sees nothing, and the refusal is in the
// result and in the live sandbar/violation, which names the run.
func TestHostApproveNetworkRefused(t *testing.T) {
	tests := []struct {
		name   string
		answer any
		reason string
	}{
		{"Deny", "Deny", "not in allowedDomains; denied by approver"},
		{"dismissed", dismiss, "not in allowedDomains; approval failed: dismissed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			srv := startAskedServer(t, e)
			ed := startEditor(t, e, e.ws)
			ed.respond = answerInTurn(tt.answer)
			ed.initialize(e.ws)

			res := ed.mustRun(map[string]any{"runId": "refused", "argv": []string{"sh", "-c", srv.fetchCmd()}})
			if out := ed.output("refused", "stdout"); !strings.Contains(out, "http_code=403") || strings.Contains(out, helloBody) {
				t.Errorf("stdout %q; want a 403 and not the server's answer", out)
			}
			if n := srv.conns.Load(); n != 0 {
				t.Errorf("the server accepted %d connections; want none", n)
			}
			if n := len(ed.hostPrompts()); n != 1 {
				t.Errorf("%d prompts; want 1", n)
			}
			want := []runViolation{{Kind: "network", Target: srv.target, Decision: "denied", Reason: tt.reason, Count: 1}}
			if diff := cmp.Diff(want, networkOnly(res.Violations)); diff != "" {
				t.Errorf("the result's network violations (-want +got):\n%s", diff)
			}
			want[0].RunID = "refused"
			ed.mu.Lock()
			live := networkOnly(ed.received.liveViolations())
			ed.mu.Unlock()
			if diff := cmp.Diff(want, live); diff != "" {
				t.Errorf("sandbar/violation (-want +got):\n%s", diff)
			}
		})
	}
}

// A prompt nobody answers is Deny once the approval deadline passes, and
// the host's log says so.
func TestHostApproveNetworkTimeout(t *testing.T) {
	e := newEnv(t)
	srv := startAskedServer(t, e)
	ed := startEditor(t, e, e.ws)
	ed.respond = answerInTurn(errNoReply)
	ed.initializeWith(map[string]any{
		"workspaceFolders":      []map[string]string{{"uri": fileURI(e.ws), "name": "proj"}},
		"capabilities":          map[string]any{},
		"initializationOptions": map[string]any{"approvalTimeoutMs": 500},
	})

	res := ed.mustRun(map[string]any{"runId": "unanswered", "argv": []string{"sh", "-c", srv.fetchCmd()}})
	if out := ed.output("unanswered", "stdout"); !strings.Contains(out, "http_code=403") {
		t.Errorf("stdout %q; want a 403", out)
	}
	want := []runViolation{{Kind: "network", Target: srv.target, Decision: "denied",
		Reason: "not in allowedDomains; approval failed: no answer within 500ms", Count: 1}}
	if diff := cmp.Diff(want, networkOnly(res.Violations)); diff != "" {
		t.Errorf("network violations (-want +got):\n%s", diff)
	}
	if n := len(ed.hostPrompts()); n != 1 {
		t.Errorf("%d prompts; want 1", n)
	}
	if res.DurationMs < 500 {
		t.Errorf("the run took %dms; want the connection held until the 500ms deadline", res.DurationMs)
	}
	// stderr is copied from its pipe on its own: it may lag the result.
	logged := "no answer within 500ms; that means Deny"
	confinetest.WaitFor(t, "the host to log the missing answer", awaitTimeout, func() bool {
		return strings.Contains(ed.stderr.String(), logged)
	})
}

// Connections to one host at once, from one run, share one prompt and its
// answer. The answer waits until both requests are out, so both are held
// by the question.
func TestHostApproveNetworkSharedPrompt(t *testing.T) {
	e := newEnv(t)
	srv := startAskedServer(t, e)
	ed := startEditor(t, e, e.ws)
	// Each curl writes the line whole, the two curls' lines in any
	// order (and "> " apart from the line).
	sent := "GET http://" + srv.target + "/ HTTP/1.1\r\n"
	bothSent := func(s *editorState) bool { return strings.Count(s.output("two", "stderr"), sent) == 2 }
	allow := answerInTurn("Allow once")
	held := make(chan bool, 1)
	ed.respond = func(method string, params json.RawMessage) (any, *rpcError) {
		if method == "window/showMessageRequest" && len(ed.hostPrompts()) == 1 {
			held <- ed.holdsWithin(bothSent)
		}
		return allow(method, params)
	}
	ed.initialize(e.ws)

	fetch := strings.Replace(srv.fetchCmd(), "curl ", "curl -v ", 1)
	res := ed.mustRun(map[string]any{"runId": "two", "argv": []string{"sh", "-c",
		"(" + fetch + ") & (" + fetch + ") & wait"}})
	select {
	case ok := <-held:
		if !ok {
			t.Errorf("both requests were not sent while the prompt was up; curl's stderr:\n%s", ed.output("two", "stderr"))
		}
	default:
		t.Errorf("the run ended without a prompt")
	}
	if n := len(ed.hostPrompts()); n != 1 {
		t.Errorf("%d prompts; want 1 for both connections", n)
	}
	out := ed.output("two", "stdout")
	if strings.Count(out, helloBody) != 2 || strings.Count(out, "http_code=200") != 2 {
		t.Errorf("stdout %q; want the server's answer twice", out)
	}
	if got := srv.hits.Load(); got != 2 {
		t.Errorf("the server answered %d requests; want 2", got)
	}
	if n := networkOnly(res.Violations); len(n) != 0 {
		t.Errorf("network violations %+v; want none", n)
	}
}

// A policy saved while a command runs decides its next connection: refused
// first, allowed after the save, with no prompt either time. The command
// waits for the test's go-ahead on its input.
func TestHostApprovePolicyChangeReachesRunningCommand(t *testing.T) {
	e := newEnv(t)
	requireTool(t, "curl", "curl")
	srv := startServer(t, serverIP, nil, nil)
	userPolicy := filepath.Join(e.home, ".config", "sandbar", "policy.jsonc")
	e.write(userPolicy, `{"version": 1}`)
	ed := startEditor(t, e, e.ws)
	ed.respond = answerInTurn(&rpcError{Code: -32603, Message: "no prompt was expected"})
	ed.initialize(e.ws)
	g := ed.generation()

	get := curlArgs + " http://" + srv.host + "/"
	_, ch := ed.runAsync(map[string]any{
		"runId":     "long",
		"stdinOpen": true,
		"argv":      []string{"sh", "-c", get + "; echo first-done; read go; " + get},
	})
	ed.await("the first connection", func(s *editorState) bool { return strings.Contains(s.output("long", "stdout"), "first-done") })
	if out := ed.output("long", "stdout"); !strings.Contains(out, "http_code=403") {
		t.Fatalf("first connection: stdout %q; want a 403 before the policy allows the host", out)
	}

	saveByRename(t, e, userPolicy, `{"version": 1, "network": {"allowedDomains": ["`+srv.host+`"]}}`)
	ed.awaitPolicy(g, "the user's policy allowing the server", func(p policyResult) bool {
		return hasRule(p, userPolicy, "network.allowedDomains", srv.host)
	})
	ed.notify("sandbar/input", map[string]any{"runId": "long", "data": "go\n", "eof": true})
	res := ed.runAnswer("the long run", ch)

	out := ed.output("long", "stdout")
	if res.ExitCode != 0 || !strings.Contains(out, "first-done\n"+helloBody) {
		t.Errorf("exit %d, stdout %q; want the second connection to reach the server", res.ExitCode, out)
	}
	if got := srv.hits.Load(); got != 1 {
		t.Errorf("the server answered %d requests; want 1, after the change", got)
	}
	want := []runViolation{{Kind: "network", Target: srv.host, Decision: "denied", Reason: "IP literal", Count: 1}}
	if diff := cmp.Diff(want, networkOnly(res.Violations)); diff != "" {
		t.Errorf("network violations (-want +got):\n%s", diff)
	}
	if p := ed.hostPrompts(); len(p) != 0 {
		t.Errorf("prompts %+v; want none", p)
	}
}

// A run refused a write outside the workspace is offered the narrowest
// entry that allows it; "Allow and re-run" writes it to the folder's
// policy and runs the command again, which now writes; "Deny" does
// neither.
func TestHostApproveFileRerun(t *testing.T) {
	tests := []struct {
		name  string
		allow bool
	}{
		{"Allow and re-run", true},
		{"Deny", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			dir := filepath.Join(e.home, "data", "out")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			target := filepath.Join(dir, "result.txt")
			path := policyPath(e.ws)
			ed := startEditor(t, e, e.ws)
			ed.respond = answerInTurn(tt.name)
			ed.initialize(e.ws)
			g := ed.generation()

			res := ed.mustRun(map[string]any{"runId": "w", "argv": []string{"sh", "-c", "echo made > " + confine.ShellQuote(target)}})
			prompts := ed.hostPrompts()
			if len(prompts) != 1 {
				t.Fatalf("prompts %+v; want one", prompts)
			}
			if diff := cmp.Diff(rerunActions, prompts[0].titles()); diff != "" {
				t.Errorf("the prompt's actions (-want +got):\n%s", diff)
			}
			if m := prompts[0].Message; !strings.Contains(m, target) || !strings.Contains(m, `filesystem.allowWrite "~/data/out"`) {
				t.Errorf("prompt %q; want it to name %s and the entry ~/data/out", m, target)
			}
			if res.ExitCode == 0 {
				t.Errorf("the first run exited 0; want its write refused")
			}
			b, readErr := os.ReadFile(target)
			if !tt.allow {
				if res.Rerun != nil || res.Allowed != nil {
					t.Errorf("rerun %+v, allowed %v; want neither after Deny", res.Rerun, res.Allowed)
				}
				if readErr == nil {
					t.Errorf("%s was written", target)
				}
				if _, err := os.Stat(path); err == nil {
					t.Errorf("Deny wrote %s", path)
				}
				return
			}
			if diff := cmp.Diff([]string{`filesystem.allowWrite "~/data/out" in ` + path}, res.Allowed); diff != "" {
				t.Errorf("allowed (-want +got):\n%s", diff)
			}
			if res.Rerun == nil || res.Rerun.ExitCode != 0 {
				t.Fatalf("rerun %+v; want one that exits 0", res.Rerun)
			}
			if string(b) != "made\n" {
				t.Errorf("%s after the re-run: %q, %v; want made", target, b, readErr)
			}
			if pb, err := os.ReadFile(path); err != nil || !strings.Contains(string(pb), `"~/data/out"`) {
				t.Errorf("the folder's policy: %v\n%s\nwant the entry \"~/data/out\"", err, pb)
			}
			// The entry applies (sandbar/policy says where it leads): the
			// file was trusted as sandbar wrote it.
			ed.awaitPolicy(g, "the folder's policy with the entry", func(p policyResult) bool {
				return hasRule(p, path, "filesystem.allowWrite", dir)
			})
			if n := len(ed.hostPrompts()); n != 1 {
				t.Errorf("%d prompts; want 1: the policy sandbar wrote needs no trust", n)
			}
		})
	}
}

// approvalTrustResult is sandbar/trust's answer.
type approvalTrustResult struct {
	Folder  string   `json:"folder"`
	Path    string   `json:"path"`
	Trusted bool     `json:"trusted"`
	Widens  []string `json:"widens"`
	Answer  string   `json:"answer"`
}

// A workspace policy that widens the sandbox is asked about as it loads;
// "Not now" leaves its entry ignored; sandbar/trust asks again, and
// "Trust" applies it; an edit is new content, asked about once.
func TestHostApproveTrust(t *testing.T) {
	e := newEnv(t)
	shared := filepath.Join(e.root, "shared")
	if err := os.MkdirAll(shared, 0o755); err != nil {
		t.Fatal(err)
	}
	path := policyPath(e.ws)
	content := "// The build writes a shared cache.\n{\n  \"filesystem\": {\"allowWrite\": [\"" + shared + "\"]},\n}\n"
	e.write(path, content)
	ed := startEditor(t, e, e.ws)
	ed.respond = answerInTurn("Not now", "Trust", "Not now")
	ed.initialize(e.ws)

	ed.await("the host's offer to trust the policy", func(s *editorState) bool { return len(s.hostPrompts()) == 1 })
	offer := ed.hostPrompts()[0]
	if diff := cmp.Diff(trustActions, offer.titles()); diff != "" {
		t.Errorf("the offer's actions (-want +got):\n%s", diff)
	}
	if !strings.Contains(offer.Message, shared) {
		t.Errorf("offer %q; want it to name %s", offer.Message, shared)
	}
	p := ed.mustPolicy("")
	if !isIgnored(p, path, "filesystem.allowWrite", shared) || hasRule(p, path, "filesystem.allowWrite", shared) {
		t.Errorf("before trust: rules %+v, ignored %+v; want the entry ignored", p.Rules, p.Ignored)
	}

	g := ed.generation()
	// The user's "Not now" and this request may cross: a request that
	// comes while the offer is still up shares its answer. Ask again until
	// the request has a prompt of its own.
	var res approvalTrustResult
	for try := 1; ; try++ {
		n := len(ed.hostPrompts())
		if err := ed.call("sandbar/trust", map[string]any{"folder": fileURI(e.ws)}, &res); err != nil {
			t.Fatalf("sandbar/trust: %v", err)
		}
		if len(ed.hostPrompts()) > n {
			break
		}
		if res.Answer != "Not now" || try == 3 {
			t.Fatalf("sandbar/trust answered %+v without asking", res)
		}
	}
	if !res.Trusted || res.Answer != "Trust" || res.Path != path {
		t.Errorf("sandbar/trust %+v; want %s trusted by the answer Trust", res, path)
	}
	if diff := cmp.Diff(trustActions, ed.hostPrompts()[1].titles()); diff != "" {
		t.Errorf("sandbar/trust's prompt's actions (-want +got):\n%s", diff)
	}
	ed.awaitApplied(g, "the reload after trust", func(a policyAppliedParams) bool { return a.Cause == "trust" })
	if p := ed.mustPolicy(""); !hasRule(p, path, "filesystem.allowWrite", shared) {
		t.Errorf("after trust: rules %+v; want the entry", p.Rules)
	}

	g = ed.generation()
	edited := strings.Replace(content, "// The build", "// Edited: the build", 1)
	saveByRename(t, e, path, edited)
	ed.await("the offer about the edited policy", func(s *editorState) bool { return len(s.hostPrompts()) == 3 })
	g = ed.awaitPolicy(g, "the edited policy, ignored", func(p policyResult) bool {
		return isIgnored(p, path, "filesystem.allowWrite", shared)
	}).Generation

	// The same content saved again is not asked about again. The host
	// asks as it announces a load: by the answer to a request after the
	// announcement, it would have.
	saveByRename(t, e, path, edited)
	ed.nextApplied(g, "the same content saved again")
	ed.mustPolicy("")
	if n := len(ed.hostPrompts()); n != 3 {
		t.Errorf("%d prompts; want 3: the same content is asked about once", n)
	}
}

// An editor that answers every prompt with an error (the fake editor's
// default) gets everything denied.
func TestHostApproveClientCannotAsk(t *testing.T) {
	tests := []struct {
		name string
		// prepare makes the user's machine before the session starts
		// and returns what to do and check in the session.
		prepare func(t *testing.T, e *env) func(t *testing.T, ed *editor)
	}{
		{"network", func(t *testing.T, e *env) func(t *testing.T, ed *editor) {
			srv := startAskedServer(t, e)
			return func(t *testing.T, ed *editor) {
				res := ed.mustRun(map[string]any{"runId": "net", "argv": []string{"sh", "-c", srv.fetchCmd()}})
				if out := ed.output("net", "stdout"); !strings.Contains(out, "http_code=403") {
					t.Errorf("stdout %q; want a 403", out)
				}
				refused := networkOnly(res.Violations)
				const reason = "not in allowedDomains; approval failed: the editor could not ask"
				if len(refused) != 1 || refused[0].Target != srv.target || !strings.HasPrefix(refused[0].Reason, reason) {
					t.Errorf("network violations %+v; want %s refused: %s", refused, srv.target, reason)
				}
				if n := srv.conns.Load(); n != 0 {
					t.Errorf("the server accepted %d connections; want none", n)
				}
			}
		}},
		{"re-run", func(t *testing.T, e *env) func(t *testing.T, ed *editor) {
			dir := filepath.Join(e.home, "data", "out")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			target := filepath.Join(dir, "result.txt")
			return func(t *testing.T, ed *editor) {
				res := ed.mustRun(map[string]any{"runId": "w", "argv": []string{"sh", "-c", "echo made > " + confine.ShellQuote(target)}})
				if n := len(ed.hostPrompts()); n != 1 {
					t.Errorf("%d prompts; want the one offering a re-run", n)
				}
				if res.Rerun != nil || res.Allowed != nil {
					t.Errorf("rerun %+v, allowed %v; want neither", res.Rerun, res.Allowed)
				}
				if _, err := os.Stat(target); err == nil {
					t.Errorf("%s was written", target)
				}
				if _, err := os.Stat(policyPath(e.ws)); err == nil {
					t.Errorf("%s was written", policyPath(e.ws))
				}
			}
		}},
		{"trust", func(t *testing.T, e *env) func(t *testing.T, ed *editor) {
			shared := filepath.Join(e.root, "shared")
			if err := os.MkdirAll(shared, 0o755); err != nil {
				t.Fatal(err)
			}
			path := policyPath(e.ws)
			e.write(path, `{"filesystem": {"allowWrite": ["`+shared+`"]}}`)
			return func(t *testing.T, ed *editor) {
				ed.await("the host's offer to trust the policy", func(s *editorState) bool { return len(s.hostPrompts()) > 0 })
				var res approvalTrustResult
				if err := ed.call("sandbar/trust", map[string]any{"folder": fileURI(e.ws)}, &res); err != nil {
					t.Fatalf("sandbar/trust: %v", err)
				}
				if res.Trusted || res.Answer != "Not now" {
					t.Errorf("sandbar/trust %+v; want not trusted, answer Not now", res)
				}
				if p := ed.mustPolicy(""); !isIgnored(p, path, "filesystem.allowWrite", shared) || hasRule(p, path, "filesystem.allowWrite", shared) {
					t.Errorf("after sandbar/trust: rules %+v, ignored %+v; want the entry ignored", p.Rules, p.Ignored)
				}
			}
		}},
		{"unconfined", func(t *testing.T, e *env) func(t *testing.T, ed *editor) {
			made := filepath.Join(e.ws, "made.txt")
			return func(t *testing.T, ed *editor) {
				err := ed.call("sandbar/run", map[string]any{"runId": "free", "unconfined": true,
					"argv": []string{"sh", "-c", "echo ran > " + confine.ShellQuote(made)}}, nil)
				if err == nil || !strings.Contains(err.Error(), "not approved") {
					t.Errorf("unconfined run: %v; want it refused as not approved", err)
				}
				if _, err := os.Stat(made); err == nil {
					t.Errorf("the unconfined command ran")
				}
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			check := tt.prepare(t, e)
			ed := startEditor(t, e, e.ws)
			ed.initialize(e.ws)
			check(t, ed)
			if n := len(ed.hostPrompts()); n == 0 {
				t.Errorf("the host asked nothing; want it to have tried")
			}
		})
	}
}
