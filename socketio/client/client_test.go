package client_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/wiredojo/wiredojo/framing/ws"
	"github.com/wiredojo/wiredojo/socketio"
	"github.com/wiredojo/wiredojo/socketio/client"
	"github.com/wiredojo/wiredojo/socketio/engine"
	"github.com/wiredojo/wiredojo/socketio/engineio"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// wait bounds every wait of these tests.
const wait = 10 * time.Second

// echoServer serves Engine.IO at /socket.io/ and echoes every message.
func echoServer(t *testing.T, opts engine.Options) string {
	t.Helper()
	srv := engine.NewServer(opts, func(s *engine.Session) {
		for {
			p, err := s.Read()
			if err != nil {
				return
			}
			s.Send(p)
		}
	})
	hs := httptest.NewServer(srv)
	t.Cleanup(func() { srv.Close(); hs.Close() })
	return strings.TrimPrefix(hs.URL, "http://")
}

func dial(t *testing.T, url string) *client.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c, err := client.Dial(ctx, url, client.Options{})
	if err != nil {
		t.Fatalf("Dial %s: %v", url, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// reads returns the messages c reads, and the error that ends them.
func reads(c *client.Conn) (<-chan client.Message, <-chan error) {
	ms, errs := make(chan client.Message, 64), make(chan error, 1)
	go func() {
		for {
			m, err := c.Read()
			if err != nil {
				errs <- err
				close(ms)
				return
			}
			m.Packet.Data = bytes.Clone(m.Packet.Data)
			ms <- m
		}
	}()
	return ms, errs
}

func recv(t *testing.T, ms <-chan client.Message, errs <-chan error) client.Message {
	t.Helper()
	select {
	case m, ok := <-ms:
		if !ok {
			t.Fatalf("reading ended: %v", <-errs)
		}
		return m
	case <-time.After(wait):
		t.Fatal("no message within the timeout")
	}
	return client.Message{}
}

// pingServer serves Engine.IO, pinging every 20 ms (ping timeout 2 s), and
// counts the pongs; with echo it sends every other packet back. It returns
// its HOST:PORT and the count.
func pingServer(t *testing.T, echo bool) (string, *atomic.Int64) {
	t.Helper()
	pongs := new(atomic.Int64)
	srv := engine.NewServer(engine.Options{PingInterval: 20 * time.Millisecond, PingTimeout: 2 * time.Second}, func(s *engine.Session) {
		for {
			p, err := s.Next()
			if err != nil {
				return
			}
			if p.Type == engineio.Pong {
				pongs.Add(1)
				continue
			}
			if echo {
				p.Data = bytes.Clone(p.Data) // Next's is the session's
				s.Send(p)
			}
		}
	})
	hs := httptest.NewServer(srv)
	t.Cleanup(func() { srv.Close(); hs.Close() })
	return strings.TrimPrefix(hs.URL, "http://"), pongs
}

// TestEchoAnswersPings checks, on each transport, that the client answers
// the server's pings while it sends and reads: the server (pings every 20
// ms) counts the pongs, and the echo goes on until it has had 5 of them on
// the session. The ping timeout is long (2 s) so that a machine under load
// does not cut a client that answers late; one that never answers gets no
// pong counted and fails.
func TestEchoAnswersPings(t *testing.T) {
	addr, pongs := pingServer(t, true)
	for _, url := range []string{"socketio://" + addr, "http://" + addr + "/socket.io/?transport=websocket", "socketio://" + addr + "?transport=polling"} {
		c := dial(t, url)
		if hs := c.Handshake(); hs.SID == "" || hs.PingInterval != 20 {
			t.Errorf("%s: handshake %+v", url, hs)
		}
		pongs.Store(0)
		ms, errs := reads(c)
		tick := time.NewTicker(20 * time.Millisecond)
		deadline := time.Now().Add(wait)
		for i := 0; i < 10 || pongs.Load() < 5; i++ {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d pongs after %d echoes in %v, want 5", url, pongs.Load(), i, wait)
			}
			<-tick.C
			out := client.Message{Packet: socketio.Packet{Type: socketio.Event, Namespace: "/chat", ID: uint64(i), HasID: true, Data: []byte(`["n"]`)}}
			if i%3 == 0 {
				out.Packet.Type, out.Packet.Attachments = socketio.BinaryEvent, 2
				out.Packet.Data = []byte(`["b",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)
				out.Attachments = [][]byte{{1, 2}, {}}
			}
			if err := c.Write(out); err != nil {
				t.Fatalf("%s: write %d: %v", url, i, err)
			}
			m := recv(t, ms, errs)
			if m.Packet.ID != uint64(i) || m.Packet.Namespace != "/chat" || string(m.Packet.Data) != string(out.Packet.Data) || len(m.Attachments) != len(out.Attachments) {
				t.Fatalf("%s: echo %d = %+v %q", url, i, m.Packet, m.Attachments)
			}
			for k := range m.Attachments {
				if !bytes.Equal(m.Attachments[k], out.Attachments[k]) {
					t.Errorf("%s: attachment %d = % x", url, k, m.Attachments[k])
				}
			}
		}
		tick.Stop()
		c.Close()
		select {
		case err := <-errs:
			if errors.Is(err, client.ErrPingTimeout) {
				t.Errorf("%s: %v", url, err)
			}
		case <-time.After(wait):
			t.Fatalf("%s: Read did not end with Close", url)
		}
	}
}

// TestPollingOnly checks that ?transport=polling never asks for the
// WebSocket: it works with a server that offers no upgrade.
func TestPollingOnly(t *testing.T) {
	addr := echoServer(t, engine.Options{NoUpgrades: true})
	c := dial(t, "socketio://"+addr+"/?transport=polling")
	ms, errs := reads(c)
	out := client.Message{Packet: socketio.Packet{Type: socketio.Event, Data: []byte(`["hi",1]`)}}
	if err := c.Write(); err != nil { // nothing: no POST (an empty one ends the session)
		t.Fatal(err)
	}
	if err := c.Write(out, out); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if m := recv(t, ms, errs); string(m.Packet.Data) != `["hi",1]` {
			t.Fatalf("echo %+v", m.Packet)
		}
	}
	if c.RemoteAddr() == nil || c.RemoteAddr().String() != addr {
		t.Errorf("RemoteAddr %v, want %s", c.RemoteAddr(), addr)
	}
	c.Close()
	select {
	case <-errs:
	case <-time.After(wait):
		t.Fatal("Read did not end with Close")
	}
}

func TestNoWebSocketUpgrade(t *testing.T) {
	addr := echoServer(t, engine.Options{NoUpgrades: true})
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if _, err := client.Dial(ctx, "socketio://"+addr, client.Options{}); !errors.Is(err, client.ErrNoWebSocket) {
		t.Fatalf("Dial = %v, want ErrNoWebSocket", err)
	}
}

func TestTooLarge(t *testing.T) {
	addr := echoServer(t, engine.Options{MaxPayload: 100})
	c := dial(t, "socketio://"+addr)
	big := client.Message{Packet: socketio.Packet{Type: socketio.Event, Data: []byte(`["x","` + strings.Repeat("a", 100) + `"]`)}}
	if err := c.Write(big); !errors.Is(err, client.ErrTooLarge) {
		t.Fatalf("Write of 100+ bytes = %v, want ErrTooLarge", err)
	}
}

// TestPingTimeout: a server that upgrades and then stays silent ends the
// session after pingInterval + pingTimeout.
func TestPingTimeout(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("transport") == "polling" {
			io.WriteString(w, `0{"sid":"s1","upgrades":["websocket"],"pingInterval":30,"pingTimeout":30,"maxPayload":1000}`)
			return
		}
		c, err := (&ws.Upgrader{}).UpgradeHTTP(w, r)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for {
			_, msg, err := c.ReadMessage()
			if err != nil {
				return
			}
			if string(msg) == "2probe" {
				c.WriteMessage(ws.OpText, []byte("3probe"))
			}
		}
	}))
	defer hs.Close()
	c := dial(t, "socketio://"+strings.TrimPrefix(hs.URL, "http://"))
	_, errs := reads(c)
	wantPingTimeout(t, errs, "the server's silence")
}

// wantPingTimeout waits for the error that ends reads and fails unless it
// is ErrPingTimeout; why says what should have caused it.
func wantPingTimeout(t *testing.T, errs <-chan error, why string) {
	t.Helper()
	select {
	case err := <-errs:
		if !errors.Is(err, client.ErrPingTimeout) {
			t.Fatalf("Read = %v, want ErrPingTimeout after %s", err, why)
		}
	case <-time.After(wait):
		t.Fatalf("Read still waits after %v, want ErrPingTimeout after %s", wait, why)
	}
}

func TestURLs(t *testing.T) {
	for _, tc := range []struct {
		url, ns string
		ok      bool
	}{
		{"socketio://h:1", "/", true},
		{"socketio://h:1/", "/", true},
		{"socketio://h:1/chat", "/chat", true},
		{"SocketIO://h:1/chat?transport=websocket", "/chat", true},
		{"http://h:1/socket.io/", "/", true},
		{"https://h/custom/path", "/", true},
		{"socketio://h:1/chat?transport=carrier-pigeon", "", false},
		{"socketio:///chat", "", false},
		{"ws://h:1/", "", false},
	} {
		ns, err := client.Namespace(tc.url)
		if (err == nil) != tc.ok || tc.ok && ns != tc.ns {
			t.Errorf("Namespace(%q) = %q, %v", tc.url, ns, err)
		}
		var ue *client.URLError
		if !tc.ok && !errors.As(err, &ue) {
			t.Errorf("Namespace(%q): %v is not a *URLError", tc.url, err)
		}
	}
	if !client.IsURL("socketio://x") || !client.IsURL("HTTPS://x") || client.IsURL("ws://x") || client.IsURL("x:1") {
		t.Error("IsURL")
	}
}

func TestHTTPError(t *testing.T) {
	hs := httptest.NewServer(http.NotFoundHandler())
	defer hs.Close()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	_, err := client.Dial(ctx, hs.URL+"/socket.io/", client.Options{})
	var he *client.HTTPError
	if !errors.As(err, &he) || he.Status != 404 {
		t.Fatalf("Dial = %v, want an HTTPError 404", err)
	}
}

// TestPongsOutliveTheWriteDeadline: the pongs Read sends are not bound by
// the caller's write deadline, which bounds the caller's writes only.
// Before, once a Write's deadline had passed (tcpchat sets one per batch)
// every pong failed, and the server ended the session at its ping
// timeout: on the WebSocket and when polling alike.
func TestPongsOutliveTheWriteDeadline(t *testing.T) {
	addr, pongs := pingServer(t, false)
	for _, url := range []string{"socketio://" + addr, "socketio://" + addr + "?transport=polling"} {
		c := dial(t, url)
		_, errs := reads(c)
		dl := time.Now().Add(50 * time.Millisecond)
		c.SetWriteDeadline(dl)
		if err := c.Write(client.Message{Packet: socketio.Packet{Type: socketio.Event, Data: []byte(`["n"]`)}}); err != nil {
			t.Fatalf("%s: write: %v", url, err)
		}
		<-time.After(time.Until(dl)) // the write deadline has passed
		before := pongs.Load()
		end := time.Now().Add(wait)
		for pongs.Load() < before+5 {
			select {
			case err := <-errs:
				t.Fatalf("%s: Read ended after %d pongs past the write deadline: %v", url, pongs.Load()-before, err)
			case <-time.After(10 * time.Millisecond):
			}
			if time.Now().After(end) {
				t.Fatalf("%s: %d pongs within %v past the write deadline, want 5", url, pongs.Load()-before, wait)
			}
		}
		c.Close()
		<-errs
	}
}
