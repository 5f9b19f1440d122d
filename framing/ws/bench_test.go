package ws_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/framing/ws"
	"github.com/wiredojo/wiredojo/framing/ws/wsecho"
	"github.com/wiredojo/wiredojo/internal/testkit"
)

var benchSizes = []int{16, 128, 4 << 10, 64 << 10}

func BenchmarkMask(b *testing.B) {
	for _, n := range []int{16, 128, 1 << 10, 4 << 10, 64 << 10} {
		b.Run(fmt.Sprintf("%dB", n), func(b *testing.B) {
			p := make([]byte, n)
			key := [4]byte{1, 2, 3, 4}
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				ws.Mask(key, 1, p)
			}
		})
	}
}

// dialPair returns a client connection to a running echo server.
func dialPair(b *testing.B) *ws.Conn {
	b.Helper()
	url := startEcho(b, ws.Upgrader{})
	c, err := ws.Dial(ctxT(b), url, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.CloseNow() })
	return c
}

// BenchmarkEcho measures round trips over loopback TCP: our client sends a
// message, our server (wsecho) sends it back.
func BenchmarkEcho(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("%dB", n), func(b *testing.B) {
			c := dialPair(b)
			msg := bytes.Repeat([]byte("x"), n)
			var buf []byte
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				if err := c.WriteMessage(ws.OpBinary, msg); err != nil {
					b.Fatal(err)
				}
				_, m, err := c.AppendMessage(buf[:0])
				if err != nil {
					b.Fatal(err)
				}
				buf = m
			}
		})
	}
}

// memConn is an in-memory net.Conn: reads come from a replayed buffer,
// writes are counted and dropped.
type memConn struct {
	data []byte
	r    int
	n    int64
}

