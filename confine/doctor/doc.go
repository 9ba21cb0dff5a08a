// Package doctor tells whether this machine can run sandbar's bubblewrap
// backend, and when it cannot, exactly what to do about it.
//
// `sandbar doctor` prints the whole report; `sandbar run` calls [Check] after
// bwrap fails and prints the [Blocking] findings, so a user who hits a
// confinement failure is told the cause instead of a bare bwrap error.
//
// # Reading a report
//
// Each [Finding] is one line, "ok", "warn" or "FAIL", then the check id and
// what was found. A FAIL is followed by the commands that fix it:
//
//	ok   bwrap: bubblewrap 0.8.0 at /usr/bin/bwrap
//	FAIL apparmor-userns: AppArmor restricts unprivileged user namespaces ...
//	     fix: Create /etc/apparmor.d/bwrap with this content:
//	          ...
//
// sandbar is fail-closed: anything that stops bwrap from confining a command
// is a Fail, never a Warn, because a Warn would let a caller go on running
// commands unconfined. A Warn is for what works but deserves a look (a
// setuid bwrap, a sysctl that reads as blocking while bwrap works anyway).
//
// # What is checked, in report order
//
//   - bwrap: bubblewrap on PATH (or at /usr/bin/bwrap), version 0.8.0 or newer,
//     the first with --disable-userns, --bind-fd and --json-status-fd.
//   - setuid-bwrap: a setuid bwrap works, but sandbar is built for user
//     namespaces and some options behave differently under setuid.
//   - max-user-namespaces, unprivileged-userns-clone, apparmor-userns: the
//     kernel and AppArmor switches that commonly forbid unprivileged user
//     namespaces (a zero limit, Debian's old clone switch, Ubuntu 23.10+'s
//     AppArmor restriction).
//   - userns: the truth. bwrap is run for real with every namespace sandbar
//     uses. When it fails, bwrap's own message is reported along with the
//     likely cause among the switches above. When the switches and this test
//     disagree, the test wins and the switches are downgraded to Warn
//     (for example a setuid bwrap needs no unprivileged user namespaces).
//   - seccomp: the kernel must support seccomp filters, which sandbar uses
//     to block syscalls no sandboxed command needs.
//   - violations: whether runs report what the sandbox refuses as it
//     happens, which needs seccomp user notification (Linux 5.5) and a
//     process allowed to install a filter with a listener. Only a Warn:
//     without it commands are confined just the same.
//   - root: when run as root, an informational line; root passes namespace
//     checks that ordinary users may fail, so run doctor as them too.
//   - container: inside Docker, Podman or Kubernetes, a failed userns test
//     usually means the container forbids user namespaces or mounts.
//
// # On macOS
//
// sandbar confines with Seatbelt there, and [Check] runs other checks
// (see checkSeatbelt): sandbox-exec is present; a trivial profile applies
// (it does not inside another sandbox, since macOS sandboxes do not nest);
// a profile with every kind of rule sandbar writes is accepted by this
// version of macOS; and `log stream` runs, which is how runs report what
// the sandbox refused (only a Warn).
//
// # Testing
//
// Everything the checks read from the machine goes through [Env], so tests
// replace the filesystem, PATH and subprocesses with fakes. [System] is the
// real machine.
package doctor
