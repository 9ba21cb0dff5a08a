package e2e

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sandbar-dev/sandbar/confine"
	"github.com/sandbar-dev/sandbar/confine/confinetest"
)

// curlArgs are the options every curl in these tests takes: quiet but
// for errors, never hanging, and a last line with the status codes of the
// response and of the proxy's answer to CONNECT.
const curlArgs = `curl -sS --max-time 20 -w '\nhttp_code=%{http_code} connect=%{http_connect}\n'`

// An allowed host is reached the three ways a client can use: an
// absolute http:// request to the HTTP proxy, a CONNECT tunnel through it
// (the test's certificate verifies only end to end, so the proxy does not
// intercept), and the SOCKS5 proxy.
func TestNetworkReachesAllowedHost(t *testing.T) {
	e := newEnv(t)
	requireTool(t, "curl", "curl")
	cert := newTestCert(t, serverIP)
	e.write(filepath.Join(e.ws, "ca.pem"), string(cert.pem))
	plain := startServer(t, serverIP, nil, nil)
	secure := startServer(t, serverIP, &cert, nil)
	policy := e.writePolicy([]string{plain.host, secure.host}, nil)

	tests := []struct {
		name string
		srv  *hostServer
		curl string
	}{
		{"http proxy", plain, curlArgs + " http://" + plain.host + "/"},
		{"https through CONNECT", secure, curlArgs + " --cacert ca.pem https://" + secure.host + "/"},
		{"socks5", plain, curlArgs + " --socks5-hostname 127.0.0.1:1080 http://" + plain.host + "/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := tt.srv.hits.Load()
			r, refused := e.runNet(policy, tt.curl)
			if r.code != 0 || !strings.HasPrefix(r.stdout, helloBody) || !strings.Contains(r.stdout, "http_code=200") {
				t.Fatalf("exit %d; want 0 and the server's answer\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
			}
			if got := tt.srv.hits.Load() - before; got != 1 {
				t.Errorf("the server answered %d requests; want 1", got)
			}
			if len(refused) != 0 {
				t.Errorf("report has network violations: %+v", refused)
			}
		})
	}
}

