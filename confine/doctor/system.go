package doctor

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"time"
)

// System returns an Env that reads the real machine.
func System() Env {
	return Env{
		LookPath: lookPath,
		ReadFile: os.ReadFile,
		Run:      run,
		Stat:     os.Stat,
		Listener: checkListener,
		Landlock: landlockABI,
		GOOS:     runtime.GOOS,
	}
}

// lookPath resolves symbolic links in what it finds, because AppArmor
// attaches a profile by the resolved path: a profile written for /bin/bwrap
// on a merged-/usr system would never apply.
func lookPath(file string) (string, error) {
	p, err := exec.LookPath(file)
	if err != nil {
		return "", err
	}
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r, nil
	}
	return p, nil
}

func run(ctx context.Context, name string, args ...string) (stdout, stderr []byte, err error) {
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	// A grandchild that keeps the pipes open must not hold doctor past
	// the deadline.
	cmd.WaitDelay = time.Second
	err = cmd.Run()
	if err != nil && ctx.Err() != nil {
		// Say it timed out, not "signal: killed".
		err = fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return out.Bytes(), errb.Bytes(), err
}
