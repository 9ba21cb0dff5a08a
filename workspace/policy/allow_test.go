package policy

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/ from the current output")

const allowFile = ".sandbar/policy.jsonc"

// allowCases are the golden tests of AddEntry. Each reads
// testdata/allow/NAME.in.jsonc (nil src if nilSrc), adds the entries to key
// in order, and compares with NAME.out.jsonc, or with NAME.err if it fails.
// Regenerate with: go test ./workspace/policy -run TestAddEntry -update
var allowCases = []struct {
	name    string
	key     string   // default "network.allowedDomains"
	entries []string // default defaultEntry[key]
	nilSrc  bool
}{
	{name: "nil", nilSrc: true},
	{name: "empty"},
	{name: "comments-only"},
	{name: "comments-everywhere"},
	{name: "single-line"},
	{name: "single-line-trailing-comma"},
	{name: "multi-line-trailing-comma"},
	{name: "multi-line-no-trailing-comma"},
	{name: "no-network"},
	{name: "no-network-no-trailing-comma"},
	{name: "network-without-allowed"},
	{name: "network-only-denied"},
	{name: "network-empty-object"},
	{name: "empty-multi-line-array"},
	{name: "empty-object"},
	{name: "one-line-file"},
	{name: "compact"},
	{name: "tabs"},
	{name: "line-comment-at-eof"},
	{name: "bracket-on-last-line"},
	{name: "no-network-line-lists"},
	{name: "several-per-line"},
	{name: "blank-line-before-closing-comment"},
	{name: "new-file-several-entries", nilSrc: true, entries: []string{"example.com", "*.example.org:8443", "[::1]:8080", "bücher.de", "10.0.0.1"}},
	{name: "duplicate", entries: []string{"sum.golang.org"}},
	{name: "invalid-entry", entries: []string{"https://example.com/api"}},
	{name: "network-wrong-type"},
	{name: "allowed-wrong-type"},
	{name: "broken"},
	{name: "other-errors"},

	{name: "allowWrite-nil", key: "filesystem.allowWrite", nilSrc: true},
	{name: "allowWrite-comments", key: "filesystem.allowWrite"},
	{name: "allowWrite-existing-list", key: "filesystem.allowWrite"},
	{name: "allowWrite-duplicate", key: "filesystem.allowWrite"},
	{name: "allowWrite-no-filesystem", key: "filesystem.allowWrite"},
	{name: "allowWrite-glob", key: "filesystem.allowWrite", entries: []string{"~/.cache/*.tmp"}},
	{name: "filesystem-wrong-type", key: "filesystem.allowWrite"},

	{name: "allowRead-nil", key: "filesystem.allowRead", nilSrc: true},
	{name: "allowRead-comments", key: "filesystem.allowRead"},
	{name: "allowRead-existing-list", key: "filesystem.allowRead", entries: []string{"/opt/sdk", "./vendor"}},
	{name: "allowRead-duplicate", key: "filesystem.allowRead"},
	{name: "allowRead-no-filesystem", key: "filesystem.allowRead"},

	{name: "presets-nil", key: "presets", nilSrc: true},
	{name: "presets-comments", key: "presets"},
	{name: "presets-existing-list", key: "presets"},
	{name: "presets-multi-line", key: "presets", entries: []string{"go", "python"}},
	{name: "presets-duplicate", key: "presets"},
	{name: "presets-empty-object", key: "presets"},
	{name: "presets-one-line-comment", key: "presets"},
	{name: "presets-unknown", key: "presets", entries: []string{"ruby"}},

	{name: "repositories-nil", key: "git.push.repositories", nilSrc: true},
	{name: "repositories-no-git", key: "git.push.repositories"},
	{name: "repositories-git-without-push", key: "git.push.repositories"},
	{name: "repositories-push-without-list", key: "git.push.repositories"},
	{name: "repositories-existing-list", key: "git.push.repositories", entries: []string{"github.com/me/project", "git.example.com:8443/team/tool"}},
	{name: "repositories-duplicate", key: "git.push.repositories"},
	{name: "repositories-invalid", key: "git.push.repositories", entries: []string{"https://github.com/me/project"}},
}

