package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"
)

// netClientArg, as the test binary's first argument, makes it the client
// of BenchmarkNetwork instead of a test run: the same code fetches from
// the benchmark's servers directly, on the host, and through sandbar's
// proxy, inside `sandbar run`, so the two figures differ only in the path
// the bytes take. The configuration is the second argument, and the result
// one JSON line on stdout.
//
// An argument rather than an environment variable, since `sandbar run`
// drops the SANDBAR* variables; init rather than TestMain, since
// TestMain builds sandbar first.
const netClientArg = "netbench-client"

func init() {
	if len(os.Args) == 3 && os.Args[1] == netClientArg {
		os.Exit(netClientMain(os.Args[2]))
	}
}

// netClientConfig is what the client is asked to do.
type netClientConfig struct {
	// BulkHTTP and BulkHTTPS serve BulkSize bytes, over plain HTTP and
	// over HTTPS.
	BulkHTTP  string `json:"bulkHTTP"`
	BulkHTTPS string `json:"bulkHTTPS"`
	BulkSize  int64  `json:"bulkSize"`
	// SmallURL serves a small body over HTTPS. The HTTPS server's
	// certificate is CA (PEM), for ServerName.
	SmallURL   string `json:"smallURL"`
	CA         []byte `json:"ca"`
	ServerName string `json:"serverName"`
	// Requests is how many small requests are timed, each way.
	Requests int `json:"requests"`
	// TogetherHTTPS and TogetherHTTP answer only once Concurrent requests
	// are in flight at the same time.
	TogetherHTTPS string `json:"togetherHTTPS"`
	TogetherHTTP  string `json:"togetherHTTP"`
	Concurrent    int    `json:"concurrent"`
}

// netClientResult is what the client measured.
type netClientResult struct {
	// Proxy names the HTTP and HTTPS proxies the client used, as the
	// environment gave them; empty when it went direct.
	Proxy string `json:"proxy"`
	// BulkHTTP and BulkHTTPS are the downloads of the large body.
	BulkHTTP  transfer `json:"bulkHTTP"`
	BulkHTTPS transfer `json:"bulkHTTPS"`
	// NewConn are the times of requests each on a new connection (a new
	// tunnel when proxied), KeepAlive of requests on one kept-alive
	// connection.
	NewConn   []time.Duration `json:"newConn"`
	KeepAlive []time.Duration `json:"keepAlive"`
	// ConcurrentFailures counts the failed concurrent requests, HTTPS and
	// HTTP together.
	ConcurrentFailures int `json:"concurrentFailures"`
	// Errors are the first few failures of any kind; the benchmark fails
	// on any.
	Errors []string `json:"errors"`
}

// transfer is how many bytes came in how long.
type transfer struct {
	Bytes int64         `json:"bytes"`
	Time  time.Duration `json:"time"`
}

func (t *transfer) add(u transfer) { t.Bytes += u.Bytes; t.Time += u.Time }

// mbps is the transfer's rate in MB/s.
func (t transfer) mbps() float64 { return float64(t.Bytes) / t.Time.Seconds() / 1e6 }

const maxReportedErrors = 10

// smallBody is what the small-request handler answers.
const smallBody = "ok\n"

func netClientMain(arg string) int {
	var cfg netClientConfig
	if err := json.Unmarshal([]byte(arg), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "netbench client: reading the configuration:", err)
		return 2
	}
	res, err := runNetClient(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "netbench client:", err)
		return 2
	}
	if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
		fmt.Fprintln(os.Stderr, "netbench client:", err)
		return 2
	}
	return 0
}

