package doctor

import (
	"github.com/sandbar-dev/sandbar/confine"
	"github.com/sandbar-dev/sandbar/confine/seccomp"
)

func checkListener() error { return seccomp.CheckListener() }

func landlockABI() (int, error) { return confine.LandlockABI() }
