package host

import "github.com/sandbar-dev/sandbar/confine"

// explainHeader says what the descriptors on bubblewrap's command line
// hold, which the command line does not: bwrap and the init are handed
// them by number. The numbers are confine's layout for a run (layoutFor
// in confine/run_linux.go); explain_linux_test.go checks them against the
// command line.
func explainHeader() string {
	return "# Descriptors: 3 seccomp filter, 4 bwrap status, 5 sandbar's own binary (the init),\n" +
		"# 6 the init's status pipe, 7 the lifeline (the sandbox ends when sandbar does),\n" +
		"# 8 the watch of protected paths (when there are any), 9 the init's configuration\n" +
		"# (the network relay, and hiding), 10 and 11 the HTTP and SOCKS5 proxies' sockets\n" +
		"# (the relay in the init listens on " + confine.HTTPProxyAddr + " and " + confine.SOCKSProxyAddr + " inside the\n" +
		"# sandbox), 12 the Landlock ruleset that hides paths (when there is one); 13 and up\n" +
		"# are listed after the command.\n" +
		"# The environment is passed to bwrap as is; `sandbar check --json` lists its names.\n"
}
