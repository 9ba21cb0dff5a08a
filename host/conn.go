package host

// This file is the only one that knows go.lsp.dev/jsonrpc2. It handles the
// library's pitfalls once, so the handlers in the other files can be plain
// functions from typed params to a typed result or a coded error:
//
//   - The library ends the connection on a frame it cannot decode (a bad
//     header, invalid JSON, a request that is not JSON-RPC 2.0). The
//     stream below checks every frame first, answers a bad one with the
//     JSON-RPC error it deserves and reads on.
//   - A notification handler that returns an error ends the connection:
//     handlers here never return one to the library; it is logged.
//   - A handler runs on the read loop, so one that waits for the editor
//     (Conn.Call) would wait forever for a reply nobody reads: call
//     releases the request with jsonrpc2.Async first.
//   - The context the library hands a handler is recycled with the request
//     when the handler returns, and a context derived from it with a
//     cancel or a deadline starts a goroutine that reads it later and
//     panics: handlers get a context of their own, cancelled by
//     $/cancelRequest, by the end of the connection, or when they return.
//   - Conn.Close waits for every handler to return: a handler must not call
//     it. close runs it on its own goroutine.
//   - An error that is not a *jsonrpc2.Error reaches the editor with code 0:
//     every error is given a code here (-32603 unless a handler chose one).
//   - Its JSON library (encoding/json/v2) matches member names
//     case-sensitively, and encodes an untagged field under its Go name:
//     every wire type carries an explicit tag (protocol_test.go checks).

import (
	"bufio"
	"bytes"
	"context"
	stdjson "encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	json "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"go.lsp.dev/jsonrpc2"
)

// code is a JSON-RPC error code.
type code int

// The codes the host answers with: JSON-RPC's own, and LSP's.
const (
	codeParseError           code = -32700
	codeInvalidRequest       code = -32600
	codeMethodNotFound       code = -32601
	codeInvalidParams        code = -32602
	codeInternalError        code = -32603
	codeServerNotInitialized code = -32002
	codeRequestFailed        code = -32803
	codeRequestCancelled     code = -32800
)

// rpcError is an error with its JSON-RPC code, and optional data for the
// error object's "data" member.
type rpcError struct {
	code code
	msg  string
	data any
}

func (e *rpcError) Error() string { return e.msg }

func errorf(c code, format string, a ...any) *rpcError {
	return &rpcError{code: c, msg: fmt.Sprintf(format, a...)}
}

// method is one method the host serves: call answers a request,
// notify takes a notification. A method may have both.
type method struct {
	call   func(ctx context.Context, params []byte) (any, error)
	notify func(ctx context.Context, params []byte) error
}

// request makes a request method of f, which gets its params decoded.
func request[P, R any](f func(context.Context, P) (R, error)) method {
	return method{call: func(ctx context.Context, raw []byte) (any, error) {
		var p P
		if err := decodeParams(raw, &p); err != nil {
			return nil, err
		}
		return f(ctx, p)
	}}
}

// notification makes a notification method of f.
func notification[P any](f func(context.Context, P) error) method {
	return method{notify: func(ctx context.Context, raw []byte) error {
		var p P
		if err := decodeParams(raw, &p); err != nil {
			return err
		}
		return f(ctx, p)
	}}
}

// decodeParams decodes params into p (absent params leave p as it is),
// as an invalid-params error naming the member that is wrong.
func decodeParams(raw []byte, p any) error {
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return nil
	}
	if err := json.Unmarshal(raw, p); err != nil {
		return &rpcError{code: codeInvalidParams, msg: "invalid params: " + describeJSONError(err)}
	}
	return nil
}

// describeJSONError says what is wrong in terms of the JSON the editor
// sent, not of the Go types it was decoded into.
func describeJSONError(err error) string {
	var se *json.SemanticError
	if !errors.As(err, &se) {
		return err.Error()
	}
	at := string(se.JSONPointer)
	if at == "" {
		at = "params"
	}
	if se.GoType != nil && se.JSONKind != 0 {
		return fmt.Sprintf("%s: got %s, want %s", at, jsonKind(se.JSONKind), goKind(se.GoType))
	}
	if se.Err != nil {
		return fmt.Sprintf("%s: %v", at, se.Err)
	}
	return err.Error()
}

func jsonKind(k jsontext.Kind) string {
	switch k {
	case '"':
		return "a string"
	case '0':
		return "a number"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a JSON value"
}

func goKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "another type"
}

