package tcpchat_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/framing/ws"
	"github.com/wiredojo/wiredojo/internal/testkit"
	"github.com/wiredojo/wiredojo/tcpchat"
	"github.com/wiredojo/wiredojo/tcpchat/builtin"
	"github.com/wiredojo/wiredojo/tcpchat/chattest"
	"github.com/wiredojo/wiredojo/tcpchat/wire"
)

// chatServer starts a server whose /chat namespace has the built-in
// handlers (join, message, ...) and returns its address.
func chatServer(t *testing.T, opts tcpchat.Options) string {
	t.Helper()
	srv := tcpchat.NewServer(opts)
	builtin.Install(srv.Of("/chat"))
	return chattest.NewServer(t, srv)
}

// member is a client of /chat that joined a room, recording its events.
type member struct {
	sock *tcpchat.ClientSocket
	rec  <-chan chattest.Received
}

func join(t *testing.T, addr, name, room string, opts tcpchat.ClientOptions) member {
	t.Helper()
	c := chattest.Dial(t, addr, opts)
	var m member
	m.sock = chattest.Connect(t, c, "/chat", map[string]string{"name": name}, func(s *tcpchat.ClientSocket) { m.rec = chattest.Record(s) })
	ack, err := m.sock.EmitWithAck(ctxT(t), builtin.EventJoin, room)
	if err != nil {
		t.Fatalf("%s joins %s: %v", name, room, err)
	}
	if !strings.Contains(string(ack), `"room":"`+room+`"`) {
		t.Fatalf("%s joins %s: ack %s", name, room, ack)
	}
	return m
}

// say sends a chat message and checks the ack counts n recipients.
func (m member) say(t *testing.T, text string, n int) {
	t.Helper()
	ack, err := m.sock.EmitWithAck(ctxT(t), builtin.EventMessage, text)
	if err != nil {
		t.Fatalf("message %q: %v", text, err)
	}
	var a []struct{ Delivered int }
	if err := json.Unmarshal(ack, &a); err != nil || len(a) != 1 || a[0].Delivered != n {
		t.Fatalf("message %q: ack %s, want delivered %d", text, ack, n)
	}
}

// hears waits for a chat message from who with text.
func (m member) hears(t *testing.T, who, text string) {
	t.Helper()
	r := chattest.Next(t, m.rec)
	var args []builtin.ChatMessage
	if r.Name != builtin.EventMessage || json.Unmarshal([]byte(r.Args), &args) != nil || len(args) != 1 || args[0].From != who || args[0].Text != text {
		t.Fatalf("got %s %s, want a message %q from %s", r.Name, r.Args, text, who)
	}
}

func TestWebSocketRoomAcrossTransports(t *testing.T) {
	t.Parallel()
	addr := chatServer(t, tcpchat.Options{})
	tcp := join(t, addr, "tia", "r1", tcpchat.ClientOptions{})
	web := join(t, addr, "wes", "r1", tcpchat.ClientOptions{})
	web2 := join(t, "ws://"+addr+tcpchat.WebSocketPath, "wyn", "r1", tcpchat.ClientOptions{})
	other := join(t, "ws://"+addr+"/ws", "oz", "r2", tcpchat.ClientOptions{})

	web2.say(t, "hello from ws", 2)
	tcp.hears(t, "wyn", "hello from ws")
	web.hears(t, "wyn", "hello from ws")
	tcp.say(t, "hello from tcp", 2)
	web.hears(t, "tia", "hello from tcp")
	web2.hears(t, "tia", "hello from tcp")
	other.say(t, "alone", 0)
	select {
	case r := <-tcp.rec:
		t.Fatalf("room r1 got %+v from room r2", r)
	default:
	}

	// An ack asked by the server travels over WebSocket too.
	srv := tcpchat.NewServer(tcpchat.Options{})
	got := make(chan string, 1)
	srv.Of("/").OnConnection(func(s *tcpchat.Socket) {
		go func() {
			res, err := s.EmitWithAck(ctxT(t), "question", "name?")
			if err != nil {
				got <- err.Error()
				return
			}
			got <- string(res)
		}()
	})
	addr2 := chattest.NewServer(t, srv)
	c := chattest.Dial(t, "ws://"+addr2+"/ws", tcpchat.ClientOptions{})
	chattest.Connect(t, c, "/", nil, func(s *tcpchat.ClientSocket) {
		s.On("question", func(e *tcpchat.ClientEvent) { e.Ack("ws-client") })
	})
	select {
	case res := <-got:
		if res != `["ws-client"]` {
			t.Fatalf("server's ack: %s", res)
		}
	case <-time.After(chattest.Timeout):
		t.Fatal("no ack from the WebSocket client")
	}
}

