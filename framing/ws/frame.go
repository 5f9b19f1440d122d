package ws

import (
	"encoding/binary"
	"strconv"
)

// OpCode is the 4-bit frame type of RFC 6455 section 5.2.
type OpCode byte

// The opcodes of RFC 6455. Values 3-7 and 0xB-0xF are reserved.
const (
	OpContinuation OpCode = 0x0
	OpText         OpCode = 0x1
	OpBinary       OpCode = 0x2
	OpClose        OpCode = 0x8
	OpPing         OpCode = 0x9
	OpPong         OpCode = 0xA
)

// String returns the lower-case name of the opcode ("text", "close", ...),
// or "reserved-0xN" for a reserved value.
func (o OpCode) String() string {
	switch o {
	case OpContinuation:
		return "continuation"
	case OpText:
		return "text"
	case OpBinary:
		return "binary"
	case OpClose:
		return "close"
	case OpPing:
		return "ping"
	case OpPong:
		return "pong"
	}
	return "reserved-0x" + strconv.FormatUint(uint64(o&0xF), 16)
}

// IsControl reports whether o is a control opcode (close, ping, pong, or a
// reserved control value 0xB-0xF).
func (o OpCode) IsControl() bool { return o&0x8 != 0 }

// IsReserved reports whether o is one of the reserved opcodes.
func (o OpCode) IsReserved() bool {
	return (o > OpBinary && o < OpClose) || o > OpPong
}

// MaxHeaderLen is the largest frame header: 2 bytes, an 8-byte length and a
// 4-byte masking key.
const MaxHeaderLen = 14

// MaxControlPayload is the largest payload a control frame may carry.
const MaxControlPayload = 125

// Header is a decoded frame header (RFC 6455 section 5.2).
type Header struct {
	Fin              bool
	Rsv1, Rsv2, Rsv3 bool
	OpCode           OpCode
	Masked           bool
	Mask             [4]byte // valid when Masked
	Length           int64   // payload length, never negative
}

// Len returns the number of bytes AppendHeader writes for h (minimal
// length encoding).
func (h Header) Len() int {
	n := 2
	switch {
	case h.Length > 0xFFFF:
		n += 8
	case h.Length > 125:
		n += 2
	}
	if h.Masked {
		n += 4
	}
	return n
}

// ParseHeader decodes the frame header at the start of b. It returns the
// header, its length in bytes, and ErrShortHeader when b does not yet hold
// the whole header (read more and call again), or ErrLengthOverflow for a
// 64-bit length with its top bit set. It never panics and never allocates.
// It does not check the rules that depend on the connection (masking
// direction, negotiated extensions, opcode rules): see Conn.
func ParseHeader(b []byte) (h Header, n int, err error) {
	if len(b) < 2 {
		return h, 0, ErrShortHeader
	}
	b0, b1 := b[0], b[1]
	h.Fin = b0&0x80 != 0
	h.Rsv1 = b0&0x40 != 0
	h.Rsv2 = b0&0x20 != 0
	h.Rsv3 = b0&0x10 != 0
	h.OpCode = OpCode(b0 & 0x0F)
	h.Masked = b1&0x80 != 0
	n = 2
	switch l := b1 & 0x7F; l {
	case 126:
		if len(b) < 4 {
			return h, 0, ErrShortHeader
		}
		h.Length = int64(binary.BigEndian.Uint16(b[2:]))
		n = 4
	case 127:
		if len(b) < 10 {
			return h, 0, ErrShortHeader
		}
		v := binary.BigEndian.Uint64(b[2:])
		if v>>63 != 0 {
			return h, 0, ErrLengthOverflow
		}
		h.Length = int64(v)
		n = 10
	default:
		h.Length = int64(l)
	}
	if h.Masked {
		if len(b) < n+4 {
			return h, 0, ErrShortHeader
		}
		copy(h.Mask[:], b[n:n+4])
		n += 4
	}
	return h, n, nil
}

// minimalLength reports whether the header b (as accepted by ParseHeader)
// encodes its payload length in the fewest bytes, as RFC 6455 requires.
func minimalLength(b []byte) bool {
	switch b[1] & 0x7F {
	case 126:
		return binary.BigEndian.Uint16(b[2:]) > 125
	case 127:
		return binary.BigEndian.Uint64(b[2:]) > 0xFFFF
	}
	return true
}

// AppendHeader appends the encoding of h to dst (minimal length encoding)
// and returns the extended slice. A negative Length is written as 0.
func AppendHeader(dst []byte, h Header) []byte {
	b0 := byte(h.OpCode & 0x0F)
	if h.Fin {
		b0 |= 0x80
	}
	if h.Rsv1 {
		b0 |= 0x40
	}
	if h.Rsv2 {
		b0 |= 0x20
	}
	if h.Rsv3 {
		b0 |= 0x10
	}
	var b1 byte
	if h.Masked {
		b1 = 0x80
	}
	l := h.Length
	if l < 0 {
		l = 0
	}
	switch {
	case l > 0xFFFF:
		dst = append(dst, b0, b1|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(l))
	case l > 125:
		dst = append(dst, b0, b1|126)
		dst = binary.BigEndian.AppendUint16(dst, uint16(l))
	default:
		dst = append(dst, b0, b1|byte(l))
	}
	if h.Masked {
		dst = append(dst, h.Mask[:]...)
	}
	return dst
}

// AppendFrame appends a whole frame, header and payload, to dst. When
// h.Masked the appended payload is masked with h.Mask (payload itself is not
// modified). h.Length is set from len(payload).
func AppendFrame(dst []byte, h Header, payload []byte) []byte {
	h.Length = int64(len(payload))
	dst = AppendHeader(dst, h)
	start := len(dst)
	dst = append(dst, payload...)
	if h.Masked {
		Mask(h.Mask, 0, dst[start:])
	}
	return dst
}

// Split decodes the first frame of b: its header, its payload (a sub-slice
// of b, still masked if the frame is), and the bytes after it. ok is false
// when b does not yet hold the whole frame; err is non-nil only for bytes
// that can never become a valid frame (ErrLengthOverflow). Split never
// allocates; the capture viewer uses it on reassembled TCP streams.
func Split(b []byte) (h Header, payload, rest []byte, ok bool, err error) {
	h, n, err := ParseHeader(b)
	if err == ErrShortHeader {
		return h, nil, b, false, nil
	}
	if err != nil {
		return h, nil, b, false, err
	}
	if uint64(len(b)-n) < uint64(h.Length) {
		return h, nil, b, false, nil
	}
	end := n + int(h.Length)
	return h, b[n:end:end], b[end:], true, nil
}
