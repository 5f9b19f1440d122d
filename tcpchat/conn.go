package tcpchat

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/wiredojo/wiredojo/framing"
	"github.com/wiredojo/wiredojo/internal/netpoll"
	"github.com/wiredojo/wiredojo/tcpchat/wire"
)

// conn is one client connection on the server. One goroutine at a time
// owns its reads and dispatch; where the server's poller can watch the
// socket, that goroutine ends while nothing is to be read (park.go), and a
// writer goroutine exists only while packets are queued, so an idle
// connection holds no goroutine and no buffers.
type conn struct {
	srv      *Server
	t        Transport
	session  string
	clientID string
	dur      *durableConn // durable delivery state (durable.go): set by durableRegister, or by durState at a first durable emit; nil on most connections

	mu        sync.Mutex
	q         *msgQueue     // guarded by mu; nil while nothing is queued
	writing   bool          // guarded by mu; a writer goroutine is running
	closing   bool          // guarded by mu; a final packet is queued, close after it
	closed    bool          // guarded by mu; no more sends
	qbytes    uint32        // guarded by mu; Message.size of the packets in q and in the batch being written from it (Options.SendQueueBytes); in closed's padding
	reason    error         // guarded by mu; why the connection ended
	drained   chan struct{} // guarded by mu; created once, with the final packet; closed by closeDrained
	drainOnce sync.Once     // closes drained
	rooms     atomic.Int32  // its sockets' room memberships over all namespaces (Options.MaxRoomsPerConn): counted where they are added and removed (Socket.addRooms, Socket.Leave, Socket.delAll); in drainOnce's padding
	room      chan struct{} // guarded by mu; closed when a full queue drains or the connection closes
	parked    bool          // guarded by mu; writing is set but the writer waits for a read batch to end (deferKick)
	pending   bool          // guarded by mu; the transport keeps bytes of a direct write for the writer (flushDirectLocked)

	// The read batch: while the reading goroutine handles packets that one
	// read brought in, recipients of its broadcasts whose writer is not
	// running are parked in kicks, and their writers start when the batch
	// ends, each with every packet the batch queued for it.
	bmu      sync.Mutex
	batching bool        // guarded by bmu
	due      atomic.Bool // a parked recipient's queue reached parkLimit in this batch: flush after the packet (flushDue)
	kicks    []*conn     // guarded by bmu

	// handling is the monoNow() of the read whose packet the reading
	// goroutine is handling, 0 between packets: the clock reading that
	// broadcasts made meanwhile stamp their replay-log entries with
	// (BroadcastOperator.send), instead of reading the clock each.
	handling atomic.Int64
	// free marks the packet being handled as flow-controlled (a durable
	// emit, the acknowledgement of a queued event sent): handle gives back
	// the rate limit tokens it took (durable.go, "Packet limits").
	free atomic.Bool
	// pstate is readRunning, readParking, readParked or readWoken
	// (park.go); beside free, which it pads.
	pstate atomic.Int32

	// Owned by the reading goroutine. The decoded packet and the event
	// handed to handlers are borrowed from a pool per packet, so an idle
	// connection does not hold them.
	sockets      []*Socket
	addr         *addrState // its remote address's shared packet rate (limits.go); nil without EventRatePerAddr
	left         *[4]string // the namespaces left last (unjoined); nil until one is left
	leftNext     uint8
	pollLater    bool // a Pollable transport without a connection yet: startPolling again (park.go)
	linger       bool // a busy parking reader waits for bytes in its goroutine for up to parkLinger first (park.go)
	durable      bool // set before the welcome: a store and a client id (durable.go); beside the flags above, so that a conn is 288 bytes (296 took the 320-byte size class)
	resumed      bool // set before the welcome: the handshake's session was recovered (recovery.go)
	bucket       bucket
	lastDeadline int64
	pd           *netpoll.Desc // nil: reads block in a goroutine (park.go)
	parkDue      atomic.Int64  // monoNow() past which a parked reader is woken for its heartbeat deadline (Server.wakeOverdue)
}

