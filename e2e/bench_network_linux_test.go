package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
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

// How much BenchmarkNetwork moves.
const (
	netBulkSize   = 1 << 30 // bytes of the large body
	netRequests   = 1000    // small requests timed, each way
	netConcurrent = 200     // connections open at once
)

// BenchmarkNetwork measures what sandbar's proxy costs a command: the
// same client (this test binary, see netClientArg) fetches from servers on
// the host directly, and from inside `sandbar run` through the relay and
// the proxy. Each iteration runs both, in turn:
//
//   - a 1 GiB body from memory over plain HTTP, which the proxy forwards
//     request by request, and over HTTPS, through a CONNECT tunnel when
//     proxied (MB/s);
//   - 1,000 small HTTPS requests one after another, each on a new
//     connection, so through a new CONNECT tunnel when proxied (median and
//     90th percentile), and 1,000 more on one kept-alive connection;
//   - 200 HTTPS and then 200 plain HTTP requests at once, which the
//     servers answer only when all 200 are in flight.
//
// It reports the ratios the README quotes and fails on any failed request:
//
//	go test ./e2e -run '^$' -bench Network -benchtime 1x -v
//
// The servers listen on 127.0.0.2, since the sandbox's own 127.0.0.1 is in
// NO_PROXY, and the policy lists their addresses, since the proxy refuses
// loopback addresses it does not.
func BenchmarkNetwork(b *testing.B) {
	requireBwrap(b)
	root, err := os.MkdirTemp(homeBaseB(b), "bench-net-")
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(root)
	os.Chmod(root, 0o755)
	home := filepath.Join(root, "home")
	ws := filepath.Join(root, "ws")
	os.MkdirAll(home, 0o755)
	os.MkdirAll(ws, 0o755)
	mustRun(b, ws, "git", "init", "-q")
	// The test binary's own directory is under the host's /tmp, which the
	// sandbox does not see.
	client := filepath.Join(root, "client")
	copyExecutable(b, client)

	srv := startNetServers(b)
	defer srv.close()
	policy := filepath.Join(root, "policy.json")
	allowed, _ := json.Marshal([]string{srv.plain.Listener.Addr().String(), srv.tls.Listener.Addr().String()})
	if err := os.WriteFile(policy, fmt.Appendf(nil, `{"version": 1, "network": {"allowedDomains": %s}}`, allowed), 0o644); err != nil {
		b.Fatal(err)
	}
	cfg, _ := json.Marshal(srv.config())
	argv := []string{client, netClientArg, string(cfg)}
	env := []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"),
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"XDG_STATE_HOME=" + filepath.Join(home, ".local", "state")}
	variants := []struct {
		name string
		argv []string
	}{
		{"direct", argv},
		{"proxied", append([]string{sandbarBin, "run", "--quiet", "--policy", policy, "--"}, argv...)},
	}

	var total [2]netClientResult
	b.ResetTimer()
	for range b.N {
		for j, v := range variants {
			srv.reset()
			r := runNetBench(b, v.name, ws, env, v.argv)
			if (r.Proxy != "") != (v.name == "proxied") {
				b.Fatalf("%s: the client used proxy %q", v.name, r.Proxy)
			}
			if s, p := srv.togetherHTTPS.most(), srv.togetherHTTP.most(); s != netConcurrent || p != netConcurrent {
				b.Fatalf("%s: at most %d HTTPS and %d HTTP requests were in flight at once; want %d", v.name, s, p, netConcurrent)
			}
			total[j].BulkHTTP.add(r.BulkHTTP)
			total[j].BulkHTTPS.add(r.BulkHTTPS)
			total[j].NewConn = append(total[j].NewConn, r.NewConn...)
			total[j].KeepAlive = append(total[j].KeepAlive, r.KeepAlive...)
			total[j].ConcurrentFailures += r.ConcurrentFailures
		}
	}
	b.StopTimer()

	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	direct, proxied := total[0], total[1]
	for _, m := range []struct {
		name string
		d, p transfer
	}{
		{"http", direct.BulkHTTP, proxied.BulkHTTP},
		{"https", direct.BulkHTTPS, proxied.BulkHTTPS},
	} {
		b.ReportMetric(m.d.mbps(), "MB/s-"+m.name+"-direct")
		b.ReportMetric(m.p.mbps(), "MB/s-"+m.name+"-proxied")
		b.ReportMetric(m.p.mbps()/m.d.mbps(), "x-"+m.name+"-throughput")
	}
	for _, m := range []struct {
		name   string
		d, p   []time.Duration
		detail bool
	}{
		{"new", direct.NewConn, proxied.NewConn, true},
		{"keepalive", direct.KeepAlive, proxied.KeepAlive, false},
	} {
		dm, pm := percentile(m.d, 50), percentile(m.p, 50)
		b.ReportMetric(ms(dm), "ms-"+m.name+"-median-direct")
		b.ReportMetric(ms(pm), "ms-"+m.name+"-median-proxied")
		b.ReportMetric(ms(pm-dm), "ms-"+m.name+"-added")
		b.ReportMetric(float64(pm)/float64(dm), "x-"+m.name+"-latency")
		if m.detail {
			b.ReportMetric(ms(percentile(m.d, 90)), "ms-"+m.name+"-p90-direct")
			b.ReportMetric(ms(percentile(m.p, 90)), "ms-"+m.name+"-p90-proxied")
		}
	}
	b.ReportMetric(float64(proxied.ConcurrentFailures), "failures-at-"+strconv.Itoa(netConcurrent))
	b.ReportMetric(0, "ns/op")
}

