package confine

import (
	"encoding/json"
	"testing"
)

// The init writes its usual status lines by hand; sandbar reads them as
// JSON, so they must be what encoding/json would write.
func TestStatusLineIsJSON(t *testing.T) {
	for _, st := range []initStatus{
		{},
		{ExitCode: 3},
		{ExitCode: -1},
		{Signal: 9},
		{ExitCode: 130, Signal: 2},
		{Started: true},
		{ExitCode: 127, Error: "exec: \"x\\\"\n\": not found"},
	} {
		want, _ := json.Marshal(st)
		if got := string(st.line()); got != string(want)+"\n" {
			t.Errorf("line() of %+v = %q; want %q", st, got, string(want)+"\n")
		}
	}
}
