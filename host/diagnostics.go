package host

import (
	"bytes"
	"unicode/utf8"

	"github.com/sandbar-dev/sandbar/workspace/policy"
)

// Position encodings of LSP 3.17: how a position's character is counted.
const (
	encodingUTF16 = "utf-16" // the default, and all that older clients know
	encodingUTF8  = "utf-8"
)

// diagnostics turns the errors of one policy file into LSP diagnostics.
// content is the file the errors were found in (nil if it cannot be read
// any more), encoding the negotiated position encoding.
func diagnostics(errs []*policy.Error, content []byte, encoding string) []diagnostic {
	out := []diagnostic{}
	for _, e := range errs {
		if e.Pos.Line == 0 {
			continue
		}
		out = append(out, diagnostic{
			Range:    errorRange(content, e.Pos.Line, e.Pos.Col, encoding),
			Severity: severityError,
			Source:   "sandbar",
			Message:  e.Msg,
		})
	}
	return out
}

// errorRange is the LSP range of an error at line:col (1-based, the column
// in bytes, lines ended by '\n' only, as package policy counts them). It
// starts exactly there and covers the token there (a whole string, a word
// or one character), so that editors underline what is wrong; it is empty
// at the end of a line or of the file.
func errorRange(content []byte, line, col int, encoding string) lspRange {
	if content == nil {
		p := position{Line: max(line-1, 0), Character: max(col-1, 0)}
		return lspRange{Start: p, End: p}
	}
	start := byteOffset(content, line, col)
	end := tokenEnd(content, start)
	return lspRange{Start: lspPosition(content, start, encoding), End: lspPosition(content, end, encoding)}
}

// byteOffset is the offset of line:col, clamped to the content.
func byteOffset(content []byte, line, col int) int {
	off := 0
	for l := 1; l < line; l++ {
		i := bytes.IndexByte(content[off:], '\n')
		if i < 0 {
			return len(content)
		}
		off += i + 1
	}
	return min(off+max(col-1, 0), len(content))
}

// lspPosition is the LSP position of a byte offset. LSP ends lines at
// "\n", "\r\n" and a lone "\r", and counts characters in the negotiated
// encoding: UTF-16 code units by default, bytes for "utf-8".
func lspPosition(content []byte, off int, encoding string) position {
	line, lineStart := 0, 0
	for i := 0; i < off; i++ {
		switch content[i] {
		case '\n':
			line, lineStart = line+1, i+1
		case '\r':
			if i+1 < len(content) && content[i+1] == '\n' {
				continue
			}
			line, lineStart = line+1, i+1
		}
	}
	text := content[lineStart:off]
	if encoding == encodingUTF8 {
		return position{Line: line, Character: len(text)}
	}
	units := 0
	for len(text) > 0 {
		r, size := utf8.DecodeRune(text)
		if r >= 0x10000 {
			units += 2
		} else {
			units++
		}
		text = text[size:]
	}
	return position{Line: line, Character: units}
}

// tokenEnd is the end of the token that starts at off.
func tokenEnd(content []byte, off int) int {
	if off >= len(content) {
		return off
	}
	switch c := content[off]; {
	case c == '"':
		for i := off + 1; i < len(content); i++ {
			switch content[i] {
			case '\\':
				i++
			case '"':
				return i + 1
			case '\n', '\r':
				return i // an unterminated string: up to the end of its line
			}
		}
		return len(content)
	case c == '\n' || c == '\r':
		return off
	case isWordByte(c):
		i := off
		for i < len(content) && isWordByte(content[i]) {
			i++
		}
		return i
	default:
		_, size := utf8.DecodeRune(content[off:])
		return off + size
	}
}

func isWordByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '+' || c == '.'
}
