package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// approvalServer is a web server the proxy may reach once the name
// "localhost" is approved: the user policy lists its addresses, not the
// name, so the name is undecided and asked about.
func approvalServer(t *testing.T, e *env) (port string) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "hello from the host\n")
	}))
	t.Cleanup(srv.Close)
	port = srv.URL[strings.LastIndexByte(srv.URL, ':')+1:]
	e.write(filepath.Join(e.home, ".config", "sandbar", "policy.jsonc"),
		fmt.Sprintf(`{"version": 1, "network": {"allowedDomains": ["127.0.0.1:%s", "[::1]:%s"]}}`, port, port))
	return port
}

// fetchLocalhost is a command that fetches the server by name through
// the proxy (NO_PROXY would otherwise send localhost direct).
func fetchLocalhost(port string) []string {
	return []string{"sh", "-c", `curl -sS --noproxy '' -x http://127.0.0.1:3128 -o /dev/null -w 'code:%{http_code}\n' http://localhost:` + port + `/`}
}

func TestApproveForThisWorkspace(t *testing.T) {
	e := newEnv(t)
	port := approvalServer(t, e)
	policyPath := filepath.Join(e.ws, ".sandbar", "policy.jsonc")
	e.write(policyPath, "// The team's policy.\n{\n  \"version\": 1,\n  \"network\": {\n    \"allowedDomains\": [\n      \"registry.example\", // packages\n    ],\n  },\n}\n")
	if r := e.sandbar(e.ws, "trust", "--yes", e.ws); r.code != 0 {
		t.Fatalf("sandbar trust: %d %s", r.code, r.stderr)
	}

	cmd, term, lines := runInTerminal(t, e, append([]string{"run", "--"}, fetchLocalhost(port)...)...)
	expectLine(t, lines, "wants to connect to localhost:"+port)
	io.WriteString(term, "w")
	expectLine(t, lines, "code:200")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("sandbar run: %v", err)
	}

	b, _ := os.ReadFile(policyPath)
	for _, want := range []string{"// The team's policy.", "// packages", `"localhost:` + port + `"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("policy file after allow-for-workspace lacks %q:\n%s", want, b)
		}
	}
	// The next run, with nobody to ask, is allowed by the file.
	r := e.sandbar(e.ws, append([]string{"run", "--"}, fetchLocalhost(port)...)...)
	if !strings.Contains(r.stdout, "code:200") {
		t.Errorf("second run without a terminal: %q %q; want code:200 from the approved policy", r.stdout, r.stderr)
	}
}

func TestApproveDeny(t *testing.T) {
	e := newEnv(t)
	port := approvalServer(t, e)
	cmd, term, lines := runInTerminal(t, e, append([]string{"run", "--"}, fetchLocalhost(port)...)...)
	expectLine(t, lines, "wants to connect to localhost:"+port)
	io.WriteString(term, "d")
	expectLine(t, lines, "code:403")
	cmd.Wait()
	if _, err := os.Stat(filepath.Join(e.ws, ".sandbar", "policy.jsonc")); err == nil {
		t.Error("deny wrote a policy file")
	}
}

func TestNobodyToAskDenies(t *testing.T) {
	e := newEnv(t)
	port := approvalServer(t, e)
	report := filepath.Join(e.root, "report.json")
	r := e.sandbar(e.ws, append([]string{"run", "--report", report, "--"}, fetchLocalhost(port)...)...)
	if !strings.Contains(r.stdout, "code:403") {
		t.Errorf("run without a terminal: %q %q; want code:403", r.stdout, r.stderr)
	}
	b, _ := os.ReadFile(report)
	if !strings.Contains(string(b), `"target": "localhost:`+port+`"`) || !strings.Contains(string(b), "no terminal to ask on") {
		t.Errorf("report lacks the refusal:\n%s", b)
	}
}
