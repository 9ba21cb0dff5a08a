package proxy

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// acceptLoop accepts connections on l until ctx ends (it then returns nil)
// or l fails for good, and runs handle for each on a goroutine of its own,
// so that no client, however slow, holds up the next one.
func acceptLoop(ctx context.Context, l *trackingListener, handle func(*trackedConn)) error {
	var backoff time.Duration
	for {
		c, err := l.accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			// As net/http does: a failed accept (out of file
			// descriptors, say) is retried after a growing pause.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		go handle(c)
	}
}

// connQueue is a listener whose connections are handed to it with put: the
// accept loop puts each connection once its Hello has been read, and the
// HTTP server accepts them from here.
type connQueue struct {
	addr  net.Addr
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newConnQueue(addr net.Addr) *connQueue {
	return &connQueue{addr: addr, conns: make(chan net.Conn), done: make(chan struct{})}
}

// put hands c to Accept, or closes it if the queue is closed.
func (q *connQueue) put(c net.Conn) {
	select {
	case q.conns <- c:
	case <-q.done:
		c.Close()
	}
}

func (q *connQueue) Accept() (net.Conn, error) {
	select {
	case c := <-q.conns:
		return c, nil
	case <-q.done:
		return nil, net.ErrClosed
	}
}

func (q *connQueue) Close() error {
	q.once.Do(func() { close(q.done) })
	return nil
}

func (q *connQueue) Addr() net.Addr { return q.addr }

// tracker remembers a proxy's open connections until they are closed:
// those it accepted, the client sockets passed to it with a Hello, and the
// upstream connections of its tunnels. Stopping the proxy closes them all,
// so that it also ends its tunnels, which net/http forgets once it hands
// them over (hijacks them).
type tracker struct {
	mu     sync.Mutex
	conns  map[*trackedConn]struct{}
	closed bool
}

func newTracker() *tracker {
	return &tracker{conns: make(map[*trackedConn]struct{})}
}

// add tracks c until it is closed. Once the proxy has stopped it closes c
// and returns net.ErrClosed.
func (t *tracker) add(c net.Conn) (*trackedConn, error) {
	tc := &trackedConn{Conn: c, t: t}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		c.Close()
		return nil, net.ErrClosed
	}
	t.conns[tc] = struct{}{}
	return tc, nil
}

// closeAll closes every connection still open, and any added later.
func (t *tracker) closeAll() {
	t.mu.Lock()
	t.closed = true
	conns := t.conns
	t.conns = nil
	t.mu.Unlock()
	for c := range conns {
		c.Conn.Close()
	}
}

// trackingListener tracks the connections it accepts.
type trackingListener struct {
	net.Listener
	t *tracker
}

func (l *trackingListener) accept() (*trackedConn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return l.t.add(c)
}

// closeAll closes the listener and every connection still open.
func (l *trackingListener) closeAll() {
	l.Listener.Close()
	l.t.closeAll()
}

// trackedConn is a connection its tracker forgets when it is closed. Conn
// is the connection itself, usually a *net.TCPConn or *net.UnixConn:
// tunnels copy between those, which Linux splices (see tunnel); closing
// goes through the trackedConn.
type trackedConn struct {
	net.Conn
	t    *tracker
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.t.mu.Lock()
		delete(c.t.conns, c)
		c.t.mu.Unlock()
	})
	return c.Conn.Close()
}

// CloseWrite passes a half-close through to connections that support it
// (TCP and Unix sockets), and closes others.
func (c *trackedConn) CloseWrite() error {
	if hc, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return hc.CloseWrite()
	}
	return c.Close()
}

// tunnel copies bytes between client and up, both ways, until both
// directions have ended, then closes both. The copies are between the
// sockets themselves, not their trackedConns, so that Linux moves the bytes
// with splice(2) and they never enter the proxy's memory. A direction that
// reaches end of file passes it on as a half-close; one that fails (a
// reset, or the proxy stopping and closing either connection) closes both,
// which ends the other direction too. The caller's goroutine copies one
// direction, a new one the other.
func tunnel(client, up *trackedConn) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		copyHalf(up, client)
	}()
	copyHalf(client, up)
	<-done
	client.Close()
	up.Close()
}

// copyHalf copies src to dst until src ends.
func copyHalf(dst, src *trackedConn) {
	if _, err := io.Copy(dst.Conn, src.Conn); err != nil {
		dst.Close()
		src.Close()
		return
	}
	dst.CloseWrite()
}