func (m *memConn) Read(p []byte) (int, error) {
	if len(m.data) == 0 {
		return 0, io.EOF
	}
	if m.r == len(m.data) {
		m.r = 0
	}
	n := copy(p, m.data[m.r:])
	m.r += n
	return n, nil
}
func (m *memConn) Write(p []byte) (int, error)      { m.n += int64(len(p)); return len(p), nil }
func (m *memConn) Close() error                     { return nil }
func (m *memConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (m *memConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (m *memConn) SetDeadline(time.Time) error      { return nil }
func (m *memConn) SetReadDeadline(time.Time) error  { return nil }
func (m *memConn) SetWriteDeadline(time.Time) error { return nil }

const benchRequest = "GET /ws HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: http://example.com\r\n\r\n"

// BenchmarkUpgrade measures the server handshake on a raw connection
// whose reader the caller already has (the chat server's sniffing reader).
func BenchmarkUpgrade(b *testing.B) {
	u := &ws.Upgrader{}
	mc := &memConn{data: []byte(benchRequest)}
	br := bufio.NewReaderSize(mc, 4096)
	b.ReportAllocs()
	for b.Loop() {
		mc.r = 0
		br.Reset(mc)
		if _, err := u.Upgrade(mc, br); err != nil {
			b.Fatal(err)
		}
	}
}

// serverConn upgrades a memConn and then replays frames to it.
func serverConn(tb testing.TB, frames []byte) (*ws.Conn, *memConn) {
	mc := &memConn{data: []byte(benchRequest)}
	c, err := (&ws.Upgrader{}).Upgrade(mc, bufio.NewReaderSize(mc, 4096))
	if err != nil {
		tb.Fatal(err)
	}
	mc.data, mc.r = frames, 0
	return c, mc
}

// BenchmarkRead measures the server's message reader alone (unmasking and
// UTF-8 validation included) on frames replayed from memory.
func BenchmarkRead(b *testing.B) {
	for _, n := range benchSizes {
		for _, op := range []ws.OpCode{ws.OpBinary, ws.OpText} {
			b.Run(fmt.Sprintf("%s/%dB", op, n), func(b *testing.B) {
				frame := ws.AppendFrame(nil, ws.Header{Fin: true, OpCode: op, Masked: true, Mask: [4]byte{9, 8, 7, 6}}, bytes.Repeat([]byte("x"), n))
				c, _ := serverConn(b, bytes.Repeat(frame, max(1, 8192/len(frame))))
				var buf []byte
				b.SetBytes(int64(n))
				b.ReportAllocs()
				for b.Loop() {
					_, m, err := c.AppendMessage(buf[:0])
					if err != nil {
						b.Fatal(err)
					}
					buf = m
				}
			})
		}
	}
}

// BenchmarkWrite measures WriteMessage alone, server side (no masking) and
// client side (masking into the pooled buffer).
func BenchmarkWrite(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("server/%dB", n), func(b *testing.B) {
			c, _ := serverConn(b, nil)
			msg := bytes.Repeat([]byte("x"), n)
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				if err := c.WriteMessage(ws.OpBinary, msg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkWriteMessages measures a batch of 64 small messages (a
// broadcast draining a send queue), server side: one write per batch.
func BenchmarkWriteMessages(b *testing.B) {
	c, _ := serverConn(b, nil)
	batch := make([][]byte, 64)
	for i := range batch {
		batch[i] = bytes.Repeat([]byte("x"), 64)
	}
	b.SetBytes(64 * 64)
	b.ReportAllocs()
	for b.Loop() {
		if err := c.WriteMessages(ws.OpBinary, batch); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSteadyStateAllocs proves the hot paths allocate nothing per message:
// reading and writing over a real connection, after warm-up. Under the race
// detector sync.Pool drops a quarter of what it is given on purpose, so
// there up to one allocation per message (a dropped write buffer) is
// tolerated, and three per round trip (which counts the echo server too:
// each side borrows a read buffer and a write buffer per message); without
// -race the count must be exactly 0.
func TestSteadyStateAllocs(t *testing.T) {
	limit := 0.0
	if raceEnabled {
		limit = 1
	}
	frame := ws.AppendFrame(nil, ws.Header{Fin: true, OpCode: ws.OpText, Masked: true, Mask: [4]byte{1, 2, 3, 4}}, []byte("hello, steady state"))
	c, _ := serverConn(t, bytes.Repeat(frame, 100))
	var buf []byte
	msg := []byte("hello, steady state")
	read := func() {
		_, m, err := c.AppendMessage(buf[:0])
		if err != nil {
			t.Fatal(err)
		}
		buf = m
		if err := c.WriteMessage(ws.OpText, m); err != nil {
			t.Fatal(err)
		}
	}
	read()
	if n := testing.AllocsPerRun(1000, read); n > limit {
		t.Fatalf("server read+write: %.1f allocs per message, want 0", n)
	}
	// A server batch: small frames assembled, a large payload by writev.
	batch := [][]byte{msg, msg, bytes.Repeat(msg, 1000), msg}
	writeBatch := func() {
		if err := c.WriteMessages(ws.OpBinary, batch); err != nil {
			t.Fatal(err)
		}
	}
	writeBatch()
	if n := testing.AllocsPerRun(200, writeBatch); n > limit {
		t.Fatalf("server WriteMessages: %.1f allocs per batch, want 0", n)
	}
	// Client side: masking on write.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &wsecho.Server{}
	done := make(chan struct{})
	go func() { s.Serve(l); close(done) }()
	defer func() { s.Close(); testkit.Recv(t, 10*time.Second, "the echo server's Serve to return", done) }()
	cc, err := ws.Dial(ctxT(t), "ws://"+l.Addr().String()+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.CloseNow()
	rt := func() {
		if err := cc.WriteMessage(ws.OpBinary, msg); err != nil {
			t.Fatal(err)
		}
		_, m, err := cc.AppendMessage(buf[:0])
		if err != nil {
			t.Fatal(err)
		}
		buf = m
	}
	rt()
	if raceEnabled {
		limit = 3
	}
	if n := testing.AllocsPerRun(200, rt); n > limit {
		t.Fatalf("client round trip: %.1f allocs per message, want 0", n)
	}
}
