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
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/sandbar-dev/sandbar/confine"
	"github.com/sandbar-dev/sandbar/confine/doctor"
	"github.com/sandbar-dev/sandbar/host"
	"github.com/sandbar-dev/sandbar/proxy"
	"github.com/sandbar-dev/sandbar/workspace"
	"github.com/sandbar-dev/sandbar/workspace/auditlog"
	"github.com/sandbar-dev/sandbar/workspace/launch"
	"github.com/sandbar-dev/sandbar/workspace/trust"
)

type report struct {
	ExitCode   int                 `json:"exitCode"`
	Signal     *string             `json:"signal"`
	DurationMs int64               `json:"durationMs"`
	Violations []confine.Violation `json:"violations"`
}

func cmdRun(args []string, stdin *os.File, stdout, stderr *os.File) int {
	// sandbar's own messages, which quote what the command chose; the
	// command's output goes through as it is (Stdio below).
	say := textOnly{stderr}
	fs := flag.NewFlagSet("sandbar run", flag.ContinueOnError)
	fs.SetOutput(say)
	var sf sandboxFlags
	sf.register(fs)
	reportPath := fs.String("report", "", "write a JSON report of the run to `FILE`")
	quiet := fs.Bool("quiet", false, "print nothing of sandbar's own unless it fails")
	argv, err := parseWithCommand(fs, args)
	if err != nil {
		return 2
	}
	if len(argv) == 0 {
		errorf(say, "run: no command given; usage: sandbar run [flags] -- CMD [ARG...]")
		return 2
	}
	// A sandbar killed during an earlier run could not audit it; do it
	// first, so this run is planned on the repaired workspace.
	if places, err := workspace.UserPlaces(os.Getenv); err == nil {
		if left, err := workspace.RecoverJournals(places.Runs, places.Quarantine); err != nil {
			errorf(say, "checking earlier runs: %v", err)
		} else if len(left) > 0 {
			summarize(say, left)
		}
	}
	opts, places, err := sf.options()
	if err != nil {
		errorf(say, "%v", err)
		return exitFailure
	}
	sb, err := workspace.Load(opts)
	if err != nil {
		reportLoadError(say, err)
		return exitFailure
	}
	if made, err := sb.EnsureCaches(); err != nil {
		errorf(say, "%v", err)
		return exitFailure
	} else if len(made) > 0 {
		// The new cache directories exist now; build the sandbox again so
		// they are bound writable.
		if sb, err = workspace.Load(opts); err != nil {
			reportLoadError(say, err)
			return exitFailure
		}
	}
	if !*quiet {
		warnIgnored(say, sb)
	}

	wd, err := os.Getwd()
	if err != nil {
		errorf(say, "finding the current directory: %v", err)
		return exitFailure
	}
	realWd := wd
	if r, err := filepath.EvalSymlinks(wd); err == nil {
		realWd = r
	}
	ap := newApprover(nil, folderOf(sb.Folders, realWd), places.Home, trust.Open(places.Trust), func(s string) { errorf(say, "%s", s) })
	ap.audit = auditLog(places)
	ap.argv = argv
	var approver proxy.Approver = ap
	if sock := os.Getenv(host.HostEnv); sock != "" {
		// In an editor's terminal: its prompts, not the terminal's.
		ea := &editorApprover{socket: sock, argv: argv, folder: ap.folder, fallback: ap, note: ap.note, decided: map[string]bool{}}
		defer ea.close()
		approver = ea
	}
	// Decisions read the policy files as they are at each connection.
	checker := workspace.CheckPolicies(opts, &sb.Policies, func(_ *workspace.Policies, err error) {
		if err != nil {
			// The last good policy stays in force.
			errorf(say, "the policy changed but cannot be used, so the previous one still applies:")
			reportLoadError(say, err)
		}
	})

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

	// From here the user's terminal may be in raw mode until term.close.
	stdio := confine.Stdio{Stdin: stdin, Stdout: stdout, Stderr: stderr}
	if isTerminal(stdin) {
		// A signal must not kill sandbar while the terminal is raw.
		<-registered
	}
	term, err := openTerminal(stdin, stdout, stderr)
	if err != nil {
		errorf(say, "setting up a terminal for the command: %v", err)
		return exitFailure
	}
	if term != nil {
		stdio = term.stdio
		ap.asker = term
	} else if tty := openTTY(); tty != nil {
		defer tty.close()
		ap.asker = tty
	}
	out, runErr := launch.Run(context.Background(), launch.Job{
		Sandbox:  sb,
		Places:   places,
		Argv:     argv,
		Dir:      wd,
		Stdio:    stdio,
		Signals:  sigs,
		Rules:    launch.LiveRules(checker.Current),
		Git:      launch.LiveGitPolicy(checker.Current),
		Approver: approver,
		Audit:    auditLog(places),
		RunID:    fmt.Sprintf("t%d", os.Getpid()),
	})
	if term != nil {
		term.close()
	}
	if runErr != nil {
		var se *confine.SetupError
		var le *launch.Error
		switch {
		case errors.As(runErr, &se):
			errorf(say, "%v; nothing was run", runErr)
			explainSetupFailure(say)
		case errors.As(runErr, &le):
			errorf(say, "%v; nothing was run", runErr)
		default:
			errorf(say, "%v", runErr)
		}
		return exitFailure
	}
	if out.AuditErr != nil {
		errorf(say, "%v", out.AuditErr)
	}
	res, violations := out.Result, out.Violations
	if !*quiet {
		summarize(say, violations)
		suggest(say, sb, violations)
	}
	if *reportPath != "" {
		if err := writeReport(*reportPath, res, violations); err != nil {
			errorf(say, "%v", err)
			return exitFailure
		}
	}
	return res.ExitCode
}

