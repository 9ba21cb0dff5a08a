package workspace_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sandbar-dev/sandbar/workspace"
)

// BenchmarkLoadLarge loads a workspace of 1,000 directories (set
// SANDBAR_BENCH_WS to use another), with and without a scan cache.
func BenchmarkLoadLarge(b *testing.B) {
	ws := os.Getenv("SANDBAR_BENCH_WS")
	if ws == "" {
		ws = b.TempDir()
		for i := 0; i < 1000; i++ {
			os.MkdirAll(filepath.Join(ws, "p"+string(rune('a'+i%26)), "d"+itoa(i)), 0o755)
		}
	}
	home := b.TempDir()
	for _, tc := range []struct {
		name  string
		cache workspace.ScanCache
	}{{"cold", workspace.ScanCache{}}, {"cached", workspace.ScanCache{Dir: b.TempDir()}}} {
		b.Run(tc.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				_, err := workspace.Load(workspace.Options{Folders: []string{ws}, Home: home, ScanCache: tc.cache})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}
