package e2e

// `sandbar serve` driven by the fake editor (editor_linux_test.go) over
// its real stdin and stdout: the lifecycle, bad input, workspace folders,
// the live policy, and sandbar/explain.

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// policyPath is the policy file of folder.
func policyPath(folder string) string { return filepath.Join(folder, ".sandbar", "policy.jsonc") }

// errorCode is the JSON-RPC code of an error the host answered with.
func errorCode(t *testing.T, err error) int {
	t.Helper()
	var re *rpcError
	if !errors.As(err, &re) {
		t.Fatalf("got %v; want an error answer", err)
	}
	return re.Code
}

func bwrapVersion(t *testing.T) string {
	out, err := exec.Command("bwrap", "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(strings.TrimSpace(string(out)), "bubblewrap ")
}

func TestHostLifecycle(t *testing.T) {
	e := newEnv(t)
	ed := startEditor(t, e, e.ws)
	res := ed.initialize(e.ws)

	var want initializeResult
	want.ServerInfo.Name = "sandbar"
	want.ServerInfo.Version = "dev"
	want.Capabilities.PositionEncoding = "utf-16"
	want.Capabilities.Workspace.WorkspaceFolders.Supported = true
	want.Capabilities.Workspace.WorkspaceFolders.ChangeNotifications = true
	want.Capabilities.Experimental.Sandbar.Backend = "bubblewrap"
	want.Capabilities.Experimental.Sandbar.Version = bwrapVersion(t)
	want.Capabilities.Experimental.Sandbar.Enforces = []string{"filesystem", "network", "violations"}
	sock := res.Capabilities.Experimental.Sandbar.HostSocket
	if fi, err := os.Stat(sock); err != nil || fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Errorf("hostSocket %q: %v, %v; want a socket only the user can open", sock, fi, err)
	}
	want.Capabilities.Experimental.Sandbar.HostSocket = sock
	if diff := cmp.Diff(want, res); diff != "" {
		t.Errorf("initialize result (-want +got):\n%s", diff)
	}

	p := ed.mustPolicy("")
	if p.Folder != fileURI(e.ws) || !cmp.Equal(p.Folders, []string{fileURI(e.ws)}) || p.Backend != "bubblewrap" {
		t.Errorf("sandbar/policy: folder %s, folders %v, backend %q; want the workspace folder and bubblewrap", p.Folder, p.Folders, p.Backend)
	}

	var result json.RawMessage
	if err := ed.call("shutdown", nil, &result); err != nil || string(result) != "null" {
		t.Fatalf("shutdown: %s, %v; want null", result, err)
	}
	if _, err := ed.policy(""); errorCode(t, err) != -32600 {
		t.Errorf("sandbar/policy after shutdown: %v; want -32600", err)
	}
	ed.notify("exit", nil)
	if code := ed.wait(); code != 0 {
		t.Errorf("exit status after shutdown and exit: %d; want 0", code)
	}
}

// LSP: exit ends the server with 0 after shutdown, else 1. The end of
// stdin (the editor gone) ends it the same way.
func TestHostExitStatus(t *testing.T) {
	tests := []struct {
		name     string
		shutdown bool
		end      func(*editor)
		want     int
	}{
		{"exit after shutdown", true, func(ed *editor) { ed.notify("exit", nil) }, 0},
		{"exit without shutdown", false, func(ed *editor) { ed.notify("exit", nil) }, 1},
		{"end of stdin after shutdown", true, func(ed *editor) { ed.stdin.Close() }, 0},
		{"end of stdin without shutdown", false, func(ed *editor) { ed.stdin.Close() }, 1},
	}
	e := newEnv(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ed := startEditor(t, e, e.ws)
			ed.initialize(e.ws)
			if tt.shutdown {
				if err := ed.call("shutdown", nil, nil); err != nil {
					t.Fatalf("shutdown: %v", err)
				}
			}
			tt.end(ed)
			if code := ed.wait(); code != tt.want {
				t.Errorf("exit status %d; want %d", code, tt.want)
			}
		})
	}
}

