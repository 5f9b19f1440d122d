package app

import (
	"bytes"
	"compress/flate"
	"errors"
	"io"

	"github.com/wiredojo/wiredojo/capture"
	"github.com/wiredojo/wiredojo/framing"
	"github.com/wiredojo/wiredojo/framing/ws"
	"github.com/wiredojo/wiredojo/tcpchat/wire"
)

// Kind is what a stream direction was recognised as.
type Kind uint8

// Stream kinds.
const (
	KindUnknown Kind = iota // not enough bytes yet
	KindHTTP
	KindWebSocket
	KindTLS
	KindChat
	KindDNS // DNS over TCP: messages behind a 2-byte length (port 53)
	KindRaw // unrecognised: bytes are passed over
)

// String names the kind for people.
func (k Kind) String() string {
	switch k {
	case KindHTTP:
		return "HTTP"
	case KindWebSocket:
		return "WebSocket"
	case KindTLS:
		return "TLS"
	case KindChat:
		return "wiredojo"
	case KindDNS:
		return "DNS"
	case KindRaw:
		return "data"
	}
	return "unknown"
}

// Limits on what a direction buffers before it gives up decoding.
const (
	MaxHTTPHead  = 64 << 10
	MaxWSMessage = 16 << 20
	MaxTLSRecord = 1<<14 + 2048
)

// Dir is the application decoder of one direction of a TCP connection. Its
// zero value is ready; Pair links the two directions of a connection so an
// HTTP upgrade switches both. A Dir is used by one goroutine.
type Dir struct {
	kind Kind
	peer *Dir

	// A PDU whose tail is being skipped (HTTP body, TLS record, huge
	// WebSocket frame): reported when skip reaches 0.
	skip       int64
	pending    capture.Layer
	hasPending bool
	chunked    bool // skipping an HTTP chunked body

	upgradeAsked bool       // this side sent a WebSocket upgrade request
	heads        uint64     // requests awaiting a response, oldest in bit 0: 1 = HEAD
	pending64    int        // how many requests await a response (at most 64 tracked)
	tlsCipher    bool       // this side sent ChangeCipherSpec: handshakes are encrypted
	preamble     bool       // chat: the preamble was seen
	sio          bool       // an Engine.IO connection (a request with EIO= in its query)
	collect      bool       // holding the HTTP body being skipped in body
	body         []byte     // the long-polling body of a Socket.IO connection
	bin          *sioBinary // a Socket.IO binary packet awaiting its attachments (socketio.go), when not in sessions
	sessions     *Sessions  // where the waiting packets of Engine.IO sessions are filed (sessions.go)
	sid          []byte     // the Engine.IO session of the last request (client) or of the request answered (server)
	sidReqs      uint64     // requests awaiting a response that name a session, oldest in bit 0 (as heads)
	sidQueue     []byte     // their sessions, oldest first, each behind its 2-byte length
	server       bool       // this side sent an HTTP response

	msg    []byte // WebSocket message being assembled from fragments
	msgOn  bool
	msgBig bool
	msgZ   bool // the message being assembled is compressed (RSV1)
	msgBin bool // the message being assembled is binary
	view   wire.View
	names  interner
	z      *inflater // permessage-deflate of this direction, nil when not negotiated
}

// inflater undoes permessage-deflate (RFC 7692) for one direction of one
// connection. With context takeover the sender keeps its LZ77 window
// between messages, so the last 32 KiB of what was inflated is the
// dictionary of the next message.
type inflater struct {
	takeover bool
	in       []byte
	src      bytes.Reader
	r        io.ReadCloser
	out      []byte
	hist     []byte
}

