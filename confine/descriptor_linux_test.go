package confine

import (
	"os"
	"path/filepath"
	"testing"
)

// The runner, not bwrap, must refuse a planned path that has become a
// symbolic link: bwrap would follow it.
func TestOpenDescriptorRefusesLinks(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real")
	os.Mkdir(real, 0o755)
	os.Mkdir(filepath.Join(real, "sub"), 0o755)
	os.Symlink(real, filepath.Join(dir, "link"))
	for _, p := range []string{filepath.Join(dir, "link"), filepath.Join(dir, "link", "sub")} {
		if f, err := openDescriptor(Descriptor{Path: p}); err == nil {
			f.Close()
			t.Errorf("openDescriptor(%s) followed a symbolic link", p)
		}
	}
	f, err := openDescriptor(Descriptor{Path: filepath.Join(real, "sub")})
	if err != nil {
		t.Fatalf("openDescriptor of a plain path: %v", err)
	}
	f.Close()
}
