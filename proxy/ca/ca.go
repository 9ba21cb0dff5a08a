package ca

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// Lifetimes. The CA outlives many runs; a leaf certificate lives in one
// process's memory, so it need only outlast a long run.
const (
	caLifetime   = 10 * 365 * 24 * time.Hour
	leafLifetime = 7 * 24 * time.Hour
	// A CA or leaf this close to its end is replaced before use.
	renewBefore = 24 * time.Hour
	// Clocks in and out of the sandbox may differ a little.
	backdate = time.Hour
)

// Files names where the CA of a directory lives.
type Files struct{ Dir string }

// PrivateDir holds the key. It must be hidden in every sandbox.
func (f Files) PrivateDir() string { return filepath.Join(f.Dir, "private") }

// KeyFile holds the key and the certificate, mode 0600.
func (f Files) KeyFile() string { return filepath.Join(f.PrivateDir(), "ca-key.pem") }

// CertFile is the CA's certificate alone.
func (f Files) CertFile() string { return filepath.Join(f.Dir, "ca.pem") }

// BundleFile is the system's roots followed by the CA's certificate, for
// the tools whose one setting replaces the roots they trust.
func (f Files) BundleFile() string { return filepath.Join(f.Dir, "bundle.pem") }

// MakePrivateDir makes the directories, the private one with mode 0700,
// so that it can be hidden in a sandbox before the key exists.
func (f Files) MakePrivateDir() error {
	if err := os.MkdirAll(f.Dir, 0o755); err != nil {
		return fmt.Errorf("making the git CA directory: %w", err)
	}
	if err := os.Mkdir(f.PrivateDir(), 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("making the git CA directory: %w", err)
	}
	fi, err := os.Lstat(f.PrivateDir())
	if err != nil {
		return fmt.Errorf("making the git CA directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("making the git CA directory: %s is not a directory", f.PrivateDir())
	}
	return checkPrivate(f.PrivateDir(), fi)
}

// CA signs leaf certificates for hosts.
type CA struct {
	cert    *x509.Certificate
	certPEM []byte
	key     crypto.Signer
	now     func() time.Time

	mu      sync.Mutex
	leafKey *ecdsa.PrivateKey
	leaves  map[string]*tls.Certificate
}

// Open loads the CA of dir, making it first if there is none (or the one
// there is about to expire), and writes its public certificate to
// Files.CertFile. Several sandbars may open the same directory at once:
// one key wins and all use it.
func Open(dir string) (*CA, error) { return open(Files{dir}, time.Now) }

func open(f Files, now func() time.Time) (*CA, error) {
	if err := f.MakePrivateDir(); err != nil {
		return nil, err
	}
	c, err := load(f.KeyFile(), now)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		c, err = create(f.KeyFile(), now, false)
	case err == nil && now().Add(renewBefore).After(c.cert.NotAfter):
		c, err = create(f.KeyFile(), now, true)
	}
	if err != nil {
		return nil, err
	}
	if err := writeIfChanged(f.CertFile(), c.certPEM, 0o644); err != nil {
		return nil, fmt.Errorf("writing the git CA certificate: %w", err)
	}
	return c, nil
}

// load reads the key file, refusing one that others could read.
func load(path string, now func() time.Time) (*CA, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("reading the git CA key %s: not a regular file", path)
	}
	if err := checkPrivate(path, fi); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the git CA key: %w", err)
	}
	var cert *x509.Certificate
	var key crypto.Signer
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		switch b.Type {
		case "CERTIFICATE":
			cert, err = x509.ParseCertificate(b.Bytes)
		case "PRIVATE KEY":
			var k any
			k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
			if s, ok := k.(crypto.Signer); ok {
				key = s
			}
		}
		if err != nil {
			return nil, fmt.Errorf("reading the git CA key %s: %w", path, err)
		}
	}
	if cert == nil || key == nil || !cert.IsCA {
		return nil, fmt.Errorf("reading the git CA key %s: want a CA certificate and its private key; remove the file to make a new CA", path)
	}
	if !publicKeysEqual(cert.PublicKey, key.Public()) {
		return nil, fmt.Errorf("reading the git CA key %s: the key does not belong to the certificate; remove the file to make a new CA", path)
	}
	return newCA(cert, key, now), nil
}

// checkPrivate refuses a key or its directory that another user owns or
// could read: a key others can read signs for them too.
func checkPrivate(path string, fi fs.FileInfo) error {
	if fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("the git CA key %s has mode %v; it must be private to you: chmod go-rwx %s", path, fi.Mode().Perm(), path)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Getuid() {
		return fmt.Errorf("the git CA key %s belongs to user %d, not to you; remove it to make a new CA", path, st.Uid)
	}
	return nil
}

