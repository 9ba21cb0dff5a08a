package host

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sandbar-dev/sandbar/confine"
)

// On macOS the Seatbelt profile says it all: sandbar/explain answers
// with confine.Explain's text alone, as `sandbar explain` prints it, and
// nothing about bubblewrap's descriptors.
func TestExplainIsTheProfile(t *testing.T) {
	sb, dir := explainSandbox(t)
	text, spec, err := Explain(sb, []string{"make"}, dir, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	want, err := confine.Explain(spec)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, text); diff != "" {
		t.Errorf("Explain (-confine.Explain +got):\n%s", diff)
	}
}