// Before initialize, a request is refused with -32002 and the host goes
// on waiting for initialize; so it does after an initialize it cannot
// read.
func TestHostBeforeInitialize(t *testing.T) {
	e := newEnv(t)
	ed := startEditor(t, e, e.ws)
	if _, err := ed.policy(""); errorCode(t, err) != -32002 {
		t.Errorf("sandbar/policy before initialize: %v; want -32002", err)
	}
	if err := ed.call("initialize", map[string]any{"workspaceFolders": "not a list"}, nil); errorCode(t, err) != -32602 {
		t.Errorf("initialize with workspaceFolders a string: %v; want -32602", err)
	}
	if _, err := ed.policy(""); errorCode(t, err) != -32002 {
		t.Errorf("sandbar/policy after a failed initialize: %v; want -32002", err)
	}
	ed.initialize(e.ws)
	ed.mustPolicy("")
}

// Each kind of bad input gets its JSON-RPC error, and the host serves the
// next request.
func TestHostBadInput(t *testing.T) {
	e := newEnv(t)
	ed := startEditor(t, e, e.ws)
	ed.initialize(e.ws)
	tests := []struct {
		name string
		// id is the id the answer carries, "" for null (the host could
		// not read one).
		id   string
		send string
		want int
	}{
		{"malformed JSON", "", frameOf(`{"jsonrpc":"2.0","id":"x1","method":`), -32700},
		{"no Content-Length", "", "Content-Type: application/json\r\n\r\n{}", -32700},
		{"not a header", "", `{"jsonrpc":"2.0","id":"x2","method":"sandbar/policy"}` + "\r\n", -32700},
		{"batch", "", frameOf(`[{"jsonrpc":"2.0","id":"x3","method":"sandbar/policy"}]`), -32600},
		{"not JSON-RPC 2.0", `"x4"`, frameOf(`{"jsonrpc":"1.0","id":"x4","method":"sandbar/policy"}`), -32600},
		{"unknown method", `"x5"`, frameOf(`{"jsonrpc":"2.0","id":"x5","method":"sandbar/nope"}`), -32601},
		{"argv of the wrong type", `"x6"`, frameOf(`{"jsonrpc":"2.0","id":"x6","method":"sandbar/explain","params":{"argv":"make"}}`), -32602},
		{"folder of the wrong type", `"x7"`, frameOf(`{"jsonrpc":"2.0","id":"x7","method":"sandbar/policy","params":{"folder":7}}`), -32602},
		{"params of the wrong type", `"x8"`, frameOf(`{"jsonrpc":"2.0","id":"x8","method":"sandbar/policy","params":"ws"}`), -32602},
		{"not a workspace folder", `"x9"`, frameOf(`{"jsonrpc":"2.0","id":"x9","method":"sandbar/policy","params":{"folder":"/nowhere"}}`), -32602},
		{"second initialize", `"x10"`, frameOf(`{"jsonrpc":"2.0","id":"x10","method":"initialize","params":{"capabilities":{}}}`), -32600},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *rpcError
			if tt.id == "" {
				ed.mu.Lock()
				n := len(ed.received.orphans)
				ed.mu.Unlock()
				ed.raw(tt.send)
				ed.await("an answer with a null id", func(s *editorState) bool {
					if len(s.orphans) > n {
						got = s.orphans[n].Error
						return true
					}
					return false
				})
			} else {
				ch := make(chan rpcMessage, 1)
				ed.mu.Lock()
				ed.pending[tt.id] = ch
				ed.mu.Unlock()
				ed.raw(tt.send)
				ed.await("the answer to "+tt.id, func(*editorState) bool { return len(ch) > 0 })
				got = (<-ch).Error
			}
			if got == nil || got.Code != tt.want {
				t.Errorf("answer %+v; want error %d", got, tt.want)
			}
			ed.mustPolicy("") // still serving
		})
	}
}

func frameOf(body string) string { return "Content-Length: " + itoa(len(body)) + "\r\n\r\n" + body }

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// The folders come from workspaceFolders, or from rootUri when there are
// none.
func TestHostInitialFolders(t *testing.T) {
	e := newEnv(t)
	other := filepath.Join(e.root, "other")
	os.MkdirAll(other, 0o755)
	tests := []struct {
		name   string
		params map[string]any
		want   []string
	}{
		{"workspaceFolders", map[string]any{
			"rootUri":          fileURI(other),
			"workspaceFolders": []map[string]string{{"uri": fileURI(e.ws), "name": "ws"}, {"uri": fileURI(other), "name": "other"}},
		}, []string{fileURI(e.ws), fileURI(other)}},
		{"rootUri when workspaceFolders is null", map[string]any{"rootUri": fileURI(other), "workspaceFolders": nil}, []string{fileURI(other)}},
		{"rootUri when workspaceFolders is absent", map[string]any{"rootUri": fileURI(e.ws)}, []string{fileURI(e.ws)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ed := startEditor(t, e, e.ws)
			tt.params["capabilities"] = map[string]any{}
			ed.initializeWith(tt.params)
			if diff := cmp.Diff(tt.want, ed.mustPolicy("").Folders); diff != "" {
				t.Errorf("folders (-want +got):\n%s", diff)
			}
		})
	}
}

