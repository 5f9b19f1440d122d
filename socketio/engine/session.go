package engine

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/wiredojo/wiredojo/framing/ws"
	"github.com/wiredojo/wiredojo/socketio/engineio"
)

type transportKind uint8

const (
	transportPolling transportKind = iota
	transportWebSocket
)

// upgradeNoopWait is how long a poll that arrives during an upgrade waits
// for the upgrade to complete before it is answered with a noop.
const upgradeNoopWait = 100 * time.Millisecond

// wsCloseWait bounds the close packet and close frame sent to a WebSocket
// when the server ends a session.
const wsCloseWait = 100 * time.Millisecond

// Session is one Engine.IO session. Read and Next are for one goroutine
// (the handler's); Send, Close, SetReadDeadline and the accessors are safe
// from any goroutine.
//
// A WebSocket session has no goroutine of its own: the handler's Read or
// Next reads the WebSocket, so a handler keeps reading for as long as the
// session lasts (the client's pongs arrive that way too). A polling session
// is fed by its POST requests through a bounded inbox.
type Session struct {
	srv    *Server
	id     string
	remote string
	header http.Header
	query  url.Values

	done   chan struct{} // closed when the session ends; a polling session has it from the start, a WebSocket session from the first Done (under mu)
	polled *pollState    // a polling session's (nil on a WebSocket session from the start)

	// The reader's (Read, Next, Buffered, NetConn, ReleaseRead), and the
	// handler's goroutine's (detached, below).
	rbufp *[]byte  // pooled, the last WebSocket message read; nil after ReleaseRead
	rws   *ws.Conn // the WebSocket it reads, once it reads one

	mu        sync.Mutex
	err       error             // why the session ended; guarded by mu
	queue     []engineio.Packet // waiting to be sent; guarded by mu
	qbytes    int               // the Data bytes of the packets Send put in queue (Options.SendQueueBytes); guarded by mu
	ws        *ws.Conn          // the WebSocket once upgraded (or from the start); guarded by mu
	deadline  int64             // the reader's deadline (Unix ns, 0: none); guarded by mu
	pingTimer *time.Timer       // the next ping, or the ping timeout; guarded by mu
	onEnd     func()            // called when the session ends (OnEnd); guarded by mu
	admitted  func()            // ends a polling session's count (Options.AdmitPolling); guarded by mu
	// The flags, together (a smaller session).
	detached     bool          // the handler's return does not end the session; the handler's goroutine's (Detach)
	transport    transportKind // guarded by mu
	awaitingPong bool          // guarded by mu
	probing      bool          // a WebSocket is probing an upgrade; guarded by mu
	upgrading    bool          // the probe was answered: polls get a noop; guarded by mu
	polling      bool          // a GET is outstanding; guarded by mu
	posting      bool          // a POST is being read; guarded by mu
	linger       bool          // ended by the client's POST: the next poll gets a noop; guarded by mu
	closing      bool          // Close waits for the queue to drain; guarded by mu
	writing      bool          // the WebSocket writer runs; guarded by mu
}

// deadlineTime is the time of a deadline kept as Unix nanoseconds (0: the
// zero time, no deadline).
func deadlineTime(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

// pollState is what only a session that starts polling has, so that a
// WebSocket session is smaller.
type pollState struct {
	inbox    chan engineio.Packet // received messages and pongs, taken by Next
	wake     chan struct{}        // (capacity 1) wakes the pending poll
	upgraded chan struct{}        // closed when the WebSocket takes over
	timer    *time.Timer          // the reader's deadline (the reader's)
	probe    *ws.Conn             // the probing WebSocket; guarded by the session's mu
}

// newSession returns a session; c is its WebSocket when it starts on one,
// nil for a polling session.
func newSession(srv *Server, r *http.Request, id string, c *ws.Conn) *Session {
	s := &Session{
		srv:    srv,
		id:     id,
		remote: r.RemoteAddr,
	}
	if srv.opts.KeepRequest {
		s.header, s.query = r.Header.Clone(), r.URL.Query()
	}
	if c != nil {
		s.transport, s.ws = transportWebSocket, c
		return s
	}
	s.done = make(chan struct{}) // its requests wait on it
	s.polled = &pollState{
		inbox:    make(chan engineio.Packet, srv.opts.Inbox),
		wake:     make(chan struct{}, 1),
		upgraded: make(chan struct{}),
	}
	return s
}

// ID returns the session id (sid).
func (s *Session) ID() string { return s.id }

// RemoteAddr returns the address of the client of the request that opened
// the session.
func (s *Session) RemoteAddr() string { return s.remote }

// Header returns the headers of the request that opened the session, nil
// unless Options.KeepRequest is set.
func (s *Session) Header() http.Header { return s.header }

// Query returns the query parameters of the request that opened the
// session, nil unless Options.KeepRequest is set.
func (s *Session) Query() url.Values { return s.query }

// Transport returns "polling" or "websocket", the transport in use.
func (s *Session) Transport() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.transport == transportWebSocket {
		return "websocket"
	}
	return "polling"
}

