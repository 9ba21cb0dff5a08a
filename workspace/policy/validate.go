package policy

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode"
)

// The check functions take a non-empty string and return "" if it is
// acceptable, or a message that says what is wrong and how to write it
// instead. They only validate: canonical forms (case, IDN, expanded paths)
// are the job of whoever consumes the policy, because only they know the
// home directory, the policy's folder, or the resolver's rules.

// checkPath accepts what ExpandPath can turn into one absolute path. Globs
// are refused rather than taken literally because a user who writes "*.pem"
// expects a pattern, and silently protecting a file named "*.pem" instead
// would be worse than an error.
func checkPath(s string) string {
	switch {
	case strings.IndexByte(s, 0) >= 0:
		return fmt.Sprintf("%q contains a NUL byte; remove it", s)
	case strings.HasPrefix(s, "~") && s != "~" && !strings.HasPrefix(s, "~/"):
		name, _, _ := strings.Cut(s, "/")
		return fmt.Sprintf(`%q is not supported; write "~/" for your home or an absolute path`, name)
	case strings.ContainsAny(s, "*?["):
		return fmt.Sprintf("%q: globs are not supported; name the directory or file", s)
	}
	return ""
}

// checkDomain accepts a host name, "*." followed by a host name, or an IP
// address, each with an optional port. People paste URLs into allow lists,
// so the URL parts get their own messages.
func checkDomain(s string) string {
	switch {
	case strings.Contains(s, "://"):
		return fmt.Sprintf("%q: write the host name without a scheme", s)
	case strings.ContainsRune(s, '/'):
		return fmt.Sprintf("%q: write the host name without a path", s)
	case strings.ContainsRune(s, '@'):
		return fmt.Sprintf("%q: write the host name without user info", s)
	}

	if rest, ok := strings.CutPrefix(s, "["); ok {
		addr, rest, ok := strings.Cut(rest, "]")
		if !ok {
			return fmt.Sprintf(`%q: missing "]" after the IPv6 address`, s)
		}
		if a, err := netip.ParseAddr(addr); err != nil || !a.Is6() || a.Zone() != "" {
			return fmt.Sprintf("%q: %q is not an IPv6 address", s, addr)
		}
		if rest == "" {
			return ""
		}
		port, ok := strings.CutPrefix(rest, ":")
		if !ok {
			return fmt.Sprintf(`%q: write a port after "]" as ":port"`, s)
		}
		return checkPort(s, port)
	}

	if strings.Count(s, ":") > 1 {
		if a, err := netip.ParseAddr(s); err == nil && a.Is6() && a.Zone() == "" {
			return ""
		}
		return fmt.Sprintf(`%q: too many ":"; write an IPv6 address with a port in brackets, like "[::1]:8080"`, s)
	}

	host, port, hasPort := strings.Cut(s, ":")
	if hasPort {
		if msg := checkPort(s, port); msg != "" {
			return msg
		}
	}
	if a, err := netip.ParseAddr(host); err == nil && a.Is4() {
		return ""
	}
	return checkHost(s, host)
}

func checkPort(s, port string) string {
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 || strings.TrimLeft(port, "0123456789") != "" {
		return fmt.Sprintf("%q: port must be a number from 1 to 65535", s)
	}
	return ""
}

// checkHost checks the host name part of s. Non-ASCII letters are accepted
// because internationalised names are converted to their ASCII form later;
// everything else outside letters, digits and "-" cannot appear in a name a
// resolver will answer for.
func checkHost(s, host string) string {
	if host == "" {
		return fmt.Sprintf("%q: missing host name before the port", s)
	}
	labels := strings.Split(host, ".")
	for i, label := range labels {
		switch {
		case label == "":
			return fmt.Sprintf(`%q: empty label in host name; remove the extra "."`, s)
		case label == "*" && i == 0:
			if len(labels) == 1 {
				return fmt.Sprintf(`%q: "*" must be followed by a domain, like "*.example.com"`, s)
			}
			continue
		case strings.Contains(label, "*"):
			return fmt.Sprintf(`%q: "*" is allowed only as the whole first label, like "*.example.com"`, s)
		}
		ascii := true
		for _, r := range label {
			switch {
			case r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-'):
			case r >= 0x80 && (unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsDigit(r)):
				ascii = false
			default:
				return fmt.Sprintf(`%q: invalid character %q in host name; use letters, digits, "-" and "."`, s, r)
			}
		}
		if strings.HasPrefix(label, "-") || strings.HasSuffix(label, "-") {
			return fmt.Sprintf(`%q: label %q must not start or end with "-"`, s, label)
		}
		if ascii && len(label) > 63 {
			return fmt.Sprintf("%q: label %q is longer than 63 characters", s, label)
		}
	}
	// No top-level domain is all digits, so this is a mistyped IPv4 address
	// such as "10.0.0.256"; a resolver would never match it.
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return fmt.Sprintf("%q is not a valid IPv4 address", s)
	}
	return ""
}

