package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/sandbar-dev/sandbar/confine"
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
	spec, err := sb.Spec(argv, wd)
	if err != nil {
		errorf(stderr, "%v", err)
		return exitFailure
	}
	line, err := confine.Explain(spec)
	if err != nil {
		errorf(stderr, "%v", err)
		return exitFailure
	}
	fmt.Fprintln(stdout, "# Descriptors: 3 seccomp filter, 4 bwrap status, 5 sandbar's own binary (the init),")
	fmt.Fprintln(stdout, "# 6 the init's status pipe, 7 the lifeline (the sandbox ends when sandbar does);")
	fmt.Fprintln(stdout, "# the others are listed after the command.")
	fmt.Fprintln(stdout, "# The environment is passed to bwrap as is; `sandbar check --json` lists its names.")
	fmt.Fprint(stdout, line)
	if *showSeccomp {
		listing, err := seccompListing(spec.AllowUnixSockets)
		if err != nil {
			errorf(stderr, "%v", err)
			return exitFailure
		}
		fmt.Fprintln(stdout)
		fmt.Fprintln(stdout, "# seccomp filter (fd 3):")
		fmt.Fprint(stdout, listing)
	}
	return 0
}