// defaultEntry is what a case adds when it names no entries.
var defaultEntry = map[string]string{
	"filesystem.allowRead":   "/opt/sdk",
	"filesystem.allowWrite":  "~/.cache/foo",
	"network.allowedDomains": "example.com",
	"presets":                "go",
	"git.push.repositories":  "github.com/me/project",
}

// caseKey is tt.key, or network.allowedDomains when it is not set.
func caseKey(key string) string {
	if key == "" {
		return "network.allowedDomains"
	}
	return key
}

func TestAddEntry(t *testing.T) {
	for _, tt := range allowCases {
		t.Run(tt.name, func(t *testing.T) {
			src := readAllowInput(t, tt.name, tt.nilSrc)
			key := caseKey(tt.key)
			entries := tt.entries
			if entries == nil {
				entries = []string{defaultEntry[key]}
			}
			got, err := src, error(nil)
			for _, entry := range entries {
				before := slices.Clone(got)
				var out []byte
				out, err = AddEntry(allowFile, got, key, entry)
				if !bytes.Equal(before, got) {
					t.Fatalf("AddEntry(%q, %q) modified its input", key, entry)
				}
				if err != nil {
					break
				}
				checkAdded(t, got, out, key, entry)
				got = out
			}

			outPath := filepath.Join("testdata", "allow", tt.name+".out.jsonc")
			errPath := filepath.Join("testdata", "allow", tt.name+".err")
			path, content, stale := outPath, got, errPath
			if err != nil {
				path, content, stale = errPath, []byte(err.Error()+"\n"), outPath
			}
			if *update {
				if err := os.WriteFile(path, content, 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.Remove(stale); err != nil && !errors.Is(err, os.ErrNotExist) {
					t.Fatal(err)
				}
				return
			}
			want, readErr := os.ReadFile(path)
			if readErr != nil {
				t.Fatalf("reading golden file (run with -update to create it): %v", readErr)
			}
			if diff := cmp.Diff(string(want), string(content)); diff != "" {
				t.Errorf("%s (-want +got):\n%s\nrun with -update if the change is intended", path, diff)
			}
		})
	}
}

func readAllowInput(t testing.TB, name string, nilSrc bool) []byte {
	t.Helper()
	if nilSrc {
		return nil
	}
	src, err := os.ReadFile(filepath.Join("testdata", "allow", name+".in.jsonc"))
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// checkAdded checks what every successful edit must do: the result reads back
// as the same policy with entry at the end of the list named by key, and
// adding the same entry again changes nothing.
func checkAdded(t *testing.T, src, out []byte, key, entry string) {
	t.Helper()
	before, err := Parse(allowFile, src)
	if err != nil {
		t.Fatalf("input does not parse: %v", err)
	}
	after, err := Parse(allowFile, out)
	if err != nil {
		t.Fatalf("output does not parse: %v\n%s", err, out)
	}
	list := map[string]*[]Value{
		"filesystem.allowRead":   &before.Filesystem.AllowRead,
		"filesystem.allowWrite":  &before.Filesystem.AllowWrite,
		"network.allowedDomains": &before.Network.AllowedDomains,
		"presets":                &before.Presets,
		"git.push.repositories":  &before.Git.Push.Repositories,
	}[key]
	if !slices.ContainsFunc(*list, func(v Value) bool { return v.Text == entry }) {
		*list = append(*list, Value{Text: entry})
	}
	if diff := cmp.Diff(before, after, cmpopts.IgnoreFields(Value{}, "Pos"), cmpopts.IgnoreFields(Flag{}, "Pos"), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("policy after adding %q to %s (-want +got):\n%s", entry, key, diff)
	}
	again, err := AddEntry(allowFile, out, key, entry)
	if err != nil || !bytes.Equal(again, out) {
		t.Errorf("adding %q to %s a second time changed the file or failed (%v):\n%s", entry, key, err, again)
	}
}

// TestAddEntryKeepsComments checks, for every golden input, that each
// comment of the input is in the output, in the same order. Comments are
// found by a scanner of its own rather than by hujson, so that a comment
// hujson lost would be noticed.
func TestAddEntryKeepsComments(t *testing.T) {
	for _, tt := range allowCases {
		src := readAllowInput(t, tt.name, tt.nilSrc)
		key := caseKey(tt.key)
		out, err := AddEntry(allowFile, src, key, defaultEntry[key])
		if err != nil {
			// An error case: no output to check (TestAddEntry checks the
			// error).
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			in, got := comments(src), comments(out)
			if newParser(allowFile, src).blank() {
				// A new file: the input's comments, then the template's.
				got = got[:min(len(in), len(got))]
			}
			if diff := cmp.Diff(in, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("comments (-input +output):\n%s", diff)
			}
		})
	}
}

// comments returns the comments of a HuJSON text in order, skipping strings.
func comments(src []byte) []string {
	var out []string
	s := string(src)
	for i := 0; i < len(s); {
		switch {
		case s[i] == '"':
			for i++; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' {
					i++
				}
			}
			i++
		case strings.HasPrefix(s[i:], "//"):
			end := strings.IndexByte(s[i:], '\n')
			if end < 0 {
				end = len(s) - i
			}
			out = append(out, s[i:i+end])
			i += end
		case strings.HasPrefix(s[i:], "/*"):
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				end = len(s) - i - 4
			}
			out = append(out, s[i:i+2+end+2])
			i += 2 + end + 2
		default:
			i++
		}
	}
	return out
}

