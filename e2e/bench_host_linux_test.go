package e2e

// Benchmarks of the editor host, `sandbar serve`, as an editor sees it:
// how long a sandbar/run takes against raw bubblewrap, how soon a saved
// policy file is in force, and how much memory the host holds. The README
// quotes them:
//
//	go test ./e2e -run '^$' -bench 'HostRun|PolicySave|HostMemory' -benchtime 100x -count 3
//
// The fake editor of editor_linux_test.go takes a *testing.T, so these
// drive the host through hostClient, a smaller client of their own.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// hostMemoryRuns is how many commands BenchmarkHostMemory keeps running
// at once.
const hostMemoryRuns = 50

// BenchmarkHostRun measures one sandbar/run of /bin/true through a running
// host, from the request to its answer ("host"), against raw bwrap running
// /bin/true with the namespaces and mounts `sandbar explain` lists for the
// same workspace, less the seccomp filter, sandbar's init and the
// descriptors ("bwrap"). The host sub-benchmark also runs the raw bwrap and
// `sandbar run -- /bin/true` once per iteration, outside the timer, so its
// ratios (x-bwrap, x-cli: of medians) compare runs made side by side.
func BenchmarkHostRun(b *testing.B) {
	requireBwrap(b)
	m := newBenchMachine(b)
	raw := m.bwrapArgv("/bin/true")
	b.Run("bwrap", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			m.runArgv(b, raw)
		}
	})
	b.Run("host", func(b *testing.B) {
		h := startHostClient(b, m)
		h.initialize(b, m.ws)
		cli := []string{sandbarBin, "run", "--", "/bin/true"}
		var viaHost, viaBwrap, viaCLI []time.Duration
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			var res runResult
			start := time.Now()
			err := h.call("sandbar/run", map[string]any{"argv": []string{"/bin/true"}}, &res)
			viaHost = append(viaHost, time.Since(start))
			b.StopTimer()
			if err != nil {
				b.Fatalf("sandbar/run: %v", err)
			}
			if res.ExitCode != 0 || !res.Confined {
				b.Fatalf("sandbar/run of /bin/true: %+v; want exit 0, confined", res)
			}
			viaBwrap = append(viaBwrap, m.runArgv(b, raw))
			viaCLI = append(viaCLI, m.runArgv(b, cli))
			b.StartTimer()
		}
		b.StopTimer()
		host, bw, c := millis(median(viaHost)), millis(median(viaBwrap)), millis(median(viaCLI))
		b.ReportMetric(float64(meanDuration(viaHost).Nanoseconds()), "ns/op")
		b.ReportMetric(host, "ms-host")
		b.ReportMetric(bw, "ms-bwrap")
		b.ReportMetric(c, "ms-cli")
		b.ReportMetric(host/bw, "x-bwrap")
		b.ReportMetric(host/c, "x-cli")
	})
}