// auditLog is the user's audit log.
func auditLog(places workspace.Places) *auditlog.Log {
	return auditlog.Open(filepath.Join(places.StateDir, auditlog.FileName), auditlog.Options{})
}

// folderOf is the workspace folder dir lies in, else the first.
func folderOf(folders []string, dir string) string {
	for _, f := range folders {
		if dir == f || strings.HasPrefix(dir, f+"/") {
			return f
		}
	}
	return folders[0]
}

func writeReport(path string, res confine.Result, vs []confine.Violation) error {
	r := report{ExitCode: res.ExitCode, DurationMs: res.Duration.Milliseconds(), Violations: vs}
	if r.Violations == nil {
		r.Violations = []confine.Violation{}
	}
	if res.Signal != 0 {
		name := confine.SignalName(res.Signal)
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

// summarize prints at most a few lines about what the sandbox refused and
// what sandbar had to undo after the command.
func summarize(w io.Writer, vs []confine.Violation) {
	var files, network []confine.Violation
	for _, v := range vs {
		switch v.Kind {
		case "network":
			network = append(network, v)
		case "socket":
			// glibc itself tries a Unix socket (nscd) on every user or
			// group lookup, so these would fill the summary of any run
			// of ls -l or git; they stay in the report.
		default:
			files = append(files, v)
		}
	}
	list := func(vs []confine.Violation, line func(confine.Violation) string) {
		// What sandbar had to undo first: it changed the workspace.
		sort.SliceStable(vs, func(i, j int) bool {
			if ui, uj := vs[i].Undone != "", vs[j].Undone != ""; ui != uj {
				return ui
			}
			return vs[i].Count > vs[j].Count
		})
		for i, v := range vs {
			if i == 5 {
				fmt.Fprintf(w, "  ... and %d more (see --report)\n", len(vs)-5)
				break
			}
			times := ""
			if v.Count > 1 {
				times = fmt.Sprintf(" (%d times)", v.Count)
			}
			fmt.Fprintf(w, "  %s%s\n", line(v), times)
		}
	}
	if len(files) > 0 {
		fmt.Fprintf(w, "sandbar: %d change%s to the file system refused, or undone after the run:\n", len(files), plural(len(files), "", "s"))
		list(files, func(v confine.Violation) string {
			what := "refused"
			if v.Undone != "" {
				what = "undone: " + v.Undone
			}
			return fmt.Sprintf("%s %s, %s; %s", v.Operation, v.Path, v.Rule, what)
		})
	}
	if len(network) > 0 {
		fmt.Fprintf(w, "sandbar: %d blocked connection%s:\n", len(network), plural(len(network), "", "s"))
		list(network, func(v confine.Violation) string {
			target := v.Target
			if target == "" {
				target = "(unknown)"
			}
			return fmt.Sprintf("%s: %s", target, v.Reason)
		})
	}
}

// suggest prints the policy entry that would allow the most frequent
// refusal, and what allowing it would expose.
func suggest(w io.Writer, sb *workspace.Sandbox, vs []confine.Violation) {
	ss := sb.Suggest(vs)
	if len(ss) == 0 {
		return
	}
	fmt.Fprintf(w, "sandbar: to allow it, %s\n", ss[0])
	if ss[0].Warning != "" {
		fmt.Fprintf(w, "  warning: %s\n", ss[0].Warning)
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
