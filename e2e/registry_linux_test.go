package e2e

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// The fake registries below serve one small package each, built in the
// test, in the protocol the real client speaks: npm's registry, a PEP 503
// simple index for pip, and the GOPROXY protocol for the go command. Each
// is a handler for startServer, so a test knows how many connections and
// requests reached it, and records the paths it was asked for.

// pathLog records the paths a fake registry was asked for.
type pathLog struct {
	mu    sync.Mutex
	paths []string
}

func (l *pathLog) add(p string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.paths = append(l.paths, p)
}

// has reports whether p was asked for.
func (l *pathLog) has(p string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, q := range l.paths {
		if q == p {
			return true
		}
	}
	return false
}

func (l *pathLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.paths, " ")
}

// files is a fake registry's content: path → body. A path it does not
// have gets 404, as from a real registry.
type files map[string][]byte

func (f files) handler(log *pathLog, contentType func(path string) string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.add(r.URL.Path)
		body, ok := f[r.URL.Path]
		if !ok || r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", contentType(r.URL.Path))
		w.Write(body)
	})
}

// fixedTime is the modification time of every file in the packages, so
// a package's bytes, and its checksums, are the same at every build.
var fixedTime = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

// npm

const (
	npmPackage  = "sandbar-hello"
	npmGreeting = "hello from the fake npm registry"
	npmIndexJS  = "module.exports = '" + npmGreeting + "';\n"
)

