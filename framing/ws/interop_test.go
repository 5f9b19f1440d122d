package ws_test

// Interop with real peers, both directions: gorilla/websocket,
// coder/websocket, golang.org/x/net/websocket and the npm `ws` package
// under Node.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	coder "github.com/coder/websocket"
	gorilla "github.com/gorilla/websocket"
	xws "golang.org/x/net/websocket"

	"github.com/wiredojo/wiredojo/framing/ws"
	"github.com/wiredojo/wiredojo/internal/testdep"
	"github.com/wiredojo/wiredojo/internal/testkit"
)

// interopMessages are the messages every interop test exchanges.
func interopMessages() []struct {
	op ws.OpCode
	p  []byte
} {
	var ms []struct {
		op ws.OpCode
		p  []byte
	}
	for _, n := range []int{0, 1, 125, 126, 127, 65535, 65536, 1 << 20} {
		text := strings.Repeat("é", n/2) + strings.Repeat("x", n%2)
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i * 31)
		}
		ms = append(ms, struct {
			op ws.OpCode
			p  []byte
		}{ws.OpText, []byte(text)}, struct {
			op ws.OpCode
			p  []byte
		}{ws.OpBinary, b})
	}
	return ms
}

// exchange drives our client c against a peer's echo server: every
// message comes back unchanged, a fragmented one as a whole, a ping gets
// its pong, and the close handshake ends with a CloseError.
func exchange(t *testing.T, c *ws.Conn, fragments bool) {
	t.Helper()
	pong := make(chan string, 1)
	c.SetPongHandler(func(p []byte) {
		select {
		case pong <- string(p):
		default:
		}
	})
	var buf []byte
	for i, m := range interopMessages() {
		if err := c.WriteMessage(m.op, m.p); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		op, got, err := c.AppendMessage(buf[:0])
		if err != nil {
			t.Fatalf("message %d (%s, %d bytes): %v", i, m.op, len(m.p), err)
		}
		if op != m.op || !bytes.Equal(got, m.p) {
			t.Fatalf("message %d: sent %s %d bytes, got %s %d bytes", i, m.op, len(m.p), op, len(got))
		}
		buf = got
	}
	if fragments {
		for _, f := range []struct {
			fin bool
			op  ws.OpCode
			p   string
		}{{false, ws.OpText, "κό"}, {false, ws.OpContinuation, "σ"}, {true, ws.OpContinuation, "με"}} {
			if err := c.WriteFrame(f.fin, f.op, []byte(f.p)); err != nil {
				t.Fatal(err)
			}
		}
		op, got, err := c.ReadMessage()
		if err != nil || op != ws.OpText || string(got) != "κόσμε" {
			t.Fatalf("fragmented message: %s %q %v", op, got, err)
		}
	}
	if err := c.Ping([]byte("are you there")); err != nil {
		t.Fatal(err)
	}
	// The pong arrives while we read; the echo of this message follows it.
	if err := c.WriteMessage(ws.OpText, []byte("after ping")); err != nil {
		t.Fatal(err)
	}
	if _, got, err := c.ReadMessage(); err != nil || string(got) != "after ping" {
		t.Fatalf("after ping: %q %v", got, err)
	}
	select {
	case p := <-pong:
		if p != "are you there" {
			t.Fatalf("pong payload %q", p)
		}
	default:
		t.Fatal("no pong before the next message")
	}
	if err := c.Close(4001, "done"); err != nil {
		t.Fatal(err)
	}
	_, _, err := c.ReadMessage()
	var ce *ws.CloseError
	if !errors.As(err, &ce) {
		t.Fatalf("after close: %v", err)
	}
}

func httpEcho(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return "ws://" + srv.Listener.Addr().String() + "/"
}

