package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The host's test servers listen on loopback addresses other than
// 127.0.0.1 (all of 127.0.0.0/8 reaches lo on Linux): the command's
// NO_PROXY names 127.0.0.1, so a client in the sandbox would try to reach
// a server there directly, inside its own network namespace, and never ask
// the proxy.
const (
	serverIP = "127.0.0.2"
	// otherIP is a loopback address the policies never list.
	otherIP = "127.0.0.3"
)

// requireTool returns the path of a program a test runs, inside the
// sandbox or on the host, or fails the test with the package that provides
// it. Like bubblewrap, a missing tool never skips a test quietly: CI
// installs them all (e2e/test-all.sh). dirs are searched after $PATH, for
// programs (sshd) that live outside an ordinary user's PATH.
func requireTool(t testing.TB, name, pkg string, dirs ...string) string {
	t.Helper()
	if path, err := exec.LookPath(name); err == nil {
		return path
	}
	for _, d := range dirs {
		path := filepath.Join(d, name)
		if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return path
		}
	}
	if os.Getenv("SANDBAR_ALLOW_SKIP") == "1" {
		t.Skipf("%s is not installed and SANDBAR_ALLOW_SKIP=1", name)
	}
	t.Fatalf("%s is not installed; install it (sudo apt-get install -y %s) or set SANDBAR_ALLOW_SKIP=1 to skip this test", name, pkg)
	return ""
}

// testCert is a self-signed certificate for one IP address, and the same
// certificate in PEM for clients to trust.
type testCert struct {
	tls tls.Certificate
	pem []byte
}

func newTestCert(t testing.TB, ip string) testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "sandbar e2e " + ip},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP(ip)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return testCert{
		tls: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key},
		pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
	}
}

// hostServer is an HTTP or HTTPS server on the host that counts the
// connections it accepts and the requests it answers.
type hostServer struct {
	*httptest.Server
	host  string // ip:port
	port  int
	conns atomic.Int64
	hits  atomic.Int64
}

// helloBody is what a hostServer answers, so a test can tell its answer
// from a proxy's.
const helloBody = "hello from the host server\n"

// startServer starts a server on ip:0. With a certificate it serves
// HTTPS; with a nil handler it answers helloBody.
func startServer(t testing.TB, ip string, cert *testCert, h http.Handler) *hostServer {
	t.Helper()
	if h == nil {
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, helloBody) })
	}
	s := &hostServer{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		h.ServeHTTP(w, r)
	}))
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatalf("listening on %s: %v", ip, err)
	}
	s.Listener.Close()
	s.Listener = ln
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	if cert != nil {
		s.TLS = &tls.Config{Certificates: []tls.Certificate{cert.tls}}
		s.StartTLS()
	} else {
		s.Start()
	}
	t.Cleanup(s.Close)
	s.host = ln.Addr().String()
	s.port = ln.Addr().(*net.TCPAddr).Port
	return s
}

// tcpCounter is a bare TCP listener on the host that counts the
// connections it accepts and closes them.
type tcpCounter struct {
	ln       net.Listener
	port     int
	accepted atomic.Int64
}

func startTCPCounter(t testing.TB, ip string) *tcpCounter {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	c := &tcpCounter{ln: ln, port: ln.Addr().(*net.TCPAddr).Port}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			c.accepted.Add(1)
			conn.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return c
}

// udpCounter is a UDP socket on the host that passes every datagram it
// receives to a channel.
type udpCounter struct {
	conn *net.UDPConn
	port int
	got  chan string
}

func startUDPCounter(t testing.TB, ip string) *udpCounter {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(ip)})
	if err != nil {
		t.Fatal(err)
	}
	u := &udpCounter{conn: conn, port: conn.LocalAddr().(*net.UDPAddr).Port, got: make(chan string, 100)}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(u.got)
		buf := make([]byte, 2048)
		for {
			n, _, err := conn.ReadFromUDP(buf)
			if err != nil {
				return
			}
			u.got <- string(buf[:n])
		}
	}()
	t.Cleanup(func() { conn.Close(); wg.Wait() })
	return u
}

// netViolation is a network violation as the run report has it.
type netViolation struct {
	Kind     string `json:"kind"`
	Target   string `json:"target"`
	Decision string `json:"decision"`
	Reason   string `json:"reason"`
	Count    int    `json:"count"`
}

// writePolicy writes a user policy with the given network entries and
// returns its path, for `sandbar run --policy`: the user's policy is
// trusted, a workspace's would need `sandbar trust` first.
func (e *env) writePolicy(allowed, denied []string) string {
	e.t.Helper()
	if allowed == nil {
		allowed = []string{}
	}
	if denied == nil {
		denied = []string{}
	}
	b, err := json.MarshalIndent(map[string]any{
		"network": map[string]any{"allowedDomains": allowed, "deniedDomains": denied},
	}, "", "  ")
	if err != nil {
		e.t.Fatal(err)
	}
	path := filepath.Join(e.root, "policy.jsonc")
	// Replaced, not rewritten, the way editors save: a command that is
	// running sees the whole new policy or the whole old one.
	tmp := path + ".new"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		e.t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		e.t.Fatal(err)
	}
	return path
}

// runNet runs script with sh in the workspace under the policy at
// policyPath and returns the result and the run report's network
// violations.
func (e *env) runNet(policyPath, script string) (result, []netViolation) {
	e.t.Helper()
	report := filepath.Join(e.root, "report-"+strconv.FormatInt(time.Now().UnixNano(), 36)+".json")
	r := e.sandbar(e.ws, "run", "--policy", policyPath, "--report", report, "--", "sh", "-c", script)
	return r, e.readNetReport(report)
}

func (e *env) readNetReport(path string) []netViolation {
	e.t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		e.t.Fatalf("reading the run report: %v", err)
	}
	var rep struct {
		Violations []netViolation `json:"violations"`
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		e.t.Fatalf("run report %s: %v", b, err)
	}
	var out []netViolation
	for _, v := range rep.Violations {
		if v.Kind == "network" {
			out = append(out, v)
		}
	}
	return out
}

func hostPort(ip string, port int) string { return net.JoinHostPort(ip, strconv.Itoa(port)) }