func TestAddEntryLineEndings(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{
			name: "CRLF in a multi-line list",
			src:  "{\r\n  \"network\": {\r\n    \"allowedDomains\": [\r\n      \"a.com\", // first\r\n    ],\r\n  },\r\n}\r\n",
			want: "{\r\n  \"network\": {\r\n    \"allowedDomains\": [\r\n      \"a.com\", // first\r\n      \"example.com\",\r\n    ],\r\n  },\r\n}\r\n",
		},
		{
			name: "CRLF in a new network object",
			src:  "{\r\n  \"version\": 1,\r\n}\r\n",
			want: "{\r\n  \"version\": 1,\r\n  \"network\": {\r\n    \"allowedDomains\": [\"example.com\"],\r\n  },\r\n}\r\n",
		},
		{
			name: "byte order mark",
			src:  "\uFEFF{\"network\": {\"allowedDomains\": [\"a.com\"]}}\n",
			want: "\uFEFF{\"network\": {\"allowedDomains\": [\"a.com\", \"example.com\"]}}\n",
		},
		{
			name: "byte order mark on an empty file",
			src:  "\uFEFF",
			want: "\uFEFF" + strings.Replace(newFileTemplate(findList("network.allowedDomains")), "[\n", "[\n      \"example.com\",\n", 1),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := AddEntry(allowFile, []byte(tt.src), "network.allowedDomains", "example.com")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			checkAdded(t, []byte(tt.src), got, "network.allowedDomains", "example.com")
		})
	}
}

