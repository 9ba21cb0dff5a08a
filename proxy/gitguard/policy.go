package gitguard

import (
	"fmt"
	"net"
	"path"
	"strconv"
	"strings"

	"github.com/sandbar-dev/sandbar/proxy"
)

// Policy is what the guard enforces, as the policy file writes it
// (package workspace/policy validates the entries; see
// docs/policy-schema.md). The zero Policy lists no git host.
type Policy struct {
	// Hosts are "host" (port 443) or "host:port".
	Hosts []string
	// Branches are the branches a push may create or update: names
	// without refs/heads/, "*" matching any run of characters.
	Branches []string
	// Repositories are "host/path" patterns of repositories a push goes
	// to without asking; "*" matches within a path segment.
	Repositories []string
	// ForcePush allows non-fast-forward updates, DeleteBranches
	// deletions.
	ForcePush      bool
	DeleteBranches bool
}

// hostPort parses a Hosts entry into its canonical target.
func hostPort(entry string) (proxy.Target, bool) {
	host, port := entry, 443
	if h, p, err := net.SplitHostPort(entry); err == nil {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return proxy.Target{}, false
		}
		host, port = h, n
	} else {
		host = strings.TrimSuffix(strings.TrimPrefix(entry, "["), "]")
	}
	c, err := proxy.Canonical(host)
	if err != nil {
		return proxy.Target{}, false
	}
	return proxy.Target{Host: c, Port: port}, true
}

// Lists reports whether t is one of the git hosts.
func (p *Policy) Lists(t proxy.Target) bool {
	if p == nil {
		return false
	}
	for _, h := range p.Hosts {
		if ht, ok := hostPort(h); ok && ht == t {
			return true
		}
	}
	return false
}

// authority is t as a URL writes it: the port only when it is not 443.
func authority(t proxy.Target) string {
	h := t.Host
	if strings.Contains(h, ":") {
		h = "[" + h + "]"
	}
	if t.Port == 443 {
		return h
	}
	return h + ":" + strconv.Itoa(t.Port)
}

// checkRef says why c may not be pushed, or "" if the policy lets it (the
// fast-forward check is the caller's).
func (p *Policy) checkRef(c Command) string {
	branch, ok := strings.CutPrefix(c.Ref, "refs/heads/")
	if !ok || !p.matchesBranch(branch) {
		return fmt.Sprintf("sandbar: push to %s refused by policy; allowed: %s", c.Ref, p.allowed())
	}
	if c.Delete() && !p.DeleteBranches {
		return fmt.Sprintf("sandbar: deleting %s refused by policy (git.deleteBranches is not true)", c.Ref)
	}
	return ""
}

func (p *Policy) allowed() string {
	if len(p.Branches) == 0 {
		return "no branch (git.push.branches is empty)"
	}
	return strings.Join(p.Branches, ", ")
}

func (p *Policy) matchesBranch(name string) bool {
	for _, pat := range p.Branches {
		if matchGlob(pat, name) {
			return true
		}
	}
	return false
}

// matchGlob matches name against pattern, where "*" matches any run of
// characters, "/" included, and every other character itself.
func matchGlob(pattern, name string) bool {
	// The classic two-pointer match: on a mismatch, let the last "*"
	// take one more character. Linear in practice, quadratic at worst.
	p, n := 0, 0
	star, mark := -1, 0
	for n < len(name) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, n
			p++
		case p < len(pattern) && pattern[p] == name[n]:
			p++
			n++
		case star >= 0:
			p = star + 1
			mark++
			n = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// repoKey is how a repository is named in Repositories and approvals:
// authority/path, the path without its slashes at either end or .git,
// in lower case (hosts such as GitHub ignore case in paths).
func repoKey(t proxy.Target, repoPath string) string {
	return authority(t) + "/" + normPath(repoPath)
}

func normPath(p string) string {
	p = strings.Trim(p, "/")
	p = strings.TrimSuffix(p, ".git")
	return strings.ToLower(p)
}

// listsRepository reports whether Repositories lists the repository at
// repoPath on t.
func (p *Policy) listsRepository(t proxy.Target, repoPath string) bool {
	want := normPath(repoPath)
	for _, entry := range p.Repositories {
		host, pat, ok := strings.Cut(entry, "/")
		if !ok {
			continue
		}
		if ht, ok := hostPort(host); !ok || ht != t {
			continue
		}
		if m, err := path.Match(normPath(pat), want); err == nil && m {
			return true
		}
	}
	return false
}
