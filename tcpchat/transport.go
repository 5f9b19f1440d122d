package tcpchat

import (
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/wiredojo/wiredojo/framing"
	"github.com/wiredojo/wiredojo/tcpchat/wire"
)

// Transport carries packet payloads of one connection: over framed TCP one
// payload per frame, over WebSocket one payload per message. The server and
// the client use it through one reading goroutine and one writing goroutine
// at a time: ReadPacket is never called concurrently with itself, nor
// WritePackets with itself, but the two run concurrently with each other and
// with Close.
type Transport interface {
	// ReadPacket blocks for the next payload. It is valid until the next
	// call. An implementation should hold no buffer while it waits.
	ReadPacket() ([]byte, error)
	// WritePackets sends the payloads in order, in as few writes as it can.
	// It must not keep references to them after it returns. A transport
	// with a bounded queue of its own (a Socket.IO session that polls)
	// whose queue overflowed returns an error that wraps ErrSlowConsumer
	// and names the bound: the server counts and logs the connection as
	// a slow consumer.
	WritePackets(payloads [][]byte) error
	// SetReadDeadline and SetWriteDeadline bound the next reads and writes
	// (the zero time removes the bound).
	SetReadDeadline(t time.Time) error
	SetWriteDeadline(t time.Time) error
	// Close ends the connection; blocked reads and writes return.
	Close() error
	// RemoteAddr names the peer for logs.
	RemoteAddr() net.Addr
}

// framedTransport is the Transport of the framed TCP protocol. It holds no
// read buffer while idle (framing.Reader releases it) and no write buffer
// at all: each batch borrows a pooled framing.Writer.
type framedTransport struct {
	conn     net.Conn
	r        *framing.Reader
	preamble bool         // a client's: wire.Preamble goes out with the first batch
	noDirect bool         // the connection cannot be written without waiting (direct_unix.go)
	d        *directState // writes that do not wait, made on the first (conn.flushDirectLocked)
}

// DirectWriter is a Transport that can also write without waiting for its
// socket, keeping what the socket does not take for its next WritePackets
// (which sends it first, even with no payloads). The reader of a read
// batch writes the batch's first parked recipients itself through it,
// instead of starting their writer goroutines: framed TCP
// (direct_unix.go) and the Socket.IO transport (tcpchat/sio). Only the
// connection's one writer at a time calls these.
type DirectWriter interface {
	Transport
	// CanWriteDirect reports whether TryWritePackets can write now.
	CanWriteDirect() bool
	// TryWritePackets writes the payloads as WritePackets does, but what
	// the socket does not take at once is kept, and rest says so. It does
	// not keep references to the payloads.
	TryWritePackets(payloads [][]byte) (rest bool, err error)
}

// SharedEncoder is a Transport that translates the event protocol's
// packets into another protocol's (Socket.IO, tcpchat/sio), where the
// translation of a broadcast is the same for every recipient: the first
// recipient's writer has it made once into the Message, and every
// recipient's WritePackets or TryWritePackets gets it in place of the
// payload, so that a broadcast to N such connections is translated once,
// not N times.
type SharedEncoder interface {
	Transport
	// AppendShared appends to dst the translation of payload that every
	// connection of this kind writes alike and reports true, or reports
	// false when the translation depends on the connection (then each
	// gets payload itself). The transport must tell what it appended
	// from a payload when WritePackets gets it. It is called from any
	// connection's writer, concurrently.
	AppendShared(dst, payload []byte) ([]byte, bool)
}

// viewReader is a Transport that translates another protocol's packets
// into the event protocol's (Socket.IO, tcpchat/sio) and can hand the
// server a packet already parsed, saving its encoding by the transport and
// its parse by the server (conn.loop). It is unexported: a transport of
// another package has it by its method set alone.
type viewReader interface {
	// ReadView reads the next packet as ReadPacket does. It either fills
	// v with what wire.Parse of the packet's encoding would give (the same
	// fields, the same limits and checks; its slices valid until the next
	// call, not to be written) and returns nil bytes, or returns the
	// encoding itself, for the server to parse, leaving v as it is.
	ReadView(v *wire.View) ([]byte, error)
}

// SocketOf returns the socket under a connection the server accepted (the
// net.Conn a Transport was made with, or that an HTTP handler hijacked)
// for writes that do not wait (DirectWriter), or nil when it is not a
// plain TCP socket (TLS) or bytes already read wait above it.
func SocketOf(nc net.Conn) syscall.RawConn { return rawConnOf(nc) }

// newFramedTransport returns the framed-TCP Transport over conn (after the
// preamble), refusing frames longer than maxFrame bytes.
func newFramedTransport(conn net.Conn, maxFrame int) Transport {
	return &framedTransport{conn: conn, r: framing.NewReader(conn, maxFrame)}
}

var writerPool = sync.Pool{New: func() any { return framing.NewWriter(nil) }}

func (t *framedTransport) ReadPacket() ([]byte, error) { return t.r.ReadFrame() }

// Buffered reports the bytes read from the connection but not yet returned
// as packets: while it is not zero, the next ReadPacket needs no read.
func (t *framedTransport) Buffered() int { return t.r.Buffered() }

// bufferedTransport is a Transport that says what it has read ahead.
type bufferedTransport interface{ Buffered() int }

func (t *framedTransport) NetConn() net.Conn { return t.conn } // park.go
func (t *framedTransport) ReleaseRead()      { t.r.Release() }
func (t *framedTransport) SetWake(func())    {} // only the server closes the connection

func (t *framedTransport) WritePackets(payloads [][]byte) error {
	if err := t.flushRest(); err != nil {
		return err
	}
	if t.preamble {
		// The preamble and the handshake leave in one segment.
		t.preamble = false
		buf := append([]byte(nil), wire.Preamble...)
		for _, p := range payloads {
			buf = framing.AppendFrame(buf, p)
		}
		_, err := t.conn.Write(buf)
		return err
	}
	w := writerPool.Get().(*framing.Writer)
	w.Reset(t.conn)
	for _, p := range payloads {
		w.Queue(p)
	}
	err := w.Flush()
	w.Reset(nil)
	writerPool.Put(w)
	return err
}

func (t *framedTransport) SetReadDeadline(d time.Time) error  { return t.conn.SetReadDeadline(d) }
func (t *framedTransport) SetWriteDeadline(d time.Time) error { return t.conn.SetWriteDeadline(d) }
func (t *framedTransport) Close() error                       { return t.conn.Close() }
func (t *framedTransport) RemoteAddr() net.Addr               { return t.conn.RemoteAddr() }

// CloseWrite half-closes a TCP connection so that a final packet is not
// lost to a reset while the peer is still sending.
func (t *framedTransport) CloseWrite() error {
	if cw, ok := t.conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return t.conn.Close()
}

// A framed connection's reader writes to its recipients itself.
var _ DirectWriter = (*framedTransport)(nil)
