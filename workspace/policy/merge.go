package policy

// Merge combines policies, typically the built-in default, the user's
// policy and the workspace's. Every list is the concatenation of the inputs'
// lists in argument order: deny and allow entries add up, and deciding which
// wins is the consumer's rule, not the merge's. In env.set a later name
// replaces an earlier one, since a variable has one value; the entry stays
// where the name first appeared but carries the later name and value with
// their positions, so errors point at the line that took effect. Likewise
// git.forcePush and git.deleteBranches take the value of the last policy
// that sets them.
//
// Nil policies are skipped. The result shares no slices with the inputs.
func Merge(ps ...*Policy) *Policy {
	out := &Policy{Version: 1}
	index := map[string]int{} // env.set name -> index in out.Env.Set
	for _, p := range ps {
		if p == nil {
			continue
		}
		out.Filesystem.DenyRead = append(out.Filesystem.DenyRead, p.Filesystem.DenyRead...)
		out.Filesystem.AllowRead = append(out.Filesystem.AllowRead, p.Filesystem.AllowRead...)
		out.Filesystem.AllowWrite = append(out.Filesystem.AllowWrite, p.Filesystem.AllowWrite...)
		out.Filesystem.DenyWrite = append(out.Filesystem.DenyWrite, p.Filesystem.DenyWrite...)
		out.Network.AllowedDomains = append(out.Network.AllowedDomains, p.Network.AllowedDomains...)
		out.Network.DeniedDomains = append(out.Network.DeniedDomains, p.Network.DeniedDomains...)
		out.Network.AllowUnixSockets = append(out.Network.AllowUnixSockets, p.Network.AllowUnixSockets...)
		out.Env.Allow = append(out.Env.Allow, p.Env.Allow...)
		out.Env.Deny = append(out.Env.Deny, p.Env.Deny...)
		for _, v := range p.Env.Set {
			if i, ok := index[v.Name.Text]; ok {
				out.Env.Set[i] = v
				continue
			}
			index[v.Name.Text] = len(out.Env.Set)
			out.Env.Set = append(out.Env.Set, v)
		}
		out.Presets = append(out.Presets, p.Presets...)
		out.Git.Hosts = append(out.Git.Hosts, p.Git.Hosts...)
		out.Git.Push.Branches = append(out.Git.Push.Branches, p.Git.Push.Branches...)
		out.Git.Push.Repositories = append(out.Git.Push.Repositories, p.Git.Push.Repositories...)
		// A flag has one value: the last file that sets it decides.
		if f := p.Git.ForcePush; f != nil {
			out.Git.ForcePush = &Flag{Value: f.Value, Pos: f.Pos}
		}
		if f := p.Git.DeleteBranches; f != nil {
			out.Git.DeleteBranches = &Flag{Value: f.Value, Pos: f.Pos}
		}
	}
	return out
}
