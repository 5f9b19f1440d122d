package ws_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/framing/ws"
	"github.com/wiredojo/wiredojo/internal/testkit"
)

const goodKey = "dGhlIHNhbXBsZSBub25jZQ=="

// request builds a handshake request; edit changes or removes lines.
func request(edit map[string]string, first string) string {
	lines := []struct{ k, v string }{
		{"Host", "example.com"}, {"Upgrade", "websocket"}, {"Connection", "Upgrade"},
		{"Sec-WebSocket-Key", goodKey}, {"Sec-WebSocket-Version", "13"},
	}
	var b strings.Builder
	if first == "" {
		first = "GET /ws HTTP/1.1"
	}
	b.WriteString(first + "\r\n")
	for _, l := range lines {
		v, ok := edit[l.k]
		if !ok {
			v = l.v
		}
		if v != "-" {
			fmt.Fprintf(&b, "%s: %s\r\n", l.k, v)
		}
	}
	for k, v := range edit {
		switch k {
		case "Host", "Upgrade", "Connection", "Sec-WebSocket-Key", "Sec-WebSocket-Version":
		default:
			for _, one := range strings.Split(v, "\n") {
				fmt.Fprintf(&b, "%s: %s\r\n", k, one)
			}
		}
	}
	b.WriteString("\r\n")
	return b.String()
}

type hsCase struct {
	name      string
	req       string
	u         ws.Upgrader
	status    int
	reason    string // substring of the body
	header    string // substring of the response head
	protocol  string
	extension string
}

