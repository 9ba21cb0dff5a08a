package doctor

import (
	"bytes"
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// TestFormat pins the whole report, wording included, for machines a user
// is likely to have. Regenerate with: go test ./confine/doctor -update
func TestFormat(t *testing.T) {
	tests := []struct {
		name  string
		setup func(m *fakeMachine)
	}{
		{"healthy", func(m *fakeMachine) {}},
		{"missing-bwrap", func(m *fakeMachine) { m.removeBwrap() }},
		{"old-bwrap", func(m *fakeMachine) { m.bwrapVersion("bubblewrap 0.6.1\n") }},
		{"ubuntu-apparmor", func(m *fakeMachine) {
			m.files["/proc/sys/kernel/apparmor_restrict_unprivileged_userns"] = "1\n"
			m.probeFails(stderrUIDMap)
		}},
		{"debian-userns-clone", func(m *fakeMachine) {
			m.files["/proc/sys/kernel/unprivileged_userns_clone"] = "0\n"
			m.probeFails(stderrNoPerms)
		}},
		{"max-user-namespaces", func(m *fakeMachine) {
			m.files["/proc/sys/user/max_user_namespaces"] = "0\n"
			m.probeFails(stderrNoSpace)
		}},
		{"docker", func(m *fakeMachine) {
			m.asRoot()
			m.files["/.dockerenv"] = ""
			m.probeFails(stderrProc)
		}},
		{"no-listener", func(m *fakeMachine) {
			m.listener = errors.New("installing seccomp listener filter: operation not permitted")
		}},
		{"no-landlock", func(m *fakeMachine) {
			m.landlockErr = errors.New("Landlock is not enabled: it is missing from the lsm= list the kernel booted with")
		}},
		{"setuid-no-seccomp", func(m *fakeMachine) {
			m.modes["/usr/bin/bwrap"] = 0o755 | fs.ModeSetuid
			m.files["/proc/self/status"] = "Uid:\t1000\t1000\t1000\t1000\n"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := healthy(t)
			tt.setup(m)
			var got bytes.Buffer
			Format(&got, Check(t.Context(), m.env()))

			path := filepath.Join(testdata(t), tt.name+".golden")
			if *update {
				if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("reading golden file (run with -update to create it): %v", err)
			}
			if diff := cmp.Diff(string(want), got.String()); diff != "" {
				t.Errorf("Format (-want +got):\n%s\nrun with -update if the change is intended", diff)
			}
		})
	}
}

// testdata finds the golden files. `go test` runs in the package directory,
// but a test binary built with -c may run anywhere (the checks are meant to
// be run as an ordinary user, from wherever su leaves them), so fall back
// to the directory this file was compiled from.
func testdata(t *testing.T) string {
	if _, err := os.Stat("testdata"); err == nil {
		return "testdata"
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot find testdata: not in the package directory and no caller information")
	}
	return filepath.Join(filepath.Dir(file), "testdata")
}

// TestFormatLayout pins the layout rules on hand-made findings, apart from
// any check's wording.
func TestFormatLayout(t *testing.T) {
	findings := []Finding{
		{Check: "a", Severity: OK, Summary: "fine"},
		{Check: "bb", Severity: Warn, Summary: "hmm"},
		{Check: "c", Severity: Fail, Summary: "broken", Fix: "first\n  indented\n\nafter blank\n"},
	}
	want := "ok   a: fine\n" +
		"warn bb: hmm\n" +
		"FAIL c: broken\n" +
		"     fix: first\n" +
		"            indented\n" +
		"\n" +
		"          after blank\n"
	var got bytes.Buffer
	Format(&got, findings)
	if diff := cmp.Diff(want, got.String()); diff != "" {
		t.Errorf("Format (-want +got):\n%s", diff)
	}
}
