package e2e

// The mechanics of sandbar/run, driven as an editor drives them: many runs
// at once, output larger than memory, cancellation, deadlines, input, a
// terminal, the parameters, an editor that goes away, and runs outside
// the sandbox that only the user can allow.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sandbar-dev/sandbar/confine/confinetest"
)

// runAsync sends sandbar/run with params and returns at once, with the
// request's id and the channel its answer will come on. The editor may
// then talk to the host while the run goes on.
func (ed *editor) runAsync(params map[string]any) (int, <-chan rpcMessage) {
	ed.t.Helper()
	ch := make(chan rpcMessage, 1)
	ed.mu.Lock()
	ed.nextID++
	id := ed.nextID
	ed.pending[strconv.Itoa(id)] = ch
	ed.mu.Unlock()
	ed.sendJSON(map[string]any{"jsonrpc": "2.0", "id": id, "method": "sandbar/run", "params": params})
	return id, ch
}

// awaitAnswer waits for the answer that comes on ch.
func (ed *editor) awaitAnswer(what string, ch <-chan rpcMessage) rpcMessage {
	ed.t.Helper()
	select {
	case m := <-ch:
		return m
	case <-ed.exited:
		ed.t.Fatalf("the host exited (status %d) before answering %s", ed.exitCode, what)
	case <-time.After(awaitTimeout):
		ed.t.Fatalf("no answer to %s within %v", what, awaitTimeout)
	}
	return rpcMessage{}
}

// runAnswer waits for the answer on ch, which must be a result.
func (ed *editor) runAnswer(what string, ch <-chan rpcMessage) runResult {
	ed.t.Helper()
	return ed.runResultOf(what, ed.awaitAnswer(what, ch))
}

// runResultOf is the result m answers with; an error fails the test.
func (ed *editor) runResultOf(what string, m rpcMessage) runResult {
	ed.t.Helper()
	if m.Error != nil {
		ed.t.Fatalf("%s: %v", what, m.Error)
	}
	var res runResult
	if err := json.Unmarshal(m.Result, &res); err != nil {
		ed.t.Fatalf("%s: reading the result %s: %v", what, m.Result, err)
	}
	return res
}

// mustRun calls sandbar/run and requires a result.
func (ed *editor) mustRun(params map[string]any) runResult {
	ed.t.Helper()
	var res runResult
	if err := ed.call("sandbar/run", params, &res); err != nil {
		ed.t.Fatalf("sandbar/run %v: %v", params["argv"], err)
	}
	return res
}

// hasRunStarted says whether sandbar/runStarted came for run id.
func (s *editorState) hasRunStarted(id string) bool {
	for _, raw := range s.named("sandbar/runStarted") {
		var p struct {
			RunID string `json:"runId"`
		}
		if json.Unmarshal(raw, &p) == nil && p.RunID == id {
			return true
		}
	}
	return false
}

// awaitStdout waits until run id's output on stdout holds want.
func (ed *editor) awaitStdout(id, want string) {
	ed.t.Helper()
	ed.await(fmt.Sprintf("run %s to print %q", id, want), func(s *editorState) bool {
		return strings.Contains(s.output(id, "stdout"), want)
	})
}

// setResponder answers the host's requests with respond from now on.
// (Under the editor's lock, which orders it before any request the host
// sends later.)
func (ed *editor) setResponder(respond func(method string, params json.RawMessage) (any, *rpcError)) {
	ed.mu.Lock()
	ed.respond = respond
	ed.mu.Unlock()
}

// sleeperArgv is a marker and a command that starts two processes in the
// sandbox that would run for a long time, a background one and the
// shell's own child, every one with the marker in its command line: the
// marker is how long they sleep. It prints "started" once both exist.
func sleeperArgv() (marker string, argv []string) {
	marker = fmt.Sprintf("1000.%d%09d", os.Getpid(), time.Now().UnixNano()%1e9)
	return marker, []string{"sh", "-c", "sleep " + marker + " & echo started; sleep " + marker}
}

