package host

import (
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"unicode"

	json "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// The JSON library matches member names case-sensitively and names an
// untagged field after its Go name ("Argv", not "argv"): every field of
// every wire type needs its protocol name as a tag.
func TestWireTypesAreTagged(t *testing.T) {
	types := []any{
		initializeParams{}, initializeResult{}, didChangeWorkspaceFoldersParams{},
		messageParams{}, publishDiagnosticsParams{},
		policyParams{}, policyResult{}, policyApplied{}, policyErrorData{},
		explainParams{}, explainResult{},
		runParams{}, runResult{}, runStarted{}, outputParams{}, violation{},
		inputParams{}, resizeParams{},
		showMessageRequestParams{}, messageActionItem{},
		trustParams{}, trustResult{}, initializationOptions{},
		askParams{}, askResult{},
	}
	seen := map[reflect.Type]bool{}
	var check func(reflect.Type)
	check = func(typ reflect.Type) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || seen[typ] {
			return
		}
		seen[typ] = true
		for i := range typ.NumField() {
			f := typ.Field(i)
			tag, ok := f.Tag.Lookup("json")
			name, opts, _ := strings.Cut(tag, ",")
			switch {
			case !ok:
				t.Errorf("%s.%s has no json tag", typ.Name(), f.Name)
			case f.Anonymous && name == "" && strings.Contains(opts, "inline"):
			case name == "" || !unicode.IsLower(rune(name[0])):
				t.Errorf("%s.%s is named %q on the wire; want a lowerCamel name", typ.Name(), f.Name, name)
			}
			check(f.Type)
		}
	}
	for _, v := range types {
		check(reflect.TypeOf(v))
	}
}

// Every JSON example in docs/protocol.md is a message of the protocol:
// it decodes into one of the wire types with no member left over, so a
// client written from the page sends what the host reads.
func TestProtocolDocExamples(t *testing.T) {
	doc, err := os.ReadFile("../docs/protocol.md")
	if err != nil {
		t.Fatal(err)
	}
	type envelope struct {
		JSONRPC string         `json:"jsonrpc"`
		ID      jsontext.Value `json:"id"`
		Method  string         `json:"method"`
		Params  jsontext.Value `json:"params"`
		Result  jsontext.Value `json:"result"`
		Error   *errorObject   `json:"error"`
	}
	types := []func() any{
		func() any { return new(envelope) },
		func() any { return new(errorObject) },
		func() any { return new(initializeParams) },
		func() any { return new(initializeResult) },
		func() any { return new(didChangeWorkspaceFoldersParams) },
		func() any { return new(messageParams) },
		func() any { return new(publishDiagnosticsParams) },
		func() any { return new(policyParams) },
		func() any { return new(policyResult) },
		func() any { return new(policyApplied) },
		func() any { return new(explainParams) },
		func() any { return new(explainResult) },
		func() any { return new(initializationOptions) },
		func() any { return new(runParams) },
		func() any { return new(runResult) },
		func() any { return new(runStarted) },
		func() any { return new(outputParams) },
		func() any { return new(violation) },
		func() any { return new(inputParams) },
		func() any { return new(resizeParams) },
		func() any { return new(showMessageRequestParams) },
		func() any { return new(messageActionItem) },
		func() any { return new(trustParams) },
		func() any { return new(trustResult) },
		func() any { return new(askParams) },
		func() any { return new(askResult) },
	}
	blocks := regexp.MustCompile("(?s)```json\n(.*?)```").FindAllSubmatch(doc, -1)
	if len(blocks) < 10 {
		t.Fatalf("found %d JSON examples in docs/protocol.md; want the page's", len(blocks))
	}
	for _, b := range blocks {
		ok := false
		for _, newType := range types {
			if json.Unmarshal(b[1], newType(), json.RejectUnknownMembers(true)) == nil {
				ok = true
				break
			}
		}
		if !ok {
			t.Errorf("docs/protocol.md: this example is no message of the protocol (a misspelt or unknown member?):\n%s", b[1])
		}
	}
}

type errorObject struct {
	Code    int            `json:"code"`
	Message string         `json:"message"`
	Data    jsontext.Value `json:"data"`
}
