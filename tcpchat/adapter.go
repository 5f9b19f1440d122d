package tcpchat

import (
	"sync"
	"time"
)

// Room lifecycle event kinds, as socket.io's adapter names them.
const (
	RoomCreated = "create-room"
	RoomDeleted = "delete-room"
	RoomJoined  = "join-room"
	RoomLeft    = "leave-room"
)

// RoomEvent is a room lifecycle event from an adapter.
type RoomEvent struct {
	Kind      string // RoomCreated, RoomDeleted, RoomJoined or RoomLeft
	Namespace string
	Room      string
	SocketID  string // empty for create-room and delete-room
}

// BroadcastOptions select the recipients of a broadcast.
type BroadcastOptions struct {
	// Rooms, when not empty, limits the broadcast to members of any of
	// them (each member receives it once); otherwise every socket of the
	// namespace receives it.
	Rooms []string
	// Except removes members of these rooms.
	Except []string
	// Exclude removes one socket (the sender, for Socket.Broadcast).
	Exclude *Socket
	// Volatile lets the packet be dropped for a recipient that has packets
	// waiting to be written.
	Volatile bool
}

// Adapter keeps a namespace's rooms and delivers its broadcasts. The
// in-memory adapter serves one process; a multi-node adapter (Redis) also
// forwards broadcasts to the other nodes, which deliver them to their own
// local sockets with Socket.Send. Methods are safe for concurrent use.
type Adapter interface {
	// Add registers a socket of the namespace (on connect) and joins it to
	// rooms, creating rooms as needed.
	Add(s *Socket, rooms ...string)
	// Del makes a socket leave one room, deleting the room when it empties.
	Del(s *Socket, room string)
	// DelAll removes a socket from its rooms and from the namespace.
	DelAll(s *Socket)
	// SocketRooms returns the rooms a socket is in.
	SocketRooms(s *Socket) []string
	// Broadcast queues m on every selected socket (m.Payload is an encoded
	// packet). It must never block on a recipient.
	Broadcast(m *Message, opts BroadcastOptions) (delivered int)
	// Size returns the number of local members of a room.
	Size(room string) int
	// Rooms returns the number of rooms.
	Rooms() int
	// Close releases the adapter's resources.
	Close() error
}

// MemoryAdapter is the single-process Adapter.
type MemoryAdapter struct {
	ns     string
	notify func(RoomEvent)

	mu    sync.RWMutex
	all   map[*Socket]struct{}            // guarded by mu
	rooms map[string]map[*Socket]struct{} // guarded by mu
	of    map[*Socket][]string            // guarded by mu; only sockets in rooms
}

// NewMemoryAdapter returns an in-memory adapter for namespace ns; notify
// (may be nil) receives room lifecycle events, outside the adapter's lock.
func NewMemoryAdapter(ns string, notify func(RoomEvent)) *MemoryAdapter {
	return &MemoryAdapter{
		ns: ns, notify: notify,
		all:   make(map[*Socket]struct{}),
		rooms: make(map[string]map[*Socket]struct{}),
		of:    make(map[*Socket][]string),
	}
}

func (a *MemoryAdapter) fire(evs []RoomEvent) {
	if a.notify == nil {
		return
	}
	for _, e := range evs {
		a.notify(e)
	}
}

// Add implements Adapter.
func (a *MemoryAdapter) Add(s *Socket, rooms ...string) {
	var evs []RoomEvent
	a.mu.Lock()
	a.all[s] = struct{}{}
	for _, r := range rooms {
		members, ok := a.rooms[r]
		if !ok {
			members = make(map[*Socket]struct{})
			a.rooms[r] = members
			evs = append(evs, RoomEvent{Kind: RoomCreated, Namespace: a.ns, Room: r})
		}
		if _, in := members[s]; in {
			continue
		}
		members[s] = struct{}{}
		a.of[s] = append(a.of[s], r)
		evs = append(evs, RoomEvent{Kind: RoomJoined, Namespace: a.ns, Room: r, SocketID: s.id})
	}
	a.mu.Unlock()
	a.fire(evs)
}

