package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/sandbar-dev/sandbar/confine"
	"github.com/sandbar-dev/sandbar/workspace"
	"github.com/sandbar-dev/sandbar/workspace/policy"
)

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

// sandboxFlags are the flags every command that builds a sandbox takes.
type sandboxFlags struct {
	folders listFlag
	policy  string
}

func (f *sandboxFlags) register(fs *flag.FlagSet) {
	fs.Var(&f.folders, "workspace", "workspace `DIR`, writable in the sandbox (repeat for several; default: the git repository of the current directory)")
	fs.StringVar(&f.policy, "policy", "", "use policy `FILE` instead of ~/.config/sandbar/policy.jsonc")
}

func (f *sandboxFlags) load() (*workspace.Sandbox, workspace.Places, error) {
	opts, places, err := f.options()
	if err != nil {
		return nil, places, err
	}
	sb, err := workspace.Load(opts)
	return sb, places, err
}

// options are the inputs of workspace.Load the flags and the user's
// environment give.
func (f *sandboxFlags) options() (workspace.Options, workspace.Places, error) {
	places, err := workspace.UserPlaces(os.Getenv)
	if err != nil {
		return workspace.Options{}, places, err
	}
	folders := []string(f.folders)
	if len(folders) == 0 {
		wd, err := os.Getwd()
		if err != nil {
			return workspace.Options{}, places, fmt.Errorf("finding the current directory: %w", err)
		}
		folders = []string{workspace.DefaultFolder(wd)}
	}
	opts := places.Options(folders, os.Environ())
	if f.policy != "" {
		opts.UserPolicy = f.policy
		opts.UserPolicyRequired = true
	}
	return opts, places, nil
}

// reportLoadError prints a Load error; policy errors one per line as
// file:line:col: message, the way compilers and editors expect.
func reportLoadError(w io.Writer, err error) {
	var el policy.ErrorList
	if errors.As(err, &el) {
		for _, e := range el {
			fmt.Fprintln(w, e.Error())
		}
		fmt.Fprintf(w, "sandbar: %d error(s) in policy; fix them and run `sandbar check`\n", len(el))
		return
	}
	errorf(w, "%v", err)
}

// warnIgnored tells the user which entries of untrusted repository
// policies were left out, and how to approve them.
func warnIgnored(w io.Writer, sb *workspace.Sandbox) {
	for _, f := range sb.Files {
		if f.Trusted || len(f.Widening) == 0 {
			continue
		}
		fmt.Fprintf(w, "sandbar: %s is not approved; ignoring %d entr%s that would widen the sandbox:\n", f.Path, len(f.Widening), plural(len(f.Widening), "y", "ies"))
		for _, e := range f.Widening {
			fmt.Fprintf(w, "  %s\n", e)
		}
		fmt.Fprintf(w, "  review them, then run: sandbar trust %s\n", confine.ShellQuote(f.Folder))
	}
	for _, warn := range sb.Warnings {
		fmt.Fprintf(w, "sandbar: warning: %s\n", warn)
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// splitCommand separates flags from the command: everything after "--",
// or from the first argument that is not a flag.
func parseWithCommand(fs *flag.FlagSet, args []string) ([]string, error) {
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return fs.Args(), nil
}