func handshakeCases() []hsCase {
	return []hsCase{
		{name: "ok", req: request(nil, ""), status: 101, header: "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="},
		{name: "tokens are case-insensitive lists", req: request(map[string]string{"Upgrade": "WebSocket", "Connection": "keep-alive, UPGRADE"}, ""), status: 101},
		{name: "POST", req: request(nil, "POST /ws HTTP/1.1"), status: 405, reason: "GET"},
		{name: "HTTP/1.0", req: request(nil, "GET /ws HTTP/1.0"), status: 400, reason: "HTTP/1.1"},
		{name: "no Host", req: request(map[string]string{"Host": "-"}, ""), status: 400, reason: "Host"},
		{name: "no Upgrade", req: request(map[string]string{"Upgrade": "-"}, ""), status: 400, reason: "Upgrade: websocket"},
		{name: "Upgrade h2c", req: request(map[string]string{"Upgrade": "h2c"}, ""), status: 400, reason: "Upgrade: websocket"},
		{name: "no Connection", req: request(map[string]string{"Connection": "-"}, ""), status: 400, reason: "Connection: Upgrade"},
		{name: "Connection close", req: request(map[string]string{"Connection": "close"}, ""), status: 400, reason: "Connection: Upgrade"},
		{name: "version 8", req: request(map[string]string{"Sec-WebSocket-Version": "8"}, ""), status: 426, header: "Sec-WebSocket-Version: 13"},
		{name: "no version", req: request(map[string]string{"Sec-WebSocket-Version": "-"}, ""), status: 426, header: "Sec-WebSocket-Version: 13"},
		{name: "no key", req: request(map[string]string{"Sec-WebSocket-Key": "-"}, ""), status: 400, reason: "Sec-WebSocket-Key"},
		{name: "key of 15 bytes", req: request(map[string]string{"Sec-WebSocket-Key": "AAAAAAAAAAAAAAAAAAAA"}, ""), status: 400, reason: "16 bytes"},
		{name: "key not base64", req: request(map[string]string{"Sec-WebSocket-Key": "!!!!!!!!!!!!!!!!!!!!!!=="}, ""), status: 400, reason: "base64"},
		{name: "two keys", req: request(map[string]string{"Sec-WebSocket-Key": goodKey + "\r\nSec-WebSocket-Key: " + goodKey}, ""), status: 400},
		{name: "same origin", req: request(map[string]string{"Origin": "http://example.com"}, ""), status: 101},
		{name: "cross origin refused", req: request(map[string]string{"Origin": "http://evil.test"}, ""), status: 403, reason: "evil.test"},
		{name: "allow-list exact", req: request(map[string]string{"Origin": "https://app.test"}, ""), u: ws.Upgrader{Origins: []string{"https://app.test"}}, status: 101},
		{name: "allow-list pattern", req: request(map[string]string{"Origin": "https://a.app.test"}, ""), u: ws.Upgrader{Origins: []string{"*.app.test"}}, status: 101},
		{name: "allow-list miss", req: request(map[string]string{"Origin": "https://app.test.evil"}, ""), u: ws.Upgrader{Origins: []string{"*.app.test"}}, status: 403},
		{name: "CheckOrigin refuses", req: request(map[string]string{"Origin": "http://example.com"}, ""), u: ws.Upgrader{CheckOrigin: func(origin, host string) (int, string) {
			if origin == "http://example.com" && host == "example.com" {
				return 403, "not this page"
			}
			return 0, ""
		}}, status: 403, reason: "not this page"},
		{name: "CheckOrigin accepts", req: request(map[string]string{"Origin": "http://evil.test"}, ""), u: ws.Upgrader{CheckOrigin: func(string, string) (int, string) { return 0, "" }}, status: 101},
		{name: "malformed head", req: "GET /ws HTTP/1.1\r\nnot a header\r\n\r\n", status: 400, reason: "malformed"},
		{name: "not HTTP", req: "\x16\x03\x01\x00\x05hello\r\n\r\n", status: 400},
		{name: "head too large", req: request(map[string]string{"X-Big": strings.Repeat("a", 9000)}, ""), status: 431},
		{name: "subprotocol by server preference", req: request(map[string]string{"Sec-WebSocket-Protocol": "b, a"}, ""), u: ws.Upgrader{Protocols: []string{"a", "b"}}, status: 101, protocol: "a"},
		{name: "subprotocol over two lines", req: request(map[string]string{"Sec-WebSocket-Protocol": "x\nb"}, ""), u: ws.Upgrader{Protocols: []string{"a", "b"}}, status: 101, protocol: "b"},
		{name: "no common subprotocol", req: request(map[string]string{"Sec-WebSocket-Protocol": "x"}, ""), u: ws.Upgrader{Protocols: []string{"a"}}, status: 101},
		{name: "deflate accepted", req: request(map[string]string{"Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits"}, ""), u: ws.Upgrader{Compression: true}, status: 101, extension: "permessage-deflate; server_no_context_takeover"},
		{name: "deflate off", req: request(map[string]string{"Sec-WebSocket-Extensions": "permessage-deflate"}, ""), status: 101},
		{name: "deflate small server window met Huffman-only", req: request(map[string]string{"Sec-WebSocket-Extensions": "permessage-deflate; server_max_window_bits=10"}, ""), u: ws.Upgrader{Compression: true}, status: 101, extension: "permessage-deflate; server_no_context_takeover; server_max_window_bits=10"},
		{name: "deflate second offer taken", req: request(map[string]string{"Sec-WebSocket-Extensions": "permessage-deflate; server_max_window_bits=7, permessage-deflate; client_max_window_bits=9"}, ""), u: ws.Upgrader{Compression: true}, status: 101, extension: "permessage-deflate; server_no_context_takeover"},
		{name: "deflate bad parameter declined", req: request(map[string]string{"Sec-WebSocket-Extensions": "permessage-deflate; foo=1"}, ""), u: ws.Upgrader{Compression: true}, status: 101},
		{name: "deflate repeated parameter declined", req: request(map[string]string{"Sec-WebSocket-Extensions": "permessage-deflate; server_no_context_takeover; server_no_context_takeover"}, ""), u: ws.Upgrader{Compression: true}, status: 101},
		{name: "deflate quoted window", req: request(map[string]string{"Sec-WebSocket-Extensions": `permessage-deflate; client_max_window_bits="8"; server_max_window_bits="15"`}, ""), u: ws.Upgrader{Compression: true}, status: 101, extension: "permessage-deflate"},
	}
}

