package doctor

import "github.com/sandbar-dev/sandbar/confine/seccomp"

func checkListener() error { return seccomp.CheckListener() }