// awaitNoneMarked waits until no process has marker in its command line.
func awaitNoneMarked(t *testing.T, marker string) {
	t.Helper()
	confinetest.WaitFor(t, "every process of the run to be gone", 5*time.Second, func() bool {
		return len(confinetest.Marked(marker)) == 0
	})
}

// Many runs at once each get their whole output, in order, and each
// result comes after the last of its run's output.
func TestHostRunConcurrentOutputIsWholeAndBeforeTheResult(t *testing.T) {
	const runs, lines = 50, 2000
	e := newEnv(t)
	ed := startEditor(t, e, e.ws)
	// The request id of each run; an output seen when its request is no
	// longer pending came after its result.
	reqOf := map[string]string{}
	late := map[string]int{}
	ed.mu.Lock()
	ed.keep = func(method string, params json.RawMessage) bool {
		if method != "sandbar/output" {
			return true
		}
		var o outputParams
		json.Unmarshal(params, &o)
		if _, pending := ed.pending[reqOf[o.RunID]]; !pending {
			late[o.RunID]++
		}
		return true
	}
	ed.mu.Unlock()
	ed.initialize(e.ws)

	// Each line is written on its own, so the host's reads cut the output
	// anywhere.
	script := `i=1; while [ $i -le ` + strconv.Itoa(lines) + ` ]; do echo "$1 line $i"; i=$((i+1)); done`
	answers := map[string]<-chan rpcMessage{}
	for i := range runs {
		id := fmt.Sprintf("run%02d", i)
		ed.mu.Lock()
		reqOf[id] = strconv.Itoa(ed.nextID + 1) // runAsync's id
		ed.mu.Unlock()
		_, answers[id] = ed.runAsync(map[string]any{"runId": id, "argv": []string{"sh", "-c", script, "sh", id}})
	}
	for id, ch := range answers {
		res := ed.runAnswer("run "+id, ch)
		if res.ExitCode != 0 || res.Signal != nil {
			t.Errorf("run %s ended with %d %v; want 0", id, res.ExitCode, res.Signal)
		}
	}
	ed.mu.Lock()
	defer ed.mu.Unlock()
	for id := range answers {
		var want strings.Builder
		for n := 1; n <= lines; n++ {
			fmt.Fprintf(&want, "%s line %d\n", id, n)
		}
		if diff := cmp.Diff(want.String(), ed.received.output(id, "stdout")); diff != "" {
			t.Errorf("run %s's stdout (-want +got):\n%s", id, diff)
		}
		if late[id] > 0 {
			t.Errorf("run %s: %d sandbar/output came after its result", id, late[id])
		}
	}
}

