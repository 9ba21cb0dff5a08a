package policy

// policy.schema.json is the policy's JSON Schema, for editors: VS Code's
// extension (editors/vscode) contributes it for completion, hover and
// validation as the file is typed. The parser stays the authority; these
// tests keep the schema from drifting away from it. They check that the
// schema has the same keys as the parser, in the documented order, and the
// same structure as the Policy type; the same presets; and, by validating
// with a small validator of the keywords the schema uses, that it accepts
// every value and document Parse accepts and rejects what Parse rejects,
// but for the differences listed in looser.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/tailscale/hujson"
)

const schemaFile = "policy.schema.json"

// schema is one JSON Schema object, restricted to the keywords the
// validator below knows: a keyword it does not know fails
// TestSchemaLoads, so that the schema cannot say more than is checked.
type schema struct {
	// Validation.
	Ref                  string             `json:"$ref"`
	Type                 string             `json:"type"`
	Properties           *orderedSchemas    `json:"properties"`
	AdditionalProperties *boolOrSchema      `json:"additionalProperties"`
	PropertyNames        *schema            `json:"propertyNames"`
	Items                *schema            `json:"items"`
	MinLength            *int               `json:"minLength"`
	Pattern              string             `json:"pattern"`
	Enum                 []json.RawMessage  `json:"enum"`
	Not                  *schema            `json:"not"`
	AnyOf                []*schema          `json:"anyOf"`
	Definitions          map[string]*schema `json:"definitions"`

	// Annotations: what editors show, not what they check.
	Schema                   string            `json:"$schema"`
	Comment                  string            `json:"$comment"`
	Title                    string            `json:"title"`
	Description              string            `json:"description"`
	MarkdownDescription      string            `json:"markdownDescription"`
	MarkdownEnumDescriptions []string          `json:"markdownEnumDescriptions"`
	PatternErrorMessage      string            `json:"patternErrorMessage"`
	ErrorMessage             string            `json:"errorMessage"`
	AllowComments            bool              `json:"allowComments"`
	AllowTrailingCommas      bool              `json:"allowTrailingCommas"`
	Default                  json.RawMessage   `json:"default"`
	Examples                 []json.RawMessage `json:"examples"`
	DefaultSnippets          []json.RawMessage `json:"defaultSnippets"`
}

// orderedSchemas is "properties", with the order the file writes them in.
type orderedSchemas struct {
	keys []string
	m    map[string]*schema
}

func (o *orderedSchemas) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return fmt.Errorf("properties: want an object")
	}
	o.m = map[string]*schema{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		key := t.(string)
		var s schema
		if err := dec.Decode(&s); err != nil {
			return fmt.Errorf("properties.%s: %w", key, err)
		}
		o.keys = append(o.keys, key)
		o.m[key] = &s
	}
	return nil
}

type boolOrSchema struct {
	allowed bool
	schema  *schema
}

