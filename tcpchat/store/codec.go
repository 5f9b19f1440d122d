package store

import (
	"encoding/binary"
	"fmt"
	"time"
)

// recordVersion is the first byte of every encoded record.
const (
	recordMessage byte = 1
	recordSession byte = 2
)

// AppendMessage appends the binary record of m to b (what bolt and Redis
// store). Layout: version 1, id (16 bytes), offset, created (Unix ns),
// namespace, event, rooms, except, payload; integers are varints, strings
// and payload are length-prefixed.
func AppendMessage(b []byte, m *Message) []byte {
	b = append(b, recordMessage)
	b = append(b, m.ID[:]...)
	b = binary.AppendUvarint(b, m.Offset)
	b = binary.AppendVarint(b, m.Created.UnixNano())
	b = appendString(b, m.Namespace)
	b = appendString(b, m.Event)
	b = appendStrings(b, m.Rooms)
	b = appendStrings(b, m.Except)
	b = binary.AppendUvarint(b, uint64(len(m.Payload)))
	return append(b, m.Payload...)
}

// DecodeMessage decodes a record made by AppendMessage into m. Strings and
// the payload are copied: m does not alias b. Any malformed input returns an
// error matching ErrCorrupt; it never panics.
func DecodeMessage(b []byte, m *Message) error {
	d := decoder{b: b}
	if d.byte() != recordMessage {
		return fmt.Errorf("%w: not a message record", ErrCorrupt)
	}
	copy(m.ID[:], d.bytes(16))
	m.Offset = d.uvarint()
	m.Created = time.Unix(0, d.varint())
	m.Namespace = d.string()
	m.Event = d.string()
	m.Rooms = d.strings(nil)
	m.Except = d.strings(nil)
	n := d.uvarint()
	if n > MaxPayload || n > uint64(len(d.b)) {
		d.fail()
	}
	p := d.bytes(int(n))
	if d.err == nil {
		m.Payload = append([]byte(nil), p...)
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail()
	}
	if d.err != nil {
		return fmt.Errorf("%w: message record of %d bytes", ErrCorrupt, len(b))
	}
	return nil
}

// AppendSession appends the binary record of s to b.
func AppendSession(b []byte, s *Session) []byte {
	b = append(b, recordSession)
	b = appendString(b, s.ID)
	b = appendString(b, s.Client)
	b = appendString(b, s.Namespace)
	b = appendStrings(b, s.Rooms)
	b = binary.AppendUvarint(b, s.Offset)
	return binary.AppendVarint(b, s.Expires.UnixNano())
}

// DecodeSession decodes a record made by AppendSession.
func DecodeSession(b []byte, s *Session) error {
	d := decoder{b: b}
	if d.byte() != recordSession {
		return fmt.Errorf("%w: not a session record", ErrCorrupt)
	}
	s.ID = d.string()
	s.Client = d.string()
	s.Namespace = d.string()
	s.Rooms = d.strings(nil)
	s.Offset = d.uvarint()
	s.Expires = time.Unix(0, d.varint())
	if d.err == nil && len(d.b) != 0 {
		d.fail()
	}
	if d.err != nil {
		return fmt.Errorf("%w: session record of %d bytes", ErrCorrupt, len(b))
	}
	return nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendStrings(b []byte, ss []string) []byte {
	b = binary.AppendUvarint(b, uint64(len(ss)))
	for _, s := range ss {
		b = appendString(b, s)
	}
	return b
}

// decoder reads a record; after the first error every read returns zero
// values and err stays set.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = ErrCorrupt
	}
	d.b = nil
}

func (d *decoder) byte() byte {
	if len(d.b) < 1 {
		d.fail()
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) bytes(n int) []byte {
	if n < 0 || len(d.b) < n {
		d.fail()
		return nil
	}
	p := d.b[:n]
	d.b = d.b[n:]
	return p
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) string() string {
	n := d.uvarint()
	if n > MaxNameLen || n > uint64(len(d.b)) {
		d.fail()
		return ""
	}
	return string(d.bytes(int(n)))
}

func (d *decoder) strings(dst []string) []string {
	n := d.uvarint()
	if n > 1<<16 || n > uint64(len(d.b)) {
		d.fail()
		return dst
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		dst = append(dst, d.string())
	}
	if len(dst) == 0 {
		return nil
	}
	return dst
}
