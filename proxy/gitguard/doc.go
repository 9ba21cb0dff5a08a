// Package gitguard lets a sandboxed git fetch and push without ever
// holding the user's credentials: for the git hosts the policy lists, the
// proxy terminates TLS (with a certificate from package ca, which only
// sandboxes trust), reads git's smart HTTP protocol, checks each push,
// and adds the user's credentials on the way out.
//
// A [Guard] is a proxy.Interceptor: the proxy hands it the tunnels to the
// listed hosts, and it serves the sandbox's requests on them one by one
// (HTTP/1.1; keep-alive and pipelined requests are each checked alike):
//
//   - Fetches and clones (GET .../info/refs?service=git-upload-pack, POST
//     .../git-upload-pack) go on with the credential.
//   - A push's ref advertisement (GET .../info/refs?service=git-receive-pack)
//     goes on with the credential, unless the policy allows no branch:
//     then git shows "fatal: remote error: sandbar: ...".
//   - A push (POST .../git-receive-pack) is read before anything is sent:
//     its commands (pkt-lines, gunzipped if git compressed them), then
//     its pack, into an anonymous temporary file. Every ref it updates
//     must be a branch the policy lists; a deletion needs
//     git.deleteBranches and an update that is not a fast-forward needs
//     git.forcePush; the first push to a repository the policy does not
//     list asks the [PushApprover]. If anything is refused, nothing is
//     sent and git gets the refusal in its own report format, so it
//     prints " ! [remote rejected] main -> main (sandbar: push to
//     refs/heads/main refused by policy; allowed: agent/*)".
//   - Any other GET or HEAD (release downloads, web pages) goes on
//     without the credential; any other method is refused.
//
// # Fast-forwards
//
// An update is a fast-forward when the ref's old commit is an ancestor of
// the new one. The guard reads the commits of the pushed pack, naming each
// by the hash of its content (never by what the pack claims), and walks
// the new commit's parents through them. If the walk meets the old commit,
// the update is a fast-forward. If it leaves the pack first, the rest of
// the history is on the server, and the guard asks the server, with a
// protocol v2 fetch negotiation ("want" each commit where the walk
// stopped, "have" the old one, no "done"): upload-pack says "ready" only
// when the old commit is an ancestor of what is wanted. Anything the guard
// cannot establish (a thin pack's commit stored as a delta against a
// commit it does not have, a server without protocol v2) refuses the
// update, saying why. The server itself makes sure the old commit is the
// ref's current value.
//
// # The credential
//
// [Credentials] gives it; production uses [GitCredentials], the user's own
// `git credential fill`, run outside the sandbox in "/" with terminal
// prompts off, once per repository and run (never `git credential
// approve`: see Credentials). It is sent as basic authentication on git's requests
// only, never on the others, and every header the sandbox sent that could
// carry a credential of its own is dropped from them. In answers, the
// headers that could echo one (WWW-Authenticate, Authentication-Info,
// Set-Cookie...) are dropped; a header or body in which the credential
// shows up anyway is cut off and reported. An answer that refuses the
// credential (401) becomes a message saying so, so the sandboxed git never
// asks for one itself. Without a credential, the request is refused: a
// git host is never reached unchecked or with a credential of the
// sandbox's.
//
// Everything from the sandbox is the attacker's: pkt-line lengths,
// commands, ref names, object names, the pack and its deltas, the request
// path (a path with escapes, ".." or "//" is refused rather than guessed
// at), the Host header (it must name the tunnel's host), the TLS server
// name. Each is bounded and checked, and refused when it is not exactly
// what git writes.
package gitguard
