package ca

import (
	"bytes"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestOpenMakesAPrivateKeyOnce(t *testing.T) {
	f := Files{filepath.Join(t.TempDir(), "git-ca")}
	c, err := Open(f.Dir)
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{f.PrivateDir(): 0o700, f.KeyFile(): 0o600, f.CertFile(): 0o644} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %v; want %v", path, got, want)
		}
	}
	pub, err := os.ReadFile(f.CertFile())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pub, c.CertPEM()) || bytes.Contains(pub, []byte("PRIVATE")) {
		t.Errorf("ca.pem is not the CA's certificate alone:\n%s", pub)
	}
	again, err := Open(f.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.CertPEM(), c.CertPEM()) {
		t.Error("a second Open made a new CA")
	}
}

// Sandbars started together agree on one CA.
func TestOpenConcurrently(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "git-ca")
	var wg sync.WaitGroup
	certs := make([][]byte, 8)
	for i := range certs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := Open(dir)
			if err != nil {
				t.Error(err)
				return
			}
			certs[i] = c.CertPEM()
		}()
	}
	wg.Wait()
	for i := range certs {
		if !bytes.Equal(certs[i], certs[0]) {
			t.Fatalf("Open %d got another CA", i)
		}
	}
	left, _ := filepath.Glob(filepath.Join(dir, "private", ".ca-key-*"))
	if len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestOpenRefusesAKeyOthersCanRead(t *testing.T) {
	f := Files{filepath.Join(t.TempDir(), "git-ca")}
	if _, err := Open(f.Dir); err != nil {
		t.Fatal(err)
	}
	os.Chmod(f.KeyFile(), 0o640)
	_, err := Open(f.Dir)
	if err == nil || !strings.Contains(err.Error(), "must be private to you") {
		t.Errorf("Open with a group-readable key: %v; want a refusal", err)
	}
	os.Chmod(f.KeyFile(), 0o600)
	os.Chmod(f.PrivateDir(), 0o755)
	if _, err := Open(f.Dir); err == nil {
		t.Error("Open with a world-readable private directory succeeded")
	}
}

func TestOpenRefusesADamagedKey(t *testing.T) {
	f := Files{filepath.Join(t.TempDir(), "git-ca")}
	if err := f.MakePrivateDir(); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(f.KeyFile(), []byte("not a key"), 0o600)
	if _, err := Open(f.Dir); err == nil || !strings.Contains(err.Error(), "remove the file") {
		t.Errorf("Open of a damaged key: %v", err)
	}
}

func TestOpenRenewsAnExpiringCA(t *testing.T) {
	f := Files{filepath.Join(t.TempDir(), "git-ca")}
	old, err := open(f, func() time.Time { return time.Now().Add(-caLifetime) })
	if err != nil {
		t.Fatal(err)
	}
	renewed, err := Open(f.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(old.CertPEM(), renewed.CertPEM()) {
		t.Error("an expired CA was kept")
	}
	if !renewed.cert.NotAfter.After(time.Now().Add(365 * 24 * time.Hour)) {
		t.Errorf("renewed CA ends %v", renewed.cert.NotAfter)
	}
}

func TestCertificateVerifies(t *testing.T) {
	c, err := Open(filepath.Join(t.TempDir(), "git-ca"))
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"github.com", "127.0.0.2", "::1"} {
		leaf, err := c.Certificate(host)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := leaf.Leaf.Verify(x509.VerifyOptions{DNSName: host, Roots: c.Pool()}); err != nil {
			t.Errorf("%s: %v", host, err)
		}
		if _, err := leaf.Leaf.Verify(x509.VerifyOptions{DNSName: "other.example", Roots: c.Pool()}); err == nil {
			t.Errorf("the certificate for %s is good for other.example", host)
		}
		if again, _ := c.Certificate(host); again != leaf {
			t.Errorf("%s: a second certificate was made", host)
		}
	}
}

func TestWriteBundle(t *testing.T) {
	f := Files{t.TempDir()}
	roots := []byte("-----BEGIN CERTIFICATE-----\nroot\n-----END CERTIFICATE-----")
	if err := f.WriteBundle(roots, []byte("CA\n")); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(f.BundleFile())
	want := string(roots) + "\n# sandbar git proxy CA: trusted only in sandboxes\nCA\n"
	if string(got) != want {
		t.Errorf("bundle = %q; want %q", got, want)
	}
}

func TestSystemRootsFromEnvironment(t *testing.T) {
	p := filepath.Join(t.TempDir(), "roots.pem")
	os.WriteFile(p, []byte("-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n"), 0o644)
	if got := SystemRoots(func(k string) string { return map[string]string{"SSL_CERT_FILE": p}[k] }); !bytes.Contains(got, []byte("x\n")) {
		t.Errorf("SystemRoots = %q", got)
	}
	if got := SystemRoots(func(k string) string { return map[string]string{"SSL_CERT_FILE": p + ".missing"}[k] }); got != nil {
		t.Errorf("SystemRoots with a missing file = %q; want nil", got)
	}
}
