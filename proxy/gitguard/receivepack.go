package gitguard

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Limits on the part of a push the guard reads before deciding: the
// commands and the push options. The pack that follows is not held in
// memory.
const (
	maxCommands    = 10000
	maxPushOptions = 1000
	maxHeadBytes   = 4 << 20
)

// Command is one ref update of a push: the ref's old and new object names
// in hexadecimal, all zeros for none.
type Command struct {
	Old, New string
	Ref      string
}

// Create reports whether the command makes a new ref.
func (c Command) Create() bool { return isZero(c.Old) }

// Delete reports whether the command deletes the ref.
func (c Command) Delete() bool { return isZero(c.New) }

func isZero(oid string) bool { return strings.Trim(oid, "0") == "" }

// pushHead is the start of a receive-pack request: the shallow lines, the
// commands and the push options, exactly as they came (raw), to be sent
// on unchanged, followed by the pack.
type pushHead struct {
	Commands []Command
	Caps     []string
	raw      []byte
	hexLen   int // 40 (SHA-1) or 64 (SHA-256)
}

func (h *pushHead) has(capability string) bool { return slices.Contains(h.Caps, capability) }

// needsPack reports whether a pack follows the commands: it does unless
// every command deletes.
func (h *pushHead) needsPack() bool {
	return slices.ContainsFunc(h.Commands, func(c Command) bool { return !c.Delete() })
}

// errSignedPush refuses `git push --signed`: its commands come inside a
// certificate, which the guard does not read.
var errSignedPush = errors.New("signed pushes (git push --signed) are not supported through sandbar")

// readPushHead reads the commands of a receive-pack request from r, and
// the push options when the client said it sends them. r is left at the
// start of the pack. Everything about it is the client's word, so
// anything not exactly as git writes it is refused.
func readPushHead(r io.Reader) (*pushHead, error) {
	h := &pushHead{}
	buf := make([]byte, maxPktLen)
	var raw bytes.Buffer
	read := func() (pktKind, string, error) {
		k, p, err := readPkt(r, buf)
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return 0, "", err
		}
		if k != pktData && k != pktFlush {
			return 0, "", fmt.Errorf("%w: unexpected special packet in a push", errPkt)
		}
		if raw.Len()+len(p)+4 > maxHeadBytes {
			return 0, "", fmt.Errorf("the commands of the push are longer than %d bytes", maxHeadBytes)
		}
		if k == pktFlush {
			raw.WriteString("0000")
		} else {
			raw.Write(appendPkt(nil, string(p)))
		}
		return k, string(p), nil
	}
	first := true
	for {
		k, line, err := read()
		if err != nil {
			return nil, err
		}
		if k == pktFlush {
			break
		}
		line = strings.TrimSuffix(line, "\n")
		if oid, ok := strings.CutPrefix(line, "shallow "); ok && first {
			if err := h.checkOID(oid); err != nil {
				return nil, err
			}
			continue
		}
		if first {
			var caps string
			line, caps, _ = strings.Cut(line, "\x00")
			if line == "push-cert" {
				return nil, errSignedPush
			}
			h.Caps = strings.Fields(caps)
		} else if strings.ContainsRune(line, 0) {
			return nil, fmt.Errorf("%w: capabilities after the first command", errPkt)
		}
		first = false
		c, err := h.parseCommand(line)
		if err != nil {
			return nil, err
		}
		if len(h.Commands) == maxCommands {
			return nil, fmt.Errorf("a push of more than %d refs", maxCommands)
		}
		h.Commands = append(h.Commands, c)
	}
	if h.has("push-options") {
		for n := 0; ; n++ {
			k, _, err := read()
			if err != nil {
				return nil, err
			}
			if k == pktFlush {
				break
			}
			if n == maxPushOptions {
				return nil, fmt.Errorf("more than %d push options", maxPushOptions)
			}
		}
	}
	h.raw = raw.Bytes()
	return h, nil
}

func (h *pushHead) parseCommand(line string) (Command, error) {
	f := strings.Split(line, " ")
	if len(f) != 3 {
		return Command{}, fmt.Errorf("%w: a push command is \"old new ref\", got %q", errPkt, clip(line))
	}
	c := Command{Old: f[0], New: f[1], Ref: f[2]}
	if err := h.checkOID(c.Old); err != nil {
		return Command{}, err
	}
	if err := h.checkOID(c.New); err != nil {
		return Command{}, err
	}
	if msg := checkRefName(c.Ref); msg != "" {
		return Command{}, fmt.Errorf("%w: %s", errPkt, msg)
	}
	if c.Create() && c.Delete() {
		return Command{}, fmt.Errorf("%w: a command for %s with neither an old nor a new object", errPkt, c.Ref)
	}
	return c, nil
}

// checkOID accepts a lower-case hexadecimal object name of the length the
// first one had: 40 digits (SHA-1) or 64 (SHA-256).
func (h *pushHead) checkOID(s string) error {
	if h.hexLen == 0 && (len(s) == 40 || len(s) == 64) {
		h.hexLen = len(s)
	}
	if len(s) != h.hexLen || strings.Trim(s, "0123456789abcdef") != "" {
		return fmt.Errorf("%w: %q is not an object name", errPkt, clip(s))
	}
	return nil
}

// checkRefName refuses what git check-ref-format refuses, and any ref
// outside refs/: the guard's answer for a name must be the server's.
func checkRefName(ref string) string {
	if !strings.HasPrefix(ref, "refs/") {
		return fmt.Sprintf("%q is not a ref under refs/", clip(ref))
	}
	for _, r := range ref {
		if r < 0x20 || r == 0x7f || strings.ContainsRune(" ~^:?*[\\", r) {
			return fmt.Sprintf("invalid character %q in ref %q", r, clip(ref))
		}
	}
	switch {
	case strings.Contains(ref, ".."), strings.Contains(ref, "@{"), strings.Contains(ref, "//"),
		strings.HasSuffix(ref, "/"), strings.HasSuffix(ref, "."):
		return fmt.Sprintf("invalid ref name %q", clip(ref))
	}
	for _, part := range strings.Split(ref, "/") {
		if strings.HasPrefix(part, ".") || strings.HasSuffix(part, ".lock") {
			return fmt.Sprintf("invalid ref name %q", clip(ref))
		}
	}
	return ""
}

// clip shortens what a client sent for a message.
func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}
