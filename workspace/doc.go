// Package workspace turns an editor's (or a terminal's) workspace folders
// and the policy files that apply to them into the sandbox a command gets.
//
// Load reads the built-in default policy, the user's policy and each
// folder's .sandbar/policy.jsonc, splits each repository policy into what
// narrows the sandbox (always applied) and what widens it (applied only
// once the user approved that exact file, see package trust), and works out
// every path's access: folders writable, secrets hidden, and the paths that
// would run code on the host later (git hooks and config, editor and agent
// settings, shell start-up files, sandbar's own files) read-only even
// inside writable folders.
//
// Finding protected paths means finding every git repository under the
// writable folders, at any depth, so Load walks them once; a Sandbox can
// be reused for many commands. Protected paths that do not exist yet cannot
// be made read-only by a mount without leaving a placeholder on the host,
// so Load records them, and Sandbox.Audit checks after the command ended
// whether any appeared, moves what appeared to a quarantine directory and
// reports it.
//
// The package knows nothing of bubblewrap or JSON-RPC: it produces a
// confine.Spec, and reports errors as values that name the file, line and
// column of the offending entry.
package workspace