// scratch is the per-packet state of a reading goroutine.
type scratch struct {
	view wire.View
	ev   Event
	name string // the last event name that no named handler matched (matched.name)
	// missNS is the namespace handler table that had no handler of name
	// when its set count was missSets: while that holds, an event of that name needs no lookup (a relay's
	// events have no named handler; the lookup was about 3% of the
	// server's instructions per event at one subscriber).
	missNS   *handlerTable[Event]
	missSets uint64
	rooms    []string // Event.SenderRooms's buffer
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// remoteAddr names the peer for logs.
func (c *conn) remoteAddr() string {
	if ra := c.t.RemoteAddr(); ra != nil {
		return ra.String()
	}
	return "?"
}

// sendFlags say how a packet is queued.
type sendFlags uint8

const (
	// sendVolatile drops the packet when others are queued already.
	sendVolatile sendFlags = 1 << iota
	// sendFinal queues the last packet: the writer closes the connection
	// after it.
	sendFinal
	// sendForce queues the packet even when the queue is full: small
	// control packets (pings) that must not wait or cut.
	sendForce
)

// offerResult is what offer did with a packet.
type offerResult uint8

const (
	offerQueued  offerResult = iota // queued
	offerDropped                    // the connection is closing, or a volatile packet met a busy queue
	offerFull                       // the queue is full: nothing was queued
)

// offer queues m without waiting and starts the writer when needed.
func (c *conn) offer(m *Message, f sendFlags) offerResult {
	c.mu.Lock()
	if c.closed || c.closing {
		c.mu.Unlock()
		return offerDropped
	}
	if c.q == nil {
		c.q = getQueue()
	}
	if f&sendVolatile != 0 && len(c.q.s) > 0 {
		c.mu.Unlock()
		c.srv.metrics.volatileDrops.Add(1)
		return offerDropped
	}
	size := m.size()
	if f&(sendFinal|sendForce) == 0 && (len(c.q.s) >= c.srv.opts.SendQueue ||
		c.qbytes != 0 && int(c.qbytes)+int(size) > c.srv.opts.SendQueueBytes && c.srv.opts.SendQueueBytes > 0) {
		c.mu.Unlock()
		return offerFull
	}
	m.retain()
	c.q.s = append(c.q.s, m)
	c.qbytes += size
	if f&sendFinal != 0 {
		c.closing = true
		c.drained = make(chan struct{})
	}
	switch {
	case !c.writing:
		c.writing = true
		if m.batch != nil && len(c.q.s) < c.parkLimit() && m.batch.deferKick(c) {
			c.parked = true
			break
		}
		c.startWriterLocked()
	case c.parked && (f&sendFinal != 0 || m.batch == nil):
		// Do not hold back a packet that is no broadcast of the batch
		// (an emit whose ack its handler may be waiting for).
		c.startWriterLocked()
	case c.parked && len(c.q.s) >= c.parkLimit():
		// Do not let a parked queue fill up: the batch's reader writes it
		// once the packet it handles is done (flushDue), or, outside a
		// batch, the writer goroutine starts now. A writer started here
		// would drain the queue in small writes while the reader kept
		// filling it, cache lines and c.mu going back and forth between
		// the two.
		if !m.batch.flushSoon(c) {
			c.startWriterLocked()
		}
	}
	c.mu.Unlock()
	return offerQueued
}

// parkLimit is how many packets may wait for a parked writer: a quarter of
// the send queue, at most 256, so a parked queue never fills.
func (c *conn) parkLimit() int { return min(c.srv.opts.SendQueue/4, 256) }

// startWriterLocked starts the writer goroutine; c.mu is held and
// c.writing is set.
func (c *conn) startWriterLocked() {
	c.parked = false
	c.srv.wg.Add(1)
	go c.writeLoop()
}

// deferKick parks the writer of r until c's read batch ends; it reports
// false when c is not in a read batch (start the writer now). Lock order:
// r.mu, then c.bmu.
func (c *conn) deferKick(r *conn) bool {
	c.bmu.Lock()
	defer c.bmu.Unlock()
	if !c.batching {
		return false
	}
	c.kicks = append(c.kicks, r)
	return true
}

// flushSoon asks c's reader to write its batch's parked recipients, r
// among them, once the packet it handles is done (flushDue); it reports
// false when c is not in a read batch. r, whose parked queue reached
// parkLimit, may be parked in another reader's batch (that reader's
// broadcast found its writer idle first): it joins c's kicks then, or
// nothing would write it before that other batch ends, however long c's
// batch fills its queue. Whichever reader comes to r first writes it
// (flushParked skips a recipient no longer parked). Lock order: r.mu,
// then c.bmu.
func (c *conn) flushSoon(r *conn) bool {
	c.bmu.Lock()
	defer c.bmu.Unlock()
	if !c.batching {
		return false
	}
	if !slices.Contains(c.kicks, r) {
		c.kicks = append(c.kicks, r)
	}
	c.due.Store(true)
	return true
}

// flushDue writes the parked recipients of the read batch when one of their
// queues reached parkLimit (flushSoon), and the batch goes on. At low
// fan-out (up to directKicks recipients) the reader writes them itself, as
// at the batch's end, so that one recipient of a long read batch gets a
// few large writes, all from the reader; at higher fan-out their writer
// goroutines start, which then write in parallel with the reader.
func (c *conn) flushDue() {
	if !c.due.Load() {
		return
	}
	c.bmu.Lock()
	n := len(c.kicks)
	c.bmu.Unlock()
	if n <= directKicks {
		c.flushParked(directKicks)
	} else {
		c.flushParked(0)
	}
}

// beginBatch marks the packets that follow, until endBatch, as one read
// batch.
func (c *conn) beginBatch() {
	c.bmu.Lock()
	c.batching = true
	c.bmu.Unlock()
}

// endBatch ends the read batch and sends what it queued for the writers
// parked during it.
func (c *conn) endBatch() {
	c.bmu.Lock()
	c.batching = false
	c.bmu.Unlock()
	c.flushParked(directKicks)
}

// kickParked starts the writers parked so far in c's read batch.
func (c *conn) kickParked() { c.flushParked(0) }

// directKicks is how many of the recipients parked in a read batch its
// reader writes to itself when the batch ends (flushDirectLocked), as
// NATS's reader flushes its subscribers: at low fan-out that saves a
// goroutine start per batch and recipient, and its scheduling delay; the
// other recipients get their writer goroutines first, which then write in
// parallel with the reader. The writes do not wait (TryWritePackets), so
// a slow recipient costs the reader nothing but its try. 16 rather than
// 4: at 10 subscribers paced at 10,000 deliveries/s the server's CPU per
// delivery fell from 20-23 to 15-17 µs. 128 rather than 16, so that 100
// subscribers are all written by the reader too (chatbench proc against
// nats-server, paced at 10,000 deliveries/s, N=100, six pairs alternating
// over two days, load 2-4): p99 as a share of NATS's in the same run 0.42-0.82
// against 0.70-0.86 (lower in five pairs of six), server CPU per delivery
// 0.46-0.53 of NATS's against 0.71-0.73 (three pairs); unpaced
// deliveries/s at N=100 the same within the load's spread (1.5-2.9M
// against 1.4-3.4M, 2-5x NATS's in every run either way).
const directKicks = 128

// flushParked starts the writers parked so far in c's read batch, but
// writes to the first direct of them from the calling goroutine.
func (c *conn) flushParked(direct int) {
	c.bmu.Lock()
	kicks := c.kicks
	c.kicks = nil
	c.due.Store(false)
	c.bmu.Unlock()
	direct = min(direct, len(kicks))
	for i, r := range kicks[direct:] {
		r.mu.Lock()
		if r.parked {
			r.startWriterLocked()
		}
		r.mu.Unlock()
		kicks[direct+i] = nil
	}
	for i, r := range kicks[:direct] {
		r.mu.Lock()
		if r.parked {
			r.flushDirectLocked()
		}
		r.mu.Unlock()
		kicks[i] = nil
	}
	c.bmu.Lock()
	if c.kicks == nil && cap(kicks) <= 1024 {
		c.kicks = kicks[:0] // reuse the slice
	}
	c.bmu.Unlock()
}

// enqueue queues m, waiting up to Options.SlowConsumerWait for room in a
// full queue; it reports whether m was queued. The caller must not hold
// c.mu (the writer needs it to drain the queue). A lock that other senders
// need stays held for the wait, so it is fine only where the wait is rare
// and its holder is this connection alone: the durable pump sends under
// c.dur.mu, and its in-flight window (maxInflight, 256) is a quarter of
// the default queue.
// Adapters, whose locks serve every connection, use offer and waitRoom
// after unlocking instead (Socket.trySend, Socket.sendWait).
func (c *conn) enqueue(m *Message, volatile bool) bool {
	var f sendFlags
	if volatile {
		f = sendVolatile
	}
	switch c.offer(m, f) {
	case offerQueued:
		return true
	case offerFull:
		return c.waitRoom(m, time.Now().Add(c.srv.opts.SlowConsumerWait))
	}
	return false
}

// waitRoom queues m once the full queue has room, or cuts the connection
// as a slow consumer when deadline passes first.
func (c *conn) waitRoom(m *Message, deadline time.Time) bool {
	if m.batch != nil {
		m.batch.kickParked() // the other recipients need not wait with us
	}
	if wait := time.Until(deadline); wait > 0 {
		c.srv.metrics.sendWaits.Add(1)
		t := time.NewTimer(wait)
		defer t.Stop()
		for {
			// Arm the signal before offering again, so that a drain
			// between the two is not missed.
			c.mu.Lock()
			if c.room == nil {
				c.room = make(chan struct{})
			}
			room := c.room
			c.mu.Unlock()
			switch c.offer(m, 0) {
			case offerQueued:
				return true
			case offerDropped:
				return false
			}
			select {
			case <-room:
				continue
			case <-t.C:
			}
			break // the deadline passed
		}
	}
	c.srv.metrics.slowCuts.Add(1)
	c.srv.logf("tcpchat: %s (session %s): %v: its queue stayed full (%s) for %v", c.remoteAddr(), c.session, ErrSlowConsumer, c.queueBound(m), max(c.srv.opts.SlowConsumerWait, 0))
	c.cut(ErrSlowConsumer)
	return false
}

// queueBound names the bound that kept m out of c's queue, for the log
// line of a slow-consumer cut: the packets (Options.SendQueue) or the bytes
// (Options.SendQueueBytes).
func (c *conn) queueBound(m *Message) string {
	c.mu.Lock()
	n, b := len(c.qPackets()), int(c.qbytes)
	c.mu.Unlock()
	if lim := c.srv.opts.SendQueueBytes; n < c.srv.opts.SendQueue && lim > 0 && b+int(m.size()) > lim {
		return fmt.Sprintf("%d of its %d bytes held, a packet of %d bytes", b, lim, m.size())
	}
	return fmt.Sprintf("%d packets", c.srv.opts.SendQueue)
}

// qPackets is c's queue; c.mu is held.
func (c *conn) qPackets() []*Message {
	if c.q == nil {
		return nil
	}
	return c.q.s
}

// wakeLocked wakes the senders waiting for room; c.mu is held.
func (c *conn) wakeLocked() {
	if c.room != nil {
		close(c.room)
		c.room = nil
	}
}

// flushDirectLocked writes c's parked queue from the calling goroutine
// (the reader of a batch that queued to it) in place of the writer
// goroutine, without waiting for the socket. Whatever the socket does not
// take right away, and whatever was queued meanwhile, goes to the writer
// goroutine, started as before; so does a closing connection. c.mu is held
// and c is parked; c.mu is held again on return.
func (c *conn) flushDirectLocked() {
	dw, ok := c.t.(DirectWriter)
	if !ok || c.closed || c.closing || c.q == nil || len(c.q.s) == 0 || !dw.CanWriteDirect() {
		c.startWriterLocked()
		return
	}
	q := c.q
	c.q = nil
	taken := c.qbytes // all of it: no writer holds a batch while c is parked
	c.parked = false
	c.wakeLocked()
	c.mu.Unlock()

	pp := payloadPool.Get().(*[][]byte)
	batch := (*pp)[:0]
	se, _ := c.t.(SharedEncoder)
	for _, m := range q.s {
		batch = append(batch, m.sharedFor(se))
	}
	rest, err := dw.TryWritePackets(batch)
	clear(batch)
	*pp = batch[:0]
	payloadPool.Put(pp)
	n := len(q.s)
	for _, m := range q.s {
		m.Release()
	}
	clear(q.s)
	q.s = q.s[:0]
	putQueue(q)
	if err != nil {
		c.cut(c.writeFailed(err))
	} else {
		c.srv.metrics.packetsOut.Add(int64(n))
		c.srv.metrics.writes.Add(1)
	}

	c.mu.Lock()
	c.qbytes -= taken
	// A sender refused at the byte bound while this batch was being
	// written waits for room: the bytes given back are room, even when no
	// writer starts below to wake it.
	c.wakeLocked()
	c.pending = rest
	if rest || c.closed || c.closing || (c.q != nil && len(c.q.s) > 0) {
		c.startWriterLocked() // it writes the rest and the queue, or ends the connection's sending
		return
	}
	if c.q != nil {
		putQueue(c.q)
		c.q = nil
	}
	c.writing = false
}

// payloadPool holds the [][]byte batches of writers.
var payloadPool = sync.Pool{New: func() any { s := make([][]byte, 0, 16); return &s }}

// writeLoop writes queued packets in batches and ends when the queue is
// empty.
func (c *conn) writeLoop() {
	defer c.srv.wg.Done()
	local := getQueue()
	se, _ := c.t.(SharedEncoder)
	pp := payloadPool.Get().(*[][]byte)
	var inflight uint32 // c.qbytes of the batch in local, counted until it is written
	defer func() {
		clear(*pp)
		*pp = (*pp)[:0]
		payloadPool.Put(pp)
		putQueue(local)
	}()
	for {
		c.mu.Lock()
		c.qbytes -= inflight
		inflight = 0
		if c.closed || (!c.pending && (c.q == nil || len(c.q.s) == 0)) {
			c.pending = false
			if c.q != nil {
				for _, m := range c.q.s {
					m.Release()
				}
				putQueue(c.q)
				c.q = nil
			}
			c.qbytes = 0
			c.writing = false
			final := c.closing && !c.closed
			if final {
				c.closed = true
			}
			c.wakeLocked()
			drained := c.drained
			c.mu.Unlock()
			if final {
				c.closeWrite()
			}
			if drained != nil && (final || c.isClosed()) {
				c.closeDrained(drained)
			}
			return
		}
		c.pending = false // the transport's WritePackets writes it first
		if c.q != nil {
			c.q, local = local, c.q
			inflight = c.qbytes
		}
		c.wakeLocked()
		c.mu.Unlock()

		batch := (*pp)[:0]
		for _, m := range local.s {
			batch = append(batch, m.sharedFor(se))
		}
		c.t.SetWriteDeadline(time.Now().Add(c.srv.opts.WriteTimeout))
		err := c.t.WritePackets(batch)
		clear(batch)
		*pp = batch[:0]
		n := len(local.s)
		for _, m := range local.s {
			m.Release()
		}
		clear(local.s)
		local.s = local.s[:0]
		if err != nil {
			c.cut(c.writeFailed(err))
			continue
		}
		c.srv.metrics.packetsOut.Add(int64(n))
		c.srv.metrics.writes.Add(1)
	}
}

// writeFailed returns the reason c is cut for err, the error of its
// transport's write. A write that timed out, and a transport whose own
// queue of c's packets overflowed (err wraps ErrSlowConsumer: a Socket.IO
// session that does not poll), are a slow consumer's: counted, and the
// overflow logged with the bound the transport's error names (the chat's
// own queue logs its cut in waitRoom).
func (c *conn) writeFailed(err error) error {
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		c.srv.metrics.slowCuts.Add(1)
		return fmt.Errorf("%w: a write took longer than %v", ErrSlowConsumer, c.srv.opts.WriteTimeout)
	case errors.Is(err, ErrSlowConsumer):
		c.srv.metrics.slowCuts.Add(1)
		c.srv.logf("tcpchat: %s (session %s): %v", c.remoteAddr(), c.session, err)
		return err
	}
	return fmt.Errorf("tcpchat: write: %w", err)
}