func (b *boolOrSchema) UnmarshalJSON(data []byte) error {
	if err := json.Unmarshal(data, &b.allowed); err == nil {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	b.schema = &schema{}
	return dec.Decode(b.schema)
}

func loadSchema(t *testing.T) *schema {
	t.Helper()
	b, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var s schema
	if err := dec.Decode(&s); err != nil {
		t.Fatalf("reading %s (a keyword the validator here does not know must be taught to it first): %v", schemaFile, err)
	}
	return &s
}

func TestSchemaLoads(t *testing.T) {
	s := loadSchema(t)
	if s.Type != "object" || s.AdditionalProperties == nil || s.AdditionalProperties.allowed || s.AdditionalProperties.schema != nil {
		t.Errorf("the top level is not a closed object: an unknown key is an error for Parse")
	}
	if !s.AllowComments || !s.AllowTrailingCommas {
		t.Errorf("allowComments and allowTrailingCommas must be true: policy files are HuJSON")
	}
	// Every pattern must mean the same to ECMAScript (editors) and Go (this
	// test): no look-around, no back references, no \u escapes.
	walkSchemas(s, func(path string, s *schema) {
		if s.Pattern == "" {
			return
		}
		if _, err := regexp.Compile(s.Pattern); err != nil {
			t.Errorf("%s: pattern %q: %v", path, s.Pattern, err)
		}
		if strings.Contains(s.Pattern, `\u`) || strings.Contains(s.Pattern, "(?") && !strings.Contains(s.Pattern, "(?:") {
			t.Errorf("%s: pattern %q uses syntax that ECMAScript and Go read differently", path, s.Pattern)
		}
	})
}

func walkSchemas(s *schema, visit func(path string, s *schema)) {
	var walk func(path string, s *schema)
	walk = func(path string, s *schema) {
		if s == nil {
			return
		}
		visit(path, s)
		if s.Properties != nil {
			for _, k := range s.Properties.keys {
				walk(path+".properties."+k, s.Properties.m[k])
			}
		}
		if s.AdditionalProperties != nil {
			walk(path+".additionalProperties", s.AdditionalProperties.schema)
		}
		walk(path+".propertyNames", s.PropertyNames)
		walk(path+".items", s.Items)
		walk(path+".not", s.Not)
		for i, a := range s.AnyOf {
			walk(fmt.Sprintf("%s.anyOf[%d]", path, i), a)
		}
		for _, k := range slices.Sorted(mapKeys(s.Definitions)) {
			walk(path+".definitions."+k, s.Definitions[k])
		}
	}
	walk("#", s)
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// resolve follows a $ref into the schema's definitions.
func (root *schema) resolve(s *schema) (*schema, error) {
	for s != nil && s.Ref != "" {
		name, ok := strings.CutPrefix(s.Ref, "#/definitions/")
		if !ok || root.Definitions[name] == nil {
			return nil, fmt.Errorf("$ref %q: not a definition of the schema", s.Ref)
		}
		s = root.Definitions[name]
	}
	return s, nil
}

// TestSchemaKeys checks each object of the schema against the parser's
// list of its keys, order included: the schema documents them in the order
// of docs/policy-schema.md, as the parser's messages list them.
func TestSchemaKeys(t *testing.T) {
	root := loadSchema(t)
	objects := []struct {
		path []string
		keys []string
	}{
		{nil, topKeys},
		{[]string{"filesystem"}, filesystemKeys},
		{[]string{"network"}, networkKeys},
		{[]string{"env"}, envKeys},
		{[]string{"git"}, gitKeys},
		{[]string{"git", "push"}, gitPushKeys},
	}
	for _, o := range objects {
		name := strings.Join(append([]string{"#"}, o.path...), ".")
		t.Run(name, func(t *testing.T) {
			s := root
			for _, k := range o.path {
				if s.Properties == nil || s.Properties.m[k] == nil {
					t.Fatalf("the schema has no %q in %s", k, name)
				}
				s = s.Properties.m[k]
			}
			if s.Properties == nil {
				t.Fatalf("%s has no properties", name)
			}
			if diff := cmp.Diff(o.keys, s.Properties.keys); diff != "" {
				t.Errorf("keys of %s (-parser +schema):\n%s", name, diff)
			}
			if s.AdditionalProperties == nil || s.AdditionalProperties.allowed || s.AdditionalProperties.schema != nil {
				t.Errorf("%s must have \"additionalProperties\": false, as Parse refuses unknown keys", name)
			}
		})
	}
}

// TestSchemaFollowsPolicyType walks the Policy type and the schema side by
// side: each field is a property (its name with a lower-case first
// letter), a struct is a closed object, []Value an array of non-empty
// strings, []EnvVar an object of strings, *Flag a boolean. A field added to
// the type without the schema (or the other way round) fails here.
func TestSchemaFollowsPolicyType(t *testing.T) {
	root := loadSchema(t)
	var walk func(path string, typ reflect.Type, s *schema)
	walk = func(path string, typ reflect.Type, s *schema) {
		s, err := root.resolve(s)
		if err != nil {
			t.Errorf("%s: %v", path, err)
			return
		}
		switch {
		case typ == reflect.TypeFor[int]():
			if s.Type != "number" && s.Type != "integer" {
				t.Errorf("%s: type %q, want number", path, s.Type)
			}
		case typ == reflect.TypeFor[[]Value]():
			items, err := root.resolve(s.Items)
			if s.Type != "array" || err != nil || items == nil || items.Type != "string" {
				t.Errorf("%s: want an array of strings", path)
				return
			}
			if items.Enum == nil && (items.MinLength == nil || *items.MinLength != 1) {
				t.Errorf("%s: entries need minLength 1: Parse refuses an empty string", path)
			}
		case typ == reflect.TypeFor[[]EnvVar]():
			if s.Type != "object" || s.AdditionalProperties == nil || s.AdditionalProperties.schema == nil || s.AdditionalProperties.schema.Type != "string" || s.PropertyNames == nil {
				t.Errorf("%s: want an object of strings with propertyNames", path)
			}
		case typ == reflect.TypeFor[*Flag]():
			if s.Type != "boolean" {
				t.Errorf("%s: type %q, want boolean", path, s.Type)
			}
		case typ.Kind() == reflect.Struct:
			if s.Type != "object" || s.Properties == nil {
				t.Errorf("%s: want an object with properties", path)
				return
			}
			var fields []string
			for f := range typ.Fields() {
				key := lowerFirst(f.Name)
				fields = append(fields, key)
				ps := s.Properties.m[key]
				if ps == nil {
					t.Errorf("%s: the schema has no %q for %s.%s", path, key, typ.Name(), f.Name)
					continue
				}
				walk(path+"."+key, f.Type, ps)
			}
			if diff := cmp.Diff(fields, s.Properties.keys); diff != "" {
				t.Errorf("%s: properties (-%s's fields +schema):\n%s", path, typ.Name(), diff)
			}
		default:
			t.Errorf("%s: the test does not know how %v is written in a policy file; teach it", path, typ)
		}
	}
	walk("#", reflect.TypeFor[Policy](), root)
}

func lowerFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToLower(r)) + s[n:]
}