// Done is closed when the session ends.
func (s *Session) Done() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done == nil { // made when first asked for on a WebSocket session
		s.done = make(chan struct{})
		if s.err != nil {
			close(s.done)
		}
	}
	return s.done
}

// Err returns why the session ended, nil while it is open.
func (s *Session) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Read returns the next message the client sent (Type Message; Binary for
// a binary one). Its Data belongs to the caller. After the session ends,
// Read returns the messages still received, then the reason it ended.
func (s *Session) Read() (engineio.Packet, error) {
	for {
		p, err := s.Next()
		if err != nil {
			return p, err
		}
		if p.Type != engineio.Message {
			continue
		}
		if s.rws != nil { // Next's data is borrowed from *s.rbufp
			p.Data = append([]byte(nil), p.Data...)
		}
		return p, nil
	}
}

// maxKeptReadBuffer bounds the WebSocket read buffer a session keeps
// between messages.
const maxKeptReadBuffer = 4 << 10

// Next is Read for a reader that watches the client's liveness itself: it
// returns the client's pongs too (Type Pong), and Data is valid only
// until the next call. A read deadline (SetReadDeadline) that passes
// makes it return an error that wraps os.ErrDeadlineExceeded; on a
// WebSocket that also ends the session when it passed inside a message
// (with nothing of the next message read the session goes on).
func (s *Session) Next() (engineio.Packet, error) {
	if s.rws == nil && s.polled != nil {
		if p, ok, err := s.nextPolled(); ok || err != nil {
			return p, err
		}
	}
	if s.rws == nil {
		s.mu.Lock()
		s.rws = s.ws
		if s.deadline != 0 {
			s.rws.SetReadDeadline(deadlineTime(s.deadline))
		}
		s.mu.Unlock()
	}
	return s.nextWebSocket()
}

// nextPolled waits for a message or pong from a POST; ok is false when the
// WebSocket took over (the inbox is empty).
func (s *Session) nextPolled() (p engineio.Packet, ok bool, err error) {
	for {
		select {
		case p := <-s.polled.inbox:
			return p, true, nil
		default:
		}
		s.mu.Lock()
		upgraded, deadline := s.transport == transportWebSocket, s.deadline
		s.mu.Unlock()
		if upgraded {
			return p, false, nil
		}
		var expired <-chan time.Time
		if deadline != 0 {
			d := time.Until(deadlineTime(deadline))
			if d <= 0 {
				return p, false, fmt.Errorf("%w: %w", ErrTransport, os.ErrDeadlineExceeded)
			}
			if s.polled.timer == nil {
				s.polled.timer = time.NewTimer(d)
			} else {
				s.polled.timer.Reset(d)
			}
			expired = s.polled.timer.C
		}
		select {
		case p := <-s.polled.inbox:
			return p, true, nil
		case <-s.done:
			select {
			case p := <-s.polled.inbox:
				return p, true, nil
			default:
			}
			return p, false, s.Err()
		case <-s.polled.upgraded:
		case <-expired:
		}
		if s.polled.timer != nil {
			s.polled.timer.Stop()
		}
	}
}

// nextWebSocket reads the WebSocket until a message or a pong.
func (s *Session) nextWebSocket() (engineio.Packet, error) {
	if s.rbufp == nil {
		s.rbufp = readBufPool.Get().(*[]byte)
	}
	if cap(*s.rbufp) > maxKeptReadBuffer {
		*s.rbufp = nil
	}
	c := s.rws
	for {
		op, msg, err := c.AppendMessage((*s.rbufp)[:0])
		if err != nil && errors.Is(err, ws.ErrReadIdle) { // err != nil: no call per message
			return engineio.Packet{}, fmt.Errorf("%w: %w", ErrTransport, os.ErrDeadlineExceeded)
		}
		if err != nil {
			s.closeWith(fmt.Errorf("%w: %w", ErrTransport, err))
			return engineio.Packet{}, s.Err()
		}
		*s.rbufp = msg
		p := engineio.DecodeBinary(msg)
		if op == ws.OpText {
			if p, err = engineio.DecodeText(msg); err != nil {
				s.closeWith(fmt.Errorf("%w: %v", ErrParse, err))
				return engineio.Packet{}, s.Err()
			}
		}
		if p.Type == engineio.Message {
			return p, nil
		}
		if err := s.receive(p, nil); err != nil {
			s.closeWith(err)
			return engineio.Packet{}, s.Err()
		}
		if p.Type == engineio.Pong {
			return p, nil
		}
		if err := s.Err(); err != nil { // the client's close
			return engineio.Packet{}, err
		}
	}
}

// readBufPool holds the WebSocket message buffers of sessions between
// their reads (ReleaseRead).
var readBufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1<<10); return &b }}

