package proxy

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// refused is the event a connection without a valid Hello is reported as.
var refused = []Event{{Kind: "network", Decision: "denied", Reason: "missing or wrong credential"}}

func TestHello(t *testing.T) {
	got := string(Hello("0123abcd"))
	if want := "SANDBAR/1 0123abcd\r\n"; got != want {
		t.Errorf("Hello = %q, want %q", got, want)
	}
}

func TestNewCredential(t *testing.T) {
	a, err := NewCredential()
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewCredential()
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(a) {
		t.Errorf("NewCredential = %q, want 32 hex digits", a)
	}
	if a == b {
		t.Errorf("NewCredential returned %q twice", a)
	}
}

// badPreambles are what a connection may begin with instead of
// Hello(testCredential); each is followed by the client's own protocol.
var badPreambles = []struct{ name, preamble string }{
	{"none", ""},
	{"wrong credential, right length", string(Hello(strings.Repeat("0", len(testCredential))))},
	{"last byte of credential wrong", string(Hello(testCredential[:len(testCredential)-1] + "x"))},
	{"credential a byte short", string(Hello(testCredential[:len(testCredential)-1]))},
	{"credential a byte long", string(Hello(testCredential + "0"))},
	{"no line end", helloPrefix + testCredential},
	{"other version", "SANDBAR/2 " + testCredential + "\r\n"},
	{"prefix in lower case", "sandbar/1 " + testCredential + "\r\n"},
}

// TestHTTPWithoutHello: a connection that does not begin with the Hello
// gets a complete 407 and is closed, and the proxy reports it but decides,
// resolves and dials nothing. A client that knows nothing of the preamble
// is answered at once, not when the Hello's deadline passes.
func TestHTTPWithoutHello(t *testing.T) {
	type test struct{ name, preamble, req string }
	var tests []test
	for _, p := range badPreambles {
		tests = append(tests, test{p.name, p.preamble, getReq("http://allowed.test/", "allowed.test")})
	}
	tests = append(tests,
		test{"none, connect", "", connectReq("allowed.test:443")},
		test{"proxy-authorization instead", "", "GET http://allowed.test/ HTTP/1.1\r\nHost: allowed.test\r\n" +
			"Proxy-Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("sandbar:"+testCredential)) + "\r\n\r\n"},
	)
	const wantBody = "sandbar proxy: this connection did not come through sandbar's relay (missing or wrong credential)\n"
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := start(t, Config{Decider: testRules, AllowAddr: allowLoopback})
			c, err := net.Dial("tcp", e.httpAddr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(helloTimeout / 2))
			if _, err := io.WriteString(c, tt.preamble+tt.req); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(c)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("reading response: %v", err)
			}
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatalf("reading body: %v", err)
			}
			if resp.StatusCode != http.StatusProxyAuthRequired || string(body) != wantBody {
				t.Errorf("got %d %q, want 407 %q", resp.StatusCode, body, wantBody)
			}
			if got := resp.Header.Get("Proxy-Authenticate"); got != `Sandbar realm="sandbar"` {
				t.Errorf("Proxy-Authenticate = %q, want the Sandbar challenge", got)
			}
			if !resp.Close {
				t.Errorf("response does not say Connection: close")
			}
			if n, err := br.Read(make([]byte, 1)); err != io.EOF {
				t.Errorf("after the 407: read %d bytes, %v; want EOF", n, err)
			}
			if diff := cmp.Diff(refused, e.Events(), ignoreTime); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			if q, d := e.resolver.Queries(), e.dialer.Dialed(); len(q)+len(d) != 0 {
				t.Errorf("refused connection got queries %v, dials %v; want none", q, d)
			}
		})
	}
}