// inflate returns the message that z (one message's compressed bytes)
// holds, valid until the next call.
func (f *inflater) inflate(z []byte) ([]byte, bool) {
	f.in = append(append(f.in[:0], z...), 0, 0, 0xff, 0xff)
	f.src.Reset(f.in)
	var dict []byte
	if f.takeover {
		dict = f.hist
	}
	if f.r == nil {
		f.r = flate.NewReaderDict(&f.src, dict)
	} else if err := f.r.(flate.Resetter).Reset(&f.src, dict); err != nil {
		return nil, false
	}
	f.out = f.out[:0]
	for {
		if len(f.out) == cap(f.out) {
			f.out = append(f.out, 0)[:len(f.out)]
		}
		n, err := f.r.Read(f.out[len(f.out):cap(f.out)])
		f.out = f.out[:len(f.out)+n]
		if len(f.out) > MaxWSMessage {
			return nil, false
		}
		if err != nil {
			// The message ends without a final block: running out of input
			// after the flush marker is its end.
			if !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
				return nil, false
			}
			break
		}
	}
	if f.takeover {
		f.hist = append(f.hist, f.out...)
		if n := len(f.hist) - 32<<10; n > 0 {
			f.hist = append(f.hist[:0], f.hist[n:]...)
		}
	}
	return f.out, true
}

// interner keeps the namespace and event names seen, so decoding an event
// does not allocate once its names are known. It holds at most 256 names;
// the last two hits are checked first, without hashing.
type interner struct {
	m      map[string]string
	recent [2]string
}

func (in *interner) get(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	for _, s := range in.recent {
		if s == string(b) {
			return s
		}
	}
	if s, ok := in.m[string(b)]; ok {
		in.recent[1], in.recent[0] = in.recent[0], s
		return s
	}
	s := string(b)
	if in.m == nil {
		in.m = make(map[string]string)
	}
	if len(in.m) < 256 {
		in.m[s] = s
	}
	return s
}

// Pair links the two directions of one connection.
func Pair(a, b *Dir) { a.peer, b.peer = b, a }

// Kind reports what the direction was recognised as.
func (d *Dir) Kind() Kind { return d.kind }

// Reset forgets everything (a new connection on the same tuple), keeping
// buffers.
func (d *Dir) Reset() {
	peer, msg, names, body, sessions, sid, sidQueue := d.peer, d.msg[:0], d.names, d.body[:0], d.sessions, d.sid[:0], d.sidQueue[:0]
	*d = Dir{peer: peer, msg: msg, names: names, body: body, sessions: sessions, sid: sid, sidQueue: sidQueue}
}

// ExpectDNS makes the direction DNS over TCP (the caller saw port 53):
// messages behind a 2-byte length.
func (d *Dir) ExpectDNS() { d.kind = KindDNS }

// Cut decodes b, the captured start of a segment that the snapshot length
// cut, on its own, as tshark does: the PDUs that are whole in b, and for
// HTTP the request or status line; the direction then starts afresh at the
// next segment. Layer spans are offsets in b.
func (d *Dir) Cut(b []byte, pkt *capture.Packet) {
	d.skip, d.hasPending, d.chunked, d.msgOn, d.collect = 0, false, false, false, false
	if d.kind == KindUnknown && len(b) > 0 && !d.detect(b) {
		return
	}
	switch d.kind {
	case KindHTTP:
		d.startLine(b, pkt)
	case KindWebSocket, KindTLS, KindChat, KindDNS:
		d.Feed(b, pkt)
	}
	d.skip, d.hasPending, d.chunked, d.msgOn, d.collect = 0, false, false, false, false
}

// answered returns, in d.sid's array, the Engine.IO session of the request
// of q (d's peer) that a response of d answers, and forgets that request's
// session when the response is final. HTTP/1.1 answers pipelined requests
// in order, so it is the oldest request awaiting a response; with none
// known (the capture began mid-connection, or more than 64 await) it is
// q's last request.
func (d *Dir) answered(q *Dir, final bool) []byte {
	if q.pending64 == 0 {
		return append(d.sid[:0], q.sid...)
	}
	sid := d.sid[:0]
	if q.sidReqs&1 != 0 {
		n := int(q.sidQueue[0])<<8 | int(q.sidQueue[1])
		sid = append(sid, q.sidQueue[2:2+n]...)
		if final {
			q.sidQueue = append(q.sidQueue[:0], q.sidQueue[2+n:]...)
		}
	}
	if final {
		q.sidReqs >>= 1
	}
	return sid
}

