package sio

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/wiredojo/wiredojo/framing/ws"
	"github.com/wiredojo/wiredojo/internal/netpoll"
	"github.com/wiredojo/wiredojo/socketio"
	"github.com/wiredojo/wiredojo/socketio/engine"
	"github.com/wiredojo/wiredojo/socketio/engineio"
	"github.com/wiredojo/wiredojo/tcpchat"
	"github.com/wiredojo/wiredojo/tcpchat/wire"
)

// durableAckBase is the first ack id the transport gives to durable
// events it forwards: above every id the chat server allocates (32 bits),
// below the largest a Socket.IO client keeps exactly.
const durableAckBase = 1 << 32

// maxDurableInFlight bounds the durable events awaiting a Socket.IO ack on
// one connection; beyond it they go without an ack id (and stay queued),
// counted in wiredojo_chat_durable_sent_without_ack_id_total. The chat
// server has at most 256 queued events in flight on a connection, but each
// getAll (each namespace connect of a durable client) sends them again
// with new ack ids while the old ones still wait.
const maxDurableInFlight = 1024

// ErrProtocol is the reason a Socket.IO client's connection ended when it
// sent a packet the transport cannot map (a malformed packet, an
// attachment nobody announced, an ack id beyond 32 bits).
var ErrProtocol = errors.New("sio: Socket.IO protocol error")

// durableAck is what the client's ack of a forwarded durable event
// answers.
type durableAck struct {
	ns        string
	messageID string
	offset    uint64
	chatAck   bool   // the event also asked for an application ack
	ackID     uint32 // its id
}

// transport is the tcpchat.Transport of one Engine.IO session: it turns
// the client's Socket.IO packets into event-protocol packets for the chat
// server, and the server's packets into Socket.IO packets.
//
// The chat server reads through one goroutine and writes through another;
// ReadPacket's state (the reader's fields) belongs to the first,
// WritePackets's (the writer's fields) to the second; mu guards the rest.
// The reading goroutine is the session's only one: it reads the session
// (a WebSocket directly) and the chat's heartbeat is answered by the
// client's Engine.IO pongs, each read as a chat pong.
type transport struct {
	s    *engine.Session
	chat *tcpchat.Server // counts what the chat server cannot see (nil in some tests)

	// reader's
	rs         *readScratch // pooled; nil while idle (ReleaseRead)
	event      string       // the last event name (splitEvent)
	binary     *binaryWait  // a binary packet awaiting its attachments
	next       int32        // the first of rs.pending still to return
	handshaken bool         // the synthetic handshake was returned
	durableID  bool         // the handshake gave a client id
	recovery   bool         // send the pid (set before the session starts)

	// writer's
	noDirect bool            // the session's WebSocket has no socket to write directly
	session  string          // the chat session id, the Socket.IO pid (with recovery)
	ns       string          // the namespace of the last packet
	w        *writeScratch   // pooled, during WritePackets only
	rc       syscall.RawConn // the WebSocket's socket, for TryWritePackets (CanWriteDirect)

	mu   sync.Mutex
	rare *rareState // guarded by mu
}

// rareState is what a transport needs only for a while (connects awaiting
// their answer) or for some clients (durable delivery): an idle session
// without either keeps none. It is guarded by the transport's mu.
type rareState struct {
	connecting  []string              // namespaces asked for, not answered
	durable     map[uint64]durableAck // forwarded durable events by ack id
	nextDurable uint64                // the next ack id of a durable event, from durableAckBase
	resume      string                // the client id's resume token, from the welcome (the writer's)
}

// rareLocked returns t.rare, made if need be; t.mu is held.
func (t *transport) rareLocked() *rareState {
	if t.rare == nil {
		t.rare = &rareState{nextDurable: durableAckBase}
	}
	return t.rare
}

// tidyLocked drops t.rare once it holds nothing; t.mu is held.
func (t *transport) tidyLocked() {
	if r := t.rare; r != nil && len(r.connecting) == 0 && len(r.durable) == 0 && r.nextDurable == durableAckBase && r.resume == "" {
		t.rare = nil
	}
}

func newTransport(s *engine.Session) *transport {
	return &transport{s: s}
}

// pong is what nextPacket returns for a client's Engine.IO pong.
var pong = wire.Packet{Type: wire.TypePong}

