package framing

import (
	"encoding/binary"
	"io"
)

var errUnexpectedEOF = io.ErrUnexpectedEOF

// HeaderLen is the size of a frame header: a big-endian uint32 length.
const HeaderLen = 4

// DefaultMaxFrame is the default payload limit, 1 MiB.
const DefaultMaxFrame = 1 << 20

// AppendFrame appends the frame carrying payload to dst and returns the
// extended slice. It does not allocate when dst has room.
func AppendFrame(dst, payload []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(payload)))
	return append(dst, payload...)
}

// PutHeader writes the header of a frame with an n-byte payload into
// b[:HeaderLen]. It panics if b is shorter than HeaderLen, like
// binary.BigEndian.PutUint32.
func PutHeader(b []byte, n int) { binary.BigEndian.PutUint32(b, uint32(n)) }

// ParseHeader returns the payload length announced by the header at the start
// of b, or ErrShortHeader when b holds fewer than HeaderLen bytes.
func ParseHeader(b []byte) (uint32, error) {
	if len(b) < HeaderLen {
		return 0, ErrShortHeader
	}
	return binary.BigEndian.Uint32(b), nil
}

// Split decodes the first frame of b. It returns the payload (a sub-slice of
// b), the bytes after the frame, and ok=false when b does not yet hold a
// whole frame. A header announcing more than max bytes (max <= 0 means no
// limit) yields a *TooLargeError. Split never allocates.
func Split(b []byte, max int) (payload, rest []byte, ok bool, err error) {
	n, err := ParseHeader(b)
	if err != nil {
		return nil, b, false, nil
	}
	if max > 0 && uint64(n) > uint64(max) {
		return nil, b, false, &TooLargeError{Len: n, Max: max}
	}
	end := uint64(HeaderLen) + uint64(n)
	if uint64(len(b)) < end {
		return nil, b, false, nil
	}
	return b[HeaderLen:end:end], b[end:], true, nil
}
