package main

import (
	"context"
	"flag"
	"os"
	"os/signal"
	"syscall"

	"github.com/sandbar-dev/sandbar/host"
)

// cmdServe runs one editor session on stdin and stdout (package host).
func cmdServe(args []string, stdin, stdout, stderr *os.File) int {
	fs := flag.NewFlagSet("sandbar serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	// Editors' language clients add --stdio; stdio is the only transport.
	fs.Bool("stdio", true, "speak JSON-RPC on stdin and stdout (the only transport)")
	// VS Code's language client may add the editor's process id; the
	// session ends when the editor closes stdin, so it is not needed.
	fs.Int("clientProcessId", 0, "the editor's process id (ignored)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		errorf(stderr, "serve: unexpected argument %q; usage: sandbar serve [--stdio]", fs.Arg(0))
		return 2
	}
	// stdout is the protocol's alone: anything else printing there by
	// mistake goes to stderr instead.
	os.Stdout = stderr
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	// Writing to an editor that went away then fails (EPIPE) and ends the
	// session, instead of SIGPIPE killing the host. (Notify, not Ignore:
	// an ignored signal would stay ignored in the commands it runs.)
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	return host.Serve(ctx, host.Config{Version: version, Log: stderr}, stdin, stdout)
}
