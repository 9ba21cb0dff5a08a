// Package confinetest helps tests confine real processes.
//
// The test binary is its own probe: a test runs it inside a sandbox with
// an operation to try (write a file, connect to a socket, unshare a
// namespace, ...), the probe tries it and prints the outcome as one JSON
// line, and the test checks the errno with errors.Is and then checks on
// the host that nothing outside changed. Call MaybeProbe from TestMain,
// after confine.MaybeInit.
//
// Inside the sandbox the probe is started as /proc/self/exe: the init is
// the test binary, so that magic link reaches it even though the test
// binary's directory (under the host's /tmp) is not visible there.
//
// Confinement tests must not skip where bubblewrap is missing: RequireBwrap
// fails the test with the command that installs it, unless the developer
// sets SANDBAR_ALLOW_SKIP=1 on a machine that cannot have it.
package confinetest
