package engineio

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strconv"
)

// Protocol is the Engine.IO protocol version this package speaks, the
// value of the EIO query parameter.
const Protocol = 4

// Separator is the record separator between packets in a long-polling
// body.
const Separator = 0x1e

// Type is an Engine.IO packet type; on the wire it is one ASCII digit.
type Type byte

// The packet types.
const (
	Open    Type = 0 // server to client: the session's parameters (JSON)
	Close   Type = 1 // either side: the session ends
	Ping    Type = 2 // server to client (or "2probe" from a client upgrading)
	Pong    Type = 3 // the answer to a ping ("3probe" for the probe)
	Message Type = 4 // application data
	Upgrade Type = 5 // client to server: switch to the probed transport
	Noop    Type = 6 // nothing; ends a pending poll during an upgrade
)

var typeNames = [...]string{"OPEN", "CLOSE", "PING", "PONG", "MESSAGE", "UPGRADE", "NOOP"}

func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "TYPE(" + strconv.Itoa(int(t)) + ")"
}

// Packet is one Engine.IO packet.
type Packet struct {
	Type Type
	// Binary marks a binary message (Type is then Message): it travels as
	// a WebSocket binary message, or base64 with a "b" prefix in a polling
	// body.
	Binary bool
	// Data is what follows the type (for "2probe", "probe"), or the bytes
	// of a binary message. A decoded text packet's Data aliases the input.
	Data []byte
	// Encoded marks a text packet whose Data is its whole text, the type
	// digit included, as AppendText makes it: encoded once by the sender
	// (a broadcast's packet, alike for every recipient) and written as it
	// is. Decoding never sets it.
	Encoded bool
}

// IsProbe reports whether p is the upgrade probe, "2probe" or "3probe".
func (p Packet) IsProbe() bool {
	return (p.Type == Ping || p.Type == Pong) && !p.Binary && string(p.Data) == "probe"
}

// DecodeText decodes a packet sent as text: a WebSocket text message or one
// record of a polling body. A record that starts with "b" is a binary
// message in base64; its Data is a new slice. Otherwise Data aliases b.
func DecodeText(b []byte) (Packet, error) {
	if len(b) == 0 {
		return Packet{}, &DecodeError{0, "empty packet"}
	}
	c := b[0]
	if c == 'b' {
		data := make([]byte, base64.StdEncoding.DecodedLen(len(b)-1))
		n, err := base64.StdEncoding.Decode(data, b[1:])
		if err != nil {
			off := 1
			if ce, ok := err.(base64.CorruptInputError); ok {
				off += int(ce)
			}
			return Packet{}, &DecodeError{off, "bad base64 in a binary record"}
		}
		return Packet{Type: Message, Binary: true, Data: data[:n]}, nil
	}
	if c < '0' || c > '6' {
		return Packet{}, &DecodeError{0, "unknown packet type " + strconv.QuoteRune(rune(c))}
	}
	p := Packet{Type: Type(c - '0')}
	if len(b) > 1 {
		p.Data = b[1:]
	}
	return p, nil
}

// DecodeBinary decodes a WebSocket binary message: a binary Message packet
// whose Data aliases b.
func DecodeBinary(b []byte) Packet {
	return Packet{Type: Message, Binary: true, Data: b}
}

// AppendText appends p as text, the form of a WebSocket text message or of
// a polling record: the type digit and Data, or for a binary packet "b" and
// Data in base64. An Encoded packet's Data is appended as it is.
func AppendText(dst []byte, p Packet) []byte {
	if p.Encoded {
		return append(dst, p.Data...)
	}
	if p.Binary {
		dst = append(dst, 'b')
		return base64.StdEncoding.AppendEncode(dst, p.Data)
	}
	dst = append(dst, '0'+byte(p.Type))
	return append(dst, p.Data...)
}

// AppendPayload appends a long-polling body: the packets as text, joined
// by Separator.
func AppendPayload(dst []byte, ps ...Packet) []byte {
	for i, p := range ps {
		if i > 0 {
			dst = append(dst, Separator)
		}
		dst = AppendText(dst, p)
	}
	return dst
}

// NextPacket decodes the first packet of a long-polling body and returns
// the rest of the body after its separator (empty after the last packet).
// An empty body, or an empty record, is malformed.
func NextPacket(body []byte) (p Packet, rest []byte, err error) {
	rec := body
	if i := bytes.IndexByte(body, Separator); i >= 0 {
		rec, rest = body[:i], body[i+1:]
		if len(rest) == 0 {
			return Packet{}, nil, &DecodeError{i, "separator after the last packet"}
		}
	}
	p, err = DecodeText(rec)
	return p, rest, err
}

// Handshake is the JSON of the open packet: what a server tells a new
// session.
type Handshake struct {
	SID          string   `json:"sid"`
	Upgrades     []string `json:"upgrades"`
	PingInterval int      `json:"pingInterval"` // milliseconds
	PingTimeout  int      `json:"pingTimeout"`  // milliseconds
	MaxPayload   int      `json:"maxPayload"`   // bytes
}

// OpenPacket returns the open packet that carries h.
func OpenPacket(h Handshake) Packet {
	if h.Upgrades == nil {
		h.Upgrades = []string{}
	}
	b, _ := json.Marshal(h) // strings, ints and a slice of strings: cannot fail
	return Packet{Type: Open, Data: b}
}

// ParseHandshake reads the JSON of an open packet.
func ParseHandshake(p Packet) (Handshake, error) {
	var h Handshake
	if p.Type != Open || p.Binary {
		return h, &DecodeError{0, "not an open packet"}
	}
	if err := json.Unmarshal(p.Data, &h); err != nil || h.SID == "" {
		return h, &DecodeError{1, "open packet without a valid handshake"}
	}
	return h, nil
}