// startLine decodes the HTTP request or status line at the start of b.
func (d *Dir) startLine(b []byte, pkt *capture.Packet) {
	i := bytes.Index(b, []byte("\r\n"))
	if i < 0 {
		return
	}
	f := bytes.SplitN(b[:i], []byte(" "), 3)
	if len(f) < 2 {
		return
	}
	l := pkt.AddLayer(capture.ProtoHTTP)
	l.Start, l.End = 0, len(b)
	if bytes.HasPrefix(f[0], []byte("HTTP/")) {
		l.Name = string(f[0])
		for _, c := range f[1] {
			if c < '0' || c > '9' {
				break
			}
			l.Status = l.Status*10 + int(c-'0')
		}
		if len(f) == 3 {
			l.Reason = string(f[2])
		}
		return
	}
	l.Method, l.URI = string(f[0]), string(f[1])
	if len(f) == 3 {
		l.Name = string(f[2])
	}
}

// Feed decodes the stream bytes b, which continue where the previous call's
// consumed bytes ended, appends a layer to pkt for each PDU that completes in
// b (Start and End are offsets in b), and returns how many bytes it consumed.
// The caller keeps b[n:] and passes it again, followed by new bytes.
func (d *Dir) Feed(b []byte, pkt *capture.Packet) int {
	n := 0
	for n < len(b) {
		if d.skip > 0 {
			n += d.skipBytes(b[n:], pkt, n)
			continue
		}
		if d.chunked {
			m, ok := d.chunk(b[n:], pkt, n)
			n += m
			if !ok {
				return n
			}
			continue
		}
		var m int
		switch d.kind {
		case KindUnknown:
			if !d.detect(b[n:]) {
				return n
			}
			continue
		case KindHTTP:
			m = d.http(b[n:], pkt, n)
		case KindWebSocket:
			m = d.websocket(b[n:], pkt, n)
		case KindTLS:
			m = d.tls(b[n:], pkt, n)
		case KindChat:
			m = d.chat(b[n:], pkt, n)
		case KindDNS:
			m = d.dns(b[n:], pkt, n)
		default:
			return len(b)
		}
		if m == 0 {
			return n
		}
		n += m
	}
	return n
}

var httpStarts = [][]byte{
	[]byte("GET "), []byte("POST "), []byte("PUT "), []byte("HEAD "), []byte("DELETE "),
	[]byte("OPTIONS "), []byte("PATCH "), []byte("CONNECT "), []byte("TRACE "), []byte("HTTP/1."),
}

// detect recognises the stream from its first bytes; false means wait.
func (d *Dir) detect(b []byte) bool {
	if d.peer != nil && d.peer.kind == KindChat {
		d.kind, d.preamble = KindChat, true // the server answers in frames
		return true
	}
	if len(b) >= len(wire.Preamble) && bytes.HasPrefix(b, wire.Preamble) {
		d.kind = KindChat
		return true
	}
	if len(b) < len(wire.Preamble) && bytes.HasPrefix(wire.Preamble, b) {
		return false
	}
	if b[0] >= 20 && b[0] <= 23 {
		if len(b) < 2 {
			return false
		}
		if b[1] == 3 {
			d.kind = KindTLS
			return true
		}
	}
	short := false
	for _, s := range httpStarts {
		if len(b) >= len(s) {
			if bytes.HasPrefix(b, s) {
				d.kind = KindHTTP
				return true
			}
		} else if bytes.HasPrefix(s, b) {
			short = true
		}
	}
	if short {
		return false
	}
	d.kind = KindRaw
	return true
}

// skipBytes passes over the tail of a PDU and reports it when done.
func (d *Dir) skipBytes(b []byte, pkt *capture.Packet, off int) int {
	m := int64(len(b))
	if m > d.skip {
		m = d.skip
	}
	d.skip -= m
	if d.collect {
		d.body = append(d.body, b[:m]...)
	}
	if d.skip == 0 && !d.chunked {
		d.emitPending(pkt, off, off+int(m))
		if d.collect {
			d.collect = false
			d.pollBody(d.body, pkt, off, off+int(m))
		}
	}
	return int(m)
}

