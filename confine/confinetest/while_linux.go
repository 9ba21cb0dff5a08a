package confinetest

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sandbar-dev/sandbar/confine"
)

// readyLine is what a probe that waits to be told (spin-read) prints on
// stdout once it has started trying.
const readyLine = "ready"

// ProbeWhile runs operation op inside the sandbox spec describes, like
// Probe, but calls during once the probe has said it is ready, and
// tells the probe (a line on its stdin) when during has returned: for
// tests of what the host does to a running sandbox.
func ProbeWhile(t testing.TB, spec confine.Spec, during func(), op string, args ...string) Outcome {
	t.Helper()
	o, _ := ProbeWhileResult(t, spec, during, op, args...)
	return o
}

// ProbeWhileResult is ProbeWhile that also returns the run's Result, for
// its violations.
func ProbeWhileResult(t testing.TB, spec confine.Spec, during func(), op string, args ...string) (Outcome, confine.Result) {
	t.Helper()
	RequireBwrap(t)
	spec.Argv = Argv(op, args...)
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer inR.Close()
	defer inW.Close()
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer outR.Close()
	errf, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer errf.Close()

	type ran struct {
		res confine.Result
		err error
	}
	done := make(chan ran, 1)
	go func() {
		res, err := confine.Runner{}.Run(context.Background(), spec, confine.Stdio{Stdin: inR, Stdout: outW, Stderr: errf})
		// The sandbox is gone; closing our end of its stdout lets the
		// reader below see the end.
		outW.Close()
		done <- ran{res, err}
	}()
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(outR)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var out []string
	for line := range lines {
		out = append(out, line)
		if line == readyLine {
			break
		}
	}
	if len(out) > 0 && out[len(out)-1] == readyLine {
		during()
		inW.Write([]byte("go\n"))
	}
	for line := range lines {
		out = append(out, line)
	}
	r := <-done
	stderr, _ := os.ReadFile(errf.Name())
	if r.err != nil {
		t.Fatalf("Run: %v\nstderr:\n%s", r.err, stderr)
	}
	if r.res.ExitCode != 0 || len(out) == 0 || out[0] != readyLine {
		t.Fatalf("probe %s %v exited %d\nstdout:\n%s\nstderr:\n%s", op, args, r.res.ExitCode, strings.Join(out, "\n"), stderr)
	}
	return Parse(t, []byte(strings.Join(out, "\n"))), r.res
}
