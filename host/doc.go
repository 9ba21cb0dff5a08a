// Package host is one editor session: `sandbar serve` speaking JSON-RPC
// 2.0 with LSP's Content-Length framing on stdin and stdout, so that any
// editor able to start a language server can run commands in the sandbox
// of its open folders, follow its policy live, and answer sandbar's
// questions with its own prompts. docs/protocol.md is the protocol, method
// by method.
//
// # The session
//
// Serve runs a session until the editor sends exit, closes stdin, or the
// process is signalled, and returns the exit status LSP asks for: 0 after
// shutdown, else 1. The lifecycle is an explicit state (lifecycle.go):
// before initialize a request gets -32002 and a notification is dropped; a
// second initialize gets -32600; after shutdown only exit is taken. stdout
// carries the protocol and nothing else; the log goes to stderr and, once
// the session is initialized, to the editor as window/logMessage.
//
// # What is where
//
//   - conn.go is the only file that knows go.lsp.dev/jsonrpc2. It answers
//     frames that are not JSON-RPC with the right error instead of letting
//     the library end the connection, gives every error a code, keeps
//     notification handlers from ending the connection, releases a
//     handler from the read loop before it calls the editor back, gives
//     handlers a context that outlives the library's recycled one, and
//     closes the connection from outside the handlers.
//   - frame.go reads LSP's Content-Length frames, and finds the next one
//     after a malformed header.
//   - protocol.go has every message as it is on the wire, each field with
//     its exact JSON name (the JSON library matches names
//     case-sensitively).
//   - lifecycle.go: initialize, initialized, shutdown, exit.
//   - folders.go: the workspace folders (from workspaceFolders, or rootUri
//     when there are none) and workspace/didChangeWorkspaceFolders.
//   - policy.go: the live policy. It is loaded when the session starts and
//     whenever the folders change, and followed (workspace.Follower) as
//     its files are saved, renamed over, deleted and made again. Every
//     attempt is a generation announced with sandbar/policyApplied; an
//     invalid file keeps the last good policy in force and shows its
//     errors as textDocument/publishDiagnostics on the file, with one
//     window/showMessage. sandbar/policy answers with the policy in force.
//   - diagnostics.go turns policy errors (file:line:col, columns in bytes)
//     into LSP ranges in the negotiated position encoding.
//   - explain.go: sandbar/explain, and Explain, which `sandbar explain`
//     prints too.
//   - run.go: sandbar/run, through workspace/launch as `sandbar run` does:
//     output streamed as sandbar/output (the host holds one chunk per
//     stream and waits for the editor, never buffers more), refusals as
//     sandbar/violation, input and terminal size from sandbar/input and
//     sandbar/resize. unconfined.go is a run outside the sandbox, only
//     after the user says so.
//   - approvals.go: every question is a window/showMessageRequest with
//     fixed action titles and a deadline; no answer, for any reason, is
//     Deny. Concurrent questions about the same thing share one prompt.
//     Network answers may write the workspace's or the user's policy;
//     refused file accesses offer "Allow and re-run".
//   - trust.go: sandbar/trust, and the prompt, once per content, for a
//     workspace policy that would widen the sandbox.
//   - terminals.go: the socket on which `sandbar run` in the editor's
//     terminals ($SANDBAR_HOST) asks its questions through the host;
//     only the user's processes may connect, and every sandbox has it
//     hidden.
//
// Every decision goes to the audit log (workspace/auditlog).
//
// The host decides nothing about sandboxes itself: package workspace
// turns folders and policy files into one, and package confine runs
// commands in it.
package host
