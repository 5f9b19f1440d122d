package ws

import (
	"bufio"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// closeTimeout bounds how long a closing connection waits for the peer's
// close frame (and a client for the server to end the TCP connection).
const closeTimeout = 3 * time.Second

// compressMin is the smallest message WriteMessage compresses: below it
// DEFLATE's block overhead outweighs what it saves.
const compressMin = 64

// minReadBuf is the smallest read buffer a Conn works with.
const minReadBuf = 4096

// readBufSize is the size of the read buffers this package makes (Dial,
// Upgrade without a reader, UpgradeHTTP): twice minReadBuf, so that a
// 4 KiB message and its header arrive with one read system call, not two.
const readBufSize = 8 << 10

// largeReadBufSize is the size of the read buffer a pooled Conn borrows
// next when a read filled its last one (largeRead): a peer sending in
// bursts, such as a publisher whose events wait while the server is
// busy, is read in a fraction of the system calls (each of which, on
// loopback, also carries a TCP acknowledgement to the peer). An idle Conn
// holds neither size.
const largeReadBufSize = 64 << 10

// writeBufSize is the size of the pooled buffers frames are assembled in.
const writeBufSize = 16 << 10

// largeBufSize is the size of the pooled buffers large masked frames are
// assembled in (client side), a chunk at a time.
const largeBufSize = 256 << 10

// midBufSize is the size of the pooled buffers a batch of messages beyond
// writeBufSize is assembled in when it fits (a Socket.IO session's run of
// events, socketio/engine): a writer blocked on a slow peer holds one,
// not a large one.
const midBufSize = 64 << 10

var (
	readerPool      = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, readBufSize) }}
	largeReaderPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, largeReadBufSize) }}
	writeBufPool    = sync.Pool{New: func() any { b := make([]byte, writeBufSize); return &b }}
	midBufPool      = sync.Pool{New: func() any { b := make([]byte, midBufSize); return &b }}
	largeBufPool    = sync.Pool{New: func() any { b := make([]byte, largeBufSize); return &b }}
)

// batchPool returns the pool of the buffers a batch of total bytes of
// frames is assembled in: the smallest that holds it, or the largest.
func batchPool(total int) *sync.Pool {
	switch {
	case total <= writeBufSize:
		return &writeBufPool
	case total <= midBufSize:
		return &midBufPool
	}
	return &largeBufPool
}

// Conn is an open WebSocket connection, from Upgrader.Upgrade,
// Upgrader.UpgradeHTTP or Dial.
//
// Concurrency: one goroutine may read (ReadMessage, AppendMessage) while
// others write; writes (WriteMessage, WritePrepared, WriteFrame, Ping,
// Close) are serialised by the Conn and may come from any goroutine. The
// reader answers pings and close frames by itself. Close may be called from
// any goroutine, also while a read is blocked.
type Conn struct {
	nc     net.Conn
	br     *bufio.Reader // nil between reads when pooled and empty (rmu)
	x      *connExtra    // nil on a server connection without subprotocol, compression or observer
	maxMsg int64

	// The deadlines set through SetReadDeadline and SetWriteDeadline, in
	// Unix nanoseconds (0: none): the reader bounds its pongs by them.
	readDL  atomic.Int64
	writeDL atomic.Int64
	// pong is the pong the reader owes (a writer held wmu when the ping
	// came; the writer sends it when it lets go), or closedSlot once the
	// TCP connection is closed, or nil.
	pong atomic.Pointer[pongSlot]

	// rmu is held for the whole of a read; it guards readErr, rem and
	// onPong (and x.cbuf, x.dec). wmu guards writes and closeSent,
	// noCompress, writeErr and rest (and x.rng); whoever lets go of wmu
	// sends the pong the reader left meanwhile (unlockW). The locks and
	// the flags sit together, the closed flag is pong's closedSlot, and
	// the final errors are boxed, so that a Conn is 128 bytes (a size
	// class: the 144-byte one before).
	rmu        sync.Mutex
	wmu        sync.Mutex
	server     bool
	deflate    bool // permessage-deflate negotiated; then x is set
	pooled     bool // br comes from readerPool and reads nc: given back when empty
	largeRead  bool // rmu; a read since the last borrow brought readBufSize bytes or more: borrow a large buffer next
	dp         deflateParams
	closeSent  bool           // wmu
	noCompress bool           // wmu
	readErr    *finalErr      // rmu; sticky
	rem        int64          // rmu; payload bytes of the current frame not read yet; -1: unknown
	onPong     func(p []byte) // rmu
	writeErr   *finalErr      // wmu
	rest       *restBuf       // wmu; what a TryWriteMessages left, sent first by the next write
}

// finalErr holds a Conn's final read or write error, boxed so that a Conn
// stays 128 bytes: it is allocated once, when the connection fails (with
// the error itself).
type finalErr struct{ err error }

// errClosedBox is the final write error after CloseNow.
var errClosedBox = &finalErr{ErrClosed}

// pongSlot holds the payload of the ping the reader could not answer at
// once because a writer held the connection.
type pongSlot struct {
	n int
	p [MaxControlPayload]byte
}

