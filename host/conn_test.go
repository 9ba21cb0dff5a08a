package host

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// wire is any message, as a test reads it.
type wire struct {
	ID     json.RawMessage `json:"id,omitempty"`
	Method string          `json:"method,omitempty"`
	Params json.RawMessage `json:"params,omitempty"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error,omitempty"`
}

// peer is the editor's end of a conn under test.
type peer struct {
	t    *testing.T
	w    *io.PipeWriter
	msgs chan wire
}

// serveTest serves methods (each allowed at any time) on a conn and
// returns the editor's end. Every test's methods include "ping".
func serveTest(t *testing.T, methods map[string]method) (*peer, *conn) {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	c := newConn(inR, outW, func(string) {})
	methods["ping"] = request(func(context.Context, struct{}) (string, error) { return "pong", nil })
	c.serve(context.Background(), func(name string, isCall bool) (method, error) {
		m, ok := methods[name]
		if !ok {
			return method{}, errorf(codeMethodNotFound, "unknown method %s", name)
		}
		return m, nil
	})
	p := &peer{t: t, w: inW, msgs: make(chan wire, 100)}
	go func() {
		r := &frameReader{r: bufio.NewReader(outR)}
		for {
			body, err := r.next()
			if err != nil {
				close(p.msgs)
				return
			}
			var m wire
			if err := json.Unmarshal(body, &m); err != nil {
				panic(fmt.Sprintf("the host wrote %q: %v", body, err))
			}
			p.msgs <- m
		}
	}()
	t.Cleanup(func() {
		inW.Close()
		select {
		case <-c.close():
		case <-time.After(10 * time.Second):
			t.Error("the connection did not close within 10s")
		}
	})
	return p, c
}

func (p *peer) raw(s string) {
	p.t.Helper()
	if _, err := io.WriteString(p.w, s); err != nil {
		p.t.Fatal(err)
	}
}

func (p *peer) frame(body string) {
	p.raw(fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(body), body))
}

func (p *peer) next() wire {
	p.t.Helper()
	select {
	case m, ok := <-p.msgs:
		if !ok {
			p.t.Fatal("the host closed its output")
		}
		return m
	case <-time.After(10 * time.Second):
		p.t.Fatal("no message from the host within 10s")
		return wire{}
	}
}

// ping checks that the connection still serves.
func (p *peer) ping() {
	p.t.Helper()
	p.frame(`{"jsonrpc":"2.0","id":"ping","method":"ping"}`)
	if m := p.next(); string(m.ID) != `"ping"` || string(m.Result) != `"pong"` {
		p.t.Fatalf("ping answered with %+v; want pong", m)
	}
}

type answer struct {
	ID   string
	Code int
}

func answerOf(m wire) answer {
	a := answer{ID: string(m.ID)}
	if m.Error != nil {
		a.Code = m.Error.Code
	}
	return a
}

func TestStreamAnswersBadFramesAndReadsOn(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  answer
	}{
		{"invalid JSON", "Content-Length: 9\r\n\r\n{not json", answer{"null", -32700}},
		{"no Content-Length", "Content-Type: x\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}", answer{"null", -32700}},
		{"Content-Length not a number", "Content-Length: ten\r\n\r\n{}", answer{"null", -32700}},
		{"no header at all", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\r\n", answer{"null", -32700}},
		{"header line too long", strings.Repeat("x", maxHeaderLine+10) + "\r\n\r\n", answer{"null", -32700}},
		{"batch", frameOf(`[{"jsonrpc":"2.0","id":1,"method":"ping"}]`), answer{"null", -32600}},
		{"not an object", frameOf(`42`), answer{"null", -32600}},
		{"JSON-RPC 1.0", frameOf(`{"jsonrpc":"1.0","id":7,"method":"ping"}`), answer{"7", -32600}},
		{"method not a string", frameOf(`{"jsonrpc":"2.0","id":"a","method":3}`), answer{`"a"`, -32600}},
		{"method and result", frameOf(`{"jsonrpc":"2.0","id":8,"method":"ping","result":1}`), answer{"8", -32600}},
		{"unknown method", frameOf(`{"jsonrpc":"2.0","id":9,"method":"nope"}`), answer{"9", -32601}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := serveTest(t, map[string]method{})
			p.raw(tt.input)
			if diff := cmp.Diff(tt.want, answerOf(p.next())); diff != "" {
				t.Errorf("answer (-want +got):\n%s", diff)
			}
			p.ping()
		})
	}
}