// selfSigned returns a server configuration with a fresh certificate for
// 127.0.0.1 and a client configuration trusting it.
func selfSigned(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	der, key := testkit.SelfSigned(t)
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}}}
	return server, &tls.Config{RootCAs: pool}
}

func TestTLSOnTheSharedPort(t *testing.T) {
	t.Parallel()
	srvTLS, cliTLS := selfSigned(t)
	addr := chatServer(t, tcpchat.Options{TLSConfig: srvTLS, Plaintext: true})

	plain := join(t, addr, "pat", "r", tcpchat.ClientOptions{})
	framedTLS := join(t, addr, "tom", "r", tcpchat.ClientOptions{TLSConfig: cliTLS})
	wss := join(t, "wss://"+addr+"/ws", "wil", "r", tcpchat.ClientOptions{TLSConfig: cliTLS})
	wsPlain := join(t, "ws://"+addr+"/ws", "wen", "r", tcpchat.ClientOptions{})

	wss.say(t, "over wss", 3)
	plain.hears(t, "wil", "over wss")
	framedTLS.hears(t, "wil", "over wss")
	wsPlain.hears(t, "wil", "over wss")
	framedTLS.say(t, "over tls", 3)
	wss.hears(t, "tom", "over tls")
	plain.hears(t, "tom", "over tls")
	wsPlain.hears(t, "tom", "over tls")

	// HTTPS on the same port: the page and /healthz.
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: cliTLS}, Timeout: chattest.Timeout}
	defer hc.CloseIdleConnections()
	for path, want := range map[string]string{"/healthz": "ok", "/": "<title>wiredojo chat</title>"} {
		resp, err := hc.Get("https://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), want) || resp.ProtoMajor != 1 {
			t.Fatalf("https %s: %s %d %q", path, resp.Proto, resp.StatusCode, b)
		}
	}

	// A client that does not trust the certificate is refused by its own
	// TLS layer; the server stays up for the others.
	ctx, cancel := context.WithTimeout(context.Background(), chattest.Timeout)
	defer cancel()
	if _, err := tcpchat.Dial(ctx, addr, tcpchat.ClientOptions{TLSConfig: &tls.Config{}, NoReconnect: true}); err == nil {
		t.Fatal("a client without the certificate's root connected")
	}
	plain.say(t, "still here", 3)
	wss.hears(t, "pat", "still here")
}

// TestTLSRefusesPlaintext: with TLS and without Options.Plaintext, a
// plaintext framed client is told to use TLS (handshake error, code 5), a
// plaintext HTTP request gets 403, /metrics included; over TLS the server
// answers (issue 13, point 9).
func TestTLSRefusesPlaintext(t *testing.T) {
	t.Parallel()
	srvTLS, cliTLS := selfSigned(t)
	addr := chatServer(t, tcpchat.Options{TLSConfig: srvTLS})
	ctx, cancel := context.WithTimeout(context.Background(), chattest.Timeout)
	defer cancel()
	for _, url := range []string{addr, "ws://" + addr + "/ws"} {
		_, err := tcpchat.Dial(ctx, url, tcpchat.ClientOptions{NoReconnect: true})
		var se *tcpchat.ServerError
		switch {
		case url == addr && (!errors.As(err, &se) || se.Code != wire.CodeHandshake || !strings.Contains(se.Reason, "TLS")):
			t.Fatalf("plaintext framed client: %v, want a handshake error that says TLS", err)
		case err == nil:
			t.Fatalf("%s: a plaintext client connected", url)
		}
	}
	for _, path := range []string{"/healthz", "/metrics", "/"} {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(b), "TLS") {
			t.Fatalf("plaintext GET %s: %d %q, want 403 saying TLS", path, resp.StatusCode, b)
		}
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: cliTLS}, Timeout: chattest.Timeout}
	defer hc.CloseIdleConnections()
	resp, err := hc.Get("https://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("https /healthz: %d", resp.StatusCode)
	}
	if _, err := tcpchat.Dial(ctx, addr, tcpchat.ClientOptions{TLSConfig: cliTLS, NoReconnect: true}); err != nil {
		t.Fatalf("framed TLS: %v", err)
	}
}