// ReadPacket returns the next event-protocol packet: the translation of
// the client's next Socket.IO packet, or a pong for its Engine.IO pong.
func (t *transport) ReadPacket() ([]byte, error) {
	p, err := t.nextPacket()
	if err != nil {
		return nil, err
	}
	return t.encode(p), nil
}

// encode returns p's encoding, in the read scratch's buffer: valid until
// the next read.
func (t *transport) encode(p *wire.Packet) []byte {
	t.rs.buf = p.AppendTo(t.rs.buf[:0])
	return t.rs.buf
}

// ReadView is ReadPacket for the chat server's reading loop, which takes
// an event (and a pong) as the wire.View that wire.Parse of its encoding
// would give, made here without the encoding and the parse; other packets,
// and an event that the encoding would cut (a name or namespace past
// wire.MaxShortText) or its parse refuse (arguments that are not an
// array), come encoded as from ReadPacket. v's slices alias the session's
// message and the transport's strings: valid until the next call, and not
// to be written.
func (t *transport) ReadView(v *wire.View) ([]byte, error) {
	p, err := t.nextPacket()
	if err != nil || viewOf(p, v) {
		return nil, err
	}
	return t.encode(p), nil
}

// viewOf sets v to what wire.Parse of p's encoding gives and reports
// true, for a pong and for an event whose encoding and parse would keep
// it as it is; otherwise it reports false and leaves v alone. v aliases
// p's strings and arguments.
func viewOf(p *wire.Packet, v *wire.View) bool {
	switch {
	case p.Type == wire.TypePong:
		*v = wire.View{Type: wire.TypePong}
		return true
	case p.Type == wire.TypeEvent && len(p.Namespace) <= wire.MaxShortText && len(p.Event) <= wire.MaxShortText &&
		len(p.Args) >= 2 && p.Args[0] == '[' && p.Args[len(p.Args)-1] == ']':
		// Field by field: a composite literal was built aside and copied.
		*v = wire.View{}
		v.Type, v.HasAck = wire.TypeEvent, p.HasAck
		if p.HasAck {
			v.AckID = p.AckID
		}
		v.Namespace, v.Event, v.Args = unsafeBytes(p.Namespace), unsafeBytes(p.Event), p.Args[:len(p.Args):len(p.Args)]
		return true
	}
	return false
}

// nextPacket returns the next event-protocol packet, valid until the
// session's next message is read: the translation of the client's next
// Socket.IO packet, or &pong for its Engine.IO pong. t.rs is set after it.
func (t *transport) nextPacket() (*wire.Packet, error) {
	if t.rs == nil {
		t.rs = readScratchPool.Get().(*readScratch)
	}
	rs := t.rs
	for {
		if int(t.next) < len(rs.pending) {
			p := &rs.pending[t.next]
			t.next++
			return p, nil
		}
		clear(rs.pending)
		rs.pending, t.next = rs.pending[:0], 0
		m, err := t.s.Next()
		switch {
		case err == nil: // first: no errors.Is call per message
		case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, engine.ErrPingTimeout):
			// The chat's heartbeat, or the engine's: the client went quiet.
			return nil, os.ErrDeadlineExceeded
		case errors.Is(err, engine.ErrClosed):
			return nil, net.ErrClosed
		case errors.Is(err, engine.ErrParse), tooLarge(err):
			return nil, fmt.Errorf("%w: %w", tcpchat.ErrBadPacket, err)
		default:
			return nil, io.EOF
		}
		if m.Type == engineio.Pong {
			if !t.handshaken {
				// An answer to a ping that came before the client's
				// first Socket.IO packet: the engine's heartbeat, kept
				// by the engine; the chat's starts with the handshake,
				// which this is not.
				continue
			}
			return &pong, nil
		}
		if err := t.receive(m); err != nil {
			t.s.Close()
			return nil, fmt.Errorf("%w: %w", tcpchat.ErrBadPacket, err)
		}
	}
}

// tooLarge reports whether a session ended because its client sent a POST
// body or a WebSocket message over its size limit (engine.Options.MaxPayload).
func tooLarge(err error) bool {
	var body *http.MaxBytesError
	var msg *ws.MessageTooBigError
	return errors.As(err, &body) || errors.As(err, &msg)
}

// binaryWait is a binary packet awaiting its attachments.
type binaryWait struct {
	p    socketio.Packet
	atts [][]byte
}