// BenchmarkPolicySaveToEnforce measures how soon a saved policy file is in
// force, each save made as editors make it: a new file renamed over the
// old one.
//
//   - "applied": from the save of the folder's .sandbar/policy.jsonc to the
//     host's sandbar/policyApplied for it (cause "policyFile"), with no
//     command running;
//   - "connection": from the save of the user's policy, allowing a server
//     on 127.0.0.2 that the saved policy before it denied, to the first
//     request reaching that server from a command already running: a curl
//     loop, each request on a new connection, under sandbar/run. Between
//     two timed saves, an untimed one denies the server again and the loop
//     is seen refused. The loop's period (ms-probe-period) bounds what it
//     adds to the figure.
//
// Each reports the median and the 99th percentile, in ms; ns/op is the mean.
func BenchmarkPolicySaveToEnforce(b *testing.B) {
	requireBwrap(b)
	b.Run("applied", func(b *testing.B) {
		m := newBenchMachine(b)
		file := filepath.Join(m.ws, ".sandbar", "policy.jsonc")
		content := func(i int) string {
			return fmt.Sprintf("{\"version\": 1, \"network\": {\"deniedDomains\": [\"save-%d.example\"]}}\n", i)
		}
		m.save(b, file, content(-1))
		h := startHostClient(b, m)
		h.initialize(b, m.ws)
		var took []time.Duration
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			gen := h.generation()
			start := m.save(b, file, content(i))
			took = append(took, h.awaitSaved(b, gen, fmt.Sprintf("save-%d.example", i)).Sub(start))
		}
		b.StopTimer()
		reportLatencies(b, took, "")
	})
	b.Run("connection", func(b *testing.B) {
		m := newBenchMachine(b)
		srv := newHitServer(b)
		file := filepath.Join(m.home, ".config", "sandbar", "policy.jsonc")
		deny := fmt.Sprintf("{\"version\": 1, \"network\": {\"deniedDomains\": [%q]}}\n", srv.addr)
		allow := fmt.Sprintf("{\"version\": 1, \"network\": {\"allowedDomains\": [%q]}}\n", srv.addr)
		m.save(b, file, deny)
		h := startHostClient(b, m)
		probe := &probeCodes{seen200: true}
		h.onNote = probe.note
		h.initialize(b, m.ws)
		loop := `while :; do curl -s --noproxy '' -x http://127.0.0.1:3128 -o /dev/null -w '%{http_code}\n' http://` + srv.addr + `/; done`
		probeID, done, err := h.start("sandbar/run", map[string]any{"runId": "probe", "argv": []string{"sh", "-c", loop}})
		if err != nil {
			b.Fatal(err)
		}
		h.await(b, "the probe refused by the first policy", probe.refusedAgain)
		began := time.Now()
		h.mu.Lock()
		codes0 := probe.codes
		h.mu.Unlock()
		var took []time.Duration
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			h.mu.Lock()
			probe.seen200 = false
			h.mu.Unlock()
			srv.arm()
			start := m.save(b, file, allow)
			hit, err := srv.firstHit(awaitTimeout)
			if err != nil {
				b.Fatalf("save %d: %v; the host's stderr:\n%s", i, err, h.stderr.String())
			}
			took = append(took, hit.Sub(start))
			m.save(b, file, deny)
			h.await(b, "the probe refused again", probe.refusedAgain)
		}
		b.StopTimer()
		h.mu.Lock()
		codes := probe.codes - codes0
		h.mu.Unlock()
		reportLatencies(b, took, "conn-")
		if codes > 0 {
			b.ReportMetric(millis(time.Since(began))/float64(codes), "ms-probe-period")
		}
		h.cancel(b, probeID)
		select {
		case msg := <-done:
			if msg.Error != nil && msg.Error.Code != -32800 {
				b.Errorf("the probe's run: %v", msg.Error)
			}
		case <-time.After(awaitTimeout):
			b.Errorf("the probe's run: no answer within %v of its cancellation", awaitTimeout)
		}
	})
}

