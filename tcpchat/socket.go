package tcpchat

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wiredojo/wiredojo/tcpchat/wire"
)

// Socket is one client connection's membership of one namespace, on the
// server. Its methods are safe for concurrent use.
type Socket struct {
	id   string
	ns   *Namespace
	c    *conn
	auth json.RawMessage

	mu      sync.Mutex
	gone    atomic.Bool
	counted atomic.Int32   // with an adapter that does not count (not a roomCounter), its rooms as last added to c.rooms (recount); in gone's padding
	own     *socketOwn     // guarded by mu; nil until the socket gets handlers of its own or awaits an ack
	data    *[]socketValue // guarded by mu; Set's values, in the order of their first Set; nil before the first (a Socket is 96 bytes, 112 with the slice in it)
}

// socketOwn is what only some sockets need: handlers of their own (the
// namespace's serve most applications, the built-in handlers among them)
// and the acks their EmitWithAck awaits. Apart, a parked connection's
// socket is 64 bytes smaller.
type socketOwn struct {
	handlers     handlerTable[Event]
	onDisconnect []func(*Socket, error)
	acks         ackTable
}

// ownLocked returns s.own, made on first use; s.mu is held.
func (s *Socket) ownLocked() *socketOwn {
	if s.own == nil {
		s.own = new(socketOwn)
	}
	return s.own
}

// socketValue is one value stored with Socket.Set. A socket holds a few
// (the built-in handlers one, and none for a socket without a name): a
// slice searched in order costs 32 bytes each where a map cost about 300.
type socketValue struct {
	key string
	v   any
}

// ID returns the socket id (unique per server).
func (s *Socket) ID() string { return s.id }

// Namespace returns the socket's namespace.
func (s *Socket) Namespace() *Namespace { return s.ns }

// Auth returns the auth payload the client sent with its connect (raw JSON,
// possibly empty).
func (s *Socket) Auth() json.RawMessage { return s.auth }

// SessionID returns the id of the connection's session.
func (s *Socket) SessionID() string { return s.c.session }

// ClientID returns the client's durable id (its own, or the session id when
// it gave none).
func (s *Socket) ClientID() string { return s.c.clientID }

// RemoteAddr returns the peer's address.
func (s *Socket) RemoteAddr() string { return s.c.remoteAddr() }

// Set stores a value on the socket for handlers to share. It is made for a
// few keys per socket: Set and Get look through them in order.
func (s *Socket) Set(key string, v any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := s.findLocked(key); i >= 0 {
		(*s.data)[i].v = v
		return
	}
	s.storeLocked(key, v)
}

// findLocked returns the index of key's value in *s.data, -1 when it has
// none; s.mu is held.
func (s *Socket) findLocked(key string) int {
	if s.data == nil {
		return -1
	}
	for i := range *s.data {
		if (*s.data)[i].key == key {
			return i
		}
	}
	return -1
}

// storeLocked adds key's value; s.mu is held and key has none.
func (s *Socket) storeLocked(key string, v any) {
	if s.data == nil {
		s.data = new([]socketValue)
	}
	*s.data = append(*s.data, socketValue{key, v})
}

// Get returns a value stored with Set.
func (s *Socket) Get(key string) any {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := s.findLocked(key); i >= 0 {
		return (*s.data)[i].v
	}
	return nil
}

// LoadOrStore returns the value stored with key when there is one (and
// loaded true); otherwise it stores v and returns it. Unlike Get followed
// by Set, no other Set or LoadOrStore of the key comes between the two: a
// value made on first use (and a marker left by a disconnect handler) is
// stored once.
func (s *Socket) LoadOrStore(key string, v any) (actual any, loaded bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := s.findLocked(key); i >= 0 {
		return (*s.data)[i].v, true
	}
	s.storeLocked(key, v)
	return v, false
}

// On sets the handler of event for this socket.
func (s *Socket) On(event string, h Handler) {
	s.mu.Lock()
	s.ownLocked().handlers.set(event, h)
	s.mu.Unlock()
}

// OnAny adds a handler run for every event of this socket.
func (s *Socket) OnAny(h Handler) {
	s.mu.Lock()
	s.ownLocked().handlers.addAny(h)
	s.mu.Unlock()
}

// OnDisconnect adds a handler run when the socket leaves its namespace.
func (s *Socket) OnDisconnect(fn func(s *Socket, reason error)) {
	s.mu.Lock()
	o := s.ownLocked()
	o.onDisconnect = append(o.onDisconnect, fn)
	s.mu.Unlock()
}

