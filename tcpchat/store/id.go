package store

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"sync/atomic"
	"time"
)

// ID is a message id: 48 bits of Unix milliseconds, 32 bits of node, 48 bits
// of a per-node sequence. Ids from one generator are unique; they sort by
// creation time (a wall-clock step backwards can reorder nearby ids, never
// repeat one). The zero ID is never issued.
type ID [16]byte

// String returns the id as 32 lower-case hex digits.
func (id ID) String() string { return hex.EncodeToString(id[:]) }

// AppendText appends the 32 hex digits of id to b.
func (id ID) AppendText(b []byte) ([]byte, error) { return hex.AppendEncode(b, id[:]), nil }

// IsZero reports whether id is the zero ID.
func (id ID) IsZero() bool { return id == ID{} }

// Time returns the creation time encoded in id (millisecond precision).
func (id ID) Time() time.Time {
	var b [8]byte
	copy(b[2:], id[:6])
	return time.UnixMilli(int64(binary.BigEndian.Uint64(b[:])))
}

// ParseID parses the 32 hex digits of String.
func ParseID(s string) (ID, error) {
	var id ID
	if len(s) != 32 {
		return id, ErrBadID
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return ID{}, ErrBadID
	}
	return id, nil
}

// IDGen makes message ids. It is safe for concurrent use; the zero value is
// not usable, use NewIDGen.
type IDGen struct {
	node uint32
	seq  atomic.Uint64
}

// NewIDGen returns a generator for node (zero: a random node number).
func NewIDGen(node uint32) *IDGen {
	if node == 0 {
		var b [4]byte
		_, _ = rand.Read(b[:])
		node = binary.BigEndian.Uint32(b[:]) | 1
	}
	g := &IDGen{node: node}
	var b [8]byte
	_, _ = rand.Read(b[:])
	g.seq.Store(binary.BigEndian.Uint64(b[:]) & (1<<40 - 1)) // random start, far from wrapping 48 bits
	return g
}

// New returns a fresh id stamped with t.
func (g *IDGen) New(t time.Time) ID { return g.newMilli(t.UnixMilli()) }

// newMilli returns a fresh id stamped with ms, Unix milliseconds.
func (g *IDGen) newMilli(ms int64) ID {
	var id ID
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(ms))
	copy(id[:6], b[2:])
	binary.BigEndian.PutUint32(id[6:10], g.node)
	binary.BigEndian.PutUint64(b[:], g.seq.Add(1))
	copy(id[10:], b[2:])
	return id
}

// ClaimToken is Claim's decision for implementations: given the token a
// queue holds (empty: none) and the one a caller gave, it returns the
// token the queue holds afterwards, or ErrClaimed.
func ClaimToken(held, given string) (string, error) {
	switch {
	case held == "" && given != "":
		return given, nil
	case held == "":
		return NewToken(), nil
	case subtle.ConstantTimeCompare([]byte(held), []byte(given)) != 1:
		return "", ErrClaimed
	}
	return held, nil
}

// NewToken returns a fresh resume token: 16 random bytes in hex.
func NewToken() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