func TestInteropGorilla(t *testing.T) {
	t.Parallel()
	for _, compress := range []bool{false, true} {
		t.Run(fmt.Sprintf("our client, gorilla server, deflate=%v", compress), func(t *testing.T) {
			t.Parallel()
			up := gorilla.Upgrader{EnableCompression: compress, Subprotocols: []string{"echo"}}
			url := httpEcho(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c, err := up.Upgrade(w, r, nil)
				if err != nil {
					return
				}
				defer c.Close()
				for {
					typ, p, err := c.ReadMessage()
					if err != nil {
						return
					}
					if c.WriteMessage(typ, p) != nil {
						return
					}
				}
			}))
			c, err := ws.Dial(ctxT(t), url, &ws.DialOptions{Compression: compress, Protocols: []string{"echo"}})
			if err != nil {
				t.Fatal(err)
			}
			if c.Compressed() != compress || c.Subprotocol() != "echo" {
				t.Fatalf("compressed %v protocol %q", c.Compressed(), c.Subprotocol())
			}
			exchange(t, c, true)
		})
		t.Run(fmt.Sprintf("gorilla client, our server, deflate=%v", compress), func(t *testing.T) {
			t.Parallel()
			url := startEcho(t, ws.Upgrader{Compression: compress})
			d := gorilla.Dialer{EnableCompression: compress, HandshakeTimeout: 10 * time.Second}
			c, resp, err := d.Dial(url, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if got := resp.Header.Get("Sec-WebSocket-Extensions") != ""; got != compress {
				t.Fatalf("extensions %q", resp.Header.Get("Sec-WebSocket-Extensions"))
			}
			c.SetReadDeadline(time.Now().Add(20 * time.Second))
			for i, m := range interopMessages() {
				typ := gorilla.TextMessage
				if m.op == ws.OpBinary {
					typ = gorilla.BinaryMessage
				}
				if err := c.WriteMessage(typ, m.p); err != nil {
					t.Fatal(err)
				}
				gt, got, err := c.ReadMessage()
				if err != nil || gt != typ || !bytes.Equal(got, m.p) {
					t.Fatalf("message %d: type %d, %d bytes, %v", i, gt, len(got), err)
				}
			}
			pong := make(chan string, 1)
			c.SetPongHandler(func(s string) error { pong <- s; return nil })
			c.WriteControl(gorilla.PingMessage, []byte("hi"), time.Now().Add(time.Second))
			c.WriteMessage(gorilla.TextMessage, []byte("x"))
			if _, p, err := c.ReadMessage(); err != nil || string(p) != "x" || testkit.Recv(t, 10*time.Second, "the pong", pong) != "hi" {
				t.Fatalf("ping: %q %v", p, err)
			}
			c.WriteMessage(gorilla.CloseMessage, gorilla.FormatCloseMessage(4001, "done"))
			_, _, err = c.ReadMessage()
			if !gorilla.IsCloseError(err, 4001) {
				t.Fatalf("close: %v", err)
			}
		})
	}
}

func TestInteropCoder(t *testing.T) {
	t.Parallel()
	for _, mode := range []coder.CompressionMode{coder.CompressionDisabled, coder.CompressionNoContextTakeover, coder.CompressionContextTakeover} {
		compress := mode != coder.CompressionDisabled
		t.Run(fmt.Sprintf("our client, coder server, mode=%d", mode), func(t *testing.T) {
			t.Parallel()
			url := httpEcho(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c, err := coder.Accept(w, r, &coder.AcceptOptions{CompressionMode: mode, CompressionThreshold: 1})
				if err != nil {
					return
				}
				defer c.CloseNow()
				c.SetReadLimit(-1)
				ctx := r.Context()
				for {
					typ, p, err := c.Read(ctx)
					if err != nil {
						return
					}
					if c.Write(ctx, typ, p) != nil {
						return
					}
				}
			}))
			c, err := ws.Dial(ctxT(t), url, &ws.DialOptions{Compression: compress})
			if err != nil {
				t.Fatal(err)
			}
			if c.Compressed() != compress {
				t.Fatalf("compressed %v", c.Compressed())
			}
			exchange(t, c, true)
		})
		t.Run(fmt.Sprintf("coder client, our server, mode=%d", mode), func(t *testing.T) {
			t.Parallel()
			url := startEcho(t, ws.Upgrader{Compression: compress})
			ctx := ctxT(t)
			c, _, err := coder.Dial(ctx, url, &coder.DialOptions{CompressionMode: mode, CompressionThreshold: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			c.SetReadLimit(-1)
			for i, m := range interopMessages() {
				typ := coder.MessageText
				if m.op == ws.OpBinary {
					typ = coder.MessageBinary
				}
				if err := c.Write(ctx, typ, m.p); err != nil {
					t.Fatal(err)
				}
				gt, got, err := c.Read(ctx)
				if err != nil || gt != typ || !bytes.Equal(got, m.p) {
					t.Fatalf("message %d: type %v, %d bytes, %v", i, gt, len(got), err)
				}
			}
			if err := c.Close(4001, "done"); err != nil {
				t.Fatalf("close handshake: %v", err)
			}
		})
	}
}

