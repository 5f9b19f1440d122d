// Package chattest is a test kit for tcpchat: a server on 127.0.0.1:0 that
// stops with the test, connected Go clients, and a raw framed peer that
// sends exactly the bytes a test wants (malformed packets, no pongs, no
// reads).
//
// It owns nothing but test helpers; tests of other packages (the WebSocket
// transport, durable queues) may use it too.
package chattest

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/framing"
	"github.com/wiredojo/wiredojo/internal/testkit"
	"github.com/wiredojo/wiredojo/tcpchat"
	"github.com/wiredojo/wiredojo/tcpchat/wire"
)

// Timeout bounds every wait of the kit, so a broken test fails instead of
// hanging.
const Timeout = 10 * time.Second

// NewServer starts srv on 127.0.0.1:0 and returns its address. The server
// is closed when the test ends, and Serve must then return
// tcpchat.ErrServerClosed.
func NewServer(t testing.TB, srv *tcpchat.Server) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; !errors.Is(err, tcpchat.ErrServerClosed) {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	})
	return l.Addr().String()
}

// Dial connects a Go client, closed when the test ends.
func Dial(t testing.TB, addr string, opts tcpchat.ClientOptions) *tcpchat.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	c, err := tcpchat.Dial(ctx, addr, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Connect joins namespace ns; setup (may be nil) runs on the socket first,
// so handlers are in place before the first event.
func Connect(t testing.TB, c *tcpchat.Client, ns string, auth any, setup func(*tcpchat.ClientSocket)) *tcpchat.ClientSocket {
	t.Helper()
	if setup != nil {
		setup(c.Socket(ns))
	}
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	s, err := c.Connect(ctx, ns, auth)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Eventually polls cond until it holds and fails the test, naming what,
// when it does not within Timeout. what says what the test waited for
// ("the room came back on B").
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	testkit.Eventually(t, Timeout, what, cond)
}

// Recv waits for a value on ch and fails the test, naming what, when none
// comes within Timeout ("the room-left event").
func Recv[T any](t testing.TB, what string, ch <-chan T) T {
	t.Helper()
	return testkit.Recv(t, Timeout, what, ch)
}

// Received is an event a Recorder saw.
type Received struct {
	Name string
	Args string
}

// Record returns a channel receiving every event of s (buffered; events
// beyond its capacity block the client's reader).
func Record(s *tcpchat.ClientSocket) <-chan Received {
	ch := make(chan Received, 1024)
	s.OnAny(func(e *tcpchat.ClientEvent) { ch <- Received{Name: e.Name, Args: string(e.Args)} })
	return ch
}

// Next waits for the next event on ch.
func Next(t testing.TB, ch <-chan Received) Received {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(Timeout):
		t.Fatal("chattest: no event within the timeout")
		return Received{}
	}
}

// Raw is a framed peer that sends and reads exactly what the test says.
type Raw struct {
	Conn net.Conn
	R    *framing.Reader
}

// DialRaw opens a TCP connection and, with preamble, sends wire.Preamble.
func DialRaw(t testing.TB, addr string, preamble bool) *Raw {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, Timeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	if preamble {
		if _, err := nc.Write(wire.Preamble); err != nil {
			t.Fatal(err)
		}
	}
	return &Raw{Conn: nc, R: framing.NewReader(nc, 1<<24)}
}

// Send writes one packet in one frame.
func (r *Raw) Send(t testing.TB, p wire.Packet) {
	t.Helper()
	r.SendPayload(t, p.AppendTo(nil))
}

// SendPayload writes one frame carrying payload.
func (r *Raw) SendPayload(t testing.TB, payload []byte) {
	t.Helper()
	r.Conn.SetWriteDeadline(time.Now().Add(Timeout))
	if _, err := r.Conn.Write(framing.AppendFrame(nil, payload)); err != nil {
		t.Fatal(err)
	}
}

// Read reads and decodes the next packet.
func (r *Raw) Read() (wire.Packet, error) {
	r.Conn.SetReadDeadline(time.Now().Add(Timeout))
	b, err := r.R.ReadFrame()
	if err != nil {
		return wire.Packet{}, err
	}
	return wire.Decode(b)
}

// Expect reads the next packet and fails unless it has type typ.
func (r *Raw) Expect(t testing.TB, typ wire.Type) wire.Packet {
	t.Helper()
	p, err := r.Read()
	if err != nil {
		t.Fatalf("waiting for %s: %v", typ, err)
	}
	if p.Type != typ {
		t.Fatalf("got %s %+v, want %s", p.Type, p, typ)
	}
	return p
}

// Handshake sends a handshake (with token) and returns the welcome.
func (r *Raw) Handshake(t testing.TB, token string) wire.Packet {
	t.Helper()
	r.Send(t, wire.Packet{Type: wire.TypeHandshake, Version: wire.Version, Token: token})
	return r.Expect(t, wire.TypeWelcome)
}

// Join connects to namespace ns and returns the server's connect answer.
func (r *Raw) Join(t testing.TB, ns string) wire.Packet {
	t.Helper()
	r.Send(t, wire.Packet{Type: wire.TypeConnect, Namespace: ns})
	return r.Expect(t, wire.TypeConnect)
}

// ExpectClose reads until the server closes the connection and returns the
// error packet it sent last (zero if none).
func (r *Raw) ExpectClose(t testing.TB) wire.Packet {
	t.Helper()
	var last wire.Packet
	for {
		p, err := r.Read()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("server did not close the connection within %v", Timeout)
			}
			return last
		}
		if p.Type == wire.TypeError {
			last = p
		}
	}
}
