package gate

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/sandbar-dev/sandbar/confine"
	"github.com/sandbar-dev/sandbar/proxy/gitguard"
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

// GitEnv is what a sandbox needs to go through sandbar's git checks.
type GitEnv struct {
	// CAFile is sandbar's CA alone; Bundle the system's roots and the
	// CA, or empty when the system has no roots file.
	CAFile, Bundle string
	// Policy gives the git hosts.
	Policy func() *gitguard.Policy
	// Dir, if not empty, is where WithGit writes the git system config
	// the sandbox is given (see systemConfig); it must be readable in
	// the sandbox.
	Dir string
}

// WithGit returns environ with what makes tools in the sandbox trust
// sandbar's CA (which signs only for the git hosts, and only sandboxes
// trust) and send git's SSH remotes for the git hosts over HTTPS, where
// the checks apply. git is configured through GIT_CONFIG_COUNT,
// GIT_CONFIG_KEY_n and GIT_CONFIG_VALUE_n, after the user's own entries,
// never by editing a file. A nil g leaves environ as it is.
func WithGit(environ []string, g *GitEnv) []string {
	if g == nil {
		return environ
	}
	bundle := g.Bundle
	set := map[string]string{}
	if bundle != "" {
		// Each of these replaces the roots its tools trust, so it gets
		// the system's roots too.
		set["SSL_CERT_FILE"] = bundle      // OpenSSL, Go, Python's ssl, Ruby
		set["REQUESTS_CA_BUNDLE"] = bundle // Python requests, pip
		set["CURL_CA_BUNDLE"] = bundle     // curl
		set["GIT_SSL_CAINFO"] = bundle     // git
	} else {
		// Without the system's roots only the git hosts can be
		// trusted; git is what needs them.
		set["GIT_SSL_CAINFO"] = g.CAFile
	}

	var keys, values []string
	count := 0
	var hosts []string
	if g.Policy != nil {
		if p := g.Policy(); p != nil {
			hosts = p.Hosts
		}
	}
	for _, h := range hosts {
		https, name, ok := gitURLs(h)
		if !ok {
			continue
		}
		for _, from := range []string{"git@" + name + ":", "ssh://git@" + name + "/", "ssh://git@" + name + ":22/", "ssh://" + name + "/", "git://" + name + "/"} {
			keys = append(keys, "url."+https+".insteadOf")
			values = append(values, from)
		}
	}

	file := systemConfig(g.Dir, environ, hosts)
	if file != "" {
		set["GIT_CONFIG_SYSTEM"] = file
	}

	out := make([]string, 0, len(environ)+len(set)+3+2*len(keys))
	user := map[string]string{}
	userNode := ""
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(name, "GIT_CONFIG_KEY_"), strings.HasPrefix(name, "GIT_CONFIG_VALUE_"), name == "GIT_CONFIG_COUNT":
			user[name] = value
			continue
		case name == "NODE_EXTRA_CA_CERTS":
			userNode = value
		case name == "GIT_CONFIG_NOSYSTEM" && file != "":
			// Honoured by the system config, which then includes
			// nothing: git must read it for the rules to apply.
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
	if userNode == "" {
		// Node adds this file to its own roots.
		out = append(out, "NODE_EXTRA_CA_CERTS="+g.CAFile)
	}
	// The user's own entries first, renumbered from 0; an entry git
	// would refuse (a count that is not a number) is dropped.
	if n, err := strconv.Atoi(user["GIT_CONFIG_COUNT"]); err == nil {
		for i := 0; i < n; i++ {
			k, ok := user["GIT_CONFIG_KEY_"+strconv.Itoa(i)]
			if !ok {
				break
			}
			out = append(out, "GIT_CONFIG_KEY_"+strconv.Itoa(count)+"="+k, "GIT_CONFIG_VALUE_"+strconv.Itoa(count)+"="+user["GIT_CONFIG_VALUE_"+strconv.Itoa(i)])
			count++
		}
	}
	for i := range keys {
		out = append(out, "GIT_CONFIG_KEY_"+strconv.Itoa(count)+"="+keys[i], "GIT_CONFIG_VALUE_"+strconv.Itoa(count)+"="+values[i])
		count++
	}
	if count > 0 {
		out = append(out, "GIT_CONFIG_COUNT="+strconv.Itoa(count))
	}
	return out
}

