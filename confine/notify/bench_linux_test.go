package notify

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func init() {
	// churn:N:FILE creates, writes, closes and removes a file N times in
	// batches of 1,000, and writes the fastest batch's time per file, in
	// nanoseconds, to FILE: the least disturbed measurement.
	childOps["churn"] = func(a []string) error {
		n, err := strconv.Atoi(a[0])
		if err != nil {
			return err
		}
		name := str("churn-file")
		data := []byte("a small file\n")
		best := time.Duration(1 << 62)
		for done := 0; done < n; done += 1000 {
			start := time.Now()
			for range 1000 {
				fd, _, errno := unix.Syscall6(unix.SYS_OPENAT, atFDCWD, name, unix.O_CREAT|unix.O_WRONLY|unix.O_TRUNC, 0o644, 0, 0)
				if errno != 0 {
					return errno
				}
				unix.Write(int(fd), data)
				unix.Close(int(fd))
				if err := sys(unix.SYS_UNLINKAT, atFDCWD, name, 0); err != nil {
					return err
				}
			}
			best = min(best, time.Since(start)/1000)
		}
		return os.WriteFile(a[1], []byte(strconv.FormatInt(int64(best), 10)), 0o644)
	}
}

// BenchmarkServe measures what the supervisor adds to a write-heavy job:
// a child creates, writes and removes a file over and over, with no
// filter, under the filter for creations (one call of the two reaches the
// supervisor) and under the one for every write (both do). It reports
// the fastest batch's time per file, and the cost per call sent:
//
//	go test ./confine/notify -run '^$' -bench Serve -benchtime 3x
func BenchmarkServe(b *testing.B) {
	type variant struct {
		name  string
		env   []string
		calls int // sent to the supervisor per file
		h     hooks
	}
	variants := []variant{
		{"none", []string{noneEnv + "=1"}, 0, hooks{}},
		{"creates", nil, 1, hooks{}},
		{"writes", []string{writesEnv + "=1"}, 2, hooks{}},
		{"writes-async", []string{writesEnv + "=1"}, 2, hooks{asyncWake: true}},
	}
	best := map[string]time.Duration{}
	for range b.N {
		for _, v := range variants {
			dir := b.TempDir()
			out := filepath.Join(dir, "time")
			c := startChild(b, dir, func(cmd *exec.Cmd) { cmd.Env = append(cmd.Env, v.env...) }, "churn:20000:"+out)
			sup := Supervisor{Decide: func(op *Op) Answer { return Answer{} }}
			served := make(chan error, 1)
			go func() { served <- serve(context.Background(), c.listener, sup, v.h) }()
			if err := c.cmd.Wait(); err != nil {
				b.Fatalf("child: %v; %s", err, c.stderr.String())
			}
			<-served
			raw, err := os.ReadFile(out)
			if err != nil {
				b.Fatalf("child: %v; %s", err, c.stderr.String())
			}
			ns, _ := strconv.ParseInt(string(raw), 10, 64)
			if d := time.Duration(ns); best[v.name] == 0 || d < best[v.name] {
				best[v.name] = d
			}
		}
	}
	for _, v := range variants {
		b.ReportMetric(float64(best[v.name].Nanoseconds())/1000, "µs/file-"+v.name)
	}
	for _, v := range variants[1:] {
		per := float64((best[v.name] - best["none"]).Nanoseconds()) / 1000 / float64(v.calls)
		b.ReportMetric(per, "µs/call-"+v.name)
	}
	b.ReportMetric(float64(best["writes"])/float64(best["none"]), "x-writes")
	b.ReportMetric(float64(best["writes-async"])/float64(best["none"]), "x-writes-async")
	b.ReportMetric(0, "ns/op")
}
