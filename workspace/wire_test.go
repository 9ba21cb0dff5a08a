package workspace

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sandbar-dev/sandbar/confine"
)

func testScan() *scan {
	return &scan{Root: "/w", At: 1_700_000_000_123_456_789, Dirs: map[string]*dirInfo{
		"/w":                 {Ino: 2, Ctime: 1_600_000_000_000_000_001, Sub: []string{"a", "b\nwith newline"}, Git: 1},
		"/w/a":               {Ino: 1 << 40, Ctime: -5, Links: []string{"shared.txt", ""}},
		"/w/b\nwith newline": {Ino: 7, Git: 2},
	}}
}

func testJournal() journalData {
	return journalData{
		Pid: 4242, PidStart: "123456", Home: "/home/me",
		Paths: []confine.Path{
			{Path: "/w", Access: confine.ReadWrite, Dir: true, Why: "workspace folder 1"},
			{Path: "/home/me/.ssh", Access: confine.Hidden, Dir: true, Why: "denyRead policy:3:5"},
			{Path: "/w/.git/config", Access: confine.ReadOnly, Why: "protected: .git/config"},
		},
		Watch:     []Watched{{Path: "/w/.envrc", Rule: "protected: .envrc"}},
		Repos:     []string{"/w"},
		Roots:     []string{"/w"},
		StartedAt: time.Unix(0, 1_700_000_000_987_654_321),
	}
}

func TestScanRoundTrip(t *testing.T) {
	want := testScan()
	got, err := unmarshalScan(want.marshal())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(scan{})); diff != "" {
		t.Errorf("scan after a round trip (-want +got):\n%s", diff)
	}
}

func TestJournalRoundTrip(t *testing.T) {
	want := testJournal()
	got, err := unmarshalJournal(want.marshal())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateComparable(time.Time{})); diff != "" {
		t.Errorf("journal after a round trip (-want +got):\n%s", diff)
	}
}

// A damaged or foreign file is an error, never a panic or a partial
// value taken for the whole.
func TestDamagedStateFilesAreRefused(t *testing.T) {
	j := testJournal()
	files := map[string]struct {
		b      []byte
		decode func([]byte) error
	}{
		"scan":    {testScan().marshal(), func(b []byte) error { _, err := unmarshalScan(b); return err }},
		"journal": {j.marshal(), func(b []byte) error { _, err := unmarshalJournal(b); return err }},
	}
	for name, f := range files {
		t.Run(name, func(t *testing.T) {
			for n := 0; n < len(f.b); n++ {
				if err := f.decode(f.b[:n]); err == nil {
					t.Errorf("the first %d of %d bytes decode without error", n, len(f.b))
				}
			}
			if err := f.decode(append(append([]byte(nil), f.b...), 0)); err == nil {
				t.Errorf("a trailing byte decodes without error")
			}
			other := files["scan"].b
			if name == "scan" {
				other = files["journal"].b
			}
			if err := f.decode(other); err == nil {
				t.Errorf("a file of the other kind decodes without error")
			}
		})
	}
}

func TestWireNumbers(t *testing.T) {
	for _, v := range []int64{0, 1, -1, 63, -64, 64, 1 << 40, math.MaxInt64, math.MinInt64} {
		w := newWireWriter("numbers")
		w.int(v)
		w.uint(uint64(v))
		r := newWireReader(w.b, "numbers")
		if i, u := r.int(), r.uint(); i != v || u != uint64(v) || r.end() != nil {
			t.Errorf("%d read back as %d and %d (%v)", v, i, u, r.err)
		}
	}
	// Ten bytes that would make a varint of more than 64 bits.
	r := newWireReader([]byte("numbers\n\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02"), "numbers")
	if r.uint(); r.end() == nil {
		t.Errorf("a varint of more than 64 bits was accepted")
	}
}
