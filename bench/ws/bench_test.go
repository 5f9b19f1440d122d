package wsbench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"
	_ "unsafe" // go:linkname

	coder "github.com/coder/websocket"
	gobwas "github.com/gobwas/ws"
	gorilla "github.com/gorilla/websocket"

	"github.com/wiredojo/wiredojo/framing/ws"
	"github.com/wiredojo/wiredojo/framing/ws/wsecho"
)

var sizes = []int{16, 128, 4 << 10, 64 << 10}

// A client of one library talking to a server of the same library.
type client interface {
	write(p []byte) error
	read(buf []byte) ([]byte, error) // the next message, into buf
	close()
}

type lib struct {
	name  string
	serve func(tb testing.TB, l net.Listener, sink bool) // sink: read only, answer messages starting with 1
	dial  func(tb testing.TB, addr string) client
}

var libs = []lib{
	{"wiredojo", serveOurs, dialOurs},
	{"gorilla", serveGorilla, dialGorilla},
	{"gobwas", serveGobwas, dialGobwas},
}

// rotated returns s started k places down, for WSBENCH_ROTATE=k: the
// first library of a group of cases runs right after the previous group
// and measures slower for it, so scripts/bench.d/30-ws.sh rotates the
// order from pass to pass.
func rotated[T any](s []T) []T {
	k, err := strconv.Atoi(os.Getenv("WSBENCH_ROTATE"))
	if err != nil || k <= 0 {
		return s
	}
	k %= len(s)
	return append(s[k:len(s):len(s)], s[:k]...)
}

func init() { libs = rotated(libs) }

func listen(tb testing.TB, l lib, sink bool) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	l.serve(tb, ln, sink)
	return ln.Addr().String()
}

// BenchmarkEcho: round trips (write a message, read its echo) over
// loopback TCP; each library talks to itself.
func BenchmarkEcho(b *testing.B) {
	for _, n := range sizes {
		for _, l := range libs {
			b.Run(fmt.Sprintf("%dB/%s", n, l.name), func(b *testing.B) {
				c := l.dial(b, listen(b, l, false))
				defer c.close()
				msg := make([]byte, n)
				buf := make([]byte, 0, n)
				b.SetBytes(int64(n))
				b.ReportAllocs()
				for b.Loop() {
					if err := c.write(msg); err != nil {
						b.Fatal(err)
					}
					got, err := c.read(buf[:0])
					if err != nil || len(got) != n {
						b.Fatalf("read %d bytes: %v", len(got), err)
					}
				}
			})
		}
	}
}

// BenchmarkOneWay: the client streams messages, the server reads them;
// one acknowledged message at the end closes the measurement.
func BenchmarkOneWay(b *testing.B) {
	for _, n := range sizes {
		for _, l := range libs {
			b.Run(fmt.Sprintf("%dB/%s", n, l.name), func(b *testing.B) {
				c := l.dial(b, listen(b, l, true))
				defer c.close()
				msg := make([]byte, n)
				ack := make([]byte, n)
				ack[0] = 1
				buf := make([]byte, 0, n)
				b.SetBytes(int64(n))
				b.ReportAllocs()
				for b.Loop() {
					if err := c.write(msg); err != nil {
						b.Fatal(err)
					}
				}
				if err := c.write(ack); err != nil {
					b.Fatal(err)
				}
				if _, err := c.read(buf); err != nil {
					b.Fatal(err)
				}
			})
		}
	}
}

// --- wiredojo

func serveOurs(tb testing.TB, l net.Listener, sink bool) {
	if !sink {
		s := &wsecho.Server{}
		done := make(chan struct{})
		go func() { s.Serve(l); close(done) }()
		tb.Cleanup(func() { s.Close(); <-done })
		return
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		nc, err := l.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		c, err := (&ws.Upgrader{}).Upgrade(nc, nil)
		if err != nil {
			return
		}
		var buf []byte
		for {
			op, m, err := c.AppendMessage(buf[:0])
			if err != nil {
				return
			}
			if len(m) > 0 && m[0] == 1 {
				c.WriteMessage(op, m[:1])
			}
			buf = m
		}
	}()
	tb.Cleanup(func() { l.Close(); <-done })
}