// Adding a folder brings its policy into the sandbox (its narrowing
// entries; the widening ones wait for trust); removing it takes it out.
func TestHostFoldersChangeThePolicy(t *testing.T) {
	e := newEnv(t)
	other := filepath.Join(e.root, "other")
	e.write(policyPath(other), `{
  "network": {
    "deniedDomains": ["other.example"],
    "allowedDomains": ["wide.example"],
  },
}
`)
	ed := startEditor(t, e, e.ws)
	ed.initialize(e.ws)
	if got := ed.mustPolicy("").rulesFrom(policyPath(other)); len(got) != 0 {
		t.Fatalf("rules of the other folder before it is added: %v", got)
	}
	change := func(added, removed []string) policyAppliedParams {
		t.Helper()
		list := func(paths []string) []map[string]string {
			out := []map[string]string{}
			for _, p := range paths {
				out = append(out, map[string]string{"uri": fileURI(p), "name": filepath.Base(p)})
			}
			return out
		}
		g := ed.generation()
		ed.notify("workspace/didChangeWorkspaceFolders", map[string]any{"event": map[string]any{"added": list(added), "removed": list(removed)}})
		return ed.nextApplied(g, "the policy of the new folders")
	}

	a := change([]string{other}, nil)
	if !a.OK || a.Cause != "workspaceFolders" || a.Folder == nil || *a.Folder != fileURI(other) {
		t.Errorf("policyApplied after adding a folder: %+v; want ok, cause workspaceFolders, folder %s", a, fileURI(other))
	}
	p := ed.mustPolicy(fileURI(other))
	if p.Folder != fileURI(other) || !cmp.Equal(p.Folders, []string{fileURI(e.ws), fileURI(other)}) {
		t.Errorf("sandbar/policy: folder %s, folders %v; want the added folder among both", p.Folder, p.Folders)
	}
	if diff := cmp.Diff([]string{"network.deniedDomains other.example 3:23"}, p.rulesFrom(policyPath(other))); diff != "" {
		t.Errorf("rules of the added folder (-want +got):\n%s", diff)
	}
	wantIgnored := []policyItem{{Key: "network.allowedDomains", Value: "wide.example", Reason: "network access", File: policyPath(other), URI: fileURI(policyPath(other)), Line: 4, Column: 24}}
	if diff := cmp.Diff(wantIgnored, p.Ignored); diff != "" {
		t.Errorf("ignored entries (-want +got):\n%s", diff)
	}

	if a := change(nil, []string{other}); !a.OK {
		t.Errorf("policyApplied after removing the folder: %+v", a)
	}
	p = ed.mustPolicy("")
	if got := p.rulesFrom(policyPath(other)); len(got) != 0 || !cmp.Equal(p.Folders, []string{fileURI(e.ws)}) {
		t.Errorf("after removing the folder: folders %v, its rules %v; want neither", p.Folders, got)
	}
	if _, err := ed.policy(fileURI(other)); errorCode(t, err) != -32602 {
		t.Errorf("sandbar/policy of a removed folder: %v; want -32602", err)
	}
}

