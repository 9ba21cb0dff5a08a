package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/sandbar-dev/sandbar/confine"
	"github.com/sandbar-dev/sandbar/workspace"
)

type checkJSON struct {
	Folders  []string            `json:"folders"`
	Files    []checkFile         `json:"policyFiles"`
	Paths    []checkPath         `json:"paths"`
	Pinned   []string            `json:"pinned"`
	Watched  []workspace.Watched `json:"watched"`
	Repos    []string            `json:"repositories"`
	Network  string              `json:"network"`
	Env      []string            `json:"envNames"`
	Ignored  []string            `json:"ignored"`
	Warnings []string            `json:"warnings"`
}

type checkFile struct {
	Path    string `json:"path"`
	Folder  string `json:"folder,omitempty"`
	Trusted bool   `json:"trusted"`
}

type checkPath struct {
	Path   string `json:"path"`
	Access string `json:"access"`
	Why    string `json:"why"`
}

func cmdCheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sandbar check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf sandboxFlags
	sf.register(fs)
	asJSON := fs.Bool("json", false, "print the effective sandbox as JSON")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	sb, _, err := sf.load()
	if err != nil {
		reportLoadError(stderr, err)
		return 1
	}
	c := checkJSON{
		Folders:  sb.Folders,
		Pinned:   sb.Pin,
		Watched:  sb.Watch,
		Repos:    sb.Repos,
		Network:  "none (loopback only)",
		Warnings: sb.Warnings,
	}
	for _, f := range sb.Files {
		c.Files = append(c.Files, checkFile{Path: f.Path, Folder: f.Folder, Trusted: f.Trusted})
	}
	for _, p := range sb.Paths {
		c.Paths = append(c.Paths, checkPath{Path: p.Path, Access: p.Access.String(), Why: p.Why})
	}
	for _, kv := range sb.Env {
		name, _, _ := strings.Cut(kv, "=")
		c.Env = append(c.Env, name)
	}
	sort.Strings(c.Env)
	for _, e := range sb.Ignored {
		c.Ignored = append(c.Ignored, e.String())
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(c)
		return 0
	}
	printCheck(stdout, sb, c)
	warnIgnored(stderr, sb)
	return 0
}

func printCheck(w io.Writer, sb *workspace.Sandbox, c checkJSON) {
	fmt.Fprintln(w, "Workspace folders (writable):")
	for _, f := range c.Folders {
		fmt.Fprintf(w, "  %s\n", f)
	}
	fmt.Fprintln(w, "Policy files:")
	fmt.Fprintln(w, "  (built-in default)")
	for _, f := range sb.Files {
		state := "user policy"
		if f.Folder != "" {
			state = "approved"
			if !f.Trusted {
				state = fmt.Sprintf("not approved: %d widening entr%s ignored", len(f.Widening), plural(len(f.Widening), "y", "ies"))
				if len(f.Widening) == 0 {
					state = "not approved; it only narrows the sandbox"
				}
			}
		}
		fmt.Fprintf(w, "  %s (%s)\n", f.Path, state)
	}
	groups := []struct {
		title  string
		access confine.Access
	}{
		{"Writable", confine.ReadWrite},
		{"Hidden (unreadable and unwritable)", confine.Hidden},
		{"Read-only", confine.ReadOnly},
	}
	for _, g := range groups {
		fmt.Fprintf(w, "%s:\n", g.title)
		for _, p := range sb.Paths {
			if p.Access == g.access {
				fmt.Fprintf(w, "  %-50s %s\n", p.Path, p.Why)
			}
		}
	}
	fmt.Fprintln(w, "Everything else: read-only.")
	fmt.Fprintf(w, "Git repositories found: %d\n", len(c.Repos))
	fmt.Fprintf(w, "Protected paths not present yet (undone if a command creates them): %d\n", len(c.Watched))
	fmt.Fprintf(w, "Network: %s\n", c.Network)
	fmt.Fprintf(w, "Environment: %d variables pass in\n", len(c.Env))
}
