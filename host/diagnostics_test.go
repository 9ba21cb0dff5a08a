package host

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sandbar-dev/sandbar/workspace/policy"
)

func rng(l1, c1, l2, c2 int) lspRange {
	return lspRange{Start: position{l1, c1}, End: position{l2, c2}}
}

func TestErrorRange(t *testing.T) {
	tests := []struct {
		name      string
		content   string
		line, col int
		encoding  string
		want      lspRange
	}{
		{"a key", "{\n  \"netwrk\": {},\n}", 2, 3, encodingUTF16, rng(1, 2, 1, 10)},
		{"a word", "{\n  \"a\": tru,\n}", 2, 8, encodingUTF16, rng(1, 7, 1, 10)},
		{"one character", "{\n  \"a\": ]\n}", 2, 8, encodingUTF16, rng(1, 7, 1, 8)},
		// "é" is 2 bytes and 1 UTF-16 unit, "😀" 4 bytes and 2 units.
		{"utf-16 after wide characters", "/* é😀 */ \"x\": 1", 1, 14, encodingUTF16, rng(0, 10, 0, 13)},
		{"utf-8 after wide characters", "/* é😀 */ \"x\": 1", 1, 14, encodingUTF8, rng(0, 13, 0, 16)},
		{"a wide character itself", "[é]", 1, 2, encodingUTF16, rng(0, 1, 0, 2)},
		{"CRLF lines", "{\r\n  bad\r\n}", 2, 3, encodingUTF16, rng(1, 2, 1, 5)},
		// package policy ends lines at '\n' only; LSP also at a lone '\r'.
		{"a lone CR ends a line for LSP", "{\r  bad}", 1, 5, encodingUTF16, rng(1, 2, 1, 5)},
		{"end of line", "{\n}", 1, 2, encodingUTF16, rng(0, 1, 0, 1)},
		{"end of file", "{\"a\": ", 1, 7, encodingUTF16, rng(0, 6, 0, 6)},
		{"past the last line", "{\n}", 5, 1, encodingUTF16, rng(1, 1, 1, 1)},
		{"past the end of the line", "ab\ncd", 1, 9, encodingUTF16, rng(1, 2, 1, 2)},
		{"an unterminated string", "[\"abc\n]", 1, 2, encodingUTF16, rng(0, 1, 0, 5)},
		{"a string with an escaped quote", `["a\"b", 1]`, 1, 2, encodingUTF16, rng(0, 1, 0, 7)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := errorRange([]byte(tt.content), tt.line, tt.col, tt.encoding)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("range of %d:%d (-want +got):\n%s", tt.line, tt.col, diff)
			}
		})
	}
}

// A file that cannot be read any more still gets a diagnostic, at the
// line and column as given.
func TestErrorRangeWithoutContent(t *testing.T) {
	if diff := cmp.Diff(rng(2, 4, 2, 4), errorRange(nil, 3, 5, encodingUTF16)); diff != "" {
		t.Errorf("range (-want +got):\n%s", diff)
	}
}

// The positions package policy reports land where the editor shows the
// offending text.
func TestDiagnosticsOfParseErrors(t *testing.T) {
	content := []byte("{\n  /* café ☕ 😀 */ \"netwrk\": {},\n  \"version\": 1,\n}\n")
	_, err := policy.Parse("/w/.sandbar/policy.jsonc", content)
	var el policy.ErrorList
	if !errors.As(err, &el) {
		t.Fatalf("Parse: %v; want an ErrorList", err)
	}
	got := diagnostics(el, content, encodingUTF16)
	// `  /* café ☕ 😀 */ ` is 18 UTF-16 units (ASCII 14, é 1, ☕ 1, 😀 2);
	// `"netwrk"` is 8.
	want := []diagnostic{{Range: rng(1, 18, 1, 26), Severity: severityError, Source: "sandbar", Message: el[0].Msg}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("diagnostics (-want +got):\n%s", diff)
	}
}

// An error that is not at a place in the file is not a diagnostic, and no
// errors are an empty list (which clears the editor's), not null.
func TestDiagnosticsWithoutPlaces(t *testing.T) {
	got := diagnostics(policy.ErrorList{{Pos: policy.Pos{File: "/p"}, Msg: "unreadable"}}, []byte("{}"), encodingUTF16)
	if got == nil || len(got) != 0 {
		t.Errorf("diagnostics = %#v; want an empty list", got)
	}
}