// Buffered reports the bytes of the WebSocket read but not yet returned
// by Next: while it is not zero the next Next needs no read of the
// socket. It is for the reader, between reads; a polling session has
// nothing buffered (its messages wait in memory: NetConn is nil).
func (s *Session) Buffered() int {
	if s.rws == nil {
		return 0
	}
	return s.rws.Buffered()
}

// NetConn returns the connection of the WebSocket the reader reads, nil
// while the session is polling (or the reader has not read the WebSocket
// yet). A reader that waits for it to become readable (with a poller)
// instead of blocking in Next lets an idle session hold no goroutine; it
// must call Next again when bytes arrive, and at its read deadline, as
// the client's pongs arrive that way. It is for the reader, between
// reads.
func (s *Session) NetConn() net.Conn {
	if s.rws == nil {
		return nil
	}
	return s.rws.NetConn()
}

// ReleaseRead gives the reader's message buffer back to a pool, for a
// reader that stops reading for a while (the next Next takes one again).
// Data returned by Next is invalid afterwards.
func (s *Session) ReleaseRead() {
	if s.rbufp == nil {
		return
	}
	if cap(*s.rbufp) > maxKeptReadBuffer {
		*s.rbufp = nil
	}
	*s.rbufp = (*s.rbufp)[:0]
	readBufPool.Put(s.rbufp)
	s.rbufp = nil
}