// A saved change to the policy file applies: sandbar/policyApplied says
// so with a new generation, and sandbar/policy answers with the new rule.
func TestHostFollowsPolicyFile(t *testing.T) {
	const before = `{"network": {"deniedDomains": ["one.example"]}}`
	const after = `{"network": {"deniedDomains": ["two.example"]}}`
	tests := []struct {
		name   string
		change func(e *env, path string)
		want   []string // rules from the file afterwards
	}{
		{"saved in place", func(e *env, path string) { e.write(path, after) }, []string{"network.deniedDomains two.example 1:32"}},
		{"saved by rename", func(e *env, path string) {
			tmp := path + ".tmp~"
			e.write(tmp, after)
			if err := os.Rename(tmp, path); err != nil {
				t.Fatal(err)
			}
		}, []string{"network.deniedDomains two.example 1:32"}},
		{"deleted", func(e *env, path string) { os.Remove(path) }, nil},
		{"deleted with its directory", func(e *env, path string) { os.RemoveAll(filepath.Dir(path)) }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			path := policyPath(e.ws)
			e.write(path, before)
			ed := startEditor(t, e, e.ws)
			ed.initialize(e.ws)
			g := ed.generation()
			if got := ed.mustPolicy("").rulesFrom(path); len(got) != 1 {
				t.Fatalf("rules from the policy before the change: %v", got)
			}

			tt.change(e, path)
			a := ed.awaitPolicy(g, "the changed policy", func(p policyResult) bool { return cmp.Equal(tt.want, p.rulesFrom(path)) })
			if a.Cause != "policyFile" || a.Folder == nil || *a.Folder != fileURI(e.ws) {
				t.Errorf("policyApplied %+v; want cause policyFile, folder %s", a, fileURI(e.ws))
			}
			p := ed.mustPolicy("")
			if diff := cmp.Diff(tt.want, p.rulesFrom(path)); diff != "" {
				t.Errorf("rules from the file (-want +got):\n%s", diff)
			}
			if p.Generation <= g {
				t.Errorf("sandbar/policy generation %d; want a generation after %d", p.Generation, g)
			}
			// Never "allow everything": the default still hides secrets.
			if !slicesContain(p.rulesFrom("(built-in default)"), "filesystem.denyRead "+filepath.Join(e.home, ".ssh")) {
				t.Errorf("the default's rules are gone: %v", p.rulesFrom("(built-in default)"))
			}
		})
	}
}

func slicesContain(rules []string, prefix string) bool {
	for _, r := range rules {
		if strings.HasPrefix(r, prefix+" ") {
			return true
		}
	}
	return false
}

// A policy file deleted and made again applies again.
func TestHostPolicyFileMadeAgain(t *testing.T) {
	e := newEnv(t)
	path := policyPath(e.ws)
	e.write(path, `{"network": {"deniedDomains": ["one.example"]}}`)
	ed := startEditor(t, e, e.ws)
	ed.initialize(e.ws)
	os.RemoveAll(filepath.Dir(path))
	g := ed.awaitPolicy(ed.generation(), "the deletion", func(p policyResult) bool { return len(p.rulesFrom(path)) == 0 }).Generation
	e.write(path, `{"network": {"deniedDomains": ["again.example"]}}`)
	ed.awaitPolicy(g, "the policy made again", func(p policyResult) bool {
		return cmp.Equal(p.rulesFrom(path), []string{"network.deniedDomains again.example 1:32"})
	})
}

