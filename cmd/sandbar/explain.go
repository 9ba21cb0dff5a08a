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
	// As in a run: the relay is the only way out. The sockets' real
	// names are made when a run starts.
	sock := func(name string) string { return runtimeDir() + "/sandbar-net-RUN/" + name }
	spec.Network.Proxy = &confine.Proxy{HTTP: sock("http.sock"), SOCKS: sock("socks.sock"), Hello: []byte("per-run credential")}
	line, err := confine.Explain(spec)
	if err != nil {
		errorf(stderr, "%v", err)
		return exitFailure
	}
	fmt.Fprintln(stdout, "# Descriptors: 3 seccomp filter, 4 bwrap status, 5 sandbar's own binary (the init),")
	fmt.Fprintln(stdout, "# 6 the init's status pipe, 7 the lifeline (the sandbox ends when sandbar does),")
	fmt.Fprintln(stdout, "# 8 the watch of protected paths (when there are any), 9 the network relay's")
	fmt.Fprintln(stdout, "# configuration, 10 and 11 the HTTP and SOCKS5 proxies' sockets (the relay in")
	fmt.Fprintln(stdout, "# the init listens on "+confine.HTTPProxyAddr+" and "+confine.SOCKSProxyAddr+" inside the sandbox);")
	fmt.Fprintln(stdout, "# the others are listed after the command.")
	fmt.Fprintln(stdout, "# The environment is passed to bwrap as is; `sandbar check --json` lists its names.")
	fmt.Fprint(stdout, line)
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