// TestSOCKS5WithoutHello: a connection that does not begin with the Hello
// is told no method is acceptable and closed, reported, and nothing more. A
// SOCKS5 client that knows nothing of the preamble sends its three-byte
// greeting and waits: it is answered at once.
func TestSOCKS5WithoutHello(t *testing.T) {
	for _, tt := range badPreambles {
		t.Run(tt.name, func(t *testing.T) {
			e := start(t, Config{Decider: testRules, AllowAddr: allowLoopback})
			c, err := net.Dial("tcp", e.socksAddr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(helloTimeout / 2))
			if _, err := c.Write(append([]byte(tt.preamble), socksGreeting...)); err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(c)
			if err != nil || !bytes.Equal(got, []byte{5, 0xff}) {
				t.Errorf("proxy sent %v, %v, then closed; want [5 255] and EOF", got, err)
			}
			if diff := cmp.Diff(refused, e.Events(), ignoreTime); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			if q, d := e.resolver.Queries(), e.dialer.Dialed(); len(q)+len(d) != 0 {
				t.Errorf("refused connection got queries %v, dials %v; want none", q, d)
			}
		})
	}
}

// TestEmptyCredentialRefusesEveryone: a proxy given no credential admits no
// connection, not even one whose Hello carries the empty credential.
func TestEmptyCredentialRefusesEveryone(t *testing.T) {
	for name, hello := range map[string]string{
		"hello with the empty credential": string(Hello("")),
		"hello with another credential":   string(Hello(testCredential)),
	} {
		t.Run(name, func(t *testing.T) {
			e := startWith(t, Config{Decider: testRules, AllowAddr: allowLoopback}, "")
			resp, _ := e.rawAfter(t, hello, getReq("http://allowed.test/", "allowed.test"))
			if resp.StatusCode != http.StatusProxyAuthRequired {
				t.Errorf("http: status %d, want 407", resp.StatusCode)
			}
			c, err := net.Dial("tcp", e.socksAddr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.Write(append([]byte(hello), socksGreeting...))
			if got, err := io.ReadAll(c); err != nil || !bytes.Equal(got, []byte{5, 0xff}) {
				t.Errorf("socks5: proxy sent %v, %v; want [5 255]", got, err)
			}
			if diff := cmp.Diff(append(refused, refused...), e.waitEvents(t, 2), ignoreTime); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			if d := e.dialer.Dialed(); len(d) != 0 {
				t.Errorf("dialed %v, want nothing", d)
			}
		})
	}
}

// TestTruncatedHello: a client that closes partway through the Hello is
// refused and reported; nothing is dialled and the proxy goes on serving.
func TestTruncatedHello(t *testing.T) {
	tests := []struct{ name, sent string }{
		{"nothing", ""},
		{"inside the prefix", "SAND"},
		{"inside the credential", helloPrefix + testCredential[:5]},
		{"before the line end", helloPrefix + testCredential},
		{"inside the line end", helloPrefix + testCredential + "\r"},
	}
	for _, proxy := range []string{"http", "socks5"} {
		for _, tt := range tests {
			t.Run(proxy+"/"+tt.name, func(t *testing.T) {
				e := start(t, Config{Decider: testRules, AllowAddr: allowLoopback})
				addr := e.httpAddr
				if proxy == "socks5" {
					addr = e.socksAddr
				}
				c, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				io.WriteString(c, tt.sent)
				c.Close()
				if diff := cmp.Diff(refused, e.waitEvents(t, 1), ignoreTime); diff != "" {
					t.Errorf("events (-want +got):\n%s", diff)
				}
				if d := e.dialer.Dialed(); len(d) != 0 {
					t.Errorf("dialed %v, want nothing", d)
				}
				if proxy == "http" {
					if status, _ := e.get(t, e.client(), "http://allowed.test/"); status != 200 {
						t.Errorf("next client: status %d, want 200", status)
					}
				} else if rep, _ := e.socks(t, socksConnect("echo.test", 7)); rep != repSucceeded {
					t.Errorf("next client: reply %d, want 0", rep)
				}
			})
		}
	}
}

// TestSlowClientDoesNotHoldUpOthers: while one connection has sent nothing
// yet, another is admitted and served; the first, when it finally sends its
// Hello, is served too. Were the Hello read on the accept loop, the second
// client would wait for the first, which waits for the second.
func TestSlowClientDoesNotHoldUpOthers(t *testing.T) {
	t.Run("http", func(t *testing.T) {
		e := start(t, Config{Decider: testRules, AllowAddr: allowLoopback})
		slow, err := net.Dial("tcp", e.httpAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer slow.Close()
		c := e.client()
		c.Timeout = helloTimeout / 2
		if status, _ := e.get(t, c, "http://allowed.test/"); status != 200 {
			t.Fatalf("second client: status %d, want 200", status)
		}
		io.WriteString(slow, string(Hello(testCredential))+getReq("http://allowed.test/", "allowed.test"))
		resp, err := http.ReadResponse(bufio.NewReader(slow), nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("slow client, once it sent its Hello: %v, %v; want 200", resp, err)
		}
	})
	t.Run("socks5", func(t *testing.T) {
		e := start(t, Config{Decider: testRules, AllowAddr: allowLoopback})
		slow, err := net.Dial("tcp", e.socksAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer slow.Close()
		c := dialRelay(t, e.socksAddr)
		c.SetDeadline(time.Now().Add(helloTimeout / 2))
		c.Write(append(append([]byte(nil), socksGreeting...), socksConnect("echo.test", 7)...))
		var b [12]byte
		if _, err := io.ReadFull(c, b[:]); err != nil || b[3] != repSucceeded {
			t.Fatalf("second client: socks replies %v, %v; want success", b, err)
		}
		slow.Write(append(append(Hello(testCredential), socksGreeting...), socksConnect("echo.test", 7)...))
		if _, err := io.ReadFull(slow, b[:]); err != nil || b[3] != repSucceeded {
			t.Fatalf("slow client, once it sent its Hello: socks replies %v, %v; want success", b, err)
		}
	})
}

// TestSOCKS5Methods: after the Hello the proxy offers only "no
// authentication required"; a client that cannot use it is refused.
func TestSOCKS5Methods(t *testing.T) {
	tests := []struct {
		name     string
		greeting []byte
		want     [2]byte
	}{
		{"no authentication", []byte{5, 1, 0}, [2]byte{5, 0}},
		{"username/password or no authentication", []byte{5, 2, 2, 0}, [2]byte{5, 0}},
		{"username/password only", []byte{5, 1, 2}, [2]byte{5, 0xff}},
		{"gssapi only", []byte{5, 1, 1}, [2]byte{5, 0xff}},
		{"no methods", []byte{5, 0}, [2]byte{5, 0xff}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := start(t, Config{Decider: testRules, AllowAddr: allowLoopback})
			c := dialRelay(t, e.socksAddr)
			c.Write(tt.greeting)
			var got [2]byte
			if _, err := io.ReadFull(c, got[:]); err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("method reply %v, want %v", got, tt.want)
			}
			if ev, d := e.Events(), e.dialer.Dialed(); len(ev)+len(d) != 0 {
				t.Errorf("got events %v, dials %v; want none", ev, d)
			}
		})
	}
}

// FuzzReadHello: readHello admits exactly the inputs that begin with the
// Hello, however the bytes arrive, and reads nothing after it.
func FuzzReadHello(f *testing.F) {
	f.Add(Hello(testCredential))
	f.Add(append(Hello(testCredential), 5, 1, 0))
	f.Add(Hello(testCredential)[:20])
	f.Add([]byte("GET http://allowed.test/ HTTP/1.1\r\n"))
	f.Add([]byte{5, 1, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		want := bytes.HasPrefix(data, Hello(testCredential))
		for name, wrap := range map[string]func(io.Reader) io.Reader{
			"whole":         func(r io.Reader) io.Reader { return r },
			"byte by byte":  iotest.OneByteReader,
			"eof with data": iotest.DataErrReader,
		} {
			r := wrap(bytes.NewReader(data))
			err := readHello(r, testCredential)
			if (err == nil) != want {
				t.Fatalf("%s: readHello(%q) = %v, want admitted %v", name, data, err, want)
			}
			if !want {
				continue
			}
			if rest, _ := io.ReadAll(r); !bytes.Equal(rest, data[len(Hello(testCredential)):]) {
				t.Fatalf("%s: after readHello(%q), %q is left, want all that follows the Hello", name, data, rest)
			}
		}
	})
}
