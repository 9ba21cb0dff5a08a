package workspace

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
)

// Watcher is what decisions made while a command runs read the policies
// from: a Follower (inotify, for a long-lived editor session) or a
// Checker (a look at the files when asked, for one run).
type Watcher interface {
	Current() *Policies
}

// Checker keeps a set of folders' Policies current without watching:
// each Current looks at the policy files' metadata and reloads them when
// one changed, so a decision reads the policy as it is at that moment.
// Looking costs a few lstat calls; an inotify watch costs a grace period
// of the kernel's (about 14 ms) when it is released, more than a short
// command's whole run.
type Checker struct {
	opts     Options
	onChange func(*Policies, error)

	mu    sync.Mutex
	cur   *Policies
	stamp string
}

// CheckPolicies returns a Checker whose policies start as first (loaded
// with opts by LoadPolicies or Load, which note what the files looked
// like before reading them, so that no change made since is missed).
func CheckPolicies(opts Options, first *Policies, onChange func(*Policies, error)) *Checker {
	return &Checker{opts: opts, onChange: onChange, cur: first, stamp: first.stamp}
}

// Current returns the policies in force, reloading them first if a policy
// file was created, changed, replaced or removed since the last look. An
// edit that does not parse keeps the last good policies and is reported
// once through onChange.
func (c *Checker) Current() *Policies {
	c.mu.Lock()
	defer c.mu.Unlock()
	stamp := policyStamp(c.opts.UserPolicy, c.cur.Folders)
	if stamp == c.stamp {
		return c.cur
	}
	c.stamp = stamp
	ps, err := LoadPolicies(c.opts)
	if err == nil {
		c.cur = ps
		c.stamp = ps.stamp
	}
	if c.onChange != nil {
		c.onChange(ps, err)
	}
	return c.cur
}

// policyStamp describes every policy file that may apply: identity, size
// and times, or that it is missing.
func policyStamp(userPolicy string, folders []string) string {
	paths := []string{userPolicy}
	for _, f := range folders {
		paths = append(paths, filepath.Join(f, PolicyFileName))
	}
	var b strings.Builder
	for _, p := range paths {
		if p == "" {
			continue
		}
		fi, err := os.Lstat(p)
		if err != nil {
			b.WriteString("-;")
			continue
		}
		st, _ := fi.Sys().(*syscall.Stat_t)
		if st == nil {
			fmt.Fprintf(&b, "%d,%d;", fi.Size(), fi.ModTime().UnixNano())
			continue
		}
		fmt.Fprintf(&b, "%d,%d,%d,%d,%d;", st.Dev, st.Ino, st.Size, fi.ModTime().UnixNano(), ctimeOf(st))
	}
	return b.String()
}
