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
}

// maxPooledMessage is the largest buffer kept in the pool.
const maxPooledMessage = 4 << 10

var messagePool = sync.Pool{New: func() any { return &Message{buf: make([]byte, 0, 256)} }}

// newMessage returns an empty message holding one reference.
func newMessage() *Message {
	m := messagePool.Get().(*Message)
	m.buf = m.buf[:0]
	m.batch = nil
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

// Release drops one reference; the last one returns the message to its pool.
func (m *Message) Release() {
	if m.refs.Add(-1) == 0 {
		if cap(m.buf) <= maxPooledMessage {
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