// router picks the method for an incoming message, or refuses it with a
// coded error; it is where the lifecycle decides what may run when. A
// refused notification is dropped.
type router func(name string, isCall bool) (method, error)

// conn is the host's end of the connection with the editor.
type conn struct {
	rpc    jsonrpc2.Conn
	stream *stream
	// problem reports what the editor cannot be told in a response: a
	// notification that failed, a frame that was not even a request.
	problem func(msg string)

	// ctx is the parent of every handler's context; ending it (close)
	// cancels them all.
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	running map[jsonrpc2.ID]context.CancelFunc // requests being handled, for $/cancelRequest
}

func newConn(in io.Reader, out io.Writer, problem func(string)) *conn {
	s := newStream(in, out, problem)
	return &conn{rpc: jsonrpc2.NewConn(s), stream: s, problem: problem, running: map[jsonrpc2.ID]context.CancelFunc{}}
}

// serve starts reading messages and routing them.
func (c *conn) serve(ctx context.Context, route router) {
	c.ctx, c.cancel = context.WithCancel(ctx)
	c.rpc.Go(c.ctx, c.handler(route))
}

// done is closed once the connection has ended: the editor closed its end,
// or close was called.
func (c *conn) done() <-chan struct{} { return c.rpc.Done() }

// inputEnded is closed once the editor's input has ended. The connection
// is not done then while a handler still runs (a run goes on until its
// command ends): the session must end, and cancel them.
func (c *conn) inputEnded() <-chan struct{} { return c.stream.ended }

// close ends the connection and cancels the handlers. It may be called
// from a handler (which must not then wait on the channel it returns: the
// close waits for every handler to return, that one included).
func (c *conn) close() <-chan struct{} {
	c.cancel()
	go func() {
		c.stream.stop()
		c.rpc.Close()
	}()
	return c.rpc.Done()
}

// notify sends a notification to the editor. A failure means the editor
// is gone, which the read side notices too; it is only logged.
func (c *conn) notify(name string, params any) {
	if err := c.rpc.Notify(context.Background(), name, params); err != nil {
		c.stream.logClosed("sending "+name, err)
	}
}

// call asks the editor and waits for its answer. From a handler, it first
// lets the read loop go on without it, or the answer would never be read.
func (c *conn) call(ctx context.Context, name string, params, result any) error {
	release(ctx)
	_, err := c.rpc.Call(ctx, name, params, result)
	return err
}

type releaseKey struct{}

// release lets the messages after this request be handled while its
// handler goes on: for a handler that waits for the editor or does long
// work. It may be called more than once.
func release(ctx context.Context) {
	if r, ok := ctx.Value(releaseKey{}).(func()); ok {
		r()
	}
}

// handler adapts the router to the library: a refused or failed request
// is answered with a coded error, a notification never fails the
// connection, a panic fails only its request, and the handler gets a
// context of its own (see the top of this file).
func (c *conn) handler(route router) jsonrpc2.Handler {
	return func(reqCtx context.Context, req *jsonrpc2.Request) (result any, err error) {
		name := strings.Clone(req.Method())
		isCall := req.IsCall()
		ctx, cancel := context.WithCancel(c.ctx)
		defer cancel()
		var once sync.Once
		ctx = context.WithValue(ctx, releaseKey{}, func() { once.Do(func() { jsonrpc2.Async(reqCtx) }) })
		if isCall {
			id := req.ID()
			c.mu.Lock()
			c.running[id] = cancel
			c.mu.Unlock()
			defer func() {
				c.mu.Lock()
				delete(c.running, id)
				c.mu.Unlock()
			}()
		}
		defer func() {
			if r := recover(); r != nil {
				c.problem(fmt.Sprintf("%s panicked: %v\n%s", name, r, debug.Stack()))
				result, err = nil, wireError(errorf(codeInternalError, "%s failed: sandbar's host panicked (%v); see its log", name, r))
				if !isCall {
					err = nil
				}
			}
		}()
		if name == "$/cancelRequest" {
			c.cancelRequest(req.Params())
			return nil, nil
		}
		m, rerr := route(name, isCall)
		if !isCall {
			switch {
			case rerr != nil:
				if !errors.Is(rerr, errDropped) {
					c.problem(fmt.Sprintf("ignoring notification %s: %v", name, rerr))
				}
			case m.notify == nil:
				c.problem(fmt.Sprintf("ignoring notification %s: it is a request; send it with an id", name))
			default:
				if err := m.notify(ctx, req.Params()); err != nil {
					c.problem(fmt.Sprintf("notification %s: %v", name, err))
				}
			}
			return nil, nil
		}
		switch {
		case rerr != nil:
			return nil, wireError(rerr)
		case m.call == nil:
			return nil, wireError(errorf(codeInvalidRequest, "%s is a notification; send it without an id", name))
		}
		res, err := m.call(ctx, req.Params())
		if err != nil {
			return nil, wireError(err)
		}
		return res, nil
	}
}

