package policy

import (
	_ "embed"
	"sync"
)

// The default policy is a commented file rather than Go literals so that
// `sandbar` can show it to users as-is and its positions point into it.
//
//go:embed default.jsonc
var defaultJSONC []byte

// DefaultFile is the name positions use for entries from the default policy.
const DefaultFile = "(built-in default)"

// defaultPolicy is parsed on first use, not at start-up: sandbar's binary
// also runs as the sandbox's init, which never needs it.
var defaultPolicy = sync.OnceValue(mustParseDefault)

func mustParseDefault() *Policy {
	p, err := Parse(DefaultFile, defaultJSONC)
	if err != nil {
		panic("parsing the built-in default policy: " + err.Error())
	}
	return p
}

// Default returns the built-in default policy. Each call returns a fresh
// copy, so callers may modify it.
func Default() *Policy {
	return Merge(defaultPolicy())
}

// DefaultSource returns the text of the built-in default policy, comments
// included, for showing to users.
func DefaultSource() []byte {
	return append([]byte(nil), defaultJSONC...)
}