type ourClient struct{ c *ws.Conn }

func dialOurs(tb testing.TB, addr string) client {
	c, err := ws.Dial(context.Background(), "ws://"+addr+"/", nil)
	if err != nil {
		tb.Fatal(err)
	}
	return ourClient{c}
}
func (o ourClient) write(p []byte) error { return o.c.WriteMessage(ws.OpBinary, p) }
func (o ourClient) read(buf []byte) ([]byte, error) {
	_, m, err := o.c.AppendMessage(buf)
	return m, err
}
func (o ourClient) close() { o.c.CloseNow() }

// --- gorilla: NextReader/NextWriter, its allocation-light path

func serveGorilla(tb testing.TB, l net.Listener, sink bool) {
	up := gorilla.Upgrader{}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 64<<10)
		for {
			mt, rd, err := c.NextReader()
			if err != nil {
				return
			}
			if sink {
				n, _ := io.ReadFull(rd, buf[:1])
				io.Copy(io.Discard, rd)
				if n == 1 && buf[0] == 1 {
					c.WriteMessage(mt, buf[:1])
				}
				continue
			}
			wr, err := c.NextWriter(mt)
			if err != nil {
				return
			}
			io.Copy(wr, rd)
			if wr.Close() != nil {
				return
			}
		}
	})}
	done := make(chan struct{})
	go func() { srv.Serve(l); close(done) }()
	tb.Cleanup(func() { srv.Close(); <-done })
}

type gorillaClient struct{ c *gorilla.Conn }

func dialGorilla(tb testing.TB, addr string) client {
	c, _, err := gorilla.DefaultDialer.Dial("ws://"+addr+"/", nil)
	if err != nil {
		tb.Fatal(err)
	}
	return gorillaClient{c}
}
func (g gorillaClient) write(p []byte) error { return g.c.WriteMessage(gorilla.BinaryMessage, p) }
func (g gorillaClient) read(buf []byte) ([]byte, error) {
	_, r, err := g.c.NextReader()
	if err != nil {
		return nil, err
	}
	buf = buf[:cap(buf)]
	n, err := io.ReadFull(r, buf)
	if err == io.ErrUnexpectedEOF {
		err = nil
	}
	return buf[:n], err
}
func (g gorillaClient) close() { g.c.Close() }

// --- gobwas: its low-level zero-copy API (ReadHeader, Cipher, WriteHeader)

func serveGobwas(tb testing.TB, l net.Listener, sink bool) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		nc, err := l.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		if _, err := gobwas.Upgrade(nc); err != nil {
			return
		}
		br := bufio.NewReaderSize(nc, 4096)
		bw := bufio.NewWriterSize(nc, 4096)
		buf := make([]byte, 64<<10)
		for {
			h, err := gobwas.ReadHeader(br)
			if err != nil {
				return
			}
			p := buf[:h.Length]
			if _, err := io.ReadFull(br, p); err != nil {
				return
			}
			if h.Masked {
				gobwas.Cipher(p, h.Mask, 0)
			}
			if h.OpCode.IsControl() {
				return
			}
			if sink {
				if len(p) > 0 && p[0] == 1 {
					gobwas.WriteHeader(bw, gobwas.Header{Fin: true, OpCode: h.OpCode, Length: 1})
					bw.Write(p[:1])
					bw.Flush()
				}
				continue
			}
			h.Masked = false
			gobwas.WriteHeader(bw, h)
			bw.Write(p)
			if bw.Flush() != nil {
				return
			}
		}
	}()
	tb.Cleanup(func() { l.Close(); <-done })
}

type gobwasClient struct {
	nc  net.Conn
	br  *bufio.Reader
	bw  *bufio.Writer
	tmp []byte
}

