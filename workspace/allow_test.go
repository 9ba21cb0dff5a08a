package workspace_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sandbar-dev/sandbar/workspace"
	"github.com/sandbar-dev/sandbar/workspace/policy"
)

// entryApplies reports whether entry of the list key is in sb's effective
// policy. Paths are expanded as Load expands them: entries here are
// absolute or start with "~/", so the base does not matter.
func entryApplies(t *testing.T, sb *workspace.Sandbox, m *machine, key, entry string) bool {
	t.Helper()
	texts := func(vs []policy.Value) []string {
		var out []string
		for _, v := range vs {
			out = append(out, v.Text)
		}
		return out
	}
	eff := sb.Effective
	var list []string
	switch key {
	case "filesystem.allowRead":
		list = texts(eff.Filesystem.AllowRead)
	case "filesystem.allowWrite":
		list = texts(eff.Filesystem.AllowWrite)
	case "network.allowedDomains":
		list = texts(eff.Network.AllowedDomains)
	case "presets":
		list = texts(eff.Presets)
	default:
		t.Fatalf("entryApplies: unknown key %q", key)
	}
	if strings.HasPrefix(key, "filesystem.") {
		abs, err := policy.ExpandPath(entry, m.home, m.ws)
		if err != nil {
			t.Fatal(err)
		}
		entry = abs
	}
	return slices.Contains(list, entry)
}

// fileHolds reports whether the policy file content holds entry in the list
// key, read back with policy.Parse.
func fileHolds(t *testing.T, path string, content []byte, key, entry string) bool {
	t.Helper()
	p, err := policy.Parse(path, content)
	if err != nil {
		t.Fatalf("the written file does not parse: %v\n%s", err, content)
	}
	var list []policy.Value
	switch key {
	case "filesystem.allowRead":
		list = p.Filesystem.AllowRead
	case "filesystem.allowWrite":
		list = p.Filesystem.AllowWrite
	case "network.allowedDomains":
		list = p.Network.AllowedDomains
	case "presets":
		list = p.Presets
	}
	return slices.ContainsFunc(list, func(v policy.Value) bool { return v.Text == entry })
}

func TestAllowEntry(t *testing.T) {
	tests := []struct {
		name       string
		key, entry string
		// old is the workspace policy before, "" for none.
		old         string
		oldApproved bool
		wantTrusted bool
	}{
		{"domain, no policy file", "network.allowedDomains", "new.example", "", false, true},
		{"write path, no policy file", "filesystem.allowWrite", "~/.cache/foo", "", false, true},
		{"read path, no policy file", "filesystem.allowRead", "/opt/sdk", "", false, true},
		{"preset, no policy file", "presets", "go", "", false, true},
		{"write path, approved file", "filesystem.allowWrite", "~/.cache/foo", "// ours\n{\"version\": 1, \"network\": {\"allowedDomains\": [\"a.example\"]}}\n", true, true},
		{"preset, file that only narrows", "presets", "rust", "// ours\n{\"version\": 1, \"filesystem\": {\"denyRead\": [\"./secrets\"]}}\n", false, true},
		// Approving the new content would approve a.example too, which
		// the user never saw.
		{"write path, unapproved widening file", "filesystem.allowWrite", "~/.cache/foo", "{\"version\": 1, \"network\": {\"allowedDomains\": [\"a.example\"]}}\n", false, false},
		{"preset, unapproved widening file", "presets", "go", "{\"version\": 1, \"filesystem\": {\"allowRead\": [\"/srv/data\"]}}\n", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMachine(t)
			path := filepath.Join(m.ws, workspace.PolicyFileName)
			if tt.old != "" {
				m.write(t, path, tt.old)
				if tt.oldApproved {
					if err := m.trust.Approve(path, []byte(tt.old)); err != nil {
						t.Fatal(err)
					}
				}
			}
			got, err := workspace.AllowEntry(m.ws, m.home, tt.key, tt.entry, m.trust)
			if err != nil {
				t.Fatalf("AllowEntry: %v", err)
			}
			if diff := cmp.Diff(workspace.Allowed{Path: path, Trusted: tt.wantTrusted}, got); diff != "" {
				t.Errorf("AllowEntry (-want +got):\n%s", diff)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !fileHolds(t, path, b, tt.key, tt.entry) {
				t.Errorf("the file does not hold %q in %s:\n%s", tt.entry, tt.key, b)
			}
			if strings.HasPrefix(tt.old, "// ours") && !strings.HasPrefix(string(b), "// ours") {
				t.Errorf("the file lost its comment:\n%s", b)
			}
			trusted, err := m.trust.Trusted(path, b)
			if err != nil {
				t.Fatal(err)
			}
			if trusted != tt.wantTrusted {
				t.Errorf("new content trusted: %v; want %v", trusted, tt.wantTrusted)
			}
			if !tt.wantTrusted {
				approved, err := m.trust.Approved()
				if err != nil {
					t.Fatal(err)
				}
				if slices.Contains(approved, path) {
					t.Errorf("an approval of %s was recorded; want none", path)
				}
			}
			sb := mustLoad(t, m)
			if got := entryApplies(t, sb, m, tt.key, tt.entry); got != tt.wantTrusted {
				t.Errorf("%s %q applies: %v; want %v\nfile:\n%s", tt.key, tt.entry, got, tt.wantTrusted, b)
			}
		})
	}
}