// gitURLs returns, for a git.hosts entry, the base of its HTTPS URLs
// ("https://github.com/", "https://git.example.com:8443/") and the host
// name SSH remotes use.
func gitURLs(entry string) (https, name string, ok bool) {
	host, port := entry, ""
	if h, p, err := net.SplitHostPort(entry); err == nil {
		host, port = h, p
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if host == "" {
		return "", "", false
	}
	name = host
	if strings.Contains(host, ":") {
		name = "[" + host + "]"
	}
	auth := name
	if port != "" && port != "443" {
		auth += ":" + port
	}
	return "https://" + auth + "/", name, true
}

// systemConfigs are where git may have been built to read its system
// config from (Debian and most Linux; Homebrew; Apple's command line
// tools and Xcode). Including one that does not exist costs nothing.
var systemConfigs = []string{
	"/etc/gitconfig",
	"/usr/local/etc/gitconfig",
	"/opt/homebrew/etc/gitconfig",
	"/Library/Developer/CommandLineTools/usr/share/git-core/gitconfig",
	"/Applications/Xcode.app/Contents/Developer/usr/share/git-core/gitconfig",
}

// systemConfig writes, in dir, the file the sandbox's git reads as its
// system config (GIT_CONFIG_SYSTEM) and returns its path, or "" when
// there is none to write (no dir, no hosts, or the file cannot be
// written: the sandbox then does without).
//
// It keeps each git host's HTTPS URLs on HTTPS and sends its SSH forms
// there too, then includes the system config git would otherwise read.
// Why a system config: many users send a host's HTTPS remotes over SSH
// (url."git@github.com:".insteadOf = https://github.com/ in ~/.gitconfig).
// git rewrites a URL once, by the longest matching prefix, and of equal
// ones by the first it read; the system config is read first. So the
// sandbox's git, which has no SSH key and whose pushes are checked only
// over HTTPS, keeps the host's URLs as they are, while the user's own
// rule of the same length stays in force on the host. A longer rule of
// the user's (https://github.com/my-org/) still wins.
func systemConfig(dir string, environ []string, hosts []string) string {
	if dir == "" || len(hosts) == 0 {
		return ""
	}
	includes := systemConfigs
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		switch name {
		case "GIT_CONFIG_SYSTEM":
			includes = []string{value}
		}
	}
	for _, kv := range environ {
		// git reads no system config at all: then neither the machine's
		// (this file includes nothing), only these rules.
		if name, value, _ := strings.Cut(kv, "="); name == "GIT_CONFIG_NOSYSTEM" && gitTrue(value) {
			includes = nil
		}
	}
	var b strings.Builder
	b.WriteString("# Written by sandbar: git's system config in its sandboxes (GIT_CONFIG_SYSTEM).\n")
	b.WriteString("# The git hosts' URLs stay on HTTPS, where sandbar checks pushes;\n")
	b.WriteString("# then the system config git reads elsewhere.\n")
	for _, h := range hosts {
		https, name, ok := gitURLs(h)
		if !ok {
			continue
		}
		fmt.Fprintf(&b, "[url %s]\n", quoteGitValue(https))
		fmt.Fprintf(&b, "\tinsteadOf = %s\n\tpushInsteadOf = %s\n", quoteGitValue(https), quoteGitValue(https))
		for _, from := range []string{"git@" + name + ":", "ssh://git@" + name + "/", "ssh://git@" + name + ":22/", "ssh://" + name + "/", "git://" + name + "/"} {
			fmt.Fprintf(&b, "\tinsteadOf = %s\n", quoteGitValue(from))
		}
	}
	if len(includes) > 0 {
		b.WriteString("[include]\n")
	}
	for _, inc := range includes {
		fmt.Fprintf(&b, "\tpath = %s\n", quoteGitValue(inc))
	}
	content := []byte(b.String())
	sum := sha256.Sum256(content)
	file := filepath.Join(dir, "gitconfig-"+hex.EncodeToString(sum[:8]))
	if existing, err := os.ReadFile(file); err == nil && bytes.Equal(existing, content) {
		return file
	}
	tmp, err := os.CreateTemp(dir, ".gitconfig-*")
	if err != nil {
		return ""
	}
	_, werr := tmp.Write(content)
	cerr := tmp.Close()
	if werr != nil || cerr != nil || os.Chmod(tmp.Name(), 0o644) != nil || os.Rename(tmp.Name(), file) != nil {
		os.Remove(tmp.Name())
		return ""
	}
	return file
}

// quoteGitValue quotes s as a git config value: in double quotes, with
// backslashes, quotes and newlines escaped.
func quoteGitValue(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\t", `\t`)
	return `"` + r.Replace(s) + `"`
}

// gitTrue is git's reading of a boolean: true, yes, on or a nonzero
// number, in any case.
func gitTrue(v string) bool {
	switch strings.ToLower(v) {
	case "true", "yes", "on":
		return true
	}
	n, err := strconv.Atoi(v)
	return err == nil && n != 0
}