func (c *conn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// closeDrained closes drained, the channel of the connection's final
// packet, once: the writer and cut may both get there.
func (c *conn) closeDrained(drained chan struct{}) {
	c.drainOnce.Do(func() { close(drained) })
}

// lingerTime is how long a closing connection keeps reading (and
// discarding) after its final packet, so that the peer gets that packet
// instead of a reset.
const lingerTime = 500 * time.Millisecond

// closeWrite ends the sending side after the final packet: a half-close on
// TCP (the reader then stops within lingerTime), a close otherwise.
func (c *conn) closeWrite() {
	if cw, ok := c.t.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
		c.t.SetReadDeadline(time.Now().Add(lingerTime))
		c.wake() // a parked reader waits out the linger time in a goroutine
		return
	}
	c.t.Close()
	c.wake()
}

// cut closes the connection now, recording reason if none was recorded.
func (c *conn) cut(reason error) {
	c.mu.Lock()
	if c.reason == nil {
		c.reason = reason
	}
	c.closed = true
	drained := c.drained
	c.wakeLocked()
	c.mu.Unlock()
	c.t.Close()
	c.wake() // a parked reader sees the close
	if drained != nil {
		c.closeDrained(drained)
	}
}

// shutdown queues an error packet and closes the connection once it is
// written (or the write times out).
func (c *conn) shutdown(code uint16, reason string) {
	m := newMessage()
	p := wire.Packet{Type: wire.TypeError, Code: code, Reason: reason}
	m.buf = p.AppendTo(m.buf)
	c.mu.Lock()
	if c.reason == nil {
		c.reason = &ServerError{Code: code, Reason: reason}
	}
	c.mu.Unlock()
	ok := c.offer(m, sendFinal) == offerQueued
	m.Release()
	if !ok {
		c.cut(&ServerError{Code: code, Reason: reason})
	}
}

