package decode

import (
	"net/netip"
	"time"

	"github.com/wiredojo/wiredojo/capture"
	"github.com/wiredojo/wiredojo/capture/app"
)

// Limits of the out-of-order queue of one direction: past them the missing
// bytes are declared lost and the stream moves on.
const (
	maxOOOSegments = 256
	maxOOOBytes    = 4 << 20
	maxStreamBuf   = app.MaxWSMessage + 64
)

type connKey struct{ a, b netip.AddrPort }

type oooSeg struct {
	seq  uint32
	data []byte
}

// half is one direction of a TCP connection.
type half struct {
	seen      bool
	isn       uint32
	next      uint32 // next in-order sequence number
	maxEnd    uint32 // highest sequence number + length seen
	fin, rst  bool
	ackSeen   bool
	lastAck   uint32
	lastWin   uint16
	ooo       []oooSeg
	oooBytes  int
	buf       []byte // bytes the application decoder has not consumed
	app       app.Dir
	spare     [][]byte // recycled ooo buffers
	syns      int
	delivered uint64
	wscale    int8      // window scale this side's SYN offered: -1 no SYN seen, -2 none offered
	last      time.Time // when this side last sent a segment that uses sequence space
}

type conn struct {
	id    int
	first netip.AddrPort // the side that spoke first: direction 0
	h     [2]half
	// tcpdump's relative sequence numbers: set by the first segment with
	// ACK (or a SYN with ACK), which prints absolute numbers; base[d] is
	// subtracted from direction d's sequence numbers afterwards.
	tdOn bool
	base [2]uint32
	// The handshake's timing, for telling out-of-order from retransmitted.
	synAt  time.Time
	synDir int
	irtt   time.Duration
}

// tracker follows TCP connections: stream indexes, relative sequence
// numbers, expert notes and reassembly.
type tracker struct {
	opt   Options
	conns map[connKey]*conn
	next  int
	free  []*conn
	// Engine.IO sessions, for Socket.IO attachments sent in other requests
	// or on other connections than their packet.
	sessions app.Sessions
	// The current packet's TCP payload span, for PDUs completed by bytes
	// that arrived earlier (drained from the out-of-order queue).
	curStart, curEnd int
}

func newTracker(opt Options) *tracker {
	return &tracker{opt: opt, conns: make(map[connKey]*conn)}
}

// seqLT reports a < b in sequence space.
func seqLT(a, b uint32) bool { return int32(a-b) < 0 }

func (t *tracker) lookup(src, dst netip.AddrPort, syn, ack bool) (*conn, int) {
	k := connKey{src, dst}
	if k.b.Addr().Less(k.a.Addr()) || (k.a.Addr() == k.b.Addr() && k.b.Port() < k.a.Port()) {
		k.a, k.b = k.b, k.a
	}
	c := t.conns[k]
	if c != nil && syn && !ack && (c.h[0].fin || c.h[0].rst || c.h[1].fin || c.h[1].rst) {
		// A new connection on an old tuple.
		delete(t.conns, k)
		t.release(c)
		c = nil
	}
	if c == nil {
		if len(t.conns) >= t.opt.MaxConns {
			t.prune()
		}
		c = t.alloc()
		c.id = t.next
		t.next++
		c.first = src
		c.tdOn, c.synAt, c.irtt = false, time.Time{}, 0
		c.h[0].wscale, c.h[1].wscale = -1, -1
		app.Pair(&c.h[0].app, &c.h[1].app)
		c.h[0].app.UseSessions(&t.sessions)
		if src.Port() == 53 || dst.Port() == 53 {
			c.h[0].app.ExpectDNS()
			c.h[1].app.ExpectDNS()
		}
		t.conns[k] = c
	}
	if src == c.first {
		return c, 0
	}
	return c, 1
}

func (t *tracker) alloc() *conn {
	if n := len(t.free); n > 0 {
		c := t.free[n-1]
		t.free = t.free[:n-1]
		return c
	}
	return new(conn)
}