// npmTarball is the npm package name@version as a registry serves it: a
// gzipped tar whose files are under package/.
func npmTarball(t testing.TB, name, version string) []byte {
	t.Helper()
	pkg, err := json.Marshal(map[string]any{"name": name, "version": version, "main": "index.js", "license": "MIT"})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, f := range []struct {
		name string
		body []byte
	}{
		{"package/package.json", pkg},
		{"package/index.js", []byte(npmIndexJS)},
	} {
		hdr := &tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.body)), ModTime: fixedTime, Typeflag: tar.TypeReg, Format: tar.FormatUSTAR}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(f.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// npmRegistry starts a registry on ip serving npmPackage 1.0.0: its
// packument at /sandbar-hello, whose tarball URL and checksums (sha1
// shasum, sha512 integrity) point to the tarball it also serves.
func npmRegistry(t testing.TB, ip string) (*hostServer, *pathLog) {
	t.Helper()
	const version = "1.0.0"
	tgz := npmTarball(t, npmPackage, version)
	log := &pathLog{}
	f := files{}
	srv := startServer(t, ip, nil, f.handler(log, func(p string) string {
		if strings.HasSuffix(p, ".tgz") {
			return "application/octet-stream"
		}
		return "application/json"
	}))
	tarPath := "/" + npmPackage + "/-/" + npmPackage + "-" + version + ".tgz"
	sha1sum := sha1.Sum(tgz)
	sha512sum := sha512.Sum512(tgz)
	packument, err := json.Marshal(map[string]any{
		"name":      npmPackage,
		"dist-tags": map[string]string{"latest": version},
		"versions": map[string]any{
			version: map[string]any{
				"name":    npmPackage,
				"version": version,
				"main":    "index.js",
				"dist": map[string]string{
					"tarball":   "http://" + srv.host + tarPath,
					"shasum":    hex.EncodeToString(sha1sum[:]),
					"integrity": "sha512-" + base64.StdEncoding.EncodeToString(sha512sum[:]),
				},
			},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	// Filled in after the server starts, since the packument names the
	// server's port; nothing has asked for them yet.
	f["/"+npmPackage] = packument
	f[tarPath] = tgz
	return srv, log
}

// pip

const (
	pyProject  = "sandbar-hello"
	pyGreeting = "hello from the fake package index"
	// pyModule is the wheel's one module, sandbar_hello/__init__.py.
	pyModule = "GREETING = '" + pyGreeting + "'\n"
	pyWheel  = "sandbar_hello-1.0.0-py3-none-any.whl"
)

// pyWheelBytes is pyWheel, a pure-Python wheel: a zip with the package
// and a dist-info directory whose RECORD has the other files' hashes, as
// pip checks them when it installs.
func pyWheelBytes(t testing.TB) []byte {
	t.Helper()
	const distInfo = "sandbar_hello-1.0.0.dist-info/"
	entries := []struct{ name, body string }{
		{"sandbar_hello/__init__.py", pyModule},
		{distInfo + "METADATA", "Metadata-Version: 2.1\nName: " + pyProject + "\nVersion: 1.0.0\nSummary: sandbar e2e test package\n"},
		{distInfo + "WHEEL", "Wheel-Version: 1.0\nGenerator: sandbar-e2e\nRoot-Is-Purelib: true\nTag: py3-none-any\n"},
	}
	var record strings.Builder
	for _, e := range entries {
		sum := sha256.Sum256([]byte(e.body))
		fmt.Fprintf(&record, "%s,sha256=%s,%d\n", e.name, base64.RawURLEncoding.EncodeToString(sum[:]), len(e.body))
	}
	record.WriteString(distInfo + "RECORD,,\n")
	entries = append(entries, struct{ name, body string }{distInfo + "RECORD", record.String()})
	return zipFiles(t, entries)
}

// pyIndex starts a PEP 503 simple index on ip serving pyWheel, over
// HTTPS with cert (or HTTP if nil). The project page links the wheel
// with its sha256, which pip checks.
func pyIndex(t testing.TB, ip string, cert *testCert) (*hostServer, *pathLog) {
	t.Helper()
	whl := pyWheelBytes(t)
	sum := sha256.Sum256(whl)
	href := "/files/" + pyWheel + "#sha256=" + hex.EncodeToString(sum[:])
	log := &pathLog{}
	f := files{
		"/simple/": []byte(`<!DOCTYPE html><html><body><a href="/simple/` + pyProject + `/">` + pyProject + "</a></body></html>\n"),
		"/simple/" + pyProject + "/": []byte(`<!DOCTYPE html><html><body><a href="` + html.EscapeString(href) + `">` +
			pyWheel + "</a></body></html>\n"),
		"/files/" + pyWheel: whl,
	}
	srv := startServer(t, ip, cert, f.handler(log, func(p string) string {
		if strings.HasSuffix(p, ".whl") {
			return "application/octet-stream"
		}
		return "text/html"
	}))
	return srv, log
}

// go

const (
	goModule  = "example.test/hello"
	goVersion = "v1.0.0"
	goModFile = "module " + goModule + "\n\ngo 1.21\n"
	goSource  = "// Package hello is served by the e2e tests' fake module proxy.\npackage hello\n\nconst Greeting = \"hello from the fake module proxy\"\n"
)

// goModuleZip is goModule at goVersion in the module zip format: every
// path starts with module@version/.
func goModuleZip(t testing.TB) []byte {
	t.Helper()
	prefix := goModule + "@" + goVersion + "/"
	return zipFiles(t, []struct{ name, body string }{
		{prefix + "go.mod", goModFile},
		{prefix + "hello.go", goSource},
	})
}

// goProxy starts a module proxy on ip that serves goModule at goVersion
// in the GOPROXY protocol: the list of versions, the .info, .mod and .zip
// of the one version.
func goProxy(t testing.TB, ip string) (*hostServer, *pathLog) {
	t.Helper()
	base := "/" + goModule + "/@v/"
	info, err := json.Marshal(map[string]any{"Version": goVersion, "Time": fixedTime})
	if err != nil {
		t.Fatal(err)
	}
	log := &pathLog{}
	f := files{
		base + "list":              []byte(goVersion + "\n"),
		base + goVersion + ".info": info,
		base + goVersion + ".mod":  []byte(goModFile),
		base + goVersion + ".zip":  goModuleZip(t),
	}
	srv := startServer(t, ip, nil, f.handler(log, func(p string) string {
		switch {
		case strings.HasSuffix(p, ".zip"):
			return "application/zip"
		case strings.HasSuffix(p, ".info"):
			return "application/json"
		}
		return "text/plain; charset=utf-8"
	}))
	return srv, log
}

// zipFiles makes a zip of the given files, in the order given.
func zipFiles(t testing.TB, entries []struct{ name, body string }) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: e.name, Method: zip.Deflate, Modified: fixedTime})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// hostIP returns an IPv4 address of the host that is not loopback, for
// servers that clients written in Go must reach: Go's HTTP client never
// sends a request for a loopback address, or for localhost, to a proxy
// (golang.org/x/net/http/httpproxy), whatever HTTP_PROXY and NO_PROXY say,
// so in the sandbox it would dial 127.0.0.2 directly, inside its own
// network namespace. The sandbox cannot reach this address directly either:
// its namespace has no interface but its own loopback. The policy must
// list the address literally, as it would 127.0.0.2, since the proxy
// refuses private addresses otherwise.
func hostIP(t testing.TB) string {
	t.Helper()
	ifaces, err := net.Interfaces()
	if err != nil {
		t.Fatalf("listing the host's interfaces: %v", err)
	}
	var found []string
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			t.Fatalf("listing the addresses of %s: %v", ifc.Name, err)
		}
		for _, a := range addrs {
			n, ok := a.(*net.IPNet)
			if !ok || n.IP.To4() == nil || n.IP.IsLoopback() || n.IP.IsLinkLocalUnicast() {
				continue
			}
			found = append(found, n.IP.String())
		}
	}
	if len(found) == 0 {
		t.Fatal("the host has no IPv4 address but loopback and link-local ones; the go command never proxies requests to those, so this test needs one")
	}
	sort.Strings(found)
	return found[0]
}