// fail answers a fault of the peer with an error packet and ends the read
// loop with err.
func (c *conn) fail(code uint16, err error) error {
	c.mu.Lock()
	if c.reason == nil {
		c.reason = err
	}
	c.mu.Unlock()
	c.shutdown(code, err.Error())
	return err
}

// send encodes p and queues it.
func (c *conn) send(p *wire.Packet) bool {
	m := newMessage()
	m.buf = p.AppendTo(m.buf)
	ok := c.enqueue(m, false)
	m.Release()
	return ok
}

func (c *conn) sendAck(ns string, id uint32, args []byte) error {
	if !c.send(&wire.Packet{Type: wire.TypeAck, Namespace: ns, AckID: id, Args: args}) {
		return ErrClosed
	}
	return nil
}

// serve runs the connection: handshake, then packets until it ends or
// parks (park.go). The functions on the stack of a connection waiting in a
// read (serve, loop, the read) are kept small, so that its stack shrinks
// to 4 KiB; the handshake, the dispatch and the cleanup run in their own
// frames. by is when the handshake must have come (the handshake
// timeout from the accept, sniff's); zero: the handshake timeout from now.
func (c *conn) serve(poll bool, by time.Time) {
	err := c.handshake(by)
	if err == nil {
		if poll {
			c.startPolling()
		}
		if err = c.loop(false); err == errParked {
			return
		}
	}
	c.finish(err)
}

