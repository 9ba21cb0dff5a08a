package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"

	"github.com/sandbar-dev/sandbar/confine"
	"github.com/sandbar-dev/sandbar/confine/doctor"
	"github.com/sandbar-dev/sandbar/workspace"
)

type report struct {
	ExitCode   int                 `json:"exitCode"`
	Signal     *string             `json:"signal"`
	DurationMs int64               `json:"durationMs"`
	Violations []confine.Violation `json:"violations"`
}

func cmdRun(args []string, stdin *os.File, stdout, stderr *os.File) int {
	fs := flag.NewFlagSet("sandbar run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf sandboxFlags
	sf.register(fs)
	reportPath := fs.String("report", "", "write a JSON report of the run to `FILE`")
	quiet := fs.Bool("quiet", false, "print nothing of sandbar's own unless it fails")
	argv, err := parseWithCommand(fs, args)
	if err != nil {
		return 2
	}
	if len(argv) == 0 {
		errorf(stderr, "run: no command given; usage: sandbar run [flags] -- CMD [ARG...]")
		return 2
	}
	// A sandbar killed during an earlier run could not audit it; do it
	// first, so this run is planned on the repaired workspace.
	if places, err := workspace.UserPlaces(os.Getenv); err == nil {
		if left, err := workspace.RecoverJournals(places.Runs, places.Quarantine); err != nil {
			errorf(stderr, "checking earlier runs: %v", err)
		} else if len(left) > 0 {
			summarize(stderr, left)
		}
	}
	sb, places, err := sf.load()
	if err != nil {
		reportLoadError(stderr, err)
		return exitFailure
	}
	if made, err := sb.EnsureCaches(); err != nil {
		errorf(stderr, "%v", err)
		return exitFailure
	} else if len(made) > 0 {
		// The new cache directories exist now; build the sandbox again so
		// they are bound writable.
		if sb, _, err = sf.load(); err != nil {
			reportLoadError(stderr, err)
			return exitFailure
		}
	}
	if !*quiet {
		warnIgnored(stderr, sb)
	}

	wd, err := os.Getwd()
	if err != nil {
		errorf(stderr, "finding the current directory: %v", err)
		return exitFailure
	}
	spec, err := sb.Spec(argv, wd)
	if err != nil {
		errorf(stderr, "%v", err)
		return exitFailure
	}

	// Registering a signal waits for a round trip to the Go runtime's
	// signal thread, 0.3 ms for these four, so it goes on while the run
	// is prepared. Until it is done a signal kills sandbar, which cuts
	// the lifeline and ends the sandbox, as it did before registering.
	// The signals are not unregistered (as many round trips again): the
	// process exits when cmdRun returns.
	sigs := make(chan os.Signal, 8)
	registered := make(chan struct{})
	go func() {
		signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
		close(registered)
	}()

	journal, err := sb.Journal(places.Runs)
	if err != nil {
		errorf(stderr, "%v", err)
		return exitFailure
	}
	// Last before the run: from here the user's terminal may be in raw
	// mode until term.close.
	stdio := confine.Stdio{Stdin: stdin, Stdout: stdout, Stderr: stderr}
	if isTerminal(stdin) {
		// A signal must not kill sandbar while the terminal is raw.
		<-registered
	}
	term, err := openTerminal(stdin, stdout, stderr)
	if err != nil {
		journal.Done()
		errorf(stderr, "setting up a terminal for the command: %v", err)
		return exitFailure
	}
	if term != nil {
		stdio = term.stdio
	}
	runner := confine.Runner{Signals: sigs}
	res, runErr := runner.Run(context.Background(), spec, stdio)
	if term != nil {
		term.close()
	}
	if runErr != nil {
		journal.Done()
		var se *confine.SetupError
		if errors.As(runErr, &se) {
			errorf(stderr, "%v; nothing was run", runErr)
			explainSetupFailure(stderr)
			return exitFailure
		}
		errorf(stderr, "%v", runErr)
		return exitFailure
	}

	audit := sb.Audit
	if res.CreatedNothing {
		audit = sb.AuditQuick
	}
	undone, auditErr := audit(places.Quarantine)
	violations := append(res.Violations, undone...)
	if auditErr != nil {
		// The journal stays, so the next run tries again.
		errorf(stderr, "checking protected paths after the run: %v", auditErr)
	} else if err := journal.Done(); err != nil {
		errorf(stderr, "%v", err)
	}
	if !*quiet {
		summarize(stderr, violations)
	}
	if *reportPath != "" {
		if err := writeReport(*reportPath, res, violations); err != nil {
			errorf(stderr, "%v", err)
			return exitFailure
		}
	}
	return res.ExitCode
}

func writeReport(path string, res confine.Result, vs []confine.Violation) error {
	r := report{ExitCode: res.ExitCode, DurationMs: res.Duration.Milliseconds(), Violations: vs}
	if r.Violations == nil {
		r.Violations = []confine.Violation{}
	}
	if res.Signal != 0 {
		name := signalName(res.Signal)
		r.Signal = &name
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing report: %w", err)
	}
	return nil
}

func signalName(s syscall.Signal) string {
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

// summarize prints at most a few lines about what the sandbox refused and
// what sandbar had to undo after the command.
func summarize(w io.Writer, vs []confine.Violation) {
	if len(vs) == 0 {
		return
	}
	sort.SliceStable(vs, func(i, j int) bool { return vs[i].Count > vs[j].Count })
	fmt.Fprintf(w, "sandbar: %d protected path%s the command tried to change:\n", len(vs), plural(len(vs), "", "s"))
	for i, v := range vs {
		if i == 5 {
			fmt.Fprintf(w, "  ... and %d more (see --report)\n", len(vs)-5)
			break
		}
		what := "refused"
		if v.Undone != "" {
			what = "undone: " + v.Undone
		}
		times := ""
		if v.Count > 1 {
			times = fmt.Sprintf(" (%d times)", v.Count)
		}
		fmt.Fprintf(w, "  %s %s%s, %s; %s\n", v.Operation, v.Path, times, v.Rule, what)
	}
}

// explainSetupFailure runs the doctor so the user learns why the sandbox
// could not be built and what to do.
func explainSetupFailure(w io.Writer) {
	findings := doctor.Check(context.Background(), doctor.System())
	blocking := doctor.Blocking(findings)
	if len(blocking) == 0 {
		fmt.Fprintln(w, "sandbar: `sandbar doctor` finds nothing wrong with this machine; the message above says what bubblewrap refused")
		return
	}
	fmt.Fprintln(w, "sandbar: sandbar doctor found:")
	doctor.Format(w, blocking)
}
