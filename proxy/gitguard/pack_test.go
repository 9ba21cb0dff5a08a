package gitguard

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// historyRepo is a repository whose commits git stores as deltas of each
// other (long, similar messages), with a merge, in the given object
// format. It returns the repository and its commits with their parents,
// as git itself lists them.
func historyRepo(t *testing.T, format string) (string, commitGraph) {
	t.Helper()
	requireGit(t)
	dir := t.TempDir()
	runGit(t, nil, "", "init", "-q", "-b", "main", "--object-format="+format, dir)
	msg := strings.Repeat("a long and similar commit message line ", 40)
	add := func(i int) {
		name := "f"
		if i >= 10 && i < 20 {
			name = "g"
		}
		os.WriteFile(filepath.Join(dir, name), []byte(strings.Repeat("x", 2000)+string(rune('a'+i%26))), 0o644)
		runGit(t, nil, dir, "add", name)
		runGit(t, nil, dir, "commit", "-q", "-m", msg+string(rune('a'+i%26)))
	}
	for i := range 10 {
		add(i)
	}
	runGit(t, nil, dir, "checkout", "-q", "-b", "side", "HEAD~3")
	for i := range 5 {
		add(i + 10)
	}
	runGit(t, nil, dir, "checkout", "-q", "main")
	runGit(t, nil, dir, "merge", "-q", "--no-ff", "-m", msg+"merge", "side")
	add(20)
	want := commitGraph{}
	for _, line := range strings.Split(strings.TrimSpace(runGit(t, nil, dir, "rev-list", "--parents", "--all")), "\n") {
		f := strings.Fields(line)
		want[f[0]] = f[1:]
		if len(f) == 1 {
			want[f[0]] = nil
		}
	}
	return dir, want
}

func packOf(t *testing.T, dir, revs string, opts ...string) []byte {
	t.Helper()
	cmd := execGit(gitEnv(t.TempDir()), dir, append([]string{"pack-objects", "--stdout", "--revs", "--window=250", "--depth=50"}, opts...)...)
	cmd.Stdin = strings.NewReader(revs)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sortedGraph(g commitGraph) commitGraph {
	for k, v := range g {
		if len(v) == 0 {
			g[k] = nil
		}
	}
	return g
}

func TestReadPackCommits(t *testing.T) {
	for _, format := range []string{"sha1", "sha256"} {
		dir, all := historyRepo(t, format)
		hexLen := 40
		if format == "sha256" {
			hexLen = 64
		}
		tip := strings.TrimSpace(runGit(t, nil, dir, "rev-parse", "HEAD~1"))
		tests := []struct {
			name   string
			revs   string
			opts   []string
			deltas bool
			want   func() commitGraph
		}{
			{"offset deltas", "main\n", []string{"--delta-base-offset"}, true, func() commitGraph { return all }},
			{"reference deltas", "main\n", nil, true, func() commitGraph { return all }},
			{
				"thin", "main\n^" + tip + "\n", []string{"--thin", "--delta-base-offset"}, false,
				func() commitGraph {
					head := strings.TrimSpace(runGit(t, nil, dir, "rev-parse", "HEAD"))
					return commitGraph{head: all[head]}
				},
			},
		}
		for _, tt := range tests {
			t.Run(format+" "+tt.name, func(t *testing.T) {
				pack := packOf(t, dir, tt.revs, tt.opts...)
				if tt.deltas {
					// The test means something only if git stored commits
					// as deltas.
					p := filepath.Join(t.TempDir(), "p.pack")
					os.WriteFile(p, pack, 0o644)
					idx := strings.TrimSuffix(p, ".pack") + ".idx"
					runGit(t, nil, dir, "index-pack", "-o", idx, p)
					v := runGit(t, nil, dir, "verify-pack", "-v", idx)
					n := 0
					for _, l := range strings.Split(v, "\n") {
						if f := strings.Fields(l); len(f) >= 7 && f[1] == "commit" {
							n++
						}
					}
					if n < 5 {
						t.Fatalf("git stored only %d commits as deltas", n)
					}
				}
				got, err := readPackCommits(bytes.NewReader(pack), int64(len(pack)), hexLen)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(sortedGraph(tt.want()), sortedGraph(got)); diff != "" {
					t.Errorf("commits (-want +got):\n%s", diff)
				}
			})
		}
	}
}

func TestReaches(t *testing.T) {
	g := commitGraph{"d": {"c", "x"}, "c": {"b"}, "b": {"a"}, "x": {"y"}}
	tests := []struct {
		tip, old string
		found    bool
		boundary []string
	}{
		{"d", "a", true, nil},
		{"d", "y", true, nil},
		{"d", "z", false, []string{"a", "y"}},
		{"q", "a", false, []string{"q"}},
	}
	for _, tt := range tests {
		found, b := g.reaches(tt.tip, tt.old)
		sort.Strings(b)
		if found != tt.found || !cmp.Equal(b, tt.boundary) {
			t.Errorf("reaches(%s, %s) = %v %v; want %v %v", tt.tip, tt.old, found, b, tt.found, tt.boundary)
		}
	}
}

func TestApplyDelta(t *testing.T) {
	base := []byte("hello, world")
	tests := []struct {
		name  string
		delta []byte
		want  string
		err   string
	}{
		{"copy and insert", []byte{12, 8, 0x91, 0, 5, 3, '!', '!', '!'}, "hello!!!", ""},
		{"copy with size 0 means 64k", []byte{12, 1, 0x80}, "", "out of the base"},
		{"wrong base size", []byte{11, 1, 1, 'x'}, "", "base of 11"},
		{"copy out of the base", []byte{12, 5, 0x91, 10, 5}, "", "out of the base"},
		{"truncated insert", []byte{12, 5, 5, 'a'}, "", "truncated insert"},
		{"opcode 0", []byte{12, 1, 0}, "", "reserved"},
		{"makes less than it says", []byte{12, 5, 1, 'a'}, "", "made 1 bytes of 5"},
		{"makes more than it says", []byte{12, 1, 2, 'a', 'b'}, "", "more than it says"},
		{"truncated header", []byte{0x80}, "", "truncated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := applyDelta(base, tt.delta)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("err = %v; want %q", err, tt.err)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Errorf("applyDelta = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// A pack is the sandbox's to make: whatever it holds, reading it does not
// panic, and every commit it returns is named by its content.
func FuzzReadPackCommits(f *testing.F) {
	f.Add([]byte("PACK\x00\x00\x00\x02\x00\x00\x00\x00"))
	f.Add([]byte("PACK\x00\x00\x00\x02\xff\xff\xff\xff"))
	f.Add([]byte("PACK\x00\x00\x00\x02\x00\x00\x00\x01\x95\x0ax\x9c"))
	f.Add([]byte("PACK\x00\x00\x00\x02\x00\x00\x00\x02\x10x\x9c\x03\x00\x00\x00\x00\x01\x60\x7f"))
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := readPackCommits(bytes.NewReader(data), int64(len(data)), 40)
		if err != nil {
			return
		}
		for oid, ps := range g {
			if len(oid) != 40 {
				t.Fatalf("commit named %q", oid)
			}
			for _, p := range ps {
				if len(p) != 40 {
					t.Fatalf("parent %q", p)
				}
			}
		}
	})
}
