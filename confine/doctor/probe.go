package doctor

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// The functional test: the switches in /proc/sys only say what commonly
// blocks bwrap; running it is the only way to know. The arguments ask for
// every namespace sandbar's sandboxes use, and --disable-userns, the option
// with the strictest kernel requirements.
func probeArgs(trueBin string) []string {
	return []string{
		"--unshare-all", "--die-with-parent",
		"--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
		"--disable-userns", "--unshare-user",
		"--", trueBin,
	}
}

type outcome int

const (
	notRun outcome = iota // bwrap is missing or too old
	passed
	failed
)

type probe struct {
	outcome  outcome
	command  string // the command line, for the user to reproduce a failure
	stderr   string // bwrap's complaint on one line
	detail   string // what to report: stderr, or the error when there is none
	timedOut bool
}

func runProbe(ctx context.Context, env Env, bwrap string) probe {
	// /bin/true is everywhere but NixOS, where only PATH has it.
	trueBin := "/bin/true"
	if _, err := env.Stat(trueBin); err != nil {
		if p, err := env.LookPath("true"); err == nil {
			trueBin = p
		}
	}
	args := probeArgs(trueBin)
	p := probe{command: bwrap + " " + strings.Join(args, " ")}

	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	_, stderr, err := env.Run(pctx, bwrap, args...)
	if err == nil {
		p.outcome = passed
		return p
	}
	p.outcome = failed
	p.stderr = oneLine(string(stderr))
	p.detail = errText(stderr, err)
	if errors.Is(err, context.DeadlineExceeded) {
		p.timedOut = true
		p.detail = fmt.Sprintf("no answer within %s", timeout)
	}
	return p
}

func checkProbe(m machine) (Finding, bool) {
	f := Finding{Check: "userns"}
	switch m.probe.outcome {
	case notRun:
		// bwrap is already a Fail; a second one saying "cannot test" adds
		// nothing the user can act on.
		return f, false
	case passed:
		f.Summary = "bwrap created a sandbox with user, mount, pid, network, ipc, uts and cgroup namespaces"
		return f, true
	}
	f.Severity = Fail
	f.Summary = "bwrap cannot create a sandbox: " + m.probe.detail

	var fix strings.Builder
	c := likelyCause(m)
	switch {
	case c.check != "":
		fmt.Fprintf(&fix, "Likely cause: %s.\nFix the %q finding, then run `sandbar doctor` again.\n", c.why, c.check)
	case c.why != "":
		fmt.Fprintf(&fix, "Likely cause: %s.\n", c.why)
		fallthrough
	default:
		fix.WriteString("Look for a denial in the kernel log:\n  sudo dmesg | grep -iE 'apparmor|avc|seccomp|userns'\n")
	}
	fmt.Fprintf(&fix, "To see the error yourself, run:\n  %s", m.probe.command)
	f.Fix = fix.String()
	return f, true
}

// cause is the likely reason the functional test failed: a finding that
// carries the fix, or only an explanation when no finding matches.
type cause struct {
	check string
	why   string
}

// likelyCause matches bwrap's complaint against what the switches read.
// Where a switch explains the complaint it is named, because its finding
// has the exact fix; otherwise the complaint alone gives a hint. bwrap
// says "setting up uid map: Permission denied" when a security module stops
// it writing the new namespace's uid map (Ubuntu's AppArmor restriction),
// "No permissions to create new namespace" when clone(2) fails with EPERM
// (a sysctl or a seccomp filter), and "No space left on device" (ENOSPC)
// when the namespace limit is zero or used up.
func likelyCause(m machine) cause {
	p := m.probe
	if p.timedOut {
		return cause{why: fmt.Sprintf("bwrap did not finish within %s", timeout)}
	}
	has := func(s ...string) bool {
		for _, s := range s {
			if strings.Contains(p.stderr, s) {
				return true
			}
		}
		return false
	}
	const (
		uidMap   = "uid map"
		noPerms  = "No permissions to create new namespace"
		noSpace  = "No space left on device"
		eperm    = "Operation not permitted"
		eacces   = "Permission denied"
		cloneErr = "Creating new namespace failed"
	)
	switch {
	case on(m.aaRestrict) && has(uidMap, eacces, noPerms, eperm):
		return cause{"apparmor-userns", "AppArmor's restriction on unprivileged user namespaces stops bwrap"}
	case off(m.usernsCl) && has(noPerms, eperm, cloneErr):
		return cause{"unprivileged-userns-clone", m.usernsCl.name + " = 0 forbids unprivileged user namespaces"}
	case off(m.maxUserNS) && has(noSpace, noPerms, cloneErr):
		return cause{"max-user-namespaces", m.maxUserNS.name + " = 0 forbids user namespaces"}
	case m.container != "":
		return cause{"container", "the container's seccomp or AppArmor profile forbids user namespaces or mounts"}
	case has(uidMap) && has(eacces):
		return cause{why: "a security module (AppArmor or SELinux) stopped bwrap setting up the user namespace"}
	case has(noPerms):
		return cause{why: "the kernel, or a seccomp filter around this process, refuses to create unprivileged user namespaces"}
	case has(noSpace):
		return cause{why: "the limit on user namespaces is used up; raise it with sudo sysctl -w user.max_user_namespaces=15000"}
	case has(eperm):
		return cause{why: "a security policy (a seccomp filter, AppArmor or SELinux) denied a namespace or mount operation"}
	}
	return cause{}
}

// on and off tell whether a switch was read and set; a missing or
// unreadable switch is neither.
func on(s sysctl) bool  { return s.present && s.err == nil && s.value != 0 }
func off(s sysctl) bool { return s.present && s.err == nil && s.value == 0 }
