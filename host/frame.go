package host

// LSP's base protocol: frames of header lines, a blank line, and as many
// bytes of JSON as Content-Length says. This file knows nothing of what
// the JSON says; conn.go does.

import (
	"bufio"
	"errors"
	"io"
	"strconv"
	"strings"
)

// Limits on what the editor may send.
const (
	maxHeaderLine = 4096
	maxMessage    = 64 << 20
)

// frameReader reads LSP frames: header lines, a blank line, and as many
// bytes as Content-Length says.
type frameReader struct {
	r *bufio.Reader
	// lost is set after a malformed header: where the body ends is
	// unknown, so reading resumes at the next "Content-Length:".
	lost bool
}

const contentLength = "content-length:"

// next returns the next frame's body, a *rpcError for a frame to refuse,
// or the error that ends the input (io.EOF at a frame boundary).
func (f *frameReader) next() ([]byte, error) {
	var first string
	if f.lost {
		if err := f.skipToHeader(); err != nil {
			return nil, err
		}
		f.lost = false
		first = "Content-Length:"
	}
	length, seen := -1, first != ""
	// A line that is not a header, or a length that is not one, means
	// the input is not where a frame starts: give up on this frame at
	// once, and find the next.
	malformed := func(format string, a ...any) ([]byte, error) {
		f.lost = true
		return nil, errorf(codeParseError, "parse error: "+format, a...)
	}
	for {
		line, err := f.line()
		if err != nil {
			if err == io.EOF && seen {
				err = io.ErrUnexpectedEOF
			}
			if errors.Is(err, bufio.ErrBufferFull) {
				return malformed("a header line is longer than %d bytes", maxHeaderLine)
			}
			return nil, err
		}
		line = first + line
		first = ""
		if line == "" {
			if !seen {
				continue // blank lines between frames
			}
			break
		}
		seen = true
		name, value, ok := strings.Cut(line, ":")
		if !ok || !isToken(name) {
			return malformed("%q is not a header line; a frame starts with \"Content-Length: N\" and a blank line", clip(line))
		}
		if strings.EqualFold(name, "content-length") {
			n, err := strconv.Atoi(strings.TrimSpace(value))
			if err != nil || n <= 0 {
				return malformed("Content-Length %q is not a positive number", clip(strings.TrimSpace(value)))
			}
			length = n
		}
	}
	if length < 0 {
		return malformed("the frame has no Content-Length header")
	}
	if length > maxMessage {
		if _, err := io.CopyN(io.Discard, f.r, int64(length)); err != nil {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, errorf(codeInvalidRequest, "invalid request: a message of %d bytes is larger than the %d the host accepts", length, maxMessage)
	}
	body := make([]byte, length)
	if _, err := io.ReadFull(f.r, body); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return body, nil
}

// line reads one header line without its line ending.
func (f *frameReader) line() (string, error) {
	b, err := f.r.ReadSlice('\n')
	if err != nil {
		if err == io.EOF && len(b) > 0 {
			return "", io.ErrUnexpectedEOF
		}
		return "", err
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// skipToHeader discards input up to and including the next
// "Content-Length:" (in any case), wherever it is: after a header without
// a length, the next frame's header follows the unknown body directly.
func (f *frameReader) skipToHeader() error {
	matched := 0
	for matched < len(contentLength) {
		b, err := f.r.ReadByte()
		if err != nil {
			if err == io.EOF {
				return io.EOF
			}
			return err
		}
		switch {
		case lower(b) == contentLength[matched]:
			matched++
		case lower(b) == contentLength[0]:
			// "content-length:" has no other 'c', so a partial match can
			// only restart here.
			matched = 1
		default:
			matched = 0
		}
	}
	return nil
}

// isToken reports whether s is a header field name.
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return s != ""
}

func lower(b byte) byte {
	if 'A' <= b && b <= 'Z' {
		return b + 'a' - 'A'
	}
	return b
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}
