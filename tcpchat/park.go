package tcpchat

import (
	"errors"
	"math"
	"net"
	"os"
	"syscall"
	"time"
)

// An idle connection holds no goroutine. When the reader has handled
// everything its last read brought in, it arms the connection's socket in
// the server's poller (internal/netpoll, epoll on Linux) and its goroutine
// ends; the poller starts a reader again when bytes arrive. Three other
// things wake a parked connection: the server's sweep once its heartbeat
// deadline has passed (Server.wakeOverdue; the read then fails with the
// deadline passed), cut (the socket is closed)
// and closeWrite (the linger deadline is set). Reads block in a goroutine,
// as before, where the poller cannot see the bytes: TLS (tls.Conn may hold
// decrypted bytes), transports given to ServeTransport (it must block),
// and systems without the poller. A Pollable transport given to
// ServePollable (the Socket.IO transport's sessions) parks like the
// server's own once it has a socket to watch.

// The reader's states (conn.pstate).
const (
	readRunning int32 = iota // a goroutine reads
	readParking              // the reader is arming the poller
	readParked               // no goroutine: the poller, the sweep or a close wakes it
	readWoken                // woken while parking: the same goroutine reads on
)

// parkMargin is added to the heartbeat deadline of a parked connection, so
// that the woken read finds its deadline passed.
const parkMargin = time.Millisecond

// parkSweep is how often the server looks for parked connections past
// their heartbeat deadline (a quarter of the ping timeout, between 10 ms
// and 1 s): a dead client is cut at most that much later than its
// deadline. One sweep for all connections replaces a timer per parked
// connection (a time.Timer and its closure, about 160 bytes each).
func parkSweep(o *Options) time.Duration {
	return min(max(o.PingTimeout/4, 10*time.Millisecond), time.Second)
}

// wakeOverdue wakes the parked connections whose heartbeat deadline has
// passed (their reader then ends them); batch is scratch space, returned
// for the next sweep.
func (s *Server) wakeOverdue(batch []*conn) []*conn {
	now := monoNow()
	batch = batch[:0]
	s.mu.Lock()
	for c := range s.conns {
		if c.pstate.Load() == readParked && now > c.parkDue.Load() {
			batch = append(batch, c)
		}
	}
	s.mu.Unlock()
	for _, c := range batch {
		c.wake()
	}
	clear(batch)
	return batch[:0]
}

// errParked ends a read loop whose connection was parked (not an error:
// the connection goes on).
var errParked = errors.New("tcpchat: parked")

// Pollable is a Transport whose reads may wait in the server's poller
// (ServePollable), so that its idle connection holds no goroutine and no
// read buffer.
type Pollable interface {
	Transport
	// Buffered reports what was read ahead of the packets returned so
	// far: while it is not zero the next ReadPacket needs no read of the
	// socket. It is called by the reading goroutine, between reads.
	Buffered() int
	// NetConn returns the connection whose socket the poller watches, or
	// nil while the transport has none yet (the server asks again after
	// the next packet). A connection that is not a plain TCP socket (TLS)
	// is read by a blocked goroutine, as without a poller.
	NetConn() net.Conn
	// ReleaseRead returns the read buffers to their pools; it is called
	// by the reading goroutine before it parks, with nothing buffered.
	ReleaseRead()
	// SetWake gives the transport the function that wakes the parked
	// reader (safe at any time, from any goroutine), before the first
	// park: a transport that can end other than by its Close (another
	// party closes its connection, whose end the poller then never
	// reports) calls it then, and the next ReadPacket returns the end.
	SetWake(wake func())
}

// Lingering is a Pollable whose reads survive their deadline: when the
// read deadline passes before a packet begins, ReadPacket returns an
// error matching os.ErrDeadlineExceeded and the transport can be read
// again. A busy connection of such a transport waits for its next bytes in
// its reading goroutine (parkLinger) before it parks, as a framed one does.
type Lingering interface {
	Pollable
	// ReadDeadlineRecoverable reports whether the transport's reads
	// survive their deadline now.
	ReadDeadlineRecoverable() bool
}

// rawConnOf returns the socket under nc, or nil when it is not a plain TCP
// socket or bytes already read wait above it.
func rawConnOf(nc net.Conn) syscall.RawConn {
	for {
		switch c := nc.(type) {
		case *trackedConn:
			nc = c.Conn
		case *prefixConn:
			if c.buffered() > 0 {
				return nil
			}
			nc = c.Conn
		case *net.TCPConn:
			rc, err := c.SyscallConn()
			if err != nil {
				return nil
			}
			return rc
		default:
			return nil
		}
	}
}

// startPolling registers the connection with the server's poller when its
// transport allows it; the reader then parks between reads. A transport
// without a connection yet (NetConn nil) is asked again by the read loop.
//
//go:noinline
func (c *conn) startPolling() {
	p := c.srv.poller
	pt, ok := c.t.(Pollable)
	if p == nil || !ok {
		return
	}
	nc := pt.NetConn()
	c.pollLater = nc == nil
	rc := rawConnOf(nc)
	if rc == nil {
		return
	}
	if d, err := p.Register(rc, c); err == nil {
		c.pd = d
		if _, framed := pt.(*framedTransport); !framed {
			// Not for a framed connection, whose transport ignores it:
			// the method value is 16 bytes that it would hold.
			pt.SetWake(c.wake)
		}
	}
}

// Wake is wake for the poller (netpoll.Waker): the conn itself, rather
// than a method value, is what its Desc holds.
func (c *conn) Wake() { c.wake() }