// OnEnd makes the session call f (once, in the goroutine that ends it)
// when it ends, at once if it has ended already: for a reader that waits
// for NetConn in a poller, which does not report a connection closed
// under it. A second OnEnd replaces the first's f.
func (s *Session) OnEnd(f func()) {
	s.mu.Lock()
	if s.err == nil {
		s.onEnd = f
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	f()
}

// Detach lets the handler return without ending the session: whoever
// reads it on (NetConn) ends it with Close. Only the handler calls it.
func (s *Session) Detach() { s.detached = true }

// SetReadDeadline bounds Read and Next (the zero time removes the bound).
func (s *Session) SetReadDeadline(t time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deadline = 0
	if !t.IsZero() {
		s.deadline = t.UnixNano()
	}
	if s.transport == transportWebSocket && s.ws != nil {
		return s.ws.SetReadDeadline(t)
	}
	return nil
}

// Send queues packets for the client (usually Message packets) and
// returns at once. The packets' Data must not change afterwards. When the
// queue would overflow (Options.SendQueue, Options.SendQueueBytes) the
// session ends with a *QueueFullError (ErrQueueFull) naming the bound;
// after the end Send returns the reason.
func (s *Session) Send(ps ...engineio.Packet) error {
	s.mu.Lock()
	if s.err != nil {
		defer s.mu.Unlock()
		return s.err
	}
	n := 0
	for _, p := range ps {
		n += len(p.Data)
	}
	var full *QueueFullError
	switch o := &s.srv.opts; {
	case len(s.queue)+len(ps) > o.SendQueue:
		full = &QueueFullError{Limit: o.SendQueue, Queued: len(s.queue), Sent: len(ps)}
	case s.qbytes > 0 && s.qbytes+n > o.SendQueueBytes && o.SendQueueBytes > 0:
		full = &QueueFullError{Bytes: true, Limit: o.SendQueueBytes, Queued: s.qbytes, Sent: n}
	}
	if full != nil {
		s.mu.Unlock()
		s.closeWith(full)
		return s.Err() // full, unless the session ended meanwhile
	}
	s.queue = append(s.queue, ps...)
	s.qbytes += n
	s.flushLocked()
	s.mu.Unlock()
	return nil
}

// Close ends the session once the packets already queued are sent: the
// client gets them, then a close packet. A client that does not take them
// within the ping timeout is cut off.
func (s *Session) Close() error {
	s.mu.Lock()
	if s.err != nil || s.closing {
		s.mu.Unlock()
		return nil
	}
	if len(s.queue) == 0 && !s.writing {
		s.mu.Unlock()
		s.closeWith(ErrClosed)
		return nil
	}
	s.closing = true
	if s.pingTimer != nil {
		s.pingTimer.Stop()
	}
	s.pingTimer = time.AfterFunc(s.srv.opts.PingTimeout, func() { s.closeWith(ErrClosed) })
	s.flushLocked()
	s.mu.Unlock()
	return nil
}

// flushLocked starts sending the queue: it wakes the pending poll, or
// starts the WebSocket writer.
func (s *Session) flushLocked() {
	if s.transport == transportPolling {
		s.signal()
		return
	}
	if s.writing || len(s.queue) == 0 {
		return
	}
	if s.srv.goroutine(s.writeLoop) {
		s.writing = true
	}
}

// signal wakes the pending poll, if any.
func (s *Session) signal() {
	select {
	case s.polled.wake <- struct{}{}:
	default:
	}
}

// Write sends packets like Send, but when the session is on its WebSocket
// with nothing queued and no writer running it writes them itself, from
// the caller's goroutine, before it returns (bounded by the ping timeout
// as the session's own writer is): the packets' Data is the caller's again
// once Write returns. Otherwise (polling, an upgrade under way, a writer
// busy) it queues copies of the packets as Send would queue them. Write
// with no packets sends what a TryWrite left, if the session's writer
// does not.
func (s *Session) Write(ps ...engineio.Packet) error {
	_, err := s.write(nil, ps)
	return err
}

// TryWrite is Write for a caller that must not wait for the client (a
// server's goroutine that writes to many sessions): on the WebSocket it
// writes with one system call of rc, the socket under the session's
// WebSocket connection (WebSocketConn), that never waits for room. What
// the socket does not take at once is kept, and goes out before anything
// else with the session's next write; rest reports whether such bytes
// are kept, and then the caller must see that Write (with no packets, if
// need be) is called. It allocates nothing when the session is on its
// WebSocket and the socket takes the packets.
func (s *Session) TryWrite(rc syscall.RawConn, ps ...engineio.Packet) (rest bool, err error) {
	return s.write(rc, ps)
}

// WebSocketConn returns the connection of the session's WebSocket, nil
// while the session is polling. It is safe from any goroutine.
func (s *Session) WebSocketConn() net.Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.transport != transportWebSocket {
		return nil
	}
	return s.ws.NetConn()
}

// write is Write (rc nil) and TryWrite.
func (s *Session) write(rc syscall.RawConn, ps []engineio.Packet) (rest bool, err error) {
	s.mu.Lock()
	if s.err != nil {
		defer s.mu.Unlock()
		return false, s.err
	}
	if s.transport != transportWebSocket || s.writing || len(s.queue) > 0 || s.closing {
		// The poll, or the writer running (who sends a rest first), sends them.
		s.mu.Unlock()
		if len(ps) == 0 {
			return false, nil
		}
		return false, s.Send(clonePackets(ps)...)
	}
	s.writing = true
	c := s.ws
	s.mu.Unlock()
	sc := writeScratchPool.Get().(*writeScratch)
	if rc == nil && len(ps) == 0 {
		c.SetWriteDeadline(time.Now().Add(s.srv.opts.PingTimeout))
		if err = c.Flush(); err != nil {
			err = fmt.Errorf("%w: writing to the WebSocket: %v", ErrTransport, err)
		}
		c.SetWriteDeadline(time.Time{}) // as writeRuns leaves it
	} else {
		rest, err = s.writeRuns(c, rc, ps, sc)
	}
	sc.release()
	s.mu.Lock()
	if err != nil {
		s.writing = false
		s.mu.Unlock()
		s.closeWith(err)
		return false, err
	}
	s.endWritingLocked() // unlocks
	return rest, nil
}

