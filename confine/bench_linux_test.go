package confine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/sandbar-dev/sandbar/confine"
	"github.com/sandbar-dev/sandbar/confine/confinetest"
)

// BenchmarkViolationReports measures what reporting refused writes costs
// (docs/violations.md quotes it):
//
//	go test ./confine -run '^$' -bench ViolationReports -benchtime 6x
//
// "write" runs a write-heavy job (create, write and delete 100,000 small
// files in the workspace, one after another), "read" a read-heavy one
// (read 100,000 files in 100 directories), each in one sandbox with
// reports on (the default) and off (Runner.NoViolationReports), in turn,
// so that the machine's state drifts equally for both. Each reports the
// median wall time of both and the ratio on/off.
//
// The write-heavy job is a Go program making the system calls itself,
// nothing else between them: the worst case for the watch, two of whose
// four calls per file go to sandbar.
func BenchmarkViolationReports(b *testing.B) {
	confinetest.RequireBwrap(b)
	f := confinetest.NewFixture(b)
	churn := filepath.Join(f.Workspace, "churn")
	tree := filepath.Join(f.Workspace, "tree")
	if err := os.Mkdir(churn, 0o755); err != nil {
		b.Fatal(err)
	}
	const dirs, files = 100, 1000
	for d := range dirs {
		dir := filepath.Join(tree, fmt.Sprint(d))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		for i := range files {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprint(i)), []byte("a small file\n"), 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
	for _, job := range []struct {
		name string
		argv []string
	}{
		{"write", confinetest.Argv("churn", churn, fmt.Sprint(dirs*files))},
		{"read", confinetest.Argv("read-tree", tree)},
	} {
		b.Run(job.name, func(b *testing.B) {
			var on, off []time.Duration
			for i := range b.N {
				// Every other iteration the other way round, so that
				// neither always runs first.
				for _, reports := range [][2]bool{{true, false}, {false, true}}[i%2] {
					start := time.Now()
					res, err := confine.Runner{NoViolationReports: !reports}.Run(context.Background(), f.Spec(job.argv), confine.Stdio{})
					d := time.Since(start)
					if err != nil || res.ExitCode != 0 {
						b.Fatalf("reports %v: exit %d, %v", reports, res.ExitCode, err)
					}
					if len(res.Violations) != 0 || (res.ViolationsOff == "") != reports {
						b.Fatalf("reports %v: violations %+v, off %q", reports, res.Violations, res.ViolationsOff)
					}
					if reports {
						on = append(on, d)
					} else {
						off = append(off, d)
					}
				}
			}
			mOn, mOff := median(on), median(off)
			b.ReportMetric(float64(mOn.Microseconds())/1000, "ms-on")
			b.ReportMetric(float64(mOff.Microseconds())/1000, "ms-off")
			b.ReportMetric(float64(mOn)/float64(mOff), "x")
			b.ReportMetric(0, "ns/op")
		})
	}
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}