func (d *Dir) emitPending(pkt *capture.Packet, start, end int) {
	if !d.hasPending {
		return
	}
	l := pkt.AddLayer(d.pending.Proto)
	payload := l.Payload
	*l = d.pending
	l.Payload = append(payload[:0], d.pending.Payload...)
	l.Start, l.End = start, end
	d.hasPending = false
	if l.Proto == capture.ProtoHTTP && l.Status == 101 && d.peer != nil && d.peer.upgradeAsked {
		d.kind = KindWebSocket
	}
}

// http decodes one HTTP/1.x head and passes over its body.
func (d *Dir) http(b []byte, pkt *capture.Packet, off int) int {
	h, n, err := ws.ParseHTTPHead(b)
	if err != nil {
		if err == ws.ErrShortHTTP && len(b) < MaxHTTPHead {
			return 0
		}
		d.kind = KindRaw
		return len(b)
	}
	p := &d.pending
	p.Reset()
	p.Proto = capture.ProtoHTTP
	d.hasPending = true
	headReq := false
	if h.Request {
		p.Method, p.URI = h.Method, h.Target
		d.upgradeAsked = h.WebSocket
		d.sid = d.sid[:0]
		if isEngineIO(h.Target) {
			d.sio = true
			if d.peer != nil {
				d.peer.sio = true
			}
			d.sid = append(d.sid, sidOf(h.Target)...)
		}
		if d.pending64 < 64 {
			if h.Method == "HEAD" {
				d.heads |= 1 << d.pending64
			}
			if n := len(d.sid); n > 0 && n <= 0xFFFF {
				d.sidReqs |= 1 << d.pending64
				d.sidQueue = append(d.sidQueue, byte(n>>8), byte(n))
				d.sidQueue = append(d.sidQueue, d.sid...)
			}
			d.pending64++
		}
	} else {
		p.Status, p.Reason = h.Status, h.Reason
		d.server = true
		if q := d.peer; q != nil {
			d.sid = d.answered(q, h.Status >= 200)
		}
		if h.Status == 101 {
			d.negotiate(b[:n])
		}
		if q := d.peer; q != nil && q.pending64 > 0 && h.Status >= 200 {
			headReq = q.heads&1 != 0
			q.heads >>= 1
			q.pending64--
		}
	}
	p.Name = h.Proto
	head := b[:n]
	bodyless := !h.Request && (h.Status < 200 || h.Status == 204 || h.Status == 304 || headReq)
	switch {
	case bodyless:
		d.skip = 0
	case headerHas(head, "transfer-encoding", "chunked"):
		d.chunked = true
	default:
		cl, ok := contentLength(head)
		switch {
		case ok:
			d.skip = cl
			d.collect, d.body = d.sio && cl > 0 && cl <= MaxPollBody, d.body[:0]
		case h.Request:
			d.skip = 0
		default:
			// A response without a length runs to the end of the connection.
			d.emitPending(pkt, off, off+n)
			d.kind = KindRaw
			return n
		}
	}
	if d.skip == 0 && !d.chunked {
		d.emitPending(pkt, off, off+n)
	}
	if h.Request && h.WebSocket && d.skip == 0 && !d.chunked {
		// The client's next bytes are frames (it waits for the 101, which
		// switches the server's direction).
		d.kind = KindWebSocket
	}
	return n
}

// negotiate reads the permessage-deflate parameters the server accepted in
// its 101 response head: the server's direction (d) and the client's
// inflate from then on, each with or without context takeover.
func (d *Dir) negotiate(head []byte) {
	v, ok := headerValue(head, "sec-websocket-extensions")
	if !ok || !bytes.Contains(bytes.ToLower(v), []byte("permessage-deflate")) {
		return
	}
	v = bytes.ToLower(v)
	d.z = &inflater{takeover: !bytes.Contains(v, []byte("server_no_context_takeover"))}
	if d.peer != nil {
		d.peer.z = &inflater{takeover: !bytes.Contains(v, []byte("client_no_context_takeover"))}
	}
}

