// Package confine runs one command inside a sandbox described by a Spec.
//
// A Spec is a plain value: the command, its environment and working
// directory, and a list of paths with the access the command gets to each
// (read-only, read-write, or hidden). Everything not named is read-only.
// confine never reads policy files and never decides what should be
// allowed; package workspace does that and hands over a Spec.
//
// On Linux the backend is bubblewrap. BwrapArgs turns a Spec into the exact
// bwrap argument list with no side effects, so tests can golden-check it
// and `sandbar explain` can show a reviewer what the kernel will be asked
// for. Run starts bwrap with that list and a seccomp filter from package
// confine/seccomp, and supervises it:
//
//   - Inside the sandbox the first process is sandbar's own binary, run as
//     a tiny init (see Init): it is PID 1 of the sandbox's PID namespace,
//     forwards signals to the command, reaps orphans, reports the command's
//     exact exit status on a private pipe and, by exiting, makes the kernel
//     kill every process left in the namespace. Nothing confined outlives
//     the command.
//   - A lifeline pipe, whose only writer is sandbar, ties the sandbox to
//     sandbar: when sandbar dies, however it dies, the init reads end of
//     file and kills everything in the sandbox (before the command starts,
//     if it has not yet). bwrap runs without --die-with-parent, whose
//     signal is lost when bwrap changes credentials and would strand a
//     half-built sandbox.
//   - A second seccomp filter on the command sends every call that may
//     change the file system to sandbar, which reports the ones the
//     sandbox refuses (Result.Violations, Runner.OnViolation) and refuses
//     the creation of Spec.Uncreatable paths itself. The mount layer
//     stays the enforcement; see docs/violations.md.
//   - A hidden path is a mount over it, and the kernel drops a mount, in
//     every namespace, when the host renames a file over its mount point
//     or removes it: an editor's save or a credential helper's refresh
//     would reveal the new secret to sandboxes already running. So the
//     init also puts the command under a Landlock ruleset (filled by
//     sandbar while bwrap starts, handed over on a descriptor) that lets
//     it read and execute only what existed at start in the directories
//     leading to a hidden path: what the host puts there later has no
//     rule on its way up to / and cannot be read. Hidden paths inside a
//     writable folder cannot be covered (the command must read what it
//     writes there) and keep their mounts alone; so do all hidden paths
//     on kernels without Landlock, which `sandbar doctor` reports. See
//     hide_linux.go and docs/hiding.md.
//   - When stdin is a terminal the command gets a fresh pseudo-terminal
//     instead of the user's one; the sandbox never holds a descriptor of
//     the user's terminal, so terminal injection (TIOCSTI) cannot reach
//     the user's shell even if the seccomp filter were missing.
//
// On macOS the backend is Seatbelt (sandbox-exec). SeatbeltProfile turns
// the same Spec into a profile, again with no side effects, golden-tested
// on Linux; Run applies it with sandbox-exec, runs sandbar's own binary
// inside as a supervisor with a lifeline, relays the network to the
// proxies from the host's loopback (the command presents a credential
// made for the run as proxy authentication), and reads what the sandbox
// refused from the unified log. See docs/macos.md.
//
// Errors that mean "the sandbox could not be built" are *SetupError, so
// callers can fail closed with exit status 125 and point the user at
// `sandbar doctor`.
package confine
