package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// editorForTerminals starts an editor whose host answers every prompt
// with answer, and returns the host's terminal socket and the prompts'
// messages as they come.
func editorForTerminals(t *testing.T, e *env, answer string) (sock string, messages func() []string) {
	t.Helper()
	ed := startEditor(t, e, e.ws)
	var mu sync.Mutex
	var seen []string
	ed.respond = func(method string, params json.RawMessage) (any, *rpcError) {
		if method != "window/showMessageRequest" {
			return nil, &rpcError{Code: -32601, Message: "not " + method}
		}
		var p struct {
			Message string `json:"message"`
		}
		json.Unmarshal(params, &p)
		mu.Lock()
		seen = append(seen, p.Message)
		mu.Unlock()
		return map[string]string{"title": answer}, nil
	}
	res := ed.initialize(e.ws)
	sock = res.Capabilities.Experimental.Sandbar.HostSocket
	if sock == "" {
		t.Fatal("initialize gave no hostSocket")
	}
	return sock, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen...)
	}
}

// sandbar run in an editor's terminal (SANDBAR_HOST set) asks the editor,
// not the terminal, about an undecided host.
func TestTerminalRunAsksTheEditor(t *testing.T) {
	for _, tc := range []struct {
		answer, want string
	}{
		{"Allow once", "code:200"},
		{"Deny", "code:403"},
	} {
		t.Run(tc.answer, func(t *testing.T) {
			e := newEnv(t)
			port := approvalServer(t, e)
			sock, messages := editorForTerminals(t, e, tc.answer)
			e.extraEnv = append(e.extraEnv, "SANDBAR_HOST="+sock)
			r := e.sandbar(e.ws, append([]string{"run", "--"}, fetchLocalhost(port)...)...)
			if !strings.Contains(r.stdout, tc.want) {
				t.Errorf("sandbar run answered %q: stdout %q, stderr %q; want %s", tc.answer, r.stdout, r.stderr, tc.want)
			}
			ms := messages()
			if len(ms) != 1 || !strings.Contains(ms[0], "localhost:"+port) || !strings.Contains(ms[0], "`sh`") {
				t.Errorf("the editor was asked %q; want one question naming sh and localhost:%s", ms, port)
			}
		})
	}
}

// With the editor gone, sandbar run falls back to asking on the terminal,
// and with no terminal, denies.
func TestTerminalRunWithTheEditorGone(t *testing.T) {
	e := newEnv(t)
	port := approvalServer(t, e)
	e.extraEnv = append(e.extraEnv, "SANDBAR_HOST="+filepath.Join(t.TempDir(), "gone.sock"))
	r := e.sandbar(e.ws, append([]string{"run", "--"}, fetchLocalhost(port)...)...)
	if !strings.Contains(r.stdout, "code:403") || !strings.Contains(r.stderr, "reaching the editor") {
		t.Errorf("stdout %q, stderr %q; want a refusal and a word that the editor could not be reached", r.stdout, r.stderr)
	}
}

// No sandbox can see the hosts' sockets, even one whose policy allows
// Unix sockets and reading the directory, and the command's environment
// does not carry SANDBAR_HOST.
func TestTerminalSocketIsHiddenFromTheSandbox(t *testing.T) {
	e := newEnv(t)
	// Not the temporary directory, which every sandbox has its own of.
	run := filepath.Join(e.home, "run")
	if err := os.Mkdir(run, 0o700); err != nil {
		t.Fatal(err)
	}
	e.extraEnv = append(e.extraEnv, "XDG_RUNTIME_DIR="+run)
	sock, _ := editorForTerminals(t, e, "Deny")
	dir := filepath.Dir(sock)
	if !strings.HasPrefix(sock, run+"/") {
		t.Fatalf("hostSocket %s is not under $XDG_RUNTIME_DIR %s", sock, run)
	}
	e.write(filepath.Join(e.home, ".config", "sandbar", "policy.jsonc"),
		`{"version": 1, "filesystem": {"allowRead": [`+jsonString(dir)+`]}, "network": {"allowUnixSockets": [`+jsonString(sock)+`]}}`)
	e.extraEnv = append(e.extraEnv, "SANDBAR_HOST="+sock)
	r := e.sandbar(e.ws, "run", "--quiet", "--", "/bin/sh", "-c", `test -e "$1" && echo visible; echo "host=$SANDBAR_HOST"`, "sh", sock)
	if r.code != 0 || !strings.Contains(r.stdout, "host=") {
		t.Fatalf("sandbar run: %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stdout, "visible") || strings.Contains(r.stdout, sock) {
		t.Errorf("inside the sandbox: %q (stderr %q); want the socket hidden and SANDBAR_HOST unset", r.stdout, r.stderr)
	}
	if _, err := os.Stat(sock); err != nil {
		t.Fatalf("the socket is not there on the host either: %v", err)
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
