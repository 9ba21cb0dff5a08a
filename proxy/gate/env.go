package gate

import (
	"maps"
	"slices"
	"strings"

	"github.com/sandbar-dev/sandbar/confine"
)

// noProxy are the destinations clients reach directly: the sandbox's own
// loopback, where a command's test servers listen.
const noProxy = "localhost,127.0.0.1,::1"

// Env returns environ with the variables that send clients in the sandbox
// through the relay. Variables of the same name in environ are replaced:
// the relay is the only way out, so any other proxy setting could only
// fail. sshProxyCommand is the ProxyCommand ssh is given (see
// `sandbar connect`); empty leaves ssh alone.
func Env(environ []string, sshProxyCommand string) []string {
	httpURL := "http://" + confine.HTTPProxyAddr
	socksURL := "socks5h://" + confine.SOCKSProxyAddr
	set := map[string]string{
		// curl, wget, git, pip, requests, Go, cargo, Deno, Bun, and most
		// else: some read only the lower-case names, some only the
		// upper-case ones.
		"HTTP_PROXY": httpURL, "http_proxy": httpURL,
		"HTTPS_PROXY": httpURL, "https_proxy": httpURL,
		"NO_PROXY": noProxy, "no_proxy": noProxy,
		// Everything else that speaks SOCKS; socks5h: the proxy resolves
		// names, since the sandbox has no resolver.
		"ALL_PROXY": socksURL, "all_proxy": socksURL,
		// npm and yarn 1 read their own names first.
		"npm_config_proxy": httpURL, "npm_config_https_proxy": httpURL,
		"npm_config_noproxy": noProxy,
		// yarn 2 and later.
		"YARN_HTTP_PROXY": httpURL, "YARN_HTTPS_PROXY": httpURL,
		// Node's built-in fetch and http (Node 24 and later) use the
		// variables above only when asked.
		"NODE_USE_ENV_PROXY": "1",
	}
	host, port, _ := strings.Cut(confine.HTTPProxyAddr, ":")
	javaOpts := "-Dhttp.proxyHost=" + host + " -Dhttp.proxyPort=" + port +
		" -Dhttps.proxyHost=" + host + " -Dhttps.proxyPort=" + port +
		" -Dhttp.nonProxyHosts=localhost|127.0.0.1|[::1]"

	out := make([]string, 0, len(environ)+len(set)+2)
	var userJava, userSSH string
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		switch {
		case name == "JAVA_TOOL_OPTIONS":
			userJava = value
			continue
		case name == "GIT_SSH_COMMAND":
			userSSH = value
			continue
		}
		if _, ours := set[name]; ours {
			continue
		}
		out = append(out, kv)
	}
	for _, name := range slices.Sorted(maps.Keys(set)) {
		out = append(out, name+"="+set[name])
	}
	// The JVM's properties go after the user's options, so ours win.
	out = append(out, "JAVA_TOOL_OPTIONS="+strings.TrimSpace(userJava+" "+javaOpts))
	if sshProxyCommand != "" {
		// ssh takes the first value it is given for an option, and
		// options on its command line before any configuration file: the
		// user's own options are kept, and their ProxyCommand, if any,
		// wins (and cannot get out).
		ssh := userSSH
		if ssh == "" {
			ssh = "ssh"
		}
		out = append(out, "GIT_SSH_COMMAND="+ssh+" -o "+shellQuote("ProxyCommand="+sshProxyCommand))
	} else if userSSH != "" {
		out = append(out, "GIT_SSH_COMMAND="+userSSH)
	}
	return out
}

func shellQuote(s string) string { return confine.ShellQuote(s) }