// finish cleans up after the read loop ended with err.
//
//go:noinline
func (c *conn) finish(err error) {
	c.stopPolling()  // park.go
	c.saveSessions() // recovery.go
	for len(c.sockets) > 0 {
		c.leaveNamespace(c.sockets[len(c.sockets)-1], err)
	}
	c.mu.Lock()
	drained := c.drained
	if c.reason == nil {
		c.reason = err
	}
	reason := c.reason
	c.mu.Unlock()
	if drained != nil {
		t := time.NewTimer(c.srv.opts.WriteTimeout)
		select {
		case <-drained:
			// Read what the peer still sends until it closes or the
			// linger time ends, so the final packet is not reset away.
			c.t.SetReadDeadline(time.Now().Add(lingerTime))
			for {
				if _, err := c.t.ReadPacket(); err != nil {
					break
				}
			}
		case <-t.C:
		}
		t.Stop()
	}
	c.cut(reason)
	c.srv.durableUnregister(c)
	c.srv.untrack(c)
	if c.srv.opts.OnClose != nil {
		c.srv.opts.OnClose(CloseInfo{Remote: c.remoteAddr(), SessionID: c.session, Reason: reason})
	}
	if !errors.Is(reason, io.EOF) {
		c.srv.logf("tcpchat: %s (session %s) closed: %v", c.remoteAddr(), c.session, reason)
	}
}

