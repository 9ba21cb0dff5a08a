// Package auditlog keeps the record of every decision sandbar makes about
// an access: a connection or a file allowed or denied, a question asked
// and who answered it, a policy approved, a command run without the
// sandbox. It answers, after the fact, "what did that agent try, and who
// let it?".
//
// # Where
//
// One file, $XDG_STATE_HOME/sandbar/audit.jsonl (FileName in
// workspace.Places.StateDir), created with mode 0600 in a directory of
// mode 0700 on the first Append. Every sandbar process (each `sandbar
// run`, each editor's `sandbar serve`) appends to the same file.
//
// # Format
//
// One JSON object per line (JSON Lines), the fields of Entry, oldest
// first:
//
//	{"time":"2026-11-27T17:40:02.123+01:00","kind":"network","target":"evil.example:443","decision":"denied","how":"asked","by":"user (Visual Studio Code)","answer":"Deny","run":"r3","command":["curl","https://evil.example"],"folder":"/home/me/src/app","pid":4242}
//
// Lines are only ever appended, each with one write(2) on a file opened
// with O_APPEND, so lines from many goroutines and processes never
// interleave. A line cut short (a full disk, a crash of the machine) is
// skipped by Read, which says how many it skipped, rather than hiding
// every entry after it; the next Append starts a line of its own rather
// than glue a good entry to the torn one.
//
// # Rotation
//
// When an entry would take the file past Options.MaxSize (10 MiB unless
// set), audit.jsonl is first renamed to audit.jsonl.1, replacing the
// previous .1, so the log keeps the current file and one older
// generation: at most about twice MaxSize on disk. Appenders hold an
// exclusive flock(2) on the file while they check its size, rotate and
// write, and check after locking that the file they locked is still the
// one named audit.jsonl. Two processes therefore never both rotate (which
// would push the newest lines out with the old generation), and no line is
// written into a file that was already renamed away.
//
// # Why a confined command cannot forge it
//
// The state directory is one of sandbar's own directories, which stay
// read-only inside every sandbox (workspace.Places.Options), so a command
// under sandbar can read the log but can neither append a line, rewrite
// one, nor rotate the file away. The entries are written by sandbar
// itself, outside the sandbox.
package auditlog