// Each kind of refusal reaches the command as a 403 (or a SOCKS5
// refusal) naming the target and how to allow it, and reaches the user in
// the report and on stderr, with the reason; the server behind a refused
// target never sees a connection.
func TestNetworkRefusals(t *testing.T) {
	e := newEnv(t)
	requireTool(t, "curl", "curl")
	allowed := startServer(t, serverIP, nil, nil)
	other := startServer(t, otherIP, nil, nil)
	// On 127.0.0.1: inside the sandbox a name that resolves there would
	// be the sandbox's own loopback, so the proxy is what would reach it.
	local := startServer(t, "127.0.0.1", nil, nil)
	localhost := "localhost:" + strconv.Itoa(local.port)

	tests := []struct {
		name            string
		allowed, denied []string
		curl            string
		target, reason  string
		// reasonPrefix: the reason starts with reason (it goes on with
		// an address the resolver chose).
		reasonPrefix bool
		// out is in the command's output: the status codes, and the
		// 403's advice on how to allow the target.
		out []string
		// body: the command gets a 403 whose body says what was
		// blocked and why (not so for CONNECT, whose 403 curl does not
		// show, nor for SOCKS5).
		body bool
		// srv must see no request.
		srv *hostServer
	}{{
		name:    "host not in allowedDomains",
		allowed: []string{allowed.host},
		curl:    curlArgs + " http://unlisted.sandbar-e2e.test/",
		target:  "unlisted.sandbar-e2e.test:80",
		reason:  "not in allowedDomains; approval failed: no terminal to ask on",
		body:    true,
		out: []string{"http_code=403",
			`To allow it, add "unlisted.sandbar-e2e.test" to network.allowedDomains`},
	}, {
		name:    "deniedDomains wins over allowedDomains",
		allowed: []string{allowed.host},
		denied:  []string{serverIP},
		curl:    curlArgs + " http://" + allowed.host + "/",
		target:  allowed.host,
		reason:  "in deniedDomains",
		body:    true,
		out: []string{"http_code=403",
			"remove it from network.deniedDomains"},
		srv: allowed,
	}, {
		name:    "port not listed",
		allowed: []string{"sandbar-e2e.test"},
		curl:    curlArgs + " http://sandbar-e2e.test:8080/",
		target:  "sandbar-e2e.test:8080",
		reason:  "port 8080 not in allowedDomains (its entry allows ports 80 and 443 only); approval failed: no terminal to ask on",
		body:    true,
		out: []string{"http_code=403",
			`To allow it, add "sandbar-e2e.test:8080" to network.allowedDomains`},
	}, {
		name:    "address listed without the port",
		allowed: []string{serverIP},
		curl:    curlArgs + " http://" + allowed.host + "/",
		target:  allowed.host,
		reason:  "IP literal",
		body:    true,
		out:     []string{"http_code=403"},
		srv:     allowed,
	}, {
		name:    "unlisted loopback address",
		allowed: []string{allowed.host},
		curl:    curlArgs + " http://" + other.host + "/",
		target:  other.host,
		reason:  "IP literal",
		body:    true,
		out: []string{"http_code=403",
			`To allow it, add "` + other.host + `" to network.allowedDomains`},
		srv: other,
	}, {
		name:    "cloud metadata address",
		allowed: []string{allowed.host},
		curl:    curlArgs + " http://169.254.169.254/latest/meta-data/",
		target:  "169.254.169.254:80",
		reason:  "IP literal",
		body:    true,
		out:     []string{"http_code=403"},
	}, {
		// The name is allowed, but what it resolves to is not: refused
		// after resolving, before dialling.
		name:         "allowed name resolving to loopback",
		allowed:      []string{localhost},
		curl:         curlArgs + " --noproxy '' http://" + localhost + "/",
		target:       localhost,
		reason:       "resolves to a loopback address ",
		reasonPrefix: true,
		body:         true,
		out: []string{"http_code=403",
			"To allow it, list the address "},
		srv: local,
	}, {
		name:    "https tunnel to unlisted address",
		allowed: []string{allowed.host},
		curl:    curlArgs + " https://" + other.host + "/",
		target:  other.host,
		reason:  "IP literal",
		out:     []string{"connect=403"},
		srv:     other,
	}, {
		name:    "socks5 to unlisted address",
		allowed: []string{allowed.host},
		curl:    curlArgs + " --socks5-hostname 127.0.0.1:1080 http://" + other.host + "/",
		target:  other.host,
		reason:  "IP literal",
		out:     []string{"http_code=000"},
		srv:     other,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before int64
			if tt.srv != nil {
				before = tt.srv.conns.Load()
			}
			policy := e.writePolicy(tt.allowed, tt.denied)
			r, refused := e.runNet(policy, tt.curl)
			if line := "sandbar: connection to " + tt.target + " blocked: " + tt.reason; tt.body && !strings.Contains(r.stdout, line) {
				t.Errorf("output lacks the 403 body %q\nstdout: %s", line, r.stdout)
			}
			for _, want := range tt.out {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("output lacks %q\nstdout: %s\nstderr: %s", want, r.stdout, r.stderr)
				}
			}
			if strings.Contains(r.stdout, helloBody) {
				t.Errorf("the command reached a server: %s", r.stdout)
			}
			if tt.srv != nil {
				// Refused before dialling: not even a connection.
				if got := tt.srv.conns.Load() - before; got != 0 {
					t.Errorf("the refused server accepted %d connections", got)
				}
			}
			if len(refused) == 1 && tt.reasonPrefix && strings.HasPrefix(refused[0].Reason, tt.reason) {
				refused[0].Reason = tt.reason
			}
			want := []netViolation{{Kind: "network", Target: tt.target, Decision: "denied", Reason: tt.reason, Count: 1}}
			if diff := cmp.Diff(want, refused); diff != "" {
				t.Errorf("report's network violations (-want +got):\n%s", diff)
			}
			if !strings.Contains(r.stderr, "sandbar: 1 blocked connection:\n  "+tt.target+": "+tt.reason) {
				t.Errorf("stderr lacks the summary of the refusal:\n%s", r.stderr)
			}
		})
	}
}