func (t *tracker) release(c *conn) {
	for i := range c.h {
		h := &c.h[i]
		for _, s := range h.ooo {
			h.spare = append(h.spare, s.data[:0])
		}
		buf, spare, ooo := h.buf[:0], h.spare, h.ooo[:0]
		h.app.Reset()
		a := h.app
		*h = half{buf: buf, spare: spare, ooo: ooo, app: a}
	}
	t.free = append(t.free, c)
}

// prune forgets closed connections, or all when none is closed.
func (t *tracker) prune() {
	n := 0
	for k, c := range t.conns {
		if c.h[0].fin || c.h[0].rst || c.h[1].fin || c.h[1].rst {
			delete(t.conns, k)
			t.release(c)
			n++
		}
	}
	if n == 0 {
		for k, c := range t.conns {
			delete(t.conns, k)
			t.release(c)
		}
	}
}

// segment handles one TCP segment: pkt.Layers[ipIdx] is its IP layer,
// pkt.Layers[tcpIdx] its TCP layer; payload (the captured bytes of a
// segment that carried sent bytes) starts at payOff in the packet.
func (t *tracker) segment(pkt *capture.Packet, ipIdx, tcpIdx int, payload []byte, sent int, payOff int, reassembled bool) {
	l := &pkt.Layers[tcpIdx]
	ipl := &pkt.Layers[ipIdx]
	src := netip.AddrPortFrom(ipl.SrcIP, l.SrcPort)
	dst := netip.AddrPortFrom(ipl.DstIP, l.DstPort)
	syn, fin, rst, ack := l.Flags&capture.FlagSYN != 0, l.Flags&capture.FlagFIN != 0, l.Flags&capture.FlagRST != 0, l.Flags&capture.FlagACK != 0
	c, dir := t.lookup(src, dst, syn, ack)
	h, o := &c.h[dir], &c.h[1-dir]
	l.Stream = c.id
	if reassembled {
		payOff = -1
	}

	if !h.seen {
		h.seen = true
		h.isn = l.Seq
		h.next = l.Seq
		if syn {
			h.next++
		}
		h.maxEnd = h.next
	}
	// Relative numbers as tcpdump prints them.
	if ack {
		if !c.tdOn || syn {
			c.tdOn = true
			c.base[dir], c.base[1-dir] = l.Seq, l.Ack-1
		} else {
			l.HasRel = true
			l.RelSeq, l.RelAck = l.Seq-c.base[dir], l.Ack-c.base[1-dir]
		}
	}
	// The initial round-trip time: from the SYN to the ACK that completes
	// the handshake.
	switch {
	case syn && !ack:
		c.synAt, c.synDir, c.irtt = pkt.Timestamp, dir, 0
	case !syn && ack && dir == c.synDir && c.irtt == 0 && !c.synAt.IsZero():
		c.irtt = pkt.Timestamp.Sub(c.synAt)
	}
	// Window scaling (RFC 7323): both SYNs must offer it; SYNs themselves
	// are never scaled.
	if syn {
		h.wscale = -2
		if s, ok := capture.WindowScaleOption(l.Opts); ok {
			h.wscale = int8(min(s, 14))
		}
		l.WinScale = -1
	} else if h.wscale != -1 && o.wscale != -1 {
		l.WinScale = -2
		if h.wscale >= 0 && o.wscale >= 0 {
			l.WinScale = h.wscale
			l.WindowSize = uint32(l.Window) << h.wscale
		}
	}

	// Expert notes.
	if rst {
		pkt.Notes = append(pkt.Notes, capture.NoteReset)
		h.rst = true
	}
	if l.Window == 0 && !rst && !syn && !fin {
		pkt.Notes = append(pkt.Notes, capture.NoteZeroWindow)
	}
	if ack && sent == 0 && !syn && !fin && !rst && h.ackSeen && l.Ack == h.lastAck && l.Window == h.lastWin {
		pkt.Notes = append(pkt.Notes, capture.NoteDupAck)
	}
	if ack {
		h.ackSeen, h.lastAck, h.lastWin = true, l.Ack, l.Window
	}
	seq := l.Seq
	if syn {
		seq++ // the SYN uses one sequence number before the data
	}
	end := seq + uint32(sent)
	if fin {
		end++
	}
	switch {
	case syn:
		if h.syns > 0 && l.Seq == h.isn {
			pkt.Notes = append(pkt.Notes, capture.NoteRetransmission)
		}
		h.syns++
	case sent <= 1 && !fin && !rst && l.Seq == h.next-1:
		pkt.Notes = append(pkt.Notes, capture.NoteKeepAlive)
	case end == l.Seq:
		// nothing that uses sequence space
	case !seqLT(h.next, end) || seqLT(l.Seq, h.next):
		pkt.Notes = append(pkt.Notes, capture.NoteRetransmission)
	case seqLT(h.maxEnd, l.Seq):
		// Beyond anything seen: the bytes before it were not captured.
		pkt.Notes = append(pkt.Notes, capture.NoteLostSegment)
	case seqLT(l.Seq, h.maxEnd):
		// Later bytes came first and this fills a hole: out of order when
		// it follows the previous segment within the initial round-trip
		// time (3 ms when unknown), a retransmission after it (tshark's
		// rule).
		thres := c.irtt
		if thres == 0 {
			thres = 3 * time.Millisecond
		}
		if pkt.Timestamp.Sub(h.last) < thres && h.maxEnd != end {
			pkt.Notes = append(pkt.Notes, capture.NoteOutOfOrder)
		} else {
			pkt.Notes = append(pkt.Notes, capture.NoteRetransmission)
		}
	}
	if seqLT(h.maxEnd, end) {
		h.maxEnd = end
	}
	if sent > 0 || syn || fin {
		h.last = pkt.Timestamp
	}

	// Reassembly.
	t.curStart, t.curEnd = 0, 0
	if payOff >= 0 {
		t.curStart, t.curEnd = payOff, payOff+len(payload)
	}
	switch {
	case sent > len(payload):
		t.cut(c, dir, pkt, seq, payload, sent, payOff)
	case sent > 0:
		t.data(c, dir, pkt, seq, payload, payOff)
	}
	if fin {
		h.fin = true
		if seq+uint32(sent) == h.next {
			h.next++
		}
	}
}

