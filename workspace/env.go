package workspace

import (
	"strings"

	"github.com/sandbar-dev/sandbar/workspace/policy"
)

// filterEnv is the command's environment: the parent's, without the
// variables that hold secrets or lead to host services (env.deny, the
// built-in list included), except those env.allow lets through, then
// env.set, then the variables sandbar itself sets.
func filterEnv(environ []string, p *policy.Policy) []string {
	matches := func(pats []policy.Value, name string) bool {
		for _, pat := range pats {
			if policy.MatchEnv(pat.Text, name) {
				return true
			}
		}
		return false
	}
	var out []string
	index := map[string]int{}
	set := func(name, value string) {
		if i, ok := index[name]; ok {
			out[i] = name + "=" + value
			return
		}
		index[name] = len(out)
		out = append(out, name+"="+value)
	}
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || name == "" {
			continue
		}
		if strings.HasPrefix(strings.ToUpper(name), "SANDBAR") {
			continue
		}
		if matches(p.Env.Deny, name) && !matches(p.Env.Allow, name) {
			continue
		}
		set(name, value)
	}
	for _, v := range p.Env.Set {
		set(v.Name.Text, v.Value.Text)
	}
	// /tmp is the sandbox's own; a TMPDIR pointing elsewhere would be
	// read-only inside.
	set("TMPDIR", "/tmp")
	set("SANDBAR", "1")
	return out
}
