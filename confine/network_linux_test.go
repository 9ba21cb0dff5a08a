package confine_test

import (
	"bytes"
	"encoding/hex"
	"io"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/sandbar-dev/sandbar/confine"
	"github.com/sandbar-dev/sandbar/confine/confinetest"
	"golang.org/x/sys/unix"
)

// fakeProxies listens on two Unix sockets standing in for sandbar's
// proxies. On each connection the relay must send hello and, with it, the
// client's TCP socket, as one message; the fake reads what the client sends
// on that socket and echoes it back after the proxy's name, so a test sees
// which socket a relay reached and that the hello and the socket came
// together. Anything else is answered with what was wrong, on the client's
// socket when there is one.
func fakeProxies(t *testing.T, dir string, hello []byte) *confine.Proxy {
	t.Helper()
	p := &confine.Proxy{HTTP: filepath.Join(dir, "http.sock"), SOCKS: filepath.Join(dir, "socks.sock"), Hello: hello}
	for name, path := range map[string]string{"http": p.HTTP, "socks": p.SOCKS} {
		ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				c, err := ln.AcceptUnix()
				if err != nil {
					return
				}
				go fakeProxy(c, name, hello)
			}
		}()
	}
	return p
}

func fakeProxy(c *net.UnixConn, name string, hello []byte) {
	defer c.Close()
	got := make([]byte, len(hello)+16)
	oob := make([]byte, unix.CmsgSpace(2*4))
	n, oobn, _, _, err := c.ReadMsgUnix(got, oob)
	if err != nil {
		return
	}
	var fds []int
	msgs, _ := unix.ParseSocketControlMessage(oob[:oobn])
	for _, m := range msgs {
		more, _ := unix.ParseUnixRights(&m)
		fds = append(fds, more...)
	}
	if len(fds) != 1 {
		for _, fd := range fds {
			unix.Close(fd)
		}
		io.WriteString(c, "want one descriptor with the hello")
		return
	}
	f := os.NewFile(uintptr(fds[0]), "client")
	client, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return
	}
	defer client.Close()
	if _, ok := client.(*net.TCPConn); !ok {
		io.WriteString(client, "not a TCP socket")
		return
	}
	if !bytes.Equal(got[:n], hello) {
		io.WriteString(client, "no hello")
		return
	}
	rest, _ := io.ReadAll(client)
	io.WriteString(client, name+":"+string(rest))
}

func TestRelayReachesTheProxies(t *testing.T) {
	f := confinetest.NewFixture(t)
	spec := f.Spec(nil)
	spec.Network.Proxy = fakeProxies(t, f.Outside, []byte("hello-"+confinetest.Unique("cred")+"\r\n"))
	for addr, want := range map[string]string{
		confine.HTTPProxyAddr:  "http:ping",
		confine.SOCKSProxyAddr: "socks:ping",
	} {
		t.Run(addr, func(t *testing.T) {
			o := confinetest.Probe(t, spec, "exchange", addr, "ping")
			if o.Errno != 0 || o.Out != want {
				t.Errorf("exchange with %s: %v; want %q", addr, o, want)
			}
		})
	}
}

func TestNoRelayWithoutProxy(t *testing.T) {
	f := confinetest.NewFixture(t)
	o := confinetest.Probe(t, f.Spec(nil), "exchange", confine.HTTPProxyAddr, "ping")
	if !o.Failed(syscall.ECONNREFUSED) {
		t.Errorf("dialing %s without a proxy: %v; want ECONNREFUSED", confine.HTTPProxyAddr, o)
	}
}

// The relay needs Unix sockets, so bwrap's filter allows them; the
// command must still be refused them unless the policy allows them.
func TestProxyDoesNotGiveTheCommandUnixSockets(t *testing.T) {
	f := confinetest.NewFixture(t)
	path := filepath.Join(f.Outside, "agent.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	spec := f.Spec(nil)
	spec.Network.Proxy = fakeProxies(t, f.Outside, []byte("hello"))
	if o := confinetest.Probe(t, spec, "connect-unix", path); !o.Failed(syscall.EPERM) {
		t.Errorf("connect to a host socket with a proxy: %v; want EPERM", o)
	}
	if o := confinetest.Probe(t, spec, "connect-unix", spec.Network.Proxy.SOCKS); !o.Failed(syscall.EPERM) {
		t.Errorf("connect to the proxy's own socket: %v; want EPERM", o)
	}
	if o := confinetest.Probe(t, spec, "socketpair"); o.Errno != 0 {
		t.Errorf("socketpair with a proxy: %v; want it to work", o)
	}
	spec.AllowUnixSockets = true
	if o := confinetest.Probe(t, spec, "connect-unix", path); o.Errno != 0 {
		t.Errorf("connect with allowUnixSockets and a proxy: %v; want success", o)
	}
}

// The init holds the proxies' credential and descriptors that reach
// them; the command runs as the same user in the same sandbox.
func TestCommandCannotTamperWithTheInit(t *testing.T) {
	f := confinetest.NewFixture(t)
	secret := confinetest.Unique("credential")
	spec := f.Spec(nil)
	spec.Network.Proxy = fakeProxies(t, f.Outside, []byte(secret))
	t.Run("ptrace", func(t *testing.T) {
		if o := confinetest.Probe(t, spec, "ptrace-attach", "1"); !o.Failed(syscall.EPERM) {
			t.Errorf("ptrace attach to the init: %v; want EPERM", o)
		}
	})
	for _, file := range []string{"environ", "mem", "fd/10"} {
		t.Run("read /proc/1/"+file, func(t *testing.T) {
			if o := confinetest.Probe(t, spec, "read", "/proc/1/"+file); !o.Failed(syscall.EACCES) && !o.Failed(syscall.EPERM) {
				t.Errorf("reading the init's %s: %v; want EACCES", file, o)
			}
		})
	}
	t.Run("connect through /proc/1/fd", func(t *testing.T) {
		spec := spec
		spec.AllowUnixSockets = true
		if o := confinetest.Probe(t, spec, "connect-unix", "/proc/1/fd/10"); o.Errno == 0 {
			t.Errorf("connecting to the proxy through the init's descriptor: %v; want a failure", o)
		}
	})
	t.Run("credential nowhere in /proc", func(t *testing.T) {
		if o := confinetest.Probe(t, spec, "grep-proc", hex.EncodeToString([]byte(secret))); o.Errno != 0 || o.Out != "" {
			t.Errorf("looking for the credential: %v; want it in no command line or environment", o)
		}
	})
}

func TestProxySocketsAreCheckedForSymlinks(t *testing.T) {
	f := confinetest.NewFixture(t)
	p := fakeProxies(t, f.Outside, []byte("hello"))
	link := filepath.Join(f.Outside, "link.sock")
	if err := os.Symlink(p.HTTP, link); err != nil {
		t.Fatal(err)
	}
	spec := f.Spec(confinetest.Argv("exit", "0"))
	p.HTTP = link
	spec.Network.Proxy = p
	confinetest.RequireBwrap(t)
	_, err := confine.Runner{}.Run(t.Context(), spec, confine.Stdio{})
	if err == nil {
		t.Fatalf("Run with a proxy socket behind a symlink succeeded; want a setup error")
	}
}