// cut handles a segment the snapshot length cut (sent bytes, of which
// payload was captured): like tshark, it is decoded on its own from its
// first byte, and the direction starts afresh after it.
func (t *tracker) cut(c *conn, dir int, pkt *capture.Packet, seq uint32, payload []byte, sent int, payOff int) {
	h := &c.h[dir]
	end := seq + uint32(sent)
	if !seqLT(h.next, end) {
		return // old bytes
	}
	if t.opt.OnStream != nil && seq == h.next {
		t.opt.OnStream(c.id, dir, payload)
	}
	for _, s := range h.ooo {
		h.spare = append(h.spare, s.data[:0])
	}
	h.ooo, h.oooBytes = h.ooo[:0], 0
	h.buf = h.buf[:0]
	first := len(pkt.Layers)
	h.app.Cut(payload, pkt)
	for i := first; i < len(pkt.Layers); i++ {
		l := &pkt.Layers[i]
		if payOff < 0 {
			l.Start, l.End = t.curStart, t.curEnd
			continue
		}
		l.Start, l.End = payOff+l.Start, payOff+l.End
	}
	h.next = end
	h.delivered += uint64(len(payload))
}

// data delivers payload (sequence seq) of direction dir in order.
func (t *tracker) data(c *conn, dir int, pkt *capture.Packet, seq uint32, data []byte, payOff int) {
	h := &c.h[dir]
	d := int32(seq - h.next)
	switch {
	case d < 0:
		if int32(seq+uint32(len(data))-h.next) <= 0 {
			return // all old
		}
		data = data[-d:]
		if payOff >= 0 {
			payOff += int(-d)
		}
		seq = h.next
	case d > 0:
		if t.queue(h, seq, data) {
			t.drain(c, dir, pkt)
		}
		return
	}
	t.deliver(c, dir, pkt, data, payOff)
	h.next = seq + uint32(len(data))
	t.drain(c, dir, pkt)
}