// delLocked removes s from room r and returns the events it caused.
func (a *MemoryAdapter) delLocked(s *Socket, r string, evs []RoomEvent) []RoomEvent {
	members, ok := a.rooms[r]
	if !ok {
		return evs
	}
	if _, in := members[s]; !in {
		return evs
	}
	delete(members, s)
	evs = append(evs, RoomEvent{Kind: RoomLeft, Namespace: a.ns, Room: r, SocketID: s.id})
	if len(members) == 0 {
		delete(a.rooms, r)
		evs = append(evs, RoomEvent{Kind: RoomDeleted, Namespace: a.ns, Room: r})
	}
	return evs
}

// Del implements Adapter.
func (a *MemoryAdapter) Del(s *Socket, room string) {
	a.mu.Lock()
	evs := a.delLocked(s, room, nil)
	if rs := a.of[s]; len(evs) > 0 {
		for i, r := range rs {
			if r == room {
				rs = append(rs[:i], rs[i+1:]...)
				break
			}
		}
		if len(rs) == 0 {
			delete(a.of, s)
		} else {
			a.of[s] = rs
		}
	}
	a.mu.Unlock()
	a.fire(evs)
}

// DelAll implements Adapter.
func (a *MemoryAdapter) DelAll(s *Socket) {
	var evs []RoomEvent
	a.mu.Lock()
	for _, r := range a.of[s] {
		evs = a.delLocked(s, r, evs)
	}
	delete(a.of, s)
	delete(a.all, s)
	a.mu.Unlock()
	a.fire(evs)
}

// SocketRooms implements Adapter.
func (a *MemoryAdapter) SocketRooms(s *Socket) []string {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return append([]string(nil), a.of[s]...)
}

// Broadcast implements Adapter. Sockets whose queue is full are waited
// for after the adapter's lock is released (Socket.SendWait), all with one
// deadline, so a broadcast waits Options.SlowConsumerWait at most.
func (a *MemoryAdapter) Broadcast(m *Message, opts BroadcastOptions) int {
	n, full := a.broadcastLocked(m, opts)
	if len(full) == 0 {
		return n
	}
	deadline := time.Now().Add(full[0].c.srv.opts.SlowConsumerWait)
	for _, s := range full {
		if s.SendWait(m, deadline) {
			n++
		}
	}
	return n
}

// broadcastLocked queues m for every selected socket that has room and
// returns the count and the sockets whose queue was full.
func (a *MemoryAdapter) broadcastLocked(m *Message, opts BroadcastOptions) (n int, full []*Socket) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	var except map[*Socket]struct{}
	if len(opts.Except) > 0 {
		except = make(map[*Socket]struct{})
		for _, r := range opts.Except {
			for s := range a.rooms[r] {
				except[s] = struct{}{}
			}
		}
	}
	deliver := func(s *Socket) {
		if s == opts.Exclude {
			return
		}
		if except != nil {
			if _, skip := except[s]; skip {
				return
			}
		}
		queued, isFull := s.TrySend(m, opts.Volatile)
		switch {
		case queued:
			n++
		case isFull:
			full = append(full, s)
		}
	}
	switch len(opts.Rooms) {
	case 0:
		for s := range a.all {
			deliver(s)
		}
	case 1:
		for s := range a.rooms[opts.Rooms[0]] {
			deliver(s)
		}
	default:
		seen := make(map[*Socket]struct{})
		for _, r := range opts.Rooms {
			for s := range a.rooms[r] {
				if _, dup := seen[s]; dup {
					continue
				}
				seen[s] = struct{}{}
				deliver(s)
			}
		}
	}
	return n, full
}

// Size implements Adapter.
func (a *MemoryAdapter) Size(room string) int {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return len(a.rooms[room])
}

// Rooms implements Adapter.
func (a *MemoryAdapter) Rooms() int {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return len(a.rooms)
}

// Close implements Adapter.
func (a *MemoryAdapter) Close() error { return nil }
