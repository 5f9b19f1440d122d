package udpcast

import "encoding/binary"

// Wire constants of the wiredojo-udp header.
const (
	// Magic starts every wiredojo-udp datagram.
	Magic = "WDUP"
	// Version is the header version this package writes.
	Version = 1
	// HeaderLen is the length of a version 1 header; the smallest datagram
	// a sender can emit.
	HeaderLen = 32
)

// FlagEnd marks an end-of-run datagram: it carries no measured payload and
// its Seq is the number of data datagrams the run sent (sequence numbers
// 0..Seq-1). Senders repeat it a few times after the last data datagram so a
// receiver learns the exact count even when the last datagrams are lost.
const FlagEnd uint8 = 1 << 0

// Header is the decoded wiredojo-udp header. The zero value is valid.
type Header struct {
	RunID  uint64 // random per sender run; tells runs apart
	Seq    uint64 // 0 for the first data datagram of a run, then +1 each
	SentNS int64  // sender's clock when the datagram was sent, Unix ns
	Flags  uint8  // FlagEnd or 0
}

// End reports whether h marks the end of a run.
func (h Header) End() bool { return h.Flags&FlagEnd != 0 }

// AppendTo appends the encoded header (HeaderLen bytes) to dst and returns
// the extended slice. It does not allocate when dst has room.
func (h Header) AppendTo(dst []byte) []byte {
	dst = append(dst, Magic...)
	dst = append(dst, Version, h.Flags, 0, HeaderLen)
	dst = binary.BigEndian.AppendUint64(dst, h.RunID)
	dst = binary.BigEndian.AppendUint64(dst, h.Seq)
	return binary.BigEndian.AppendUint64(dst, uint64(h.SentNS))
}

// Put writes the header into b[:HeaderLen] in place (b must be at least
// HeaderLen long) and returns HeaderLen. Senders use it to restamp a
// prepared datagram.
func (h Header) Put(b []byte) int {
	_ = b[HeaderLen-1]
	copy(b, Magic)
	b[4], b[5], b[6], b[7] = Version, h.Flags, 0, HeaderLen
	binary.BigEndian.PutUint64(b[8:], h.RunID)
	binary.BigEndian.PutUint64(b[16:], h.Seq)
	binary.BigEndian.PutUint64(b[24:], uint64(h.SentNS))
	return HeaderLen
}

// IsDatagram reports whether b starts with the wiredojo-udp magic, the
// cheap test a capture decoder uses before DecodeHeader.
func IsDatagram(b []byte) bool {
	return len(b) >= len(Magic) && string(b[:len(Magic)]) == Magic
}

// DecodeHeader decodes the header at the start of b and returns it with the
// payload that follows (a sub-slice of b, not a copy). It never panics and
// does not allocate.
//
// Errors: ErrShort, ErrBadMagic, ErrVersion, ErrHeaderLen. A header longer
// than HeaderLen (a later minor extension) is skipped as its length field
// says.
func DecodeHeader(b []byte) (Header, []byte, error) {
	if len(b) < 8 {
		n := min(len(b), len(Magic))
		if string(b[:n]) == Magic[:n] {
			return Header{}, nil, ErrShort
		}
		return Header{}, nil, ErrBadMagic
	}
	if !IsDatagram(b) {
		return Header{}, nil, ErrBadMagic
	}
	if b[4] != Version {
		return Header{}, nil, ErrVersion
	}
	hl := int(binary.BigEndian.Uint16(b[6:8]))
	if hl < HeaderLen {
		return Header{}, nil, ErrHeaderLen
	}
	if len(b) < hl {
		return Header{}, nil, ErrShort
	}
	h := Header{
		Flags:  b[5],
		RunID:  binary.BigEndian.Uint64(b[8:]),
		Seq:    binary.BigEndian.Uint64(b[16:]),
		SentNS: int64(binary.BigEndian.Uint64(b[24:])),
	}
	return h, b[hl:], nil
}