// TestAllowEntryAlreadyThere checks that an entry already in the file
// leaves the file as it is.
func TestAllowEntryAlreadyThere(t *testing.T) {
	m := newMachine(t)
	path := filepath.Join(m.ws, workspace.PolicyFileName)
	old := "{\"version\": 1, \"presets\": [\"go\"]} // as it was\n"
	m.write(t, path, old)
	if err := m.trust.Approve(path, []byte(old)); err != nil {
		t.Fatal(err)
	}
	got, err := workspace.AllowEntry(m.ws, m.home, "presets", "go", m.trust)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(workspace.Allowed{Path: path, Trusted: true}, got); diff != "" {
		t.Errorf("AllowEntry (-want +got):\n%s", diff)
	}
	b, _ := os.ReadFile(path)
	if diff := cmp.Diff(old, string(b)); diff != "" {
		t.Errorf("file (-want +got):\n%s", diff)
	}
}

func TestAllowEntryErrors(t *testing.T) {
	tests := []struct {
		name, old, key, entry string
		want                  string // the error, with {path} for the policy file
	}{
		{
			name: "a list sandbar does not add to", key: "filesystem.denyWrite", entry: "/etc",
			want: `adding "/etc" to filesystem.denyWrite in {path}: "filesystem.denyWrite" is not a list sandbar adds to; use "filesystem.allowRead", "filesystem.allowWrite", "network.allowedDomains", "presets", "git.push.repositories"`,
		},
		{
			name: "a glob", key: "filesystem.allowWrite", entry: "~/.cache/*",
			want: `adding to filesystem.allowWrite in {path}: "~/.cache/*": globs are not supported; name the directory or file`,
		},
		{
			name: "a file with an error", old: "{\n  \"presets\": [\"ruby\"],\n}\n", key: "presets", entry: "go",
			want: `{path}:2:15: unknown preset "ruby"; known presets are "go", "java", "node", "python", "rust"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMachine(t)
			path := filepath.Join(m.ws, workspace.PolicyFileName)
			if tt.old != "" {
				m.write(t, path, tt.old)
			}
			_, err := workspace.AllowEntry(m.ws, m.home, tt.key, tt.entry, m.trust)
			if err == nil {
				t.Fatal("AllowEntry succeeded")
			}
			if diff := cmp.Diff(strings.ReplaceAll(tt.want, "{path}", path), err.Error()); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			b, _ := os.ReadFile(path)
			if string(b) != tt.old {
				t.Errorf("the file changed:\n%s", b)
			}
			if approved, _ := m.trust.Approved(); len(approved) > 0 {
				t.Errorf("approvals recorded: %q", approved)
			}
		})
	}
}

func TestAllowDomain(t *testing.T) {
	tests := []struct {
		name string
		// old is the workspace policy before, "" for none.
		old         string
		oldApproved bool
		wantTrusted bool
	}{
		{"no policy file", "", false, true},
		{"approved file", "// ours\n{\"version\": 1, \"network\": {\"allowedDomains\": [\"a.example\"]}}\n", true, true},
		{"file that only narrows", "{\"version\": 1, \"network\": {\"deniedDomains\": [\"evil.example\"]}}\n", false, true},
		// Approving the new content would approve a.example too, which
		// the user never saw.
		{"unapproved widening file", "{\"version\": 1, \"network\": {\"allowedDomains\": [\"a.example\"]}}\n", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMachine(t)
			path := filepath.Join(m.ws, workspace.PolicyFileName)
			if tt.old != "" {
				m.write(t, path, tt.old)
				if tt.oldApproved {
					if err := m.trust.Approve(path, []byte(tt.old)); err != nil {
						t.Fatal(err)
					}
				}
			}
			got, err := workspace.AllowDomain(m.ws, m.home, "new.example", m.trust)
			if err != nil {
				t.Fatalf("AllowDomain: %v", err)
			}
			if got.Trusted != tt.wantTrusted || got.Path != path {
				t.Errorf("AllowDomain = %+v; want trusted %v at %s", got, tt.wantTrusted, path)
			}
			b, _ := os.ReadFile(path)
			if tt.old != "" && strings.HasPrefix(tt.old, "//") && !strings.HasPrefix(string(b), "// ours") {
				t.Errorf("the file lost its comment:\n%s", b)
			}
			sb := mustLoad(t, m)
			applies := slices.Contains(domains(&sb.Policies), "new.example")
			if applies != tt.wantTrusted {
				t.Errorf("new.example applies: %v; want %v\nfile:\n%s", applies, tt.wantTrusted, b)
			}
		})
	}
}

func TestAllowUserEntry(t *testing.T) {
	tests := []struct {
		name       string
		key, entry string
		// old is the user policy before, if exists.
		old    string
		exists bool
		mode   os.FileMode // of old
		// wantPrefix starts the new file: the user's comments, or the
		// header of a new one.
		wantPrefix string
	}{
		{name: "no file, domain", key: "network.allowedDomains", entry: "example.com", wantPrefix: "// Your sandbar policy"},
		{name: "no file, write path", key: "filesystem.allowWrite", entry: "~/.cache/foo", wantPrefix: "// Your sandbar policy"},
		{name: "no file, read path", key: "filesystem.allowRead", entry: "/opt/sdk", wantPrefix: "// Your sandbar policy"},
		{name: "no file, preset", key: "presets", entry: "go", wantPrefix: "// Your sandbar policy"},
		{name: "empty file", key: "presets", entry: "go", exists: true, mode: 0o644, wantPrefix: "// Your sandbar policy"},
		{name: "comments only", key: "presets", entry: "go", old: "// mine\n", exists: true, mode: 0o644, wantPrefix: "// mine\n\n{"},
		{
			name: "file with comments and its own mode", key: "filesystem.allowWrite", entry: "~/.cache/foo",
			old:        "// mine\n{\n  \"version\": 1,\n  \"presets\": [\"go\"], // always\n}\n",
			exists:     true,
			mode:       0o600,
			wantPrefix: "// mine\n{\n  \"version\": 1,\n  \"filesystem\": {\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMachine(t)
			path := m.options().UserPolicy
			if tt.exists {
				m.write(t, path, tt.old)
				if err := os.Chmod(path, tt.mode); err != nil {
					t.Fatal(err)
				}
			}
			got, err := workspace.AllowUserEntry(path, tt.key, tt.entry)
			if err != nil {
				t.Fatalf("AllowUserEntry: %v", err)
			}
			if got != path {
				t.Errorf("AllowUserEntry = %q; want %q", got, path)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !fileHolds(t, path, b, tt.key, tt.entry) {
				t.Errorf("the file does not hold %q in %s:\n%s", tt.entry, tt.key, b)
			}
			if !strings.HasPrefix(string(b), tt.wantPrefix) {
				t.Errorf("the file does not start with %q:\n%s", tt.wantPrefix, b)
			}
			if strings.Contains(string(b), "in this\n// folder") {
				t.Errorf("the user's file got the header of a folder's file:\n%s", b)
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			wantMode := tt.mode
			if !tt.exists {
				wantMode = 0o644
				di, err := os.Stat(filepath.Dir(path))
				if err != nil {
					t.Fatal(err)
				}
				if di.Mode().Perm() != 0o700 {
					t.Errorf("new directory mode %v; want 0700", di.Mode().Perm())
				}
			}
			if fi.Mode().Perm() != wantMode {
				t.Errorf("file mode %v; want %v", fi.Mode().Perm(), wantMode)
			}
			// The user's own file needs no approval.
			if approved, _ := m.trust.Approved(); len(approved) > 0 {
				t.Errorf("approvals recorded: %q", approved)
			}
			if sb := mustLoad(t, m); !entryApplies(t, sb, m, tt.key, tt.entry) {
				t.Errorf("%s %q does not apply\nfile:\n%s", tt.key, tt.entry, b)
			}

			again, err := workspace.AllowUserEntry(path, tt.key, tt.entry)
			if err != nil || again != path {
				t.Fatalf("AllowUserEntry a second time = %q, %v", again, err)
			}
			if b2, _ := os.ReadFile(path); string(b2) != string(b) {
				t.Errorf("adding %q again changed the file:\n%s", tt.entry, b2)
			}
		})
	}
}

func TestAllowUserEntryErrors(t *testing.T) {
	tests := []struct {
		name, old, key, entry string
		want                  string // the error, with {path} for the file and {dir} for its directory
	}{
		{
			name: "relative path", key: "filesystem.allowWrite", entry: "./build",
			want: `adding "./build" to filesystem.allowWrite in {path}: a relative path here would be relative to {dir}, not to a workspace folder; write an absolute path or one starting with "~/", or add it to the folder's .sandbar/policy.jsonc`,
		},
		{
			name: "unknown preset", key: "presets", entry: "ruby",
			want: `adding to presets in {path}: unknown preset "ruby"; known presets are "go", "java", "node", "python", "rust"`,
		},
		{
			name: "a file with a syntax error", old: "{\n  \"version\": 1\n  \"presets\": [],\n}\n", key: "presets", entry: "go",
			want: `{path}:3:3: syntax error: invalid character '"' after object value (expecting ',' or '}')`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMachine(t)
			path := m.options().UserPolicy
			if tt.old != "" {
				m.write(t, path, tt.old)
			}
			_, err := workspace.AllowUserEntry(path, tt.key, tt.entry)
			if err == nil {
				t.Fatal("AllowUserEntry succeeded")
			}
			want := strings.NewReplacer("{path}", path, "{dir}", filepath.Dir(path)).Replace(tt.want)
			if diff := cmp.Diff(want, err.Error()); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			b, err := os.ReadFile(path)
			if tt.old == "" {
				if !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("a file was created (%v):\n%s", err, b)
				}
			} else if string(b) != tt.old {
				t.Errorf("the file changed:\n%s", b)
			}
		})
	}
}