var (
	pongPool = sync.Pool{New: func() any { return new(pongSlot) }}
	// closedSlot is Conn.pong once the TCP connection is closed.
	closedSlot = new(pongSlot)
)

// connExtra holds what only some connections need, so that a plain server
// connection (the one an upgrade allocates) stays small.
// A Conn is 128 bytes (a size class) with it.
type connExtra struct {
	protocol string                                    // the negotiated subprotocol
	observe  func(sent bool, h Header, payload []byte) // set before use (SetFrameObserver)
	cbuf     []byte                                    // compressed payloads are gathered here (rmu)
	dec      *decompressor                             // (rmu)
	rng      *rand.ChaCha8                             // masking keys of a client (wmu)
}

// iovec holds the two pieces of a writev (the assembled frames and a large
// payload sent from the caller's slice); pooled, so that WriteTo, which
// takes a *net.Buffers, allocates nothing and a Conn does not carry them.
type iovec struct {
	iov  [2][]byte
	bufs net.Buffers // iov[:]
}

var iovPool = sync.Pool{New: func() any { return new(iovec) }}

// newReadBuf returns a pooled read buffer reading nc, for a Conn made with
// pooled set: a large one (largeReadBufSize) when large is set.
func newReadBuf(nc net.Conn, large bool) *bufio.Reader {
	pool := &readerPool
	if large {
		pool = &largeReaderPool
	}
	br := pool.Get().(*bufio.Reader)
	br.Reset(nc)
	return br
}

// newConn makes the Conn; pooled says br is nil or from newReadBuf(nc),
// and may be given back to the pool whenever it is empty.
func newConn(nc net.Conn, br *bufio.Reader, pooled, server bool, protocol string, deflate bool, dp deflateParams, maxMsg int64) *Conn {
	if maxMsg == 0 {
		maxMsg = DefaultMaxMessageSize
	}
	if !pooled && br.Size() < minReadBuf {
		br = bufio.NewReaderSize(br, minReadBuf) // control payloads are read in place
	}
	c := &Conn{nc: nc, br: br, pooled: pooled, server: server, deflate: deflate, dp: dp, maxMsg: maxMsg}
	c.releaseReader(false)
	if !server || deflate || protocol != "" {
		c.x = &connExtra{protocol: protocol}
	}
	if !server {
		var seed [32]byte
		crand.Read(seed[:])
		c.x.rng = rand.NewChaCha8(seed)
	}
	return c
}

// Subprotocol returns the negotiated subprotocol, or "".
func (c *Conn) Subprotocol() string {
	if c.x == nil {
		return ""
	}
	return c.x.protocol
}

// Compressed reports whether permessage-deflate was negotiated.
func (c *Conn) Compressed() bool { return c.deflate }

// SetCompression turns compression of outgoing messages on or off when
// permessage-deflate was negotiated (it is on by default then).
func (c *Conn) SetCompression(on bool) {
	c.wmu.Lock()
	c.noCompress = !on
	c.unlockW()
}

// NetConn returns the underlying connection. Reading or writing it directly
// breaks the WebSocket framing; deadlines set on it directly are not seen
// by the reader's pongs (set them through the Conn).
func (c *Conn) NetConn() net.Conn { return c.nc }

// LocalAddr returns the local network address.
func (c *Conn) LocalAddr() net.Addr { return c.nc.LocalAddr() }

// RemoteAddr returns the peer's network address.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

// SetReadDeadline sets the deadline for reads; a read that times out ends
// the connection (but ErrReadIdle). It also bounds the pongs the reader
// sends: a pong the socket does not take by then ends the connection.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.readDL.Store(unixDeadline(t))
	return c.nc.SetReadDeadline(t)
}

// SetWriteDeadline sets the deadline for writes; a write that times out
// ends the connection. It bounds the reader's pongs too.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	c.writeDL.Store(unixDeadline(t))
	return c.nc.SetWriteDeadline(t)
}

// maxDeadline is the latest deadline Unix nanoseconds hold.
var maxDeadline = time.Unix(0, 1<<63-1)

// unixDeadline returns t in Unix nanoseconds, 0 for the zero time (no
// deadline); a time out of range is clamped (and never 0).
func unixDeadline(t time.Time) int64 {
	switch {
	case t.IsZero():
		return 0
	case t.After(maxDeadline):
		return 1<<63 - 1
	case t.UnixNano() <= 0:
		return 1 // long past
	}
	return t.UnixNano()
}

// restoreWriteDeadline puts the caller's write deadline back on the
// socket after a write of the reader's under its own bound; wmu is held.
// A SetWriteDeadline meanwhile wins: it is read again until it holds.
func (c *Conn) restoreWriteDeadline() {
	for {
		w := c.writeDL.Load()
		var t time.Time
		if w != 0 {
			t = time.Unix(0, w)
		}
		c.nc.SetWriteDeadline(t)
		if c.writeDL.Load() == w {
			return
		}
	}
}

