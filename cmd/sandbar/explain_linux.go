package main

import "github.com/sandbar-dev/sandbar/confine/seccomp"

// seccompListing is the sandbox's seccomp filter, disassembled.
func seccompListing(allowUnixSockets bool) (string, error) {
	arch, err := seccomp.NativeArch()
	if err != nil {
		return "", err
	}
	prog, err := seccomp.Build(arch, seccomp.Options{AllowUnixSockets: allowUnixSockets})
	if err != nil {
		return "", err
	}
	return seccomp.Disassemble(prog), nil
}