// receive turns one Engine.IO message into event-protocol packets; t.rs
// is set.
func (t *transport) receive(m engineio.Packet) error {
	var p socketio.Packet
	if m.Binary {
		b := t.binary
		if b == nil {
			return fmt.Errorf("%w: an attachment nobody announced", ErrProtocol)
		}
		b.atts = append(b.atts, append([]byte(nil), m.Data...)) // m.Data is the session's
		if len(b.atts) < b.p.Attachments {
			return nil
		}
		p = b.p
		data, err := wire.InlineAttachments(p.Data, b.atts)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrProtocol, err)
		}
		p.Data = data
		t.binary = nil
	} else {
		if t.binary != nil {
			return fmt.Errorf("%w: text while attachments were awaited", ErrProtocol)
		}
		// The chat server validates the JSON of an event's arguments and
		// an ack's (conn.handle), the name splitEvent's: not twice.
		if err := socketio.DecodeRouting(m.Data, &t.rs.dec); err != nil {
			return fmt.Errorf("%w: %v", ErrProtocol, err)
		}
		p = t.rs.dec
		if p.Type.IsBinary() && p.Attachments > 0 {
			p.Data = bytes.Clone(p.Data) // m.Data is the session's
			t.binary = &binaryWait{p: p, atts: make([][]byte, 0, p.Attachments)}
			return nil
		}
	}
	return t.translate(p)
}

// translate queues the event-protocol packets for one whole Socket.IO
// packet (attachments inlined).
func (t *transport) translate(p socketio.Packet) error {
	if p.HasID && p.ID > 1<<32-1 && p.Type != socketio.Ack && p.Type != socketio.BinaryAck {
		return fmt.Errorf("%w: ack id %d beyond 32 bits", ErrProtocol, p.ID)
	}
	if !t.handshaken {
		t.handshaken = true
		h := wire.Packet{Type: wire.TypeHandshake, Version: wire.Version}
		if p.Type == socketio.Connect && p.Data != nil {
			var auth struct {
				Token    string `json:"token"`
				PID      string `json:"pid"`
				ClientID string `json:"clientId"`
				Resume   string `json:"resumeToken"`
			}
			json.Unmarshal(p.Data, &auth) // an object: checked by Decode
			h.Token, h.SessionID, h.ClientID, h.ResumeToken = auth.Token, auth.PID, auth.ClientID, auth.Resume
			t.durableID = auth.ClientID != ""
		}
		t.rs.pending = append(t.rs.pending, h)
	}
	ns := p.Namespace
	switch p.Type {
	case socketio.Connect:
		t.mu.Lock()
		if r := t.rareLocked(); len(r.connecting) < 16 {
			r.connecting = append(r.connecting, ns)
		}
		t.mu.Unlock()
		t.rs.pending = append(t.rs.pending, wire.Packet{Type: wire.TypeConnect, Namespace: ns, Args: p.Data})
		if t.durableID {
			// Durable delivery starts with a getAll, as the Go client's
			// (which sends it once connected; the chat server handles the
			// connect first, and a getAll for a namespace it refused
			// changes nothing but restarts the queue's delivery).
			t.rs.pending = append(t.rs.pending, wire.Packet{Type: wire.TypeGetAll, Namespace: ns})
		}
	case socketio.Disconnect:
		t.rs.pending = append(t.rs.pending, wire.Packet{Type: wire.TypeDisconnect, Namespace: ns})
	case socketio.Event, socketio.BinaryEvent:
		name, args, err := t.splitEvent(p.Data)
		if err != nil {
			return err
		}
		t.rs.pending = append(t.rs.pending, wire.Packet{Type: wire.TypeEvent, Namespace: ns, Event: name, Args: args, HasAck: p.HasID, AckID: uint32(p.ID)})
	case socketio.Ack, socketio.BinaryAck:
		if p.ID >= durableAckBase {
			if !wire.ValidJSON(p.Data) { // not the chat server's to check
				return fmt.Errorf("%w: ack payload is not JSON", ErrProtocol)
			}
			var d durableAck
			ok := false
			t.mu.Lock()
			if r := t.rare; r != nil {
				d, ok = r.durable[p.ID]
				delete(r.durable, p.ID)
			}
			t.mu.Unlock()
			if ok {
				if d.chatAck {
					t.rs.pending = append(t.rs.pending, wire.Packet{Type: wire.TypeAck, Namespace: d.ns, AckID: d.ackID, Args: p.Data})
				}
				t.rs.pending = append(t.rs.pending, wire.Packet{Type: wire.TypeReceived, Namespace: d.ns, MessageID: d.messageID, Offset: d.offset})
			}
			return nil
		}
		t.rs.pending = append(t.rs.pending, wire.Packet{Type: wire.TypeAck, Namespace: ns, AckID: uint32(p.ID), Args: p.Data})
	default: // CONNECT_ERROR comes from servers only
		return fmt.Errorf("%w: %s from a client", ErrProtocol, p.Type)
	}
	return nil
}