// SetFrameObserver sets a function told about every frame: each frame
// received (payload unmasked; still compressed when RSV1 is set) and each
// frame sent (payload before masking). It is called from the reading and
// the writing goroutines, possibly at once, and must not keep payload. Set
// it before the first read or write; `ws dial` uses it to show frames.
func (c *Conn) SetFrameObserver(f func(sent bool, h Header, payload []byte)) {
	if c.x == nil {
		if f == nil {
			return
		}
		c.x = new(connExtra)
	}
	c.x.observe = f
}

// observer returns the frame observer, nil without one.
func (c *Conn) observer() func(sent bool, h Header, payload []byte) {
	if c.x == nil {
		return nil
	}
	return c.x.observe
}

// SetPongHandler sets a function called by the reader with the payload of
// each pong received (it must not keep p). Call it before reading.
func (c *Conn) SetPongHandler(f func(p []byte)) {
	c.rmu.Lock()
	c.onPong = f
	c.rmu.Unlock()
}

// ReadMessage reads the next data message and returns its opcode (OpText
// or OpBinary) and a newly allocated payload. See AppendMessage for a
// variant that allocates nothing in steady state.
func (c *Conn) ReadMessage() (OpCode, []byte, error) {
	return c.AppendMessage(nil)
}

// AppendMessage reads the next data message, appends its payload to dst
// and returns the extended slice: reusing dst[:0] between calls, reads
// allocate nothing in steady state. Control frames are handled on the way:
// pings are answered, pongs go to the pong handler, and a close frame ends
// the connection with a *CloseError. A protocol violation by the peer
// closes the connection with the RFC's status code and returns a
// *ProtocolError (or *MessageTooBigError). Every error is final but
// ErrReadIdle: the read deadline passed before any byte of a message came.
//
// While a read waits for bytes it holds an 8 KiB read buffer; between
// reads, with nothing buffered, a Conn made by this package (Dial,
// UpgradeHTTP, Upgrade without a reader) holds none.
func (c *Conn) AppendMessage(dst []byte) (OpCode, []byte, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if c.readErr != nil {
		return 0, dst, c.readErr.err
	}
	c.reader()
	op, out, err := c.readMessage(dst)
	if err != nil && errors.Is(err, ErrReadIdle) { // err != nil: no call per message
		c.releaseReader(false)
		return 0, dst, err
	}
	c.releaseReader(err != nil)
	if err != nil {
		c.readErr = &finalErr{err}
		return 0, dst, err
	}
	return op, out, nil
}

// awaitMessage waits for the first byte of the next frame of a message
// not begun, and returns an ErrReadIdle error, the connection untouched,
// when the read deadline passes first; rmu is held.
func (c *Conn) awaitMessage() error {
	_, err := c.br.Peek(1)
	switch {
	case err == nil:
		if c.pooled && c.br.Buffered() >= readBufSize {
			c.largeRead = true
		}
		return nil
	case errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Errorf("%w: %w", ErrReadIdle, err)
	}
	return c.readFailed(err, false)
}

// Buffered returns the number of bytes read from the connection but not
// yet returned as messages: while it is not zero, the next read needs no
// system call. Call it from the reading goroutine, between reads.
func (c *Conn) Buffered() int {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if c.br == nil {
		return 0
	}
	return c.br.Buffered()
}

// reader borrows a pooled read buffer when the Conn has given its own
// back: a large one when a read filled readBufSize bytes or more of the
// last (largeRead, which starts over with each borrow, so that a peer
// whose bursts shrink gets the small size back); rmu is held.
func (c *Conn) reader() {
	if c.br == nil {
		c.br = newReadBuf(c.nc, c.largeRead)
		c.largeRead = false
	}
}

// releaseReader gives a pooled read buffer back when it is empty, or
// always after the final error (done); rmu is held.
func (c *Conn) releaseReader(done bool) {
	if !c.pooled || c.br == nil || !done && (c.br.Buffered() > 0 || c.rem != 0) {
		return
	}
	c.br.Reset(nil)
	if c.br.Size() == largeReadBufSize {
		largeReaderPool.Put(c.br)
	} else {
		readerPool.Put(c.br)
	}
	c.br = nil
}