// clonePackets returns ps with their Data copied into one buffer.
func clonePackets(ps []engineio.Packet) []engineio.Packet {
	n := 0
	for _, p := range ps {
		n += len(p.Data)
	}
	buf := make([]byte, 0, n)
	out := make([]engineio.Packet, len(ps))
	for i, p := range ps {
		start := len(buf)
		buf = append(buf, p.Data...)
		p.Data = buf[start:len(buf):len(buf)]
		out[i] = p
	}
	return out
}

// endWritingLocked is what the writer (writeLoop, or Write's caller) does
// when it has sent what it took: it goes on with what was queued
// meanwhile in a writer goroutine, or gives up the writer's role and ends
// a closing session whose queue is now empty. s.mu is held; it unlocks
// it.
func (s *Session) endWritingLocked() {
	if len(s.queue) > 0 && s.err == nil {
		if !s.srv.goroutine(s.writeLoop) {
			s.writing = false
		}
		s.mu.Unlock()
		return
	}
	s.stopWritingLocked()
}

// stopWritingLocked gives up the writer's role, with the queue empty or
// the session ended, and ends a closing session. s.mu is held; it unlocks
// it.
func (s *Session) stopWritingLocked() {
	s.writing = false
	closing := s.closing && s.err == nil
	s.mu.Unlock()
	if closing {
		s.closeWith(ErrClosed)
	}
}

// writeScratch is a WebSocket writer's buffers: the text of a run of
// packets and the messages of the run.
type writeScratch struct {
	text []byte
	bufs [][]byte
}

// writeScratchPool holds the writers' buffers between writes, so that an
// idle session keeps none.
var writeScratchPool = sync.Pool{New: func() any { return new(writeScratch) }}

// maxKeptText bounds the text buffer a writer gives back to the pool.
const maxKeptText = 64 << 10

// release gives the buffers back to the pool.
func (sc *writeScratch) release() {
	if cap(sc.text) > maxKeptText {
		sc.text = nil
	}
	clear(sc.bufs[:cap(sc.bufs)])
	sc.text, sc.bufs = sc.text[:0], sc.bufs[:0]
	writeScratchPool.Put(sc)
}

// runText bounds the text a writer assembles for one WriteMessages, so
// that the writer's buffer stays pooled (maxKeptText) however long the
// queue, and its frames go out in one write (the WebSocket frames a batch
// of messages in a buffer of 256 KiB): a run of 150-byte events holds
// about 300 of them. It was 16 KiB, which a run passed by its last
// packet, so that the frames overflowed the WebSocket's 16 KiB buffer:
// two system calls per run.
const runText = 48 << 10

// writeRuns sends packets over the WebSocket c: a run of text packets (up
// to runText bytes), or of binary ones, in one WriteMessages each; with
// rc, in one TryWriteMessages each (rest: bytes are kept). Without rc
// each run is bounded by a write deadline (the ping timeout), which it
// leaves cleared: framing/ws answers the client's WebSocket pings by
// itself, and a passed deadline would fail those pongs.
func (s *Session) writeRuns(c *ws.Conn, rc syscall.RawConn, batch []engineio.Packet, sc *writeScratch) (rest bool, err error) {
	if rc == nil {
		defer c.SetWriteDeadline(time.Time{})
	}
	for i := 0; i < len(batch); {
		bin := batch[i].Binary
		sc.bufs, sc.text = sc.bufs[:0], sc.text[:0]
		run := 0 // the run's text, encoded packets' included
		j := i
		for ; j < len(batch) && batch[j].Binary == bin; j++ {
			if bin {
				sc.bufs = append(sc.bufs, batch[j].Data)
				continue
			}
			n := len(batch[j].Data)
			if !batch[j].Encoded {
				n++ // the type digit
			}
			if run += n; j > i && run > runText {
				break
			}
			if batch[j].Encoded {
				sc.bufs = append(sc.bufs, batch[j].Data) // no copy
				continue
			}
			need := len(sc.text) + 1 + len(batch[j].Data)
			if need > cap(sc.text) && need <= runText {
				// Grow to the bound at once: the buffer stays under
				// maxKeptText, and the earlier packets' texts stay
				// valid in the old array.
				sc.text = append(make([]byte, 0, runText), sc.text...)
			}
			start := len(sc.text)
			sc.text = engineio.AppendText(sc.text, batch[j])
			sc.bufs = append(sc.bufs, sc.text[start:len(sc.text):len(sc.text)])
		}
		op := ws.OpText
		if bin {
			op = ws.OpBinary
		}
		if rc != nil {
			rest, err = c.TryWriteMessages(rc, op, sc.bufs)
		} else {
			c.SetWriteDeadline(time.Now().Add(s.srv.opts.PingTimeout))
			err = c.WriteMessages(op, sc.bufs)
		}
		if err != nil {
			return false, fmt.Errorf("%w: writing to the WebSocket: %v", ErrTransport, err)
		}
		i = j
	}
	return rest, nil
}