func TestSchemaPresets(t *testing.T) {
	root := loadSchema(t)
	items, err := root.resolve(root.Properties.m["presets"].Items)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, raw := range items.Enum {
		var n string
		if err := json.Unmarshal(raw, &n); err != nil {
			t.Fatalf("presets enum: %v", err)
		}
		names = append(names, n)
	}
	if diff := cmp.Diff(PresetNames(), names); diff != "" {
		t.Errorf("presets (-PresetNames +schema):\n%s", diff)
	}
	// Hover shows each preset's paths: they must be PresetPathsFor's. The
	// schema has one text per preset, whatever the editor's system, so
	// it names both systems' paths where they differ.
	if len(items.MarkdownEnumDescriptions) != len(names) {
		t.Fatalf("%d markdownEnumDescriptions for %d presets", len(items.MarkdownEnumDescriptions), len(names))
	}
	list := func(name, goos string) string {
		var quoted []string
		for _, p := range PresetPathsFor(name, goos) {
			quoted = append(quoted, "`"+p+"`")
		}
		return strings.Join(quoted, ", ")
	}
	for i, n := range names {
		want := "Writable: " + list(n, "linux")
		if mac := list(n, "darwin"); mac != list(n, "linux") {
			want = "Writable: on Linux " + list(n, "linux") + "; on macOS " + mac
		}
		if items.MarkdownEnumDescriptions[i] != want {
			t.Errorf("preset %q: description %q, want %q", n, items.MarkdownEnumDescriptions[i], want)
		}
	}
}

// looser are the values the schema accepts and Parse refuses, and why the
// schema does not: a regular expression both languages read cannot say it,
// or another check of the editor's says it already. The schema never
// refuses what Parse accepts.
var looser = map[string]string{
	"example.com:65536": "port range: a pattern bounds the digits, not the number",
	"example.com:99999": "port range",
	"10.0.0.256":        "IPv4 address range",
	"1.2.3":             "a name whose last label is all digits",
	"[1.2.3.4]":         "what an IPv6 address is, inside brackets",
	"a:b:c":             "what an IPv6 address is",
	"1:2:3:4:5:6:7:8:9": "what an IPv6 address is",
	"gö✓.de":            "which non-ASCII characters are letters",
	"a" + strings.Repeat("b", 63) + ".example": "label length",
	"github.com:99999/a":                       "port range",
}