// create makes a new CA and stores it at path. Unless replace, a CA some
// other sandbar stored there first wins.
func create(path string, now func() time.Time, replace bool) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("making the git CA: %w", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return nil, fmt.Errorf("making the git CA: %w", err)
	}
	ski := sha256.Sum256(pub)
	t := now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "sandbar git proxy CA (" + owner() + ")", Organization: []string{"sandbar"}},
		NotBefore:             t.Add(-backdate),
		NotAfter:              t.Add(caLifetime),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		SubjectKeyId:          ski[:20],
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("making the git CA: %w", err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("making the git CA: %w", err)
	}
	var buf bytes.Buffer
	pem.Encode(&buf, &pem.Block{Type: "PRIVATE KEY", Bytes: kder})
	pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: der})

	tmp, err := os.CreateTemp(filepath.Dir(path), ".ca-key-*")
	if err != nil {
		return nil, fmt.Errorf("storing the git CA: %w", err)
	}
	defer os.Remove(tmp.Name())
	// CreateTemp makes the file 0600 already; say so for the reader.
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("storing the git CA: %w", err)
	}
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("storing the git CA: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("storing the git CA: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("storing the git CA: %w", err)
	}
	if replace {
		err = os.Rename(tmp.Name(), path)
	} else {
		// A link fails if the name exists: the first sandbar to get
		// there wins, and the others load its CA.
		err = os.Link(tmp.Name(), path)
		if errors.Is(err, fs.ErrExist) {
			return load(path, now)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("storing the git CA: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("making the git CA: %w", err)
	}
	return newCA(cert, key, now), nil
}

func newCA(cert *x509.Certificate, key crypto.Signer, now func() time.Time) *CA {
	return &CA{
		cert:    cert,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}),
		key:     key,
		now:     now,
		leaves:  map[string]*tls.Certificate{},
	}
}

// CertPEM is the CA's certificate, PEM-encoded.
func (c *CA) CertPEM() []byte { return bytes.Clone(c.certPEM) }

// Pool is a pool holding only the CA, for tests that play the sandboxed
// client.
func (c *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(c.cert)
	return p
}

// Certificate returns a leaf certificate for host (a name, or an IP
// address), signed by the CA. Certificates are made once per host and
// process, and again when they near their end.
func (c *CA) Certificate(host string) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.now()
	if leaf, ok := c.leaves[host]; ok && t.Add(renewBefore).Before(leaf.Leaf.NotAfter) {
		return leaf, nil
	}
	if c.leafKey == nil {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("making a certificate for %s: %w", host, err)
		}
		c.leafKey = k
	}
	tmpl := &x509.Certificate{
		SerialNumber:   serial(),
		Subject:        pkix.Name{CommonName: host, Organization: []string{"sandbar"}},
		NotBefore:      t.Add(-backdate),
		NotAfter:       t.Add(leafLifetime),
		KeyUsage:       x509.KeyUsageDigitalSignature,
		ExtKeyUsage:    []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		AuthorityKeyId: c.cert.SubjectKeyId,
	}
	if ip := net.ParseIP(host); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	} else {
		tmpl.DNSNames = []string{host}
	}
	if tmpl.NotAfter.After(c.cert.NotAfter) {
		tmpl.NotAfter = c.cert.NotAfter
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, c.leafKey.Public(), c.key)
	if err != nil {
		return nil, fmt.Errorf("making a certificate for %s: %w", host, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("making a certificate for %s: %w", host, err)
	}
	tc := &tls.Certificate{Certificate: [][]byte{der, c.cert.Raw}, PrivateKey: c.leafKey, Leaf: leaf}
	c.leaves[host] = tc
	return tc, nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		// crypto/rand does not fail on the systems Go supports.
		panic(err)
	}
	return n.Add(n, big.NewInt(1))
}

func owner() string {
	name := "user"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	if h, err := os.Hostname(); err == nil {
		name += "@" + h
	}
	return name
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	ea, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && ea.Equal(b)
}

// WriteBundle writes to f.BundleFile the PEM roots followed by the CA's
// certificate, unless it holds them already.
func (f Files) WriteBundle(roots, caPEM []byte) error {
	var b bytes.Buffer
	b.Write(roots)
	if len(roots) > 0 && roots[len(roots)-1] != '\n' {
		b.WriteByte('\n')
	}
	b.WriteString("# sandbar git proxy CA: trusted only in sandboxes\n")
	b.Write(caPEM)
	if err := writeIfChanged(f.BundleFile(), b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("writing the CA bundle for sandboxes: %w", err)
	}
	return nil
}

// systemRootFiles are where systems keep their roots as one PEM file, as
// crypto/x509 looks for them.
var systemRootFiles = []string{
	"/etc/ssl/certs/ca-certificates.crt",                // Debian, Ubuntu, Gentoo, Arch
	"/etc/pki/tls/certs/ca-bundle.crt",                  // Fedora, RHEL 6
	"/etc/ssl/ca-bundle.pem",                            // openSUSE
	"/etc/pki/tls/cacert.pem",                           // OpenELEC
	"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", // CentOS, RHEL 7
	"/etc/ssl/cert.pem",                                 // Alpine, macOS
}

// SystemRoots returns the system's roots as PEM, from $SSL_CERT_FILE when
// getenv has it, else from the first of the usual files that exists. It
// returns nil when there is none.
func SystemRoots(getenv func(string) string) []byte {
	files := systemRootFiles
	if f := getenv("SSL_CERT_FILE"); f != "" {
		files = []string{f}
	}
	for _, f := range files {
		if b, err := os.ReadFile(f); err == nil && bytes.Contains(b, []byte("-----BEGIN CERTIFICATE-----")) {
			return b
		}
	}
	return nil
}

// writeIfChanged replaces path with data, atomically, unless it holds
// data already.
func writeIfChanged(path string, data []byte, mode fs.FileMode) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
