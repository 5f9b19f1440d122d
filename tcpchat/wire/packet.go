package wire

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"
)

// Version is the protocol version this package speaks; it travels in the
// handshake and its answer.
const Version = 1

// Preamble is what a framed client sends first, before any frame: "WDJO" and
// the protocol version. A server reads it to tell the framed protocol from
// HTTP ("GET ...") and TLS (0x16).
var Preamble = []byte{'W', 'D', 'J', 'O', Version}

// Limits of the variable-length fields.
const (
	MaxNamespace = 255   // bytes in a namespace name
	MaxEvent     = 255   // bytes in an event name
	MaxShortText = 255   // bytes in a client id, session id, socket id or message id
	MaxToken     = 65535 // bytes in a handshake token
)

// Type is the first byte of every packet. The values are printable ASCII so
// that a hex dump shows them.
type Type byte

// Packet types.
const (
	TypeHandshake    Type = 'H' // client -> server, first frame: version, client id, resume position, token
	TypeWelcome      Type = 'W' // server -> client: session id, heartbeat, limits, resumed
	TypeConnect      Type = 'C' // client asks to join a namespace (auth in Args); server confirms with the socket id
	TypeConnectError Type = 'X' // server refuses a namespace; Reason says why
	TypeDisconnect   Type = 'D' // either side leaves a namespace; Reason says why
	TypeEvent        Type = 'E' // a named event with JSON arguments, optionally asking for an ack
	TypeAck          Type = 'A' // the answer to an event that asked for one
	TypePing         Type = 'P' // heartbeat, server -> client
	TypePong         Type = 'O' // heartbeat answer, client -> server
	TypeError        Type = '!' // a connection-level error (Code, Reason); the sender closes after it
	TypeQueued       Type = 'Q' // a durable event: an event plus message id and queue offset (issue 4)
	TypeGetAll       Type = 'G' // client asks for every queued event from an offset (issue 4)
	TypeReceived     Type = 'V' // client acknowledges one durable event (issue 4)
)

var typeNames = [256]string{
	TypeHandshake:    "handshake",
	TypeWelcome:      "welcome",
	TypeConnect:      "connect",
	TypeConnectError: "connect-error",
	TypeDisconnect:   "disconnect",
	TypeEvent:        "event",
	TypeAck:          "ack",
	TypePing:         "ping",
	TypePong:         "pong",
	TypeError:        "error",
	TypeQueued:       "queued-event",
	TypeGetAll:       "getAll",
	TypeReceived:     "received",
}

// String returns the packet type's name, or "type(0xNN)" for an unknown one.
func (t Type) String() string {
	if s := typeNames[t]; s != "" {
		return s
	}
	return fmt.Sprintf("type(0x%02x)", byte(t))
}

// Known reports whether t is a packet type of this version.
func (t Type) Known() bool { return typeNames[t] != "" }

// Flag bits, the second byte of every packet.
const (
	FlagAck     = 1 << 0 // event or queued event: an ack id follows the event name
	FlagResumed = 1 << 1 // welcome: the session was resumed
	// FlagRedelivered marks a queued event the server already sent to this
	// client id before (it was not acknowledged).
	FlagRedelivered = 1 << 2
	flagsKnown      = FlagAck | FlagResumed | FlagRedelivered
)

// Error codes carried by TypeError packets.
const (
	CodeBadPacket     uint16 = 1 // the payload did not decode
	CodeFrameTooLarge uint16 = 2 // a frame exceeded the limit announced in the welcome
	CodeRateLimited   uint16 = 3 // the per-connection rate limit was exceeded
	CodeSlowConsumer  uint16 = 4 // the send queue overflowed (rarely deliverable)
	CodeHandshake     uint16 = 5 // handshake missing, late or of an unsupported version
	CodeUnauthorized  uint16 = 6 // the handshake's access token was refused
	CodeShutdown      uint16 = 7 // the server is shutting down
	CodeHeartbeat     uint16 = 8 // no packet within heartbeat interval + timeout
	CodeProtocol      uint16 = 9 // a well-formed packet that is not allowed here
	// CodeTooManyConnections refuses a new connection: the server, or the
	// client's address, is at a connection limit; retry later.
	CodeTooManyConnections uint16 = 10
	// CodeClientIDTaken refuses a handshake whose client id belongs to
	// another client: it did not carry that id's resume token.
	CodeClientIDTaken uint16 = 11
	// CodeUnavailable refuses a handshake the server cannot check now
	// (its store did not answer); retry later.
	CodeUnavailable uint16 = 12
)

// Packet is one decoded packet. Which fields a type uses is listed in
// docs/PROTOCOL.md; the others stay zero. A Packet holds no reference to the
// payload it was decoded from.
type Packet struct {
	Type      Type
	Namespace string          // connect, connect-error, disconnect, event, ack, queued, getAll, received
	Event     string          // event, queued
	Args      json.RawMessage // event, ack, queued: a JSON array; connect: auth (client) or nothing
	HasAck    bool            // event, queued: AckID is meaningful (FlagAck)
	AckID     uint32          // event, queued (when HasAck), ack

	// Handshake and welcome.
	Version      uint8
	ClientID     string // handshake: the client's durable id (may be empty); welcome: the id in force
	SessionID    string // handshake: a session to resume (may be empty); welcome: the session id
	ResumeOffset uint64 // handshake: last offset the client has seen
	Token        string // handshake: the server's access token, if any
	// ResumeToken is the secret of ClientID (handshake: the one the client
	// was given; welcome: the one in force). Empty, it is left out of the
	// encoding: older peers' packets end before it.
	ResumeToken  string
	PingInterval uint32 // welcome: heartbeat interval in milliseconds
	PingTimeout  uint32 // welcome: heartbeat timeout in milliseconds
	MaxFrame     uint32 // welcome: largest frame payload the server accepts
	Resumed      bool   // welcome: FlagResumed
	Redelivered  bool   // queued: FlagRedelivered

	SocketID string // connect (server -> client): the socket id in the namespace

	Reason string // connect-error, disconnect, error: human-readable text
	Code   uint16 // error

	// Durable queues (issue 4).
	MessageID string // queued, received
	Offset    uint64 // queued, received, getAll (from)
}