func runNetClient(cfg netClientConfig) (*netClientResult, error) {
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(cfg.CA) {
		return nil, fmt.Errorf("no certificate in the configuration")
	}
	tlsConf := &tls.Config{RootCAs: roots, ServerName: cfg.ServerName}
	proxy, proxyName, err := proxyFromEnv()
	if err != nil {
		return nil, err
	}
	res := &netClientResult{Proxy: proxyName}
	fail := func(format string, args ...any) {
		if len(res.Errors) < maxReportedErrors {
			res.Errors = append(res.Errors, fmt.Sprintf(format, args...))
		}
	}
	client := func(tr *http.Transport) *http.Client {
		tr.Proxy = proxy
		tr.TLSClientConfig = tlsConf
		return &http.Client{Transport: tr, Timeout: time.Minute}
	}

	// The large body, read in large pieces so that the client's own
	// copying is not what is measured: over plain HTTP (through the
	// proxy's HTTP forwarding when proxied) and over HTTPS (through a
	// CONNECT tunnel).
	for _, m := range []struct {
		url string
		out *transfer
	}{
		{cfg.BulkHTTP, &res.BulkHTTP},
		{cfg.BulkHTTPS, &res.BulkHTTPS},
	} {
		c := client(&http.Transport{DisableCompression: true})
		start := time.Now()
		n, err := fetch(c, m.url, make([]byte, 256<<10))
		*m.out = transfer{n, time.Since(start)}
		if err != nil {
			fail("GET %s: %v", m.url, err)
		} else if n != cfg.BulkSize {
			fail("GET %s: %d bytes; want %d", m.url, n, cfg.BulkSize)
		}
		c.CloseIdleConnections()
	}

	// Small requests. A new connection each time is what the proxy adds
	// to most requests a tool makes (a CONNECT, a decision, a dial, the
	// relay's Hello); a kept-alive one shows the cost of the extra hops
	// alone. A few requests first, uncounted, warm both ends.
	buf := make([]byte, 4<<10)
	for _, m := range []struct {
		tr  *http.Transport
		out *[]time.Duration
	}{
		{&http.Transport{DisableKeepAlives: true}, &res.NewConn},
		{&http.Transport{}, &res.KeepAlive},
	} {
		c := client(m.tr)
		for i := -20; i < cfg.Requests; i++ {
			start := time.Now()
			n, err := fetch(c, cfg.SmallURL, buf)
			d := time.Since(start)
			if err == nil && n != int64(len(smallBody)) {
				err = fmt.Errorf("%d bytes; want %d", n, len(smallBody))
			}
			if err != nil {
				fail("GET %s: %v", cfg.SmallURL, err)
				continue
			}
			if i >= 0 {
				*m.out = append(*m.out, d)
			}
		}
		c.CloseIdleConnections()
	}

	// Concurrent connections: every request waits on the server until
	// all of them are in flight, so they hold Concurrent connections
	// through the proxy at once.
	for _, u := range []string{cfg.TogetherHTTPS, cfg.TogetherHTTP} {
		c := client(&http.Transport{DisableKeepAlives: true})
		var (
			wg sync.WaitGroup
			mu sync.Mutex
		)
		for range cfg.Concurrent {
			wg.Go(func() {
				n, err := fetch(c, u, make([]byte, 512))
				if err == nil && n != int64(len(smallBody)) {
					err = fmt.Errorf("%d bytes; want %d", n, len(smallBody))
				}
				if err != nil {
					mu.Lock()
					res.ConcurrentFailures++
					fail("GET %s, one of %d at once: %v", u, cfg.Concurrent, err)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		c.CloseIdleConnections()
	}
	return res, nil
}

// fetch GETs u and reads the body through buf; it returns the body's
// length.
func fetch(c *http.Client, u string, buf []byte) (int64, error) {
	resp, err := c.Get(u)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var n int64
	for {
		m, err := resp.Body.Read(buf)
		n += int64(m)
		if err == io.EOF {
			break
		}
		if err != nil {
			return n, err
		}
	}
	if resp.StatusCode != http.StatusOK {
		return n, fmt.Errorf("%s", resp.Status)
	}
	return n, nil
}

// proxyFromEnv is the proxy the environment names, if any. Not
// http.ProxyFromEnvironment: it never proxies a loopback address, and the
// benchmark's servers are on 127.0.0.2 (127.0.0.1 is the sandbox's own,
// in NO_PROXY).
func proxyFromEnv() (func(*http.Request) (*url.URL, error), string, error) {
	get := func(names ...string) string {
		for _, n := range names {
			if v := os.Getenv(n); v != "" {
				return v
			}
		}
		return ""
	}
	httpProxy, httpsProxy := get("HTTP_PROXY", "http_proxy"), get("HTTPS_PROXY", "https_proxy")
	if httpProxy == "" && httpsProxy == "" {
		return nil, "", nil
	}
	parse := func(name, v string) (*url.URL, error) {
		if v == "" {
			return nil, nil
		}
		u, err := url.Parse(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return u, nil
	}
	hu, err := parse("HTTP_PROXY", httpProxy)
	if err != nil {
		return nil, "", err
	}
	su, err := parse("HTTPS_PROXY", httpsProxy)
	if err != nil {
		return nil, "", err
	}
	return func(r *http.Request) (*url.URL, error) {
		if r.URL.Scheme == "https" {
			return su, nil
		}
		return hu, nil
	}, httpProxy + " " + httpsProxy, nil
}
