package auditlog_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/sandbar-dev/sandbar/workspace/auditlog"
)

// appenderEnv makes the test binary an appender process for
// TestRotationRaceAcrossProcesses: "path writer count maxSize".
const appenderEnv = "AUDITLOG_TEST_APPENDER"

func TestMain(m *testing.M) {
	if spec := os.Getenv(appenderEnv); spec != "" {
		os.Exit(appendAsProcess(spec))
	}
	os.Exit(m.Run())
}

func appendAsProcess(spec string) int {
	var path, writer string
	var count int
	var maxSize int64
	if _, err := fmt.Sscan(spec, &path, &writer, &count, &maxSize); err != nil {
		fmt.Fprintf(os.Stderr, "parsing %s=%q: %v\n", appenderEnv, spec, err)
		return 2
	}
	l := auditlog.Open(path, auditlog.Options{MaxSize: maxSize})
	// Wait for the test to start every appender at once.
	if _, err := os.Stdin.Read(make([]byte, 1)); err != io.EOF {
		fmt.Fprintf(os.Stderr, "waiting for the start: %v\n", err)
		return 2
	}
	for i := range count {
		if err := l.Append(numbered(writer, i)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return 0
}

// numbered is entry i of a writer, told apart by its Target.
func numbered(writer string, i int) auditlog.Entry {
	return auditlog.Entry{
		Kind: auditlog.KindNetwork, Target: fmt.Sprintf("%s-%d", writer, i),
		Decision: auditlog.Allowed, How: auditlog.HowPolicy, By: "policy",
	}
}

var t0 = time.Date(2026, 11, 27, 17, 40, 2, 0, time.UTC)

// clock returns t0, t0+1s, t0+2s, ...
func clock() func() time.Time {
	var mu sync.Mutex
	next := t0
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t := next
		next = next.Add(time.Second)
		return t
	}
}

func appendAll(t *testing.T, l *auditlog.Log, entries ...auditlog.Entry) {
	t.Helper()
	for _, e := range entries {
		if err := l.Append(e); err != nil {
			t.Fatal(err)
		}
	}
}

func TestAppendAndRead(t *testing.T) {
	asked := auditlog.Entry{
		Kind: auditlog.KindNetwork, Target: "evil.example:443", Operation: "connect",
		Decision: auditlog.Denied, How: auditlog.HowAsked,
		By: "user (Visual Studio Code)", Answer: "Deny",
		Run: "r3", Command: []string{"curl", "https://evil.example"}, Folder: "/home/me/app",
	}
	byPolicy := auditlog.Entry{
		Kind: auditlog.KindFile, Target: "/home/me/.bashrc", Operation: "write",
		Decision: auditlog.Denied, How: auditlog.HowPolicy, By: "policy",
		Reason: "protected: shell start-up file", Run: "r3",
	}
	stamped := auditlog.Entry{
		Time: t0.Add(time.Hour), PID: 7,
		Kind: auditlog.KindTrust, Target: "/home/me/app/.sandbar/policy.jsonc",
		Decision: auditlog.Allowed, How: auditlog.HowAsked, By: "user (terminal)",
	}
	path := filepath.Join(t.TempDir(), auditlog.FileName)
	appendAll(t, auditlog.Open(path, auditlog.Options{Now: clock()}), asked, byPolicy, stamped)

	// Append stamps the time and pid only where the caller left them zero.
	asked.Time, asked.PID = t0, os.Getpid()
	byPolicy.Time, byPolicy.PID = t0.Add(time.Second), os.Getpid()
	all := []auditlog.Entry{asked, byPolicy, stamped}
	tests := []struct {
		name string
		n    int
		want []auditlog.Entry
	}{
		{"all", 0, all},
		{"last two", 2, all[1:]},
		{"more than there are", 10, all},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, skipped, err := auditlog.Read(path, tt.n)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Read(%d) (-want +got):\n%s", tt.n, diff)
			}
			if skipped != 0 {
				t.Errorf("skipped %d lines of a sound log", skipped)
			}
		})
	}
}

