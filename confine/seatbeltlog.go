package confine

import (
	"encoding/json"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// This file reads what Seatbelt refused from the unified log. It has no
// build tag: the parser is tested on Linux against log lines recorded on
// Macs (testdata/seatbelt/log/). The runner (run_darwin.go) feeds it
// `log stream --style ndjson` output.
//
// When a Seatbelt sandbox refuses an operation, the kernel's Sandbox
// extension logs one line, as the kernel (processID 0, processImagePath
// /kernel) with the Sandbox kext as sender:
//
//	Sandbox: touch(4242) deny(1) file-write-create /Users/u/w/.envrc
//	sandbar-0123456789ab:7
//
// that is "Sandbox: COMM(PID) deny(N) OPERATION [TARGET]", then, on a
// line of its own, the message of the deny rule that refused it: our
// marker and the rule's number (see SeatbeltProfile). When a process
// repeats a refusal the kernel folds the repeats into a line that starts
// "N duplicate report(s) for Sandbox: ...". The target is a path for file
// operations and Unix sockets, HOST:PORT for IP sockets, a name for Mach
// services and sysctls.

// seatbeltDenial is one refusal of a run's sandbox, as logged.
type seatbeltDenial struct {
	Comm string
	Pid  int
	// Operation is Seatbelt's name for it: file-write-create,
	// network-outbound, mach-lookup...
	Operation string
	// Target is what the operation was on, as logged (may be empty).
	Target string
	// Rule is the N of the rule's message, Seatbelt.Rules[N].
	Rule int
	// Count is how many refusals the line stands for.
	Count int
}

// seatbeltLogEntry is the part of one `log stream --style ndjson` event
// the parser reads.
type seatbeltLogEntry struct {
	EventMessage    string `json:"eventMessage"`
	SenderImagePath string `json:"senderImagePath"`
}

var (
	// duplicateReports prefixes a line standing for repeated refusals.
	duplicateReports = regexp.MustCompile(`^(?s)([0-9]+) duplicate reports? for (.*)$`)
	// denyLine is the body after "Sandbox: ". The command's name is the
	// shortest prefix followed by "(PID) deny(N) ": a path that happens
	// to contain those words cannot shorten it, and a command name
	// (p_comm, at most 16 bytes, chosen by whoever named the program)
	// that contains them can only confuse its own report.
	denyLine = regexp.MustCompile(`^(?s)(.*?)\(([0-9]+)\) deny\(([0-9]+)\) (\S+)(?: (.*))?$`)
)

// parseSeatbeltLog reads one line of `log stream --style ndjson` and
// returns the refusal it reports, if it is a refusal by a rule tagged
// with marker. Anything else (another sandbox's refusals, the log
// tool's own header, a line that is not JSON, a message from a process
// pretending to be the kernel) is not.
func parseSeatbeltLog(line []byte, marker string) (seatbeltDenial, bool) {
	var e seatbeltLogEntry
	if json.Unmarshal(line, &e) != nil {
		return seatbeltDenial{}, false
	}
	// Only the kernel's Sandbox extension reports refusals; a sandboxed
	// process can log text of its own choosing, but not as this sender.
	if !strings.HasSuffix(e.SenderImagePath, "/Sandbox") {
		return seatbeltDenial{}, false
	}
	msg := e.EventMessage
	tag := marker + ":"
	i := strings.LastIndex(msg, tag)
	if i < 0 || marker == "" {
		return seatbeltDenial{}, false
	}
	rule, err := strconv.Atoi(strings.TrimSpace(msg[i+len(tag):]))
	if err != nil || rule < 0 {
		return seatbeltDenial{}, false
	}
	// The rule's message comes on a line of its own; accept a space too.
	body := strings.TrimSuffix(msg[:i], "\n")
	body = strings.TrimSuffix(body, " ")
	d := seatbeltDenial{Rule: rule, Count: 1}
	if m := duplicateReports.FindStringSubmatch(body); m != nil {
		n, err := strconv.Atoi(m[1])
		if err != nil || n < 1 {
			return seatbeltDenial{}, false
		}
		d.Count, body = n, m[2]
	}
	body, ok := strings.CutPrefix(body, "Sandbox: ")
	if !ok {
		return seatbeltDenial{}, false
	}
	m := denyLine.FindStringSubmatch(body)
	if m == nil {
		return seatbeltDenial{}, false
	}
	d.Comm, d.Operation, d.Target = m[1], m[4], m[5]
	if d.Pid, err = strconv.Atoi(m[2]); err != nil {
		return seatbeltDenial{}, false
	}
	return d, true
}

// seatbeltLogReady tells whether line is the event whose message is
// token, which the runner logs itself to learn that the stream is
// running (the stream shows only what is logged after it starts).
func seatbeltLogReady(line []byte, token string) bool {
	var e seatbeltLogEntry
	return json.Unmarshal(line, &e) == nil && strings.TrimSpace(e.EventMessage) == token
}

// Reasons and rules of what the profile refuses by default.
const (
	seatbeltNetworkReason = "connected directly: the sandbox reaches the network only through sandbar's proxy"
	seatbeltUnixRule      = "unix sockets are not allowed (allowUnixSockets)"
	seatbeltListenRule    = "the sandbox cannot listen for connections"
)

// violation turns d into the violation Linux would report for the same
// refusal, with the rule that refused it. Refusals that are not about
// files or sockets (Mach services, sysctls, IOKit: a program probing
// what it may use) are not violations of the policy and are not
// reported.
func (d seatbeltDenial) violation(sb Seatbelt) (Violation, bool) {
	v := Violation{Pid: d.Pid, Comm: d.Comm, Count: d.Count}
	ruleWhy := ""
	if d.Rule > 0 && d.Rule < len(sb.Rules) {
		ruleWhy = sb.Rules[d.Rule].Why
	}
	fileRule := func(path string) string {
		if ruleWhy != "" {
			return ruleWhy
		}
		// The default rule: the path is not writable (or not
		// readable), because of the rule that decides its access.
		return sb.Spec.AccessOf(path).Why
	}
	op, target := d.Operation, d.Target
	switch {
	case strings.HasPrefix(op, "file-read"):
		v.Kind, v.Path = "file-read", target
		v.Operation = map[string]string{"file-read-metadata": "stat", "file-read-xattr": "getxattr"}[op]
		if v.Operation == "" {
			v.Operation = "read"
		}
	case strings.HasPrefix(op, "process-exec"):
		// Only hidden paths refuse running a program.
		v.Kind, v.Operation, v.Path = "file-read", "exec", target
	case op == "file-link" || strings.HasPrefix(op, "forbidden-link"):
		// file-link, or forbidden-link-priv<file-write*> SOURCE DEST when
		// the source may not be written: a hard link would share it.
		v.Kind, v.Operation, v.Path = "file-write", "link", firstPath(target)
	case strings.HasPrefix(op, "file-write") || op == "file-clone":
		v.Kind, v.Path = "file-write", target
		v.Operation = map[string]string{
			"file-write-create":  "create",
			"file-write-data":    "write",
			"file-write-unlink":  "unlink",
			"file-write-mode":    "chmod",
			"file-write-setugid": "chmod",
			"file-write-owner":   "chown",
			"file-write-times":   "utimes",
			"file-write-xattr":   "setxattr",
			"file-write-flags":   "chflags",
			"file-write-mount":   "mount",
			"file-write-unmount": "unmount",
			"file-clone":         "clone",
		}[op]
		if v.Operation == "" {
			v.Operation = "write"
		}
	case op == "network-outbound" && strings.HasPrefix(target, "/"):
		v.Kind, v.Operation, v.Path = "socket", "connect", "AF_UNIX "+target
		v.Rule = ruleWhy
		if v.Rule == "" {
			v.Rule = seatbeltUnixRule
		}
		return v, true
	case op == "network-outbound":
		v.Kind, v.Target, v.Decision, v.Reason = "network", seatbeltTarget(target), "denied", seatbeltNetworkReason
		return v, true
	case op == "network-bind" || op == "network-inbound":
		v.Kind, v.Operation = "socket", map[string]string{"network-bind": "bind", "network-inbound": "accept"}[op]
		if strings.HasPrefix(target, "/") {
			v.Path = "AF_UNIX " + target
			v.Rule = ruleWhy
			if v.Rule == "" {
				v.Rule = seatbeltUnixRule
			}
		} else {
			v.Path = "AF_INET " + seatbeltTarget(target)
			v.Rule = seatbeltListenRule
		}
		return v, true
	case op == "system-socket":
		v.Kind, v.Operation, v.Path, v.Rule = "socket", "socket", target, ruleWhy
		if v.Rule == "" {
			v.Rule = "this kind of socket is not allowed in the sandbox"
		}
		return v, true
	default:
		return Violation{}, false
	}
	if v.Path == "" {
		return Violation{}, false
	}
	v.Rule = fileRule(v.Path)
	return v, true
}

// firstPath is the first of the paths in s, which the kernel separates
// with a space ("SOURCE DEST"); a path may contain spaces itself, so the
// split is at a space followed by a slash.
func firstPath(s string) string {
	if i := strings.Index(s, " /"); i >= 0 {
		return s[:i]
	}
	return s
}

// seatbeltTarget spells a logged address as host:port, the way the
// proxy reports targets ("[::1]:80" for IPv6).
func seatbeltTarget(s string) string {
	if host, port, err := net.SplitHostPort(s); err == nil {
		return net.JoinHostPort(host, port)
	}
	// An IPv6 address logged without brackets: the port follows the
	// last colon.
	if i := strings.LastIndexByte(s, ':'); i > 0 && strings.Count(s, ":") > 1 {
		return net.JoinHostPort(s[:i], s[i+1:])
	}
	return s
}

// seatbeltViolations gathers a run's violations, each once with a count,
// as the Linux watch does, and passes each new one to onViolation.
type seatbeltViolations struct {
	sb          Seatbelt
	onViolation func(Violation)

	mu    sync.Mutex
	seen  []Violation
	index map[[3]string]int
}

func newSeatbeltViolations(sb Seatbelt, onViolation func(Violation)) *seatbeltViolations {
	return &seatbeltViolations{sb: sb, onViolation: onViolation, index: map[[3]string]int{}}
}

// line reads one line of the log stream; it reports whether the line was
// one of the run's refusals.
func (c *seatbeltViolations) line(line []byte, marker string) bool {
	d, ok := parseSeatbeltLog(line, marker)
	if !ok {
		return false
	}
	if v, ok := d.violation(c.sb); ok {
		c.record(v)
	}
	return true
}

// record adds v, or counts it if it was seen already.
func (c *seatbeltViolations) record(v Violation) {
	key := [3]string{v.Kind, v.Operation, v.Path + "\x00" + v.Target}
	c.mu.Lock()
	if i, ok := c.index[key]; ok {
		c.seen[i].Count += v.Count
		c.mu.Unlock()
		return
	}
	c.index[key] = len(c.seen)
	c.seen = append(c.seen, v)
	c.mu.Unlock()
	if c.onViolation != nil {
		c.onViolation(v)
	}
}

func (c *seatbeltViolations) list() []Violation {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Violation(nil), c.seen...)
}
