package ws

import (
	"encoding/binary"
	"fmt"
	"sync"
	"syscall"

	"github.com/wiredojo/wiredojo/internal/netpoll"
)

// restBuf is what a TryWriteMessages left: the frames the socket did not
// take, sent first by the Conn's next write (flushRestLocked).
type restBuf struct {
	bp   *[]byte    // the buffer, from pool (nil: allocated for a batch beyond the pools)
	pool *sync.Pool // where bp goes back
	b    []byte     // what is left to send, in *bp
}

var (
	restPool      = sync.Pool{New: func() any { return new(restBuf) }}
	nowWriterPool = sync.Pool{New: func() any { return netpoll.NewNowWriter(nil, nil) }}
)

// release gives the buffer and r back to their pools.
func (r *restBuf) release() {
	if r.bp != nil {
		r.pool.Put(r.bp)
	}
	*r = restBuf{}
	restPool.Put(r)
}

// TryWriteMessages is WriteMessages for a writer that must not wait for
// the peer (a server's goroutine writing to many connections): it frames
// msgs into one buffer and writes it with one system call of rc, the
// socket under the Conn's net.Conn (with nothing such as TLS between
// them), which never waits for room. What the socket does not take now is
// kept, and goes out before anything else with the Conn's next write (or
// Flush, which the caller must see to); rest reports whether such bytes
// are kept. It allocates nothing in steady state when the frames fit the
// pooled buffers (256 KiB) and the socket takes them. Only systems with
// netpoll.NowWrites have it; elsewhere it fails.
func (c *Conn) TryWriteMessages(rc syscall.RawConn, op OpCode, msgs [][]byte) (rest bool, err error) {
	if op != OpText && op != OpBinary {
		return false, fmt.Errorf("ws: TryWriteMessages takes OpText or OpBinary, not %s", op)
	}
	c.wmu.Lock()
	rest, err = c.tryWriteLocked(rc, op, msgs)
	c.wmu.Unlock()
	// A pong the reader left meanwhile goes out the same way, without
	// waiting (a holder of wmu that this misses sends it itself).
	for err == nil && c.pongOwed() && c.wmu.TryLock() {
		rest, err = c.tryWriteLocked(rc, op, nil)
		c.wmu.Unlock()
	}
	return rest, err
}

// tryWriteLocked is TryWriteMessages with wmu held; the pong owed, if
// any, goes first.
func (c *Conn) tryWriteLocked(rc syscall.RawConn, op OpCode, msgs [][]byte) (rest bool, err error) {
	if c.closeSent {
		return false, ErrClosed
	}
	if c.writeErr != nil {
		return false, c.writeErr.err
	}
	pong := c.takePong()
	if pong == nil && len(msgs) == 0 && c.rest == nil {
		return false, nil
	}
	if pong != nil {
		defer pongPool.Put(pong)
	}
	w := nowWriterPool.Get().(*netpoll.NowWriter)
	w.Reset(c.nc, rc)
	defer func() {
		w.Reset(nil, nil)
		nowWriterPool.Put(w)
	}()
	if r := c.rest; r != nil {
		// An earlier rest first; what follows joins it if it stays.
		n, err := w.Write(r.b)
		if err != nil {
			return true, c.tryFailedLocked(err)
		}
		if r.b = r.b[n:]; len(r.b) > 0 {
			r.b = c.appendFramesLocked(c.appendPongLocked(r.b, pong), op, msgs)
			return true, nil
		}
		c.rest = nil
		r.release()
	}
	total := 0
	if pong != nil {
		total += MaxHeaderLen + pong.n
	}
	for _, p := range msgs {
		total += MaxHeaderLen + len(p)
	}
	var pool *sync.Pool
	if total <= largeBufSize {
		pool = batchPool(total)
	}
	var bp *[]byte
	var buf []byte
	if pool != nil {
		bp = pool.Get().(*[]byte)
		buf = (*bp)[:0]
	}
	buf = c.appendFramesLocked(c.appendPongLocked(buf, pong), op, msgs)
	if bp != nil && cap(buf) != cap(*bp) {
		pool.Put(bp) // compressed frames outgrew it: buf is a new array
		bp, pool = nil, nil
	}
	n, err := w.Write(buf)
	if err != nil {
		if bp != nil {
			pool.Put(bp)
		}
		return false, c.tryFailedLocked(err)
	}
	if n == len(buf) {
		if bp != nil {
			pool.Put(bp)
		}
		return false, nil
	}
	r := restPool.Get().(*restBuf)
	r.bp, r.pool, r.b = bp, pool, buf[n:]
	c.rest = r
	return true, nil
}

// appendPongLocked appends the frame of the pong s (nil: none) to buf;
// wmu is held.
func (c *Conn) appendPongLocked(buf []byte, s *pongSlot) []byte {
	if s == nil {
		return buf
	}
	p := s.p[:s.n]
	return AppendFrame(buf, c.frameHeaderLocked(true, OpPong, false, p), p)
}

// tryFailedLocked records the error of a TryWriteMessages as final.
func (c *Conn) tryFailedLocked(err error) error {
	return c.writeFailedLocked(err)
}

// appendFramesLocked appends the frames of msgs (compressed as
// WriteMessages would) to buf, growing it as needed; wmu is held.
func (c *Conn) appendFramesLocked(buf []byte, op OpCode, msgs [][]byte) []byte {
	var zp *[]byte
	defer func() {
		if zp != nil {
			writeBufPool.Put(zp)
		}
	}()
	plain := c.server && c.observer() == nil
	for _, p := range msgs {
		if plain && !c.compressing(p) {
			buf = appendServerFrame(buf, op, p)
			continue
		}
		rsv1 := false
		if c.compressing(p) {
			if zp == nil {
				zp = writeBufPool.Get().(*[]byte)
			}
			z := compress((*zp)[:0], p, c.dp.huffmanOnly)
			if cap(z) == writeBufSize {
				*zp = z[:cap(z)]
			}
			p, rsv1 = z, true
		}
		buf = AppendFrame(buf, c.frameHeaderLocked(true, op, rsv1, p), p)
	}
	return buf
}

// Flush sends what a TryWriteMessages left, waiting for the socket as the
// other writes do (bounded by the write deadline).
func (c *Conn) Flush() error {
	c.wmu.Lock()
	defer c.unlockW()
	if c.writeErr != nil {
		return c.writeErr.err
	}
	return c.flushRestLocked()
}

// flushRestLocked sends what a TryWriteMessages left, before any other
// write; wmu is held. A failure is final.
func (c *Conn) flushRestLocked() error {
	r := c.rest
	if r == nil {
		return nil
	}
	c.rest = nil
	_, err := c.nc.Write(r.b)
	r.release()
	if err != nil {
		return c.writeFailedLocked(err)
	}
	return nil
}

// appendServerFrame appends a server's frame of one whole message of type
// op, unmasked and uncompressed, to buf: AppendFrame's bytes for that
// case, without a Header to fill and read back (a broadcast writes one
// such frame per recipient and message).
func appendServerFrame(buf []byte, op OpCode, p []byte) []byte {
	b0 := 0x80 | byte(op)
	switch n := len(p); {
	case n <= 125:
		buf = append(buf, b0, byte(n))
	case n <= 0xFFFF:
		buf = append(buf, b0, 126, byte(n>>8), byte(n))
	default:
		buf = append(buf, b0, 127)
		buf = binary.BigEndian.AppendUint64(buf, uint64(n))
	}
	return append(buf, p...)
}