// The proxy is the only way out: the sandbox's network namespace has
// nothing but its own loopback, so the host's servers on 127.0.0.2 cannot
// be reached directly, by TCP, UDP or ICMP, and no name resolves.
func TestNetworkNoOtherRoute(t *testing.T) {
	e := newEnv(t)
	requireTool(t, "curl", "curl")
	requireTool(t, "bash", "bash")
	requireTool(t, "ping", "iputils-ping")
	requireTool(t, "getent", "libc-bin")
	srv := startServer(t, serverIP, nil, nil)
	tcp := startTCPCounter(t, serverIP)
	udp := startUDPCounter(t, serverIP)
	// Every server is allowed: what fails, fails for want of a route,
	// not of permission.
	policy := e.writePolicy([]string{srv.host, hostPort(serverIP, tcp.port), hostPort(serverIP, udp.port)}, nil)

	t.Run("http without the proxy", func(t *testing.T) {
		before := srv.conns.Load()
		// Through the proxy first: the server is up and allowed, so only
		// the route differs.
		r, _ := e.runNet(policy, curlArgs+" http://"+srv.host+"/; echo proxied=$?; "+
			curlArgs+" --noproxy '*' http://"+srv.host+"/; echo direct=$?")
		if !strings.Contains(r.stdout, "proxied=0") {
			t.Fatalf("the allowed server was not reached through the proxy\nstdout: %s\nstderr: %s", r.stdout, r.stderr)
		}
		if strings.Contains(r.stdout, "direct=0") {
			t.Errorf("curl --noproxy reached the host's server directly\nstdout: %s", r.stdout)
		}
		if got := srv.conns.Load() - before; got != 1 {
			t.Errorf("the server accepted %d connections; want 1, from the proxy", got)
		}
	})
	t.Run("raw tcp", func(t *testing.T) {
		r, _ := e.runNet(policy, "bash -c 'exec 3<>/dev/tcp/"+serverIP+"/"+strconv.Itoa(tcp.port)+"'; echo tcp=$?")
		if !strings.Contains(r.stdout, "tcp=") || strings.Contains(r.stdout, "tcp=0") {
			t.Errorf("a direct TCP connection to the host succeeded\nstdout: %s\nstderr: %s", r.stdout, r.stderr)
		}
		if n := tcp.accepted.Load(); n != 0 {
			t.Errorf("the host's listener accepted %d connections", n)
		}
	})
	t.Run("udp", func(t *testing.T) {
		// The datagram is sent, into the sandbox's own loopback.
		r, _ := e.runNet(policy, "bash -c 'echo from-the-sandbox > /dev/udp/"+serverIP+"/"+strconv.Itoa(udp.port)+"'; echo udp=$?")
		if !strings.Contains(r.stdout, "udp=0") {
			t.Fatalf("sending the datagram failed in the sandbox\nstdout: %s\nstderr: %s", r.stdout, r.stderr)
		}
		// Loopback delivers as it sends: a datagram from the sandbox,
		// had it reached the host, would be queued before this one.
		c, err := net.Dial("udp", hostPort(serverIP, udp.port))
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("from-the-host"))
		c.Close()
		timeout := time.After(10 * time.Second)
		for done := false; !done; {
			select {
			case msg := <-udp.got:
				if strings.Contains(msg, "from-the-sandbox") {
					t.Errorf("a datagram from the sandbox reached the host")
				}
				done = msg == "from-the-host"
			case <-timeout:
				t.Fatal("timed out waiting for the host's own datagram")
			}
		}
	})
	t.Run("icmp", func(t *testing.T) {
		// 127.0.0.2 is the sandbox's own loopback there: ping fails
		// because the sandbox cannot open an ICMP socket at all.
		r, _ := e.runNet(policy, "command -v ping >/dev/null || exit 99; ping -c1 -W1 "+serverIP+"; echo ping=$?")
		if r.code == 99 {
			t.Fatalf("ping is not visible in the sandbox\nstderr: %s", r.stderr)
		}
		if !strings.Contains(r.stdout, "ping=") || strings.Contains(r.stdout, "ping=0") {
			t.Errorf("ping succeeded in the sandbox\nstdout: %s\nstderr: %s", r.stdout, r.stderr)
		}
	})
	t.Run("dns", func(t *testing.T) {
		// localhost comes from /etc/hosts: getent itself works.
		r, _ := e.runNet(policy, "getent hosts localhost >/dev/null; echo hosts=$?; getent hosts example.com; echo dns=$?")
		if !strings.Contains(r.stdout, "hosts=0") {
			t.Fatalf("getent does not work in the sandbox\nstdout: %s\nstderr: %s", r.stdout, r.stderr)
		}
		if !strings.Contains(r.stdout, "dns=") || strings.Contains(r.stdout, "dns=0") {
			t.Errorf("a name resolved in the sandbox\nstdout: %s", r.stdout)
		}
	})
}

