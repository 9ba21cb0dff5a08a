// Package e2e drives the real sandbar binary the way a user or an editor
// does: it builds ./cmd/sandbar (or uses $SANDBAR_BIN), runs it on real
// workspaces with real bubblewrap, and checks what happened on the host
// afterwards.
//
// The tests never skip where bubblewrap or a tool they drive (curl, git,
// ssh, sshd, npm, pip, ping) is missing: set SANDBAR_ALLOW_SKIP=1 on a
// machine that cannot have them; e2e/test-all.sh installs them.
//
// What is where:
//   - run_linux_test.go, terminal_linux_test.go, violations_linux_test.go:
//     `sandbar run`, its exit statuses, report, pty and summary;
//   - network_linux_test.go, clients_linux_test.go, approve_linux_test.go:
//     the network through the proxy, real clients (curl, git over HTTPS
//     and SSH, npm, pip, go, python), the terminal prompt; servers in
//     netserver_linux_test.go, gitserver_linux_test.go and
//     registry_linux_test.go, all on 127.0.0.2 and up;
//   - git_linux_test.go: git through sandbar's git checks (docs/git.md),
//     against git http-backend behind basic authentication, in
//     gitauth_linux_test.go;
//   - host_linux_test.go with the fake editor in editor_linux_test.go:
//     `sandbar serve` over its real stdin and stdout; hostrun_*_test.go
//     its runs (output, input, pty, cancellation, memory, the editor
//     going away), hostapprove_linux_test.go its prompts, and
//     terminalhost_linux_test.go `sandbar run` in an editor's terminal
//     asking through the host's socket;
//   - audit_linux_test.go: the audit log and `sandbar audit`;
//   - bench_linux_test.go (start-up), bench_network_linux_test.go
//     (throughput and latency through the proxy) and
//     bench_host_linux_test.go (runs through the host, policy save to
//     enforcement, the host's memory): the benchmarks the README quotes.
package e2e