func TestTLSNotConfigured(t *testing.T) {
	t.Parallel()
	_, cliTLS := selfSigned(t)
	addr := chatServer(t, tcpchat.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), chattest.Timeout)
	defer cancel()
	if _, err := tcpchat.Dial(ctx, "wss://"+addr+"/ws", tcpchat.ClientOptions{TLSConfig: cliTLS, NoReconnect: true}); err == nil {
		t.Fatal("wss:// connected to a server without TLS")
	}
}

func TestWebSocketOrigin(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		origins []string
		origin  string // "" sends none; "SELF" the server's own
		ok      bool
	}{
		{"no origin", nil, "", true},
		{"same host", nil, "SELF", true},
		{"other host", nil, "http://evil.example", false},
		{"listed glob", []string{"*.example.com"}, "https://chat.example.com", true},
		{"listed origin", []string{"https://app.example.org"}, "https://app.example.org", true},
		{"unlisted", []string{"*.example.com"}, "https://example.net", false},
		{"same host with a list", []string{"*.example.com"}, "SELF", true},
		{"no origin with a list", []string{"*.example.com"}, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			addr := chatServer(t, tcpchat.Options{Origins: tc.origins})
			h := http.Header{}
			switch tc.origin {
			case "":
			case "SELF":
				h.Set("Origin", "http://"+addr)
			default:
				h.Set("Origin", tc.origin)
			}
			ctx, cancel := context.WithTimeout(context.Background(), chattest.Timeout)
			defer cancel()
			c, err := ws.Dial(ctx, "ws://"+addr+"/ws", &ws.DialOptions{Header: h})
			var he *ws.HandshakeError
			switch {
			case tc.ok && err != nil:
				t.Fatalf("refused: %v", err)
			case !tc.ok && err == nil:
				c.CloseNow()
				t.Fatal("accepted")
			case !tc.ok && (!errors.As(err, &he) || he.Status != http.StatusForbidden):
				t.Fatalf("refused with %v, want 403", err)
			}
			if c != nil {
				wsHandshake(t, c)
				c.Close(ws.StatusNormalClosure, "")
			}
		})
	}
}

// wsHandshake runs the event protocol's handshake on a raw WebSocket.
func wsHandshake(t *testing.T, c *ws.Conn) {
	t.Helper()
	hs := wire.Packet{Type: wire.TypeHandshake, Version: wire.Version}
	if err := c.WriteMessage(ws.OpBinary, hs.AppendTo(nil)); err != nil {
		t.Fatal(err)
	}
	if p := wsRead(t, c); p.Type != wire.TypeWelcome {
		t.Fatalf("got %+v, want a welcome", p)
	}
}

func wsRead(t *testing.T, c *ws.Conn) wire.Packet {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(chattest.Timeout))
	op, b, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if op != ws.OpBinary {
		t.Fatalf("server sent a %s message", op)
	}
	p, err := wire.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// wsCloseCode reads until the server closes and returns its close status
// (packets before it are returned too).
func wsCloseCode(t *testing.T, c *ws.Conn) (ws.StatusCode, []wire.Packet) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(chattest.Timeout))
	var got []wire.Packet
	for {
		_, b, err := c.ReadMessage()
		var ce *ws.CloseError
		if errors.As(err, &ce) {
			return ce.Code, got
		}
		if err != nil {
			t.Fatalf("want a close frame, got %v", err)
		}
		p, _ := wire.Decode(b)
		got = append(got, p)
	}
}

