package confine

import (
	"fmt"
	"io"
	"os"
	"syscall"
	"time"
)

// SetupError means the sandbox could not be built, so the command did not
// run at all. Callers fail closed on it (exit status 125).
type SetupError struct {
	Op  string
	Err error
}

func (e *SetupError) Error() string { return e.Op + ": " + e.Err.Error() }
func (e *SetupError) Unwrap() error { return e.Err }

// Stdio is the command's standard streams. They are handed to the sandbox
// as they are (no copying), so pipes, files and terminals behave as they
// would for the command run directly. Nil means /dev/null.
type Stdio struct {
	Stdin, Stdout, Stderr *os.File
}

// Result is how a confined command ended.
type Result struct {
	// ExitCode is the command's exit status, or 128+Signal when a signal
	// killed it, or 126/127 when it could not be executed or found.
	ExitCode int
	// Signal is the signal that killed the command, 0 if it exited.
	Signal   syscall.Signal
	Duration time.Duration
	// Violations are what the sandbox refused while the command ran:
	// changes to paths it may not change (kind "file-write"), the
	// creation of Spec.Uncreatable paths, and sockets it may not open
	// ("socket"), each once with how many times it happened. See
	// docs/violations.md for what is and is not seen.
	Violations []Violation
	// ViolationsOff says why refused writes and sockets were not
	// reported, when they were not: Runner.NoViolationReports, or a
	// kernel without what the watch needs. The command was confined all
	// the same. It is "" when they were reported.
	ViolationsOff string
	// CreatedNothing is true when the sandbox watched file creation and
	// the command created no file, directory or link anywhere: an audit
	// of what it may have created can be skipped.
	CreatedNothing bool
}

// Runner runs Specs with bubblewrap.
type Runner struct {
	// Bwrap is the bwrap executable; empty means "bwrap" on PATH.
	Bwrap string
	// Signals, if set, are forwarded to the command while it runs.
	Signals <-chan os.Signal
	// Stderr receives sandbar's own diagnostics about the sandbox (not the
	// command's output); nil means os.Stderr.
	Stderr io.Writer
	// NoViolationReports turns off the reports of refused writes and
	// sockets (Result.Violations), and what they cost: every call that
	// may change the file system then stays in the kernel instead of
	// waiting for sandbar to look at it. Confinement is the same either
	// way; Spec.Uncreatable paths are still refused as they are created.
	NoViolationReports bool
	// OnViolation, if set, is called with each violation as it happens:
	// the first time a kind of operation on a path is refused (later
	// ones only add to its Count in Result.Violations). It is called
	// from the goroutine that answers the sandbox's calls, while the
	// calling process waits, so it must return at once: hand the value
	// to a channel with room, say.
	OnViolation func(Violation)
}

// SignalName is the conventional name of s ("SIGTERM"), as reports
// and the editor protocol give it.
func SignalName(s syscall.Signal) string {
	names := map[syscall.Signal]string{
		syscall.SIGHUP: "SIGHUP", syscall.SIGINT: "SIGINT", syscall.SIGQUIT: "SIGQUIT",
		syscall.SIGILL: "SIGILL", syscall.SIGTRAP: "SIGTRAP", syscall.SIGABRT: "SIGABRT",
		syscall.SIGBUS: "SIGBUS", syscall.SIGFPE: "SIGFPE", syscall.SIGKILL: "SIGKILL",
		syscall.SIGUSR1: "SIGUSR1", syscall.SIGSEGV: "SIGSEGV", syscall.SIGUSR2: "SIGUSR2",
		syscall.SIGPIPE: "SIGPIPE", syscall.SIGALRM: "SIGALRM", syscall.SIGTERM: "SIGTERM",
		syscall.SIGSYS: "SIGSYS", syscall.SIGXCPU: "SIGXCPU", syscall.SIGXFSZ: "SIGXFSZ",
	}
	if n, ok := names[s]; ok {
		return n
	}
	return fmt.Sprintf("SIG%d", int(s))
}
