// Package gate opens the way out of one sandbox: it starts sandbar's HTTP
// and SOCKS5 proxies on Unix sockets in a private directory, with a fresh
// credential, and says what the sandbox needs to use them: the
// confine.Proxy that the in-sandbox relay connects to, and the environment
// variables that point common tools (curl, git, npm, pip, go, the JVM, ssh)
// at the relay.
//
// The rules are read through a function for every connection, so a caller
// that keeps its policy current (workspace.Follower) changes the decisions
// for commands that are already running. The function returns them
// compiled (proxy.Rules.Compile), so that the caller parses the entries
// once per policy change, not once per connection.
package gate
