package tcpchat

import (
	"sync"
	"sync/atomic"
)

// Message is one encoded packet on its way to one or many connections: a
// broadcast is encoded once and the same Message is queued on every
// recipient. It is reference counted: whoever creates it holds one
// reference and calls Release when done; each queue holds its own.
//
// Messages are for adapter authors: a multi-node adapter wraps a packet
// from another node with NewMessage and hands it to its MemoryAdapter's
// Broadcast.
type Message struct {
	refs atomic.Int32
	buf  []byte
	// batch, when set, is the connection whose read batch is broadcasting
	// m: recipients whose writer is not running leave it to be started
	// when that batch ends (conn.deferKick), so that one read of the
	// sender's becomes one write per recipient. Set before m is offered.
	batch *conn
	// shared is the translation of buf that every recipient on a
	// SharedEncoder transport writes (a Socket.IO client's text of a
	// broadcast event), made by the first of their writers that needs it
	// (sharedFor); sharedState says whether it is there.
	shared      []byte
	sharedState atomic.Uint32
}

// The states of Message.shared.
const (
	sharedNone uint32 = iota // not made yet
	sharedBusy               // a writer is making it
	sharedDone               // made: shared holds it
	sharedNo                 // the payload has none (the transport declined)
)

// maxPooledMessage is the largest buffer kept in the pool.
const maxPooledMessage = 4 << 10

var messagePool = sync.Pool{New: func() any { return &Message{buf: make([]byte, 0, 256)} }}

// newMessage returns an empty message holding one reference.
func newMessage() *Message {
	m := messagePool.Get().(*Message)
	m.buf = m.buf[:0]
	m.batch = nil
	m.shared = m.shared[:0]
	m.sharedState.Store(sharedNone)
	m.refs.Store(1)
	return m
}

// NewMessage copies an encoded packet payload into a Message holding one
// reference.
func NewMessage(payload []byte) *Message {
	m := newMessage()
	m.buf = append(m.buf, payload...)
	return m
}

// Payload returns the encoded packet. It must not be modified.
func (m *Message) Payload() []byte { return m.buf }

func (m *Message) retain() { m.refs.Add(1) }

// maxMessageSize caps what Message.size counts, so that a send queue's
// byte count (conn.qbytes, a uint32) cannot wrap below its bound
// (MaxSendQueueBytes).
const maxMessageSize = 1 << 30

// size is what m counts in a send queue (Options.SendQueueBytes): the
// bytes it keeps alive, its payload's buffer and, once a writer made it,
// its shared translation (a Socket.IO client's text of the broadcast).
// Struct and slot (about 100 bytes) are left out: the packet bound
// (Options.SendQueue) covers them.
func (m *Message) size() uint32 {
	n := cap(m.buf)
	if m.sharedState.Load() == sharedDone {
		n += cap(m.shared)
	}
	return uint32(min(n, maxMessageSize))
}

// sharedFor returns what a writer of the transport se hands to its
// WritePackets for m: the translation of m's payload that all of se's
// kind share, made once per message by the first writer that comes to it,
// or the payload itself when se is nil, declines, or another writer is
// making the translation right now (that writer does not wait; this one
// gets the payload and translates it itself).
func (m *Message) sharedFor(se SharedEncoder) []byte {
	if se == nil {
		return m.buf
	}
	switch m.sharedState.Load() {
	case sharedDone:
		return m.shared
	case sharedNone:
		if !m.sharedState.CompareAndSwap(sharedNone, sharedBusy) {
			return m.sharedFor(se) // another writer came first
		}
		b, ok := se.AppendShared(m.shared[:0], m.buf)
		if !ok {
			m.sharedState.Store(sharedNo)
			return m.buf
		}
		m.shared = b
		m.sharedState.Store(sharedDone)
		return b
	}
	return m.buf
}

// Release drops one reference; the last one returns the message to its pool.
func (m *Message) Release() {
	if m.refs.Add(-1) == 0 {
		if cap(m.buf) <= maxPooledMessage {
			if cap(m.shared) > maxPooledMessage {
				m.shared = nil
			}
			messagePool.Put(m)
		}
	}
}

// msgQueue is a connection's pending messages; pooled so that an idle
// connection holds none.
type msgQueue struct{ s []*Message }

var queuePool = sync.Pool{New: func() any { return &msgQueue{s: make([]*Message, 0, 16)} }}

func getQueue() *msgQueue { return queuePool.Get().(*msgQueue) }

func putQueue(q *msgQueue) {
	clear(q.s)
	q.s = q.s[:0]
	if cap(q.s) <= 1024 {
		queuePool.Put(q)
	}
}
