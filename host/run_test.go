package host

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// A read can end in the middle of a character; the character waits for
// the next read, so no sandbar/output carries half of one.
func TestCompleteUTF8(t *testing.T) {
	euro := []byte("€") // three bytes
	tests := []struct {
		name string
		in   []byte
		want int
	}{
		{"ascii", []byte("abc"), 3},
		{"whole character at the end", append([]byte("a"), euro...), 4},
		{"first byte of three", append([]byte("a"), euro[0]), 1},
		{"two bytes of three", append([]byte("a"), euro[:2]...), 1},
		{"not UTF-8 at all", []byte{'a', 0xff}, 2},
		{"empty", nil, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := completeUTF8(tc.in); got != tc.want {
				t.Errorf("completeUTF8(%q) = %d; want %d", tc.in, got, tc.want)
			}
		})
	}
}

func TestWithEnv(t *testing.T) {
	got := withEnv([]string{"A=1", "B=2", "PATH=/bin"}, map[string]string{"B": "3", "C": "4"})
	want := []string{"A=1", "PATH=/bin", "B=3", "C=4"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("withEnv (-want +got):\n%s", diff)
	}
}
