package policy

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// at is a Value from the named file.
func at(f, text string, line int) Value {
	return Value{Text: text, Pos: Pos{File: f, Line: line, Col: 1}}
}

func TestMerge(t *testing.T) {
	a := &Policy{
		Version:    1,
		Filesystem: Filesystem{DenyRead: []Value{at("a", "~/.ssh", 1)}, AllowWrite: []Value{at("a", "out", 2)}},
		Network:    Network{AllowedDomains: []Value{at("a", "example.com", 3)}},
		Env: Env{
			Deny: []Value{at("a", "*TOKEN*", 4)},
			Set: []EnvVar{
				{Name: at("a", "X", 5), Value: at("a", "1", 5)},
				{Name: at("a", "Y", 6), Value: at("a", "1", 6)},
			},
		},
		Presets: []Value{at("a", "go", 7)},
	}
	b := &Policy{
		Version:    1,
		Filesystem: Filesystem{DenyRead: []Value{at("b", "~/.aws", 1)}, AllowRead: []Value{at("b", "/opt", 2)}, DenyWrite: []Value{at("b", ".git", 3)}},
		Network:    Network{DeniedDomains: []Value{at("b", "evil.com", 4)}, AllowUnixSockets: []Value{at("b", "/run/s", 5)}},
		Env: Env{
			Allow: []Value{at("b", "GO*", 6)},
			Set: []EnvVar{
				{Name: at("b", "Z", 7), Value: at("b", "2", 7)},
				{Name: at("b", "X", 8), Value: at("b", "2", 8)},
			},
		},
		Presets: []Value{at("b", "go", 9), at("b", "rust", 9)},
	}
	tests := []struct {
		name string
		in   []*Policy
		want *Policy
	}{
		{
			name: "nothing",
			want: &Policy{Version: 1},
		},
		{
			name: "only nil",
			in:   []*Policy{nil, nil},
			want: &Policy{Version: 1},
		},
		{
			name: "one is a copy",
			in:   []*Policy{nil, b},
			want: b,
		},
		{
			name: "lists concatenate in order and a later set wins in place",
			in:   []*Policy{a, nil, b},
			want: &Policy{
				Version: 1,
				Filesystem: Filesystem{
					DenyRead:   []Value{at("a", "~/.ssh", 1), at("b", "~/.aws", 1)},
					AllowRead:  []Value{at("b", "/opt", 2)},
					AllowWrite: []Value{at("a", "out", 2)},
					DenyWrite:  []Value{at("b", ".git", 3)},
				},
				Network: Network{
					AllowedDomains:   []Value{at("a", "example.com", 3)},
					DeniedDomains:    []Value{at("b", "evil.com", 4)},
					AllowUnixSockets: []Value{at("b", "/run/s", 5)},
				},
				Env: Env{
					Allow: []Value{at("b", "GO*", 6)},
					Deny:  []Value{at("a", "*TOKEN*", 4)},
					Set: []EnvVar{
						{Name: at("b", "X", 8), Value: at("b", "2", 8)},
						{Name: at("a", "Y", 6), Value: at("a", "1", 6)},
						{Name: at("b", "Z", 7), Value: at("b", "2", 7)},
					},
				},
				Presets: []Value{at("a", "go", 7), at("b", "go", 9), at("b", "rust", 9)},
			},
		},
		{
			name: "set names are case-sensitive",
			in: []*Policy{
				{Env: Env{Set: []EnvVar{{Name: at("a", "path", 1), Value: at("a", "x", 1)}}}},
				{Env: Env{Set: []EnvVar{{Name: at("b", "PATH", 1), Value: at("b", "y", 1)}}}},
			},
			want: &Policy{Version: 1, Env: Env{Set: []EnvVar{
				{Name: at("a", "path", 1), Value: at("a", "x", 1)},
				{Name: at("b", "PATH", 1), Value: at("b", "y", 1)},
			}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Merge(tt.in...)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Merge mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// Merge must not hand back slices that alias its inputs: the default policy
// is shared, and a caller appending to a merged list must not change it.
func TestMergeDoesNotAlias(t *testing.T) {
	in := &Policy{
		Filesystem: Filesystem{DenyRead: make([]Value, 1, 10)},
		Env:        Env{Set: []EnvVar{{Name: at("a", "X", 1)}}},
	}
	in.Filesystem.DenyRead[0] = at("a", "~/.ssh", 1)
	got := Merge(in)
	got.Filesystem.DenyRead[0].Text = "changed"
	got.Env.Set[0].Name.Text = "changed"
	if in.Filesystem.DenyRead[0].Text != "~/.ssh" || in.Env.Set[0].Name.Text != "X" {
		t.Errorf("modifying Merge's result changed its input: %+v", in)
	}
}
