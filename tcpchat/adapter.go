package tcpchat

import (
	"slices"
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
	// Node is empty for an event of this server's own rooms. A multi-node
	// adapter that also reports the other nodes' events (package
	// tcpchat/redisadapter) sets it to the node whose room it is: that
	// node's room was created, joined, left or deleted, not this one's.
	Node string
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
// in-memory adapter serves one process; a multi-node adapter (package
// tcpchat/redisadapter) embeds a MemoryAdapter for the local sockets and
// forwards broadcasts, room events and wake notices to the other nodes,
// which hand them to their own MemoryAdapter and AdapterHost. Methods are
// safe for concurrent use. Adapters are for adapter authors: applications
// emit with Namespace, Socket and BroadcastOperator.
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
	// Broadcast queues m (an encoded packet) on every selected local socket
	// and returns how many it was queued for. It may wait, up to
	// Options.SlowConsumerWait and with no lock held, for recipients whose
	// send queue is full (MemoryAdapter.Broadcast does); it must not wait
	// longer.
	Broadcast(m *Message, opts BroadcastOptions) (delivered int)
	// WakeClients is told the client ids whose durable queues got new
	// events in this namespace, once the store holds them; the server has
	// sent them to its own connections already. A multi-node adapter tells
	// the other nodes, whose adapters call AdapterHost.WakeClients; a
	// single-node adapter does nothing.
	WakeClients(clients []string)
	// Size returns the number of local members of a room.
	Size(room string) int
	// Rooms returns the number of rooms.
	Rooms() int
	// Close releases the adapter's resources; the server calls it when it
	// closes.
	Close() error
}

// AdapterHost is what the server gives the adapter of one namespace
// (Options.Adapter): the namespace's name and the two ways back into the
// server. It is meant for adapter authors only.
type AdapterHost interface {
	// Namespace returns the namespace's name.
	Namespace() string
	// RoomEvent reports a room lifecycle event to Options.OnRoomEvent. It
	// must be called with no adapter lock held.
	RoomEvent(e RoomEvent)
	// WakeClients sends pending durable events to this node's connections
	// of these client ids (another node appended to their queues).
	WakeClients(clients []string)
}

// adapterHost is the AdapterHost of one namespace of srv.
type adapterHost struct {
	srv *Server
	ns  string
}

func (h adapterHost) Namespace() string            { return h.ns }
func (h adapterHost) RoomEvent(e RoomEvent)        { h.srv.roomEvent(e) }
func (h adapterHost) WakeClients(clients []string) { h.srv.wakeClients(clients) }

// MemoryAdapter is the single-process Adapter, and the local part of a
// multi-node one.
type MemoryAdapter struct {
	ns   string
	host AdapterHost

	mu    sync.RWMutex
	all   map[*Socket]struct{} // guarded by mu
	rooms map[string]*roomSet  // guarded by mu
	of    map[*Socket][]string // guarded by mu; only sockets in rooms
}

// NewMemoryAdapter returns an in-memory adapter for the namespace of host;
// it reports room lifecycle events to host.RoomEvent, outside its lock.
func NewMemoryAdapter(host AdapterHost) *MemoryAdapter {
	return &MemoryAdapter{
		ns: host.Namespace(), host: host,
		all:   make(map[*Socket]struct{}),
		rooms: make(map[string]*roomSet),
		of:    make(map[*Socket][]string),
	}
}

func (a *MemoryAdapter) fire(evs []RoomEvent) {
	for _, e := range evs {
		a.host.RoomEvent(e)
	}
}

// Add implements Adapter.
func (a *MemoryAdapter) Add(s *Socket, rooms ...string) {
	a.mu.Lock()
	evs, _ := a.addLocked(s, rooms)
	a.mu.Unlock()
	a.fire(evs)
}

// addCounted is Add for Socket.Join and the rooms given back on connect:
// it adds the memberships it makes to the connection's count (conn.rooms)
// under the lock, and with limit >= 0 adds none of rooms when they would
// put the count past limit, reporting false. Joins of one connection in
// one namespace are counted and added under one lock; joins of its
// sockets in other namespaces at the same moment may each pass the check
// before the others count, and so all be let through.
func (a *MemoryAdapter) addCounted(s *Socket, limit int, rooms []string) bool {
	a.mu.Lock()
	if limit >= 0 && int(s.c.rooms.Load())+countNew(rooms, func(r string) bool { return a.rooms[r].find(s) >= 0 }) > limit {
		a.mu.Unlock()
		return false
	}
	evs, n := a.addLocked(s, rooms)
	s.c.rooms.Add(n)
	a.mu.Unlock()
	a.fire(evs)
	return true
}

