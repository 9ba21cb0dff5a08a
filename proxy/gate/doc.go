// Package gate opens the way out of one sandbox: it starts sandbar's HTTP
// and SOCKS5 proxies on Unix sockets in a private directory, with a fresh
// credential, and says what the sandbox needs to use them: the
// confine.Proxy that the in-sandbox relay connects to, and the environment
// variables that point common tools (curl, git, npm, pip, go, the JVM, ssh)
// at the relay.
//
// With Config.Git, the git hosts its policy lists go through sandbar's
// git checks (package gitguard): the gate opens the user's CA (package
// ca), writes the bundle of the system's roots and the CA that sandboxed
// tools trust, and WithGit adds to the environment what points them at
// it (GIT_SSL_CAINFO, SSL_CERT_FILE, REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE,
// NODE_EXTRA_CA_CERTS) and the GIT_CONFIG_* entries that send SSH
// remotes of those hosts over HTTPS. If the CA cannot be opened, the run
// goes on and the git hosts' tunnels are refused, with the reason.
//
// The rules are read through a function for every connection, so a caller
// that keeps its policy current (workspace.Follower) changes the decisions
// for commands that are already running. The function returns them
// compiled (proxy.Rules.Compile), so that the caller parses the entries
// once per policy change, not once per connection.
package gate
