package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/sandbar-dev/sandbar/confine"
	"github.com/sandbar-dev/sandbar/host"
)

func cmdExplain(args []string, stdout, stderr io.Writer) int {
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
	sb, places, err := sf.load()
	if err != nil {
		reportLoadError(stderr, err)
		return exitFailure
	}
	wd, err := os.Getwd()
	if err != nil {
		errorf(stderr, "%v", err)
		return exitFailure
	}
	text, spec, err := host.Explain(sb, argv, wd, places.RuntimeDir)
	if err != nil {
		errorf(stderr, "%v", err)
		return exitFailure
	}
	fmt.Fprint(stdout, text)
	if *showSeccomp {
		// Every filter a run installs: bwrap's, and the ones the init
		// puts on the command alone.
		listing, err := confine.ExplainSeccomp(confine.Runner{}, spec)
		if err != nil {
			errorf(stderr, "%v", err)
			return exitFailure
		}
		fmt.Fprintln(stdout)
		fmt.Fprint(stdout, listing)
	}
	return 0
}