// handshake reads the handshake and answers the welcome; the handshake
// packet must come by by (zero: the handshake timeout from now).
//
//go:noinline
func (c *conn) handshake(by time.Time) error {
	o := &c.srv.opts
	if by.IsZero() {
		by = time.Now().Add(o.HandshakeTimeout)
	}
	c.t.SetReadDeadline(by)
	p, err := c.t.ReadPacket()
	if err != nil {
		return c.readError(err, true)
	}
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	v := &sc.view
	if err := wire.Parse(p, v); err != nil {
		return c.fail(wire.CodeBadPacket, err)
	}
	switch {
	case v.Type != wire.TypeHandshake:
		return c.fail(wire.CodeHandshake, fmt.Errorf("%w: the first packet must be a handshake, got %s", ErrHandshake, v.Type))
	case v.Version != wire.Version:
		return c.fail(wire.CodeHandshake, fmt.Errorf("%w: protocol version %d is not supported; this server speaks version %d", ErrHandshake, v.Version, wire.Version))
	case o.Token != "" && subtle.ConstantTimeCompare(v.Token, []byte(o.Token)) != 1:
		return c.fail(wire.CodeUnauthorized, fmt.Errorf("%w: token refused", ErrHandshake))
	}
	c.session = newID()
	c.clientID = string(v.ClientID)
	if !c.resume(string(v.SessionID), c.clientID) && c.clientID == "" { // recovery.go
		c.clientID = c.session
	}
	var resumeToken string
	if o.Store != nil && c.clientID != c.session {
		tok, code, err := c.srv.durableRegister(c, string(v.ResumeToken)) // durable.go
		if err != nil {
			return c.fail(code, err)
		}
		resumeToken = tok
	}
	c.send(&wire.Packet{Type: wire.TypeWelcome, Version: wire.Version, ClientID: c.clientID, SessionID: c.session, Resumed: c.resumed,
		PingInterval: uint32(o.PingInterval / time.Millisecond), PingTimeout: uint32(o.PingTimeout / time.Millisecond),
		MaxFrame: uint32(o.MaxFrame), ResumeToken: resumeToken})
	c.srv.ready(c)
	if o.EventRatePerAddr > 0 {
		c.addr = c.srv.lim.state(c.t.RemoteAddr())
	}
	c.lastDeadline = math.MinInt64 / 2 // the first read sets the idle deadline
	c.srv.logf("tcpchat: %s: session %s (client %s) connected", c.remoteAddr(), c.session, c.clientID)
	return nil
}

// loop reads packets until the connection fails or parks (errParked);
// resumed is true when the poller woke it: it reads at once, keeping the
// deadline (a wake by the heartbeat timer must find it passed). Without a
// poller it is what an idle connection's goroutine waits in.
func (c *conn) loop(resumed bool) error {
	now := monoNow()
	bt, _ := c.t.(bufferedTransport)
	vr, _ := c.t.(viewReader)
	batching := false
	var sc *scratch  // a read batch's packets share one
	var pv wire.View // a viewReader's packet, copied into sc: sc is taken once a read returned, so an idle connection holds none
	waits := c.srv.metrics.sendWaits.Load()
	batched := 0 // packets of the batch since the clock was read
	for {
		if resumed {
			resumed = false
		} else {
			c.refreshDeadline(now)
			if !batching && c.pollLater {
				c.startPolling()
			}
			if !batching && c.pd != nil && c.park() {
				return errParked
			}
		}
		var p []byte
		var err error
		parsed := false
		if vr != nil {
			p, err = vr.ReadView(&pv)
			parsed = err == nil && p == nil
		} else {
			p, err = c.t.ReadPacket()
		}
		if err != nil {
			if batching {
				c.endBatch()
				batching = false
				scratchPool.Put(sc)
				sc = nil
			}
			if c.lingerEnded(err) {
				continue // park now
			}
			return c.readError(err, false)
		}
		if batched++; !batching || batched == clockEvery {
			// One clock read per read of the connection, for the deadline
			// and the rate limit: the packets of one read share it. A
			// batch goes on through the reads that bring the rest of a
			// message cut at the buffer's end, so a steady stream is one
			// batch: the clock is read again every clockEvery packets,
			// or the read deadline would stay where the batch's first
			// read put it and pass (the linger's is a second away).
			now, batched = monoNow(), 0
		}
		// Every read is a batch: the broadcasts of its packets go out
		// together when the last of them is handled, the first few
		// recipients' written by this goroutine (endBatch).
		more := bt != nil && bt.Buffered() > 0
		if !batching {
			batching = true
			c.beginBatch()
			sc = scratchPool.Get().(*scratch)
		}
		if parsed {
			sc.view = pv
		}
		err = c.handle(p, parsed, now, sc)
		if w := c.srv.metrics.sendWaits.Load(); w != waits {
			// A send waited for room in a full queue (up to
			// SlowConsumerWait, here or on another connection): read the
			// clock again, so that the deadline moves before the next
			// read.
			now, waits, batched = monoNow(), w, 0
		}
		if batching && (!more || err != nil) {
			batching = false
			c.endBatch()
			scratchPool.Put(sc)
			sc = nil
		} else if batching {
			c.flushDue()
		}
		if err != nil {
			return err
		}
	}
}

// clockEpoch anchors monoNow.
var clockEpoch = time.Now()

// monoNow reads the monotonic clock only (no wall time), in nanoseconds.
func monoNow() int64 { return int64(time.Since(clockEpoch)) }

// clockEvery is how many packets of one read batch share a reading of the
// clock (conn.loop): a read of 8 KiB holds about 50 events of 150 bytes,
// and 256 packets take well under a millisecond of CPU.
const clockEvery = 256

// refreshDeadline moves the heartbeat read deadline, at most every quarter
// of the idle time; now is monoNow().
//
//go:noinline
func (c *conn) refreshDeadline(now int64) {
	o := &c.srv.opts
	idle := o.PingInterval + o.PingTimeout
	if c.linger {
		idle = parkLinger // park.go: the wait before parking, shorter than the heartbeat's
	}
	if now-c.lastDeadline > min(int64(time.Second), int64(idle/4)) {
		c.lastDeadline = now
		c.t.SetReadDeadline(time.Now().Add(idle))
	}
}

