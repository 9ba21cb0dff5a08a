package host

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The header names bwrap's descriptors by number, and confine decides
// the numbers: each claim of the header must be what the command line
// below it says.
func TestExplainHeaderMatchesTheCommandLine(t *testing.T) {
	sb, dir := explainSandbox(t)
	text, _, err := Explain(sb, []string{"make"}, dir, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	header, line, ok := strings.Cut(text, "\nbwrap ")
	if !ok {
		t.Fatalf("no bwrap command line in:\n%s", text)
	}
	if header+"\n" != explainHeader() {
		t.Errorf("the text does not start with the header:\n%s", header)
	}
	line = strings.ReplaceAll(line, " \\\n  ", " ") // one argument after another
	tests := []struct {
		claim string
		want  string // a regular expression the command line matches
	}{
		{"3 seccomp filter", `--seccomp 3 `},
		{"4 bwrap status", `--json-status-fd 4 `},
		// The init's arguments: STATUS-FD EXE-FD LIFELINE-FD WATCH-FD CONF-FD.
		{"5 sandbar's own binary (the init)", `-- /proc/self/fd/5 \S+ \d+ 5 `},
		{"6 the init's status pipe", `-- /proc/self/fd/5 \S+ 6 `},
		{"7 the lifeline", `-- /proc/self/fd/5 \S+ 6 5 7 `},
		{"8 the watch of protected paths (when there are any)", `-- /proc/self/fd/5 \S+ 6 5 7 (8|-1) `},
		{"9 the init's configuration (a run always has the relay)", `-- /proc/self/fd/5 \S+ 6 5 7 (8|-1) 9 -- make\n`},
	}
	for _, tt := range tests {
		t.Run(tt.claim, func(t *testing.T) {
			if !regexp.MustCompile(tt.want).MatchString(line) {
				t.Errorf("the command line does not match %q:\n%s", tt.want, line)
			}
		})
	}
	t.Run("12 the Landlock ruleset; 13 and up after the command", func(t *testing.T) {
		fds := regexp.MustCompile(`(?m)^# fd (\d+): (.*)$`).FindAllStringSubmatch(line, -1)
		if len(fds) == 0 {
			t.Fatalf("no descriptors listed after the command (the folder and the init have some):\n%s", line)
		}
		for _, m := range fds {
			n, _ := strconv.Atoi(m[1])
			landlock := strings.HasPrefix(m[2], "a Landlock ruleset")
			if landlock && n != 12 || !landlock && n < 13 {
				t.Errorf("fd %d: %s", n, m[2])
			}
		}
	})
}
