package policy

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const file = "p.jsonc"

// val is a Value from the test file "p.jsonc".
func val(text string, line, col int) Value {
	return Value{Text: text, Pos: Pos{File: file, Line: line, Col: col}}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want *Policy
	}{
		{
			name: "empty file",
			src:  "",
			want: &Policy{Version: 1},
		},
		{
			name: "only whitespace and comments",
			src:  "// nothing yet\n/* still\nnothing */\n\t\r\n// no newline at the end",
			want: &Policy{Version: 1},
		},
		{
			name: "empty object",
			src:  "{}",
			want: &Policy{Version: 1},
		},
		{
			name: "empty sections and lists",
			src:  `{"version": 1, "filesystem": {"denyRead": []}, "network": {}, "env": {"set": {}}, "presets": []}`,
			want: &Policy{Version: 1},
		},
		{
			name: "every key with comments and trailing commas",
			src: `// Project policy.
{
  "version": 1, // the only version
  "filesystem": {
    "denyRead": ["~/.ssh", "secrets/",],
    "allowRead": ["/opt/sdk"],
    "allowWrite": [
      "~/.cache/thing", /* a cache */
      "../shared",
    ],
    "denyWrite": [".git/hooks"],
  },
  "network": {
    "allowedDomains": ["example.com", "*.example.org:8443",],
    "deniedDomains": ["evil.example.com"],
    "allowUnixSockets": ["/run/user/1000/bus"],
  },
  "env": {
    "allow": ["GO*", "my_var"],
    "deny": ["*TOKEN*"],
    "set": {"ZED": "last", "ALPHA": "", "MID": "x y"},
  },
  "presets": ["go", "node",],
}
`,
			want: &Policy{
				Version: 1,
				Filesystem: Filesystem{
					DenyRead:   []Value{val("~/.ssh", 5, 18), val("secrets/", 5, 28)},
					AllowRead:  []Value{val("/opt/sdk", 6, 19)},
					AllowWrite: []Value{val("~/.cache/thing", 8, 7), val("../shared", 9, 7)},
					DenyWrite:  []Value{val(".git/hooks", 11, 19)},
				},
				Network: Network{
					AllowedDomains:   []Value{val("example.com", 14, 24), val("*.example.org:8443", 14, 39)},
					DeniedDomains:    []Value{val("evil.example.com", 15, 23)},
					AllowUnixSockets: []Value{val("/run/user/1000/bus", 16, 26)},
				},
				Env: Env{
					Allow: []Value{val("GO*", 19, 15), val("my_var", 19, 22)},
					Deny:  []Value{val("*TOKEN*", 20, 14)},
					Set: []EnvVar{
						{Name: val("ZED", 21, 13), Value: val("last", 21, 20)},
						{Name: val("ALPHA", 21, 28), Value: val("", 21, 37)},
						{Name: val("MID", 21, 41), Value: val("x y", 21, 48)},
					},
				},
				Presets: []Value{val("go", 23, 15), val("node", 23, 21)},
			},
		},
		{
			name: "columns count bytes of tabs and multi-byte characters",
			// Two tabs (2 bytes), "/* größe */" (13 bytes: ö and ß are two
			// bytes each) and a space put the quote at byte 17.
			src:  "{\"presets\": [\n\t\t/* größe */ \"go\"]}",
			want: &Policy{Version: 1, Presets: []Value{val("go", 2, 17)}},
		},
		{
			name: "CRLF line endings",
			src:  "{\r\n\"presets\": [\r\n  \"go\"]}\r\n",
			want: &Policy{Version: 1, Presets: []Value{val("go", 3, 3)}},
		},
		{
			name: "byte order mark is ignored but still counted in columns",
			src:  "\uFEFF{\"presets\": [\"go\"]}",
			want: &Policy{Version: 1, Presets: []Value{val("go", 1, 17)}},
		},
		{
			name: "line comment ending the file without a newline",
			src:  `{"presets": ["go"]} // done`,
			want: &Policy{Version: 1, Presets: []Value{val("go", 1, 14)}},
		},
		{
			name: "version written as 1.0",
			src:  `{"version": 1.0}`,
			want: &Policy{Version: 1},
		},
		{
			name: "escapes are decoded",
			src:  `{"filesystem": {"denyRead": ["~/a\u00e9\\b"]}}`,
			want: &Policy{Version: 1, Filesystem: Filesystem{DenyRead: []Value{val(`~/aé\b`, 1, 30)}}},
		},
		{
			name: "path forms",
			src:  `{"filesystem": {"allowRead": ["~", "~/", "/", "/a/../b", "rel", "./x", "../up", "a~b", "a/~/b"]}}`,
			want: &Policy{Version: 1, Filesystem: Filesystem{AllowRead: []Value{
				val("~", 1, 31), val("~/", 1, 36), val("/", 1, 42), val("/a/../b", 1, 47), val("rel", 1, 58),
				val("./x", 1, 65), val("../up", 1, 72), val("a~b", 1, 81), val("a/~/b", 1, 88),
			}}},
		},
		{
			name: "domain forms",
			src: `{"network": {"allowedDomains": [
"example.com",
"*.example.com",
"example.com:8443",
"EXAMPLE.Com",
"a-b.c-d.example",
"xn--bcher-kva.de",
"bücher.de",
"localhost",
"192.168.1.1",
"10.0.0.1:65535",
"[::1]:8080",
"[2001:db8::1]",
"::1",
"2001:db8::1",
]}}`,
			want: &Policy{Version: 1, Network: Network{AllowedDomains: []Value{
				val("example.com", 2, 1),
				val("*.example.com", 3, 1),
				val("example.com:8443", 4, 1),
				val("EXAMPLE.Com", 5, 1),
				val("a-b.c-d.example", 6, 1),
				val("xn--bcher-kva.de", 7, 1),
				val("bücher.de", 8, 1),
				val("localhost", 9, 1),
				val("192.168.1.1", 10, 1),
				val("10.0.0.1:65535", 11, 1),
				val("[::1]:8080", 12, 1),
				val("[2001:db8::1]", 13, 1),
				val("::1", 14, 1),
				val("2001:db8::1", 15, 1),
			}}},
		},
		{
			name: "env patterns",
			src:  `{"env": {"deny": ["*", "a*b*", "_X1"]}}`,
			want: &Policy{Version: 1, Env: Env{Deny: []Value{val("*", 1, 19), val("a*b*", 1, 24), val("_X1", 1, 32)}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(file, []byte(tt.src))
			if err != nil {
				t.Fatalf("Parse: unexpected error:\n%v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		// Syntax.
		{
			name: "syntax error position",
			src:  "{\n  \"presets\": [\"go\"]\n  \"env\": {}\n}",
			want: []string{`p.jsonc:3:3: syntax error: invalid character '"' after object value (expecting ',' or '}')`},
		},
		{
			name: "unexpected end of file points after the last byte",
			src:  "{\n  \"presets\": [",
			want: []string{`p.jsonc:2:15: syntax error: parsing value: unexpected EOF`},
		},
		{
			name: "garbage after the policy",
			src:  "{} x",
			want: []string{`p.jsonc:1:4: syntax error: invalid character 'x' after top-level value`},
		},
		{
			name: "unterminated block comment",
			src:  "{}\n/* open",
			want: []string{`p.jsonc:2:1: syntax error: parsing comment: unexpected EOF`},
		},
		{
			name: "unquoted key",
			src:  "{presets: []}",
			want: []string{`p.jsonc:1:2: syntax error: invalid literal: presets`},
		},

		// Structure.
		{
			name: "policy is not an object",
			src:  `["go"]`,
			want: []string{`p.jsonc:1:1: a policy must be an object, got array`},
		},
		{
			name: "section is not an object",
			src:  `{"filesystem": ["~/.ssh"]}`,
			want: []string{`p.jsonc:1:16: "filesystem" must be an object, got array`},
		},
		{
			name: "list is an object",
			src:  `{"filesystem": {"denyRead": {}}}`,
			want: []string{`p.jsonc:1:29: "denyRead" must be an array of strings, got object`},
		},
		{
			name: "list is a string",
			src:  `{"presets": "go"}`,
			want: []string{`p.jsonc:1:13: "presets" must be an array of strings, got string`},
		},
		{
			name: "list is null",
			src:  `{"network": {"allowedDomains": null}}`,
			want: []string{`p.jsonc:1:32: "allowedDomains" must be an array of strings, got null`},
		},
		{
			name: "entries are not strings",
			src:  `{"env": {"allow": [1, true, null, ["A"], {}]}}`,
			want: []string{
				`p.jsonc:1:20: each entry of "allow" must be a string, got number`,
				`p.jsonc:1:23: each entry of "allow" must be a string, got boolean`,
				`p.jsonc:1:29: each entry of "allow" must be a string, got null`,
				`p.jsonc:1:35: each entry of "allow" must be a string, got array`,
				`p.jsonc:1:42: each entry of "allow" must be a string, got object`,
			},
		},
		{
			name: "empty strings",
			src:  `{"filesystem": {"allowWrite": [""]}, "network": {"deniedDomains": [""]}, "presets": [""]}`,
			want: []string{
				`p.jsonc:1:32: empty string in "allowWrite"; remove the entry`,
				`p.jsonc:1:68: empty string in "deniedDomains"; remove the entry`,
				`p.jsonc:1:86: empty string in "presets"; remove the entry`,
			},
		},
		{
			name: "invalid UTF-8 in a string",
			src:  "{\"presets\": [\"g\xffo\"]}",
			want: []string{`p.jsonc:1:14: invalid UTF-8 in string; save the file as UTF-8`},
		},

		// Keys.
		{
			name: "unknown key with a suggestion",
			src:  `{"filesystem": {"allowWrites": []}}`,
			want: []string{`p.jsonc:1:17: unknown key "allowWrites" in "filesystem"; did you mean "allowWrite"?`},
		},
		{
			name: "unknown key differing only in case",
			src:  `{"Network": {}}`,
			want: []string{`p.jsonc:1:2: unknown key "Network"; did you mean "network"?`},
		},
		{
			name: "unknown key two edits away",
			src:  `{"env": {"dney": []}}`,
			want: []string{`p.jsonc:1:10: unknown key "dney" in "env"; did you mean "deny"?`},
		},
		{
			name: "unknown key with nothing close",
			src:  `{"sockets": []}`,
			want: []string{`p.jsonc:1:2: unknown key "sockets"; known keys are "version", "filesystem", "network", "env", "presets", "git"`},
		},
		{
			name: "short unknown key gets no suggestion",
			src:  `{"env": {"a": []}}`,
			want: []string{`p.jsonc:1:10: unknown key "a" in "env"; known keys are "allow", "deny", "set"`},
		},
		{
			name: "no suggestion that replaces the whole key",
			// "xe" is two edits from "set", but so is any two-letter key.
			src:  `{"env": {"xe": []}}`,
			want: []string{`p.jsonc:1:10: unknown key "xe" in "env"; known keys are "allow", "deny", "set"`},
		},
		{
			name: "duplicate key",
			src:  "{\n  \"presets\": [\"go\"],\n  \"presets\": [\"rust\"],\n}",
			want: []string{`p.jsonc:3:3: duplicate key "presets"; keep one (the first is at 2:3)`},
		},
		{
			name: "duplicate key in a section is still checked inside",
			src:  `{"network": {"deniedDomains": [], "deniedDomains": ["http://x"]}}`,
			want: []string{
				`p.jsonc:1:35: duplicate key "deniedDomains" in "network"; keep one (the first is at 1:14)`,
				`p.jsonc:1:53: "http://x": write the host name without a scheme`,
			},
		},

		// Version.
		{
			name: "unsupported version",
			src:  `{"version": 2}`,
			want: []string{`p.jsonc:1:13: unsupported version 2; this sandbar reads version 1`},
		},
		{
			name: "version as a string",
			src:  `{"version": "1"}`,
			want: []string{`p.jsonc:1:13: "version" must be the number 1, got string`},
		},

		// Paths.
		{
			name: "home of another user",
			src:  `{"filesystem": {"denyRead": ["~name/x", "~root"]}}`,
			want: []string{
				`p.jsonc:1:30: "~name" is not supported; write "~/" for your home or an absolute path`,
				`p.jsonc:1:41: "~root" is not supported; write "~/" for your home or an absolute path`,
			},
		},
		{
			name: "globs",
			src:  `{"filesystem": {"denyWrite": ["*.pem", "a?", "[ab]"]}, "network": {"allowUnixSockets": ["/run/*.sock"]}}`,
			want: []string{
				`p.jsonc:1:31: "*.pem": globs are not supported; name the directory or file`,
				`p.jsonc:1:40: "a?": globs are not supported; name the directory or file`,
				`p.jsonc:1:46: "[ab]": globs are not supported; name the directory or file`,
				`p.jsonc:1:89: "/run/*.sock": globs are not supported; name the directory or file`,
			},
		},
		{
			name: "NUL byte in a path",
			src:  `{"filesystem": {"allowRead": ["a\u0000b"]}}`,
			want: []string{`p.jsonc:1:31: "a\x00b" contains a NUL byte; remove it`},
		},

		// Domains.
		{
			name: "domains",
			src: `{"network": {"allowedDomains": [
"https://example.com",
"example.com/api",
"user@example.com",
"a..example.com",
"example.com.",
".example.com",
"*",
"*example.com",
"a.*.example.com",
"example.*",
"**.example.com",
"example.com:0",
"example.com:65536",
"example.com:",
"example.com:http",
"example.com:+80",
":8080",
"exa mple.com",
"ex_ample.com",
"-example.com",
"example-.com",
"[::1",
"[::1]8080",
"[1.2.3.4]:80",
"[fe80::1%eth0]",
"[::1]:0",
"a:b:c",
"10.0.0.256",
"1.2.3.4:99999",
"` + strings.Repeat("a", 64) + `.com",
]}}`,
			want: []string{
				`p.jsonc:2:1: "https://example.com": write the host name without a scheme`,
				`p.jsonc:3:1: "example.com/api": write the host name without a path`,
				`p.jsonc:4:1: "user@example.com": write the host name without user info`,
				`p.jsonc:5:1: "a..example.com": empty label in host name; remove the extra "."`,
				`p.jsonc:6:1: "example.com.": empty label in host name; remove the extra "."`,
				`p.jsonc:7:1: ".example.com": empty label in host name; remove the extra "."`,
				`p.jsonc:8:1: "*": "*" must be followed by a domain, like "*.example.com"`,
				`p.jsonc:9:1: "*example.com": "*" is allowed only as the whole first label, like "*.example.com"`,
				`p.jsonc:10:1: "a.*.example.com": "*" is allowed only as the whole first label, like "*.example.com"`,
				`p.jsonc:11:1: "example.*": "*" is allowed only as the whole first label, like "*.example.com"`,
				`p.jsonc:12:1: "**.example.com": "*" is allowed only as the whole first label, like "*.example.com"`,
				`p.jsonc:13:1: "example.com:0": port must be a number from 1 to 65535`,
				`p.jsonc:14:1: "example.com:65536": port must be a number from 1 to 65535`,
				`p.jsonc:15:1: "example.com:": port must be a number from 1 to 65535`,
				`p.jsonc:16:1: "example.com:http": port must be a number from 1 to 65535`,
				`p.jsonc:17:1: "example.com:+80": port must be a number from 1 to 65535`,
				`p.jsonc:18:1: ":8080": missing host name before the port`,
				`p.jsonc:19:1: "exa mple.com": invalid character ' ' in host name; use letters, digits, "-" and "."`,
				`p.jsonc:20:1: "ex_ample.com": invalid character '_' in host name; use letters, digits, "-" and "."`,
				`p.jsonc:21:1: "-example.com": label "-example" must not start or end with "-"`,
				`p.jsonc:22:1: "example-.com": label "example-" must not start or end with "-"`,
				`p.jsonc:23:1: "[::1": missing "]" after the IPv6 address`,
				`p.jsonc:24:1: "[::1]8080": write a port after "]" as ":port"`,
				`p.jsonc:25:1: "[1.2.3.4]:80": "1.2.3.4" is not an IPv6 address`,
				`p.jsonc:26:1: "[fe80::1%eth0]": "fe80::1%eth0" is not an IPv6 address`,
				`p.jsonc:27:1: "[::1]:0": port must be a number from 1 to 65535`,
				`p.jsonc:28:1: "a:b:c": too many ":"; write an IPv6 address with a port in brackets, like "[::1]:8080"`,
				`p.jsonc:29:1: "10.0.0.256" is not a valid IPv4 address`,
				`p.jsonc:30:1: "1.2.3.4:99999": port must be a number from 1 to 65535`,
				`p.jsonc:31:1: "` + strings.Repeat("a", 64) + `.com": label "` + strings.Repeat("a", 64) + `" is longer than 63 characters`,
			},
		},

		// Environment.
		{
			name: "env pattern with an invalid character",
			src:  `{"env": {"allow": ["MY-VAR", "A?"], "deny": ["X=1"]}}`,
			want: []string{
				`p.jsonc:1:20: "MY-VAR": invalid character '-' in variable name pattern; use letters, digits, "_" and "*"`,
				`p.jsonc:1:30: "A?": invalid character '?' in variable name pattern; use letters, digits, "_" and "*"`,
				`p.jsonc:1:46: "X=1": invalid character '=' in variable name pattern; use letters, digits, "_" and "*"`,
			},
		},
		{
			name: "env set is not an object",
			src:  `{"env": {"set": ["A=1"]}}`,
			want: []string{`p.jsonc:1:17: "set" must be an object of strings, got array`},
		},
		{
			name: "env set names and values",
			src: `{"env": {"set": {
  "1ABC": "x",
  "A-B": "x",
  "": "x",
  "SANDBAR_MODE": "x",
  "sandbar": "x",
  "N": 1,
  "NUL": "a\u0000",
  "OK": "1",
  "OK": "2",
}}}`,
			want: []string{
				`p.jsonc:2:3: "1ABC" is not a valid variable name; use letters, digits and "_", not starting with a digit`,
				`p.jsonc:3:3: "A-B" is not a valid variable name; use letters, digits and "_", not starting with a digit`,
				`p.jsonc:4:3: empty variable name in "set"; remove the entry`,
				`p.jsonc:5:3: "SANDBAR_MODE" is reserved: names starting with "SANDBAR" belong to sandbar; choose another name`,
				`p.jsonc:6:3: "sandbar" is reserved: names starting with "SANDBAR" belong to sandbar; choose another name`,
				`p.jsonc:7:8: value of "N" must be a string, got number`,
				`p.jsonc:8:10: value of "NUL" contains a NUL byte; remove it`,
				`p.jsonc:10:3: duplicate key "OK" in "set"; keep one (the first is at 9:3)`,
			},
		},

		// Presets.
		{
			name: "unknown preset",
			src:  `{"presets": ["go", "pyhton"]}`,
			want: []string{`p.jsonc:1:20: unknown preset "pyhton"; known presets are "go", "java", "node", "python", "rust"`},
		},

		// Several at once.
		{
			name: "all errors in one pass",
			src: `{
  "version": 2,
  "filesystem": {
    "allowWrites": ["~/x"],
    "denyRead": ["~bob", "ok", "*.key"],
  },
  "network": {"allowedDomains": ["https://a.example"]},
  "env": {"set": {"SANDBAR": "1"}},
  "presets": ["ruby"],
  "extra": true,
}`,
			want: []string{
				`p.jsonc:2:14: unsupported version 2; this sandbar reads version 1`,
				`p.jsonc:4:5: unknown key "allowWrites" in "filesystem"; did you mean "allowWrite"?`,
				`p.jsonc:5:18: "~bob" is not supported; write "~/" for your home or an absolute path`,
				`p.jsonc:5:32: "*.key": globs are not supported; name the directory or file`,
				`p.jsonc:7:34: "https://a.example": write the host name without a scheme`,
				`p.jsonc:8:19: "SANDBAR" is reserved: names starting with "SANDBAR" belong to sandbar; choose another name`,
				`p.jsonc:9:15: unknown preset "ruby"; known presets are "go", "java", "node", "python", "rust"`,
				`p.jsonc:10:3: unknown key "extra"; known keys are "version", "filesystem", "network", "env", "presets", "git"`,
			},
		},
		{
			name: "error after tabs and multi-byte characters",
			// A tab (1 byte), "/* ü */" (9 bytes: ü is two) and a space put
			// the quote at byte 11.
			src:  "{\"presets\": [\n\t/* ü */ \"java \"]}",
			want: []string{`p.jsonc:2:11: unknown preset "java "; known presets are "go", "java", "node", "python", "rust"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(file, []byte(tt.src))
			if got != nil {
				t.Errorf("Parse returned a policy along with errors: %+v", got)
			}
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("Parse error = %v (%T), want an ErrorList", err, err)
			}
			if diff := cmp.Diff(tt.want, strings.Split(err.Error(), "\n")); diff != "" {
				t.Errorf("Parse errors mismatch (-want +got):\n%s", diff)
			}
			if len(list) != len(tt.want) {
				t.Errorf("ErrorList has %d entries, want %d", len(list), len(tt.want))
			}
		})
	}
}

func TestErrorListSort(t *testing.T) {
	at := func(f string, line, col int) *Error {
		return &Error{Pos: Pos{File: f, Line: line, Col: col}, Msg: f}
	}
	list := ErrorList{at("b", 1, 1), at("a", 2, 1), at("a", 1, 5), at("a", 1, 2)}
	list.Sort()
	want := "a:1:2: a\na:1:5: a\na:2:1: a\nb:1:1: b"
	if diff := cmp.Diff(want, list.Error()); diff != "" {
		t.Errorf("sorted ErrorList mismatch (-want +got):\n%s", diff)
	}
}

func TestErrorAs(t *testing.T) {
	_, err := Parse(file, []byte(`{"version": 3}`))
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("errors.As(%v, *Error) = false, want true", err)
	}
	want := &Error{Pos: Pos{File: file, Line: 1, Col: 13}, Msg: "unsupported version 3; this sandbar reads version 1"}
	if diff := cmp.Diff(want, e); diff != "" {
		t.Errorf("first error mismatch (-want +got):\n%s", diff)
	}
}
