//go:build linux || darwin

package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"strings"
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

	// out is the user's terminal; outMu is held while the command's
	// output is written to it, and for as long as a question is on it.
	out   *os.File
	outMu sync.Mutex
	// answer, while a question is open, receives the user's keys instead
	// of the command.
	inMu   sync.Mutex
	answer chan byte
}

func isTerminal(f *os.File) bool {
	if f == nil {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), ioctlGetTermios)
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

	saved, err := unix.IoctlGetTermios(t.stdinFd, ioctlGetTermios)
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
	if err := unix.IoctlSetTermios(t.stdinFd, ioctlSetTermios, &raw); err != nil {
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
	go t.copyInput(stdin)
	t.out = stdout
	if !isTerminal(stdout) {
		t.out = stderr
	}
	t.copied.Add(1)
	go func() {
		defer t.copied.Done()
		t.copyOutput()
	}()
	return t, nil
}

func (t *terminal) copyInput(stdin *os.File) {
	buf := make([]byte, 4096)
	for {
		n, err := stdin.Read(buf)
		if n > 0 {
			t.inMu.Lock()
			answer := t.answer
			t.inMu.Unlock()
			if answer != nil {
				// A question is open: the keys are its answer, and the
				// command never sees them.
				for _, b := range buf[:n] {
					select {
					case answer <- b:
					default:
					}
				}
			} else if _, err := t.master.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (t *terminal) copyOutput() {
	buf := make([]byte, 32<<10)
	for {
		n, err := t.master.Read(buf)
		if n > 0 {
			t.outMu.Lock()
			_, werr := t.out.Write(buf[:n])
			t.outMu.Unlock()
			if werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// ask puts a question on the user's terminal between the command's
// output and reads a key. While it waits, the command's output and the
// user's keys are held back. The terminal is in raw mode: one key
// answers, and lines end in CR LF.
func (t *terminal) ask(ctx context.Context, question, keys string) (byte, error) {
	t.outMu.Lock()
	defer t.outMu.Unlock()
	answer := make(chan byte, 16)
	t.inMu.Lock()
	t.answer = answer
	t.inMu.Unlock()
	defer func() {
		t.inMu.Lock()
		t.answer = nil
		t.inMu.Unlock()
	}()
	// The question quotes a host or a repository the command chose:
	// shown as text (textOnly), its lines ended for a raw terminal.
	var q strings.Builder
	textOnly{&q}.Write([]byte(question))
	io.WriteString(t.out, "\r\n"+strings.ReplaceAll(q.String(), "\n", "\r\n")+"? ")
	for {
		select {
		case <-ctx.Done():
			io.WriteString(t.out, "\r\n")
			return 0, ctx.Err()
		case b := <-answer:
			k := firstKey(string([]byte{b}), keys)
			if b == 3 || b == 4 || b == 27 || b == '\r' {
				// Ctrl-C, Ctrl-D, Esc and Enter: no.
				k = 'd'
			} else if k == 'd' && b != 'd' && b != 'D' {
				continue
			}
			io.WriteString(t.out, string(k)+"\r\n")
			return k, nil
		}
	}
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
	unix.IoctlSetTermios(t.stdinFd, ioctlSetTermios, t.saved)
	t.master.Close()
}
