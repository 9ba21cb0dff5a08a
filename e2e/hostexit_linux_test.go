package e2e

import (
	"fmt"
	"os/exec"
	"testing"
	"time"
)

// An editor that quits without reading the host's last answers (Neovim
// sends shutdown and exits) leaves writes failing on a closed pipe: the
// host must still exit when its input ends, and not hang reporting that
// it cannot write.
func TestHostExitsWhenTheEditorStopsReading(t *testing.T) {
	e := newEnv(t)
	cmd := exec.Command(sandbarBin, "serve", "--stdio")
	cmd.Dir = e.ws
	cmd.Env = e.environ()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Nobody will ever read what the host writes.
	stdout.Close()
	for _, body := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"workspaceFolders":[{"uri":"` + fileURI(e.ws) + `","name":"proj"}]}}`,
		`{"jsonrpc":"2.0","method":"initialized","params":{}}`,
		`{"jsonrpc":"2.0","id":2,"method":"shutdown"}`,
	} {
		fmt.Fprintf(stdin, "Content-Length: %d\r\n\r\n%s", len(body), body)
	}
	stdin.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(awaitTimeout):
		cmd.Process.Kill()
		<-done
		t.Fatalf("the host did not exit within %v of its editor going away", awaitTimeout)
	}
}