// handle applies the rate limit, parses one packet into sc (unless parsed:
// a viewReader's, already in sc.view) and dispatches it; now is monoNow().
// The packets of one read batch share sc (a pool's get and put per packet
// were about 3% of the server's instructions per event at one subscriber).
//
//go:noinline
func (c *conn) handle(p []byte, parsed bool, now int64, sc *scratch) error {
	o := &c.srv.opts
	if !c.bucket.allow(now, o.RateLimit, o.RateBurst) {
		c.srv.metrics.rateCuts.Add(1)
		return c.fail(wire.CodeRateLimited, fmt.Errorf("%w: more than %.0f packets/s (burst %d)", ErrRateLimited, o.RateLimit, o.RateBurst))
	}
	if c.addr != nil && !c.srv.lim.waitEvent(c, now) {
		return ErrServerClosed
	}
	c.handling.Store(now)
	defer func() {
		c.handling.Store(0)
		if c.free.Load() {
			c.free.Store(false)
			c.refund()
		}
	}()
	if !parsed {
		if err := wire.Parse(p, &sc.view); err != nil {
			c.srv.metrics.badPackets.Add(1)
			return c.fail(wire.CodeBadPacket, err)
		}
	}
	// The wire decoder checks the arguments' shape only; what a client
	// sends is relayed to others, so the server validates it fully: JSON
	// that is UTF-8 text, which browsers need (they drop an event that is
	// not), in one pass (wire.ValidJSONText); the failure path tells which.
	if t := sc.view.Type; t == wire.TypeEvent || t == wire.TypeAck {
		a := sc.view.Args
		text := len(a) == 0 || wire.ValidJSONText(a)
		if !text && !wire.ValidJSON(a) {
			c.srv.metrics.badPackets.Add(1)
			return c.fail(wire.CodeBadPacket, fmt.Errorf("tcpchat: %s %q: arguments are not valid JSON", t, sc.view.Event))
		}
		if !text || !validName(sc.view.Event) {
			c.srv.metrics.badPackets.Add(1)
			return c.fail(wire.CodeBadPacket, fmt.Errorf("tcpchat: %s %q: invalid UTF-8 in its name or arguments", t, sc.view.Event))
		}
	}
	return c.dispatch(sc)
}

// readError maps a read failure to the recorded reason, answering what
// the peer can still be told.
//
//go:noinline
func (c *conn) readError(err error, handshake bool) error {
	var tl *framing.TooLargeError
	switch {
	case errors.As(err, &tl):
		c.srv.metrics.badPackets.Add(1)
		return c.fail(wire.CodeFrameTooLarge, fmt.Errorf("tcpchat: %w", err))
	case errors.Is(err, ErrBadPacket):
		c.srv.metrics.badPackets.Add(1)
		return fmt.Errorf("tcpchat: read: %w", err)
	case errors.Is(err, os.ErrDeadlineExceeded) && handshake:
		c.srv.metrics.hsTimeouts.Add(1)
		return c.fail(wire.CodeHandshake, fmt.Errorf("%w: no handshake within %v", ErrHandshake, c.srv.opts.HandshakeTimeout))
	case errors.Is(err, os.ErrDeadlineExceeded):
		c.srv.metrics.heartbeatCuts.Add(1)
		return c.fail(wire.CodeHeartbeat, fmt.Errorf("%w: nothing received for %v", ErrHeartbeat, c.srv.opts.PingInterval+c.srv.opts.PingTimeout))
	case errors.Is(err, io.EOF):
		return io.EOF
	case errors.Is(err, net.ErrClosed):
		return err
	}
	return fmt.Errorf("tcpchat: read: %w", err)
}

// socketOf returns the connection's socket in namespace ns, dropping one
// that Socket.Disconnect removed.
func (c *conn) socketOf(ns []byte) *Socket {
	for i, s := range c.sockets {
		if s.ns.name == string(ns) {
			if s.gone.Load() {
				c.sockets = append(c.sockets[:i], c.sockets[i+1:]...)
				c.noteLeft(s.ns.name)
				return nil
			}
			return s
		}
	}
	return nil
}

func (c *conn) dispatch(sc *scratch) error {
	v := &sc.view
	switch v.Type {
	case wire.TypePong:
		return nil
	case wire.TypeEvent:
		c.srv.metrics.eventsIn.Add(1)
		s := c.socketOf(v.Namespace)
		if s == nil {
			return c.unjoined(v)
		}
		c.handleEvent(s, sc)
		return nil
	case wire.TypeAck:
		if s := c.socketOf(v.Namespace); s != nil {
			s.gotAck(v.AckID, v.Args)
		}
		return nil
	case wire.TypeConnect:
		c.connectNamespace(string(v.Namespace), v.Args)
		return nil
	case wire.TypeDisconnect:
		if s := c.socketOf(v.Namespace); s != nil {
			c.leaveNamespace(s, fmt.Errorf("tcpchat: client namespace disconnect: %s", v.Reason))
		}
		return nil
	case wire.TypeError:
		return &ServerError{Code: v.Code, Reason: string(v.Reason)}
	case wire.TypeGetAll:
		c.getAll(v.Offset) // durable.go
		return nil
	case wire.TypeReceived:
		c.received(v.MessageID)
		return nil
	}
	return c.fail(wire.CodeProtocol, fmt.Errorf("tcpchat: a client may not send a %s packet here", v.Type))
}