// An invalid edit keeps the last good policy in force and shows where it
// is wrong: a diagnostic at the exact place (in UTF-16, after characters
// that are wider in UTF-8), and one message. Fixing the file clears the
// diagnostic.
func TestHostInvalidEditKeepsLastGood(t *testing.T) {
	e := newEnv(t)
	path := policyPath(e.ws)
	e.write(path, `{"network": {"deniedDomains": ["one.example"]}}`)
	ed := startEditor(t, e, e.ws)
	ed.initialize(e.ws)
	g := ed.generation()

	// "deniedDomainz" is not a key. Before it on its line: 4 spaces,
	// "/* ", "é" (2 bytes, 1 UTF-16 unit), "😀" (4 bytes, 2 units), " */ ":
	// byte column 18, UTF-16 character 14; the key is 15 units long.
	saveByRename(t, e, path, "{\n  \"network\": {\n    /* é😀 */ \"deniedDomainz\": [\"two.example\"],\n  },\n}\n")
	a := ed.awaitApplied(g, "the invalid edit", func(a policyAppliedParams) bool { return !a.OK })
	if a.Cause != "policyFile" || a.Folder == nil || *a.Folder != fileURI(e.ws) || len(a.Errors) != 1 || a.Errors[0].File != path || a.Errors[0].Line != 3 || a.Errors[0].Column != 18 {
		t.Errorf("policyApplied %+v; want one error at %s:3:18", a, path)
	}
	ed.mu.Lock()
	diags, _ := ed.received.diagnostics(fileURI(path))
	shown := decoded[messageParams](ed.received.named("window/showMessage"))
	ed.mu.Unlock()
	var want diagnostic
	want.Range.Start = lspPosition{Line: 2, Character: 14}
	want.Range.End = lspPosition{Line: 2, Character: 29}
	want.Severity = 1
	want.Source = "sandbar"
	if len(diags) != 1 {
		t.Fatalf("diagnostics on the policy file: %+v; want one", diags)
	}
	want.Message = diags[0].Message
	if diff := cmp.Diff(want, diags[0]); diff != "" || !strings.Contains(diags[0].Message, "deniedDomainz") {
		t.Errorf("diagnostic (-want +got):\n%s\nmessage: %s", diff, diags[0].Message)
	}
	if len(shown) != 1 || shown[0].Type != 1 || !strings.Contains(shown[0].Message, "previous policy stays in force") {
		t.Errorf("messages shown: %+v; want one error saying the previous policy stays in force", shown)
	}
	p := ed.mustPolicy("")
	if got := p.rulesFrom(path); !cmp.Equal(got, []string{"network.deniedDomains one.example 1:32"}) || p.Generation != g {
		t.Errorf("sandbar/policy after the invalid edit: generation %d, rules %v; want generation %d and the old rule", p.Generation, got, g)
	}

	saveByRename(t, e, path, `{"network": {"deniedDomains": ["two.example"]}}`)
	ed.awaitApplied(a.Generation, "the fixed policy", func(a policyAppliedParams) bool { return a.OK })
	ed.await("the diagnostics cleared", func(s *editorState) bool {
		d, found := s.diagnostics(fileURI(path))
		return found && d != nil && len(d) == 0
	})
	if got := ed.mustPolicy("").rulesFrom(path); !cmp.Equal(got, []string{"network.deniedDomains two.example 1:32"}) {
		t.Errorf("rules after the fix: %v", got)
	}
}

// A client that can count in bytes gets byte columns.
func TestHostDiagnosticsInUTF8(t *testing.T) {
	e := newEnv(t)
	path := policyPath(e.ws)
	ed := startEditor(t, e, e.ws)
	res := ed.initializeWith(map[string]any{
		"workspaceFolders": []map[string]string{{"uri": fileURI(e.ws), "name": "ws"}},
		"capabilities":     map[string]any{"general": map[string]any{"positionEncodings": []string{"utf-8", "utf-16"}}},
	})
	if res.Capabilities.PositionEncoding != "utf-8" {
		t.Fatalf("positionEncoding %q; want utf-8", res.Capabilities.PositionEncoding)
	}
	g := ed.generation()
	saveByRename(t, e, path, "{/* é😀 */ \"netwrk\": {}}")
	ed.awaitApplied(g, "the invalid policy", func(a policyAppliedParams) bool { return !a.OK })
	ed.mu.Lock()
	diags, _ := ed.received.diagnostics(fileURI(path))
	ed.mu.Unlock()
	if len(diags) != 1 || diags[0].Range.Start != (lspPosition{0, 14}) || diags[0].Range.End != (lspPosition{0, 22}) {
		t.Errorf("diagnostics %+v; want one from 0:14 to 0:22", diags)
	}
}

type messageParams struct {
	Type    int    `json:"type"`
	Message string `json:"message"`
}

// saveByRename saves content to path as many editors do: a new file
// renamed over the old one, so the host sees one change.
func saveByRename(t *testing.T, e *env, path, content string) {
	t.Helper()
	tmp := path + ".tmp~"
	e.write(tmp, content)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// sandbar/explain answers with what `sandbar explain` prints.
func TestHostExplainMatchesCLI(t *testing.T) {
	e := newEnv(t)
	sub := filepath.Join(e.ws, "sub")
	os.MkdirAll(sub, 0o755)
	ed := startEditor(t, e, e.ws)
	ed.initialize(e.ws)
	tests := []struct {
		name string
		cwd  string // as the request names it
		dir  string // where the CLI runs
	}{
		{"the first folder by default", "", e.ws},
		{"a relative cwd", "sub", sub},
		{"a cwd URI", fileURI(sub), sub},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			params := map[string]any{"argv": []string{"make", "-j4"}}
			if tt.cwd != "" {
				params["cwd"] = tt.cwd
			}
			var res struct {
				Backend string `json:"backend"`
				Cwd     string `json:"cwd"`
				Text    string `json:"text"`
			}
			if err := ed.call("sandbar/explain", params, &res); err != nil {
				t.Fatalf("sandbar/explain: %v", err)
			}
			cli := e.sandbar(tt.dir, "explain", "--", "make", "-j4")
			if cli.code != 0 {
				t.Fatalf("sandbar explain: %+v", cli)
			}
			if res.Backend != "bubblewrap" || res.Cwd != tt.dir {
				t.Errorf("backend %q, cwd %q; want bubblewrap, %s", res.Backend, res.Cwd, tt.dir)
			}
			if diff := cmp.Diff(cli.stdout, res.Text); diff != "" {
				t.Errorf("sandbar/explain text (-CLI +host):\n%s", diff)
			}
		})
	}
}