// stopPolling removes the connection from the poller; the reader calls it
// when the connection ends.
func (c *conn) stopPolling() {
	if c.pd != nil {
		c.pd.Close()
	}
}

// park arms the poller for a connection with nothing buffered and reports
// whether the reading goroutine may end. It does not park a closing
// connection, nor one whose heartbeat deadline has passed.
//
//go:noinline
func (c *conn) park() bool {
	pt := c.t.(Pollable)
	if pt.Buffered() > 0 {
		return false
	}
	if c.linger {
		return false // wait for bytes in this goroutine until parkLinger passes (lingerEnded)
	}
	o := &c.srv.opts
	wait := time.Duration(c.lastDeadline-monoNow()) + o.PingInterval + o.PingTimeout
	if wait <= 0 {
		return false
	}
	c.mu.Lock()
	if c.closed || c.closing {
		c.mu.Unlock()
		return false
	}
	c.pstate.Store(readParking)
	if c.ownTransport() {
		// No read deadline while parked: the sweep keeps the heartbeat
		// (parkDue), and a deadline's timer stays in the runtime's
		// timer heap, about 16-20 bytes per parked connection. Under
		// c.mu, so that closeWrite's (which comes after closing is set)
		// is never cleared.
		c.t.SetReadDeadline(time.Time{})
	}
	c.mu.Unlock()
	pt.ReleaseRead()
	c.srv.wg.Add(1) // held while parked; the woken reader's goroutine ends it
	c.parkDue.Store(monoNow() + int64(wait+parkMargin))
	if c.pd.Arm() == nil && c.pstate.CompareAndSwap(readParking, readParked) {
		return true
	}
	// The socket is closing, or something woke the connection meanwhile:
	// read on in this goroutine.
	c.pstate.Store(readRunning)
	c.srv.wg.Done()
	c.restoreDeadline()
	return false
}

// ownTransport reports whether the connection's transport is one of the
// server's own (framed TCP, WebSocket), whose read deadline park clears
// and restoreDeadline sets again; others keep theirs while parked.
func (c *conn) ownTransport() bool {
	switch c.t.(type) {
	case *framedTransport, *wsTransport:
		return true
	}
	return false
}

// restoreDeadline sets the heartbeat read deadline that park cleared again
// (passed already when the sweep woke the connection: the read then
// fails), unless the connection is closing: then closeWrite sets the
// linger deadline, or has.
func (c *conn) restoreDeadline() {
	if !c.ownTransport() {
		return
	}
	o := &c.srv.opts
	c.mu.Lock()
	if !c.closed && !c.closing {
		c.t.SetReadDeadline(time.Now().Add(time.Duration(c.lastDeadline-monoNow()) + o.PingInterval + o.PingTimeout))
	}
	c.mu.Unlock()
}

// wake starts the reader of a parked connection (the poller, the sweep,
// cut and closeWrite call it); it does nothing to a running reader, which
// sees the close or the deadline by itself.
func (c *conn) wake() {
	for {
		switch c.pstate.Load() {
		case readParked:
			if c.pstate.CompareAndSwap(readParked, readRunning) {
				go c.resumeRead()
				return
			}
		case readParking:
			if c.pstate.CompareAndSwap(readParking, readWoken) {
				return
			}
		default:
			return
		}
	}
}

// parkLinger is how long the reader of a busy connection waits for more
// bytes in its goroutine before it parks; a connection is busy when bytes
// woke it within 2*parkLinger of its last read. Parking costs an
// epoll_ctl, a goroutine start with its stack growth and a hand-off through
// the poller per read batch: at paced load (one event per read) that was
// about half of the server's CPU per event. An idle connection still
// parks at once, and a busy one once it has been quiet for parkLinger.
const parkLinger = time.Second

// lingers reports whether the connection may wait for bytes before
// parking: a framed connection or a Lingering transport (the chat's own
// WebSocket reads do not survive a deadline) whose heartbeat is well above
// parkLinger.
func (c *conn) lingers() bool {
	_, framed := c.t.(*framedTransport)
	if l, ok := c.t.(Lingering); ok {
		framed = l.ReadDeadlineRecoverable()
	}
	o := &c.srv.opts
	return framed && o.PingInterval+o.PingTimeout > 4*parkLinger
}

// lingerEnded reports whether err ends a busy reader's wait (nothing read
// for parkLinger) rather than the connection; it then puts the heartbeat's
// read deadline back, and the reader parks.
func (c *conn) lingerEnded(err error) bool {
	if !c.linger || !errors.Is(err, os.ErrDeadlineExceeded) {
		return false
	}
	c.linger = false
	c.mu.Lock()
	closing := c.closed || c.closing // the deadline may be closeWrite's
	c.mu.Unlock()
	o := &c.srv.opts
	left := time.Duration(c.lastDeadline-monoNow()) + o.PingInterval + o.PingTimeout
	if closing || left <= 0 {
		return false
	}
	c.t.SetReadDeadline(time.Now().Add(left))
	return true
}

// resumeRead reads a woken connection until it parks again or ends.
func (c *conn) resumeRead() {
	defer c.srv.wg.Done() // park's
	c.restoreDeadline()
	if monoNow()-c.lastDeadline < int64(2*parkLinger) && c.lingers() {
		// Busy: wait in this goroutine before parking again. The next
		// read sets the linger deadline (refreshDeadline).
		c.linger = true
		c.lastDeadline = math.MinInt64 / 2
	}
	if err := c.loop(true); err != errParked {
		c.finish(err)
	}
}

// The server's own transports park.
var (
	_ Pollable = (*framedTransport)(nil)
	_ Pollable = (*wsTransport)(nil)
)
