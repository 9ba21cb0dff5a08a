package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/sandbar-dev/sandbar/workspace"
	"github.com/sandbar-dev/sandbar/workspace/auditlog"
	"github.com/sandbar-dev/sandbar/workspace/trust"
)

func cmdTrust(args []string, stdin *os.File, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sandbar trust", flag.ContinueOnError)
	fs.SetOutput(stderr)
	yes := fs.Bool("yes", false, "approve without asking")
	revoke := fs.Bool("revoke", false, "withdraw the approval instead")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var dir string
	switch fs.NArg() {
	case 0:
		wd, err := os.Getwd()
		if err != nil {
			errorf(stderr, "%v", err)
			return 1
		}
		dir = workspace.DefaultFolder(wd)
	case 1:
		dir = fs.Arg(0)
	default:
		errorf(stderr, "trust: at most one directory")
		return 2
	}
	sf := sandboxFlags{folders: listFlag{dir}}
	sb, places, err := sf.load()
	if err != nil {
		reportLoadError(stderr, err)
		return 1
	}
	store := trust.Open(places.Trust)
	var file *workspace.PolicyFile
	for i := range sb.Files {
		if sb.Files[i].Folder != "" {
			file = &sb.Files[i]
		}
	}
	if file == nil {
		errorf(stderr, "trust: %s has no %s; nothing to approve", dir, filepath.FromSlash(workspace.PolicyFileName))
		return 1
	}
	if *revoke {
		if err := store.Revoke(file.Path); err != nil {
			errorf(stderr, "%v", err)
			return 1
		}
		fmt.Fprintf(stdout, "Approval of %s withdrawn.\n", file.Path)
		return 0
	}
	if file.Trusted {
		fmt.Fprintf(stdout, "%s is already approved as it is.\n", file.Path)
		return 0
	}
	if len(file.Widening) == 0 {
		fmt.Fprintf(stdout, "%s only narrows the sandbox; it applies without approval.\n", file.Path)
		return 0
	}
	fmt.Fprintf(stdout, "%s would widen the sandbox:\n", file.Path)
	for _, e := range file.Widening {
		fmt.Fprintf(stdout, "  %s\n", e)
	}
	if !*yes {
		if !isTerminal(stdin) {
			errorf(stderr, "trust: not approving without a terminal to ask on; rerun with --yes to approve")
			return 1
		}
		fmt.Fprint(stdout, "Approve exactly this file? Any change to it will need approval again. [y/N] ")
		line, _ := bufio.NewReader(stdin).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
			fmt.Fprintln(stdout, "Not approved.")
			return 1
		}
	}
	if err := store.Approve(file.Path, file.Content); err != nil {
		errorf(stderr, "%v", err)
		return 1
	}
	how, by := auditlog.HowAsked, "user (terminal)"
	if *yes {
		by = "user (sandbar trust --yes)"
	}
	widens := make([]string, len(file.Widening))
	for i, e := range file.Widening {
		widens[i] = e.String()
	}
	auditLog(places).Append(auditlog.Entry{Kind: auditlog.KindTrust, Target: file.Path, Decision: auditlog.Allowed,
		How: how, By: by, Folder: file.Folder, Reason: strings.Join(widens, "; ")})
	fmt.Fprintf(stdout, "Approved %s.\n", file.Path)
	return 0
}