// countNew counts the distinct rooms of rooms that in reports the socket
// is not in.
func countNew(rooms []string, in func(room string) bool) int {
	n := 0
	for i, r := range rooms {
		if !in(r) && !slices.Contains(rooms[:i], r) {
			n++
		}
	}
	return n
}

// roomCounter is an adapter that keeps its sockets' connections' room
// counts (conn.rooms) as it adds and removes memberships: MemoryAdapter
// and the adapters that embed it. Socket counts for adapters of other
// kinds (Socket.recount). Add, Del and DelAll do not count: an adapter
// that wraps a MemoryAdapter behind the Adapter interface is counted by
// Socket, once.
type roomCounter interface {
	addCounted(s *Socket, limit int, rooms []string) bool
	delCounted(s *Socket, room string)
	delAllCounted(s *Socket)
}

// addLocked registers s and joins it to rooms; a.mu is held. It returns
// the room events to fire once the lock is released and how many rooms s
// joined.
func (a *MemoryAdapter) addLocked(s *Socket, rooms []string) (evs []RoomEvent, joined int32) {
	a.all[s] = struct{}{}
	for _, r := range rooms {
		members, ok := a.rooms[r]
		if !ok {
			members = new(roomSet)
			a.rooms[r] = members
			evs = append(evs, RoomEvent{Kind: RoomCreated, Namespace: a.ns, Room: r})
		}
		if !members.add(s) {
			continue
		}
		a.of[s] = append(a.of[s], r)
		joined++
		evs = append(evs, RoomEvent{Kind: RoomJoined, Namespace: a.ns, Room: r, SocketID: s.id})
	}
	return evs, joined
}

// delLocked removes s from room r and returns the events it caused.
func (a *MemoryAdapter) delLocked(s *Socket, r string, evs []RoomEvent) []RoomEvent {
	members, ok := a.rooms[r]
	if !ok || !members.del(s) {
		return evs
	}
	evs = append(evs, RoomEvent{Kind: RoomLeft, Namespace: a.ns, Room: r, SocketID: s.id})
	if len(members.list) == 0 {
		delete(a.rooms, r)
		evs = append(evs, RoomEvent{Kind: RoomDeleted, Namespace: a.ns, Room: r})
	}
	return evs
}

// Del implements Adapter.
func (a *MemoryAdapter) Del(s *Socket, room string) {
	a.mu.Lock()
	evs := a.delFromLocked(s, room)
	a.mu.Unlock()
	a.fire(evs)
}

// delCounted is Del for Socket.Leave: the membership it removes leaves
// the connection's count.
func (a *MemoryAdapter) delCounted(s *Socket, room string) {
	a.mu.Lock()
	evs := a.delFromLocked(s, room)
	if len(evs) > 0 {
		s.c.rooms.Add(-1)
	}
	a.mu.Unlock()
	a.fire(evs)
}

// delFromLocked removes s from room and from a.of's list of its rooms;
// a.mu is held. It returns the events it caused, none when s was not in
// room.
func (a *MemoryAdapter) delFromLocked(s *Socket, room string) []RoomEvent {
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
	return evs
}

// DelAll implements Adapter.
func (a *MemoryAdapter) DelAll(s *Socket) {
	a.mu.Lock()
	evs, _ := a.delAllLocked(s)
	a.mu.Unlock()
	a.fire(evs)
}

// delAllCounted is DelAll for a socket's cleanup: its memberships leave
// the connection's count.
func (a *MemoryAdapter) delAllCounted(s *Socket) {
	a.mu.Lock()
	evs, left := a.delAllLocked(s)
	s.c.rooms.Add(-left)
	a.mu.Unlock()
	a.fire(evs)
}