// checkEnvPattern accepts what MatchEnv understands. Anything else (a "?",
// a "-", a "=") would be a pattern that silently never matches.
func checkEnvPattern(s string) string {
	for _, r := range s {
		if !isEnvNameChar(r) && r != '*' {
			return fmt.Sprintf(`%q: invalid character %q in variable name pattern; use letters, digits, "_" and "*"`, s, r)
		}
	}
	return ""
}

// reservedEnvPrefix names variables sandbar sets itself inside the sandbox; a
// policy must not be able to forge them.
const reservedEnvPrefix = "SANDBAR"

func checkEnvName(s string) string {
	switch {
	case s == "":
		return `empty variable name in "set"; remove the entry`
	case s[0] >= '0' && s[0] <= '9' || strings.IndexFunc(s, func(r rune) bool { return !isEnvNameChar(r) }) >= 0:
		return fmt.Sprintf(`%q is not a valid variable name; use letters, digits and "_", not starting with a digit`, s)
	case len(s) >= len(reservedEnvPrefix) && strings.EqualFold(s[:len(reservedEnvPrefix)], reservedEnvPrefix):
		return fmt.Sprintf(`%q is reserved: names starting with "SANDBAR" belong to sandbar; choose another name`, s)
	}
	return ""
}

func isEnvNameChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_'
}

func checkPreset(s string) string {
	if _, ok := presets[s]; !ok {
		return fmt.Sprintf("unknown preset %q; known presets are %s", s, quoteList(PresetNames()))
	}
	return ""
}

// checkGitHost accepts what checkDomain accepts but a wildcard: the proxy
// makes a certificate for each git host and asks the credential helper
// about it by name, so each host is listed on its own.
func checkGitHost(s string) string {
	if strings.HasPrefix(s, "*") {
		return fmt.Sprintf("%q: a git host is one host name; list each host, like \"github.com\"", s)
	}
	return checkDomain(s)
}

// checkBranchPattern accepts a branch name as git check-ref-format would,
// in which "*" stands for any run of characters. A pattern no branch can
// match would silently allow nothing, so it is an error.
func checkBranchPattern(s string) string {
	if rest, ok := strings.CutPrefix(s, "refs/heads/"); ok {
		return fmt.Sprintf("%q: write the branch name without \"refs/heads/\", like %q", s, rest)
	}
	if strings.HasPrefix(s, "refs/") {
		return fmt.Sprintf("%q: only branches can be listed; write a branch name, like \"agent/*\"", s)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || strings.ContainsRune(" ~^:?[\\", r) {
			return fmt.Sprintf("%q: invalid character %q in a branch name", s, r)
		}
	}
	switch {
	case strings.Contains(s, ".."):
		return fmt.Sprintf("%q: a branch name cannot contain \"..\"", s)
	case strings.Contains(s, "@{"):
		return fmt.Sprintf("%q: a branch name cannot contain \"@{\"", s)
	case strings.HasPrefix(s, "/") || strings.HasSuffix(s, "/") || strings.Contains(s, "//"):
		return fmt.Sprintf("%q: a branch name cannot start or end with \"/\" or contain \"//\"", s)
	case strings.HasSuffix(s, "."):
		return fmt.Sprintf("%q: a branch name cannot end with \".\"", s)
	case s == "@":
		return fmt.Sprintf("%q is not a branch name", s)
	}
	for _, part := range strings.Split(s, "/") {
		if strings.HasPrefix(part, ".") || strings.HasSuffix(part, ".lock") {
			return fmt.Sprintf("%q: a part of a branch name cannot start with \".\" or end with \".lock\"", s)
		}
	}
	return ""
}

// checkRepository accepts host/path, the host as in git.hosts and the
// path as in the repository's URL, "*" standing for any one path segment
// or part of one.
func checkRepository(s string) string {
	switch {
	case strings.Contains(s, "://"):
		return fmt.Sprintf("%q: write the repository without a scheme, like \"github.com/me/project\"", s)
	case strings.ContainsRune(s, '@'):
		return fmt.Sprintf("%q: write the repository without user info, like \"github.com/me/project\"", s)
	}
	host, path, ok := strings.Cut(s, "/")
	if !ok || path == "" {
		return fmt.Sprintf("%q: name a repository as host/path, like \"github.com/me/project\"", s)
	}
	if msg := checkGitHost(host); msg != "" {
		return msg
	}
	for _, seg := range strings.Split(strings.TrimSuffix(path, "/"), "/") {
		switch {
		case seg == "":
			return fmt.Sprintf("%q: empty segment in the repository path; remove the extra \"/\"", s)
		case seg == "." || seg == "..":
			return fmt.Sprintf("%q: %q is not allowed in a repository path", s, seg)
		}
		for _, r := range seg {
			if r < 0x20 || r == 0x7f || strings.ContainsRune(" ?[]\\%#", r) {
				return fmt.Sprintf("%q: invalid character %q in a repository path", s, r)
			}
		}
	}
	return ""
}