// readMessage reads one data message; rmu is held.
func (c *Conn) readMessage(dst []byte) (OpCode, []byte, error) {
	start := len(dst)
	var (
		op         OpCode // opcode of the message in progress, 0 before its first frame
		compressed bool
		utf        utf8Validator
		size       int64
	)
	if c.deflate {
		c.x.cbuf = c.x.cbuf[:0]
	}
	for {
		if op == 0 {
			if err := c.awaitMessage(); err != nil {
				return 0, dst, err
			}
		}
		h, err := c.readHeader()
		if err != nil {
			return 0, dst, err
		}
		if h.OpCode.IsControl() {
			if err := c.readControl(h); err != nil {
				return 0, dst, err
			}
			continue
		}
		if op == 0 {
			if h.OpCode == OpContinuation {
				return 0, dst, c.fail(StatusProtocolError, "continuation frame without a message to continue")
			}
			op, compressed = h.OpCode, h.Rsv1
		} else {
			if h.OpCode != OpContinuation {
				return 0, dst, c.fail(StatusProtocolError, "new data frame in the middle of a fragmented message")
			}
			if h.Rsv1 {
				return 0, dst, c.fail(StatusProtocolError, "RSV1 set on a continuation frame")
			}
		}
		size += h.Length
		if c.maxMsg > 0 && size > c.maxMsg {
			c.fail(StatusMessageTooBig, "message too big")
			return 0, dst, &MessageTooBigError{Size: size, Max: c.maxMsg}
		}
		var before int
		if compressed {
			before = len(c.x.cbuf)
			c.x.cbuf, err = c.readPayload(c.x.cbuf, h, nil)
		} else if op == OpText {
			before = len(dst)
			dst, err = c.readPayload(dst, h, &utf)
		} else {
			before = len(dst)
			dst, err = c.readPayload(dst, h, nil)
		}
		if err != nil {
			return 0, dst, err
		}
		if observe := c.observer(); observe != nil {
			if compressed {
				observe(false, h, c.x.cbuf[before:])
			} else {
				observe(false, h, dst[before:])
			}
		}
		if h.Fin {
			break
		}
	}
	if compressed {
		if c.x.dec == nil {
			c.x.dec = &decompressor{}
		}
		c.x.cbuf = append(c.x.cbuf, deflateTail...)
		var tooBig bool
		var err error
		dst, tooBig, err = c.x.dec.inflate(dst, c.x.cbuf, c.maxMsg, c.dp.peerContext)
		if len(c.x.cbuf) > 1<<20 {
			c.x.cbuf = nil // do not hold a large buffer while idle
		}
		if tooBig {
			c.fail(StatusMessageTooBig, "message too big")
			return 0, dst, &MessageTooBigError{Size: int64(len(dst) - start), Max: c.maxMsg}
		}
		if err != nil {
			return 0, dst, c.fail(StatusInvalidPayload, "permessage-deflate payload does not inflate: "+err.Error())
		}
		if op == OpText && !utf.write(dst[start:]) {
			return 0, dst, c.fail(StatusInvalidPayload, "text message is not valid UTF-8")
		}
	}
	if op == OpText && !utf.complete() {
		return 0, dst, c.fail(StatusInvalidPayload, "text message is not valid UTF-8")
	}
	return op, dst, nil
}

// readHeader reads and checks one frame header.
func (c *Conn) readHeader() (Header, error) {
	b, err := c.br.Peek(2)
	if err != nil {
		return Header{}, c.readFailed(err, len(b) > 0)
	}
	need := 2
	switch b[1] & 0x7F {
	case 126:
		need += 2
	case 127:
		need += 8
	}
	if b[1]&0x80 != 0 {
		need += 4
	}
	if b, err = c.br.Peek(need); err != nil {
		return Header{}, c.readFailed(err, true)
	}
	h, n, err := ParseHeader(b)
	if err != nil {
		c.rem = -1
		return h, c.fail(StatusProtocolError, "64-bit payload length with the top bit set")
	}
	if !minimalLength(b) {
		c.rem = -1
		return h, c.fail(StatusProtocolError, "payload length not in its minimal encoding")
	}
	c.br.Discard(n)
	c.rem = h.Length
	if h.OpCode == OpClose {
		c.rem = -1 // if this frame is bad, the peer will send no other close
	}
	switch {
	case h.Rsv2 || h.Rsv3:
		return h, c.fail(StatusProtocolError, "reserved bits RSV2/RSV3 set without a negotiated extension")
	case h.Rsv1 && !c.deflate:
		return h, c.fail(StatusProtocolError, "reserved bit RSV1 set without permessage-deflate")
	case h.OpCode.IsReserved():
		return h, c.fail(StatusProtocolError, "reserved opcode "+h.OpCode.String())
	case h.OpCode.IsControl() && !h.Fin:
		return h, c.fail(StatusProtocolError, "fragmented control frame")
	case h.OpCode.IsControl() && h.Length > MaxControlPayload:
		return h, c.fail(StatusProtocolError, "control frame payload longer than 125 bytes")
	case h.OpCode.IsControl() && h.Rsv1:
		return h, c.fail(StatusProtocolError, "RSV1 set on a control frame")
	case c.server && !h.Masked:
		return h, c.fail(StatusProtocolError, "client frame not masked")
	case !c.server && h.Masked:
		return h, c.fail(StatusProtocolError, "server frame masked")
	}
	return h, nil
}

