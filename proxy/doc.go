// Package proxy is the only way out of a sandbox: an HTTP proxy and a SOCKS5
// proxy that sandbar runs outside the sandbox, each serving a listener the
// caller provides (in production a Unix socket bound into the sandbox, reached
// through sandbar's in-sandbox relay).
//
// # The Hello
//
// Every connection must begin with [Hello]: "SANDBAR/1 ", the per-run
// Config.Credential, "\r\n". Sandbar's relay, inside the sandbox, listens on
// 127.0.0.1 and, for each client, sends the Hello on a new connection to
// the proxy's Unix socket. The relay never parses the client's protocol: it
// could not add a header to every request of a keep-alive HTTP stream or
// rewrite a SOCKS5 negotiation without parsing both. So clients in the
// sandbox use the proxy with no credential of their own
// (HTTP_PROXY=http://127.0.0.1:3128, ALL_PROXY=socks5h://127.0.0.1:1080),
// and the secret is in no environment and on no command line a sandboxed
// command can read.
//
// The Hello is read on the connection's own goroutine, within 10 seconds,
// so a client that sends nothing holds up no other, and in one read when it
// arrives in one piece. The public prefix is compared as it arrives and a
// wrong byte is refused at once, so a client that knows nothing of the
// Hello (another local user, or a process outside the sandbox that connects
// to the socket) is answered without waiting; the whole Hello is then
// compared in constant time. Without a valid Hello the HTTP proxy answers
// 407 Proxy Authentication Required and the SOCKS5 proxy answers "no
// acceptable methods" (0x05 0xFF), then closes; nothing is decided,
// resolved or dialled. The refusal is reported as an [Event] with an empty
// Target and Reason "missing or wrong credential". An empty
// Config.Credential refuses every connection. After the Hello the SOCKS5
// proxy offers only "no authentication required": the connection is
// already authenticated.
//
// # The client's socket, passed with the Hello
//
// On a Unix socket, the relay sends the client's own TCP socket with the
// Hello, as a descriptor (SCM_RIGHTS) in the same message, and closes its
// copy. The proxy then serves that socket and closes the Unix connection,
// so the client's bytes reach the proxy directly, with no copy in the relay
// and no extra Unix hop; tunnels then join two TCP sockets, which the
// kernel splices. A Hello without a descriptor is followed by the client's
// protocol on the connection itself, as on any listener; the proxy accepts
// both.
//
// Why this gives nothing away:
//
//   - Only the credential lets a descriptor in. The Hello is read with
//     recvmsg, so that a descriptor is received rather than dropped, and
//     with MSG_CMSG_CLOEXEC, so that it is never inherited by a process
//     sandbar starts. The credential is checked first, exactly as on any
//     connection; a wrong Hello's descriptors are closed unused.
//   - Only a TCP socket is used. After a valid Hello the proxy takes no
//     descriptor, or exactly one that the kernel says (getsockopt
//     SO_DOMAIN, SO_TYPE, SO_PROTOCOL, SO_ACCEPTCONN) is an IPv4 or IPv6
//     stream socket of TCP (or Multipath TCP) that is not listening.
//     Anything else (a file, a pipe, a Unix or UDP socket, two
//     descriptors, other control data, control data cut short) is refused
//     like a wrong Hello, with a reason saying what came, and every
//     descriptor is closed unused.
//   - The proxy does with the socket what it did with the Unix
//     connection: it reads the client's requests from it and writes the
//     answers and the tunnelled bytes to it, half-closes and closes it
//     (Go sets no-delay and keep-alive on it, as on any TCP connection).
//     It never connects, binds or listens with it, nor passes it on. The
//     socket is the client's connection to the relay, in the sandbox's
//     network namespace; the proxy's own connections are still dialled by
//     the proxy, outside, to the addresses it checked. So the proxy reads
//     exactly the bytes the relay used to copy to it, and the sandbox
//     reaches nothing more.
//
// # What a connection goes through
//
// For every CONNECT tunnel, every plain http:// request and every SOCKS5
// CONNECT on a connection that began with a valid Hello, in this order:
//
//  1. Canonical target. The host is made canonical ([Canonical]): lower
//     case, no trailing dot, punycode; IP literals in any spelling
//     (2130706433, 0x7f.1, 127.1, 0177.0.0.1, ::ffff:127.0.0.1) become their
//     standard form.
//  2. Decision. Config.Decider decides the [Target]. The package never reads
//     policy syntax; [Rules] is a pure Decider built from allowedDomains and
//     deniedDomains entries. Ask goes to Config.Approver, which may take as
//     long as it likes: the client's connection is held open meanwhile.
//     Without an Approver, Ask is Deny.
//  3. Resolution, once. Only an allowed name is resolved, with
//     Config.Resolver, so no query for a denied name leaves the machine.
//  4. Address check. Every resolved address must be public, or admitted by
//     Config.AllowAddr: loopback, link-local (169.254.169.254 included),
//     private, unique-local, CGNAT, multicast, unspecified and reserved
//     addresses are refused, so a name that resolves to an internal address
//     (DNS rebinding) gets nowhere.
//  5. Dial. Config.Dialer dials the checked address itself; the name is never
//     resolved again.
//
// Every decision, allowed or denied, is passed to Config.OnEvent as an
// [Event] for the run report. A refused HTTP request or CONNECT gets a 403
// whose body names host:port, the reason, and the policy entry that would
// allow it; a refused SOCKS5 request gets reply 2 (not allowed by ruleset).
//
// # Plain HTTP and the Host header
//
// Only absolute http:// URIs are proxied; https goes through CONNECT. The
// request is sent to the checked address with the URI's host as its Host:
// net/http's server already replaces any Host header by the URI's authority
// (RFC 9112 §3.2.2), so a Host header naming another site cannot redirect a
// request; the proxy cannot see such a header to refuse it.
//
// # Serving
//
// [ServeHTTP] and [ServeSOCKS5] run until their context ends, then close the
// listener and every connection they accepted or were passed, open tunnels
// and their upstream connections included. CONNECT tunnels are sandbar's
// own, not goproxy's: they copy between the sockets themselves, which Linux
// splices without the bytes entering the proxy's memory, and a connection
// whose first request is a CONNECT (most are: tools open one per tunnel)
// is served on its own goroutine, without passing through net/http's
// server. Plain http:// requests are forwarded by goproxy, through
// buffers.
// Decisions are made per connection (per request for plain HTTP), so a
// Decider that reads the current policy applies a policy change to commands
// already running. [Rules.Compile] parses a policy's entries once, so that a
// decision costs string comparisons and nothing more.
//
// # Intercepted tunnels
//
// Config.Interceptor, when set, is asked about every allowed tunnel once
// its addresses have passed the checks, before anything is dialled. It may
// leave the tunnel opaque, take it over (the proxy answers the CONNECT,
// then hands the client's connection to the function it returned, with a
// dial function for the checked addresses), or refuse it with a reason,
// which the client gets as a 403 (SOCKS5: reply 2) and the run report as a
// denied [Event]. Sandbar's git checks (package gitguard) take over the
// tunnels to the git hosts the policy lists; a git host whose checks
// cannot run (no CA) is refused, never passed through unchecked.
//
// Data sent to an allowed destination through an opaque tunnel or plain
// HTTP is not inspected: the proxy decides where bytes go, not what they
// say.
package proxy
