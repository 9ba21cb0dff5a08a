package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"
	"time"
)

// BenchmarkStartup measures what sandbar adds to starting a command: the
// median wall time of /bin/true run bare, under a plain bwrap sandbox, and
// under `sandbar run`, in a small workspace and in one of 50,000 files
// with nested repositories. It reports the ratios the README quotes:
//
//	go test ./e2e -run '^$' -bench Startup -benchtime 200x
//
// Each iteration runs every variant once, in turn, so that the machine's
// state drifts equally for all of them.
func BenchmarkStartup(b *testing.B) {
	requireBwrap(b)
	root, err := os.MkdirTemp(homeBaseB(b), "bench-")
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(root)
	home := filepath.Join(root, "home")
	small := filepath.Join(root, "small")
	large := filepath.Join(root, "large")
	os.MkdirAll(home, 0o755)
	os.MkdirAll(small, 0o755)
	mustRun(b, small, "git", "init", "-q")
	makeLargeWorkspace(b, large, 50_000)

	env := []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"),
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"XDG_STATE_HOME=" + filepath.Join(home, ".local", "state")}
	variants := []struct {
		name string
		dir  string
		argv []string
	}{
		{"bare", small, []string{"/bin/true"}},
		{"bwrap", small, []string{"bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-all", "/bin/true"}},
		{"sandbar-small", small, []string{sandbarBin, "run", "--", "/bin/true"}},
		{"sandbar-large", large, []string{sandbarBin, "run", "--", "/bin/true"}},
	}
	times := make([][]time.Duration, len(variants))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j, v := range variants {
			cmd := exec.Command(v.argv[0], v.argv[1:]...)
			cmd.Dir = v.dir
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
	b.ReportMetric(med[2]/med[1], "x-bwrap-small")
	b.ReportMetric(med[3]/med[1], "x-bwrap-large")
	b.ReportMetric(med[2]/med[0], "x-bare-small")
	b.ReportMetric(0, "ns/op")
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// makeLargeWorkspace writes n empty files in 20 directories of 50 files
// per package directory, as a git repository with three nested ones.
func makeLargeWorkspace(b *testing.B, dir string, n int) {
	for i := 0; i < n; i++ {
		d := filepath.Join(dir, fmt.Sprintf("pkg%d", i/1000), fmt.Sprintf("sub%d", i/50%20))
		if i%50 == 0 {
			if err := os.MkdirAll(d, 0o755); err != nil {
				b.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(d, fmt.Sprintf("f%d.go", i%50)), nil, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	mustRun(b, dir, "git", "init", "-q")
	for _, r := range []string{"pkg1/sub1", "pkg7", "pkg30/sub4"} {
		mustRun(b, filepath.Join(dir, r), "git", "init", "-q")
	}
}

func mustRun(b *testing.B, dir string, argv ...string) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("%v: %v\n%s", argv, err, out)
	}
}

func homeBaseB(b *testing.B) string {
	if d := os.Getenv("SANDBAR_E2E_DIR"); d != "" {
		return d
	}
	return "/var/tmp"
}
