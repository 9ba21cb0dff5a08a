package confine

import (
	"fmt"
	"os"
	"syscall"
)

// spawned is bwrap, started by spawn.
type spawned struct{ pid int }

// spawn starts path with files as its descriptors 0, 1, 2, 3...; a nil
// standard stream is /dev/null, as with exec.Cmd. It is syscall.ForkExec
// rather than exec.Cmd.Start: the first os.StartProcess in a process
// probes pidfd support by forking and reaping a child of its own, about
// 0.2 ms that every run paid before bwrap even started. bwrap is waited
// for once, by its parent, so the PID cannot be reused under us and a
// pidfd buys nothing here.
func spawn(path string, argv, env []string, stdio Stdio, extra []*os.File, sys *syscall.SysProcAttr) (*spawned, error) {
	fds := make([]uintptr, 0, 3+len(extra))
	for i, f := range []*os.File{stdio.Stdin, stdio.Stdout, stdio.Stderr} {
		if f == nil {
			flag := os.O_WRONLY
			if i == 0 {
				flag = os.O_RDONLY
			}
			null, err := os.OpenFile(os.DevNull, flag, 0)
			if err != nil {
				return nil, err
			}
			defer null.Close()
			f = null
		}
		fds = append(fds, f.Fd())
	}
	for _, f := range extra {
		fds = append(fds, f.Fd())
	}
	pid, err := syscall.ForkExec(path, argv, &syscall.ProcAttr{Env: env, Files: fds, Sys: sys})
	if err != nil {
		return nil, &os.PathError{Op: "fork/exec", Path: path, Err: err}
	}
	return &spawned{pid: pid}, nil
}

// wait waits for the process to exit and reaps it.
func (p *spawned) wait() (syscall.WaitStatus, error) {
	var ws syscall.WaitStatus
	for {
		_, err := syscall.Wait4(p.pid, &ws, 0, nil)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return ws, os.NewSyscallError("wait4", err)
		}
		return ws, nil
	}
}

// describe says how a process ended, as exec.ExitError does.
func describe(ws syscall.WaitStatus) string {
	if ws.Signaled() {
		return "signal: " + ws.Signal().String()
	}
	return fmt.Sprintf("exit status %d", ws.ExitStatus())
}