// A policy saved while a command runs applies to its next connection.
// The command and the test take turns through files in the workspace.
func TestNetworkPolicyChangeReachesRunningCommand(t *testing.T) {
	e := newEnv(t)
	requireTool(t, "curl", "curl")
	srv := startServer(t, serverIP, nil, nil)
	policy := e.writePolicy(nil, nil)
	get := "curl -sS --max-time 20 -o /dev/null -w '%{http_code}' http://" + srv.host + "/"
	script := strings.Join([]string{
		get + " > first.tmp; mv first.tmp first",
		// Polls for the test's signal, with a deadline.
		"i=0; while [ ! -e go ]; do i=$((i+1)); [ $i -gt 2000 ] && { echo no signal; exit 3; }; sleep 0.01; done",
		// The policy is read again a moment after it is saved.
		`i=0; until [ "$(` + get + `)" = 200 ]; do i=$((i+1)); [ $i -gt 1000 ] && { echo still refused; exit 4; }; sleep 0.01; done`,
		"echo allowed-after-change",
	}, "\n")
	report := filepath.Join(e.root, "report.json")
	cmd, stdout, stderr := e.startSandbar(e.ws, "run", "--policy", policy, "--report", report, "--", "sh", "-c", script)

	first := filepath.Join(e.ws, "first")
	confinetest.WaitFor(t, "the command's first try", 20*time.Second, func() bool {
		_, err := os.Stat(first)
		return err == nil
	})
	if b, _ := os.ReadFile(first); string(b) != "403" {
		t.Errorf("first try: status %q; want 403 before the policy allows the host", b)
	}
	e.writePolicy([]string{srv.host}, nil)
	e.write(filepath.Join(e.ws, "go"), "")

	code := waitExit(t, cmd, 60*time.Second)
	if code != 0 || !strings.Contains(stdout.String(), "allowed-after-change") {
		t.Fatalf("exit %d; the command never got through after the change\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if n := srv.hits.Load(); n != 1 {
		t.Errorf("the server answered %d requests; want 1, after the change", n)
	}
	refused := e.readNetReport(report)
	if len(refused) == 0 {
		t.Fatalf("the report does not have the first try's refusal")
	}
	for _, v := range refused {
		if v.Target != srv.host || v.Reason != "IP literal" {
			t.Errorf("unexpected violation %+v", v)
		}
	}
}

// The proxies' credential is never where the command could read it: not
// in its environment, not on any command line in the sandbox, not in any
// environment it can read there.
func TestNetworkCredentialNotInSandbox(t *testing.T) {
	e := newEnv(t)
	requireTool(t, "curl", "curl")
	srv := startServer(t, serverIP, nil, nil)
	policy := e.writePolicy([]string{srv.host}, nil)
	script := strings.Join([]string{
		// A connection through the relay first, so the relay has used the
		// credential.
		"curl -sS --max-time 20 -o /dev/null http://" + srv.host + "/ && echo fetched",
		"sleep 1000 & echo background",
		"echo '== env'; env",
		`for f in /proc/[0-9]*/cmdline; do printf '%s: ' "$f"; tr '\0' ' ' < "$f"; echo; done`,
		`for f in /proc/[0-9]*/environ; do printf '%s: ' "$f"; tr '\0' ' ' < "$f" 2>&1; echo; done`,
		"kill $!",
	}, "\n")
	r, _ := e.runNet(policy, script)
	for _, want := range []string{"fetched", "HTTP_PROXY=http://127.0.0.1:3128", "/proc/1/cmdline: ", "sleep 1000", "/proc/1/environ: "} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("output lacks %q: the check saw less than it should\nstdout: %s\nstderr: %s", want, r.stdout, r.stderr)
		}
	}
	// The Hello is "SANDBAR/1 " and 32 hex digits; its configuration
	// travels as JSON, where bytes are base64 ("U0FOREJBUi8x").
	secret := regexp.MustCompile(`SANDBAR/1|U0FOREJBUi8x|(?i)(^|[^0-9a-f])[0-9a-f]{32}([^0-9a-f]|$)`)
	for _, line := range strings.Split(r.stdout, "\n") {
		if secret.MatchString(line) {
			t.Errorf("the sandbox can read what looks like the credential:\n%s", line)
		}
	}
}

