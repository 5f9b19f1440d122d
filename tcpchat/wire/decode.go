package wire

import (
	"encoding/binary"
	"encoding/json"
)

// View is a decoded packet whose variable-length fields alias the payload it
// was parsed from: it is valid only while that payload is. Parse fills it
// without allocating; servers use it on their hot path and Decode turns it
// into a Packet.
type View struct {
	Type         Type
	HasAck       bool
	Resumed      bool
	Redelivered  bool
	Version      uint8
	Code         uint16
	AckID        uint32
	PingInterval uint32
	PingTimeout  uint32
	MaxFrame     uint32
	ResumeOffset uint64
	Offset       uint64
	Namespace    []byte
	Event        []byte
	Args         []byte
	ClientID     []byte
	SessionID    []byte
	Token        []byte
	ResumeToken  []byte
	SocketID     []byte
	Reason       []byte
	MessageID    []byte
}

// Decode decodes one frame payload. It never panics; every error matches
// ErrMalformed (errors.Is) and is a *DecodeError saying where and why.
func Decode(b []byte) (Packet, error) {
	var v View
	if err := Parse(b, &v); err != nil {
		return Packet{}, err
	}
	return v.Packet(), nil
}

// Packet copies the view into a Packet that owns its memory.
func (v *View) Packet() Packet {
	p := Packet{
		Type:         v.Type,
		Namespace:    string(v.Namespace),
		Event:        string(v.Event),
		HasAck:       v.HasAck,
		AckID:        v.AckID,
		Version:      v.Version,
		ClientID:     string(v.ClientID),
		SessionID:    string(v.SessionID),
		ResumeOffset: v.ResumeOffset,
		Token:        string(v.Token),
		ResumeToken:  string(v.ResumeToken),
		PingInterval: v.PingInterval,
		PingTimeout:  v.PingTimeout,
		MaxFrame:     v.MaxFrame,
		Resumed:      v.Resumed,
		Redelivered:  v.Redelivered,
		SocketID:     string(v.SocketID),
		Reason:       string(v.Reason),
		Code:         v.Code,
		MessageID:    string(v.MessageID),
		Offset:       v.Offset,
	}
	if len(v.Args) > 0 {
		p.Args = append(json.RawMessage(nil), v.Args...)
	}
	return p
}

// decoder walks a payload; the first error sticks.
type decoder struct {
	b   []byte
	off int
	t   Type
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = &DecodeError{Type: d.t, Offset: d.off, What: what}
	}
}

func (d *decoder) need(n int, what string) bool {
	if d.err != nil {
		return false
	}
	if len(d.b)-d.off < n {
		d.fail("truncated " + what)
		return false
	}
	return true
}

func (d *decoder) u8(what string) uint8 {
	if !d.need(1, what) {
		return 0
	}
	d.off++
	return d.b[d.off-1]
}

func (d *decoder) u16(what string) uint16 {
	if !d.need(2, what) {
		return 0
	}
	d.off += 2
	return binary.BigEndian.Uint16(d.b[d.off-2:])
}

func (d *decoder) u32(what string) uint32 {
	if !d.need(4, what) {
		return 0
	}
	d.off += 4
	return binary.BigEndian.Uint32(d.b[d.off-4:])
}

func (d *decoder) u64(what string) uint64 {
	if !d.need(8, what) {
		return 0
	}
	d.off += 8
	return binary.BigEndian.Uint64(d.b[d.off-8:])
}

func (d *decoder) bytes(n int, what string) []byte {
	if !d.need(n, what) {
		return nil
	}
	d.off += n
	return d.b[d.off-n : d.off : d.off]
}

// str8 reads a string with a one-byte length. It names the length field
// only when it fails: building that name for every string cost a string
// concatenation per field of every packet.
func (d *decoder) str8(what string) []byte {
	if d.err != nil {
		return nil
	}
	if d.off >= len(d.b) {
		d.fail("truncated " + what + " length")
		return nil
	}
	n := int(d.b[d.off])
	d.off++
	return d.bytes(n, what)
}

// optStr8 is a str8 at the end of a packet that may be absent.
// optStr8 reads an optional last str8 field: absent when the packet ends
// before it. Present, it may not be empty (an encoder leaves an empty
// field out), so that every packet has one encoding.
func (d *decoder) optStr8(what string) []byte {
	if d.err != nil || d.off == len(d.b) {
		return nil
	}
	v := d.str8(what)
	if d.err == nil && len(v) == 0 {
		d.fail("empty " + what + " (leave it out instead)")
	}
	return v
}

func (d *decoder) rest() []byte {
	if d.err != nil {
		return nil
	}
	r := d.b[d.off:len(d.b):len(d.b)]
	d.off = len(d.b)
	return r
}

func (d *decoder) end() {
	if d.err == nil && d.off != len(d.b) {
		d.fail("trailing bytes")
	}
}

