package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sandbar-dev/sandbar/workspace/auditlog"
)

var (
	auditTime = time.Date(2026, 11, 27, 17, 40, 2, 0, time.UTC)

	deniedAsked = auditlog.Entry{
		Time: auditTime, PID: 42,
		Kind: auditlog.KindNetwork, Target: "evil.example:443",
		Decision: auditlog.Denied, How: auditlog.HowAsked, By: "user (Visual Studio Code)", Answer: "Deny",
		Run: "r3", Command: []string{"curl", "https://evil.example"},
	}
	allowedByPolicy = auditlog.Entry{
		Time: auditTime.Add(time.Second), PID: 42,
		Kind: auditlog.KindNetwork, Target: "registry.npmjs.org:443",
		Decision: auditlog.Allowed, How: auditlog.HowPolicy, By: "policy",
		Run: "r3", Command: []string{"npm", "install"},
	}
	timedOut = auditlog.Entry{
		Time: auditTime.Add(2 * time.Second), PID: 42,
		Kind: auditlog.KindFile, Target: "/home/me/my notes.txt", Operation: "write",
		Decision: auditlog.Denied, How: auditlog.HowTimeout, By: "user (terminal)",
		Reason: "no answer in 60s",
	}
)

func TestPrintAudit(t *testing.T) {
	tests := []struct {
		name       string
		entries    []auditlog.Entry
		extra      string // appended to the file after the entries
		n          int
		asJSON     bool
		wantOut    string
		wantErr    string // a substring of stderr; "" for none
		wantStatus int
	}{
		{
			name:    "entries aligned, oldest first",
			entries: []auditlog.Entry{deniedAsked, allowedByPolicy, timedOut},
			n:       20,
			wantOut: `2026-11-27 17:40:02  denied   network  evil.example:443               asked, answered "Deny" by user (Visual Studio Code)         run r3  curl https://evil.example
2026-11-27 17:40:03  allowed  network  registry.npmjs.org:443         by policy                                                   run r3  npm install
2026-11-27 17:40:04  denied   file     write '/home/me/my notes.txt'  asked user (terminal), no answer in time: no answer in 60s
`,
		},
		{
			name:    "only the last n",
			entries: []auditlog.Entry{deniedAsked, allowedByPolicy, timedOut},
			n:       1,
			wantOut: "2026-11-27 17:40:04  denied  file  write '/home/me/my notes.txt'  asked user (terminal), no answer in time: no answer in 60s\n",
		},
		{
			name:    "json is the file's lines",
			entries: []auditlog.Entry{deniedAsked, allowedByPolicy},
			n:       20,
			asJSON:  true,
			wantOut: `{"time":"2026-11-27T17:40:02Z","kind":"network","target":"evil.example:443","decision":"denied","how":"asked","by":"user (Visual Studio Code)","answer":"Deny","run":"r3","command":["curl","https://evil.example"],"pid":42}
{"time":"2026-11-27T17:40:03Z","kind":"network","target":"registry.npmjs.org:443","decision":"allowed","how":"policy","by":"policy","run":"r3","command":["npm","install"],"pid":42}
`,
		},
		{
			name: "what a confined command chose is printed escaped",
			entries: []auditlog.Entry{{
				Time: auditTime, Kind: auditlog.KindFile, Target: "/tmp/x\n2026-11-27 17:40:03  allowed",
				Operation: "write", Decision: auditlog.Denied, How: auditlog.HowPolicy,
				Command: []string{"sh", "-c", "printf '\x1b[2J'"},
			}},
			n:       20,
			wantOut: `2026-11-27 17:40:02  denied  file  write "/tmp/x\n2026-11-27 17:40:03  allowed"  by policy    sh -c "printf '\x1b[2J'"` + "\n",
		},
		{
			name:    "a damaged line is skipped and said",
			entries: []auditlog.Entry{allowedByPolicy},
			extra:   `{"time":"2026-11-27T17:4`,
			n:       20,
			wantOut: "2026-11-27 17:40:03  allowed  network  registry.npmjs.org:443  by policy  run r3  npm install\n",
			wantErr: "skipped 1 damaged line of",
		},
		{
			name:    "an empty log says where it is",
			n:       20,
			wantOut: "Nothing has been logged yet in LOG.\n",
		},
		{
			name:    "an empty log leaves json output empty",
			n:       20,
			asJSON:  true,
			wantErr: "Nothing has been logged yet in LOG.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), auditlog.FileName)
			l := auditlog.Open(path, auditlog.Options{})
			for _, e := range tt.entries {
				if err := l.Append(e); err != nil {
					t.Fatal(err)
				}
			}
			if tt.extra != "" {
				f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
				if err != nil {
					t.Fatal(err)
				}
				f.WriteString(tt.extra)
				f.Close()
			}
			var stdout, stderr bytes.Buffer
			status := printAudit(&stdout, &stderr, path, tt.n, tt.asJSON, time.UTC)
			if status != tt.wantStatus {
				t.Errorf("status %d, want %d; stderr: %s", status, tt.wantStatus, stderr.String())
			}
			wantOut := strings.ReplaceAll(tt.wantOut, "LOG", path)
			if diff := cmp.Diff(wantOut, stdout.String()); diff != "" {
				t.Errorf("stdout (-want +got):\n%s", diff)
			}
			wantErr := strings.ReplaceAll(tt.wantErr, "LOG", path)
			if got := stderr.String(); wantErr == "" && got != "" || !strings.Contains(got, wantErr) {
				t.Errorf("stderr = %q, want it to contain %q", got, wantErr)
			}
		})
	}
}

// TestCmdAudit: the log is found in $XDG_STATE_HOME/sandbar, and the flags
// reach it.
func TestCmdAudit(t *testing.T) {
	state := t.TempDir()
	t.Setenv("HOME", t.TempDir())
	t.Setenv("XDG_STATE_HOME", state)
	l := auditlog.Open(filepath.Join(state, "sandbar", auditlog.FileName), auditlog.Options{})
	for _, e := range []auditlog.Entry{deniedAsked, allowedByPolicy} {
		if err := l.Append(e); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name       string
		args       []string
		wantOut    string
		wantStatus int
	}{
		{
			name:    "last one as json",
			args:    []string{"-n", "1", "--json"},
			wantOut: `{"time":"2026-11-27T17:40:03Z","kind":"network","target":"registry.npmjs.org:443","decision":"allowed","how":"policy","by":"policy","run":"r3","command":["npm","install"],"pid":42}` + "\n",
		},
		{name: "negative count", args: []string{"-n", "-1"}, wantStatus: 2},
		{name: "stray argument", args: []string{"everything"}, wantStatus: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if status := cmdAudit(tt.args, &stdout, &stderr); status != tt.wantStatus {
				t.Errorf("status %d, want %d; stderr: %s", status, tt.wantStatus, stderr.String())
			}
			if diff := cmp.Diff(tt.wantOut, stdout.String()); diff != "" {
				t.Errorf("stdout (-want +got):\n%s", diff)
			}
		})
	}
}