// TestConcurrentAppends: 50 goroutines spread over 5 Logs of one file (so
// 5 open files, as 5 processes would have) lose no entry and never mix
// two lines.
func TestConcurrentAppends(t *testing.T) {
	const goroutines, logs, each = 50, 5, 20
	path := filepath.Join(t.TempDir(), auditlog.FileName)
	var ls []*auditlog.Log
	for range logs {
		ls = append(ls, auditlog.Open(path, auditlog.Options{}))
	}
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*each)
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				if err := ls[g%logs].Append(numbered(strconv.Itoa(g), i)); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	lines := readLines(t, path)
	want := map[string]bool{}
	for g := range goroutines {
		for i := range each {
			want[fmt.Sprintf("%d-%d", g, i)] = true
		}
	}
	got := map[string]bool{}
	for _, e := range decodeLines(t, lines) {
		got[e.Target] = true
	}
	if len(lines) != len(want) {
		t.Errorf("%d lines, want %d", len(lines), len(want))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("targets logged (-want +got):\n%s", diff)
	}
}

// TestRotation: past MaxSize the file becomes .1, replacing the older .1;
// Read sees the newest lines, across both generations, in order.
func TestRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), auditlog.FileName)
	probe, _ := json.Marshal(numbered("w", 10))
	lineSize := int64(len(probe) + len(`,"pid":1234567`) + 1) // generous: the pid varies in length
	const perFile = 4
	// The clock's times are as long as the zero time in probe.
	l := auditlog.Open(path, auditlog.Options{MaxSize: perFile * lineSize, Now: clock()})
	var all []string
	for i := range 10 + 3*perFile { // several rotations
		appendAll(t, l, numbered("w", i))
		all = append(all, fmt.Sprintf("w-%d", i))
	}

	current := targets(decodeLines(t, readLines(t, path)))
	older := targets(decodeLines(t, readLines(t, path+".1")))
	if len(current) == 0 || len(current) > perFile || len(older) == 0 || len(older) > perFile {
		t.Fatalf("generations of %d and %d lines; want 1 to %d each", len(older), len(current), perFile)
	}
	kept := append(older, current...)
	if diff := cmp.Diff(all[len(all)-len(kept):], kept); diff != "" {
		t.Errorf("the two generations are not the newest lines in order (-want +got):\n%s", diff)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() > perFile*lineSize {
		t.Errorf("the current file: %v, %v; want at most %d bytes", fi.Size(), err, perFile*lineSize)
	}

	entries, _, err := auditlog.Read(path, len(kept)-1)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(kept[1:], targets(entries)); diff != "" {
		t.Errorf("Read across the generations (-want +got):\n%s", diff)
	}
}

// TestRotationRaceAcrossProcesses: processes appending to one file and
// rotating it at a small size never tear a line, never write into a file
// already rotated away, and never both rotate the same file: what remains
// is, for every writer, an unbroken run of its newest entries.
func TestRotationRaceAcrossProcesses(t *testing.T) {
	const processes, each, maxSize = 4, 1000, 16 << 10
	path := filepath.Join(t.TempDir(), auditlog.FileName)
	start, ready, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer start.Close()
	var cmds []*exec.Cmd
	for p := range processes {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s p%d %d %d", appenderEnv, path, p, each, maxSize))
		cmd.Stdin, cmd.Stderr = start, os.Stderr
		if err := cmd.Start(); err != nil {
			ready.Close()
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	ready.Close() // every appender reads EOF and starts
	for _, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("appender %v: %v", cmd.Env[len(cmd.Env)-1], err)
		}
	}

	older, current := readLines(t, path+".1"), readLines(t, path)
	// A rotation happens only when the next line would not fit, so the
	// older generation is nearly full. Had two processes both rotated,
	// the second would have pushed out the full one for a nearly empty
	// file just begun by the first.
	var olderSize, longest int
	for _, line := range append(older, current...) {
		longest = max(longest, len(line))
	}
	for _, line := range older {
		olderSize += len(line)
	}
	if olderSize+longest <= maxSize {
		t.Errorf("%s.1 has %d bytes; rotated while a line of %d more would still have fit in %d", path, olderSize, longest, maxSize)
	}
	seen := map[string][]int{}
	for _, e := range decodeLines(t, append(older, current...)) {
		writer, n, _ := strings.Cut(e.Target, "-")
		i, err := strconv.Atoi(n)
		if err != nil {
			t.Fatalf("target %q", e.Target)
		}
		seen[writer] = append(seen[writer], i)
	}
	for p := range processes {
		got := seen[fmt.Sprintf("p%d", p)]
		if len(got) == 0 {
			continue // it finished long enough before the others
		}
		var want []int
		for i := got[0]; i < each; i++ {
			want = append(want, i)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("p%d: entries kept are not its newest without a gap (-want +got):\n%s", p, diff)
		}
	}
}