// TestHandshakeRaw runs the handshake cases against Upgrader.Upgrade on a
// raw connection.
func TestHandshakeRaw(t *testing.T) {
	t.Parallel()
	for _, hc := range handshakeCases() {
		t.Run(hc.name, func(t *testing.T) {
			t.Parallel()
			cli, srv := net.Pipe()
			defer cli.Close()
			errc := make(chan error, 1)
			go func() {
				c, err := hc.u.Upgrade(srv, nil)
				if err == nil {
					c.CloseNow()
				} else {
					srv.Close()
				}
				errc <- err
			}()
			go io.WriteString(cli, hc.req)
			checkResponse(t, cli, hc)
			err := testkit.Recv(t, 30*time.Second, "the server side's handshake result", errc)
			if (err == nil) != (hc.status == 101) {
				t.Fatalf("Upgrade error %v for status %d", err, hc.status)
			}
			var he *ws.HandshakeError
			if err != nil && (!errors.As(err, &he) || he.Status != hc.status) {
				t.Fatalf("error %v, want a HandshakeError with status %d", err, hc.status)
			}
		})
	}
}

// TestHandshakeHTTP runs the cases (those net/http lets through) against
// Upgrader.UpgradeHTTP.
func TestHandshakeHTTP(t *testing.T) {
	t.Parallel()
	for _, hc := range handshakeCases() {
		switch hc.name {
		case "malformed head", "not HTTP", "head too large", "no Host", "two keys":
			continue // net/http answers these itself
		}
		t.Run(hc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c, err := hc.u.UpgradeHTTP(w, r)
				if err == nil {
					c.CloseNow()
				}
			}))
			defer srv.Close()
			nc, err := net.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			io.WriteString(nc, hc.req)
			checkResponse(t, nc, hc)
		})
	}
}

func checkResponse(t *testing.T, nc net.Conn, hc hsCase) {
	t.Helper()
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != hc.status {
		t.Fatalf("status %d, want %d", resp.StatusCode, hc.status)
	}
	var head strings.Builder
	resp.Header.Write(&head)
	if hc.header != "" && !strings.Contains(strings.ToLower(head.String()), strings.ToLower(hc.header)) {
		t.Fatalf("response head lacks %q:\n%s", hc.header, head.String())
	}
	if hc.status == 101 {
		if got := resp.Header.Get("Sec-WebSocket-Protocol"); got != hc.protocol {
			t.Fatalf("subprotocol %q, want %q", got, hc.protocol)
		}
		got := resp.Header.Get("Sec-WebSocket-Extensions")
		if (hc.extension == "") != (got == "") || !strings.HasPrefix(got, hc.extension) {
			t.Fatalf("extensions %q, want %q", got, hc.extension)
		}
		return
	}
	body, _ := io.ReadAll(resp.Body)
	if hc.reason != "" && !strings.Contains(string(body), hc.reason) {
		t.Fatalf("body %q lacks %q", body, hc.reason)
	}
}

