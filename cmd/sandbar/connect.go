package main

import (
	"flag"
	"io"
	"net"
	"net/url"
	"os"
	"sync"

	xproxy "golang.org/x/net/proxy"

	"github.com/sandbar-dev/sandbar/confine"
)

// cmdConnect is ssh's ProxyCommand inside the sandbox: it reaches
// HOST:PORT through the SOCKS5 relay and joins stdin and stdout to the
// connection. It runs in the sandbox, with no more rights than the
// command that started it.
func cmdConnect(args []string, stdin io.Reader, stdout io.Writer, stderr *os.File) int {
	fs := flag.NewFlagSet("sandbar connect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	via := fs.String("via", confine.SOCKSProxyAddr, "the SOCKS5 proxy to go through")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 2 {
		errorf(stderr, "connect: usage: sandbar connect HOST PORT")
		return 2
	}
	d, err := xproxy.SOCKS5("tcp", *via, proxyAuth(*via, os.Getenv("ALL_PROXY")), xproxy.Direct)
	if err != nil {
		errorf(stderr, "connect: %v", err)
		return 1
	}
	c, err := d.Dial("tcp", net.JoinHostPort(fs.Arg(0), fs.Arg(1)))
	if err != nil {
		errorf(stderr, "connect: %v (is %s allowed in network.allowedDomains?)", err, net.JoinHostPort(fs.Arg(0), fs.Arg(1)))
		return 1
	}
	defer c.Close()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		io.Copy(c, stdin)
		if cw, ok := c.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		}
	}()
	io.Copy(stdout, c)
	return 0
}

// proxyAuth is the login $ALL_PROXY carries for the relay at via: on
// macOS the relay listens on the host's loopback, where any local process
// could reach it, so each run's sandbox gets a credential as the proxy's
// user and password. On Linux the relay needs none, and $ALL_PROXY has
// none.
func proxyAuth(via, allProxy string) *xproxy.Auth {
	u, err := url.Parse(allProxy)
	if err != nil || u.User == nil || u.Host != via {
		return nil
	}
	pass, _ := u.User.Password()
	return &xproxy.Auth{User: u.User.Username(), Password: pass}
}