// A session whose policy has errors from the start has no policy in
// force: sandbar/policy fails with the errors until the file is fixed.
func TestHostStartsWithInvalidPolicy(t *testing.T) {
	e := newEnv(t)
	path := policyPath(e.ws)
	e.write(path, `{"netwrk": {}}`)
	ed := startEditor(t, e, e.ws)
	ed.initialize(e.ws)
	ed.mu.Lock()
	first := ed.received.applied()[0]
	ed.mu.Unlock()
	if first.OK || first.Cause != "initialize" || len(first.Errors) != 1 || first.Errors[0].Line != 1 || first.Errors[0].Column != 2 {
		t.Errorf("first policyApplied %+v; want not ok, one error at 1:2", first)
	}
	_, err := ed.policy("")
	var re *rpcError
	if !errors.As(err, &re) || re.Code != -32803 || !strings.Contains(string(re.Data), `"line":1,"column":2`) {
		t.Fatalf("sandbar/policy with no good policy: %v (data %s); want -32803 with the error", err, dataOf(re))
	}

	saveByRename(t, e, path, `{"network": {"deniedDomains": ["fixed.example"]}}`)
	ed.awaitPolicy(first.Generation, "the fixed policy", func(p policyResult) bool {
		return cmp.Equal(p.rulesFrom(path), []string{"network.deniedDomains fixed.example 1:32"})
	})
	ed.await("the diagnostics cleared", func(s *editorState) bool {
		d, found := s.diagnostics(fileURI(path))
		return found && d != nil && len(d) == 0
	})
}

func dataOf(re *rpcError) string {
	if re == nil {
		return ""
	}
	return string(re.Data)
}

// A folder opened through a symbolic link gets its diagnostics on the
// path the editor opened, not the resolved one.
func TestHostDiagnosticsUseTheEditorsPath(t *testing.T) {
	e := newEnv(t)
	link := filepath.Join(e.root, "link")
	if err := os.Symlink(e.ws, link); err != nil {
		t.Fatal(err)
	}
	ed := startEditor(t, e, e.ws)
	ed.initialize(link)
	g := ed.generation()
	saveByRename(t, e, policyPath(e.ws), `{"netwrk": {}}`)
	ed.awaitApplied(g, "the invalid policy", func(a policyAppliedParams) bool { return !a.OK })
	ed.mu.Lock()
	diags, found := ed.received.diagnostics(fileURI(policyPath(link)))
	ed.mu.Unlock()
	if !found || len(diags) != 1 {
		t.Errorf("diagnostics on %s: %+v (found %v); want one", fileURI(policyPath(link)), diags, found)
	}
	if p := ed.mustPolicy(""); !cmp.Equal(p.Folders, []string{fileURI(link)}) {
		t.Errorf("folders %v; want the folder as the editor named it", p.Folders)
	}
}

// sandbar/policy shows the git section too: which hosts the proxy signs
// for, where a push may go, and the two flags, each where it was written.
func TestHostPolicyShowsGit(t *testing.T) {
	e := newEnv(t)
	user := filepath.Join(e.home, ".config", "sandbar", "policy.jsonc")
	e.write(user, `{
  "git": {
    "hosts": ["git.example"],
    "push": {"branches": ["agent/*"], "repositories": ["git.example/me/*"]},
    "forcePush": true,
  },
}
`)
	ed := startEditor(t, e, e.ws)
	ed.initialize(e.ws)
	got := ed.mustPolicy("").rulesFrom(user)
	want := []string{
		"git.hosts git.example 3:15",
		"git.push.branches agent/* 4:27",
		"git.push.repositories git.example/me/* 4:56",
		"git.forcePush true 5:18",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("git rules of %s (-want +got):\n%s", user, diff)
	}
}
