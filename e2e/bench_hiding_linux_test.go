package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkStartupHome measures start-up with a lived-in home: 300
// entries, 60 more in ~/.config, and the default policy's secrets
// (~/.ssh, ~/.netrc, ~/.aws, ~/.config/gh), which the init backs with a
// Landlock rule for every entry of every directory on their way
// (docs/hiding.md):
//
//	go test ./e2e -run '^$' -bench StartupHome -benchtime 100x
//
// Compare a build without hiding by pointing SANDBAR_BIN at it.
func BenchmarkStartupHome(b *testing.B) {
	requireBwrap(b)
	root, err := os.MkdirTemp(homeBaseB(b), "bench-home-")
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(root)
	home := filepath.Join(root, "home")
	ws := filepath.Join(home, "proj")
	for _, d := range []string{ws, filepath.Join(home, ".ssh"), filepath.Join(home, ".aws"), filepath.Join(home, ".config", "gh")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			b.Fatal(err)
		}
	}
	for _, f := range []string{".netrc", ".ssh/id_ed25519", ".aws/credentials", ".config/gh/hosts.yml"} {
		if err := os.WriteFile(filepath.Join(home, f), []byte("secret"), 0o600); err != nil {
			b.Fatal(err)
		}
	}
	for i := range 300 {
		p := filepath.Join(home, fmt.Sprintf(".entry%d", i))
		if i%3 == 0 {
			err = os.Mkdir(p, 0o755)
		} else {
			err = os.WriteFile(p, nil, 0o644)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	for i := range 60 {
		if err := os.Mkdir(filepath.Join(home, ".config", fmt.Sprintf("app%d", i)), 0o755); err != nil {
			b.Fatal(err)
		}
	}
	mustRun(b, ws, "git", "init", "-q")

	env := []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"),
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"XDG_STATE_HOME=" + filepath.Join(home, ".local", "state")}
	variants := []struct {
		name string
		argv []string
	}{
		{"bwrap", []string{"bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-all", "/bin/true"}},
		{"sandbar-home", []string{sandbarBin, "run", "--", "/bin/true"}},
	}
	times := make([][]time.Duration, len(variants))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j, v := range variants {
			cmd := exec.Command(v.argv[0], v.argv[1:]...)
			cmd.Dir = ws
			cmd.Env = env
			start := time.Now()
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("%s: %v\n%s", v.name, err, out)
			}
			times[j] = append(times[j], time.Since(start))
		}
	}
	b.StopTimer()
	med := make([]float64, len(variants))
	for j, v := range variants {
		med[j] = float64(median(times[j]).Microseconds()) / 1000
		b.ReportMetric(med[j], "ms-"+v.name)
	}
	b.ReportMetric(med[1]/med[0], "x-bwrap-home")
	b.ReportMetric(0, "ns/op")
}