// readPayload appends the payload of the frame h to dst, unmasking it and,
// when utf is not nil, validating it as it arrives (failing at the first
// invalid byte, before the rest of the frame is read).
func (c *Conn) readPayload(dst []byte, h Header, utf *utf8Validator) ([]byte, error) {
	remaining := h.Length
	pos := 0
	for remaining > 0 {
		if len(dst) == cap(dst) {
			grow := remaining
			if grow > 1<<20 {
				grow = 1 << 20 // the peer must send it before we allocate more
			}
			dst = append(dst[:cap(dst)], make([]byte, grow)...)[:len(dst)]
		}
		want := int64(cap(dst) - len(dst))
		if want > remaining {
			want = remaining
		}
		chunk := dst[len(dst) : len(dst)+int(want)]
		n, err := c.br.Read(chunk)
		chunk = chunk[:n]
		if h.Masked {
			pos = Mask(h.Mask, pos, chunk)
		}
		dst = dst[:len(dst)+n]
		remaining -= int64(n)
		c.rem = remaining
		if utf != nil && !utf.write(chunk) {
			return dst, c.fail(StatusInvalidPayload, "text message is not valid UTF-8")
		}
		if err != nil && remaining > 0 {
			return dst, c.readFailed(err, true)
		}
	}
	return dst, nil
}

// readControl reads and acts on a control frame.
func (c *Conn) readControl(h Header) error {
	// The payload (at most 125 bytes) is used in place, in the read
	// buffer, and discarded once handled.
	p, err := c.br.Peek(int(h.Length))
	if err != nil {
		return c.readFailed(err, true)
	}
	c.rem = 0
	if h.Masked {
		Mask(h.Mask, 0, p)
	}
	if observe := c.observer(); observe != nil {
		observe(false, h, p)
	}
	switch h.OpCode {
	case OpPing:
		err = c.answerPing(p)
		c.br.Discard(len(p))
		if err != nil {
			return c.readFailed(err, false)
		}
	case OpPong:
		if c.onPong != nil {
			c.onPong(p)
		}
		c.br.Discard(len(p))
	case OpClose:
		c.rem = -1 // the peer will send no other close frame
		code, reason, ok := ParseClosePayload(p)
		if !ok {
			c.br.Discard(len(p))
			if len(p) >= 2 && ValidCloseCode(code) {
				return c.fail(StatusInvalidPayload, "close reason is not valid UTF-8")
			}
			return c.fail(StatusProtocolError, "malformed close frame (bad status code or length)")
		}
		ce := &CloseError{Code: code, Reason: string(reason)}
		c.lockForClose()
		if !c.closeSent {
			// Echo the peer's (valid) status code and reason.
			c.closeSent = true
			c.writeForReaderLocked(OpClose, p, time.Now().Add(closeTimeout).UnixNano())
		}
		c.wmu.Unlock()
		c.br.Discard(len(p))
		c.finish()
		return ce
	}
	return nil
}

// fail closes the connection because the peer broke the protocol: it sends
// a close frame with code, waits briefly for the peer to end the TCP
// connection (so our close frame is not lost to a reset), and returns the
// error for the reader.
func (c *Conn) fail(code StatusCode, reason string) error {
	c.lockForClose()
	if !c.closeSent {
		c.closeSent = true
		var buf [MaxControlPayload]byte
		c.writeForReaderLocked(OpClose, AppendClosePayload(buf[:0], code, reason), time.Now().Add(closeTimeout).UnixNano())
	}
	c.wmu.Unlock()
	c.drain(true)
	return &ProtocolError{Code: code, Reason: reason}
}

// readFailed turns a read error into the reader's final error and ends the
// connection. mid is true when the stream ended inside a frame.
func (c *Conn) readFailed(err error, mid bool) error {
	c.closeNow()
	if c.isClosed() && errors.Is(err, net.ErrClosed) {
		return ErrClosed
	}
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		reason := "the connection ended without a close frame"
		if mid {
			reason = "the connection ended inside a frame"
		}
		return &CloseError{Code: StatusAbnormalClosure, Reason: reason}
	}
	return fmt.Errorf("ws: read: %w", err)
}

// finish ends the connection after the close handshake. The server ends
// the TCP connection first, as RFC 6455 section 7.1.1 asks: it shuts down
// its sending side, then waits (briefly) for the client to close, so that
// bytes still in flight from the client do not turn the close into a reset
// that could destroy our last frames. A client waits for the server to end
// the connection.
func (c *Conn) finish() {
	c.drain(false)
}

// drain ends the connection after we sent a close frame, without losing
// that frame to a TCP reset: with waitClose it skips the rest of the
// current frame and the frames after it until the peer's close frame
// arrives (unless c.rem < 0: the stream cannot be parsed further, or the
// peer already sent its close frame); then a client waits for the server to end the TCP connection.
// Everything is bounded by closeTimeout.
func (c *Conn) drain(waitClose bool) {
	if c.isClosed() {
		return
	}
	c.nc.SetReadDeadline(time.Now().Add(closeTimeout))
	defer c.closeNow()
	if waitClose && c.rem >= 0 {
		if _, err := c.br.Discard(int(c.rem)); err != nil {
			return
		}
		for {
			b, err := c.br.Peek(2)
			if err != nil {
				return
			}
			need := 2
			switch b[1] & 0x7F {
			case 126:
				need += 2
			case 127:
				need += 8
			}
			if b[1]&0x80 != 0 {
				need += 4
			}
			if b, err = c.br.Peek(need); err != nil {
				return
			}
			h, n, err := ParseHeader(b)
			if err != nil {
				return
			}
			if _, err := c.br.Discard(n + int(h.Length)); err != nil {
				return
			}
			if h.OpCode == OpClose {
				break
			}
		}
	}
	if cw, ok := c.nc.(interface{ CloseWrite() error }); ok && c.server {
		cw.CloseWrite()
	} else if c.server {
		return
	}
	c.br.Discard(c.br.Buffered())
	var buf [512]byte
	for {
		if _, err := c.nc.Read(buf[:]); err != nil {
			return
		}
	}
}