// A command printing far more than memory holds, to an editor that keeps
// none of it, leaves the host's memory flat: the host holds one chunk at
// a time and waits for the editor to read it.
func TestHostRunHugeOutputKeepsMemoryFlat(t *testing.T) {
	const size = 256 << 20
	const maxPeakRSS = 100 << 20
	e := newEnv(t)
	ed := startEditor(t, e, e.ws)
	var got int64 // the bytes of sandbar/output data; under ed.mu
	bad := ""
	ed.mu.Lock()
	ed.keep = func(method string, params json.RawMessage) bool {
		if method != "sandbar/output" {
			return true
		}
		var o outputParams
		if err := json.Unmarshal(params, &o); err != nil || o.RunID != "big" || o.Stream != "stdout" || strings.Trim(o.Data, "a") != "" {
			if bad == "" {
				bad = string(params[:min(len(params), 200)])
			}
		}
		got += int64(len(o.Data))
		return false
	}
	ed.mu.Unlock()
	ed.initialize(e.ws)

	_, ch := ed.runAsync(map[string]any{"runId": "big", "argv": []string{"sh", "-c", fmt.Sprintf(`head -c %d /dev/zero | tr '\0' a`, size)}})
	// The run takes as long as the machine needs to move the bytes: wait
	// while they flow, and give up only when they stop.
	var answer rpcMessage
	for waiting, last := true, int64(0); waiting; {
		select {
		case answer = <-ch:
			waiting = false
		case <-ed.exited:
			t.Fatalf("the host exited (status %d) during the run", ed.exitCode)
		case <-time.After(awaitTimeout):
			ed.mu.Lock()
			now := got
			ed.mu.Unlock()
			if now == last {
				t.Fatalf("no output for %v, after %d bytes", awaitTimeout, now)
			}
			last = now
		}
	}
	res := ed.runResultOf("the run printing a lot", answer)
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", ed.cmd.Process.Pid))
	if err != nil {
		t.Fatalf("reading the host's memory use: %v", err)
	}
	if res.ExitCode != 0 {
		t.Errorf("the run ended with %d; want 0", res.ExitCode)
	}
	ed.mu.Lock()
	if got != size || bad != "" {
		t.Errorf("the editor got %d bytes of output; want %d, all a's on stdout (a wrong one: %s)", got, size, bad)
	}
	ed.mu.Unlock()
	peak := -1
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			if err == nil {
				peak = kb << 10
			}
		}
	}
	if peak < 0 {
		t.Fatalf("no VmHWM in the host's /proc status:\n%s", status)
	}
	t.Logf("the host's peak RSS: %d MiB", peak>>20)
	if peak > maxPeakRSS {
		t.Errorf("the host's peak RSS was %d MiB after printing %d MiB; want under %d MiB", peak>>20, size>>20, maxPeakRSS>>20)
	}
}

// $/cancelRequest for a run kills everything the command started and
// answers with how it ended.
func TestHostRunCancelKillsTheTree(t *testing.T) {
	e := newEnv(t)
	ed := startEditor(t, e, e.ws)
	ed.initialize(e.ws)
	marker, argv := sleeperArgv()
	id, ch := ed.runAsync(map[string]any{"runId": "doomed", "argv": argv})
	ed.awaitStdout("doomed", "started")
	ed.frame(fmt.Sprintf(`{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":%d}}`, id))
	res := ed.runAnswer("the cancelled run", ch)
	if !res.Cancelled || res.TimedOut || res.Signal == nil || *res.Signal != "SIGKILL" {
		t.Errorf("result %+v (signal %v); want cancelled by SIGKILL", res, res.Signal)
	}
	awaitNoneMarked(t, marker)
}

// A run past its timeoutMs is killed, with everything it started.
func TestHostRunTimeoutKillsTheTree(t *testing.T) {
	e := newEnv(t)
	ed := startEditor(t, e, e.ws)
	ed.initialize(e.ws)
	marker, argv := sleeperArgv()
	res := ed.mustRun(map[string]any{"runId": "slow", "argv": argv, "timeoutMs": 300})
	if !res.TimedOut || res.Cancelled || res.Signal == nil || *res.Signal != "SIGKILL" {
		t.Errorf("result %+v (signal %v); want timed out, killed by SIGKILL", res, res.Signal)
	}
	awaitNoneMarked(t, marker)
}

// stdin is the command's whole input.
func TestHostRunStdinWhole(t *testing.T) {
	e := newEnv(t)
	ed := startEditor(t, e, e.ws)
	ed.initialize(e.ws)
	const input = "first line\nsecond, with ünïcode\nno newline at the end"
	res := ed.mustRun(map[string]any{"runId": "cat", "argv": []string{"cat"}, "stdin": input})
	if res.ExitCode != 0 {
		t.Errorf("cat ended with %d; want 0", res.ExitCode)
	}
	if diff := cmp.Diff(input, ed.output("cat", "stdout")); diff != "" {
		t.Errorf("cat's output (-want +got):\n%s", diff)
	}
}