// BenchmarkHostMemory measures the host's resident memory: idle, after
// initialize and the first policy load (MB-idle), with 50 commands running
// at once (MB-inflight, then the high-water mark MB-peak), and after they
// have been cancelled (MB-after). One op is one run; they start in waves
// of 50, and each wave is cancelled once all its commands have started.
func BenchmarkHostMemory(b *testing.B) {
	requireBwrap(b)
	m := newBenchMachine(b)
	h := startHostClient(b, m)
	started := map[string]bool{}
	h.onNote = func(method string, params json.RawMessage, _ time.Time) {
		var o outputParams
		if method == "sandbar/output" && json.Unmarshal(params, &o) == nil && strings.Contains(o.Data, "up") {
			started[o.RunID] = true
		}
	}
	h.initialize(b, m.ws)
	idle := h.memory(b, "VmRSS")
	var inflight float64
	most := 0
	b.ResetTimer()
	for wave := 0; wave*hostMemoryRuns < b.N; wave++ {
		n := min(hostMemoryRuns, b.N-wave*hostMemoryRuns)
		ids := make([]string, n)
		reqs := make([]int, n)
		dones := make([]<-chan rpcMessage, n)
		for j := range ids {
			ids[j] = fmt.Sprintf("w%d-%d", wave, j)
			var err error
			reqs[j], dones[j], err = h.start("sandbar/run", map[string]any{"runId": ids[j], "argv": []string{"sh", "-c", "echo up; exec sleep 600"}})
			if err != nil {
				b.Fatal(err)
			}
		}
		h.await(b, fmt.Sprintf("%d commands to start", n), func() bool {
			for _, id := range ids {
				if !started[id] {
					return false
				}
			}
			return true
		})
		b.StopTimer()
		inflight = max(inflight, h.memory(b, "VmRSS"))
		most = max(most, n)
		b.StartTimer()
		for _, req := range reqs {
			h.cancel(b, req)
		}
		for j, done := range dones {
			select {
			case msg := <-done:
				var res runResult
				if msg.Error != nil && msg.Error.Code != -32800 {
					b.Fatalf("run %s: %v", ids[j], msg.Error)
				} else if msg.Error == nil && (json.Unmarshal(msg.Result, &res) != nil || !res.Cancelled) {
					b.Fatalf("run %s: %s; want it cancelled", ids[j], msg.Result)
				}
			case <-time.After(awaitTimeout):
				b.Fatalf("run %s: no answer within %v of its cancellation", ids[j], awaitTimeout)
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(idle, "MB-idle")
	b.ReportMetric(inflight, "MB-inflight")
	b.ReportMetric(h.memory(b, "VmHWM"), "MB-peak")
	b.ReportMetric(h.memory(b, "VmRSS"), "MB-after")
	b.ReportMetric(float64(most), "runs-inflight")
}

// benchMachine is a user's machine for one benchmark: a home and a
// workspace that is a git repository, in a directory the sandbox sees.
type benchMachine struct {
	root, home, ws string
	env            []string
}

func newBenchMachine(b *testing.B) *benchMachine {
	root, err := os.MkdirTemp(homeBaseB(b), "bench-host-")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(root) })
	root, _ = filepath.EvalSymlinks(root)
	os.Chmod(root, 0o755)
	m := &benchMachine{root: root, home: filepath.Join(root, "home")}
	m.ws = filepath.Join(m.home, "proj")
	if err := os.MkdirAll(m.ws, 0o755); err != nil {
		b.Fatal(err)
	}
	m.env = []string{"HOME=" + m.home, "PATH=" + os.Getenv("PATH"),
		"XDG_CONFIG_HOME=" + filepath.Join(m.home, ".config"),
		"XDG_STATE_HOME=" + filepath.Join(m.home, ".local", "state")}
	mustRun(b, m.ws, "git", "init", "-q")
	return m
}

// bwrapArgv is raw bwrap running argv with what `sandbar explain` lists
// for m's workspace: the same namespaces and mounts, bound by path rather
// than by descriptor, without the seccomp filter and sandbar's init.
func (m *benchMachine) bwrapArgv(argv ...string) []string {
	git := filepath.Join(m.ws, ".git")
	return append([]string{"bwrap",
		"--unshare-user", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup",
		"--disable-userns", "--cap-drop", "ALL", "--new-session", "--as-pid-1", "--hostname", "sandbar",
		"--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp",
		"--bind", m.ws, m.ws, "--bind", git, git,
		"--ro-bind", filepath.Join(git, "config"), filepath.Join(git, "config"),
		"--ro-bind", filepath.Join(git, "hooks"), filepath.Join(git, "hooks"),
		"--chdir", m.ws, "--"}, argv...)
}

// runArgv runs argv in the workspace and returns how long it took.
func (m *benchMachine) runArgv(b *testing.B, argv []string) time.Duration {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = m.ws
	cmd.Env = m.env
	start := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(start)
	if err != nil {
		b.Fatalf("%v: %v\n%s", argv, err, out)
	}
	return took
}

// save writes path as an editor saves it, a new file renamed over the
// old one, and returns when the save began.
func (m *benchMachine) save(b *testing.B, path, content string) time.Time {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	tmp := path + ".saving"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		b.Fatal(err)
	}
	return start
}

