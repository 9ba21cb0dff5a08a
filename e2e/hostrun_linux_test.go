package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runResult is sandbar/run's answer, as a client reads it.
type runResult struct {
	RunID      string          `json:"runId"`
	ExitCode   int             `json:"exitCode"`
	Signal     *string         `json:"signal"`
	DurationMs int64           `json:"durationMs"`
	Violations []runViolation  `json:"violations"`
	Cancelled  bool            `json:"cancelled"`
	TimedOut   bool            `json:"timedOut"`
	Confined   bool            `json:"confined"`
	Rerun      *runResult      `json:"rerun"`
	Allowed    []string        `json:"allowed"`
	Extra      json.RawMessage `json:"-"`
}

type runViolation struct {
	RunID     string `json:"runId"`
	Kind      string `json:"kind"`
	Operation string `json:"operation"`
	Path      string `json:"path"`
	Target    string `json:"target"`
	Decision  string `json:"decision"`
	Reason    string `json:"reason"`
	Count     int    `json:"count"`
}

type outputParams struct {
	RunID  string `json:"runId"`
	Stream string `json:"stream"`
	Data   string `json:"data"`
}

// output is everything the host sent as sandbar/output for run id on
// stream.
func (s *editorState) output(id, stream string) string {
	var b strings.Builder
	for _, raw := range s.named("sandbar/output") {
		var o outputParams
		if json.Unmarshal(raw, &o) == nil && o.RunID == id && o.Stream == stream {
			b.WriteString(o.Data)
		}
	}
	return b.String()
}

func (ed *editor) output(id, stream string) string {
	ed.mu.Lock()
	defer ed.mu.Unlock()
	return ed.received.output(id, stream)
}

// TestHostRunConfines: sandbar/run runs the command in the sandbox of the
// session's folders: it writes the workspace, not outside it, and its
// output arrives before its result.
func TestHostRunConfines(t *testing.T) {
	e := newEnv(t)
	ed := startEditor(t, e, e.ws)
	ed.initialize(e.ws)
	outside := filepath.Join(e.home, "outside.txt")
	var res runResult
	err := ed.call("sandbar/run", map[string]any{
		"runId": "one",
		"argv":  []string{"/bin/sh", "-c", "echo inside > made.txt; echo hello; echo oops >&2; echo x > " + outside + "; exit 3"},
	}, &res)
	if err != nil {
		t.Fatalf("sandbar/run: %v", err)
	}
	if res.RunID != "one" || res.ExitCode != 3 || !res.Confined {
		t.Errorf("result %+v; want run one, exit 3, confined", res)
	}
	if got := ed.output("one", "stdout"); got != "hello\n" {
		t.Errorf("stdout %q; want hello", got)
	}
	if got := ed.output("one", "stderr"); !strings.Contains(got, "oops") {
		t.Errorf("stderr %q; want oops", got)
	}
	if b, err := os.ReadFile(filepath.Join(e.ws, "made.txt")); err != nil || string(b) != "inside\n" {
		t.Errorf("the workspace write: %q, %v", b, err)
	}
	if _, err := os.Stat(outside); err == nil {
		t.Errorf("the command wrote %s, outside the workspace", outside)
	}
	found := false
	for _, v := range res.Violations {
		if v.Kind == "file-write" && v.Path == outside {
			found = true
		}
	}
	if !found {
		t.Errorf("violations %+v; want the refused write of %s", res.Violations, outside)
	}
}
