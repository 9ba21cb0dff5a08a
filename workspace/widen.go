package workspace

import (
	"github.com/sandbar-dev/sandbar/workspace/policy"
)

// Widening lists the entries of a repository policy (in folder) that widen
// the sandbox beyond what the folder alone gives: reading or writing
// outside the folder, network, Unix sockets, extra environment, presets,
// git hosts and what pushes to them may do.
// These need the user's approval. Entries that only narrow the sandbox, and
// paths inside the folder (already writable), do not.
func Widening(p *policy.Policy, folder, home string) []Entry {
	var out []Entry
	outside := func(key string, vs []policy.Value) {
		for _, v := range vs {
			abs, err := policy.ExpandPath(v.Text, home, folder)
			if err != nil {
				out = append(out, Entry{Key: key, Value: v, Note: err.Error()})
				continue
			}
			// Resolve symlinks: "./cache" is outside the folder if cache
			// is a link that leads out of it. A command in an earlier
			// sandbox could have made such a link, so the check is made
			// on every load, not at approval time.
			r, _, err := resolve(abs)
			if err != nil || !within(r, folder) {
				out = append(out, Entry{Key: key, Value: v, Note: "outside the workspace folder"})
			}
		}
	}
	all := func(key, note string, vs []policy.Value) {
		for _, v := range vs {
			out = append(out, Entry{Key: key, Value: v, Note: note})
		}
	}
	outside("filesystem.allowRead", p.Filesystem.AllowRead)
	outside("filesystem.allowWrite", p.Filesystem.AllowWrite)
	all("network.allowedDomains", "network access", p.Network.AllowedDomains)
	all("network.allowUnixSockets", "host socket access", p.Network.AllowUnixSockets)
	all("env.allow", "passes environment variables in", p.Env.Allow)
	for _, s := range p.Env.Set {
		out = append(out, Entry{Key: "env.set", Value: s.Name, Note: "sets " + s.Name.Text + "=" + s.Value.Text})
	}
	all("presets", "writable toolchain caches", p.Presets)
	all("git.hosts", "your git credentials are sent to this host", p.Git.Hosts)
	all("git.push.branches", "pushes may update these branches", p.Git.Push.Branches)
	all("git.push.repositories", "pushes go there without asking", p.Git.Push.Repositories)
	flag := func(key, note string, f *policy.Flag) {
		if f != nil && f.Value {
			out = append(out, Entry{Key: key, Value: policy.Value{Text: "true", Pos: f.Pos}, Note: note})
		}
	}
	flag("git.forcePush", "pushes may rewrite history", p.Git.ForcePush)
	flag("git.deleteBranches", "pushes may delete branches", p.Git.DeleteBranches)
	return out
}

// Narrowing returns p without its widening entries: what applies while the
// user has not approved the file.
func Narrowing(p *policy.Policy, folder, home string) *policy.Policy {
	drop := map[policy.Pos]bool{}
	for _, e := range Widening(p, folder, home) {
		drop[e.Value.Pos] = true
	}
	keep := func(vs []policy.Value) []policy.Value {
		var out []policy.Value
		for _, v := range vs {
			if !drop[v.Pos] {
				out = append(out, v)
			}
		}
		return out
	}
	return &policy.Policy{
		Version: p.Version,
		Filesystem: policy.Filesystem{
			DenyRead:   p.Filesystem.DenyRead,
			DenyWrite:  p.Filesystem.DenyWrite,
			AllowRead:  keep(p.Filesystem.AllowRead),
			AllowWrite: keep(p.Filesystem.AllowWrite),
		},
		Network: policy.Network{DeniedDomains: p.Network.DeniedDomains},
		Env:     policy.Env{Deny: p.Env.Deny},
		// Turning force pushes or deletions off narrows; turning them on
		// is in Widening.
		Git: policy.Git{
			ForcePush:      keepFalse(p.Git.ForcePush),
			DeleteBranches: keepFalse(p.Git.DeleteBranches),
		},
	}
}

func keepFalse(f *policy.Flag) *policy.Flag {
	if f == nil || f.Value {
		return nil
	}
	return f
}

// withBase returns a copy of p whose paths are absolute, expanded against
// home and base, so that policies from different places can be merged.
// Paths that do not expand are dropped; Load reports them beforehand.
func withBase(p *policy.Policy, home, base string) *policy.Policy {
	c := *p
	exp := func(vs []policy.Value) []policy.Value {
		var out []policy.Value
		for _, v := range vs {
			abs, err := policy.ExpandPath(v.Text, home, base)
			if err != nil {
				continue
			}
			out = append(out, policy.Value{Text: abs, Pos: v.Pos})
		}
		return out
	}
	c.Filesystem = policy.Filesystem{
		DenyRead:   exp(p.Filesystem.DenyRead),
		AllowRead:  exp(p.Filesystem.AllowRead),
		AllowWrite: exp(p.Filesystem.AllowWrite),
		DenyWrite:  exp(p.Filesystem.DenyWrite),
	}
	c.Network.AllowUnixSockets = exp(p.Network.AllowUnixSockets)
	return &c
}