// chunk passes over one piece of a chunked body; false means wait.
func (d *Dir) chunk(b []byte, pkt *capture.Packet, off int) (int, bool) {
	i := bytes.Index(b, []byte("\r\n"))
	if i < 0 {
		if len(b) > 1024 {
			d.chunked, d.kind = false, KindRaw
			return len(b), true
		}
		return 0, false
	}
	line := b[:i]
	if j := bytes.IndexByte(line, ';'); j >= 0 {
		line = line[:j]
	}
	size, ok := parseHex(bytes.TrimSpace(line))
	if !ok {
		// A chunk's CRLF after its data, or a trailer line: skip it.
		if i == 0 {
			return 2, true
		}
		d.chunked, d.kind = false, KindRaw
		return len(b), true
	}
	if size == 0 {
		// Last chunk: expect the final CRLF (no trailers supported).
		if len(b) < i+4 {
			return 0, false
		}
		d.chunked = false
		d.emitPending(pkt, off, off+i+4)
		return i + 4, true
	}
	d.skip = size + 2 // data and its CRLF
	return i + 2, true
}

func parseHex(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 15 {
		return 0, false
	}
	var v int64
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | int64(c-'0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | int64(c-'a'+10)
		case c >= 'A' && c <= 'F':
			v = v<<4 | int64(c-'A'+10)
		default:
			return 0, false
		}
	}
	return v, true
}

// headerValue returns the value of the first header called name (lower case).
func headerValue(head []byte, name string) ([]byte, bool) {
	for len(head) > 0 {
		i := bytes.IndexByte(head, '\n')
		var line []byte
		if i < 0 {
			line, head = head, nil
		} else {
			line, head = head[:i], head[i+1:]
		}
		c := bytes.IndexByte(line, ':')
		if c != len(name) || !bytes.EqualFold(line[:c], []byte(name)) {
			continue
		}
		return bytes.TrimSpace(line[c+1:]), true
	}
	return nil, false
}

func headerHas(head []byte, name, token string) bool {
	v, ok := headerValue(head, name)
	return ok && bytes.Contains(bytes.ToLower(v), []byte(token))
}

