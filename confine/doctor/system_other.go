//go:build !linux

package doctor

import "errors"

func checkListener() error { return errors.New("sandbar reports violations on Linux only") }

func landlockABI() (int, error) { return 0, errors.New("Landlock is Linux's") }