// delAllLocked removes s from its rooms and the namespace; a.mu is held.
// It returns the events it caused and how many rooms s left.
func (a *MemoryAdapter) delAllLocked(s *Socket) (evs []RoomEvent, left int32) {
	left = int32(len(a.of[s]))
	for _, r := range a.of[s] {
		evs = a.delLocked(s, r, evs)
	}
	delete(a.of, s)
	delete(a.all, s)
	return evs, left
}

// SocketRooms implements Adapter.
func (a *MemoryAdapter) SocketRooms(s *Socket) []string { return a.appendSocketRooms(nil, s) }

// appendSocketRooms appends the rooms s is in to dst (Socket.AppendRooms).
func (a *MemoryAdapter) appendSocketRooms(dst []string, s *Socket) []string {
	a.mu.RLock()
	dst = append(dst, a.of[s]...)
	a.mu.RUnlock()
	return dst
}

// roomAppender is an adapter that can append a socket's rooms to a
// caller's slice: MemoryAdapter and the adapters that embed it.
type roomAppender interface {
	appendSocketRooms(dst []string, s *Socket) []string
}

// Broadcast implements Adapter. Sockets whose queue is full are waited
// for after the adapter's lock is released, all with one deadline, so a
// broadcast waits Options.SlowConsumerWait at most (and then cuts those
// still full as slow consumers).
func (a *MemoryAdapter) Broadcast(m *Message, opts BroadcastOptions) int {
	n, full := a.broadcastLocked(m, opts)
	if len(full) == 0 {
		return n
	}
	deadline := time.Now().Add(full[0].c.srv.opts.SlowConsumerWait)
	for _, s := range full {
		if s.sendWait(m, deadline) {
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
			for _, s := range a.rooms[r].members() {
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
		queued, isFull := s.trySend(m, opts.Volatile)
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
		for _, s := range a.rooms[opts.Rooms[0]].members() {
			deliver(s)
		}
	default:
		seen := make(map[*Socket]struct{})
		for _, r := range opts.Rooms {
			for _, s := range a.rooms[r].members() {
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
	return len(a.rooms[room].members())
}

// Rooms implements Adapter.
func (a *MemoryAdapter) Rooms() int {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return len(a.rooms)
}

// WakeClients implements Adapter: one node has nobody else to wake.
func (a *MemoryAdapter) WakeClients([]string) {}

// Close implements Adapter.
func (a *MemoryAdapter) Close() error { return nil }

// roomSet is the members of one room: a slice that a broadcast walks (a
// map's iteration costs a random start and a scan of its slots, about a
// twentieth of the server's instructions per event at one subscriber),
// and, once the room is big, each member's place in it, so that a member
// leaves in constant time.
type roomSet struct {
	list []*Socket
	at   map[*Socket]int // nil while len(list) <= roomIndexFrom: list is searched
}

// roomIndexFrom is the size from which a roomSet keeps an index.
const roomIndexFrom = 16

// members returns the room's members; r may be nil (no such room).
func (r *roomSet) members() []*Socket {
	if r == nil {
		return nil
	}
	return r.list
}

// find returns s's place in the list, or -1; r may be nil (no such room).
func (r *roomSet) find(s *Socket) int {
	if r == nil {
		return -1
	}
	if r.at != nil {
		if i, ok := r.at[s]; ok {
			return i
		}
		return -1
	}
	for i, x := range r.list {
		if x == s {
			return i
		}
	}
	return -1
}

// add adds s; false when it was a member already.
func (r *roomSet) add(s *Socket) bool {
	if r.find(s) >= 0 {
		return false
	}
	r.list = append(r.list, s)
	switch {
	case r.at != nil:
		r.at[s] = len(r.list) - 1
	case len(r.list) > roomIndexFrom:
		r.at = make(map[*Socket]int, len(r.list))
		for i, x := range r.list {
			r.at[x] = i
		}
	}
	return true
}

// del removes s, moving the last member into its place; false when it
// was not a member.
func (r *roomSet) del(s *Socket) bool {
	i := r.find(s)
	if i < 0 {
		return false
	}
	last := len(r.list) - 1
	if i != last {
		r.list[i] = r.list[last]
		if r.at != nil {
			r.at[r.list[i]] = i
		}
	}
	r.list[last] = nil
	r.list = r.list[:last]
	if r.at != nil {
		delete(r.at, s)
	}
	return true
}