// writeLoop sends the queue over the WebSocket until it is empty.
func (s *Session) writeLoop() {
	var batch []engineio.Packet
	sc := writeScratchPool.Get().(*writeScratch)
	defer sc.release()
	for {
		s.mu.Lock()
		if len(s.queue) == 0 || s.err != nil {
			s.stopWritingLocked()
			return
		}
		batch, s.queue = s.queue, batch[:0]
		s.qbytes = 0
		c := s.ws
		s.mu.Unlock()
		if _, err := s.writeRuns(c, nil, batch, sc); err != nil {
			s.mu.Lock()
			s.writing = false
			s.mu.Unlock()
			s.closeWith(err)
			return
		}
		clear(batch)
	}
}

// startPing schedules the first ping.
func (s *Session) startPing() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.pingTimer = time.AfterFunc(s.srv.opts.PingInterval, s.pingTick)
	}
}

// pingTick sends a ping, or ends the session when the last one went
// unanswered.
func (s *Session) pingTick() {
	s.mu.Lock()
	if s.err != nil || s.closing {
		s.mu.Unlock()
		return
	}
	if s.awaitingPong {
		s.mu.Unlock()
		s.closeWith(ErrPingTimeout)
		return
	}
	s.awaitingPong = true
	s.pingTimer.Reset(s.srv.opts.PingTimeout)
	s.queue = append(s.queue, engineio.Packet{Type: engineio.Ping})
	s.flushLocked()
	s.mu.Unlock()
}

// receive handles one packet from the client, on any transport.
func (s *Session) receive(p engineio.Packet, cancel <-chan struct{}) error {
	switch p.Type {
	case engineio.Message:
		select {
		case s.polled.inbox <- p:
			return nil
		default:
		}
		if f := s.srv.opts.InboxWait; f != nil {
			f()
		}
		select {
		case s.polled.inbox <- p:
		case <-s.done:
		case <-cancel:
			return ErrTransport
		}
	case engineio.Pong:
		s.mu.Lock()
		if s.awaitingPong && s.err == nil && !s.closing {
			s.awaitingPong = false
			s.pingTimer.Reset(s.srv.opts.PingInterval)
		}
		s.mu.Unlock()
	case engineio.Close:
		s.closeWith(ErrPeerClosed)
	case engineio.Ping, engineio.Noop:
		// nothing to do (a probe here is out of place, and harmless)
	default: // Open, Upgrade
		return fmt.Errorf("%w: unexpected %s packet", ErrParse, p.Type)
	}
	return nil
}

// closeWith ends the session for reason (first reason wins).
func (s *Session) closeWith(reason error) {
	s.mu.Lock()
	if s.err != nil {
		s.mu.Unlock()
		return
	}
	s.err = reason
	if s.pingTimer != nil {
		s.pingTimer.Stop()
	}
	c := s.ws
	if s.transport != transportWebSocket {
		c = nil
	}
	s.queue = nil
	s.qbytes = 0
	onEnd := s.onEnd
	s.onEnd = nil
	done := s.done
	admitted := s.admitted
	s.admitted = nil
	if s.polled != nil && s.polled.probe != nil {
		s.polled.probe.CloseNow() // its reader sees the error and returns
	}
	// A polling client without an outstanding poll learns of the end on
	// its next one, which the sid stays known for (a ping timeout at
	// most): a close packet when the server closed, a noop when the
	// client did (it may have sent that poll already).
	s.linger = (reason == ErrPeerClosed || reason == ErrClosed) && s.transport == transportPolling && !s.polling
	linger := s.linger
	s.mu.Unlock()
	if linger {
		time.AfterFunc(s.srv.opts.PingTimeout, s.unlist)
	} else {
		s.unlist()
	}
	if done != nil {
		close(done)
	}
	if admitted != nil {
		admitted()
	}
	if onEnd != nil {
		defer onEnd() // after the WebSocket is closed: the woken reader finds it so
	}
	if c == nil {
		return
	}
	if !errors.Is(reason, ErrTransport) {
		c.SetWriteDeadline(time.Now().Add(wsCloseWait))
		if reason != ErrPeerClosed {
			c.WriteMessage(ws.OpText, []byte{'0' + byte(engineio.Close)})
		}
		var buf [ws.MaxControlPayload]byte
		c.WriteFrame(true, ws.OpClose, ws.AppendClosePayload(buf[:0], ws.StatusNormalClosure, ""))
	}
	c.CloseNow()
}