// unjoined answers an event in a namespace the connection is not in: a
// protocol error (code 9), unless it left that namespace lately (the event
// may have crossed the disconnect), which is ignored.
//
//go:noinline
func (c *conn) unjoined(v *wire.View) error {
	if c.left != nil && slices.Contains(c.left[:], string(v.Namespace)) {
		c.srv.logf("tcpchat: %s: event %q for namespace %q it has left: ignored", c.remoteAddr(), v.Event, v.Namespace)
		return nil
	}
	c.srv.metrics.badPackets.Add(1)
	return c.fail(wire.CodeProtocol, fmt.Errorf("tcpchat: event %q in namespace %q, which this connection has not joined", v.Event, v.Namespace))
}

// handleEvent runs the handlers of an event: the socket's own handler of
// that name or else the namespace's, then the socket's catch-all handlers,
// then the namespace's.
func (c *conn) handleEvent(s *Socket, sc *scratch) {
	v, e := &sc.view, &sc.ev
	ns := s.ns
	var m matched[Event]
	s.mu.Lock()
	if s.own != nil {
		s.own.handlers.match(v.Event, &m)
	}
	s.mu.Unlock()
	t := &ns.handlers
	ns.mu.RLock()
	if sc.missNS == t && sc.missSets == t.sets && sc.name == string(v.Event) {
		t.matchAny(&m)
	} else {
		t.match(v.Event, &m)
	}
	sets := t.sets
	ns.mu.RUnlock()
	if m.none() {
		return
	}
	*e = Event{Namespace: ns.name, Name: m.name(v.Event, &sc.name), Args: v.Args, Socket: s, reply: replyTo(v, ns.name, c), rooms: &sc.rooms}
	if m.h == nil {
		sc.missNS, sc.missSets = t, sets // sc.name (set by m.name) has no handler in t
	}
	m.run(e)
}

func (c *conn) connectNamespace(name string, auth []byte) {
	refuse := func(reason string) {
		c.send(&wire.Packet{Type: wire.TypeConnectError, Namespace: name, Reason: reason})
	}
	if c.socketOf([]byte(name)) != nil {
		refuse("already connected to this namespace")
		return
	}
	if limit := c.srv.opts.MaxNamespacesPerConn; limit >= 0 && c.liveSockets() >= limit {
		c.srv.metrics.connNSRefused.Add(1)
		refuse(fmt.Sprintf("too many namespaces on this connection: it is in %d, the most one connection may be in; leave one first", limit))
		return
	}
	ns, err := c.srv.namespace(name)
	if err != nil {
		refuse(err.Error())
		return
	}
	defer c.srv.unpin(ns)
	s := &Socket{id: newID(), ns: ns, c: c}
	if len(auth) > 0 {
		s.auth = append(json.RawMessage(nil), auth...)
	}
	ns.mu.RLock()
	mws := ns.middleware
	ns.mu.RUnlock()
	for _, mw := range mws {
		if err := mw(s, s.auth); err != nil {
			refuse(err.Error())
			return
		}
	}
	ns.sockets.Add(1)
	ns.adapter.Add(s)
	c.sockets = append(c.sockets, s)
	if c.durable {
		c.durableJoined(s)
	}
	c.send(&wire.Packet{Type: wire.TypeConnect, Namespace: name, SocketID: s.id})
	if c.resumed {
		c.recoverNamespace(s) // recovery.go
	}
	ns.mu.RLock()
	onConn := ns.onConnection
	ns.mu.RUnlock()
	for _, fn := range onConn {
		fn(s)
	}
}

// liveSockets drops the sockets that Socket.Disconnect removed from
// c.sockets and returns how many are left.
func (c *conn) liveSockets() int {
	c.sockets = slices.DeleteFunc(c.sockets, func(s *Socket) bool {
		if s.gone.Load() {
			c.noteLeft(s.ns.name)
			return true
		}
		return false
	})
	return len(c.sockets)
}

// noteLeft remembers a namespace the connection left, among the last few
// (unjoined).
func (c *conn) noteLeft(ns string) {
	if c.left == nil {
		c.left = new([4]string)
	}
	c.left[c.leftNext%uint8(len(c.left))] = ns
	c.leftNext++
}

// leaveNamespace removes s from the connection and cleans it up. Only the
// reading goroutine changes c.sockets; Socket.Disconnect from elsewhere
// only marks the socket gone.
func (c *conn) leaveNamespace(s *Socket, reason error) {
	for i, x := range c.sockets {
		if x == s {
			c.sockets = append(c.sockets[:i], c.sockets[i+1:]...)
			break
		}
	}
	c.noteLeft(s.ns.name)
	if c.durable {
		c.durableLeft(s.ns.name)
	}
	s.cleanup(reason)
}

// validName reports whether an event's name is UTF-8, looking at ASCII
// names (the usual) itself: a call of utf8.Valid costs more than the
// name.
func validName(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return utf8.Valid(b)
		}
	}
	return true
}
