//go:build !linux

package doctor

import "errors"

func checkListener() error { return errors.New("sandbar reports violations on Linux only") }