// sampleValues are the strings tried in each list, for Parse and the
// schema to agree on.
var sampleValues = map[string][]string{
	"path": {
		"~", "~/", "~/.ssh", "/abs/path", "rel", "./rel", "../up", "a~b", "dir/", "gö/ü", "a b", "with:colon",
		"~bob", "~root/x", "*.pem", "a?", "[ab]", "dir/*", "a\x00b", "",
	},
	"domain": {
		"example.com", "localhost", "*.example.com", "example.com:8443", "*.example.com:443", "192.168.1.10",
		"10.0.0.1:8080", "::1", "2001:db8::1", "[2001:db8::1]", "[::1]:8080", "bücher.de", "xn--bcher-kva.de",
		"EXAMPLE.COM", "a-b.c", "example.com:0080", "1.2.3.4:1",
		"https://example.com", "example.com/api", "user@example.com", "a..example.com", "example.com.", ".example.com",
		"*", "*example.com", "a.*.example.com", "example.*", "example.com:0", "example.com:65536", "example.com:",
		"example.com:http", ":8080", "ex_ample.com", "exa mple.com", "-example.com", "example-.com", "[::1", "[::1]8080",
		"[1.2.3.4]", "[fe80::1%eth0]", "a:b:c", "10.0.0.256", "1.2.3", "example.com:99999", "[::1]:0",
		"1:2:3:4:5:6:7:8:9", "gö✓.de", "a" + strings.Repeat("b", 63) + ".example", "",
	},
	"gitHost": {
		"github.com", "git.example.com:8443", "10.0.0.5:443", "[::1]:443",
		"*.github.com", "*", "https://github.com", "github.com/x", "bad_host", "",
	},
	"repository": {
		"github.com/me/project", "github.com/me/project.git", "github.com/me/*", "github.com/me/", "git.example.com:8443/a/b",
		"https://github.com/a/b", "github.com", "github.com/", "git@github.com/a", "github.com/a//b", "github.com/../b",
		"github.com/./b", "github.com/a/..", "bad_host/a", "github.com/a b", "github.com/a?", "github.com/a#b",
		"github.com/a%20b", "*.github.com/a", "github.com:99999/a", "[fe80::1]/x", "",
	},
	"branch": {
		"main", "agent/*", "*", "sandbar/x/y", "feature-1", "a.b", "ümlaut",
		"refs/heads/agent/*", "refs/tags/v1", "a b", "a..b", "a/", "/a", ".x", "x.lock", "x.lock/y", "a?", "a//b",
		"a@{1}", "x.", "@", "a~1", "a^", "a:b", "a[", `a\b`, "a\tb", "",
	},
	"envPattern": {"GO*", "my_var", "*", "*TOKEN*", "A1", "MY-VAR", "A?", "X=1", "a b", ""},
	"preset":     {"go", "node", "python", "rust", "java", "ruby", "Go", ""},
}

// sampleDoc is a policy with value as the one entry of a list of kind.
func sampleDoc(kind, value string) []string {
	v, _ := json.Marshal(value)
	lists := map[string][]string{
		"path":       {`{"filesystem": {"denyRead": [%s]}}`, `{"filesystem": {"allowWrite": [%s]}}`, `{"network": {"allowUnixSockets": [%s]}}`},
		"domain":     {`{"network": {"allowedDomains": [%s]}}`, `{"network": {"deniedDomains": [%s]}}`},
		"gitHost":    {`{"git": {"hosts": [%s]}}`},
		"repository": {`{"git": {"push": {"repositories": [%s]}}}`},
		"branch":     {`{"git": {"push": {"branches": [%s]}}}`},
		"envPattern": {`{"env": {"allow": [%s]}}`, `{"env": {"deny": [%s]}}`},
		"preset":     {`{"presets": [%s]}`},
	}
	var docs []string
	for _, f := range lists[kind] {
		docs = append(docs, fmt.Sprintf(f, v))
	}
	return docs
}

func TestSchemaAgreesOnValues(t *testing.T) {
	root := loadSchema(t)
	for _, kind := range slices.Sorted(mapKeys(sampleValues)) {
		for _, value := range sampleValues[kind] {
			for _, doc := range sampleDoc(kind, value) {
				checkAgreement(t, root, doc, looser[value])
			}
		}
	}
}

