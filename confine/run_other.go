//go:build !linux && !darwin

package confine

import (
	"context"
	"errors"
	"runtime"
)

// Run is not available on this platform: sandbar confines commands on
// Linux (bubblewrap) and macOS (Seatbelt). It fails closed.
func (r Runner) Run(ctx context.Context, s Spec, stdio Stdio) (Result, error) {
	return Result{}, &SetupError{"confining", errors.New("sandbar has no backend for " + runtime.GOOS + " yet")}
}

// MaybeInit does nothing where there is no in-sandbox init.
func MaybeInit() {}

// Explain describes the backend invocation; there is none here yet.
func Explain(s Spec) (string, error) {
	return "", errors.New("sandbar has no backend for " + runtime.GOOS + " yet")
}

// ExplainSeccomp describes the seccomp filters; there are none here.
func ExplainSeccomp(r Runner, s Spec) (string, error) {
	return "", errors.New("sandbar has no backend for " + runtime.GOOS + " yet")
}
