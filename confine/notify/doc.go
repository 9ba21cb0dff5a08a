// Package notify is the supervisor side of sandbar's second seccomp
// filter: it watches the system calls by which a confined command
// changes the file system, refuses the ones that would create a path the
// sandbox must never let it create, and describes every call to a
// supervisor that reports what the sandbox refuses.
//
// # Why
//
// Some paths in a writable workspace run code on the host later: git
// runs .git/hooks/*, direnv loads .envrc, editors read .vscode/. A
// bind mount can make such a path read-only only if it exists; one that
// does not exist yet (.envrc, or .git/hooks in a repository that has
// none) cannot be protected by the mount layer, and a confined command
// could create it and wait for the user's shell or editor to run it.
// And the mount layer refuses writes with a bare EROFS or EACCES, which
// tells nobody what was refused or by which rule; seeing the call
// before the kernel refuses it lets sandbar say (docs/violations.md).
//
// # What it does
//
// Inside the sandbox, sandbar's init installs the filter built by
// seccomp.BuildNotify with seccomp.InstallListener, on the thread that
// then starts the command, and hands the listener to sandbar outside
// with SendFD over an inherited socketpair (RecvFD on the other end).
// The filter sends to the listener (SECCOMP_RET_USER_NOTIF) the calls
// that create a directory entry and, with NotifyOptions.Writes, every
// other call that changes the file system through a path (open for
// writing, truncate, unlink, rmdir, chmod, chown, utimes, setxattr, ...),
// and some socket calls; the calling thread waits in the kernel. Serve,
// in sandbar, receives each call, reads its path arguments from the
// process's memory, resolves them in the process's view of the file
// system (Op.Path: the absolute path of the entry the call creates or
// changes, symbolic links in the parent directories followed, the last
// component followed where the kernel follows it) and asks the
// Supervisor's Decide function. Its Answer fails the call with an errno,
// or lets the kernel carry it out as if the filter were not there
// (SECCOMP_USER_NOTIF_FLAG_CONTINUE), and may ask for the call to be
// reported: Serve then adds the process that made it (Pid, Comm), checks
// that the call is still pending, and hands the Op to Answer.Report.
//
// # What it does not guarantee
//
// This is prevention at best effort, not a wall. Between the moment
// Serve reads the path and the moment the kernel, told to continue,
// reads it again, another thread of the process can rewrite the string
// in memory, and any process in the sandbox can replace a parent
// directory with a symbolic link: the kernel then creates an entry Serve
// never saw. This time-of-check to time-of-use race is inherent in
// SECCOMP_USER_NOTIF_FLAG_CONTINUE (the kernel's documentation says as
// much); closing it would mean performing every creating call in the
// supervisor on the process's behalf. So sandbar also audits the
// workspace after the run, and refused paths stay on the audit's list.
//
// A newer filter with a listener of its own would get these calls first
// and could let them through; the notify filter refuses seccomp(2) with
// SECCOMP_FILTER_FLAG_NEW_LISTENER for that reason.
//
// A call whose path cannot be read or resolved (the process died, a bad
// address, a parent that does not exist) is let through without asking:
// nearly all of them fail in the kernel anyway, and the audit covers the
// rest. So are calls that change nothing (an open for writing of a file
// that does not exist, a mkdir of a name that does). Only calls through the native ABI are read; the main filter
// (seccomp.Build) kills the others. bind(2) on an AF_UNIX socket also
// creates an entry and is not watched: the main filter refuses
// socket(AF_UNIX) by default, and a socket file runs no code.
//
// When the supervisor goes away and every copy of the listener is
// closed, each call the filter sends fails with ENOSYS: without a
// supervisor, the command can no longer create files at all. That is
// the safe way to fail.
//
// Paths are resolved in the process's own mount namespace, through
// /proc/PID/root, so Op.Path is the path the process names. sandbar
// mounts every path of the sandbox at the place it has on the host, so
// that is also the host's path for the same file.
//
// # Cost
//
// Only the calls the filter sends leave the kernel. open and openat for
// reading (by far the most frequent file calls) are decided by the
// filter alone, a few BPF instructions; every other system call is
// allowed from the kernel's per-syscall cache without running the
// filter. A call sent costs two context switches and about eight small
// system calls in the supervisor (the path is resolved by one openat2
// from the process's root in the common case), some 10 to 15 µs:
// noticeable only for a command that creates or removes many thousands
// of files. docs/violations.md has measurements.
//
// The package builds only on Linux; on other systems it is empty.
package notify