// closeNow closes the TCP connection (once); a pong owed is dropped.
func (c *Conn) closeNow() {
	old := c.pong.Swap(closedSlot)
	if old == closedSlot {
		return
	}
	if old != nil {
		pongPool.Put(old)
	}
	c.nc.Close()
}

// isClosed reports whether closeNow ran.
func (c *Conn) isClosed() bool { return c.pong.Load() == closedSlot }

// CloseNow closes the connection without a close handshake. It closes the
// TCP connection first, so that a write in progress (to a peer that does
// not read) fails at once instead of holding CloseNow.
func (c *Conn) CloseNow() error {
	c.closeNow()
	c.wmu.Lock()
	c.closeSent = true
	if c.writeErr == nil {
		c.writeErr = errClosedBox
	}
	if c.rest != nil {
		c.rest.release()
		c.rest = nil
	}
	c.wmu.Unlock()
	return nil
}

// Close performs the closing handshake: it sends a close frame with code
// and reason (code must satisfy ValidCloseCode; any other code sends a close
// frame without a status), waits up to a few seconds for the peer's close
// frame (data messages arriving meanwhile are discarded unless another
// goroutine is reading), and closes the connection. Reads then return a
// *CloseError.
func (c *Conn) Close(code StatusCode, reason string) error {
	var buf [MaxControlPayload]byte
	c.wmu.Lock()
	var err error
	if c.closeSent {
		err = ErrClosed
	} else {
		c.closeSent = true
		err = c.writeFrameLocked(true, OpClose, false, AppendClosePayload(buf[:0], code, reason))
	}
	c.wmu.Unlock()
	if err != nil {
		c.closeNow()
		return err
	}
	// Bound the wait for the peer's close frame, then read until it comes
	// (or until a concurrent reader has seen it).
	c.nc.SetReadDeadline(time.Now().Add(closeTimeout))
	c.rmu.Lock()
	var scratch []byte
	if c.readErr == nil {
		c.reader()
		for c.readErr == nil {
			var err error
			if _, scratch, err = c.readMessage(scratch[:0]); err != nil {
				c.readErr = &finalErr{err}
			}
		}
		c.releaseReader(true)
	}
	c.rmu.Unlock()
	c.closeNow()
	return nil
}

// WriteMessage sends p as one message of type op (OpText or OpBinary),
// compressed when permessage-deflate was negotiated and p is at least 64
// bytes long. It does not modify p
// and allocates nothing in steady state (without compression).
func (c *Conn) WriteMessage(op OpCode, p []byte) error {
	if op != OpText && op != OpBinary {
		return fmt.Errorf("ws: WriteMessage takes OpText or OpBinary, not %s (use Ping or Close)", op)
	}
	c.wmu.Lock()
	defer c.unlockW()
	if c.closeSent {
		return ErrClosed
	}
	if c.compressing(p) {
		bp := writeBufPool.Get().(*[]byte)
		z := compress((*bp)[:0], p, c.dp.huffmanOnly)
		err := c.writeFrameLocked(true, op, true, z)
		if cap(z) == writeBufSize {
			*bp = z[:cap(z)]
		}
		writeBufPool.Put(bp)
		return err
	}
	return c.writeFrameLocked(true, op, false, p)
}

// compressing reports whether WriteMessage compresses p; wmu is held.
func (c *Conn) compressing(p []byte) bool {
	return c.deflate && !c.noCompress && len(p) >= compressMin
}

