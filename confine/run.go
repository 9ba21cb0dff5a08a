package confine

import (
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
	// Violations are what the sandbox refused while the command ran and
	// could name (see Spec.Uncreatable).
	Violations []Violation
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
}
