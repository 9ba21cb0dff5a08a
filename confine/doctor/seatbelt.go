package doctor

import (
	"context"
	"fmt"
	"strings"

	"github.com/sandbar-dev/sandbar/confine"
)

// The macOS checks: Check runs them instead of the Linux ones on darwin.
// They have no build tag, so their tests run on Linux with a fake Env.

const (
	sandboxExec = "/usr/bin/sandbox-exec"
	logTool     = "/usr/bin/log"
)

// checkSeatbelt checks, in report order:
//
//   - sandbox-exec: it ships with macOS, at /usr/bin/sandbox-exec.
//   - seatbelt: a trivial profile applies. It does not when sandbar itself
//     runs inside a Seatbelt sandbox (an agent's, an app's): Seatbelt
//     sandboxes do not nest.
//   - profile: this macOS accepts every kind of rule sandbar writes. A
//     profile this version's sandbox compiler rejects (an operation or a
//     filter it does not know) would make every run fail.
//   - violations: `log stream` runs, which is how runs learn what the
//     sandbox refused. Only a Warn: commands are confined all the same.
func checkSeatbelt(ctx context.Context, env Env) []Finding {
	var out []Finding
	if _, err := env.Stat(sandboxExec); err != nil {
		out = append(out, Finding{
			Check:    "sandbox-exec",
			Severity: Fail,
			Summary:  fmt.Sprintf("%s is missing (%v); sandbar confines commands with it", sandboxExec, err),
			Fix: `sandbox-exec is part of macOS itself; it is missing only from a damaged or
stripped installation. Reinstall macOS (Recovery > Reinstall macOS keeps your data).`,
		})
	} else {
		out = append(out, Finding{Check: "sandbox-exec", Summary: sandboxExec})
		f := runSandboxExec(ctx, env, "seatbelt", "(version 1)(allow default)", "a sandbox can be applied")
		out = append(out, f)
		if f.Severity == OK {
			profile, err := probeProfile()
			if err != nil {
				out = append(out, Finding{Check: "profile", Severity: Fail, Summary: "cannot build sandbar's profile: " + err.Error(),
					Fix: "This is a bug in sandbar; please report it with this output."})
			} else {
				out = append(out, runSandboxExec(ctx, env, "profile", profile, "this macOS accepts every kind of rule in sandbar's profiles"))
			}
		}
	}
	out = append(out, checkLog(ctx, env))
	return out
}

// runSandboxExec runs /usr/bin/true under profile.
func runSandboxExec(ctx context.Context, env Env, check, profile, ok string) Finding {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	_, stderr, err := env.Run(ctx, sandboxExec, "-p", profile, "/usr/bin/true")
	if err == nil {
		return Finding{Check: check, Summary: ok}
	}
	msg := errText(stderr, err)
	if strings.Contains(msg, "Operation not permitted") && strings.Contains(msg, "sandbox_apply") {
		return Finding{
			Check:    check,
			Severity: Fail,
			Summary:  "sandbox-exec cannot apply a profile: " + msg,
			Fix: `sandbar is running inside another sandbox (an agent's or an application's
terminal), and macOS sandboxes do not nest. Run sandbar from a terminal that is
not sandboxed, and let it confine the agent's commands instead.`,
		}
	}
	if check == "profile" {
		return Finding{
			Check:    check,
			Severity: Fail,
			Summary:  "this macOS rejects sandbar's profile: " + msg,
			Fix: `Please report it, with the output of sw_vers and of:
  sandbar explain -- true`,
		}
	}
	return Finding{
		Check:    check,
		Severity: Fail,
		Summary:  "sandbox-exec cannot apply a profile: " + msg,
		Fix:      "Check that this works in a terminal:\n  sandbox-exec -p '(version 1)(allow default)' /usr/bin/true",
	}
}

// probeProfile is a profile with one rule of every kind sandbar writes:
// read-write, read-only, hidden, visible inside hidden, uncreatable,
// unmovable, the relay's ports and Unix sockets.
func probeProfile() (string, error) {
	const root = "/private/var/empty/sandbar-doctor"
	s := confine.Spec{
		Argv: []string{"/usr/bin/true"},
		Dir:  "/",
		Paths: []confine.Path{
			{Path: root + "/w", Access: confine.ReadWrite, Dir: true, Why: "doctor"},
			{Path: root + "/w/.git/hooks", Access: confine.ReadOnly, Dir: true, Why: "doctor"},
			{Path: root + "/w/.git/config", Access: confine.ReadOnly, Why: "doctor"},
			{Path: root + "/hidden", Access: confine.Hidden, Dir: true, Why: "doctor"},
			{Path: root + "/hidden/visible", Access: confine.ReadOnly, Dir: true, Why: "doctor"},
		},
		Pin:              []string{root + "/w/.git"},
		Uncreatable:      []confine.Path{{Path: root + "/w/.envrc", Why: "doctor"}},
		Network:          confine.Network{Proxy: &confine.Proxy{HTTP: root + "/http.sock", SOCKS: root + "/socks.sock", Hello: []byte("doctor")}},
		AllowUnixSockets: true,
	}
	sb, err := confine.SeatbeltProfile(s, confine.SeatbeltLayout{
		Marker:     "sandbar-doctor",
		TempDir:    root + "/tmp",
		ProxyPorts: []int{3128, 1080},
		Self:       "/usr/bin/true",
	})
	return sb.Profile, err
}

// checkLog runs `log stream` for a second.
func checkLog(ctx context.Context, env Env) Finding {
	const check = "violations"
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	_, stderr, err := env.Run(ctx, logTool, "stream", "--style", "ndjson", "--timeout", "1s", "--predicate", `eventMessage == "sandbar doctor"`)
	if err == nil {
		return Finding{Check: check, Summary: "refused operations are reported as they happen (log stream)"}
	}
	msg := errText(stderr, err)
	f := Finding{
		Check:    check,
		Severity: Warn,
		Summary:  fmt.Sprintf("refused operations are not reported (log stream: %s); commands are confined all the same, and their own error messages are all that shows what was refused", msg),
	}
	switch {
	case strings.Contains(msg, "admin"):
		f.Fix = `macOS lets only administrators stream the log. Run sandbar as a user of the
admin group (System Settings > Users & Groups) to see what the sandbox refused.`
	case strings.Contains(msg, "sandboxed"):
		f.Fix = `sandbar is running inside another sandbox, which may not read the log. Run
it from a terminal that is not sandboxed.`
	default:
		f.Fix = "Check that this works in a terminal:\n  log stream --style ndjson --timeout 1s"
	}
	return f
}