// jsonArray checks the shape of event and ack arguments: empty, or
// starting with '[' and ending with ']'. Full JSON validation is left to
// the receiver that needs it (a server validates what clients send; a
// client trusts its server), so that decoding stays cheap.
func (d *decoder) jsonArray(b []byte) {
	if d.err != nil || len(b) == 0 {
		return
	}
	if b[0] != '[' || b[len(b)-1] != ']' {
		d.off -= len(b)
		d.fail("arguments are not a JSON array")
	}
}

// Parse decodes one frame payload into v without allocating; v's slices
// alias b. It never panics; every error matches ErrMalformed.
func Parse(b []byte, v *View) error {
	if parseEvent(b, v) {
		return nil
	}
	return parse(b, v)
}

// parseEvent is parse for a well-formed event, the packet parsed most,
// without the decoder's bookkeeping: it sets v and reports true, or
// reports false (leaving v alone) for parse to take it, and to say what
// is wrong with it.
func parseEvent(b []byte, v *View) bool {
	if len(b) < 4 || Type(b[0]) != TypeEvent || b[1]&^FlagAck != 0 {
		return false
	}
	i := 3 + int(b[2])
	if i >= len(b) {
		return false
	}
	ns := b[3:i:i]
	j := i + 1 + int(b[i])
	if j > len(b) {
		return false
	}
	event := b[i+1 : j : j]
	var id uint32
	hasAck := b[1] == FlagAck
	if hasAck {
		if len(b)-j < 4 {
			return false
		}
		id = binary.BigEndian.Uint32(b[j:])
		j += 4
	}
	args := b[j:len(b):len(b)]
	if len(args) > 0 && (args[0] != '[' || args[len(args)-1] != ']') {
		return false
	}
	*v = View{} // then field by field: a composite literal was built aside and copied
	v.Type, v.HasAck, v.AckID = TypeEvent, hasAck, id
	v.Namespace, v.Event, v.Args = ns, event, args
	return true
}

// parse is Parse for every packet.
func parse(b []byte, v *View) error {
	*v = View{}
	if len(b) == 0 {
		return ErrEmpty
	}
	d := decoder{b: b, t: Type(b[0])}
	v.Type = Type(d.u8("type"))
	if !v.Type.Known() {
		d.off = 0
		d.fail("unknown packet type")
		return d.err
	}
	flags := d.u8("flags")
	if flags&^flagsKnown != 0 {
		d.off--
		d.fail("unknown flag bits")
		return d.err
	}
	v.HasAck = flags&FlagAck != 0
	v.Resumed = flags&FlagResumed != 0
	v.Redelivered = flags&FlagRedelivered != 0
	if v.HasAck && v.Type != TypeEvent && v.Type != TypeQueued {
		d.off--
		d.fail("ack flag on a packet that cannot ask for an ack")
	}
	if v.Resumed && v.Type != TypeWelcome {
		d.off--
		d.fail("resumed flag outside a welcome")
	}
	if v.Redelivered && v.Type != TypeQueued {
		d.off--
		d.fail("redelivered flag outside a queued event")
	}
	v.Namespace = d.str8("namespace")
	switch v.Type {
	case TypeHandshake:
		v.Version = d.u8("version")
		v.ClientID = d.str8("client id")
		v.SessionID = d.str8("session id")
		v.ResumeOffset = d.u64("resume offset")
		n := d.u16("token length")
		v.Token = d.bytes(int(n), "token")
		v.ResumeToken = d.optStr8("resume token")
		d.end()
	case TypeWelcome:
		v.Version = d.u8("version")
		v.ClientID = d.str8("client id")
		v.SessionID = d.str8("session id")
		v.PingInterval = d.u32("ping interval")
		v.PingTimeout = d.u32("ping timeout")
		v.MaxFrame = d.u32("max frame")
		v.ResumeToken = d.optStr8("resume token")
		d.end()
	case TypeConnect:
		v.SocketID = d.str8("socket id")
		v.Args = d.rest()
		if len(v.Args) > 0 && !ValidJSON(v.Args) {
			d.off -= len(v.Args)
			d.fail("connect data is not JSON")
		}
	case TypeConnectError, TypeDisconnect:
		v.Reason = d.rest()
	case TypeEvent:
		v.Event = d.str8("event name")
		if v.HasAck {
			v.AckID = d.u32("ack id")
		}
		v.Args = d.rest()
		d.jsonArray(v.Args)
	case TypeAck:
		v.AckID = d.u32("ack id")
		v.Args = d.rest()
		d.jsonArray(v.Args)
	case TypePing, TypePong:
		d.end()
	case TypeError:
		v.Code = d.u16("error code")
		v.Reason = d.rest()
	case TypeQueued:
		v.Event = d.str8("event name")
		if v.HasAck {
			v.AckID = d.u32("ack id")
		}
		v.MessageID = d.str8("message id")
		v.Offset = d.u64("offset")
		v.Args = d.rest()
		d.jsonArray(v.Args)
	case TypeGetAll:
		v.Offset = d.u64("offset")
		d.end()
	case TypeReceived:
		v.MessageID = d.str8("message id")
		v.Offset = d.u64("offset")
		d.end()
	}
	if d.err != nil {
		*v = View{Type: v.Type}
	}
	return d.err
}
