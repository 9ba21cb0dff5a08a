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

// allowCases are the golden tests of AddAllowedDomain. Each reads
// testdata/allow/NAME.in.jsonc (nil src if nilSrc), adds the entries in
// order, and compares with NAME.out.jsonc, or with NAME.err if it fails.
// Regenerate with: go test ./workspace/policy -run TestAddAllowedDomain -update
var allowCases = []struct {
	name    string
	entries []string // default "example.com"
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
}

func TestAddAllowedDomain(t *testing.T) {
	for _, tt := range allowCases {
		t.Run(tt.name, func(t *testing.T) {
			src := readAllowInput(t, tt.name, tt.nilSrc)
			entries := tt.entries
			if entries == nil {
				entries = []string{"example.com"}
			}
			got, err := src, error(nil)
			for _, entry := range entries {
				before := slices.Clone(got)
				var out []byte
				out, err = AddAllowedDomain(allowFile, got, entry)
				if !bytes.Equal(before, got) {
					t.Fatalf("AddAllowedDomain(%q) modified its input", entry)
				}
				if err != nil {
					break
				}
				checkAdded(t, got, out, entry)
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
// as the same policy with entry at the end of allowedDomains, and adding the
// same entry again changes nothing.
func checkAdded(t *testing.T, src, out []byte, entry string) {
	t.Helper()
	before, err := Parse(allowFile, src)
	if err != nil {
		t.Fatalf("input does not parse: %v", err)
	}
	after, err := Parse(allowFile, out)
	if err != nil {
		t.Fatalf("output does not parse: %v\n%s", err, out)
	}
	if !slices.ContainsFunc(before.Network.AllowedDomains, func(v Value) bool { return v.Text == entry }) {
		before.Network.AllowedDomains = append(before.Network.AllowedDomains, Value{Text: entry})
	}
	if diff := cmp.Diff(before, after, cmpopts.IgnoreFields(Value{}, "Pos"), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("policy after adding %q (-want +got):\n%s", entry, diff)
	}
	again, err := AddAllowedDomain(allowFile, out, entry)
	if err != nil || !bytes.Equal(again, out) {
		t.Errorf("adding %q a second time changed the file or failed (%v):\n%s", entry, err, again)
	}
}

// TestAddAllowedDomainKeepsComments checks, for every golden input, that each
// comment of the input is in the output, in the same order. Comments are
// found by a scanner of its own rather than by hujson, so that a comment
// hujson lost would be noticed.
func TestAddAllowedDomainKeepsComments(t *testing.T) {
	for _, tt := range allowCases {
		src := readAllowInput(t, tt.name, tt.nilSrc)
		out, err := AddAllowedDomain(allowFile, src, "example.com")
		if err != nil {
			// An error case: no output to check (TestAddAllowedDomain
			// checks the error).
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

func TestAddAllowedDomainLineEndings(t *testing.T) {
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
			want: "\uFEFF" + strings.Replace(newFileTemplate, "[\n", "[\n      \"example.com\",\n", 1),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := AddAllowedDomain(allowFile, []byte(tt.src), "example.com")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			checkAdded(t, []byte(tt.src), got, "example.com")
		})
	}
}

func TestAddAllowedDomainErrors(t *testing.T) {
	tests := []struct {
		name, src, entry string
		fileError        bool // the error is Parse's ErrorList
		want             string
	}{
		{
			name:  "empty entry",
			entry: "",
			want:  "allowing a domain in .sandbar/policy.jsonc: the domain is empty",
		},
		{
			name:  "entry with a port out of range",
			entry: "example.com:70000",
			want:  `allowing a domain in .sandbar/policy.jsonc: "example.com:70000": port must be a number from 1 to 65535`,
		},
		{
			name:  "entry is checked before the file",
			src:   "{",
			entry: "exa mple.com",
			want:  `allowing a domain in .sandbar/policy.jsonc: "exa mple.com": invalid character ' ' in host name; use letters, digits, "-" and "."`,
		},
		{
			name:      "network of the wrong type",
			src:       "{\n  \"network\": true,\n}\n",
			entry:     "example.com",
			fileError: true,
			want:      `.sandbar/policy.jsonc:2:14: "network" must be an object, got boolean`,
		},
		{
			name:      "every problem at once",
			src:       "{\n  \"network\": {\"allowedDomains\": [\"ok.com\", 7]},\n  \"presets\": [\"ruby\"],\n}\n",
			entry:     "example.com",
			fileError: true,
			want: `.sandbar/policy.jsonc:2:44: each entry of "allowedDomains" must be a string, got number` + "\n" +
				`.sandbar/policy.jsonc:3:15: unknown preset "ruby"; known presets are "go", "java", "node", "python", "rust"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := AddAllowedDomain(allowFile, []byte(tt.src), tt.entry)
			if err == nil {
				t.Fatalf("AddAllowedDomain succeeded:\n%s", got)
			}
			if got != nil {
				t.Errorf("AddAllowedDomain returned a file with its error:\n%s", got)
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

// TestAddAllowedDomainDoesNotAlias checks that the result shares no memory
// with src: hujson's syntax tree points into the buffer it parsed, and an
// edit that wrote through it would change the caller's bytes.
func TestAddAllowedDomainDoesNotAlias(t *testing.T) {
	src := []byte("{\"network\": {\"allowedDomains\": [\n  \"a.com\",\n]}}\n")
	out, err := AddAllowedDomain(allowFile, src, "example.com")
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

// FuzzAddAllowedDomain checks that every file Parse accepts can be edited:
// AddAllowedDomain checks its own result, so an edit that laid a file out
// wrongly fails here as an internal error.
func FuzzAddAllowedDomain(f *testing.F) {
	for _, tt := range allowCases {
		if !tt.nilSrc {
			f.Add(readAllowInput(f, tt.name, false), "example.com")
		}
	}
	f.Add([]byte("{\"network\": {\"allowedDomains\": [/* a */ \"a.com\" /* b */ , /* c */]}}"), "*.example.com:443")
	f.Add([]byte("{\r\n\"network\" : {\r\n\t\"deniedDomains\":[\r\n\t\t\"x.com\"\r\n\t]\r\n}}"), "[::1]:8080")
	f.Add(DefaultSource(), "example.com")
	f.Fuzz(func(t *testing.T, src []byte, entry string) {
		if _, err := Parse(allowFile, src); err != nil || checkNewDomain(entry) != "" {
			return
		}
		out, err := AddAllowedDomain(allowFile, src, entry)
		if err != nil {
			t.Fatalf("AddAllowedDomain(%q, %q): %v", src, entry, err)
		}
		checkAdded(t, src, out, entry)
		in, got := comments(src), comments(out)
		if newParser(allowFile, src).blank() {
			got = got[:min(len(in), len(got))]
		}
		if diff := cmp.Diff(in, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("comments of %q (-input +output):\n%s", src, diff)
		}
	})
}

func TestAddAllowedDomainDuplicateReturnsSrc(t *testing.T) {
	src := []byte("{\"network\": {\"allowedDomains\": [\"a.com\", \"example.com\"]}} // as it was\n")
	got, err := AddAllowedDomain(allowFile, src, "example.com")
	if err != nil {
		t.Fatal(err)
	}
	if &got[0] != &src[0] || len(got) != len(src) {
		t.Errorf("AddAllowedDomain of an entry already present returned new bytes:\n%s", got)
	}
}
