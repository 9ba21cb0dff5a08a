package main

import (
	"context"
	"io"

	"github.com/sandbar-dev/sandbar/confine/doctor"
)

func cmdDoctor(args []string, stdout, stderr io.Writer) int {
	findings := doctor.Check(context.Background(), doctor.System())
	doctor.Format(stdout, findings)
	if len(doctor.Blocking(findings)) > 0 {
		return 1
	}
	return 0
}