func contentLength(head []byte) (int64, bool) {
	v, ok := headerValue(head, "content-length")
	if !ok || len(v) == 0 || len(v) > 15 {
		return 0, false
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// websocket decodes one frame.
func (d *Dir) websocket(b []byte, pkt *capture.Packet, off int) int {
	h, payload, rest, ok, err := ws.Split(b)
	if err != nil {
		d.kind = KindRaw
		return len(b)
	}
	if !ok {
		hh, hn, herr := ws.ParseHeader(b)
		if herr == nil && hh.Length > MaxWSMessage {
			// Too big to hold: report the header when the frame ends.
			p := &d.pending
			p.Reset()
			p.Proto = capture.ProtoWebSocket
			p.Fin, p.Opcode, p.Masked, p.PayloadLen = hh.Fin, uint8(hh.OpCode), hh.Masked, int(hh.Length)
			d.hasPending = true
			d.skip = hh.Length
			d.msgOn, d.msgBig = false, true
			return hn
		}
		return 0
	}
	n := len(b) - len(rest)
	l := pkt.AddLayer(capture.ProtoWebSocket)
	l.Start, l.End = off, off+n
	l.Fin, l.Opcode, l.Masked, l.PayloadLen = h.Fin, uint8(h.OpCode), h.Masked, len(payload)
	l.MaskKey = h.Mask
	l.Payload = append(l.Payload[:0], payload...)
	if h.Masked {
		ws.Mask(h.Mask, 0, l.Payload)
	}
	l.Compressed = h.Rsv1
	if h.OpCode == ws.OpClose && len(l.Payload) >= 2 {
		l.Status = int(l.Payload[0])<<8 | int(l.Payload[1])
		l.Reason = string(l.Payload[2:])
	}
	if h.OpCode.IsControl() {
		return n
	}
	// Data frames make messages; a whole message may be an event packet.
	if h.OpCode != ws.OpContinuation {
		d.msg, d.msgOn, d.msgBig, d.msgZ = d.msg[:0], true, false, h.Rsv1
		d.msgBin = h.OpCode == ws.OpBinary
	} else if !d.msgOn {
		return n
	}
	// A message in one frame is the frame's payload: only fragments are
	// joined in d.msg.
	whole := h.Fin && h.OpCode != ws.OpContinuation
	if len(d.msg)+len(l.Payload) > MaxWSMessage {
		d.msgBig = true
	} else if !d.msgBig && !whole {
		d.msg = append(d.msg, l.Payload...)
	}
	if h.Fin {
		d.msgOn = false
		if d.msgBig {
			return n
		}
		msg := d.msg
		if whole {
			msg = l.Payload
		}
		if d.msgZ {
			if d.z == nil {
				return n // compressed without a negotiation we saw
			}
			var ok bool
			if msg, ok = d.z.inflate(msg); !ok {
				return n
			}
		}
		if d.msgZ || h.OpCode == ws.OpContinuation {
			l.Message = append(l.Message[:0], msg...)
		}
		if d.sio {
			d.engineIOMessage(msg, h.OpCode == ws.OpBinary || h.OpCode == ws.OpContinuation && d.msgBin, pkt, off, off+n)
		} else {
			d.event(msg, pkt, off, off+n)
		}
	}
	return n
}

// tls decodes one record header and passes over the record.
func (d *Dir) tls(b []byte, pkt *capture.Packet, off int) int {
	if len(b) < 5 {
		return 0
	}
	typ, length := b[0], int(b[3])<<8|int(b[4])
	if typ < 20 || typ > 24 || b[1] != 3 || length > MaxTLSRecord {
		d.kind = KindRaw
		return len(b)
	}
	p := &d.pending
	p.Reset()
	p.Proto = capture.ProtoTLS
	p.ContentType = typ
	p.Version = uint16(b[1])<<8 | uint16(b[2])
	p.PayloadLen = length
	if typ == 22 && !d.tlsCipher && length > 0 {
		if len(b) < 6 {
			return 0
		}
		p.HandshakeType = int16(b[5])
	}
	if typ == 20 {
		d.tlsCipher = true
	}
	d.hasPending = true
	d.skip = int64(length)
	if d.skip == 0 {
		d.emitPending(pkt, off, off+5)
	}
	return 5
}

// chat decodes the preamble, then one length-prefixed frame.
func (d *Dir) chat(b []byte, pkt *capture.Packet, off int) int {
	if !d.preamble {
		d.preamble = true
		return len(wire.Preamble)
	}
	payload, rest, ok, err := framing.Split(b, framing.DefaultMaxFrame)
	if err != nil {
		d.kind = KindRaw
		return len(b)
	}
	if !ok {
		return 0
	}
	n := len(b) - len(rest)
	l := pkt.AddLayer(capture.ProtoFrame)
	l.Start, l.End = off, off+n
	l.Len = len(payload)
	d.event(payload, pkt, off+framing.HeaderLen, off+n)
	return n
}

// event adds a wiredojo-event layer when msg is an event-protocol packet.
func (d *Dir) event(msg []byte, pkt *capture.Packet, start, end int) {
	if wire.Parse(msg, &d.view) != nil {
		return
	}
	v := &d.view
	l := pkt.AddLayer(capture.ProtoEvent)
	l.Start, l.End = start, end
	l.Kind = v.Type.String()
	l.Namespace = d.names.get(v.Namespace)
	l.Name = d.names.get(v.Event)
	l.Payload = append(l.Payload[:0], v.Args...)
	l.Number = uint64(v.AckID)
	l.Response = v.HasAck
	switch {
	case len(v.Reason) > 0:
		l.Reason = string(v.Reason)
	case len(v.MessageID) > 0:
		l.Reason = string(v.MessageID)
	}
	l.Len = len(msg)
}

// dns decodes one DNS message behind its 2-byte length (DNS over TCP,
// RFC 1035 4.2.2).
func (d *Dir) dns(b []byte, pkt *capture.Packet, off int) int {
	if len(b) < 2 {
		return 0
	}
	n := int(b[0])<<8 | int(b[1])
	if len(b) < 2+n {
		return 0
	}
	DNS(b[2:2+n], pkt, off, off+2+n)
	return 2 + n
}

// Gap tells the decoder that bytes of the stream were lost: it cannot find
// its place again, so the rest of the direction is passed over.
func (d *Dir) Gap() {
	d.kind = KindRaw
	d.hasPending, d.skip, d.chunked, d.msgOn, d.collect = false, 0, false, false, false
	d.z = nil
}
