// Package policy reads sandbar policy files: what a confined command may
// read and write, which hosts it may reach, and which environment variables
// it sees.
//
// A policy file is JSON with comments and trailing commas (HuJSON), kept in
// a repository next to the code it governs, so it is written by people and
// reviewed in diffs. The package is therefore strict and talkative: Parse
// refuses anything it does not understand (an unknown key is more likely a
// typo that silently weakens the sandbox than a feature from the future),
// and it reports every problem in one pass as "file:line:col: message",
// each message saying what to write instead.
//
// # What it does
//
// Parse turns bytes into a Policy whose every entry remembers its Pos, so
// that later stages (trust prompts, checks, violation reports) can point at
// the line that allowed or denied something. Merge combines the built-in
// Default with user and workspace policies. ExpandPath, MatchEnv and
// PresetPaths are the small rules consumers need to interpret entries the
// same way the validator accepted them.
//
// # What it never does
//
// It touches no filesystem, network or environment. Parse takes bytes and a
// name; it never opens the file, so the caller decides where policies live
// and the tests need no files. ExpandPath is string work: it does not resolve
// symlinks or check existence, and it is told the home and policy
// directories rather than looking them up. Domains are validated but not
// canonicalised (no lowercasing, no IDN conversion, no DNS), and nothing here
// decides whether an allow beats a deny: that is the job of the workspace
// package, which knows the folders, and of the confine and proxy packages,
// which enforce the result. This package knows nothing of JSON-RPC,
// bubblewrap or the proxy.
//
// The schema is described for users in docs/policy-schema.md.
package policy
