package socketio

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/wiredojo/wiredojo/tcpchat/wire"
)

// Protocol is the Socket.IO protocol version this package speaks.
const Protocol = 5

// MaxAttachments bounds the attachment count of a binary packet, as the
// reference parser does by default.
const MaxAttachments = 10

// MaxAckID is the largest ack id accepted: the largest integer a
// JavaScript number holds exactly.
const MaxAckID = 1<<53 - 1

// maxNamespace bounds a namespace name.
const maxNamespace = 256

// Type is a Socket.IO packet type; on the wire it is one ASCII digit.
type Type byte

// The packet types.
const (
	Connect      Type = 0 // client: join a namespace (auth object); server: accepted ({"sid":...})
	Disconnect   Type = 1 // leave a namespace
	Event        Type = 2 // ["name", args...], with an ack id when an answer is wanted
	Ack          Type = 3 // [args...], the answer to the event with the same id
	ConnectError Type = 4 // server: CONNECT refused ({"message":...})
	BinaryEvent  Type = 5 // an Event with binary attachments
	BinaryAck    Type = 6 // an Ack with binary attachments
)

var typeNames = [...]string{"CONNECT", "DISCONNECT", "EVENT", "ACK", "CONNECT_ERROR", "BINARY_EVENT", "BINARY_ACK"}

func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "TYPE(" + strconv.Itoa(int(t)) + ")"
}

// IsBinary reports whether t carries attachments (BinaryEvent, BinaryAck).
func (t Type) IsBinary() bool { return t == BinaryEvent || t == BinaryAck }

// Packet is one Socket.IO packet: the text part (attachments, if any,
// follow it as separate binary Engine.IO messages).
type Packet struct {
	Type Type
	// Namespace is "/" for the main namespace (written by omission).
	Namespace string
	// Attachments is the number of binary attachments that follow a
	// BinaryEvent or BinaryAck (0 for the other types).
	Attachments int
	// ID is the ack id, when HasID.
	ID    uint64
	HasID bool
	// Data is the JSON payload, nil when there is none. A decoded packet's
	// Data aliases the input.
	Data []byte
}

// Decode decodes the text of a Socket.IO packet (the data of an Engine.IO
// message). It allocates only for a namespace other than "/".
func Decode(b []byte) (Packet, error) {
	var p Packet
	err := DecodeInto(b, &p)
	return p, err
}

// DecodeInto is Decode into *p, for a reader that decodes packet after
// packet: p.Namespace is kept when b names the same namespace again, so
// that one namespace's traffic allocates nothing.
func DecodeInto(b []byte, p *Packet) error { return decodeInto(b, p, false) }

// DecodeRouting is DecodeInto for a reader that validates the JSON of
// EVENT and ACK payloads itself, as a server that relays them does before
// it relays them: of those two it checks the shape DecodeInto checks (an
// array; an event's name, not a reserved one) but not that the rest is
// JSON. Every other packet it checks as DecodeInto does.
func DecodeRouting(b []byte, p *Packet) error { return decodeInto(b, p, true) }

func decodeInto(b []byte, p *Packet, routing bool) error {
	ns := p.Namespace
	*p = Packet{}
	if len(b) == 0 {
		return &DecodeError{0, "empty packet"}
	}
	if b[0] < '0' || b[0] > '6' {
		return &DecodeError{0, "unknown packet type " + strconv.QuoteRune(rune(b[0]))}
	}
	p.Type = Type(b[0] - '0')
	i := 1
	if p.Type.IsBinary() {
		j := i
		n := 0
		for j < len(b) && b[j] >= '0' && b[j] <= '9' && j-i < 3 {
			n = n*10 + int(b[j]-'0')
			j++
		}
		if j == i || j >= len(b) || b[j] != '-' {
			return &DecodeError{i, "bad attachment count"}
		}
		if n > MaxAttachments {
			return &DecodeError{i, "more than " + strconv.Itoa(MaxAttachments) + " attachments"}
		}
		p.Attachments = n
		i = j + 1
	}
	p.Namespace = "/"
	if i < len(b) && b[i] == '/' {
		j := bytes.IndexByte(b[i:], ',')
		end, next := len(b), len(b)
		if j >= 0 {
			end, next = i+j, i+j+1
		}
		if end-i > maxNamespace {
			return &DecodeError{i, "namespace too long"}
		}
		if end-i > 1 {
			if p.Namespace = ns; string(b[i:end]) != ns {
				p.Namespace = string(b[i:end])
			}
		}
		i = next
	}
	if i < len(b) && b[i] >= '0' && b[i] <= '9' {
		j := i
		var id uint64
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			id = id*10 + uint64(b[j]-'0')
			if id > MaxAckID {
				return &DecodeError{i, "ack id too large"}
			}
			j++
		}
		p.ID, p.HasID = id, true
		i = j
	}
	if i < len(b) {
		p.Data = b[i:]
		if !(routing && (p.Type == Event || p.Type == Ack)) && !wire.ValidJSON(p.Data) {
			return &DecodeError{i, "payload is not JSON"}
		}
	}
	if what := checkPayload(p.Type, p.Data); what != "" {
		return &DecodeError{i, what}
	}
	return nil
}