// WriteMessages sends each of msgs as one message of type op (OpText or
// OpBinary), in order, as WriteMessage would, but framed into as few
// writes as it can: the frames are assembled in one buffer (16 KiB, or
// 64 or 256 KiB when a client's masked batch, or a server's batch of
// several messages, is larger) and a large unmasked
// payload goes out from msgs itself, with the frames before it, in one
// writev. A batch of small messages thus costs one system call instead of
// one per message. It does not modify msgs and allocates nothing in
// steady state (without compression). On error some of the messages may
// have been sent; the error is final.
func (c *Conn) WriteMessages(op OpCode, msgs [][]byte) error {
	if op != OpText && op != OpBinary {
		return fmt.Errorf("ws: WriteMessages takes OpText or OpBinary, not %s (use Ping or Close)", op)
	}
	c.wmu.Lock()
	defer c.unlockW()
	if c.closeSent {
		return ErrClosed
	}
	if c.writeErr != nil {
		return c.writeErr.err
	}
	if err := c.flushRestLocked(); err != nil {
		return err
	}
	pool := &writeBufPool
	if !c.server || len(msgs) > 1 {
		// A client's masked frames, or a server's batch of messages,
		// beyond the small buffer: the large one, so that a batch of
		// small messages up to 256 KiB is one write, not a write per 16
		// KiB and a writev per payload crossing a buffer's end. (A
		// server's one message goes out by writev, from msgs.)
		total := 0
		for _, p := range msgs {
			total += MaxHeaderLen + len(p)
		}
		pool = batchPool(total)
	}
	bp := pool.Get().(*[]byte)
	buf := (*bp)[:0]
	var zp *[]byte // compression output, when needed
	var err error
	for _, p := range msgs {
		if c.compressing(p) {
			if zp == nil {
				zp = writeBufPool.Get().(*[]byte)
			}
			z := compress((*zp)[:0], p, c.dp.huffmanOnly)
			buf, err = c.appendFrameLocked(buf, true, op, true, z)
			if cap(z) == writeBufSize {
				*zp = z[:cap(z)]
			}
		} else {
			buf, err = c.appendFrameLocked(buf, true, op, false, p)
		}
		if err != nil {
			break
		}
	}
	if err == nil && len(buf) > 0 {
		_, err = c.nc.Write(buf)
	}
	if zp != nil {
		writeBufPool.Put(zp)
	}
	pool.Put(bp)
	if err != nil {
		return c.writeFailedLocked(err)
	}
	return nil
}

// WriteFrame sends one raw frame: a fragment of a message (op is OpText or
// OpBinary on the first fragment, OpContinuation after it, fin on the last)
// or a control frame. The caller keeps fragments in order; the frame is
// never compressed. `ws dial` and the conformance tests use it.
func (c *Conn) WriteFrame(fin bool, op OpCode, p []byte) error {
	if op.IsControl() && (!fin || len(p) > MaxControlPayload) {
		return fmt.Errorf("ws: control frames must be final and carry at most %d bytes", MaxControlPayload)
	}
	c.wmu.Lock()
	defer c.unlockW()
	if c.closeSent {
		return ErrClosed
	}
	if op == OpClose {
		c.closeSent = true
	}
	return c.writeFrameLocked(fin, op, false, p)
}

// Ping sends a ping with payload p (at most 125 bytes).
func (c *Conn) Ping(p []byte) error { return c.WriteFrame(true, OpPing, p) }

// writeFrameLocked sends one frame; wmu is held. A write error is final.
func (c *Conn) writeFrameLocked(fin bool, op OpCode, rsv1 bool, p []byte) error {
	if c.writeErr != nil {
		return c.writeErr.err
	}
	if err := c.flushRestLocked(); err != nil {
		return err
	}
	// Assemble in a pooled buffer, large enough for most messages to leave
	// in one write; a large masked payload takes the large buffer.
	pool := &writeBufPool
	if !c.server && len(p)+MaxHeaderLen > writeBufSize {
		pool = &largeBufPool
	}
	bp := pool.Get().(*[]byte)
	buf, err := c.appendFrameLocked((*bp)[:0], fin, op, rsv1, p)
	if err == nil && len(buf) > 0 {
		_, err = c.nc.Write(buf)
	}
	pool.Put(bp)
	if err != nil {
		return c.writeFailedLocked(err)
	}
	return nil
}

// frameHeaderLocked returns the header of the frame carrying p (a client's
// with a fresh masking key) and shows the frame to the observer; wmu is
// held.
func (c *Conn) frameHeaderLocked(fin bool, op OpCode, rsv1 bool, p []byte) Header {
	h := Header{Fin: fin, Rsv1: rsv1, OpCode: op, Length: int64(len(p)), Masked: !c.server}
	if h.Masked {
		binary.LittleEndian.PutUint32(h.Mask[:], uint32(c.x.rng.Uint64()))
	}
	if observe := c.observer(); observe != nil {
		observe(true, h, p)
	}
	return h
}

// appendFrameLocked appends the frame carrying p to buf, a pooled buffer
// (its capacity is the most it holds), and returns what is still to be
// written: whenever buf fills up it is written out first. A payload that
// does not fit is masked into buf a buffer at a time (client), or sent
// from p itself with buf in one writev (server: no copy). wmu is held; the
// caller writes the rest and records an error.
func (c *Conn) appendFrameLocked(buf []byte, fin bool, op OpCode, rsv1 bool, p []byte) ([]byte, error) {
	h := c.frameHeaderLocked(fin, op, rsv1, p)
	if cap(buf)-len(buf) < MaxHeaderLen {
		if _, err := c.nc.Write(buf); err != nil {
			return buf[:0], err
		}
		buf = buf[:0]
	}
	buf = AppendHeader(buf, h)
	if !h.Masked && len(p) > cap(buf)-len(buf) {
		// The frames so far, this header and the payload in one writev.
		v := iovPool.Get().(*iovec)
		v.iov[0], v.iov[1] = buf, p
		v.bufs = v.iov[:]
		_, err := v.bufs.WriteTo(c.nc)
		v.iov[0], v.iov[1] = nil, nil // keep no reference to p
		iovPool.Put(v)
		return buf[:0], err
	}
	pos := 0
	for {
		n := copy(buf[len(buf):cap(buf)], p)
		if h.Masked {
			pos = Mask(h.Mask, pos, buf[len(buf):len(buf)+n])
		}
		buf = buf[:len(buf)+n]
		p = p[n:]
		if len(p) == 0 {
			return buf, nil
		}
		if _, err := c.nc.Write(buf); err != nil {
			return buf[:0], err
		}
		buf = buf[:0]
	}
}

