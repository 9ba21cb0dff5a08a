package confinetest

import (
	"context"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sandbar-dev/sandbar/confine"
)

const runnerEnv = "SANDBAR_TEST_RUNNER"

// MaybeRunner makes this process a sandbar stand-in: it runs the Spec
// given in its environment and exits with the command's status. Tests
// start it to kill "sandbar" from outside. Call it from TestMain.
func MaybeRunner() {
	js := os.Getenv(runnerEnv)
	if js == "" {
		return
	}
	var spec confine.Spec
	if err := json.Unmarshal([]byte(js), &spec); err != nil {
		os.Exit(125)
	}
	res, err := confine.Runner{}.Run(context.Background(), spec, confine.Stdio{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr})
	if err != nil {
		os.Exit(125)
	}
	os.Exit(res.ExitCode)
}

// RunnerEnv is the environment entry that makes the test binary run spec.
func RunnerEnv(t testing.TB, spec confine.Spec) string {
	b, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	return runnerEnv + "=" + string(b)
}

// Marked lists the host PIDs of processes whose command line contains
// marker.
func Marked(marker string) []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && strings.Contains(string(b), marker) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// WaitFor polls cond until it holds or the deadline passes. It is for
// conditions another process brings about, where there is nothing to
// wait on; it fails the test with what when the deadline passes.
func WaitFor(t testing.TB, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