// Join adds the socket to rooms. Rooms live on the server only. When that
// would put its connection in more than Options.MaxRoomsPerConn rooms over
// all its namespaces, it joins none of them and returns a *RoomLimitError
// (ErrTooManyRooms).
func (s *Socket) Join(rooms ...string) error {
	for _, r := range rooms {
		if err := checkName(r); err != nil {
			return err
		}
	}
	if !s.addRooms(s.ns.srv.opts.MaxRoomsPerConn, rooms) {
		s.ns.srv.metrics.roomsRefused.Add(1)
		return &RoomLimitError{Limit: s.ns.srv.opts.MaxRoomsPerConn, ConnRooms: int(s.c.rooms.Load())}
	}
	s.subscribe(rooms, true) // durable.go: the client id stays a member
	return nil
}

// addRooms adds the socket to rooms and counts them in its connection's
// rooms (conn.rooms); with limit >= 0, only when the connection stays
// within limit: otherwise it adds none and reports false. The rooms given
// back on connect (durableRooms, recoverNamespace) come with limit -1:
// they count, but are all given back.
func (s *Socket) addRooms(limit int, rooms []string) bool {
	if rc, ok := s.ns.adapter.(roomCounter); ok {
		if !rc.addCounted(s, limit, rooms) {
			return false
		}
	} else {
		// An adapter of another kind: the socket's rooms are counted
		// afresh before and after the add, apart from it, so joins of
		// one connection from several goroutines at once may all be let
		// through.
		have := s.recount()
		if limit >= 0 && int(s.c.rooms.Load())+countNew(rooms, func(r string) bool { return slices.Contains(have, r) }) > limit {
			return false
		}
		s.ns.adapter.Add(s, rooms...)
		s.recount()
	}
	if s.gone.Load() {
		s.delAll() // a join that came after the cleanup's: no rooms stay counted for a socket that left
	}
	return true
}

// recount sets the socket's part of its connection's rooms to the rooms
// an adapter that does not count (not a roomCounter) says it is in, and
// returns them. It reads and sets under s.mu, so that of the recounts
// that follow changes made at the same moment the last sets what the
// adapter holds after them all: the count is off only while a change is
// under way.
func (s *Socket) recount() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	have := s.ns.adapter.SocketRooms(s)
	s.c.rooms.Add(int32(len(have)) - s.counted.Swap(int32(len(have))))
	return have
}

// delAll removes the socket from its rooms and its namespace's adapter,
// and its rooms from its connection's count.
func (s *Socket) delAll() {
	if rc, ok := s.ns.adapter.(roomCounter); ok {
		rc.delAllCounted(s)
		return
	}
	s.ns.adapter.DelAll(s)
	s.recount()
}

// Leave removes the socket from a room (and its client id from the room's
// durable members).
func (s *Socket) Leave(room string) {
	if rc, ok := s.ns.adapter.(roomCounter); ok {
		rc.delCounted(s, room)
	} else {
		s.ns.adapter.Del(s, room)
		s.recount()
	}
	s.subscribe([]string{room}, false)
}

// Rooms returns the rooms the socket is in.
func (s *Socket) Rooms() []string { return s.ns.adapter.SocketRooms(s) }

// AppendRooms appends the rooms the socket is in to dst and returns the
// extended slice. With a dst that has room it allocates nothing (with the
// in-memory adapter and those that embed it), for handlers that relay
// every event to the sender's rooms.
func (s *Socket) AppendRooms(dst []string) []string {
	if ra, ok := s.ns.adapter.(roomAppender); ok {
		return ra.appendSocketRooms(dst, s)
	}
	return append(dst, s.ns.adapter.SocketRooms(s)...)
}

// Broadcast selects every socket of the namespace but this one.
func (s *Socket) Broadcast() BroadcastOperator { return BroadcastOperator{ns: s.ns, exclude: s} }

// To selects the members of rooms, except this socket.
func (s *Socket) To(rooms ...string) BroadcastOperator { return s.Broadcast().To(rooms...) }

// trySend queues m without waiting. It reports whether m was queued and,
// when it was not, whether that was because the queue is full (then
// sendWait can wait for room) rather than the connection closing or a
// volatile packet being dropped. Adapters deliver under their lock with
// trySend and wait with sendWait after unlocking (MemoryAdapter.Broadcast).
func (s *Socket) trySend(m *Message, volatile bool) (queued, full bool) {
	var f sendFlags
	if volatile {
		f = sendVolatile
	}
	r := s.c.offer(m, f)
	return r == offerQueued, r == offerFull
}

