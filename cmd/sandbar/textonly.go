package main

import (
	"fmt"
	"io"
	"unicode/utf8"
)

// textOnly writes to a terminal what sandbar itself says, with every
// control character shown escaped (\x1b, \u009b) instead of sent. Its
// messages quote paths, host names and repositories that a sandboxed
// command chose, and a name holding ESC ] 52 would otherwise set the
// user's clipboard, and others rewrite the screen or fake a prompt. Line
// feeds and tabs pass. (The command's own output is the command's: it
// goes to the terminal as the command wrote it.)
type textOnly struct{ w io.Writer }

func (t textOnly) Write(p []byte) (int, error) {
	out := make([]byte, 0, len(p))
	for i := 0; i < len(p); {
		r, size := utf8.DecodeRune(p[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			// Not UTF-8: a lone byte such as 0x9b is a control
			// sequence to a terminal in 8-bit mode.
			out = fmt.Appendf(out, `\x%02x`, p[i])
		case r == '\n' || r == '\t':
			out = append(out, byte(r))
		case r < 0x20:
			out = fmt.Appendf(out, `\x%02x`, r)
		case r == 0x7f || r >= 0x80 && r <= 0x9f:
			// \u, which JSON reads as the same character (encoding/json
			// escapes the others itself).
			out = fmt.Appendf(out, `\u%04x`, r)
		default:
			out = append(out, p[i:i+size]...)
		}
		i += size
	}
	if _, err := t.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}
