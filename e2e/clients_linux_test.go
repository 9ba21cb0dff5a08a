package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sandbar-dev/sandbar/confine"
)

// Real package managers and language clients, run in the sandbox with
// nothing but the environment `sandbar run` gives them, reach a fake
// registry on the host that the policy allows, and are refused one it
// does not. The registries are reachable only through the proxy: the
// sandbox's network namespace has no route to the host's addresses. Each
// client keeps its cache in the workspace, since the rest of the home is
// read-only in the sandbox, and retries nothing, so a refusal is quick.
//
// Node's own fetch is not tested: it honours NODE_USE_ENV_PROXY from
// Node 24; older versions (Debian 12 has 18) ignore it and every proxy
// variable and dial the host directly, which the sandbox cannot do. npm,
// which has its own proxy support, is what matters.

// clientCase is one run of a client: against a registry the policy
// allows, or one it does not list.
type clientCase struct {
	name    string
	srv     *hostServer
	log     *pathLog
	allowed bool
}

// checkReached checks that the client's run succeeded, that srv answered
// it, and that the proxy refused nothing.
func checkReached(t *testing.T, r result, refused []netViolation, tt clientCase, before int64) {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("exit %d; want 0\nstdout: %s\nstderr: %s\nserver was asked for: %s", r.code, r.stdout, r.stderr, tt.log)
	}
	if got := tt.srv.hits.Load() - before; got == 0 {
		t.Errorf("the registry answered no request")
	}
	if len(refused) != 0 {
		t.Errorf("report has network violations: %+v", refused)
	}
}

// checkRefused checks that the client's run failed, that srv was never
// connected to, and that the report's only network violation is srv's
// address, refused as an IP literal the policy does not list.
func checkRefused(t *testing.T, r result, refused []netViolation, tt clientCase, beforeConns int64) {
	t.Helper()
	if r.code == 0 {
		t.Errorf("exit 0; want a failure, the registry is not in the policy\nstdout: %s\nstderr: %s", r.stdout, r.stderr)
	}
	if got := tt.srv.conns.Load() - beforeConns; got != 0 {
		t.Errorf("the refused registry accepted %d connections (asked for: %s)", got, tt.log)
	}
	// A client may try again, or ask for more than one path: the count
	// is not the point.
	for i := range refused {
		if refused[i].Count < 1 {
			t.Errorf("violation %+v has count %d", refused[i], refused[i].Count)
		}
		refused[i].Count = 0
	}
	want := []netViolation{{Kind: "network", Target: tt.srv.host, Decision: "denied", Reason: "IP literal"}}
	if diff := cmp.Diff(want, refused); diff != "" {
		t.Errorf("report's network violations (-want +got):\n%s\nstdout: %s\nstderr: %s", diff, r.stdout, r.stderr)
	}
}

// readWS returns the content of a file in the workspace, or "" if there
// is none.
func readWS(e *env, rel string) string {
	b, err := os.ReadFile(filepath.Join(e.ws, filepath.FromSlash(rel)))
	if err != nil {
		return ""
	}
	return string(b)
}

