package policy

import "testing"

func TestMatchEnv(t *testing.T) {
	tests := []struct {
		name    string
		pattern string
		env     string
		want    bool
	}{
		{name: "exact", pattern: "HOME", env: "HOME", want: true},
		{name: "exact differs", pattern: "HOME", env: "HOMES", want: false},
		{name: "case-insensitive", pattern: "github_token", env: "GITHUB_TOKEN", want: true},
		{name: "case-insensitive pattern and name", pattern: "*Token*", env: "my_tOKEN_x", want: true},
		{name: "star alone matches anything", pattern: "*", env: "X", want: true},
		{name: "star alone matches empty", pattern: "*", env: "", want: true},
		{name: "empty matches only empty", pattern: "", env: "X", want: false},
		{name: "prefix", pattern: "AWS_*", env: "AWS_REGION", want: true},
		{name: "prefix with empty rest", pattern: "AWS_*", env: "AWS_", want: true},
		{name: "prefix misses", pattern: "AWS_*", env: "MY_AWS_REGION", want: false},
		{name: "suffix", pattern: "*_KEY", env: "STRIPE_KEY", want: true},
		{name: "suffix misses", pattern: "*_KEY", env: "KEY_ID", want: false},
		{name: "suffix needs whole tail", pattern: "*_KEY", env: "A_KEYS", want: false},
		{name: "contains", pattern: "*SECRET*", env: "CLIENT_SECRET_FILE", want: true},
		{name: "contains at start", pattern: "*SECRET*", env: "SECRET", want: true},
		{name: "contains misses", pattern: "*SECRET*", env: "SECRT", want: false},
		{name: "star must backtrack", pattern: "*AB", env: "AAB", want: true},
		{name: "two stars with a repeated part", pattern: "*A*B", env: "XAYAB", want: true},
		{name: "two stars miss", pattern: "*A*B", env: "XAYABC", want: false},
		{name: "star in the middle", pattern: "A*Z", env: "ABCZ", want: true},
		{name: "star in the middle misses", pattern: "A*Z", env: "ABCZY", want: false},
		{name: "question mark is literal", pattern: "A?", env: "AB", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MatchEnv(tt.pattern, tt.env); got != tt.want {
				t.Errorf("MatchEnv(%q, %q) = %v, want %v", tt.pattern, tt.env, got, tt.want)
			}
		})
	}
}