// TestRotatedWhileWaitingForTheLock: an appender that opened the file
// just before another process rotated it must not rotate again (which
// would throw the full generation away for the nearly empty new file) nor
// write into the file now named .1; it starts over on the new file. The
// test plays the other process: it holds the lock, waits until the
// appender is queued on it, then rotates and appends.
func TestRotatedWhileWaitingForTheLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), auditlog.FileName)
	line := func(target string) string {
		b, _ := json.Marshal(auditlog.Entry{Time: t0, PID: 1, Kind: auditlog.KindRun, Target: target, Decision: auditlog.Allowed, How: auditlog.HowPolicy})
		return string(b) + "\n"
	}
	full := line("old-0") + line("old-1") + line("old-2")
	writeFile(t, path, full)
	held, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if err := unix.Flock(int(held.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}

	// The full file has no room for one more line.
	l := auditlog.Open(path, auditlog.Options{MaxSize: int64(len(full)), Now: func() time.Time { return t0 }})
	appended := make(chan error, 1)
	go func() {
		appended <- l.Append(auditlog.Entry{PID: 1, Kind: auditlog.KindRun, Target: "waiter", Decision: auditlog.Allowed, How: auditlog.HowPolicy})
	}()
	waitForLockWaiter(t, held)

	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, line("rotator"))
	held.Close() // releases the lock

	if err := <-appended; err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ path, want string }{
		{path + ".1", full},
		{path, line("rotator") + line("waiter")},
	} {
		got, err := os.ReadFile(c.path)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(c.want, string(got)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", c.path, diff)
		}
	}
}

// waitForLockWaiter returns once /proc/locks shows a process queued for
// the flock on f. Where there is no /proc/locks (macOS) it returns at
// once: the test then still checks the outcome, though the appender may
// not have opened the file before the rotation.
func waitForLockWaiter(t *testing.T, f *os.File) {
	t.Helper()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	ino := fmt.Sprintf(":%d ", fi.Sys().(*syscall.Stat_t).Ino)
	deadline := time.Now().Add(10 * time.Second)
	for {
		locks, err := os.ReadFile("/proc/locks")
		if err != nil {
			t.Logf("cannot see lock waiters (%v); rotating without waiting for the appender", err)
			return
		}
		for l := range strings.Lines(string(locks)) {
			if strings.Contains(l, "-> FLOCK") && strings.Contains(l, ino) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the appender never queued for the lock")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestDamagedLinesAreSkipped(t *testing.T) {
	good := func(i int) string {
		b, _ := json.Marshal(numbered("w", i))
		return string(b) + "\n"
	}
	tests := []struct {
		name        string
		older, file string
		n           int
		want        []string
		skipped     int
	}{
		{
			name: "last line cut short by a crash",
			file: good(0) + good(1) + good(2)[:20],
			want: []string{"w-0", "w-1"}, skipped: 1,
		},
		{
			name: "garbage between entries",
			file: good(0) + "not json\n" + good(1) + "{}\n" + good(2),
			want: []string{"w-0", "w-1", "w-2"}, skipped: 2,
		},
		{
			name:  "torn line at the end of the older generation",
			older: good(0) + good(1)[:30], file: good(2),
			want: []string{"w-0", "w-2"}, skipped: 1,
		},
		{
			name: "only the damage met on the way to n entries is counted",
			file: "garbage\n" + good(0) + "garbage\n" + good(1) + good(2),
			n:    2, want: []string{"w-1", "w-2"}, skipped: 0,
		},
		{
			name:    "blank lines are not damage",
			file:    "\n" + good(0) + "\n\n" + good(1),
			want:    []string{"w-0", "w-1"},
			skipped: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), auditlog.FileName)
			if tt.older != "" {
				writeFile(t, path+".1", tt.older)
			}
			writeFile(t, path, tt.file)
			got, skipped, err := auditlog.Read(path, tt.n)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, targets(got)); diff != "" {
				t.Errorf("entries (-want +got):\n%s", diff)
			}
			if skipped != tt.skipped {
				t.Errorf("skipped %d lines, want %d", skipped, tt.skipped)
			}
		})
	}
}