func TestInteropXNet(t *testing.T) {
	t.Parallel()
	t.Run("our client, x/net server", func(t *testing.T) {
		t.Parallel()
		url := httpEcho(t, xws.Server{Handler: xnetEcho})
		c, err := ws.Dial(ctxT(t), url, &ws.DialOptions{Header: http.Header{"Origin": {"http://localhost/"}}})
		if err != nil {
			t.Fatal(err)
		}
		exchange(t, c, false)
	})
	t.Run("x/net client, our server", func(t *testing.T) {
		t.Parallel()
		url := startEcho(t, ws.Upgrader{Origins: []string{"*"}})
		c, err := xws.Dial(url, "", "http://localhost/")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(20 * time.Second))
		c.MaxPayloadBytes = 2 << 20
		for i, m := range interopMessages() {
			typ := map[ws.OpCode]byte{ws.OpText: xws.TextFrame, ws.OpBinary: xws.BinaryFrame}[m.op]
			if err := xcodec.Send(c, xmsg{typ: typ, p: m.p}); err != nil {
				t.Fatal(err)
			}
			var got xmsg
			if err := xcodec.Receive(c, &got); err != nil || got.typ != typ || !bytes.Equal(got.p, m.p) {
				t.Fatalf("message %d: type %d, %d bytes, %v", i, got.typ, len(got.p), err)
			}
		}
	})
}

// xmsg is a message with its frame type for x/net's Codec.
type xmsg struct {
	typ byte
	p   []byte
}

// xcodec keeps the frame type, which x/net's Message codec drops on receive.
var xcodec = xws.Codec{
	Marshal: func(v any) ([]byte, byte, error) {
		m := v.(xmsg)
		return m.p, m.typ, nil
	},
	Unmarshal: func(data []byte, typ byte, v any) error {
		*v.(*xmsg) = xmsg{typ: typ, p: data}
		return nil
	},
}

// xnetEcho echoes messages with x/net, keeping their type.
func xnetEcho(c *xws.Conn) {
	c.MaxPayloadBytes = 2 << 20
	for {
		var m xmsg
		if err := xcodec.Receive(c, &m); err != nil {
			return
		}
		if xcodec.Send(c, m) != nil {
			return
		}
	}
}

// nodeDir returns testdata/node, or stops the test when node or the ws
// package is missing.
func nodeDir(t *testing.T) string {
	t.Helper()
	testdep.Require(t, "node", "apt-get install nodejs")
	dir, err := filepath.Abs("../../testdata/node")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "ws")); err != nil {
		testdep.Missing(t, "the npm ws package in testdata/node; run `npm install` there (make test does it)")
	}
	return dir
}

func TestInteropNode(t *testing.T) {
	t.Parallel()
	dir := nodeDir(t)
	for _, mode := range []string{"plain", "deflate", "deflate9"} {
		t.Run("node client, our server, "+mode, func(t *testing.T) {
			t.Parallel()
			url := startEcho(t, ws.Upgrader{Compression: mode != "plain", Protocols: []string{"echo"}})
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, "node", filepath.Join(dir, "client.js"), url, mode).CombinedOutput()
			if err != nil || strings.TrimSpace(string(out)) != "OK" {
				t.Fatalf("node client: %v\n%s", err, out)
			}
		})
		t.Run("our client, node server, "+mode, func(t *testing.T) {
			t.Parallel()
			port, lines := startNodeServer(t, dir, mode)
			c, err := ws.Dial(ctxT(t), "ws://127.0.0.1:"+port+"/", &ws.DialOptions{Compression: mode != "plain", Protocols: []string{"echo"}})
			if err != nil {
				t.Fatal(err)
			}
			if c.Subprotocol() != "echo" || c.Compressed() != (mode != "plain") {
				t.Fatalf("protocol %q compressed %v", c.Subprotocol(), c.Compressed())
			}
			ext := testkit.Recv(t, 30*time.Second, "the node server's extension line", lines)
			if mode == "deflate9" && !strings.Contains(ext, "client_max_window_bits=9") {
				t.Fatalf("node server negotiated %q", ext)
			}
			exchange(t, c, true)
			select {
			case l := <-lines:
				if l != "CLOSE 4001 done" {
					t.Fatalf("node server saw %q", l)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("node server reported no close")
			}
		})
	}
}

// startNodeServer runs server.js and returns its port and a channel of the
// lines it prints after that.
func startNodeServer(t *testing.T, dir, mode string) (string, <-chan string) {
	t.Helper()
	cmd := exec.Command("node", filepath.Join(dir, "server.js"), mode)
	cmd.Stderr = os.Stderr
	p := testkit.StartProc(t, cmd, 10*time.Second)
	l := p.Next(t, 20*time.Second, "the node server's PORT line")
	if !strings.HasPrefix(l, "PORT ") {
		t.Fatalf("node server said %q", l)
	}
	return strings.TrimPrefix(l, "PORT "), p.Lines
}