// splitEvent splits an EVENT payload into its name and the array of the
// other arguments, which it writes over data (the name's last byte and its
// comma become the array's '['). A number in place of the name is taken as
// its text. A name without escapes is the last one seen again when it is
// the same, so that steady traffic allocates nothing. data's JSON is not
// validated yet (socketio.DecodeRouting): the name is, here (a name with
// an escape or a control character, or a number, by encoding/json), and
// the arguments by the chat server.
func (t *transport) splitEvent(data []byte) (string, json.RawMessage, error) {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '[' {
		return "", nil, fmt.Errorf("%w: event payload", ErrProtocol)
	}
	i = skipSpace(data, i+1)
	var raw []byte // the name as written, without quotes
	switch {
	case i < len(data) && data[i] == '"':
		end := i + 1
		for end < len(data) && data[end] != '"' && data[end] != '\\' && data[end] >= 0x20 {
			end++
		}
		if end >= len(data) || data[end] != '"' {
			return splitEventSlow(data) // an escape: decode it properly
		}
		raw, i = data[i+1:end], end+1
	default:
		return splitEventSlow(data) // a number (or not JSON)
	}
	if string(raw) != t.event {
		t.event = string(raw)
	}
	i = skipSpace(data, i)
	switch {
	case i < len(data) && data[i] == ']' && len(skipSpaceTail(data[i+1:])) == 0:
		return t.event, emptyArgs, nil
	case i < len(data) && data[i] == ',':
		data[i] = '['
		return t.event, data[i:], nil // the chat server validates the rest
	}
	return "", nil, fmt.Errorf("%w: event payload", ErrProtocol)
}