// unlist removes the session from the server's table.
func (s *Session) unlist() {
	s.srv.mu.Lock()
	if s.srv.sessions[s.id] == s {
		delete(s.srv.sessions, s.id)
	}
	s.srv.mu.Unlock()
}

// poll answers a GET: the queued packets, or a noop during an upgrade, or
// the close packet when the server ended the session; it waits for one of
// them. A second outstanding GET ends the session.
func (s *Session) poll(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.err != nil {
		linger, peer := s.linger, s.err == ErrPeerClosed
		s.linger = false
		s.mu.Unlock()
		if linger {
			s.unlist()
			if peer {
				writePayload(w, []byte{'0' + byte(engineio.Noop)})
			} else {
				writePayload(w, []byte{'0' + byte(engineio.Close)})
			}
			return
		}
		s.srv.refuse(w, r, codeUnknownSID)
		return
	}
	if !s.beginLocked(w, r, &s.polling, "poll") {
		return
	}
	// A poll that comes while an upgrade is under way waits a moment for
	// it: refused if the upgrade completes (the client polled after
	// sending 5), a noop otherwise (the reference ends such polls every
	// upgradeNoopWait too).
	var expired <-chan time.Time
	if s.upgrading {
		timer := time.NewTimer(upgradeNoopWait)
		defer timer.Stop()
		expired = timer.C
	}
	var body []byte
	for {
		if expired != nil && s.transport != transportPolling {
			s.polling = false
			s.mu.Unlock()
			s.srv.refuse(w, r, codeBadRequest)
			return
		}
		if s.err != nil {
			if s.err == ErrPeerClosed {
				body = []byte{'0' + byte(engineio.Noop)}
			} else {
				body = []byte{'0' + byte(engineio.Close)}
			}
			break
		}
		if s.upgrading && expired == nil || s.transport != transportPolling {
			body = []byte{'0' + byte(engineio.Noop)}
			break
		}
		if len(s.queue) > 0 && !s.upgrading { // during an upgrade the WebSocket takes them
			body = engineio.AppendPayload(nil, s.queue...)
			clear(s.queue)
			s.queue = s.queue[:0]
			s.qbytes = 0
			if s.closing {
				body = append(body, engineio.Separator, '0'+byte(engineio.Close))
				s.polling = false
				s.mu.Unlock()
				writePayload(w, body)
				s.closeWith(ErrClosed)
				return
			}
			break
		}
		s.mu.Unlock()
		select {
		case <-s.polled.wake:
		case <-s.done:
		case <-expired:
			s.mu.Lock()
			s.polling = false
			upgraded := s.transport != transportPolling || s.err != nil
			s.mu.Unlock()
			if upgraded {
				s.srv.refuse(w, r, codeBadRequest)
			} else {
				writePayload(w, []byte{'0' + byte(engineio.Noop)})
			}
			return
		case <-r.Context().Done():
			s.mu.Lock()
			s.polling = false
			s.mu.Unlock()
			return
		}
		s.mu.Lock()
	}
	s.polling = false
	s.mu.Unlock()
	writePayload(w, body)
}

// beginLocked starts a polling request (GET or POST): the session must be
// polling, and busy (s.polling or s.posting) clear, which it sets; a
// second one while the first is outstanding ends the session. When it
// returns false it has answered the request and unlocked s.mu.
func (s *Session) beginLocked(w http.ResponseWriter, r *http.Request, busy *bool, what string) bool {
	if s.transport != transportPolling {
		s.mu.Unlock()
		s.srv.refuse(w, r, codeBadRequest)
		return false
	}
	if *busy {
		s.mu.Unlock()
		s.closeWith(fmt.Errorf("%w: a second %s while one is outstanding", ErrTransport, what))
		s.srv.refuse(w, r, codeBadRequest)
		return false
	}
	*busy = true
	return true
}