// drain delivers the queued segments that are now in order.
func (t *tracker) drain(c *conn, dir int, pkt *capture.Packet) {
	h := &c.h[dir]
	for len(h.ooo) > 0 {
		s := h.ooo[0]
		if int32(s.seq-h.next) > 0 {
			break
		}
		h.ooo = h.ooo[1:]
		h.oooBytes -= len(s.data)
		if int32(s.seq+uint32(len(s.data))-h.next) > 0 {
			rest := s.data[h.next-s.seq:]
			t.deliver(c, dir, pkt, rest, -1)
			h.next = s.seq + uint32(len(s.data))
		}
		h.spare = append(h.spare, s.data[:0])
	}
	if len(h.ooo) == 0 {
		h.ooo = h.ooo[:0:cap(h.ooo)]
	}
}

// queue keeps an early segment, in sequence order. When the queue is full
// the hole is declared lost and queue reports true: the caller delivers the
// queued bytes.
func (t *tracker) queue(h *half, seq uint32, data []byte) bool {
	var buf []byte
	if n := len(h.spare); n > 0 {
		buf, h.spare = h.spare[n-1], h.spare[:n-1]
	}
	buf = append(buf[:0], data...)
	i := len(h.ooo)
	for i > 0 && seqLT(seq, h.ooo[i-1].seq) {
		i--
	}
	h.ooo = append(h.ooo, oooSeg{})
	copy(h.ooo[i+1:], h.ooo[i:])
	h.ooo[i] = oooSeg{seq: seq, data: buf}
	h.oooBytes += len(buf)
	if len(h.ooo) > maxOOOSegments || h.oooBytes > maxOOOBytes {
		// Give up on the hole: the application decoder loses its place.
		h.app.Gap()
		h.buf = h.buf[:0]
		h.next = h.ooo[0].seq
		return true
	}
	return false
}

// deliver hands in-order bytes to the application decoder and the stream
// callback. payOff is where data starts in the packet, -1 when the bytes
// arrived in an earlier packet.
func (t *tracker) deliver(c *conn, dir int, pkt *capture.Packet, data []byte, payOff int) {
	h := &c.h[dir]
	h.delivered += uint64(len(data))
	if t.opt.OnStream != nil {
		t.opt.OnStream(c.id, dir, data)
	}
	if h.app.Kind() == app.KindRaw {
		return
	}
	in := data
	chunkOff := 0
	if len(h.buf) > 0 {
		chunkOff = len(h.buf)
		h.buf = append(h.buf, data...)
		in = h.buf
	}
	first := len(pkt.Layers)
	n := h.app.Feed(in, pkt)
	// Map the new layers' offsets in `in` to offsets in the packet.
	for i := first; i < len(pkt.Layers); i++ {
		l := &pkt.Layers[i]
		if payOff < 0 {
			l.Start, l.End = t.curStart, t.curEnd
			continue
		}
		s, e := l.Start-chunkOff, l.End-chunkOff
		if s < 0 {
			s = 0
		}
		if e < s {
			e = s
		}
		l.Start, l.End = payOff+s, payOff+e
	}
	rest := in[n:]
	switch {
	case len(rest) == 0:
		h.buf = h.buf[:0]
	case len(rest) > maxStreamBuf:
		h.app.Gap()
		h.buf = h.buf[:0]
	case len(h.buf) > 0:
		h.buf = h.buf[:copy(h.buf, rest)]
	default:
		h.buf = append(h.buf[:0], rest...)
	}
}