// hostClient is an editor's end of `sandbar serve --stdio`, only as much
// as the benchmarks need: requests from any goroutine, every
// sandbar/policyApplied with the time it arrived, a hook for the other
// notifications, and conditions to await. The host's own requests are
// answered "method not found".
type hostClient struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr *syncBuffer

	writeMu sync.Mutex

	mu      sync.Mutex
	changed chan struct{} // closed and replaced whenever something arrives
	nextID  int
	pending map[string]chan rpcMessage
	applied []appliedAt
	broken  string // what was on stdout that was not a frame
	// onNote, when set, sees every notification but sandbar/policyApplied,
	// on the reading goroutine, with mu held. Set it before initialize.
	onNote func(method string, params json.RawMessage, at time.Time)
	exited chan struct{}
}

// appliedAt is a sandbar/policyApplied and when it arrived.
type appliedAt struct {
	policyAppliedParams
	at time.Time
}

func startHostClient(b *testing.B, m *benchMachine) *hostClient {
	b.Helper()
	cmd := exec.Command(sandbarBin, "serve", "--stdio")
	cmd.Dir = m.ws
	cmd.Env = m.env
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	h := &hostClient{cmd: cmd, stdin: stdin, stderr: &syncBuffer{},
		changed: make(chan struct{}), pending: map[string]chan rpcMessage{}, exited: make(chan struct{})}
	cmd.Stderr = h.stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	go h.read(stdout)
	b.Cleanup(func() {
		stdin.Close()
		select {
		case <-h.exited:
		case <-time.After(awaitTimeout):
			cmd.Process.Kill()
			<-h.exited
			b.Errorf("the host did not exit within %v of its stdin closing", awaitTimeout)
		}
		h.mu.Lock()
		broken := h.broken
		h.mu.Unlock()
		if broken != "" {
			b.Errorf("the host's stdout carried more than the protocol: %q", broken)
		}
		if b.Failed() {
			b.Logf("the host's stderr:\n%s", h.stderr.String())
		}
	})
	return h
}

func (h *hostClient) read(stdout io.Reader) {
	defer func() {
		h.cmd.Wait()
		h.mu.Lock()
		close(h.exited)
		h.broadcast()
		h.mu.Unlock()
	}()
	r := bufio.NewReader(stdout)
	for {
		body, err := readFrame(r)
		at := time.Now()
		if err != nil {
			if err != io.EOF {
				h.mu.Lock()
				h.broken += err.Error()
				h.mu.Unlock()
			}
			return
		}
		var msg rpcMessage
		if err := json.Unmarshal(body, &msg); err != nil {
			h.mu.Lock()
			h.broken += string(body)
			h.mu.Unlock()
			continue
		}
		switch {
		case msg.Method != "" && len(msg.ID) > 0:
			reply, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": msg.ID,
				"error": &rpcError{Code: -32601, Message: "the benchmark does not answer " + msg.Method}})
			go h.write(reply)
		case msg.Method == "sandbar/policyApplied":
			var a appliedAt
			json.Unmarshal(msg.Params, &a.policyAppliedParams)
			a.at = at
			h.mu.Lock()
			h.applied = append(h.applied, a)
			h.broadcast()
			h.mu.Unlock()
		case msg.Method != "":
			h.mu.Lock()
			if h.onNote != nil {
				h.onNote(msg.Method, msg.Params, at)
			}
			h.broadcast()
			h.mu.Unlock()
		default:
			h.mu.Lock()
			if ch, ok := h.pending[string(msg.ID)]; ok {
				delete(h.pending, string(msg.ID))
				ch <- msg
			}
			h.mu.Unlock()
		}
	}
}

