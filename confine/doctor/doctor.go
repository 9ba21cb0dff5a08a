package doctor

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"strings"
)

// Severity says whether a finding stops sandbar from confining commands.
type Severity int

const (
	// OK means the check passed.
	OK Severity = iota
	// Warn means confinement works, but something deserves a look.
	Warn
	// Fail means sandbar cannot confine commands until this is fixed.
	Fail
)

func (s Severity) String() string {
	switch s {
	case OK:
		return "ok"
	case Warn:
		return "warn"
	case Fail:
		return "fail"
	}
	return fmt.Sprintf("Severity(%d)", int(s))
}

// A Finding is the result of one check.
type Finding struct {
	// Check is a short stable id, such as "bwrap" or "apparmor-userns".
	Check    string
	Severity Severity
	// Summary is one line saying what was found.
	Summary string
	// Fix says what to do, with exact commands, possibly over several
	// lines. It is empty when there is nothing to do, and never empty for
	// a Fail.
	Fix string
}

// Env is everything the checks read from the machine. Every field must be
// set; tests fill it with fakes, [System] with the real thing.
type Env struct {
	// LookPath finds an executable on PATH, like [os/exec.LookPath].
	LookPath func(file string) (string, error)
	// ReadFile reads a whole file, like [os.ReadFile]. A file that does not
	// exist must be reported with an error matching [fs.ErrNotExist].
	ReadFile func(name string) ([]byte, error)
	// Run runs a program to completion and returns what it wrote. It must
	// stop the program when ctx is done.
	Run func(ctx context.Context, name string, args ...string) (stdout, stderr []byte, err error)
	// Stat describes a file, following symbolic links, like [os.Stat].
	Stat func(name string) (fs.FileInfo, error)
	// Listener reports why a command cannot be put under a seccomp filter
	// that sends its calls to a supervisor (SECCOMP_RET_USER_NOTIF), as
	// sandbar does to report what the sandbox refuses; nil when it can.
	// [System] tries it for real (seccomp.CheckListener).
	Listener func() error
	// Landlock reports the Landlock ABI version the kernel offers, or why
	// it offers none. [System] asks the kernel (confine.LandlockABI).
	Landlock func() (int, error)
	// GOOS is the system the checks are for: "darwin" checks Seatbelt,
	// anything else bubblewrap. [System] sets runtime.GOOS.
	GOOS string
}

// Blocking returns the findings that stop sandbar from confining commands.
func Blocking(findings []Finding) []Finding {
	var out []Finding
	for _, f := range findings {
		if f.Severity == Fail {
			out = append(out, f)
		}
	}
	return out
}

// Format writes a human-readable report, one block per finding:
//
//	ok   bwrap: bubblewrap 0.8.0 at /usr/bin/bwrap
//	FAIL max-user-namespaces: user namespaces are disabled (user.max_user_namespaces = 0)
//	     fix: sudo sysctl -w user.max_user_namespaces=15000
//	          ...
//
// The labels are padded to one width so the check ids line up, and FAIL is
// in capitals so it stands out in a long report.
func Format(w io.Writer, findings []Finding) {
	const indent = "     " // the width of a label and its space
	for _, f := range findings {
		fmt.Fprintf(w, "%-4s %s: %s\n", label(f.Severity), f.Check, f.Summary)
		if f.Fix == "" {
			continue
		}
		for i, line := range strings.Split(strings.TrimRight(f.Fix, "\n"), "\n") {
			switch {
			case i == 0:
				fmt.Fprintf(w, "%sfix: %s\n", indent, line)
			case line == "":
				// No trailing spaces: they would be copied along with a
				// pasted file and upset diffs of saved reports.
				fmt.Fprintln(w)
			default:
				fmt.Fprintf(w, "%s     %s\n", indent, line)
			}
		}
	}
}

func label(s Severity) string {
	switch s {
	case OK:
		return "ok"
	case Warn:
		return "warn"
	case Fail:
		return "FAIL"
	}
	return s.String()
}