// npm installs a package from a registry given with --registry, over
// plain HTTP through the proxy npm reads from npm_config_proxy, with its
// cache in the workspace.
func TestClientNpmInstall(t *testing.T) {
	requireBwrap(t)
	requireTool(t, "node", "nodejs")
	requireTool(t, "npm", "npm")
	reg, regLog := npmRegistry(t, serverIP)
	// The same registry again, on a port the policy does not list.
	other, otherLog := npmRegistry(t, serverIP)

	for _, tt := range []clientCase{
		{name: "allowed registry", srv: reg, log: regLog, allowed: true},
		{name: "registry not in the policy", srv: other, log: otherLog},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			policy := e.writePolicy([]string{reg.host}, nil)
			e.write(filepath.Join(e.ws, "package.json"), `{"name": "ws", "version": "1.0.0", "private": true}`+"\n")
			script := strings.Join([]string{
				`export npm_config_cache="$PWD/.npm-cache"`,
				"npm install --no-audit --no-fund --no-update-notifier --fetch-retries 0 --fetch-timeout 15000 " +
					"--registry http://" + tt.srv.host + "/ " + npmPackage,
				`node -e 'console.log(require("` + npmPackage + `"))'`,
			}, " && ")
			hits, conns := tt.srv.hits.Load(), tt.srv.conns.Load()
			r, refused := e.runNet(policy, script)
			installed := readWS(e, "node_modules/"+npmPackage+"/index.js")
			if !tt.allowed {
				checkRefused(t, r, refused, tt, conns)
				if installed != "" {
					t.Errorf("the package was installed from a refused registry")
				}
				if !strings.Contains(r.stderr, "403") {
					t.Errorf("npm's error does not mention the proxy's 403:\n%s", r.stderr)
				}
				return
			}
			checkReached(t, r, refused, tt, hits)
			if installed != npmIndexJS {
				t.Errorf("node_modules/%s/index.js: %q; want %q", npmPackage, installed, npmIndexJS)
			}
			if !strings.Contains(r.stdout, npmGreeting) {
				t.Errorf("node could not load the installed package; stdout: %s", r.stdout)
			}
			for _, p := range []string{"/" + npmPackage, "/" + npmPackage + "/-/" + npmPackage + "-1.0.0.tgz"} {
				if !tt.log.has(p) {
					t.Errorf("the registry was not asked for %s (asked for: %s)", p, tt.log)
				}
			}
		})
	}
}

// pip downloads a wheel from a PEP 503 index over HTTPS, through a
// CONNECT tunnel, checking the index's certificate against a CA in the
// workspace, with no cache and no version check; Python then imports the
// package from the wheel. (pip logs why it could not fetch an index page
// only with -v: refused, it says no more than that it found no version.)
func TestClientPipDownload(t *testing.T) {
	requireBwrap(t)
	requireTool(t, "python3", "python3")
	requireTool(t, "pip3", "python3-pip")
	cert := newTestCert(t, serverIP)
	index, indexLog := pyIndex(t, serverIP, &cert)
	other, otherLog := pyIndex(t, serverIP, &cert)
	wheel := string(pyWheelBytes(t))

	for _, tt := range []clientCase{
		{name: "allowed index", srv: index, log: indexLog, allowed: true},
		{name: "index not in the policy", srv: other, log: otherLog},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			policy := e.writePolicy([]string{index.host}, nil)
			e.write(filepath.Join(e.ws, "ca.pem"), string(cert.pem))
			script := strings.Join([]string{
				"export PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1",
				// download, not install: pip refuses to install into a
				// Python it does not manage (PEP 668), and pyenv's pip
				// shim fails after an install it cannot record.
				"pip3 download --retries 0 --timeout 15 --cert ca.pem --index-url https://" + tt.srv.host + "/simple/ " +
					"--no-deps -d dl " + pyProject,
				// A pure-Python wheel is importable as it is.
				`PYTHONPATH=dl/` + pyWheel + ` python3 -c 'import sandbar_hello; print(sandbar_hello.GREETING)'`,
			}, " && ")
			hits, conns := tt.srv.hits.Load(), tt.srv.conns.Load()
			r, refused := e.runNet(policy, script)
			downloaded := readWS(e, "dl/"+pyWheel)
			if !tt.allowed {
				checkRefused(t, r, refused, tt, conns)
				if downloaded != "" {
					t.Errorf("the wheel was downloaded from a refused index")
				}
				return
			}
			checkReached(t, r, refused, tt, hits)
			if downloaded != wheel {
				t.Errorf("dl/%s (%d bytes) is not the wheel the index serves (%d bytes)", pyWheel, len(downloaded), len(wheel))
			}
			if !strings.Contains(r.stdout, pyGreeting) {
				t.Errorf("python could not import the downloaded package; stdout: %s", r.stdout)
			}
			for _, p := range []string{"/simple/" + pyProject + "/", "/files/" + pyWheel} {
				if !tt.log.has(p) {
					t.Errorf("the index was not asked for %s (asked for: %s)", p, tt.log)
				}
			}
		})
	}
}

