package e2e

import (
	"bufio"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
)

// runInTerminal starts sandbar on a pseudo-terminal, as a user's shell
// would, and returns the terminal's master side and a channel of what the
// command printed, line by line.
func runInTerminal(t *testing.T, e *env, args ...string) (*exec.Cmd, io.Writer, <-chan string) {
	t.Helper()
	cmd := exec.Command(sandbarBin, args...)
	cmd.Dir = e.ws
	cmd.Env = append(e.environ(), "TERM=xterm")
	master, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 30, Cols: 100})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { master.Close() })
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(master)
		for sc.Scan() {
			lines <- strings.TrimRight(sc.Text(), "\r")
		}
	}()
	return cmd, master, lines
}

func expectLine(t *testing.T, lines <-chan string, want string) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	var seen []string
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("terminal closed before %q; saw %q", want, seen)
			}
			seen = append(seen, l)
			if strings.Contains(l, want) {
				return
			}
		case <-timeout:
			t.Fatalf("no %q on the terminal within 10s; saw %q", want, seen)
		}
	}
}

func TestInteractiveTerminal(t *testing.T) {
	e := newEnv(t)
	cmd, term, lines := runInTerminal(t, e, "run", "--", "sh", "-c",
		`test -t 0 && test -t 1 && echo "is-a-tty $(stty size)"; read answer; echo "got:$answer"`)
	expectLine(t, lines, "is-a-tty 30 100")
	io.WriteString(term, "hello\r")
	expectLine(t, lines, "got:hello")
	if err := cmd.Wait(); err != nil {
		t.Errorf("sandbar run: %v", err)
	}
}

// Ctrl-C typed at the terminal reaches the confined command as SIGINT,
// through its own pseudo-terminal, and the command decides what to do.
func TestCtrlCReachesTheCommand(t *testing.T) {
	e := newEnv(t)
	cmd, term, lines := runInTerminal(t, e, "run", "--", "sh", "-c",
		`trap 'echo caught-INT; exit 7' INT; echo ready; while :; do sleep 0.05; done`)
	expectLine(t, lines, "ready")
	io.WriteString(term, "\x03")
	expectLine(t, lines, "caught-INT")
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 7 {
		t.Errorf("exit = %v; want 7 from the command's INT trap", err)
	}
}