func TestAddEntryErrors(t *testing.T) {
	tests := []struct {
		name, src, key, entry string
		fileError             bool // the error is Parse's ErrorList
		want                  string
	}{
		{
			name:  "empty domain",
			key:   "network.allowedDomains",
			entry: "",
			want:  "adding to network.allowedDomains in .sandbar/policy.jsonc: the domain is empty",
		},
		{
			name:  "domain with a port out of range",
			key:   "network.allowedDomains",
			entry: "example.com:70000",
			want:  `adding to network.allowedDomains in .sandbar/policy.jsonc: "example.com:70000": port must be a number from 1 to 65535`,
		},
		{
			name:  "entry is checked before the file",
			src:   "{",
			key:   "network.allowedDomains",
			entry: "exa mple.com",
			want:  `adding to network.allowedDomains in .sandbar/policy.jsonc: "exa mple.com": invalid character ' ' in host name; use letters, digits, "-" and "."`,
		},
		{
			name:  "empty path",
			key:   "filesystem.allowWrite",
			entry: "",
			want:  "adding to filesystem.allowWrite in .sandbar/policy.jsonc: the path is empty",
		},
		{
			name:  "path of another user's home",
			key:   "filesystem.allowRead",
			entry: "~bob/src",
			want:  `adding to filesystem.allowRead in .sandbar/policy.jsonc: "~bob" is not supported; write "~/" for your home or an absolute path`,
		},
		{
			name:  "path with a NUL byte",
			key:   "filesystem.allowWrite",
			entry: "/tmp/a\x00b",
			want:  `adding to filesystem.allowWrite in .sandbar/policy.jsonc: "/tmp/a\x00b" contains a NUL byte; remove it`,
		},
		{
			name:  "unknown preset",
			key:   "presets",
			entry: "ruby",
			want:  `adding to presets in .sandbar/policy.jsonc: unknown preset "ruby"; known presets are "go", "java", "node", "python", "rust"`,
		},
		{
			name:  "a deny list",
			key:   "filesystem.denyRead",
			entry: "~/.ssh",
			want:  `adding "~/.ssh" to filesystem.denyRead in .sandbar/policy.jsonc: "filesystem.denyRead" is not a list sandbar adds to; use "filesystem.allowRead", "filesystem.allowWrite", "network.allowedDomains", "presets", "git.push.repositories"`,
		},
		{
			name:  "a key that is not in the schema",
			key:   "network.allowedDomain",
			entry: "example.com",
			want:  `adding "example.com" to network.allowedDomain in .sandbar/policy.jsonc: "network.allowedDomain" is not a list sandbar adds to; use "filesystem.allowRead", "filesystem.allowWrite", "network.allowedDomains", "presets", "git.push.repositories"`,
		},
		{
			name:      "network of the wrong type",
			src:       "{\n  \"network\": true,\n}\n",
			key:       "network.allowedDomains",
			entry:     "example.com",
			fileError: true,
			want:      `.sandbar/policy.jsonc:2:14: "network" must be an object, got boolean`,
		},
		{
			name:      "presets of the wrong type",
			src:       "{\n  \"presets\": \"go\",\n}\n",
			key:       "presets",
			entry:     "node",
			fileError: true,
			want:      `.sandbar/policy.jsonc:2:14: "presets" must be an array of strings, got string`,
		},
		{
			name:      "every problem at once",
			src:       "{\n  \"network\": {\"allowedDomains\": [\"ok.com\", 7]},\n  \"presets\": [\"ruby\"],\n}\n",
			key:       "filesystem.allowWrite",
			entry:     "~/.cache/foo",
			fileError: true,
			want: `.sandbar/policy.jsonc:2:44: each entry of "allowedDomains" must be a string, got number` + "\n" +
				`.sandbar/policy.jsonc:3:15: unknown preset "ruby"; known presets are "go", "java", "node", "python", "rust"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := AddEntry(allowFile, []byte(tt.src), tt.key, tt.entry)
			if err == nil {
				t.Fatalf("AddEntry succeeded:\n%s", got)
			}
			if got != nil {
				t.Errorf("AddEntry returned a file with its error:\n%s", got)
			}
			if diff := cmp.Diff(tt.want, err.Error()); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			var list ErrorList
			if errors.As(err, &list) != tt.fileError {
				t.Errorf("errors.As(err, ErrorList) = %v, want %v", !tt.fileError, tt.fileError)
			}
		})
	}
}

// TestAddEntryDoesNotAlias checks that the result shares no memory with
// src: hujson's syntax tree points into the buffer it parsed, and an edit
// that wrote through it would change the caller's bytes.
func TestAddEntryDoesNotAlias(t *testing.T) {
	src := []byte("{\"network\": {\"allowedDomains\": [\n  \"a.com\",\n]}}\n")
	out, err := AddEntry(allowFile, src, "network.allowedDomains", "example.com")
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(out)
	for i := range src {
		src[i] = 'x'
	}
	if !bytes.Equal(out, want) {
		t.Errorf("changing src changed the result:\n%s", out)
	}
}

// FuzzAddEntry checks that every file Parse accepts can be edited: AddEntry
// checks its own result, so an edit that laid a file out wrongly fails here
// as an internal error. key picks one of lists.
func FuzzAddEntry(f *testing.F) {
	for _, tt := range allowCases {
		if !tt.nilSrc {
			key := caseKey(tt.key)
			f.Add(readAllowInput(f, tt.name, false), uint8(slices.Index(listNames(), key)), defaultEntry[key])
		}
	}
	f.Add([]byte("{\"network\": {\"allowedDomains\": [/* a */ \"a.com\" /* b */ , /* c */]}}"), uint8(2), "*.example.com:443")
	f.Add([]byte("{\r\n\"network\" : {\r\n\t\"deniedDomains\":[\r\n\t\t\"x.com\"\r\n\t]\r\n}}"), uint8(2), "[::1]:8080")
	f.Add([]byte("{\"filesystem\": {/* a */ \"denyWrite\": [] /* b */}, \"presets\": [/* none */]}"), uint8(1), "./out")
	f.Add(DefaultSource(), uint8(0), "/opt/sdk")
	f.Add(DefaultSource(), uint8(3), "go")
	f.Fuzz(func(t *testing.T, src []byte, n uint8, entry string) {
		l := &lists[int(n)%len(lists)]
		if _, err := Parse(allowFile, src); err != nil || l.checkNew(entry) != "" {
			return
		}
		out, err := AddEntry(allowFile, src, l.key, entry)
		if err != nil {
			t.Fatalf("AddEntry(%q, %q, %q): %v", src, l.key, entry, err)
		}
		checkAdded(t, src, out, l.key, entry)
		in, got := comments(src), comments(out)
		if newParser(allowFile, src).blank() {
			got = got[:min(len(in), len(got))]
		}
		if diff := cmp.Diff(in, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("comments of %q (-input +output):\n%s", src, diff)
		}
	})
}

func TestAddEntryDuplicateReturnsSrc(t *testing.T) {
	tests := []struct {
		name, src, key, entry string
	}{
		{"domain", "{\"network\": {\"allowedDomains\": [\"a.com\", \"example.com\"]}} // as it was\n", "network.allowedDomains", "example.com"},
		{"path", "{\"filesystem\": {\"allowWrite\": [\"~/.cache/foo\"]}}", "filesystem.allowWrite", "~/.cache/foo"},
		{"preset", "{\"presets\": [\"go\"]}", "presets", "go"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := []byte(tt.src)
			got, err := AddEntry(allowFile, src, tt.key, tt.entry)
			if err != nil {
				t.Fatal(err)
			}
			if &got[0] != &src[0] || len(got) != len(src) {
				t.Errorf("AddEntry of an entry already present returned new bytes:\n%s", got)
			}
		})
	}
}

// TestAddAllowedDomain checks that the wrapper is AddEntry on
// network.allowedDomains.
func TestAddAllowedDomain(t *testing.T) {
	src := []byte("{\"version\": 1}\n")
	want, err := AddEntry(allowFile, src, "network.allowedDomains", "example.com")
	if err != nil {
		t.Fatal(err)
	}
	got, err := AddAllowedDomain(allowFile, src, "example.com")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
