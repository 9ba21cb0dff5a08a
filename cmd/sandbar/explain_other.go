//go:build !linux

package main

import "errors"

func seccompListing(bool) (string, error) {
	return "", errors.New("no seccomp filter on this platform")
}
