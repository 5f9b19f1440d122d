package app

import (
	"strings"

	"github.com/wiredojo/wiredojo/capture"
	"github.com/wiredojo/wiredojo/socketio"
	"github.com/wiredojo/wiredojo/socketio/engineio"
	"github.com/wiredojo/wiredojo/tcpchat/wire"
)

// MaxPollBody is the largest HTTP long-polling body of a Socket.IO
// connection that is held to be decoded; longer bodies are passed over.
const MaxPollBody = 1 << 20

// isEngineIO reports whether an HTTP request target is an Engine.IO
// request (its query names the protocol version, EIO=).
func isEngineIO(target string) bool {
	q := strings.IndexByte(target, '?')
	return q >= 0 && strings.Contains(target[q:], "EIO=")
}

// pollBody decodes an HTTP long-polling body: Engine.IO packets separated by
// the record separator, binary ones base64 with a 'b' prefix. It stops at
// the first record that is not a packet (a POST's "ok" answer).
func (d *Dir) pollBody(body []byte, pkt *capture.Packet, start, end int) {
	for len(body) > 0 {
		p, rest, err := engineio.NextPacket(body)
		if err != nil {
			return
		}
		d.engineIO(p, pkt, start, end)
		body = rest
	}
}

// engineIOMessage decodes a WebSocket message of a Socket.IO connection:
// one Engine.IO packet, text or binary.
func (d *Dir) engineIOMessage(msg []byte, binary bool, pkt *capture.Packet, start, end int) {
	if binary {
		d.engineIO(engineio.DecodeBinary(msg), pkt, start, end)
		return
	}
	p, err := engineio.DecodeText(msg)
	if err != nil {
		return
	}
	d.engineIO(p, pkt, start, end)
}

// engineIO adds an engine.io layer for p and, for a text MESSAGE, the
// socket.io layer of the packet it carries.
func (d *Dir) engineIO(p engineio.Packet, pkt *capture.Packet, start, end int) {
	l := pkt.AddLayer(capture.ProtoEngineIO)
	l.Start, l.End = start, end
	l.Kind = p.Type.String()
	l.Binary = p.Binary
	l.Payload = append(l.Payload[:0], p.Data...)
	l.PayloadLen = len(p.Data)
	if p.Type != engineio.Message {
		return
	}
	if p.Binary {
		d.attachment(p.Data, pkt, start, end)
		return
	}
	d.setWaiting(nil, pkt.Timestamp) // a text packet ends any wait for attachments
	s, err := socketio.Decode(p.Data)
	if err != nil {
		return
	}
	if s.Type.IsBinary() && s.Attachments > 0 && len(s.Data) <= MaxPollBody {
		b := &sioBinary{p: s, atts: make([][]byte, 0, s.Attachments), size: len(s.Data)}
		b.p.Data = append([]byte(nil), s.Data...)
		d.setWaiting(b, pkt.Timestamp)
	}
	l = pkt.AddLayer(capture.ProtoSocketIO)
	l.Start, l.End = start, end
	l.Kind = s.Type.String()
	l.Namespace = d.names.get([]byte(s.Namespace))
	if s.Type == socketio.Event || s.Type == socketio.BinaryEvent {
		if name, ok := socketio.EventName(s.Data); ok {
			l.Name = d.names.get([]byte(name))
		}
	}
	l.Payload = append(l.Payload[:0], s.Data...)
	l.Number, l.Response = s.ID, s.HasID
	l.Attachments = s.Attachments
}

// sioBinary is a Socket.IO BINARY_EVENT or BINARY_ACK of one direction
// whose attachments (the binary messages after it) are being collected.
type sioBinary struct {
	p    socketio.Packet // its Data a copy
	atts [][]byte
	size int // bytes held: the packet's data and the attachments so far
}

// attachment takes a binary Engine.IO message: the next attachment of the
// packet awaiting them in this direction of the session (Sessions), if
// any. On the last one it adds a socket.io layer with the whole packet,
// its placeholders replaced by the attachments ({"$binary":"<base64>"},
// as the chat carries them); more than MaxPollBody bytes held, or a
// placeholder without its attachment, gives up on that packet.
func (d *Dir) attachment(data []byte, pkt *capture.Packet, start, end int) {
	now := pkt.Timestamp
	b := d.waiting(now)
	if b == nil || !d.hold(b, len(data), now) {
		return
	}
	b.atts = append(b.atts, append([]byte(nil), data...))
	if len(b.atts) < b.p.Attachments {
		return
	}
	d.setWaiting(nil, now)
	joined, err := wire.InlineAttachments(b.p.Data, b.atts)
	if err != nil {
		return
	}
	s := b.p
	l := pkt.AddLayer(capture.ProtoSocketIO)
	l.Start, l.End = start, end
	l.Kind = s.Type.String()
	l.Namespace = d.names.get([]byte(s.Namespace))
	if s.Type == socketio.BinaryEvent {
		if name, ok := socketio.EventName(s.Data); ok {
			l.Name = d.names.get([]byte(name))
		}
	}
	l.Payload = append(l.Payload[:0], joined...)
	l.Number, l.Response = s.ID, s.HasID
	l.Attachments = s.Attachments
	l.Joined = true
}
