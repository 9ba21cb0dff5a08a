//go:build !linux && !darwin

package main

import (
	"context"
	"errors"
	"os"

	"golang.org/x/sys/unix"

	"github.com/sandbar-dev/sandbar/confine"
)

type terminal struct{ stdio confine.Stdio }

func isTerminal(f *os.File) bool {
	if f == nil {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TIOCGETA)
	return err == nil
}

// openTerminal passes streams through unchanged until this platform has a
// backend.
func openTerminal(stdin, stdout, stderr *os.File) (*terminal, error) { return nil, nil }

func (t *terminal) close() {}

func (t *terminal) ask(ctx context.Context, question, keys string) (byte, error) {
	return 0, errors.New("no terminal to ask on")
}
