// Command sandbar runs commands, agents and MCP servers in a sandbox that
// can write only the workspace, cannot read the user's secrets and has no
// network but through sandbar's proxy. See `sandbar help`.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/sandbar-dev/sandbar/confine"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// Exit statuses of sandbar itself, following env(1), timeout(1) and
// docker run: the command's own status otherwise.
const (
	exitFailure = 125 // sandbar could not do its job; the command did not run
)

const usage = `sandbar confines commands: they can write only the workspace, cannot read
your secrets, and reach only the hosts the policy allows.

usage:
  sandbar run [--workspace DIR]... [--policy FILE] [--report FILE] [--quiet] [--] CMD [ARG...]
  sandbar check [--workspace DIR]... [--policy FILE] [--json]
  sandbar explain [--workspace DIR]... [--policy FILE] [--seccomp] -- CMD [ARG...]
  sandbar trust [--yes] [--revoke] [DIR]
  sandbar audit [-n N] [--json]
  sandbar serve [--stdio]       (for editors: JSON-RPC on stdin/stdout, see docs/protocol.md)
  sandbar doctor
  sandbar version
  sandbar connect HOST PORT    (inside a sandbox: ssh's ProxyCommand)

The workspace defaults to the git repository of the current directory, or
the current directory. Policy: ~/.config/sandbar/policy.jsonc and each
folder's .sandbar/policy.jsonc; see docs/policy.md.
`

func main() {
	// When bwrap starts this binary as the sandbox's init, it does only
	// that.
	confine.MaybeInit()
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin *os.File, stdout, stderr *os.File) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	// What sandbar prints quotes policy files, paths and hosts that a
	// repository or a sandboxed command chose: shown as text, never as
	// control sequences for the terminal (textOnly). run passes the
	// command's own output through as it is; connect's standard output
	// is ssh's connection, and serve's the editor protocol.
	out, errs := textOnly{stdout}, textOnly{stderr}
	switch args[0] {
	case "run":
		return cmdRun(args[1:], stdin, stdout, stderr)
	case "check":
		return cmdCheck(args[1:], out, errs)
	case "explain":
		return cmdExplain(args[1:], out, errs)
	case "trust":
		return cmdTrust(args[1:], stdin, out, errs)
	case "connect":
		return cmdConnect(args[1:], stdin, stdout, stderr)
	case "serve":
		return cmdServe(args[1:], stdin, stdout, stderr)
	case "doctor":
		return cmdDoctor(args[1:], out, errs)
	case "audit":
		return cmdAudit(args[1:], out, errs)
	case "version", "--version":
		fmt.Fprintf(stdout, "sandbar %s\n", version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "sandbar: unknown command %q\n\n", args[0])
	fmt.Fprint(stderr, usage)
	return 2
}

func errorf(w io.Writer, format string, a ...any) {
	fmt.Fprintf(w, "sandbar: "+format+"\n", a...)
}