// TestAppendAfterTornLine: an entry appended after a line cut short starts
// a line of its own instead of being lost with the torn one.
func TestAppendAfterTornLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), auditlog.FileName)
	writeFile(t, path, `{"time":"2026-11-27T17:40:02Z","kind":"netw`)
	appendAll(t, auditlog.Open(path, auditlog.Options{}), numbered("w", 0))
	got, skipped, err := auditlog.Read(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"w-0"}, targets(got)); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
	if skipped != 1 {
		t.Errorf("skipped %d lines, want the torn one", skipped)
	}
}

func TestReadMissingLog(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name  string
		older string // content of audit.jsonl.1, if any
		want  []string
	}{
		{name: "no log at all"},
		{name: "rotated, nothing since", older: `{"kind":"run","target":"w-0","decision":"allowed","how":"policy"}` + "\n", want: []string{"w-0"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strconv.Itoa(i), auditlog.FileName)
			if tt.older != "" {
				os.MkdirAll(filepath.Dir(path), 0o700)
				writeFile(t, path+".1", tt.older)
			}
			got, skipped, err := auditlog.Read(path, 20)
			if err != nil || skipped != 0 {
				t.Fatalf("Read: %d skipped, error %v; want neither", skipped, err)
			}
			if diff := cmp.Diff(tt.want, targets(got)); diff != "" {
				t.Errorf("entries (-want +got):\n%s", diff)
			}
		})
	}
}

// TestNilLog: callers without a log pass nil and need no check.
func TestNilLog(t *testing.T) {
	var l *auditlog.Log
	if err := l.Append(numbered("w", 0)); err != nil {
		t.Errorf("Append on a nil Log: %v", err)
	}
	if p := l.Path(); p != "" {
		t.Errorf("Path of a nil Log = %q, want none", p)
	}
}

func TestAppendRefusesEntryWithoutDecision(t *testing.T) {
	path := filepath.Join(t.TempDir(), auditlog.FileName)
	l := auditlog.Open(path, auditlog.Options{})
	err := l.Append(auditlog.Entry{Kind: auditlog.KindNetwork, Target: "x.example:443"})
	if err == nil || !strings.Contains(err.Error(), "no decision") {
		t.Errorf("Append without a decision: error %v, want one saying so", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("the refused entry created the log: %v", err)
	}
}

// TestModes: the log says what the user did and was asked; only they read it.
func TestModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "sandbar")
	path := filepath.Join(dir, auditlog.FileName)
	l := auditlog.Open(path, auditlog.Options{})
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("Open touched the disk: %v", err)
	}
	appendAll(t, l, numbered("w", 0))
	for _, c := range []struct {
		path string
		want os.FileMode
	}{
		{dir, os.ModeDir | 0o700},
		{path, 0o600},
	} {
		fi, err := os.Stat(c.path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode(); got != c.want {
			t.Errorf("%s: mode %v, want %v", c.path, got, c.want)
		}
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// readLines returns the lines of path, failing the test on any without
// its newline.
func readLines(t *testing.T, path string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		t.Errorf("%s does not end with a newline", path)
	}
	return bytes.SplitAfter(bytes.TrimSuffix(b, []byte("\n")), []byte("\n"))
}

// decodeLines decodes lines, each of which must be one whole entry.
func decodeLines(t *testing.T, lines [][]byte) []auditlog.Entry {
	t.Helper()
	var entries []auditlog.Entry
	for _, line := range lines {
		if len(line) == 0 {
			continue
		}
		var e auditlog.Entry
		if err := json.Unmarshal(line, &e); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		entries = append(entries, e)
	}
	return entries
}

func targets(entries []auditlog.Entry) []string {
	var ts []string
	for _, e := range entries {
		ts = append(ts, e.Target)
	}
	return ts
}