// broadcast wakes the waiters; h.mu is held.
func (h *hostClient) broadcast() {
	close(h.changed)
	h.changed = make(chan struct{})
}

func (h *hostClient) write(body []byte) error {
	h.writeMu.Lock()
	defer h.writeMu.Unlock()
	_, err := fmt.Fprintf(h.stdin, "Content-Length: %d\r\n\r\n%s", len(body), body)
	return err
}

// start sends a request and returns its id and where its answer will
// come. It may be called from any goroutine.
func (h *hostClient) start(method string, params any) (int, <-chan rpcMessage, error) {
	h.mu.Lock()
	h.nextID++
	id := h.nextID
	ch := make(chan rpcMessage, 1)
	h.pending[strconv.Itoa(id)] = ch
	h.mu.Unlock()
	body, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})
	if err != nil {
		return 0, nil, err
	}
	if err := h.write(body); err != nil {
		return 0, nil, fmt.Errorf("sending %s: %w", method, err)
	}
	return id, ch, nil
}

// call sends a request and waits for its answer: the error the host
// answered with, or nil with the result in result.
func (h *hostClient) call(method string, params, result any) error {
	_, ch, err := h.start(method, params)
	if err != nil {
		return err
	}
	select {
	case msg := <-ch:
		if msg.Error != nil {
			return msg.Error
		}
		if result != nil {
			return json.Unmarshal(msg.Result, result)
		}
		return nil
	case <-h.exited:
		return fmt.Errorf("%s: the host exited before answering", method)
	case <-time.After(awaitTimeout):
		return fmt.Errorf("%s: no answer within %v", method, awaitTimeout)
	}
}

func (h *hostClient) notify(method string, params any) error {
	body, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "method": method, "params": params})
	if err != nil {
		return err
	}
	return h.write(body)
}

// cancel cancels the request of id (as start returned it).
func (h *hostClient) cancel(b *testing.B, id int) {
	if err := h.notify("$/cancelRequest", map[string]any{"id": id}); err != nil {
		b.Fatal(err)
	}
}

// await waits until cond holds; cond runs with h.mu held.
func (h *hostClient) await(b *testing.B, what string, cond func() bool) {
	b.Helper()
	deadline := time.After(awaitTimeout)
	for {
		h.mu.Lock()
		ok := cond()
		ch := h.changed
		h.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-h.exited:
			b.Fatalf("waiting for %s: the host exited; its stderr:\n%s", what, h.stderr.String())
		case <-deadline:
			b.Fatalf("waiting for %s: not within %v", what, awaitTimeout)
		}
	}
}

// initialize starts the session on folder and waits for the first
// policy load.
func (h *hostClient) initialize(b *testing.B, folder string) {
	b.Helper()
	err := h.call("initialize", map[string]any{
		"processId":        nil,
		"clientInfo":       map[string]string{"name": "benchmark", "version": "1"},
		"workspaceFolders": []map[string]string{{"uri": fileURI(folder), "name": filepath.Base(folder)}},
		"capabilities":     map[string]any{},
	}, nil)
	if err == nil {
		err = h.notify("initialized", map[string]any{})
	}
	if err != nil {
		b.Fatalf("initialize: %v", err)
	}
	h.await(b, "the first policy load", func() bool {
		return slices.ContainsFunc(h.applied, func(a appliedAt) bool { return a.OK })
	})
}

// generation is the last generation announced.
func (h *hostClient) generation() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	var g int64
	for _, a := range h.applied {
		g = max(g, a.Generation)
	}
	return g
}