// startSandbar starts the binary in dir, in a session of its own (see
// e.sandbar), without waiting for it.
func (e *env) startSandbar(dir string, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	e.t.Helper()
	cmd := e.sandbarCmd(dir, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd, &out, &errb
}

// waitExit waits for cmd and returns its exit code; past the deadline it
// kills it and fails the test.
func waitExit(t *testing.T, cmd *exec.Cmd, within time.Duration) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		} else if err != nil {
			t.Fatalf("waiting for sandbar: %v", err)
		}
		return 0
	case <-time.After(within):
		cmd.Process.Kill()
		<-done
		t.Fatalf("sandbar did not finish within %v", within)
		return -1
	}
}

// git clones over HTTPS through the proxy: a CONNECT tunnel to git's own
// smart HTTP server, the server's certificate checked end to end.
func TestNetworkGitCloneHTTPS(t *testing.T) {
	e := newEnv(t)
	requireTool(t, "git", "git")
	root := filepath.Join(e.root, "srv")
	e.bareRepo(root, "cloned over https\n")
	cert := newTestCert(t, serverIP)
	ca := filepath.Join(e.ws, "ca.pem")
	e.write(ca, string(cert.pem))
	srv, logs := gitHTTPServer(t, root, &cert)
	policy := e.writePolicy([]string{srv.host}, nil)

	r, refused := e.runNet(policy, "git -c http.sslCAInfo="+confine.ShellQuote(ca)+" clone -q https://"+srv.host+"/repo.git cloned")
	if r.code != 0 {
		t.Fatalf("git clone: exit %d\nstdout: %s\nstderr: %s\ngit http-backend: %s", r.code, r.stdout, r.stderr, logs)
	}
	if b, err := os.ReadFile(filepath.Join(e.ws, "cloned", "README")); err != nil || string(b) != "cloned over https\n" {
		t.Errorf("cloned README: %q, %v", b, err)
	}
	if srv.hits.Load() == 0 {
		t.Errorf("the git server answered no request")
	}
	if len(refused) != 0 {
		t.Errorf("report has network violations: %+v", refused)
	}
}

// git clones over SSH through the proxy: the ssh options the user gives
// in GIT_SSH_COMMAND are kept, and sandbar's ProxyCommand (`sandbar
// connect`, through the SOCKS5 relay) carries the connection to a real
// sshd on the host. The key and known_hosts are in the workspace, since
// ~/.ssh is hidden in the sandbox. The binary the tests build lives under
// /tmp, which each sandbox replaces: ssh still finds sandbar connect,
// bound at confine.SelfPath.
func TestNetworkGitCloneSSH(t *testing.T) {
	e := newEnv(t)
	requireTool(t, "git", "git")
	requireTool(t, "ssh", "openssh-client")
	bare := e.bareRepo(filepath.Join(e.root, "srv"), "cloned over ssh\n")
	keys := filepath.Join(e.ws, "keys")
	if err := os.MkdirAll(keys, 0o755); err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(keys, "id_ed25519")
	sshKeygen(t, key)
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	srv := startSSHServer(t, filepath.Join(e.root, "sshd"), string(pub))
	known := filepath.Join(keys, "known_hosts")
	e.write(known, srv.knownHosts())
	// -F /dev/null: nothing from the real user's ssh configuration.
	e.extraEnv = append(e.extraEnv, "GIT_SSH_COMMAND=ssh -F /dev/null -o BatchMode=yes -o IdentitiesOnly=yes -i "+confine.ShellQuote(key)+
		" -o UserKnownHostsFile="+confine.ShellQuote(known)+" -o StrictHostKeyChecking=yes")
	policy := e.writePolicy([]string{srv.host}, nil)
	report := filepath.Join(e.root, "report.json")

	url := "ssh://" + srv.user + "@" + srv.host + bare
	r := e.sandbar(e.ws, "run", "--policy", policy, "--report", report, "--", "git", "clone", "-q", url, "cloned")
	if r.code != 0 {
		t.Fatalf("git clone %s: exit %d\nstdout: %s\nstderr: %s\nsshd: %s", url, r.code, r.stdout, r.stderr, srv.log)
	}
	if b, err := os.ReadFile(filepath.Join(e.ws, "cloned", "README")); err != nil || string(b) != "cloned over ssh\n" {
		t.Errorf("cloned README: %q, %v", b, err)
	}
	if srv.accepted.Load() == 0 {
		t.Errorf("sshd was never connected to")
	}
	if refused := e.readNetReport(report); len(refused) != 0 {
		t.Errorf("report has network violations: %+v", refused)
	}
}
