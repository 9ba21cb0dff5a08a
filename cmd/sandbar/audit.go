package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/sandbar-dev/sandbar/confine"
	"github.com/sandbar-dev/sandbar/workspace"
	"github.com/sandbar-dev/sandbar/workspace/auditlog"
)

func cmdAudit(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sandbar audit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	n := fs.Int("n", 20, "how many of the latest entries to print; 0 prints them all")
	asJSON := fs.Bool("json", false, "print the entries as JSON, one per line")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		errorf(stderr, "audit: unexpected argument %q", fs.Arg(0))
		return 2
	}
	if *n < 0 {
		errorf(stderr, "audit: -n %d: the number of entries cannot be negative", *n)
		return 2
	}
	places, err := workspace.UserPlaces(os.Getenv)
	if err != nil {
		errorf(stderr, "%v", err)
		return 1
	}
	return printAudit(stdout, stderr, filepath.Join(places.StateDir, auditlog.FileName), *n, *asJSON, time.Local)
}

// printAudit prints the last n entries of the log at path, times in loc.
func printAudit(stdout, stderr io.Writer, path string, n int, asJSON bool, loc *time.Location) int {
	entries, skipped, err := auditlog.Read(path, n)
	if err != nil {
		errorf(stderr, "%v", err)
		return 1
	}
	if skipped > 0 {
		errorf(stderr, "audit: skipped %d damaged line%s of %s (not an entry; cut short by a crash?)", skipped, plural(skipped, "", "s"), path)
	}
	if len(entries) == 0 {
		// With --json, stdout stays nothing but entries.
		w := stdout
		if asJSON {
			w = stderr
		}
		fmt.Fprintf(w, "Nothing has been logged yet in %s.\n", path)
		return 0
	}
	if asJSON {
		// The file's own format: its lines were written from the same
		// Entry.
		for _, e := range entries {
			b, err := json.Marshal(e)
			if err != nil {
				errorf(stderr, "audit: %v", err)
				return 1
			}
			fmt.Fprintf(stdout, "%s\n", b)
		}
		return 0
	}
	var table strings.Builder
	tw := tabwriter.NewWriter(&table, 0, 8, 2, ' ', 0)
	for _, e := range entries {
		var target string
		if e.Target != "" {
			target = arg(e.Target)
		}
		if e.Operation != "" {
			target = strings.TrimSpace(printable(e.Operation) + " " + target)
		}
		run := ""
		if e.Run != "" {
			run = "run " + printable(e.Run)
		}
		command := make([]string, len(e.Command))
		for i, a := range e.Command {
			command[i] = arg(a)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			e.Time.In(loc).Format(time.DateTime), printable(e.Decision), printable(e.Kind),
			target, how(e), run, strings.Join(command, " "))
	}
	tw.Flush()
	// Entries without a run or a command leave empty cells, padded.
	for line := range strings.Lines(table.String()) {
		fmt.Fprintln(stdout, strings.TrimRight(line, " \n"))
	}
	return 0
}

// how says in words how the decision was reached and by whom.
func how(e auditlog.Entry) string {
	var s string
	switch e.How {
	case auditlog.HowPolicy:
		s = "by policy"
	case auditlog.HowDefault:
		s = "by default"
	case auditlog.HowNoOneToAsk:
		s = "no one to ask"
	case auditlog.HowAsked:
		s = "asked, answered"
		if e.Answer != "" {
			s += " " + strconv.Quote(e.Answer)
		}
		if e.By != "" {
			s += " by " + printable(e.By)
		}
	case auditlog.HowTimeout, auditlog.HowDismissed:
		s = "asked"
		if e.By != "" {
			s += " " + printable(e.By)
		}
		if e.How == auditlog.HowTimeout {
			s += ", no answer in time"
		} else {
			s += ", dismissed"
		}
	default:
		s = printable(e.How)
	}
	if e.Reason != "" {
		s += ": " + printable(e.Reason)
	}
	return s
}

// printable returns s, or s quoted with its control characters escaped:
// targets, commands and reasons come from what a confined command did,
// and printed raw a newline could forge a line of the log on the
// terminal, an escape sequence rewrite what is already on it.
func printable(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return strconv.Quote(s)
	}
	return s
}

// arg is s as a shell word, so a path or argument with spaces reads as
// one.
func arg(s string) string {
	if q := printable(s); q != s {
		return q
	}
	return confine.ShellQuote(s)
}