// A malformed response has nobody to answer to: it is dropped.
func TestStreamDropsMalformedResponse(t *testing.T) {
	p, _ := serveTest(t, map[string]method{})
	p.frame(`{"jsonrpc":"1.0","id":1,"result":3}`)
	p.ping()
}

// The library ends the connection when a notification handler returns an
// error or panics; the host's do not.
func TestFailedNotificationKeepsConnection(t *testing.T) {
	p, _ := serveTest(t, map[string]method{
		"fails":  notification(func(context.Context, struct{}) error { return errors.New("no") }),
		"panics": notification(func(context.Context, struct{}) error { panic("bug") }),
		"typed":  notification(func(context.Context, struct{ N int }) error { return nil }),
	})
	p.frame(`{"jsonrpc":"2.0","method":"fails"}`)
	p.frame(`{"jsonrpc":"2.0","method":"panics"}`)
	p.frame(`{"jsonrpc":"2.0","method":"typed","params":{"N":"x"}}`)
	p.ping()
}

func TestErrorCodes(t *testing.T) {
	p, _ := serveTest(t, map[string]method{
		"coded":  request(func(context.Context, struct{}) (any, error) { return nil, errorf(codeRequestFailed, "failed") }),
		"plain":  request(func(context.Context, struct{}) (any, error) { return nil, errors.New("plain") }),
		"panics": request(func(context.Context, struct{}) (any, error) { panic("bug") }),
		"typed": request(func(context.Context, struct {
			Argv []string `json:"argv"`
		}) (any, error) {
			return nil, nil
		}),
		"note": notification(func(context.Context, struct{}) error { return nil }),
	})
	tests := []struct {
		name, params string
		method       string
		want         int
	}{
		{"a handler's code", `{}`, "coded", -32803},
		{"an uncoded error", `{}`, "plain", -32603},
		{"a panic", `{}`, "panics", -32603},
		{"a param of the wrong type", `{"argv":"ls"}`, "typed", -32602},
		{"params of the wrong type", `"ls"`, "typed", -32602},
		{"a notification sent as a request", `{}`, "note", -32600},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p.frame(fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":%q,"params":%s}`, i, tt.method, tt.params))
			if diff := cmp.Diff(answer{fmt.Sprint(i), tt.want}, answerOf(p.next())); diff != "" {
				t.Errorf("answer (-want +got):\n%s", diff)
			}
			p.ping()
		})
	}
}

// A handler that asks the editor must not hold the read loop, or the
// answer is never read.
func TestHandlerCallsEditorBack(t *testing.T) {
	var c *conn
	p, c := serveTest(t, map[string]method{
		"ask": request(func(ctx context.Context, _ struct{}) (string, error) {
			var reply string
			err := c.call(ctx, "editor/question", map[string]string{"q": "allow?"}, &reply)
			return "editor said " + reply, err
		}),
	})
	p.frame(`{"jsonrpc":"2.0","id":1,"method":"ask"}`)
	q := p.next()
	if q.Method != "editor/question" {
		t.Fatalf("got %+v; want the host's question", q)
	}
	p.frame(fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"result":"yes"}`, q.ID))
	if m := p.next(); string(m.Result) != `"editor said yes"` {
		t.Errorf("got %+v; want the answer passed on", m)
	}
}

func TestCancelRequest(t *testing.T) {
	started := make(chan struct{})
	p, _ := serveTest(t, map[string]method{
		"wait": request(func(ctx context.Context, _ struct{}) (any, error) {
			release(ctx)
			close(started)
			<-ctx.Done()
			return nil, ctx.Err()
		}),
	})
	p.frame(`{"jsonrpc":"2.0","id":5,"method":"wait"}`)
	<-started
	p.frame(`{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":5}}`)
	if diff := cmp.Diff(answer{"5", -32800}, answerOf(p.next())); diff != "" {
		t.Errorf("answer (-want +got):\n%s", diff)
	}
}

// The library recycles a request's context when its handler returns; a
// context derived from it with a deadline would be read after that by
// the goroutine context starts for it, and panic. Handlers get their own.
func TestHandlerContextMayBeDerived(t *testing.T) {
	p, _ := serveTest(t, map[string]method{
		"derive": request(func(ctx context.Context, _ struct{}) (any, error) {
			ctx, cancel := context.WithTimeout(ctx, time.Hour)
			defer cancel()
			return nil, ctx.Err()
		}),
	})
	for i := range 300 {
		p.frame(fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"derive"}`, i))
		if m := p.next(); m.Error != nil {
			t.Fatalf("request %d: %+v", i, m.Error)
		}
	}
	p.ping()
}

func frameOf(body string) string { return fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(body), body) }
