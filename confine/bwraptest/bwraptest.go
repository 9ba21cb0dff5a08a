// Package bwraptest finds bubblewrap for tests, failing (not skipping)
// where it is missing: a confinement test that skips proves nothing. It
// imports nothing of sandbar, so the tests of every package, confine's
// own dependencies included, can use it.
package bwraptest

import (
	"os"
	"os/exec"
	"testing"
)

// Require returns the path of bwrap, or fails the test with the command
// that installs it. A developer on a machine that cannot have bubblewrap
// sets SANDBAR_ALLOW_SKIP=1 to skip instead; CI never does.
func Require(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("bwrap")
	if err != nil {
		if os.Getenv("SANDBAR_ALLOW_SKIP") == "1" {
			t.Skipf("bubblewrap is not installed (%v) and SANDBAR_ALLOW_SKIP=1", err)
		}
		t.Fatalf("bubblewrap is not installed (%v); install it (sudo apt-get install -y bubblewrap) or set SANDBAR_ALLOW_SKIP=1 to skip confinement tests on this machine", err)
	}
	return path
}