// Interval returns PingInterval as a duration.
func (p *Packet) Interval() time.Duration { return time.Duration(p.PingInterval) * time.Millisecond }

// Timeout returns PingTimeout as a duration.
func (p *Packet) Timeout() time.Duration { return time.Duration(p.PingTimeout) * time.Millisecond }

// AppendTo appends the packet's encoding (a frame payload, without the length
// prefix) to dst and returns the extended slice. It does not allocate when
// dst has room. Strings longer than their field's limit are cut to the limit;
// Validate reports them beforehand.
func (p *Packet) AppendTo(dst []byte) []byte {
	var flags byte
	if p.HasAck && (p.Type == TypeEvent || p.Type == TypeQueued) {
		flags |= FlagAck
	}
	if p.Resumed && p.Type == TypeWelcome {
		flags |= FlagResumed
	}
	if p.Redelivered && p.Type == TypeQueued {
		flags |= FlagRedelivered
	}
	dst = append(dst, byte(p.Type), flags)
	dst = appendStr8(dst, p.Namespace)
	switch p.Type {
	case TypeHandshake:
		dst = append(dst, p.Version)
		dst = appendStr8(dst, p.ClientID)
		dst = appendStr8(dst, p.SessionID)
		dst = binary.BigEndian.AppendUint64(dst, p.ResumeOffset)
		tok := p.Token
		if len(tok) > MaxToken {
			tok = tok[:MaxToken]
		}
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(tok)))
		dst = append(dst, tok...)
		if p.ResumeToken != "" {
			dst = appendStr8(dst, p.ResumeToken)
		}
	case TypeWelcome:
		dst = append(dst, p.Version)
		dst = appendStr8(dst, p.ClientID)
		dst = appendStr8(dst, p.SessionID)
		dst = binary.BigEndian.AppendUint32(dst, p.PingInterval)
		dst = binary.BigEndian.AppendUint32(dst, p.PingTimeout)
		dst = binary.BigEndian.AppendUint32(dst, p.MaxFrame)
		if p.ResumeToken != "" {
			dst = appendStr8(dst, p.ResumeToken)
		}
	case TypeConnect:
		dst = appendStr8(dst, p.SocketID)
		dst = append(dst, p.Args...)
	case TypeConnectError, TypeDisconnect:
		dst = append(dst, p.Reason...)
	case TypeEvent:
		dst = appendStr8(dst, p.Event)
		if flags&FlagAck != 0 {
			dst = binary.BigEndian.AppendUint32(dst, p.AckID)
		}
		dst = append(dst, p.Args...)
	case TypeAck:
		dst = binary.BigEndian.AppendUint32(dst, p.AckID)
		dst = append(dst, p.Args...)
	case TypeError:
		dst = binary.BigEndian.AppendUint16(dst, p.Code)
		dst = append(dst, p.Reason...)
	case TypeQueued:
		dst = appendStr8(dst, p.Event)
		if flags&FlagAck != 0 {
			dst = binary.BigEndian.AppendUint32(dst, p.AckID)
		}
		dst = appendStr8(dst, p.MessageID)
		dst = binary.BigEndian.AppendUint64(dst, p.Offset)
		dst = append(dst, p.Args...)
	case TypeGetAll:
		dst = binary.BigEndian.AppendUint64(dst, p.Offset)
	case TypeReceived:
		dst = appendStr8(dst, p.MessageID)
		dst = binary.BigEndian.AppendUint64(dst, p.Offset)
	}
	return dst
}

// Validate reports a packet that AppendTo could not encode faithfully: an
// unknown type or a field longer than its limit.
func (p *Packet) Validate() error {
	if !p.Type.Known() {
		return fmt.Errorf("wire: cannot encode unknown packet type 0x%02x", byte(p.Type))
	}
	for _, f := range []struct {
		name string
		v    string
	}{{"namespace", p.Namespace}, {"event name", p.Event}, {"client id", p.ClientID},
		{"session id", p.SessionID}, {"resume token", p.ResumeToken}, {"socket id", p.SocketID}, {"message id", p.MessageID}} {
		if len(f.v) > MaxShortText {
			return fmt.Errorf("wire: %s of %d bytes exceeds the limit of %d bytes", f.name, len(f.v), MaxShortText)
		}
	}
	if len(p.Token) > MaxToken {
		return fmt.Errorf("wire: token of %d bytes exceeds the limit of %d bytes", len(p.Token), MaxToken)
	}
	return nil
}

func appendStr8(dst []byte, s string) []byte {
	if len(s) > MaxShortText {
		s = s[:MaxShortText]
	}
	dst = append(dst, byte(len(s)))
	return append(dst, s...)
}
