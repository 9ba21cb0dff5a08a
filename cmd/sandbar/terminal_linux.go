package main

import (
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/sandbar-dev/sandbar/confine"
)

// terminal gives a confined command its own pseudo-terminal when sandbar
// runs in one. The command never gets a descriptor of the user's
// terminal: whatever it does to its terminal (TIOCSTI, changing modes,
// leaving it in raw mode) stays on the pty, and sandbar copies bytes both
// ways. Interactive programs keep job control, colours and Ctrl-C.
type terminal struct {
	stdio   confine.Stdio
	master  *os.File
	slave   *os.File
	saved   *unix.Termios
	stdinFd int
	winch   chan os.Signal
	copied  sync.WaitGroup
}

func isTerminal(f *os.File) bool {
	if f == nil {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// openTerminal returns nil when stdin is not a terminal: then the
// command's streams are passed through as they are.
func openTerminal(stdin, stdout, stderr *os.File) (*terminal, error) {
	if !isTerminal(stdin) {
		return nil, nil
	}
	master, slave, err := pty.Open()
	if err != nil {
		return nil, err
	}
	t := &terminal{master: master, slave: slave, stdinFd: int(stdin.Fd())}
	t.stdio = confine.Stdio{Stdin: slave, Stdout: stdout, Stderr: stderr}
	if isTerminal(stdout) {
		t.stdio.Stdout = slave
	}
	if isTerminal(stderr) {
		t.stdio.Stderr = slave
	}
	pty.InheritSize(stdin, master)

	saved, err := unix.IoctlGetTermios(t.stdinFd, unix.TCGETS)
	if err != nil {
		master.Close()
		slave.Close()
		return nil, err
	}
	t.saved = saved
	raw := *saved
	// cfmakeraw: the pty's own line discipline does the cooking.
	raw.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	raw.Oflag &^= unix.OPOST
	raw.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	raw.Cflag &^= unix.CSIZE | unix.PARENB
	raw.Cflag |= unix.CS8
	raw.Cc[unix.VMIN] = 1
	raw.Cc[unix.VTIME] = 0
	if err := unix.IoctlSetTermios(t.stdinFd, unix.TCSETS, &raw); err != nil {
		master.Close()
		slave.Close()
		return nil, err
	}

	t.winch = make(chan os.Signal, 1)
	signal.Notify(t.winch, syscall.SIGWINCH)
	go func() {
		for range t.winch {
			pty.InheritSize(stdin, master)
		}
	}()
	// Input is copied until sandbar exits; a read blocked on the user's
	// terminal cannot be interrupted portably, and nothing waits for it.
	go io.Copy(master, stdin)
	out := stdout
	if !isTerminal(stdout) {
		out = stderr
	}
	t.copied.Add(1)
	go func() {
		defer t.copied.Done()
		io.Copy(out, master)
	}()
	return t, nil
}

// close restores the user's terminal once the command has ended, after
// the last of its output is copied.
func (t *terminal) close() {
	// Every process in the sandbox is gone, so closing our copy of the
	// slave makes the master read end with EIO once drained.
	t.slave.Close()
	t.copied.Wait()
	signal.Stop(t.winch)
	close(t.winch)
	unix.IoctlSetTermios(t.stdinFd, unix.TCSETS, t.saved)
	t.master.Close()
}
