package confine

import (
	"strings"

	"golang.org/x/sys/unix"

	"github.com/sandbar-dev/sandbar/confine/seccomp"
)

// seccompFilters are the two filters Run builds besides the watch's: the
// one bwrap installs for the whole sandbox, the init included, and the
// one the init adds on the command alone (nil when there is none).
//
// With a proxy, the init's relay needs Unix sockets, so bwrap's filter
// allows them and the command's own filter refuses them, unless the
// policy allows them. When the watch refuses them (plan.unixByWatch),
// neither may: ERRNO from any stacked filter would take precedence over
// the watch's USER_NOTIF, and the call would never reach sandbar.
func seccompFilters(s Spec, plan watchPlan) (sandbox, command []unix.SockFilter, err error) {
	arch, err := seccomp.NativeArch()
	if err != nil {
		return nil, nil, err
	}
	sandbox, err = seccomp.Build(arch, seccomp.Options{AllowUnixSockets: s.AllowUnixSockets || s.Network.Proxy != nil || plan.unixByWatch})
	if err != nil {
		return nil, nil, err
	}
	if s.Network.Proxy != nil && !s.AllowUnixSockets && !plan.unixByWatch {
		if command, err = seccomp.Build(arch, seccomp.Options{}); err != nil {
			return nil, nil, err
		}
	}
	return sandbox, command, nil
}

// ExplainSeccomp returns every seccomp filter a run of s by r installs,
// disassembled, each after a comment line saying who installs it on
// whom.
func ExplainSeccomp(r Runner, s Spec) (string, error) {
	plan, err := planWatch(r, s)
	if err != nil {
		return "", err
	}
	sandbox, command, err := seccompFilters(s, plan)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("# seccomp filter (fd 3), installed by bwrap for the init and the command:\n")
	b.WriteString(seccomp.Disassemble(sandbox))
	if command != nil {
		b.WriteString("\n# seccomp filter installed by the init on the command alone, on top of the first:\n")
		b.WriteString(seccomp.Disassemble(command))
	}
	if plan.filter != nil {
		watch, err := seccomp.Unmarshal(plan.filter)
		if err != nil {
			return "", err
		}
		b.WriteString("\n# seccomp filter installed by the init on the command alone, whose USER_NOTIF calls sandbar answers (docs/violations.md):\n")
		b.WriteString(seccomp.Disassemble(watch))
	}
	if plan.off != "" {
		b.WriteString("\n# violation reports are off: " + plan.off + "\n")
	}
	return b.String(), nil
}