// TestDialRefusals checks that Dial verifies what the server answers.
func TestDialRefusals(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		resp func(key string) string
		opts ws.DialOptions
		want string
	}{
		{"bad accept", func(string) string {
			return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: xxx\r\n\r\n"
		}, ws.DialOptions{}, "Sec-WebSocket-Accept"},
		{"no upgrade header", func(k string) string {
			return "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + ws.AcceptKey(k) + "\r\n\r\n"
		}, ws.DialOptions{}, "Upgrade: websocket"},
		{"status 403", func(string) string {
			return "HTTP/1.1 403 Forbidden\r\nContent-Length: 9\r\n\r\nno thanks"
		}, ws.DialOptions{}, "HTTP 403"},
		{"protocol not offered", func(k string) string {
			return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Protocol: z\r\nSec-WebSocket-Accept: " + ws.AcceptKey(k) + "\r\n\r\n"
		}, ws.DialOptions{Protocols: []string{"a"}}, "did not offer"},
		{"extension not offered", func(k string) string {
			return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Extensions: permessage-deflate\r\nSec-WebSocket-Accept: " + ws.AcceptKey(k) + "\r\n\r\n"
		}, ws.DialOptions{}, "did not offer"},
		{"client window out of range", func(k string) string {
			return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=7\r\nSec-WebSocket-Accept: " + ws.AcceptKey(k) + "\r\n\r\n"
		}, ws.DialOptions{Compression: true}, "not acceptable"},
		{"head without end", func(string) string { // then the server waits
			return "HTTP/1.1 101 Switching Protocols\r\nX-Endless: " + strings.Repeat("a", 64<<10)
		}, ws.DialOptions{}, "head too large"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			go func() {
				nc, err := l.Accept()
				if err != nil {
					return
				}
				defer nc.Close()
				br := bufio.NewReader(nc)
				h := readHead(t, nc, br)
				io.WriteString(nc, tc.resp(h.Key))
				io.Copy(io.Discard, br)
			}()
			_, err = ws.Dial(ctxT(t), "ws://"+l.Addr().String()+"/", &tc.opts)
			if !errors.Is(err, ws.ErrBadHandshake) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Dial error %v, want a handshake error about %q", err, tc.want)
			}
		})
	}
	t.Run("context deadline", func(t *testing.T) {
		t.Parallel()
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		held := make(chan net.Conn, 1)
		go func() {
			nc, err := l.Accept()
			if err == nil {
				held <- nc // never answers
			}
		}()
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		_, err = ws.Dial(ctx, "ws://"+l.Addr().String()+"/", nil)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Dial error %v, want the context's deadline", err)
		}
		testkit.Recv(t, 10*time.Second, "the server to hold the connection", held).Close()
	})
}

// TestDialTLS dials wss:// against a TLS server using UpgradeHTTP.
func TestDialTLS(t *testing.T) {
	t.Parallel()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := (&ws.Upgrader{}).UpgradeHTTP(w, r)
		if err != nil {
			return
		}
		defer c.CloseNow()
		op, m, err := c.ReadMessage()
		if err == nil {
			c.WriteMessage(op, m)
			c.ReadMessage()
		}
	}))
	defer srv.Close()
	url := "wss://" + srv.Listener.Addr().String() + "/"
	if _, err := ws.Dial(ctxT(t), url, nil); err == nil || errors.Is(err, ws.ErrBadHandshake) {
		t.Fatalf("self-signed certificate accepted: %v", err)
	}
	c, err := ws.Dial(ctxT(t), url, &ws.DialOptions{TLSConfig: srv.Client().Transport.(*http.Transport).TLSClientConfig})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if err := c.WriteMessage(ws.OpText, []byte("over TLS")); err != nil {
		t.Fatal(err)
	}
	if _, m, err := c.ReadMessage(); err != nil || string(m) != "over TLS" {
		t.Fatalf("%q %v", m, err)
	}
	c.Close(ws.StatusNormalClosure, "")
}

func TestKnownHost(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		host  string
		names []string
		want  bool
	}{
		{"127.0.0.1:7070", nil, true},
		{"[::1]:7070", nil, true},
		{"localhost:7070", nil, true},
		{"app.localhost", nil, true},
		{"evil.example:7070", nil, false},
		{"chat.example.com:7070", []string{"*.example.com"}, true},
		{"chat.example.com:7070", []string{"chat.example.com:7070"}, true},
		{"chat.example.org:7070", []string{"*.example.com"}, false},
	} {
		if got := ws.KnownHost(tc.host, tc.names); got != tc.want {
			t.Errorf("KnownHost(%q, %q) = %v, want %v", tc.host, tc.names, got, tc.want)
		}
	}
}