// post reads a POST: the packets the client sends.
func (s *Session) post(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if !s.beginLocked(w, r, &s.posting, "POST") {
		return
	}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.posting = false
		s.mu.Unlock()
	}()
	// The body must come within a heartbeat (PingInterval + PingTimeout):
	// one trickled byte by byte would hold the request, its connection
	// and this goroutine for as long as the client liked, past the end of
	// the session at its ping timeout. The HTTP server sets the
	// connection's deadline again for its next request; after a body cut
	// short it closes the connection.
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(s.srv.opts.PingInterval + s.srv.opts.PingTimeout))
	body, ok, err := readBody(w, r, s.srv.opts.MaxPayload)
	if !ok {
		if err == nil { // over the limit (answered 413): wrapped as such
			err = &http.MaxBytesError{Limit: int64(s.srv.opts.MaxPayload)}
		} else {
			http.Error(w, "the request body did not arrive", http.StatusBadRequest)
		}
		s.closeWith(fmt.Errorf("%w: POST: %w", ErrTransport, err))
		return
	}
	for rest := body; len(rest) > 0; {
		var p engineio.Packet
		p, rest, err = engineio.NextPacket(rest)
		if err == nil {
			err = s.receive(p, r.Context().Done())
		}
		if err == nil && p.Type == engineio.Pong {
			select { // for Next; a full inbox has messages to read anyway
			case s.polled.inbox <- p:
			default:
			}
		}
		if err != nil {
			s.closeWith(fmt.Errorf("%w: %v", ErrParse, err))
			s.srv.refuse(w, r, codeBadRequest)
			return
		}
	}
	if len(body) == 0 {
		s.closeWith(fmt.Errorf("%w: empty POST", ErrParse))
		s.srv.refuse(w, r, codeBadRequest)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html")
	w.Write([]byte("ok"))
}

// upgrade runs a WebSocket that probes, then takes over, a polling
// session.
func (s *Session) upgrade(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.transport != transportPolling || s.probing || s.srv.opts.NoUpgrades || s.err != nil {
		s.mu.Unlock()
		// As the reference does: the WebSocket opens, then closes at once.
		if c, err := s.srv.upgrader.UpgradeHTTP(w, r); err == nil {
			c.CloseNow()
		}
		return
	}
	s.probing = true
	s.mu.Unlock()
	abort := func() {
		s.mu.Lock()
		s.probing, s.upgrading, s.polled.probe = false, false, nil
		s.mu.Unlock()
	}
	c, err := s.srv.upgrader.UpgradeHTTP(w, r)
	if err != nil {
		abort()
		s.srv.logf("engine: %s: WebSocket upgrade refused: %v", r.RemoteAddr, err)
		return
	}
	s.mu.Lock()
	s.polled.probe = c
	s.mu.Unlock()
	if !s.srv.track() { // this goroutine now reads c: count it, unless closed
		abort()
		c.CloseNow()
		return
	}
	defer s.srv.wg.Done()
	c.SetReadDeadline(time.Now().Add(s.srv.opts.UpgradeTimeout))
	for {
		op, msg, err := c.ReadMessage()
		var p engineio.Packet
		if err == nil && op == ws.OpText {
			p, err = engineio.DecodeText(msg)
		}
		if err != nil || op != ws.OpText {
			abort()
			c.CloseNow()
			return
		}
		switch {
		case p.Type == engineio.Ping && p.IsProbe():
			// Polls get noops from now on (before the answer: a client
			// that reads 3probe and polls must not get the queue).
			s.mu.Lock()
			s.upgrading = true
			s.signal()
			s.mu.Unlock()
			c.SetWriteDeadline(time.Now().Add(s.srv.opts.UpgradeTimeout))
			if c.WriteMessage(ws.OpText, []byte("3probe")) != nil {
				abort()
				c.CloseNow()
				return
			}
		case p.Type == engineio.Upgrade:
			s.mu.Lock()
			if s.err != nil || !s.upgrading {
				s.mu.Unlock()
				abort()
				c.CloseNow()
				return
			}
			c.SetReadDeadline(deadlineTime(s.deadline)) // the reader's, from now on
			s.transport, s.ws = transportWebSocket, c
			s.probing, s.upgrading, s.polled.probe = false, false, nil
			close(s.polled.upgraded) // the reader reads c from now on
			s.signal()
			s.flushLocked()
			admitted := s.admitted // c's socket counts from now on
			s.admitted = nil
			s.mu.Unlock()
			if admitted != nil {
				admitted()
			}
			return
		default:
			abort()
			c.CloseNow()
			return
		}
	}
}