// errDropped is a router's answer for a notification to drop quietly.
var errDropped = errors.New("dropped")

func (c *conn) cancelRequest(raw []byte) {
	var p struct {
		ID jsontext.Value `json:"id"`
	}
	if err := decodeParams(raw, &p); err != nil {
		c.problem("$/cancelRequest: " + err.Error())
		return
	}
	id, ok := parseID(p.ID)
	if !ok || !id.IsValid() {
		return
	}
	c.mu.Lock()
	cancel := c.running[id]
	c.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// wireError gives err its JSON-RPC code.
func wireError(err error) *jsonrpc2.Error {
	var re *rpcError
	if errors.As(err, &re) {
		e := jsonrpc2.NewError(jsonrpc2.Code(re.code), err.Error())
		if re.data != nil {
			if b, merr := json.Marshal(re.data); merr == nil {
				e.Data = b
			}
		}
		return e
	}
	if errors.Is(err, context.Canceled) {
		return jsonrpc2.NewError(jsonrpc2.Code(codeRequestCancelled), "request cancelled")
	}
	return jsonrpc2.NewError(jsonrpc2.Code(codeInternalError), err.Error())
}

// parseID reads a request id: a number, a string, or null (the zero ID).
func parseID(v []byte) (jsonrpc2.ID, bool) {
	v = bytes.TrimSpace(v)
	if len(v) == 0 || string(v) == "null" {
		return jsonrpc2.ID{}, true
	}
	if v[0] == '"' {
		var s string
		if stdjson.Unmarshal(v, &s) != nil {
			return jsonrpc2.ID{}, false
		}
		return jsonrpc2.NewStringID(s), true
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		return jsonrpc2.ID{}, false
	}
	return jsonrpc2.NewNumberID(n), true
}

// stream is a jsonrpc2.Stream with LSP's Content-Length framing that
// survives bad input: a frame that is not a JSON-RPC 2.0 message is
// answered with an error (id null when the request's id cannot be read)
// and skipped; a malformed header is answered too, and reading resumes at
// the next "Content-Length:". Only the end of the input, or a frame cut
// short by it, ends the stream.
//
// The input is read on a goroutine of its own, so that stop returns at
// once even while a read of stdin is blocked (a read of a blocking file
// cannot be interrupted).
type stream struct {
	in      io.Reader
	out     jsonrpc2.Stream // writes only
	problem func(string)

	startOnce sync.Once
	frames    chan frameOrError
	stopped   chan struct{}
	stopOnce  sync.Once
	// ended is closed once the input has ended and the connection has
	// read everything before the end.
	ended   chan struct{}
	closers []io.Closer

	// loggedClosed is set once a failed write has been reported.
	loggedClosed atomic.Bool
}

type frameOrError struct {
	body []byte
	bad  *rpcError // a frame to answer with an error and skip
	err  error     // the end of the stream
}

func newStream(in io.Reader, out io.Writer, problem func(string)) *stream {
	s := &stream{
		in:      in,
		out:     jsonrpc2.NewHeaderStream(writeOnly{out}),
		problem: problem,
		frames:  make(chan frameOrError),
		stopped: make(chan struct{}),
		ended:   make(chan struct{}),
	}
	for _, x := range []any{in, out} {
		if c, ok := x.(io.Closer); ok {
			s.closers = append(s.closers, c)
		}
	}
	return s
}

// writeOnly gives a writer the ReadWriteCloser jsonrpc2's framer wants;
// closing is the stream's business.
type writeOnly struct{ io.Writer }

func (writeOnly) Read([]byte) (int, error) { return 0, io.EOF }
func (writeOnly) Close() error             { return nil }

// Read returns the next message that is a JSON-RPC 2.0 request,
// notification or response.
func (s *stream) Read(ctx context.Context) (jsonrpc2.Message, int64, error) {
	s.startOnce.Do(func() { go s.readFrames() })
	for {
		var f frameOrError
		select {
		case f = <-s.frames:
		case <-s.stopped:
			return nil, 0, io.EOF
		case <-ctx.Done():
			return nil, 0, ctx.Err()
		}
		switch {
		case f.err != nil:
			return nil, 0, f.err
		case f.bad != nil:
			s.refuse(ctx, jsonrpc2.ID{}, f.bad)
			continue
		}
		msg, id, bad, isResponse := check(f.body)
		switch {
		case bad != nil && isResponse:
			// Nobody waits for an answer to an answer.
			s.problem("dropping a malformed response from the editor: " + bad.msg)
			continue
		case bad != nil:
			s.refuse(ctx, id, bad)
			continue
		}
		return msg, int64(len(f.body)), nil
	}
}

// check decodes a frame. On failure it returns the id to answer with and
// the error, and whether the frame was a (malformed) response, which gets
// no answer.
func check(body []byte) (msg jsonrpc2.Message, id jsonrpc2.ID, bad *rpcError, isResponse bool) {
	if !stdjson.Valid(body) {
		return nil, jsonrpc2.ID{}, errorf(codeParseError, "parse error: the message is not valid JSON"), false
	}
	var members map[string]stdjson.RawMessage
	if err := stdjson.Unmarshal(body, &members); err != nil {
		trimmed := bytes.TrimSpace(body)
		if len(trimmed) > 0 && trimmed[0] == '[' {
			return nil, jsonrpc2.ID{}, errorf(codeInvalidRequest, "invalid request: batches are not supported; send one message per frame"), false
		}
		return nil, jsonrpc2.ID{}, errorf(codeInvalidRequest, "invalid request: a message must be a JSON object"), false
	}
	msg, err := jsonrpc2.DecodeMessage(body)
	if err == nil {
		return msg, jsonrpc2.ID{}, nil, false
	}
	id, ok := parseID(members["id"])
	var why string
	switch {
	case string(members["jsonrpc"]) != `"2.0"`:
		why = `"jsonrpc" must be "2.0"`
	case members["method"] != nil && members["method"][0] != '"':
		why = `"method" must be a string`
	case !ok:
		why = `"id" must be a string, an integer or null`
	default:
		why = err.Error()
	}
	return nil, id, errorf(codeInvalidRequest, "invalid request: %s", why), members["method"] == nil
}

// refuse answers a message that never reached a handler.
func (s *stream) refuse(ctx context.Context, id jsonrpc2.ID, e *rpcError) {
	s.problem(e.msg)
	if _, err := s.out.Write(ctx, jsonrpc2.NewResponse(id, nil, wireError(e))); err != nil {
		s.logClosed("answering a bad message", err)
	}
}

func (s *stream) Write(ctx context.Context, msg jsonrpc2.Message) (int64, error) {
	return s.out.Write(ctx, msg)
}

// Close is called by the connection once it is done with the stream.
func (s *stream) Close() error {
	s.stop()
	var errs []error
	for _, c := range s.closers {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// stop makes Read return io.EOF from now on.
func (s *stream) stop() { s.stopOnce.Do(func() { close(s.stopped) }) }

func (s *stream) logClosed(what string, err error) {
	// Not a sync.Once: problem logs, and logging also writes to the
	// editor (window/logMessage), whose failure comes back here; inside
	// Once.Do that deadlocked the host when an editor went away.
	if s.loggedClosed.Swap(true) {
		return
	}
	s.problem(fmt.Sprintf("%s: %v (the editor is gone?)", what, err))
}

func (s *stream) readFrames() {
	r := &frameReader{r: bufio.NewReaderSize(s.in, maxHeaderLine)}
	for {
		body, err := r.next()
		f := frameOrError{body: body, err: err}
		var bad *rpcError
		if errors.As(err, &bad) {
			f = frameOrError{bad: bad}
		}
		select {
		case s.frames <- f:
		case <-s.stopped:
			return
		}
		if f.err != nil {
			close(s.ended)
			return
		}
	}
}

// client is a connection on which sandbar is the one asking: `sandbar run`
// asking an editor's host over its terminal socket. It takes no requests.
type client struct{ rpc jsonrpc2.Conn }

func newClient(rwc io.ReadWriteCloser) *client {
	rpc := jsonrpc2.NewConn(jsonrpc2.NewStream(rwc))
	rpc.Go(context.Background(), jsonrpc2.MethodNotFoundHandler)
	return &client{rpc: rpc}
}

// call sends a request and waits for its answer; an error answer is
// returned as an error with its message.
func (c *client) call(ctx context.Context, name string, params, result any) error {
	_, err := c.rpc.Call(ctx, name, params, result)
	return err
}

func (c *client) close() error { return c.rpc.Close() }