// stdinOpen keeps the input open for sandbar/input, until eof.
func TestHostRunStdinStreamed(t *testing.T) {
	e := newEnv(t)
	ed := startEditor(t, e, e.ws)
	ed.initialize(e.ws)
	_, ch := ed.runAsync(map[string]any{"runId": "cat", "argv": []string{"cat"}, "stdinOpen": true})
	ed.await("run cat to start", func(s *editorState) bool { return s.hasRunStarted("cat") })
	chunks := []string{"one\n", "two ", "and a half\n", "ünï"}
	for _, c := range chunks {
		ed.notify("sandbar/input", map[string]any{"runId": "cat", "data": c})
	}
	// cat echoes the first chunk while its input is still open.
	ed.awaitStdout("cat", "one\n")
	ed.notify("sandbar/input", map[string]any{"runId": "cat", "data": "code", "eof": true})
	res := ed.runAnswer("run cat", ch)
	if res.ExitCode != 0 {
		t.Errorf("cat ended with %d; want 0", res.ExitCode)
	}
	if diff := cmp.Diff(strings.Join(chunks, "")+"code", ed.output("cat", "stdout")); diff != "" {
		t.Errorf("cat's output (-want +got):\n%s", diff)
	}
}

// pty gives the command a terminal of the size asked.
func TestHostRunPtySize(t *testing.T) {
	e := newEnv(t)
	ed := startEditor(t, e, e.ws)
	ed.initialize(e.ws)
	res := ed.mustRun(map[string]any{
		"runId": "term",
		"argv":  []string{"sh", "-c", "stty size; test -t 0 && echo tty"},
		"pty":   map[string]any{"cols": 100, "rows": 40},
	})
	if res.ExitCode != 0 {
		t.Errorf("the run ended with %d; want 0", res.ExitCode)
	}
	// A terminal ends lines with \r\n.
	if diff := cmp.Diff("40 100\r\ntty\r\n", ed.output("term", "stdout")); diff != "" {
		t.Errorf("the output (-want +got):\n%s", diff)
	}
}

// sandbar/resize changes the size of a running command's terminal.
func TestHostRunPtyResize(t *testing.T) {
	e := newEnv(t)
	ed := startEditor(t, e, e.ws)
	ed.initialize(e.ws)
	_, ch := ed.runAsync(map[string]any{"runId": "sh", "argv": []string{"sh"}, "pty": map[string]any{"cols": 80, "rows": 24}})
	ed.await("run sh to start", func(s *editorState) bool { return s.hasRunStarted("sh") })
	ed.notify("sandbar/input", map[string]any{"runId": "sh", "data": "stty size\n"})
	ed.awaitStdout("sh", "24 80\r\n")
	ed.notify("sandbar/resize", map[string]any{"runId": "sh", "cols": 132, "rows": 50})
	ed.notify("sandbar/input", map[string]any{"runId": "sh", "data": "stty size\n"})
	ed.awaitStdout("sh", "50 132\r\n")
	ed.notify("sandbar/input", map[string]any{"runId": "sh", "data": "exit 7\n"})
	if res := ed.runAnswer("run sh", ch); res.ExitCode != 7 {
		t.Errorf("sh ended with %d; want 7", res.ExitCode)
	}
}