// emptyArgs is the arguments of an event with none.
var emptyArgs = json.RawMessage("[]")

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipSpaceTail returns b without its trailing white space.
func skipSpaceTail(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// splitEventSlow is splitEvent for a name with escapes.
func splitEventSlow(data []byte) (string, json.RawMessage, error) {
	var all []json.RawMessage
	if err := json.Unmarshal(data, &all); err != nil || len(all) == 0 {
		return "", nil, fmt.Errorf("%w: event payload", ErrProtocol)
	}
	var name string
	if err := json.Unmarshal(all[0], &name); err != nil {
		name = string(all[0]) // a number
	}
	args := []byte{'['}
	for i, a := range all[1:] {
		if i > 0 {
			args = append(args, ',')
		}
		args = append(args, a...)
	}
	return name, append(args, ']'), nil
}

// WritePackets translates the chat server's packets for the Socket.IO
// client and writes them to the session: on its WebSocket from this
// goroutine (the chat server's writer) when nothing else is being sent,
// queued copies otherwise (engine.Session.Write). What a TryWritePackets
// left goes first.
func (t *transport) WritePackets(payloads [][]byte) error {
	_, err := t.writePackets(nil, payloads)
	return err
}

// CanWriteDirect reports whether the session is on a WebSocket whose
// socket TryWritePackets can write (not TLS, not polling).
func (t *transport) CanWriteDirect() bool {
	if t.rc == nil && !t.noDirect {
		nc := t.s.WebSocketConn()
		if nc == nil {
			return false // polling, for now
		}
		if t.rc = tcpchat.SocketOf(nc); t.rc == nil || !netpoll.NowWrites {
			t.rc, t.noDirect = nil, true
		}
	}
	return t.rc != nil
}

// TryWritePackets is WritePackets for the chat server's reader of a read
// batch, which writes to its recipients itself: the session's WebSocket
// is written without waiting for room (engine.Session.TryWrite), and what
// its socket does not take goes out first with the next WritePackets.
func (t *transport) TryWritePackets(payloads [][]byte) (rest bool, err error) {
	return t.writePackets(t.rc, payloads)
}

// writePackets is WritePackets (rc nil) and TryWritePackets.
func (t *transport) writePackets(rc syscall.RawConn, payloads [][]byte) (rest bool, err error) {
	t.w = writeScratchPool.Get().(*writeScratch)
	defer t.releaseWrite()
	var v wire.View
	for _, b := range payloads {
		if isShared(b) {
			t.w.out = append(t.w.out, engineio.Packet{Type: engineio.Message, Data: b, Encoded: true})
			continue
		}
		if err := wire.Parse(b, &v); err != nil {
			return false, err
		}
		if err := t.write(&v); err != nil {
			return false, err
		}
	}
	if len(t.w.out) > 0 {
		t.place()
	}
	switch {
	case rc != nil:
		if len(t.w.out) == 0 {
			return false, nil
		}
		rest, err = t.s.TryWrite(rc, t.w.out...)
	case len(t.w.out) == 0:
		err = t.s.Write() // what a TryWritePackets left, if any
	default:
		err = t.s.Write(t.w.out...)
	}
	return rest, queueFull(err)
}

// queueFull returns err, the error of a write to the session, wrapping
// tcpchat.ErrSlowConsumer when the session's own queue overflowed (a
// session that does not poll, or a WebSocket writer that does not keep
// up), so that the chat server counts and logs a slow consumer; the
// message names the bound (the engine's error names its option).
func queueFull(err error) error {
	var qf *engine.QueueFullError
	if err == nil || !errors.As(err, &qf) {
		return err
	}
	return fmt.Errorf("%w: its Socket.IO session's own queue: %w", tcpchat.ErrSlowConsumer, err)
}

// AppendShared appends the Engine.IO message carrying the Socket.IO text
// of a chat event without attachments (engineio.AppendText's form), which
// every Socket.IO recipient of a broadcast writes alike, as it is: the
// chat server has it made once per broadcast and hands it to WritePackets
// in place of the payload (tcpchat.SharedEncoder). Other packets'
// translation depends on the connection (its session, its durable acks)
// or makes attachments: none is shared.
func (t *transport) AppendShared(dst, payload []byte) ([]byte, bool) {
	if len(payload) == 0 || wire.Type(payload[0]) != wire.TypeEvent {
		return dst, false
	}
	var v wire.View
	if wire.Parse(payload, &v) != nil || bytes.IndexByte(v.Args, '$') >= 0 {
		return dst, false // no '$': no {"$binary":...} (wire.ExtractAttachments)
	}
	dst = append(dst, messageDigit)
	dst = socketio.Packet{Type: socketio.Event, Namespace: unsafeString(v.Namespace), ID: uint64(v.AckID), HasID: v.HasAck}.AppendTo(dst)
	return wire.AppendEventArray(dst, unsafeString(v.Event), v.Args), true
}

// messageDigit starts the text of an Engine.IO message, which the
// transport's translations carry whole (engineio.Packet.Encoded).
const messageDigit = '0' + byte(engineio.Message)

// sharedLead is the first byte of what AppendShared makes: no
// event-protocol packet starts with it (their types are letters), so
// WritePackets tells the two apart by it.
const sharedLead = messageDigit

// isShared reports whether a payload of WritePackets is AppendShared's.
func isShared(b []byte) bool { return len(b) > 0 && b[0] == sharedLead }

// writeScratch is the writer's buffers, pooled between batches so that
// an idle session keeps none.
type writeScratch struct {
	data  []byte            // an event's payload
	text  []byte            // the text of the batch's Socket.IO packets
	spans [][3]int          // each translated text packet's index in out and place in text
	out   []engineio.Packet // the batch
}

var writeScratchPool = sync.Pool{New: func() any { return new(writeScratch) }}

// releaseWrite gives t.w back to the pool, unless it grew past
// maxKeptBatch.
func (t *transport) releaseWrite() {
	w := t.w
	t.w = nil
	clear(w.out)
	if cap(w.text) > maxKeptBatch || cap(w.data) > maxKeptBatch {
		return
	}
	w.data, w.text, w.spans, w.out = w.data[:0], w.text[:0], w.spans[:0], w.out[:0]
	writeScratchPool.Put(w)
}

// maxKeptBatch bounds the text a writer's buffers keep in the pool.
const maxKeptBatch = 256 << 10

// unsafeString views b as a string that must not outlive b.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// unsafeBytes views s as bytes that must not be written.
func unsafeBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// place gives the translated text packets of t.w.out their data, in t.w.text (which
// may have moved while it grew).
func (t *transport) place() {
	text := t.w.text
	for _, s := range t.w.spans {
		t.w.out[s[0]].Data = text[s[1]:s[2]:s[2]]
	}
}

// sio appends one Socket.IO packet (and its attachments) to t.w.out.
func (t *transport) sio(p socketio.Packet, atts [][]byte) {
	w := t.w
	start := len(w.text)
	w.text = append(w.text, messageDigit)
	w.text = p.AppendTo(w.text)
	w.spans = append(w.spans, [3]int{len(w.out), start, len(w.text)})
	w.out = append(w.out, engineio.Packet{Type: engineio.Message, Encoded: true}) // Data: place
	for _, a := range atts {
		w.out = append(w.out, engineio.Packet{Type: engineio.Message, Binary: true, Data: a})
	}
}

// answered forgets a namespace connect that got its answer.
func (t *transport) answered(ns string) {
	t.mu.Lock()
	if r := t.rare; r != nil {
		for i, n := range r.connecting {
			if n == ns {
				r.connecting = append(r.connecting[:i], r.connecting[i+1:]...)
				break
			}
		}
		if len(r.connecting) == 0 {
			r.connecting = nil // an idle session keeps no array
		}
		t.tidyLocked()
	}
	t.mu.Unlock()
}

func (t *transport) write(v *wire.View) error {
	if string(v.Namespace) != t.ns {
		t.ns = string(v.Namespace)
	}
	ns := t.ns
	switch v.Type {
	case wire.TypeWelcome:
		if t.recovery {
			t.session = string(v.SessionID)
		}
		if len(v.ResumeToken) > 0 {
			t.mu.Lock()
			t.rareLocked().resume = string(v.ResumeToken)
			t.mu.Unlock()
		}
	case wire.TypePing:
		// Not forwarded: the client's Engine.IO pongs answer the chat's
		// heartbeat (ReadPacket).
	case wire.TypeConnect:
		t.answered(ns)
		data := wire.AppendJSONString([]byte(`{"sid":`), string(v.SocketID))
		if t.recovery && t.session != "" {
			data = wire.AppendJSONString(append(data, `,"pid":`...), t.session)
		}
		t.mu.Lock()
		resume := ""
		if t.rare != nil {
			resume = t.rare.resume
		}
		t.mu.Unlock()
		if resume != "" {
			data = wire.AppendJSONString(append(data, `,"resumeToken":`...), resume)
		}
		t.sio(socketio.Packet{Type: socketio.Connect, Namespace: ns, Data: append(data, '}')}, nil)
	case wire.TypeConnectError:
		t.answered(ns)
		t.sio(socketio.Packet{Type: socketio.ConnectError, Namespace: ns, Data: connectError(string(v.Reason))}, nil)
	case wire.TypeDisconnect:
		t.sio(socketio.Packet{Type: socketio.Disconnect, Namespace: ns}, nil)
	case wire.TypeEvent, wire.TypeQueued:
		p := socketio.Packet{Type: socketio.Event, Namespace: ns, ID: uint64(v.AckID), HasID: v.HasAck}
		if v.Type == wire.TypeQueued {
			t.mu.Lock()
			if r := t.rareLocked(); len(r.durable) < maxDurableInFlight {
				if r.durable == nil {
					r.durable = make(map[uint64]durableAck)
				}
				id := r.nextDurable
				r.nextDurable++
				r.durable[id] = durableAck{ns: ns, messageID: string(v.MessageID), offset: v.Offset, chatAck: v.HasAck, ackID: v.AckID}
				p.ID, p.HasID = id, true
			} else if t.chat != nil {
				t.chat.Count(tcpchat.DurableWithoutAck)
			}
			t.mu.Unlock()
		}
		data := wire.AppendEventArray(t.w.data[:0], unsafeString(v.Event), v.Args)
		t.w.data = data
		data, atts := wire.ExtractAttachments(data)
		if len(atts) > 0 {
			p.Type, p.Attachments = socketio.BinaryEvent, len(atts)
		}
		p.Data = data
		t.sio(p, atts)
	case wire.TypeAck:
		args := v.Args
		if len(args) == 0 {
			args = []byte("[]")
		}
		data, atts := wire.ExtractAttachments(args)
		p := socketio.Packet{Type: socketio.Ack, Namespace: ns, ID: uint64(v.AckID), HasID: true, Data: data}
		if len(atts) > 0 {
			p.Type, p.Attachments = socketio.BinaryAck, len(atts)
		}
		t.sio(p, atts)
	case wire.TypeError:
		// The chat server ends the connection after it. A refusal of the
		// handshake (a bad token) is what a Socket.IO server says with
		// CONNECT_ERROR for the namespaces asked for.
		var pending []string
		t.mu.Lock()
		if r := t.rare; r != nil {
			pending, r.connecting = r.connecting, nil
			t.tidyLocked()
		}
		t.mu.Unlock()
		for _, n := range pending {
			t.sio(socketio.Packet{Type: socketio.ConnectError, Namespace: n, Data: connectError(string(v.Reason))}, nil)
		}
	}
	return nil
}

// connectError is the payload of a CONNECT_ERROR, with the reference
// server's words for an unknown namespace.
func connectError(reason string) []byte {
	if reason == "unknown namespace" {
		reason = "Invalid namespace"
	}
	return append(wire.AppendJSONString([]byte(`{"message":`), reason), '}')
}

// Buffered reports what the session read ahead and the packets of the
// last message not returned yet: while it is not zero the next ReadPacket
// reads nothing from the socket (tcpchat.Pollable).
func (t *transport) Buffered() int {
	n := t.s.Buffered()
	if t.rs != nil {
		n += len(t.rs.pending) - int(t.next)
	}
	return n
}

// NetConn returns the connection of the session's WebSocket, nil while it
// is polling: the chat server parks an idle session on its poller once it
// has one.
func (t *transport) NetConn() net.Conn { return t.s.NetConn() }

// ReadDeadlineRecoverable reports whether a read deadline that passes
// leaves the session readable: on its WebSocket, before a message begins
// (tcpchat.Lingering). A polling session's reads wait for its inbox, which
// a deadline leaves as it is too, but it has no socket to park on anyway.
func (t *transport) ReadDeadlineRecoverable() bool { return t.s.NetConn() != nil }

// SetWake has the session wake the parked reader when it ends by itself
// (a ping timeout, a full queue, the engine server's Close).
func (t *transport) SetWake(wake func()) { t.s.OnEnd(wake) }

// ReleaseRead gives the read buffers back while the session is idle.
func (t *transport) ReleaseRead() {
	t.s.ReleaseRead()
	rs := t.rs
	if rs == nil {
		return
	}
	t.rs = nil
	if cap(rs.buf) > maxKeptPacket || cap(rs.pending) > 16 {
		return
	}
	clear(rs.pending[:cap(rs.pending)])
	rs.buf, rs.pending, rs.dec = rs.buf[:0], rs.pending[:0], socketio.Packet{}
	readScratchPool.Put(rs)
}

// readScratch is the reader's buffers: the packet returned, the packets
// of one message and the last Socket.IO packet decoded.
type readScratch struct {
	buf     []byte
	pending []wire.Packet
	dec     socketio.Packet
}

// readScratchPool holds the read buffers of idle sessions.
var readScratchPool = sync.Pool{New: func() any { return new(readScratch) }}

// maxKeptPacket bounds the packet buffer a transport gives back to the
// pool.
const maxKeptPacket = 4 << 10

func (t *transport) SetReadDeadline(d time.Time) error { return t.s.SetReadDeadline(d) }

// SetWriteDeadline is a no-op: the session bounds its writes, from
// WritePackets or its own writer, by the ping timeout.
func (t *transport) SetWriteDeadline(time.Time) error { return nil }

func (t *transport) Close() error { return t.s.Close() }

// RemoteAddr names the client of the request that opened the session.
func (t *transport) RemoteAddr() net.Addr { return remoteAddr(t.s.RemoteAddr()) }

type remoteAddr string

func (a remoteAddr) Network() string { return "socket.io" }
func (a remoteAddr) String() string  { return string(a) }

// The chat server parks idle sessions, and lets busy ones linger; the
// reader of a read batch writes to a session itself.
var (
	_ tcpchat.Lingering     = (*transport)(nil)
	_ tcpchat.DirectWriter  = (*transport)(nil)
	_ tcpchat.SharedEncoder = (*transport)(nil)
)
