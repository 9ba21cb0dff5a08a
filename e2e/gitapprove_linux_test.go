package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// The first push of a run to a repository the policy does not list is
// asked in the editor when the run comes from the editor; "Allow for
// workspace" lets it through and lists the repository in the folder's
// policy, so the next push is not asked.
func TestGitFirstPushAskedInTheEditor(t *testing.T) {
	c := newGitCase(t, map[string]any{"branches": []string{"agent/*"}})
	c.run(t, "git clone -q "+c.url+" cloned", true)
	b, err := os.ReadFile(c.policy)
	if err != nil {
		t.Fatal(err)
	}
	c.e.write(filepath.Join(c.e.home, ".config", "sandbar", "policy.jsonc"), string(b))

	ed := startEditor(t, c.e, c.e.ws)
	var mu sync.Mutex
	var asked []string
	ed.respond = func(method string, params json.RawMessage) (any, *rpcError) {
		if method != "window/showMessageRequest" {
			return nil, &rpcError{Code: -32601, Message: "not " + method}
		}
		var p struct {
			Message string `json:"message"`
		}
		json.Unmarshal(params, &p)
		mu.Lock()
		asked = append(asked, p.Message)
		mu.Unlock()
		return map[string]string{"title": "Allow for workspace"}, nil
	}
	ed.initialize(c.e.ws)
	push := func(branch string) runResult {
		t.Helper()
		var res runResult
		if err := ed.call("sandbar/run", map[string]any{
			"argv": []string{"/bin/sh", "-c", "cd cloned && " + commitScript + " && git push -q origin HEAD:" + branch + " 2>&1"},
		}, &res); err != nil {
			t.Fatalf("sandbar/run: %v", err)
		}
		return res
	}
	if res := push("agent/first"); res.ExitCode != 0 {
		t.Fatalf("the approved push failed: %+v\n%s", res, ed.output(res.RunID, "stdout"))
	}
	if c.ref("refs/heads/agent/first") == "" {
		t.Error("the approved push did not reach the host")
	}
	key := c.host.host + "/org/repo"
	mu.Lock()
	if len(asked) != 1 || !strings.Contains(asked[0], key) || !strings.Contains(asked[0], "refs/heads/agent/first") {
		t.Errorf("the editor was asked %q; want one question naming %s and the branch", asked, key)
	}
	mu.Unlock()
	policy, err := os.ReadFile(filepath.Join(c.e.ws, ".sandbar", "policy.jsonc"))
	if err != nil {
		out, _ := exec.Command("find", c.e.root, "-name", "*.jsonc").CombinedOutput()
		t.Logf("policy files: %s", out)
	}
	if !strings.Contains(string(policy), `"`+key+`"`) {
		t.Errorf("the workspace policy does not list %s:\n%s", key, policy)
	}
	// A new run: the repository is listed now, so nothing is asked.
	ed.awaitApplied(0, "the workspace policy with the repository", func(p policyAppliedParams) bool { return p.OK && p.Cause == "policyFile" })
	if res := push("agent/second"); res.ExitCode != 0 {
		t.Fatalf("the second push failed: %+v", res)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(asked) != 1 {
		t.Errorf("asked again: %q", asked)
	}
}