// What cwd and env change, one at a time, in a session of two folders.
func TestHostRunParams(t *testing.T) {
	e := newEnv(t)
	second := filepath.Join(e.root, "second")
	os.MkdirAll(filepath.Join(e.ws, "sub", "dir"), 0o755)
	os.MkdirAll(second, 0o755)
	ed := startEditor(t, e, e.ws)
	ed.initialize(e.ws, second)
	pwd := []string{"pwd"}
	tests := []struct {
		name   string
		params map[string]any
		want   string
	}{
		{"cwd defaults to the first folder", map[string]any{"argv": pwd}, e.ws + "\n"},
		{"cwd relative to the first folder", map[string]any{"argv": pwd, "cwd": "sub/dir"}, filepath.Join(e.ws, "sub", "dir") + "\n"},
		{"cwd absolute, in the second folder", map[string]any{"argv": pwd, "cwd": second}, second + "\n"},
		{"env adds a variable", map[string]any{
			"argv": []string{"sh", "-c", `echo "$E2E_GREETING"`},
			"env":  map[string]string{"E2E_GREETING": "hello there"},
		}, "hello there\n"},
		{"env replaces a variable", map[string]any{
			"argv": []string{"sh", "-c", `echo "$HOME"`},
			"env":  map[string]string{"HOME": "/nowhere"},
		}, "/nowhere\n"},
	}
	// One session for all: a run changes nothing the next one sees.
	for i, tt := range tests {
		id := fmt.Sprintf("p%d", i)
		tt.params["runId"] = id
		res := ed.mustRun(tt.params)
		if res.ExitCode != 0 {
			t.Errorf("%s: the run ended with %d; want 0", tt.name, res.ExitCode)
		}
		if diff := cmp.Diff(tt.want, ed.output(id, "stdout")); diff != "" {
			t.Errorf("%s: stdout (-want +got):\n%s\nstderr: %s", tt.name, diff, ed.output(id, "stderr"))
		}
	}
}

// A param of the wrong type is refused with -32602, and the host goes on.
func TestHostRunWrongParamType(t *testing.T) {
	e := newEnv(t)
	ed := startEditor(t, e, e.ws)
	ed.initialize(e.ws)
	err := ed.call("sandbar/run", map[string]any{"argv": "x"}, nil)
	re, ok := err.(*rpcError)
	if !ok || re.Code != -32602 || !strings.Contains(re.Message, "argv") {
		t.Errorf("sandbar/run with argv a string: %v; want -32602 naming argv", err)
	}
	if res := ed.mustRun(map[string]any{"runId": "after", "argv": []string{"true"}}); res.ExitCode != 0 {
		t.Errorf("the run after the refused one ended with %d; want 0", res.ExitCode)
	}
}

// sandbar/input for a run that is not running is logged, and the host
// goes on.
func TestHostRunInputForNoRunIsLogged(t *testing.T) {
	e := newEnv(t)
	ed := startEditor(t, e, e.ws)
	ed.initialize(e.ws)
	ed.notify("sandbar/input", map[string]any{"runId": "nope", "data": "hello\n"})
	ed.await("the host to log the input for no run", func(s *editorState) bool {
		for _, raw := range s.named("window/logMessage") {
			if strings.Contains(string(raw), `no run \"nope\" is running`) {
				return true
			}
		}
		return false
	})
	if res := ed.mustRun(map[string]any{"runId": "after", "argv": []string{"true"}}); res.ExitCode != 0 {
		t.Errorf("the run after the stray input ended with %d; want 0", res.ExitCode)
	}
}

// A second run under the runId of a live one is refused with -32602;
// the live one goes on.
func TestHostRunDuplicateIDRefused(t *testing.T) {
	e := newEnv(t)
	ed := startEditor(t, e, e.ws)
	ed.initialize(e.ws)
	_, ch := ed.runAsync(map[string]any{"runId": "dup", "argv": []string{"cat"}, "stdinOpen": true})
	ed.await("run dup to start", func(s *editorState) bool { return s.hasRunStarted("dup") })
	err := ed.call("sandbar/run", map[string]any{"runId": "dup", "argv": []string{"sh", "-c", "echo second"}}, nil)
	if re, ok := err.(*rpcError); !ok || re.Code != -32602 {
		t.Errorf("a second run named dup: %v; want -32602", err)
	}
	ed.notify("sandbar/input", map[string]any{"runId": "dup", "data": "first\n", "eof": true})
	if res := ed.runAnswer("the first run dup", ch); res.ExitCode != 0 {
		t.Errorf("the first run ended with %d; want 0", res.ExitCode)
	}
	if diff := cmp.Diff("first\n", ed.output("dup", "stdout")); diff != "" {
		t.Errorf("run dup's output (-want +got):\n%s", diff)
	}
}

