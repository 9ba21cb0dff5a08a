package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/sandbar-dev/sandbar/host"
)

func cmdExplain(args []string, stdout, stderr *os.File) int {
	fs := flag.NewFlagSet("sandbar explain", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf sandboxFlags
	sf.register(fs)
	showSeccomp := fs.Bool("seccomp", false, "also print the seccomp filter, disassembled")
	argv, err := parseWithCommand(fs, args)
	if err != nil {
		return 2
	}
	if len(argv) == 0 {
		errorf(stderr, "explain: no command given; usage: sandbar explain [flags] -- CMD [ARG...]")
		return 2
	}
	sb, _, err := sf.load()
	if err != nil {
		reportLoadError(stderr, err)
		return exitFailure
	}
	wd, err := os.Getwd()
	if err != nil {
		errorf(stderr, "%v", err)
		return exitFailure
	}
	text, spec, err := host.Explain(sb, argv, wd, runtimeDir())
	if err != nil {
		errorf(stderr, "%v", err)
		return exitFailure
	}
	fmt.Fprint(stdout, text)
	if *showSeccomp {
		// bwrap's filter binds the init too, whose relay needs Unix
		// sockets; the init adds a second one, for the command alone,
		// that refuses them unless the policy allows them.
		listing, err := seccompListing(true)
		if err != nil {
			errorf(stderr, "%v", err)
			return exitFailure
		}
		fmt.Fprintln(stdout)
		fmt.Fprintln(stdout, "# seccomp filter (fd 3), installed by bwrap for the init and the command:")
		fmt.Fprint(stdout, listing)
		if !spec.AllowUnixSockets {
			listing, err := seccompListing(false)
			if err != nil {
				errorf(stderr, "%v", err)
				return exitFailure
			}
			fmt.Fprintln(stdout)
			fmt.Fprintln(stdout, "# seccomp filter installed by the init on the command alone, on top of the first:")
			fmt.Fprint(stdout, listing)
		}
	}
	return 0
}