// sendWait queues m once the socket's full queue has room; when deadline
// passes first, the connection is cut as a slow consumer and sendWait
// reports false. Every socket of one broadcast gets the same deadline
// (now + SlowConsumerWait), so that the broadcast waits that long at most.
func (s *Socket) sendWait(m *Message, deadline time.Time) bool { return s.c.waitRoom(m, deadline) }

// Emit sends an event to this socket.
func (s *Socket) Emit(event string, args ...any) error {
	if err := checkName(event); err != nil {
		return err
	}
	m := newMessage()
	defer m.Release()
	var err error
	m.buf, _ = appendEventHeader(m.buf, s.ns.name, event, false, 0)
	if m.buf, err = appendArgs(m.buf, args); err != nil {
		return err
	}
	if !s.c.enqueue(m, false) {
		return ErrClosed
	}
	return nil
}

// EmitRaw is Emit with arguments that are already a JSON array
// (unchecked): it saves marshalling them, for example to relay an event's
// Args.
func (s *Socket) EmitRaw(event string, args json.RawMessage) error {
	if err := checkName(event); err != nil {
		return err
	}
	m := newMessage()
	m.buf = appendEventRaw(m.buf, s.ns.name, event, args)
	ok := s.c.enqueue(m, false)
	m.Release()
	if !ok {
		return ErrClosed
	}
	return nil
}

// EmitWithAck sends an event to this socket and waits for its answer (the
// JSON array the client acked with) until ctx ends. Do not call it from a
// handler of the same connection: start a goroutine.
func (s *Socket) EmitWithAck(ctx context.Context, event string, args ...any) (json.RawMessage, error) {
	if err := checkName(event); err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.gone.Load() {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	o := s.ownLocked()
	id, ch := o.acks.register()
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		o.acks.forget(id)
		s.mu.Unlock()
	}()
	m := newMessage()
	var err error
	m.buf, _ = appendEventHeader(m.buf, s.ns.name, event, true, id)
	if m.buf, err = appendArgs(m.buf, args); err != nil {
		m.Release()
		return nil, err
	}
	ok := s.c.enqueue(m, false)
	m.Release()
	if !ok {
		return nil, ErrClosed
	}
	return waitAck(ctx, ch, event, s.id)
}

// gotAck delivers an ack's arguments (copied) to the waiting EmitWithAck.
func (s *Socket) gotAck(id uint32, args []byte) {
	var ch chan json.RawMessage
	s.mu.Lock()
	if s.own != nil {
		ch = s.own.acks.take(id)
	}
	s.mu.Unlock()
	deliverAck(ch, args)
}

// Disconnect makes the socket leave its namespace; the client receives a
// disconnect packet. With close, the whole connection is closed.
func (s *Socket) Disconnect(close bool) {
	if close {
		s.c.shutdown(wire.CodeProtocol, "server closed the connection")
		return
	}
	m := newMessage()
	p := wire.Packet{Type: wire.TypeDisconnect, Namespace: s.ns.name, Reason: "server namespace disconnect"}
	m.buf = p.AppendTo(m.buf)
	s.c.enqueue(m, false)
	m.Release()
	s.cleanup(errServerDisconnect) // the reading goroutine drops it from its list
}

var errServerDisconnect = fmt.Errorf("tcpchat: server namespace disconnect")

// cleanup runs once when the socket leaves: rooms, pending acks, handlers.
func (s *Socket) cleanup(reason error) {
	s.mu.Lock()
	if s.gone.Load() {
		s.mu.Unlock()
		return
	}
	s.gone.Store(true)
	var onDisc []func(*Socket, error)
	if s.own != nil {
		s.own.acks.failAll()
		onDisc = s.own.onDisconnect
	}
	s.mu.Unlock()
	s.delAll()
	s.ns.sockets.Add(-1)
	defer s.ns.srv.freeIfEmpty(s.ns) // after the disconnect handlers
	for _, fn := range onDisc {
		fn(s, reason)
	}
	s.ns.mu.RLock()
	nsDisc := s.ns.onDisconnect
	s.ns.mu.RUnlock()
	for _, fn := range nsDisc {
		fn(s, reason)
	}
}
