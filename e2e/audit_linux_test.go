package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAuditLogRecordsARun: a run's refused write and the run itself are
// in the audit log, and `sandbar audit` shows them; the log is where the
// sandbox cannot write.
func TestAuditLogRecordsARun(t *testing.T) {
	e := newEnv(t)
	target := filepath.Join(e.home, "notes.txt")
	if r := e.sandbar(e.ws, "run", "--quiet", "--", "/bin/sh", "-c", "echo x > "+target+"; true"); r.code != 0 {
		t.Fatalf("sandbar run: %d\n%s", r.code, r.stderr)
	}
	r := e.sandbar(e.ws, "audit", "--json")
	if r.code != 0 {
		t.Fatalf("sandbar audit --json: %d\n%s", r.code, r.stderr)
	}
	type entry struct {
		Kind, Target, Decision, How, Run string
		Command                          []string
	}
	var kinds []string
	var file, run *entry
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var en entry
		if err := json.Unmarshal([]byte(line), &en); err != nil {
			t.Fatalf("audit line %q: %v", line, err)
		}
		kinds = append(kinds, en.Kind)
		switch {
		case en.Kind == "file" && en.Target == target:
			file = &en
		case en.Kind == "run":
			run = &en
		}
	}
	if file == nil || file.Decision != "denied" || file.How != "policy" {
		t.Errorf("audit entries %v: want the refused write of %s, denied by policy; got %+v", kinds, target, file)
	}
	if run == nil || len(run.Command) == 0 || run.Command[0] != "/bin/sh" || run.Run == "" || file == nil || file.Run != run.Run {
		t.Errorf("audit: run entry %+v; want the command and the same run id as its refusals", run)
	}
	human := e.sandbar(e.ws, "audit")
	if human.code != 0 || !strings.Contains(human.stdout, target) {
		t.Errorf("sandbar audit: %d, output\n%s\nwant a line naming %s", human.code, human.stdout, target)
	}

	// The sandbox cannot forge entries.
	log := filepath.Join(e.home, ".local", "state", "sandbar", "audit.jsonl")
	if _, err := os.Stat(log); err != nil {
		t.Fatalf("the audit log is not where the test expects it: %v", err)
	}
	if r := e.sandbar(e.ws, "run", "--quiet", "--", "/bin/sh", "-c", "echo '{}' >> "+log); r.code == 0 {
		t.Errorf("a confined command appended to the audit log %s", log)
	}
}
