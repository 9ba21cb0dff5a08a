// Package notify is the supervisor side of sandbar's second seccomp
// filter: it watches every system call by which a confined command
// creates a directory entry, and refuses the ones that would create a
// path the sandbox must never let it create.
//
// # Why
//
// Some paths in a writable workspace run code on the host later: git
// runs .git/hooks/*, direnv loads .envrc, editors read .vscode/. A
// bind mount can make such a path read-only only if it exists; one that
// does not exist yet (.envrc, or .git/hooks in a repository that has
// none) cannot be protected by the mount layer, and a confined command
// could create it and wait for the user's shell or editor to run it.
//
// # What it does
//
// Inside the sandbox, sandbar's init installs the filter built by
// seccomp.BuildNotify with seccomp.InstallListener, on the thread that
// then starts the command, and hands the listener to sandbar outside
// with SendFD over an inherited socketpair (RecvFD on the other end).
// The filter sends to the listener (SECCOMP_RET_USER_NOTIF) creat,
// mkdir(at), mknod(at), rename(at,at2), link(at), symlink(at) and
// openat2, and open and openat when their flags contain O_CREAT; the
// calling thread waits in the kernel. Serve, in sandbar, receives each
// call, reads its path arguments from /proc/PID/mem, resolves them in
// the process's view of the file system (Op.Path: the absolute path of
// the entry the call would create, symbolic links in the parent
// directories followed, the last component not followed except where
// the kernel follows it) and asks a decide function. A refused call
// fails in the process with EACCES; any other is let through with
// SECCOMP_USER_NOTIF_FLAG_CONTINUE, and the kernel carries it out as if
// the filter were not there. The Op record (process, thread, command
// name, system call, operation, path, old path, link contents) is what
// sandbar's live violation reports are built from.
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
// rest. Only calls through the native ABI are read; the main filter
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
// Only creating calls leave the kernel. open and openat without O_CREAT
// (by far the most frequent file calls) are decided by the filter alone,
// a few BPF instructions; every other system call is allowed from the
// kernel's per-syscall cache without running the filter. A creating call
// costs two context switches and a few dozen small system calls in the
// supervisor (the path is walked one directory at a time), a fraction of
// a millisecond: noticeable only for a command that creates many
// thousands of files, such as unpacking a large archive. docs/notify.md
// has measurements.
//
// The package builds only on Linux; on other systems it is empty.
package notify