func dialGobwas(tb testing.TB, addr string) client {
	nc, br, _, err := gobwas.Dialer{}.Dial(context.Background(), "ws://"+addr+"/")
	if err != nil {
		tb.Fatal(err)
	}
	if br == nil {
		br = bufio.NewReaderSize(nc, 4096)
	}
	return &gobwasClient{nc: nc, br: br, bw: bufio.NewWriterSize(nc, 4096), tmp: make([]byte, 64<<10)}
}
func (g *gobwasClient) write(p []byte) error {
	mask := gobwas.NewMask()
	t := g.tmp[:len(p)]
	copy(t, p)
	gobwas.Cipher(t, mask, 0)
	if err := gobwas.WriteHeader(g.bw, gobwas.Header{Fin: true, OpCode: gobwas.OpBinary, Masked: true, Mask: mask, Length: int64(len(p))}); err != nil {
		return err
	}
	g.bw.Write(t)
	return g.bw.Flush()
}
func (g *gobwasClient) read(buf []byte) ([]byte, error) {
	h, err := gobwas.ReadHeader(g.br)
	if err != nil {
		return nil, err
	}
	buf = buf[:h.Length]
	_, err = io.ReadFull(g.br, buf)
	return buf, err
}
func (g *gobwasClient) close() { g.nc.Close() }

// --- masking

//go:linkname coderMask github.com/coder/websocket.mask
func coderMask(b []byte, key uint32) uint32

//go:linkname gorillaMask github.com/gorilla/websocket.maskBytes
func gorillaMask(key [4]byte, pos int, b []byte) int

var _ = coder.MessageText // keep coder linked

// BenchmarkMask: masking throughput (b.SetBytes: MB/s is bytes masked).
func BenchmarkMask(b *testing.B) {
	key := [4]byte{0x12, 0x34, 0x56, 0x78}
	impls := []struct {
		name string
		f    func(p []byte)
	}{
		{"wiredojo", func(p []byte) { ws.Mask(key, 1, p) }},
		{"coder", func(p []byte) { coderMask(p, 0x78563412) }},
		{"gorilla", func(p []byte) { gorillaMask(key, 1, p) }},
		{"gobwas", func(p []byte) { gobwas.Cipher(p, key, 1) }},
	}
	impls = rotated(impls)
	for _, n := range []int{16, 128, 1 << 10, 4 << 10, 64 << 10} {
		for _, im := range impls {
			b.Run(fmt.Sprintf("%dB/%s", n, im.name), func(b *testing.B) {
				p := make([]byte, n)
				b.SetBytes(int64(n))
				b.ReportAllocs()
				for b.Loop() {
					im.f(p)
				}
			})
		}
	}
}

// --- upgrade on a raw connection

// memConn replays a request and drops writes.
type memConn struct {
	data []byte
	r    int
}

func (m *memConn) Read(p []byte) (int, error) {
	if m.r == len(m.data) {
		return 0, io.EOF
	}
	n := copy(p, m.data[m.r:])
	m.r += n
	return n, nil
}
func (m *memConn) Write(p []byte) (int, error)      { return len(p), nil }
func (m *memConn) Close() error                     { return nil }
func (m *memConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (m *memConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (m *memConn) SetDeadline(time.Time) error      { return nil }
func (m *memConn) SetReadDeadline(time.Time) error  { return nil }
func (m *memConn) SetWriteDeadline(time.Time) error { return nil }

const request = "GET /ws HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: http://example.com\r\n\r\n"

// BenchmarkUpgrade: the server side of the opening handshake on a raw
// connection. Ours reuses the caller's reader (as the chat server does,
// having sniffed the first bytes); gobwas reads with its pooled reader.
func BenchmarkUpgrade(b *testing.B) {
	cases := rotated([]struct {
		name string
		f    func(b *testing.B)
	}{
		{"wiredojo", func(b *testing.B) {
			u := &ws.Upgrader{}
			mc := &memConn{data: []byte(request)}
			br := bufio.NewReaderSize(mc, 4096)
			b.ReportAllocs()
			for b.Loop() {
				mc.r = 0
				br.Reset(mc)
				if _, err := u.Upgrade(mc, br); err != nil {
					b.Fatal(err)
				}
			}
		}},
		{"gobwas", func(b *testing.B) {
			mc := &memConn{data: []byte(request)}
			b.ReportAllocs()
			for b.Loop() {
				mc.r = 0
				if _, err := gobwas.Upgrade(mc); err != nil {
					b.Fatal(err)
				}
			}
		}},
	})
	for _, c := range cases {
		b.Run(c.name, c.f)
	}
}
