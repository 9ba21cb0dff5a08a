package workspace

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestResolverMatchesEvalSymlinks checks that the remembering resolver
// answers as filepath.EvalSymlinks does, one path after another on the same
// resolver, through every kind of link.
func TestResolverMatchesEvalSymlinks(t *testing.T) {
	d, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{"real/sub", "other"} {
		if err := os.MkdirAll(filepath.Join(d, dir), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(d, "real", "file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	links := map[string]string{
		"abs":         filepath.Join(d, "real"),
		"rel":         "real",
		"up":          "real/sub/..",
		"chain":       "rel",
		"real/parent": "../other",
		"real/tofile": "file",
		"real/slash":  "file/",
		"dangling":    "nowhere/at/all",
		"loop1":       "loop2",
		"loop2":       "loop1",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(d, name)); err != nil {
			t.Fatal(err)
		}
	}
	paths := []string{
		"", "real", "real/sub", "real/file", "real/file/x", "real/missing", "real/missing/deeper",
		"abs", "abs/sub", "rel/sub/..", "up", "up/sub", "chain/sub", "real/parent",
		"abs/parent/..", "real/tofile", "real/tofile/x", "real/slash", "dangling", "dangling/x",
		"loop1", "loop1/x", "real/../other", "real/sub/../../abs/file",
	}
	r := newResolver()
	// Twice: the second round is answered from memory.
	for round := 0; round < 2; round++ {
		for _, p := range paths {
			path := filepath.Join(d, p)
			want, wantErr := filepath.EvalSymlinks(path)
			got, gotErr := r.evalSymlinks(path)
			if got != want || (gotErr == nil) != (wantErr == nil) || kind(gotErr) != kind(wantErr) {
				t.Errorf("round %d: evalSymlinks(%s) = %q, %v; filepath.EvalSymlinks says %q, %v", round, p, got, gotErr, want, wantErr)
			}
		}
	}
}

// kind is what callers of EvalSymlinks look at in an error.
func kind(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, fs.ErrNotExist):
		return "not exist"
	case errors.Is(err, syscall.ENOTDIR):
		return "not a directory"
	}
	return "other"
}
