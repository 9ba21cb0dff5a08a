package e2e

import (
	"bytes"
	"log"
	"net"
	"net/http/cgi"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
)

// syncBuffer is a log several processes' output goes to.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// bareRepo makes the bare repository dir/repo.git, whose one commit has
// README with content, and returns its path.
func (e *env) bareRepo(dir, content string) string {
	e.t.Helper()
	src := filepath.Join(e.root, "repo-src")
	e.git(e.root, "init", "-q", "-b", "main", src)
	e.write(filepath.Join(src, "README"), content)
	e.git(src, "add", "README")
	e.git(src, "commit", "-q", "-m", "first")
	bare := filepath.Join(dir, "repo.git")
	e.git(e.root, "clone", "-q", "--bare", src, bare)
	return bare
}

// gitHTTPServer serves the repositories under root over HTTPS on
// serverIP, with git's own smart HTTP server (git http-backend) run as a
// CGI program. Its log is what git http-backend printed.
func gitHTTPServer(t *testing.T, root string, cert *testCert) (*hostServer, *syncBuffer) {
	t.Helper()
	git := requireTool(t, "git", "git")
	logs := &syncBuffer{}
	h := &cgi.Handler{
		Path: git,
		Args: []string{"http-backend"},
		Dir:  root,
		Env: []string{
			"GIT_PROJECT_ROOT=" + root,
			// Serve every repository under root, without a
			// git-daemon-export-ok file in each.
			"GIT_HTTP_EXPORT_ALL=1",
			"GIT_CONFIG_NOSYSTEM=1",
			"HOME=" + root,
		},
		Stderr: logs,
		Logger: log.New(logs, "cgi: ", 0),
	}
	return startServer(t, serverIP, cert, h), logs
}

// sshServer is a real sshd on serverIP, run as the test's own user, that
// lets in one key and serves the user's shell (so git-upload-pack).
type sshServer struct {
	host     string // ip:port
	port     int
	user     string
	hostKey  string // public, as in known_hosts
	log      *syncBuffer
	accepted atomic.Int64
}

// startSSHServer starts sshd for the client key whose public half is
// clientPub. The test accepts each connection itself and hands it to
// `sshd -i` (inetd mode) as its stdin and stdout, so no port is chosen
// before it is bound and there is no daemon to wait for.
//
// Run as an ordinary user, sshd can let in only that user and needs no
// privilege separation; run as root it separates privileges, which needs
// the sshd user (made by the openssh-server package) and the directory
// /run/sshd, which the package's service makes at boot: the test makes it
// if it is missing.
func startSSHServer(t *testing.T, dir, clientPub string) *sshServer {
	t.Helper()
	sshd := requireTool(t, "sshd", "openssh-server", "/usr/sbin", "/usr/local/sbin")
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			t.Fatalf("making sshd's privilege separation directory: %v", err)
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	hostKey := filepath.Join(dir, "host_key")
	sshKeygen(t, hostKey)
	authorized := filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(authorized, []byte(clientPub), 0o600); err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(config, []byte(
		"HostKey "+hostKey+"\n"+
			"AuthorizedKeysFile "+authorized+"\n"+
			"PubkeyAuthentication yes\n"+
			"PasswordAuthentication no\n"+
			"KbdInteractiveAuthentication no\n"+
			"PermitRootLogin prohibit-password\n"+
			// Not root's own files: the checks of ownership and
			// modes would refuse the test's directories.
			"StrictModes no\n"+
			"UsePAM no\n"+
			"PidFile none\n"+
			"LogLevel VERBOSE\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pub, err := os.ReadFile(hostKey + ".pub")
	if err != nil {
		t.Fatal(err)
	}

	ln, err := net.Listen("tcp", net.JoinHostPort(serverIP, "0"))
	if err != nil {
		t.Fatal(err)
	}
	s := &sshServer{host: ln.Addr().String(), port: ln.Addr().(*net.TCPAddr).Port, user: u.Username, hostKey: string(pub), log: &syncBuffer{}}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		procs []*os.Process
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.accepted.Add(1)
			f, err := c.(*net.TCPConn).File()
			c.Close()
			if err != nil {
				s.log.Write([]byte("e2e: " + err.Error() + "\n"))
				continue
			}
			cmd := exec.Command(sshd, "-i", "-e", "-f", config)
			cmd.Stdin, cmd.Stdout, cmd.Stderr = f, f, s.log
			err = cmd.Start()
			f.Close()
			if err != nil {
				s.log.Write([]byte("e2e: starting sshd: " + err.Error() + "\n"))
				continue
			}
			mu.Lock()
			procs = append(procs, cmd.Process)
			mu.Unlock()
			wg.Add(1)
			go func() { defer wg.Done(); cmd.Wait() }()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, p := range procs {
			p.Kill()
		}
		mu.Unlock()
		wg.Wait()
	})
	return s
}

// knownHosts is the line a client's known_hosts needs for s.
func (s *sshServer) knownHosts() string {
	return "[" + serverIP + "]:" + strconv.Itoa(s.port) + " " + s.hostKey
}

// sshKeygen makes a new ed25519 key pair at path and path.pub.
func sshKeygen(t *testing.T, path string) {
	t.Helper()
	keygen := requireTool(t, "ssh-keygen", "openssh-client")
	if out, err := exec.Command(keygen, "-q", "-t", "ed25519", "-N", "", "-C", "sandbar-e2e", "-f", path).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
}
