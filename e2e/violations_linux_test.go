package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sandbar-dev/sandbar/confine"
)

// A refused write is reported by the real binary as it was refused: in
// the report with its path, operation and rule, and on stderr with the
// policy entry that would allow it. Writes the sandbox allows are not.
func TestRefusedWritesAreReported(t *testing.T) {
	e := newEnv(t)
	target := filepath.Join(e.outside, "build-output", "a.txt")
	os.MkdirAll(filepath.Dir(target), 0o755)
	report := filepath.Join(e.root, "report.json")
	r := e.sandbar(e.ws, "run", "--report", report, "--", "sh", "-c",
		"echo ok > inside.txt; echo no > "+confine.ShellQuote(target)+"; echo no >> "+confine.ShellQuote(target)+"; true")
	if r.code != 0 {
		t.Fatalf("sandbar run: exit %d\n%s", r.code, r.stderr)
	}
	b, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Violations []confine.Violation `json:"violations"`
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, b)
	}
	if len(rep.Violations) != 1 {
		t.Fatalf("violations %+v; want exactly one (the outside file, twice)", rep.Violations)
	}
	v := rep.Violations[0]
	if v.Kind != "file-write" || v.Operation != "create" || v.Path != target || v.Rule != "default: read-only" || v.Count != 2 || v.Comm != "sh" {
		t.Errorf("violation %+v; want file-write create %s by sh, rule default: read-only, count 2", v, target)
	}
	for _, want := range []string{
		"create " + target + ", default: read-only; refused (2 times)",
		`to allow it, add "` + filepath.Dir(target) + `" to filesystem.allowWrite`,
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if _, err := os.Stat(target); err == nil {
		t.Errorf("%s was written", target)
	}
}
