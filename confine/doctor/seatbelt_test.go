package doctor

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Command lines the macOS checks run on a healthy Mac.
var (
	seatbeltCmd = "/usr/bin/sandbox-exec -p (version 1)(allow default) /usr/bin/true"
	logCmd      = `/usr/bin/log stream --style ndjson --timeout 1s --predicate eventMessage == "sandbar doctor"`
)

func profileCmd(t *testing.T) string {
	t.Helper()
	p, err := probeProfile()
	if err != nil {
		t.Fatal(err)
	}
	return "/usr/bin/sandbox-exec -p " + p + " /usr/bin/true"
}

func healthyMac(t *testing.T) *fakeMachine {
	return &fakeMachine{
		t:     t,
		path:  map[string]string{},
		files: map[string]string{},
		modes: map[string]fs.FileMode{"/usr/bin/sandbox-exec": 0o755},
		runs: map[string]fakeRun{
			seatbeltCmd:   {},
			profileCmd(t): {},
			logCmd:        {},
		},
	}
}

// TestFormatSeatbelt pins the macOS report, wording included. Regenerate
// with: go test ./confine/doctor -update
func TestFormatSeatbelt(t *testing.T) {
	tests := []struct {
		name  string
		setup func(m *fakeMachine)
	}{
		{"darwin-healthy", func(m *fakeMachine) {}},
		{"darwin-missing-sandbox-exec", func(m *fakeMachine) {
			delete(m.modes, "/usr/bin/sandbox-exec")
		}},
		{"darwin-nested-sandbox", func(m *fakeMachine) {
			m.runs[seatbeltCmd] = fakeRun{stderr: "sandbox-exec: sandbox_apply: Operation not permitted\n", err: errExit}
			m.runs[logCmd] = fakeRun{stderr: "log: Cannot run while sandboxed\n", err: errExit}
		}},
		{"darwin-profile-rejected", func(m *fakeMachine) {
			m.runs[profileCmd(t)] = fakeRun{stderr: "sandbox-exec: unbound variable: mach-host*\n", err: errExit}
		}},
		{"darwin-log-not-admin", func(m *fakeMachine) {
			m.runs[logCmd] = fakeRun{stderr: "log: Must be admin to run 'stream' command\n", err: errExit}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := healthyMac(t)
			tt.setup(m)
			env := m.env()
			env.GOOS = "darwin"
			var got bytes.Buffer
			Format(&got, Check(t.Context(), env))
			// The profile is pinned by confine's golden tests; here it
			// would only make the report unreadable.
			text := strings.ReplaceAll(got.String(), profileCmd(t), "PROFILE")

			path := filepath.Join(testdata(t), tt.name+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("reading golden file (run with -update to create it): %v", err)
			}
			if diff := cmp.Diff(string(want), text); diff != "" {
				t.Errorf("Format (-want +got):\n%s\nrun with -update if the change is intended", diff)
			}
		})
	}
}

// TestSeatbeltChecksRunNothingElse checks that the macOS checks never run
// bwrap or read Linux's files, and that a failed trivial profile skips
// the profile check.
func TestSeatbeltChecksRunNothingElse(t *testing.T) {
	m := healthyMac(t)
	m.runs[seatbeltCmd] = fakeRun{stderr: "sandbox-exec: sandbox_apply: Operation not permitted\n", err: errExit}
	env := m.env()
	env.GOOS = "darwin"
	findings := Check(t.Context(), env)
	var checks []string
	for _, f := range findings {
		checks = append(checks, f.Check)
	}
	if diff := cmp.Diff([]string{"sandbox-exec", "seatbelt", "violations"}, checks); diff != "" {
		t.Errorf("checks (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{seatbeltCmd, logCmd}, m.ran); diff != "" {
		t.Errorf("commands run (-want +got):\n%s", diff)
	}
	if len(Blocking(findings)) != 1 {
		t.Errorf("blocking findings: %v", Blocking(findings))
	}
}