// awaitSaved waits until the policy in force is of a generation after gen
// and has a rule whose value is marker, and returns when that generation's
// sandbar/policyApplied arrived. (A save may be seen as more than one
// change, the first of which may still find the old file.)
func (h *hostClient) awaitSaved(b *testing.B, gen int64, marker string) time.Time {
	b.Helper()
	for {
		h.await(b, "a policy load after generation "+strconv.FormatInt(gen, 10), func() bool {
			return slices.ContainsFunc(h.applied, func(a appliedAt) bool { return a.Generation > gen })
		})
		var pol policyResult
		if err := h.call("sandbar/policy", map[string]any{}, &pol); err != nil {
			b.Fatalf("sandbar/policy: %v", err)
		}
		if pol.Generation > gen && slices.ContainsFunc(pol.Rules, func(r policyItem) bool { return r.Value == marker }) {
			var at time.Time
			h.await(b, "sandbar/policyApplied of generation "+strconv.FormatInt(pol.Generation, 10), func() bool {
				i := slices.IndexFunc(h.applied, func(a appliedAt) bool { return a.Generation == pol.Generation })
				if i >= 0 {
					at = h.applied[i].at
				}
				return i >= 0
			})
			return at
		}
		gen = max(gen, pol.Generation)
	}
}

// memory is a field of the host's /proc status, in MB.
func (h *hostClient) memory(b *testing.B, field string) float64 {
	b.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", h.cmd.Process.Pid))
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.Lines(string(status)) {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			if err != nil {
				b.Fatalf("%s: %q: %v", field, line, err)
			}
			return float64(kb) / 1024
		}
	}
	b.Fatalf("no %s in the host's /proc status", field)
	return 0
}

// probeCodes follows the status codes the probe loop prints, one a line.
type probeCodes struct {
	partial string
	codes   int
	last    string
	// seen200 is whether a request got through since it was last reset:
	// a refusal after it was decided by a policy saved after it.
	seen200 bool
}

func (p *probeCodes) note(method string, params json.RawMessage, _ time.Time) {
	var o outputParams
	if method != "sandbar/output" || json.Unmarshal(params, &o) != nil || o.Stream != "stdout" {
		return
	}
	lines := strings.Split(p.partial+o.Data, "\n")
	p.partial = lines[len(lines)-1]
	for _, code := range lines[:len(lines)-1] {
		p.codes++
		p.last = code
		if code == "200" {
			p.seen200 = true
		}
	}
}

// refusedAgain is whether the probe's last request was refused after one
// got through.
func (p *probeCodes) refusedAgain() bool { return p.seen200 && p.last == "403" }

// hitServer is a web server on 127.0.0.2 that notes the first request
// after it is armed.
type hitServer struct {
	addr  string
	mu    sync.Mutex
	armed bool
	hit   chan time.Time
}

func newHitServer(b *testing.B) *hitServer {
	l, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		b.Fatal(err)
	}
	s := &hitServer{addr: l.Addr().String(), hit: make(chan time.Time, 1)}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		at := time.Now()
		s.mu.Lock()
		if s.armed {
			s.armed = false
			s.hit <- at
		}
		s.mu.Unlock()
	}))
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	b.Cleanup(srv.Close)
	return s
}

func (s *hitServer) arm() {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.hit:
	default:
	}
	s.armed = true
}

func (s *hitServer) firstHit(within time.Duration) (time.Time, error) {
	select {
	case at := <-s.hit:
		return at, nil
	case <-time.After(within):
		return time.Time{}, fmt.Errorf("no request reached %s within %v", s.addr, within)
	}
}

// reportLatencies reports the median, the 99th percentile and the mean.
func reportLatencies(b *testing.B, ds []time.Duration, prefix string) {
	if len(ds) == 0 {
		return
	}
	b.ReportMetric(float64(meanDuration(ds).Nanoseconds()), "ns/op")
	b.ReportMetric(millis(nearestRank(ds, 0.5)), "ms-"+prefix+"p50")
	b.ReportMetric(millis(nearestRank(ds, 0.99)), "ms-"+prefix+"p99")
}

// nearestRank is the smallest duration that a fraction p of ds are not
// above: with 50 samples, the 99th percentile is the largest. (The
// percentile of bench_network_linux_test.go interpolates the index down.)
func nearestRank(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(math.Ceil(p*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

func meanDuration(ds []time.Duration) time.Duration {
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return sum / time.Duration(len(ds))
}

func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
