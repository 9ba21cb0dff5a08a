package host

import (
	"context"
	"os/exec"
	"strings"
	"time"

	"github.com/sandbar-dev/sandbar/confine"
)

// backend says what confines commands here: bubblewrap, at the version
// installed ("" when it cannot be run; `sandbar doctor` says why).
func backend() backendInfo {
	b := backendInfo{Backend: "bubblewrap", Enforces: []string{"filesystem", "network", "violations"}}
	path, err := confine.FindBwrap("")
	if err != nil {
		return b
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "--version").Output()
	if err != nil {
		return b
	}
	// "bubblewrap 0.8.0"
	if f := strings.Fields(string(out)); len(f) == 2 && f[0] == "bubblewrap" {
		b.Version = f[1]
	}
	return b
}