// The go command downloads a module from a GOPROXY over plain HTTP,
// through the proxy it reads from HTTP_PROXY. The module proxy listens on
// a non-loopback address of the host (see hostIP): the go command would
// not proxy a request for 127.0.0.2.
func TestClientGoModDownload(t *testing.T) {
	requireBwrap(t)
	requireTool(t, "go", "golang-go")
	ip := hostIP(t)
	gp, gpLog := goProxy(t, ip)
	other, otherLog := goProxy(t, ip)

	for _, tt := range []clientCase{
		{name: "allowed module proxy", srv: gp, log: gpLog, allowed: true},
		{name: "module proxy not in the policy", srv: other, log: otherLog},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			policy := e.writePolicy([]string{gp.host}, nil)
			script := strings.Join([]string{
				// -modcacherw: the test can remove the module cache.
				`export GOPROXY=http://` + tt.srv.host + ` GOSUMDB=off GOFLAGS=-modcacherw GOTOOLCHAIN=local GOTELEMETRY=off ` +
					`GOMODCACHE="$PWD/modcache" GOCACHE="$PWD/gocache"`,
				"go mod download " + goModule + "@" + goVersion,
			}, " && ")
			hits, conns := tt.srv.hits.Load(), tt.srv.conns.Load()
			r, refused := e.runNet(policy, script)
			downloaded := readWS(e, "modcache/"+goModule+"@"+goVersion+"/hello.go")
			if !tt.allowed {
				checkRefused(t, r, refused, tt, conns)
				if downloaded != "" {
					t.Errorf("the module was downloaded from a refused module proxy")
				}
				if !strings.Contains(r.stderr, "403 Forbidden") {
					t.Errorf("go's error does not mention the proxy's 403:\n%s", r.stderr)
				}
				return
			}
			checkReached(t, r, refused, tt, hits)
			if downloaded != goSource {
				t.Errorf("modcache/%s@%s/hello.go: %q; want %q", goModule, goVersion, downloaded, goSource)
			}
			for _, p := range []string{"/" + goModule + "/@v/" + goVersion + ".mod", "/" + goModule + "/@v/" + goVersion + ".zip"} {
				if !tt.log.has(p) {
					t.Errorf("the module proxy was not asked for %s (asked for: %s)", p, tt.log)
				}
			}
		})
	}
}

// Python's urllib fetches over HTTPS through the proxy it reads from
// HTTPS_PROXY, checking the server's certificate against a CA in the
// workspace.
func TestClientPythonURLLib(t *testing.T) {
	requireBwrap(t)
	requireTool(t, "python3", "python3")
	cert := newTestCert(t, serverIP)
	srv := startServer(t, serverIP, &cert, nil)
	other := startServer(t, serverIP, &cert, nil)
	const pyGet = `import ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile="ca.pem")
sys.stdout.write(urllib.request.urlopen(sys.argv[1], context=ctx, timeout=20).read().decode())`

	for _, tt := range []clientCase{
		{name: "allowed server", srv: srv, log: &pathLog{}, allowed: true},
		{name: "server not in the policy", srv: other, log: &pathLog{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			policy := e.writePolicy([]string{srv.host}, nil)
			e.write(filepath.Join(e.ws, "ca.pem"), string(cert.pem))
			hits, conns := tt.srv.hits.Load(), tt.srv.conns.Load()
			r, refused := e.runNet(policy, "python3 -c "+confine.ShellQuote(pyGet)+" https://"+tt.srv.host+"/")
			if !tt.allowed {
				checkRefused(t, r, refused, tt, conns)
				if !strings.Contains(r.stderr, "Tunnel connection failed: 403") {
					t.Errorf("urllib's error does not mention the proxy's 403:\n%s", r.stderr)
				}
				return
			}
			checkReached(t, r, refused, tt, hits)
			if r.stdout != helloBody {
				t.Errorf("stdout: %q; want the server's answer %q", r.stdout, helloBody)
			}
		})
	}
}