// A host killed outright mid-run leaves no process of the run behind: the
// sandbox dies with it.
func TestHostRunHostKilled(t *testing.T) {
	e := newEnv(t)
	ed := startEditor(t, e, e.ws)
	ed.initialize(e.ws)
	marker, argv := sleeperArgv()
	ed.runAsync(map[string]any{"runId": "orphan", "argv": argv})
	ed.awaitStdout("orphan", "started")
	ed.cmd.Process.Kill()
	ed.wait()
	awaitNoneMarked(t, marker)
}

// unconfinedParams is a run outside the sandbox that would leave made.txt in
// the workspace and a file outside it.
func unconfinedParams(e *env) map[string]any {
	return map[string]any{
		"runId":      "free",
		"unconfined": true,
		"argv":       []string{"sh", "-c", "echo ran > made.txt; echo ran > " + filepath.Join(e.outside, "free.txt")},
	}
}

// An unconfined run only runs when the user chooses "Run unconfined"; an
// editor that cannot ask, or a user who never answers, means it does not.
func TestHostRunUnconfined(t *testing.T) {
	tests := []struct {
		name    string
		respond func(method string, params json.RawMessage) (any, *rpcError)
		options map[string]any
		// wantErr is part of the refusal; "" means the command runs.
		wantErr string
	}{
		{name: "the editor cannot ask", wantErr: "not approved"},
		{
			name: "the user chooses Run unconfined",
			respond: func(method string, _ json.RawMessage) (any, *rpcError) {
				if method != "window/showMessageRequest" {
					return nil, &rpcError{Code: -32601, Message: "no " + method}
				}
				return map[string]string{"title": "Run unconfined"}, nil
			},
		},
		{
			name:    "the user never answers",
			respond: func(string, json.RawMessage) (any, *rpcError) { return nil, errNoReply },
			options: map[string]any{"approvalTimeoutMs": 300},
			wantErr: "no answer within",
		},
		{
			name: "the user chooses Deny",
			respond: func(string, json.RawMessage) (any, *rpcError) {
				return map[string]string{"title": "Deny"}, nil
			},
			wantErr: "not approved",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			ed := startEditor(t, e, e.ws)
			if tt.respond != nil {
				ed.setResponder(tt.respond)
			}
			params := map[string]any{
				"processId":        nil,
				"clientInfo":       map[string]string{"name": "fake editor", "version": "1"},
				"workspaceFolders": []map[string]string{{"uri": fileURI(e.ws), "name": "proj"}},
				"capabilities":     map[string]any{},
			}
			if tt.options != nil {
				params["initializationOptions"] = tt.options
			}
			ed.initializeWith(params)
			var res runResult
			err := ed.call("sandbar/run", unconfinedParams(e), &res)
			_, statErr := os.Stat(filepath.Join(e.ws, "made.txt"))
			ran := statErr == nil
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "not approved") {
					t.Errorf("sandbar/run: %v, %+v; want refused, not approved, %q", err, res, tt.wantErr)
				}
				if ran {
					t.Error("the command ran")
				}
				return
			}
			if err != nil {
				t.Fatalf("sandbar/run: %v", err)
			}
			if res.Confined || res.ExitCode != 0 || !ran {
				t.Errorf("result %+v, made.txt made: %v; want run unconfined, exit 0", res, ran)
			}
			if _, err := os.Stat(filepath.Join(e.outside, "free.txt")); err != nil {
				t.Errorf("the unconfined command could not write outside the workspace: %v", err)
			}
		})
	}
}

// An editor that closes the host's stdin mid-run ends the session and
// every process of the run.
func TestHostRunEditorClosesStdin(t *testing.T) {
	e := newEnv(t)
	ed := startEditor(t, e, e.ws)
	ed.initialize(e.ws)
	marker, argv := sleeperArgv()
	ed.runAsync(map[string]any{"runId": "orphan", "argv": argv})
	ed.awaitStdout("orphan", "started")
	ed.stdin.Close()
	ed.wait()
	awaitNoneMarked(t, marker)
}