func TestSchemaAgreesOnDocuments(t *testing.T) {
	root := loadSchema(t)
	docs := []struct {
		name, src, looser string
	}{
		{name: "every key", src: `{"version": 1, "filesystem": {"denyRead": ["~/.ssh"], "allowRead": ["/opt"], "allowWrite": ["x"], "denyWrite": [".git"]},
			"network": {"allowedDomains": ["a.com"], "deniedDomains": ["b.com"], "allowUnixSockets": ["/run/x"]},
			"env": {"allow": ["GO*"], "deny": ["*TOKEN*"], "set": {"CI": "1", "EMPTY": "", "_x9": "y"}},
			"presets": ["go"], "git": {"hosts": ["github.com"], "push": {"branches": ["agent/*"], "repositories": ["github.com/me/p"]}, "forcePush": false, "deleteBranches": true}}`},
		{name: "empty object", src: `{}`},
		{name: "empty sections", src: `{"filesystem": {}, "network": {}, "env": {"set": {}}, "presets": [], "git": {"push": {}}}`},
		{name: "version 1.0", src: `{"version": 1.0}`},
		{name: "version 2", src: `{"version": 2}`},
		{name: "version as a string", src: `{"version": "1"}`},
		{name: "not an object", src: `[]`},
		{name: "unknown top-level key", src: `{"filesytem": {}}`},
		{name: "$schema is an unknown key too", src: `{"$schema": "x"}`},
		{name: "unknown key in filesystem", src: `{"filesystem": {"allowWrites": []}}`},
		{name: "unknown key in network", src: `{"network": {"alowedDomains": []}}`},
		{name: "unknown key in env", src: `{"env": {"unset": []}}`},
		{name: "unknown key in git", src: `{"git": {"host": []}}`},
		{name: "unknown key in git.push", src: `{"git": {"push": {"branch": []}}}`},
		{name: "section of the wrong type", src: `{"filesystem": []}`},
		{name: "list of the wrong type", src: `{"filesystem": {"denyRead": "~/.ssh"}}`},
		{name: "null list", src: `{"network": {"allowedDomains": null}}`},
		{name: "entry of the wrong type", src: `{"presets": [1]}`},
		{name: "set of the wrong type", src: `{"env": {"set": ["A=1"]}}`},
		{name: "set value of the wrong type", src: `{"env": {"set": {"A": 1}}}`},
		{name: "set value with NUL", src: `{"env": {"set": {"A": "a\u0000b"}}}`},
		{name: "set name starting with a digit", src: `{"env": {"set": {"1A": "x"}}}`},
		{name: "set name with a dash", src: `{"env": {"set": {"A-B": "x"}}}`},
		{name: "set name reserved", src: `{"env": {"set": {"SANDBAR_X": "x"}}}`},
		{name: "set name reserved in any case", src: `{"env": {"set": {"sandbarish": "x"}}}`},
		{name: "set name empty", src: `{"env": {"set": {"": "x"}}}`},
		{name: "flag of the wrong type", src: `{"git": {"forcePush": "yes"}}`},
		{name: "flag number", src: `{"git": {"deleteBranches": 0}}`},
		{name: "duplicate key", src: `{"presets": [], "presets": []}`, looser: "editors report duplicate keys themselves"},
	}
	for _, d := range docs {
		t.Run(d.name, func(t *testing.T) {
			checkAgreement(t, root, d.src, d.looser)
		})
	}
}

