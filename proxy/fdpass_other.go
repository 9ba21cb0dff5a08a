//go:build !linux

package proxy

import "net"

// receiveHello reads the Hello from c. Descriptors are passed with the
// Hello only by sandbar's relay, which runs on Linux; elsewhere any that
// come are left to the kernel, which closes them.
func receiveHello(c *net.UnixConn, credential string) (net.Conn, error) {
	return nil, readHello(c, credential)
}