func TestWebSocketBadInput(t *testing.T) {
	t.Parallel()
	addr := chatServer(t, tcpchat.Options{MaxWebSocketMessage: 1024})
	a := join(t, addr, "ann", "r", tcpchat.ClientOptions{})
	b := join(t, "ws://"+addr+"/ws", "bob", "r", tcpchat.ClientOptions{})
	dial := func(t *testing.T) *ws.Conn {
		ctx, cancel := context.WithTimeout(context.Background(), chattest.Timeout)
		defer cancel()
		c, err := ws.Dial(ctx, "ws://"+addr+"/ws", nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.CloseNow() })
		return c
	}
	stillFine := func(t *testing.T, text string) {
		a.say(t, text, 1)
		b.hears(t, "ann", text)
		b.say(t, text+" too", 1)
		a.hears(t, "bob", text+" too")
	}

	t.Run("text message", func(t *testing.T) {
		c := dial(t)
		wsHandshake(t, c)
		c.WriteMessage(ws.OpText, []byte(`{"type":"event"}`))
		if code, _ := wsCloseCode(t, c); code != ws.StatusUnsupportedData {
			t.Fatalf("close status %d, want 1003", code)
		}
		stillFine(t, "after text")
	})
	t.Run("too big", func(t *testing.T) {
		c := dial(t)
		wsHandshake(t, c)
		c.WriteMessage(ws.OpBinary, make([]byte, 2048))
		if code, _ := wsCloseCode(t, c); code != ws.StatusMessageTooBig {
			t.Fatalf("close status %d, want 1009", code)
		}
		stillFine(t, "after too big")
	})
	t.Run("bad packet", func(t *testing.T) {
		c := dial(t)
		wsHandshake(t, c)
		c.WriteMessage(ws.OpBinary, []byte("Z\x00\x00"))
		code, pkts := wsCloseCode(t, c)
		if code != ws.StatusNormalClosure || len(pkts) == 0 || pkts[len(pkts)-1].Type != wire.TypeError || pkts[len(pkts)-1].Code != wire.CodeBadPacket {
			t.Fatalf("close status %d after %+v, want an error packet (code 1) then 1000", code, pkts)
		}
		stillFine(t, "after bad packet")
	})
	t.Run("invalid UTF-8 in a text frame", func(t *testing.T) {
		c := dial(t)
		wsHandshake(t, c)
		c.WriteFrame(true, ws.OpText, []byte{0xff, 0xfe})
		if code, _ := wsCloseCode(t, c); code != ws.StatusInvalidPayload {
			t.Fatalf("close status %d, want 1007", code)
		}
		stillFine(t, "after bad UTF-8")
	})
	t.Run("unmasked client frame", func(t *testing.T) {
		nc, err := net.DialTimeout("tcp", addr, chattest.Timeout)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		nc.SetDeadline(time.Now().Add(chattest.Timeout))
		io.WriteString(nc, "GET /ws HTTP/1.1\r\nHost: "+addr+"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
			"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
		br := bufio.NewReader(nc)
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("upgrade: %v %v", resp, err)
		}
		hs := wire.Packet{Type: wire.TypeHandshake, Version: wire.Version}
		nc.Write(ws.AppendFrame(nil, ws.Header{Fin: true, OpCode: ws.OpBinary}, hs.AppendTo(nil))) // not masked
		var rest []byte
		buf := make([]byte, 512)
		for {
			h, payload, more, ok, _ := ws.Split(rest)
			if !ok {
				n, err := br.Read(buf)
				if err != nil {
					t.Fatalf("no close frame before %v (read %x)", err, rest)
				}
				rest = append(rest, buf[:n]...)
				continue
			}
			if h.OpCode == ws.OpClose {
				code, _, _ := ws.ParseClosePayload(payload)
				if code != ws.StatusProtocolError {
					t.Fatalf("close status %d, want 1002", code)
				}
				break
			}
			rest = more
		}
		stillFine(t, "after unmasked")
	})
}

func TestWebPage(t *testing.T) {
	t.Parallel()
	addr := chatServer(t, tcpchat.Options{})
	defer http.DefaultClient.CloseIdleConnections()
	for path, want := range map[string]string{
		"/":          "<script src=\"app.js\"></script>",
		"/wire.js":   "function decode(",
		"/app.js":    "function connect(",
		"/style.css": "#log",
	} {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), want) {
			t.Fatalf("%s: %d %.200q", path, resp.StatusCode, b)
		}
	}
	resp, err := http.Get("http://" + addr + "/nothing-here")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("/nothing-here: %d", resp.StatusCode)
	}
}

// TestProtocolDocWebSocketDumps keeps the WebSocket section of
// docs/PROTOCOL.md true: its frames are what ws and wire encode.
func TestProtocolDocWebSocketDumps(t *testing.T) {
	t.Parallel()
	ev := wire.Packet{Type: wire.TypeEvent, Namespace: "/chat", Event: "message", Args: json.RawMessage(`["hi"]`)}
	fromClient := ws.AppendFrame(nil, ws.Header{Fin: true, OpCode: ws.OpBinary, Masked: true, Mask: [4]byte{0x11, 0x22, 0x33, 0x44}}, ev.AppendTo(nil))
	fromServer := ws.AppendFrame(nil, ws.Header{Fin: true, OpCode: ws.OpBinary}, ev.AppendTo(nil))
	doc, err := os.ReadFile("../docs/PROTOCOL.md")
	if err != nil {
		t.Fatal(err)
	}
	for name, frame := range map[string][]byte{"client": fromClient, "server": fromServer} {
		if d := testkit.HexDump(frame); !strings.Contains(string(doc), d) {
			t.Errorf("docs/PROTOCOL.md lacks the %s frame of the WebSocket section:\n%s", name, d)
		}
	}
}