// TestSchemaAcceptsShippedPolicies validates the built-in default and the
// policy files of testdata: the schema must agree with Parse on each.
func TestSchemaAcceptsShippedPolicies(t *testing.T) {
	root := loadSchema(t)
	t.Run("default.jsonc", func(t *testing.T) {
		checkAgreement(t, root, string(DefaultSource()), "")
	})
	files, err := filepath.Glob(filepath.Join("testdata", "*", "*.jsonc"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(f, func(t *testing.T) {
			checkAgreement(t, root, string(b), "")
		})
	}
}

// checkAgreement parses src with Parse and validates it with the schema;
// they must agree, unless why says the schema is knowingly looser.
func checkAgreement(t *testing.T, root *schema, src, why string) {
	t.Helper()
	_, perr := Parse("p.jsonc", []byte(src))
	// A newline at the end, as Parse adds: hujson refuses a line comment
	// that ends the file.
	v, err := hujson.Parse([]byte(src + "\n"))
	if err != nil {
		if perr == nil && !newParser("p.jsonc", []byte(src)).blank() {
			t.Errorf("%s: hujson cannot read what Parse accepts: %v", src, err)
		}
		return // not JSON: editors report the syntax themselves
	}
	v.Standardize()
	dec := json.NewDecoder(bytes.NewReader(v.Pack()))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	problems := root.validate(root, doc, "")
	switch {
	case perr == nil && len(problems) > 0:
		t.Errorf("%s: Parse accepts it, the schema refuses it: %s", src, strings.Join(problems, "; "))
	case perr != nil && len(problems) == 0 && why == "":
		t.Errorf("%s: Parse refuses it (%v), the schema accepts it", src, perr)
	case perr == nil && why != "":
		t.Errorf("%s: Parse accepts it, yet it is listed as looser (%s): remove it from the list", src, why)
	case perr != nil && len(problems) > 0 && why != "":
		t.Errorf("%s: the schema refuses it too, yet it is listed as looser (%s): remove it from the list", src, why)
	}
}

// validate returns the problems of x against s: JSON Schema's meaning of
// the keywords schema knows.
func (root *schema) validate(s *schema, x any, at string) []string {
	s, err := root.resolve(s)
	if err != nil {
		return []string{at + ": " + err.Error()}
	}
	var out []string
	bad := func(format string, a ...any) { out = append(out, at+": "+fmt.Sprintf(format, a...)) }
	switch s.Type {
	case "":
	case "object":
		if _, ok := x.(map[string]any); !ok {
			bad("not an object")
			return out
		}
	case "array":
		if _, ok := x.([]any); !ok {
			bad("not an array")
			return out
		}
	case "string":
		if _, ok := x.(string); !ok {
			bad("not a string")
			return out
		}
	case "number", "integer":
		n, ok := x.(json.Number)
		if !ok {
			bad("not a number")
			return out
		}
		if f, _ := n.Float64(); s.Type == "integer" && f != math.Trunc(f) {
			bad("not an integer")
		}
	case "boolean":
		if _, ok := x.(bool); !ok {
			bad("not a boolean")
			return out
		}
	default:
		bad("the validator does not know type %q", s.Type)
	}
	if len(s.Enum) > 0 && !slices.ContainsFunc(s.Enum, func(e json.RawMessage) bool { return sameJSON(e, x) }) {
		bad("%v is not one of the enum", x)
	}
	switch x := x.(type) {
	case map[string]any:
		for _, k := range slices.Sorted(mapKeys(x)) {
			val := x[k]
			if s.PropertyNames != nil {
				out = append(out, root.validate(s.PropertyNames, k, at+"/"+k+" (name)")...)
			}
			if s.Properties != nil && s.Properties.m[k] != nil {
				out = append(out, root.validate(s.Properties.m[k], val, at+"/"+k)...)
				continue
			}
			if ap := s.AdditionalProperties; ap != nil {
				switch {
				case ap.schema != nil:
					out = append(out, root.validate(ap.schema, val, at+"/"+k)...)
				case !ap.allowed:
					bad("unknown key %q", k)
				}
			}
		}
	case []any:
		if s.Items != nil {
			for i, e := range x {
				out = append(out, root.validate(s.Items, e, fmt.Sprintf("%s/%d", at, i))...)
			}
		}
	case string:
		if s.MinLength != nil && utf8.RuneCountInString(x) < *s.MinLength {
			bad("%q is shorter than %d", x, *s.MinLength)
		}
		if s.Pattern != "" && !regexp.MustCompile(s.Pattern).MatchString(x) {
			bad("%q does not match %s", x, s.Pattern)
		}
	}
	if s.Not != nil && len(root.validate(s.Not, x, at)) == 0 {
		bad("%v matches what \"not\" refuses", x)
	}
	if len(s.AnyOf) > 0 {
		ok := false
		for _, a := range s.AnyOf {
			if len(root.validate(a, x, at)) == 0 {
				ok = true
				break
			}
		}
		if !ok {
			bad("%v matches none of anyOf", x)
		}
	}
	return out
}

// sameJSON compares an enum entry with a decoded value, numbers by value.
func sameJSON(raw json.RawMessage, x any) bool {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var e any
	if dec.Decode(&e) != nil {
		return false
	}
	en, eok := e.(json.Number)
	xn, xok := x.(json.Number)
	if eok && xok {
		a, _ := en.Float64()
		b, _ := xn.Float64()
		return a == b
	}
	return reflect.DeepEqual(e, x)
}