// reserved are the event names a client may not emit.
var reserved = []string{"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"}

// checkPayload says what is wrong with the shape of a packet's JSON
// payload (valid JSON, or nil), or "" when nothing is.
func checkPayload(t Type, data []byte) string {
	first, second := firstByte(data)
	switch t {
	case Connect:
		if data != nil && first != '{' {
			return "CONNECT payload is not an object"
		}
	case Disconnect:
		if data != nil {
			return "DISCONNECT with a payload"
		}
	case ConnectError:
		if first != '{' && first != '"' {
			return "CONNECT_ERROR payload is neither an object nor a string"
		}
	case Event, BinaryEvent:
		if first != '[' {
			return "event payload is not an array"
		}
		if second == '"' {
			if raw, escaped := rawEventName(data); escaped {
				if name, ok := EventName(data); !ok || isReserved([]byte(name)) {
					return "reserved event name"
				}
			} else if isReserved(raw) {
				return "reserved event name"
			}
		} else if !(second == '-' || second >= '0' && second <= '9') {
			return "event payload does not start with an event name"
		}
	case Ack, BinaryAck:
		if first != '[' {
			return "ack payload is not an array"
		}
	}
	return ""
}

func isReserved(name []byte) bool {
	for _, r := range reserved {
		if string(name) == r { // no allocation: a comparison
			return true
		}
	}
	return false
}

// firstByte returns the first byte of a JSON value and, for an array, the
// first byte of its first element (0 when absent).
func firstByte(data []byte) (first, second byte) {
	i := skipSpace(data, 0)
	if i == len(data) {
		return 0, 0
	}
	first = data[i]
	if first == '[' {
		if j := skipSpace(data, i+1); j < len(data) {
			second = data[j]
		}
	}
	return first, second
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// rawEventName returns the bytes between the quotes of the first element
// of an array that starts with a string (valid JSON), and whether they hold
// an escape.
func rawEventName(data []byte) (raw []byte, escaped bool) {
	i := skipSpace(data, skipSpace(data, 0)+1) // data starts with '[' here
	start := i + 1
	for j := start; j < len(data); j++ {
		switch data[j] {
		case '"':
			return data[start:j], false
		case '\\':
			return nil, true
		}
	}
	return nil, true
}

// EventName returns the event name of an EVENT payload (a JSON array whose
// first element is a string), and false when the payload has none. It
// allocates only for names with escapes.
func EventName(data []byte) (string, bool) {
	i := skipSpace(data, 0)
	if i == len(data) || data[i] != '[' {
		return "", false
	}
	i = skipSpace(data, i+1)
	if i == len(data) || data[i] != '"' {
		return "", false
	}
	start := i + 1
	for j := start; j < len(data); j++ {
		switch data[j] {
		case '"':
			return string(data[start:j]), true
		case '\\':
			// Escapes: let encoding/json read the string.
			var s string
			dec := json.NewDecoder(bytes.NewReader(data[i:]))
			if err := dec.Decode(&s); err != nil {
				return "", false
			}
			return s, true
		}
	}
	return "", false
}

// AppendTo appends the text of p: the type, the attachment count, the
// namespace (unless "/"), the ack id and the JSON payload.
func (p Packet) AppendTo(dst []byte) []byte {
	dst = append(dst, '0'+byte(p.Type))
	if p.Type.IsBinary() {
		dst = strconv.AppendInt(dst, int64(p.Attachments), 10)
		dst = append(dst, '-')
	}
	if p.Namespace != "" && p.Namespace != "/" {
		dst = append(dst, p.Namespace...)
		dst = append(dst, ',')
	}
	if p.HasID {
		dst = strconv.AppendUint(dst, p.ID, 10)
	}
	return append(dst, p.Data...)
}