// writeFailedLocked records err, from the socket, as the final write
// error and returns it; wmu is held.
func (c *Conn) writeFailedLocked(err error) error {
	e := fmt.Errorf("ws: write: %w", err)
	c.writeErr = &finalErr{e}
	return e
}

// unlockW lets go of wmu, then sends the pong the reader left while wmu
// was held (the reader does not wait for writers: answerPing). Every
// holder of wmu but the closing ones lets go through it.
func (c *Conn) unlockW() {
	c.wmu.Unlock()
	if c.pong.Load() != nil { // one test, so that unlockW is inlined: closedSlot too
		c.sendOwedPong()
	}
}

// sendOwedPong sends the pong owed, under the writer's deadline. When wmu
// is taken again, its new holder sends it instead.
func (c *Conn) sendOwedPong() {
	for c.pongOwed() && c.wmu.TryLock() {
		if s := c.takePong(); s != nil {
			if !c.closeSent {
				c.writeFrameLocked(true, OpPong, false, s.p[:s.n]) // a failure is final: the next write or read sees it
			}
			pongPool.Put(s)
		}
		c.wmu.Unlock()
	}
}

// pongOwed reports whether the reader left a pong to send.
func (c *Conn) pongOwed() bool {
	s := c.pong.Load()
	return s != nil && s != closedSlot
}

// owePong leaves the pong for the ping whose payload is p to the writer
// holding wmu, in place of an earlier one it did not send yet (RFC 6455
// 5.5.3 asks only for the most recent ping's); rmu is held.
func (c *Conn) owePong(p []byte) {
	s := pongPool.Get().(*pongSlot)
	s.n = copy(s.p[:], p)
	for {
		old := c.pong.Load()
		if old == closedSlot {
			pongPool.Put(s)
			return
		}
		if c.pong.CompareAndSwap(old, s) {
			if old != nil {
				pongPool.Put(old)
			}
			return
		}
	}
}

// takePong returns the pong owed, now the caller's to send and give back
// to pongPool, or nil.
func (c *Conn) takePong() *pongSlot {
	for {
		s := c.pong.Load()
		if s == nil || s == closedSlot {
			return nil
		}
		if c.pong.CompareAndSwap(s, nil) {
			return s
		}
	}
}

// answerPing answers the ping whose payload is p (in the read buffer)
// without waiting for a writer: when one holds wmu, the pong is owed and
// the writer sends it when it lets go. The reader's own pong is bounded by
// the read deadline as well as the write deadline, so that a peer that
// does not read cannot hold the reader past its deadline; a deadline
// already passed leaves the pong owed to the next write. rmu is held.
func (c *Conn) answerPing(p []byte) error {
	var s *pongSlot
	if !c.wmu.TryLock() {
		c.owePong(p)
		if !c.wmu.TryLock() {
			return nil // its holder sees the pong when it lets go
		}
		// The writer let go before it could see it: ours to send.
		if s = c.takePong(); s == nil {
			c.wmu.Unlock()
			return nil
		}
		p = s.p[:s.n]
	} else if old := c.takePong(); old != nil {
		pongPool.Put(old) // an earlier ping's, which this one supersedes
	}
	var err error
	if !c.closeSent {
		r := c.readDL.Load()
		if r != 0 && r <= time.Now().UnixNano() {
			c.owePong(p)
		} else {
			err = c.writeForReaderLocked(OpPong, p, r)
		}
	}
	if s != nil {
		pongPool.Put(s)
	}
	c.wmu.Unlock() // not unlockW: a pong owed now waits for the next write
	return err
}

// writeForReaderLocked writes a control frame of the reader's, bounded by
// dl (Unix nanoseconds, 0: none) as well as by the caller's write
// deadline; wmu is held.
func (c *Conn) writeForReaderLocked(op OpCode, p []byte, dl int64) error {
	if w := c.writeDL.Load(); dl == 0 || w != 0 && w <= dl {
		return c.writeFrameLocked(true, op, false, p)
	}
	c.nc.SetWriteDeadline(time.Unix(0, dl))
	err := c.writeFrameLocked(true, op, false, p)
	c.restoreWriteDeadline()
	return err
}

// lockForClose takes wmu for the reader's close frame (an echo, or a
// protocol error's). A writer that holds it is waited for at most
// closeTimeout, which bounds the whole closing handshake; then the TCP
// connection is closed, which ends the write (CloseNow), and no close
// frame is sent.
func (c *Conn) lockForClose() {
	if c.wmu.TryLock() {
		return
	}
	t := time.AfterFunc(closeTimeout, c.closeNow)
	c.wmu.Lock()
	t.Stop()
}