// runNetBench runs the client with argv and returns what it measured. Any
// failed request fails the benchmark.
func runNetBench(b *testing.B, name, dir string, env, argv []string) netClientResult {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		b.Fatalf("%s client: %v\nstdout: %s\nstderr: %s", name, err, stdout.Bytes(), stderr.Bytes())
	}
	out := strings.TrimSpace(stdout.String())
	if i := strings.LastIndexByte(out, '\n'); i >= 0 {
		out = out[i+1:]
	}
	var r netClientResult
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		b.Fatalf("%s client: reading its result: %v\nstdout: %s\nstderr: %s", name, err, stdout.Bytes(), stderr.Bytes())
	}
	if len(r.Errors) > 0 {
		b.Fatalf("%s: requests failed (%d of the concurrent ones); the first:\n%s", name, r.ConcurrentFailures, strings.Join(r.Errors, "\n"))
	}
	if len(r.NewConn) != netRequests || len(r.KeepAlive) != netRequests {
		b.Fatalf("%s: %d and %d small requests timed; want %d each", name, len(r.NewConn), len(r.KeepAlive), netRequests)
	}
	return r
}

// netServers are the servers the client fetches from, on 127.0.0.2: a
// plain HTTP server and an HTTPS server, each with the large body and a
// barrier for concurrent requests, the HTTPS one also with a small body.
type netServers struct {
	plain, tls                  *httptest.Server
	togetherHTTPS, togetherHTTP *together
}

func startNetServers(b *testing.B) *netServers {
	s := &netServers{togetherHTTPS: &together{}, togetherHTTP: &together{}}
	block := make([]byte, 1<<20)
	for i := range block {
		block[i] = byte(i)
	}
	bulk := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.Itoa(netBulkSize))
		for range netBulkSize / len(block) {
			if _, err := w.Write(block); err != nil {
				return
			}
		}
	})
	plain := http.NewServeMux()
	plain.Handle("/bulk", bulk)
	plain.Handle("/together", s.togetherHTTP)
	secure := http.NewServeMux()
	secure.Handle("/bulk", bulk)
	secure.HandleFunc("/small", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, smallBody) })
	secure.Handle("/together", s.togetherHTTPS)

	s.plain = httptest.NewUnstartedServer(plain)
	s.tls = httptest.NewUnstartedServer(secure)
	for _, h := range []*httptest.Server{s.plain, s.tls} {
		ln, err := net.Listen("tcp", "127.0.0.2:0")
		if err != nil {
			b.Fatalf("listening on 127.0.0.2: %v", err)
		}
		h.Listener.Close()
		h.Listener = ln
	}
	s.plain.Start()
	s.tls.StartTLS()
	return s
}

func (s *netServers) config() netClientConfig {
	cert := s.tls.Certificate()
	return netClientConfig{
		BulkHTTP:  s.plain.URL + "/bulk",
		BulkHTTPS: s.tls.URL + "/bulk",
		BulkSize:  netBulkSize,
		SmallURL:  s.tls.URL + "/small",
		CA:        pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}),
		// httptest's certificate names 127.0.0.1, not 127.0.0.2.
		ServerName:    cert.DNSNames[0],
		Requests:      netRequests,
		TogetherHTTPS: s.tls.URL + "/together",
		TogetherHTTP:  s.plain.URL + "/together",
		Concurrent:    netConcurrent,
	}
}

func (s *netServers) reset() {
	s.togetherHTTPS.reset(netConcurrent)
	s.togetherHTTP.reset(netConcurrent)
}

func (s *netServers) close() {
	s.plain.Close()
	s.tls.Close()
}

// together answers its requests only once want of them are in flight at
// the same time, or, after a while, with an error saying how many came.
type together struct {
	mu   sync.Mutex
	want int
	now  int
	max  int
	all  chan struct{}
}

func (t *together) reset(want int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.want, t.now, t.max, t.all = want, 0, 0, make(chan struct{})
}

// most is how many requests were in flight at once since reset.
func (t *together) most() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.max
}

func (t *together) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t.mu.Lock()
	t.now++
	t.max = max(t.max, t.now)
	if t.now == t.want {
		close(t.all)
	}
	all, want := t.all, t.want
	t.mu.Unlock()
	defer func() {
		t.mu.Lock()
		t.now--
		t.mu.Unlock()
	}()
	select {
	case <-all:
		io.WriteString(w, smallBody)
	case <-time.After(30 * time.Second):
		http.Error(w, fmt.Sprintf("only %d of %d requests arrived together", t.most(), want), http.StatusServiceUnavailable)
	case <-r.Context().Done():
	}
}

// copyExecutable copies the test binary to path.
func copyExecutable(b *testing.B, path string) {
	self, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	data, err := os.ReadFile(self)
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o755); err != nil {
		b.Fatal(err)
	}
}

// percentile returns the p-th percentile of ds.
func percentile(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[(len(s)-1)*p/100]
}
