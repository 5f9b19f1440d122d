// Package builtin is the chat protocol of wiredojo's command-line tools and
// browser page: the server-side handlers that let clients join rooms, hear
// who joins and leaves, send chat messages, echo and queue durable emits
// without Go code, and the event names and argument types those clients
// send.
//
// It owns nothing of the event protocol itself (package tcpchat): it is an
// application of it, installed on a namespace with Install.
package builtin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wiredojo/wiredojo/tcpchat"
	"github.com/wiredojo/wiredojo/tcpchat/store"
	"github.com/wiredojo/wiredojo/tcpchat/wire"
)

// Event names the built-in handlers answer and send (Install).
const (
	EventJoin    = "join"    // ["room"]: join a room; acks {"room","members"}
	EventLeave   = "leave"   // ["room"]: leave a room; acks {"room","members"}
	EventMessage = "message" // ["text"] or [{...}]: relayed as a chat message
	EventEcho    = "echo"    // any args: acked with the same args (or emitted back)
	EventDurable = "durable" // [DurableRequest]: a durable emit on the server; acks {"id","recipients"} or {"error"}

	EventJoined = "joined" // to members that asked for presence: [Presence] of who joined
	EventLeft   = "left"   // to members that asked for presence: [Presence] of who left or disconnected
)

// Presence is the argument of the "joined" and "left" notices. A socket
// hears them for the rooms it joins when its auth payload asks with
// {"presence": true} (the browser page does; the command-line tools do not).
// With several nodes (Redis), a notice reaches the listeners of every node.
// Notices are volatile: a listener that is behind may miss one, and a
// resumed session does not get old ones again.
type Presence struct {
	Name    string `json:"name"`
	Room    string `json:"room"`
	Members int    `json:"members"` // the room's size after the change, on the node where it happened
}

// presencePrefix names the room, next to each room R, of the members that
// hear R's presence notices.
const presencePrefix = "presence:"

// memberKey is the Socket.Set key of a socket's *member.
const memberKey = "tcpchat.builtin"

// member is what the built-in handlers keep on a socket (Socket.Set,
// memberKey): the name its auth payload gave, whether it listens to
// presence notices, and the rooms it joined with "join", so that when it
// disconnects their listeners hear that it left. A socket whose auth gave
// neither a name nor presence holds none until its first "join" (an idle
// connection holds 104 bytes less than with a name, a record and their
// slice entries), and one that joined nothing holds no map.
type member struct {
	name    string // from the auth payload; empty: the socket id
	listens bool   // the auth payload asked for presence notices
	mu      sync.Mutex
	gone    bool            // guarded by mu; the socket disconnected
	rooms   map[string]bool // guarded by mu
}

// goneMember is what the disconnect handler leaves on a socket that had
// no member: a "join" that races with the disconnect finds it and records
// nothing (set refuses), so no room is left without its "left" notice.
var goneMember = &member{gone: true}

// memberOf returns the socket's member, nil when it has none.
func memberOf(s *tcpchat.Socket) *member {
	m, _ := s.Get(memberKey).(*member)
	return m
}

// joiningMember returns the socket's member, made now when it has none.
func joiningMember(s *tcpchat.Socket) *member {
	if m := memberOf(s); m != nil {
		return m
	}
	v, _ := s.LoadOrStore(memberKey, new(member))
	m, _ := v.(*member)
	return m
}

// Name returns the name a socket of a namespace with the built-in handlers
// goes by: the "name" of its auth payload, else its id. The handlers
// stamp relayed messages and presence notices with it.
func Name(s *tcpchat.Socket) string {
	if m := memberOf(s); m != nil && m.name != "" {
		return m.name
	}
	return s.ID()
}

func (p *member) set(room string, in bool) (changed bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gone || p.rooms[room] == in {
		return false
	}
	if in {
		if p.rooms == nil {
			p.rooms = make(map[string]bool)
		}
		p.rooms[room] = true
	} else {
		delete(p.rooms, room)
	}
	return true
}

// chatRooms leaves out the presence rooms: messages go to the rooms themselves.
func chatRooms(rooms []string) []string {
	return slices.DeleteFunc(rooms, func(r string) bool { return strings.HasPrefix(r, presencePrefix) })
}

// roomLimitMessage is the "error" of a join refused at the server's
// rooms per connection.
func roomLimitMessage(e *tcpchat.RoomLimitError) string {
	return fmt.Sprintf("your connection is in %d rooms over all its namespaces, and this server lets one connection be in %d (each room you hear presence notices of counts twice): leave one first, or start the server with a higher chat serve --max-rooms-per-conn", e.ConnRooms, e.Limit)
}

// validName is tcpchat's rule for room and event names: 1 to 255 bytes.
func validName(s string) bool { return len(s) > 0 && len(s) <= 255 }

// DurableRequest is the argument of the built-in "durable" event (`chat
// emit --durable`): a durable emit of Event with Args to client ids To and
// the durable members of Rooms (neither: the whole namespace, or with
// DurableRooms the sender's rooms).
type DurableRequest struct {
	To    []string        `json:"to,omitempty"`
	Rooms []string        `json:"rooms,omitempty"`
	Event string          `json:"event"`
	Args  json.RawMessage `json:"args,omitempty"`
}

// durableAck answers a "durable" event that was queued (for some
// recipients at least: Error and Code then say why not for the others).
// durableAckJSON is durableAck{ID, Recipients} as JSON, written without
// reflection: every stored durable emit is answered with one. The id is
// hex digits.
func durableAckJSON(res tcpchat.DurableResult) json.RawMessage {
	b := make([]byte, 0, 64)
	b = append(append(append(b, `{"id":"`...), res.ID...), `","recipients":`...)
	return append(strconv.AppendInt(b, int64(res.Recipients), 10), '}')
}

type durableAck struct {
	ID         string `json:"id"`
	Recipients int    `json:"recipients"`
	Error      string `json:"error,omitempty"`
	Code       string `json:"code,omitempty"` // AckQueueFull
}

// AckQueueFull is the code of a "durable" ack whose event was not queued
// for some recipients because their queues were full (store.ErrQueueFull):
// a full queue refuses new messages and keeps what it holds.
const AckQueueFull = "queue_full"

// AckStoreUnreachable is the code of a "durable" ack whose event was not
// queued because the server could not reach its store
// (store.ErrUnreachable): retry when the store is back.
const AckStoreUnreachable = "store_unreachable"

// AckOutOfScope is the code of a "durable" ack whose event was not queued
// because it named a room the sender is not in or a client id in none of
// the sender's rooms (DurableRooms).
const AckOutOfScope = "out_of_scope"

// DurableScope says whom a "durable" event may reach.
type DurableScope int

const (
	// DurableLocal is DurableAny for senders on the server's own machine
	// (a loopback address: the operator's tools) and DurableRooms for
	// everyone else. It is the default.
	DurableLocal DurableScope = iota
	// DurableRooms lets a sender reach the rooms it is in (their durable
	// members, offline ones included) and the client ids that are durable
	// members of those rooms; with neither named, the rooms it is in.
	// Anything else is refused with AckOutOfScope, nothing queued.
	DurableRooms
	// DurableAny lets any sender reach any client id, any room, and with
	// neither named every client id of the namespace.
	DurableAny
)

// ParseDurableScope reads "local", "rooms" or "any".
func ParseDurableScope(s string) (DurableScope, error) {
	switch s {
	case "local":
		return DurableLocal, nil
	case "rooms":
		return DurableRooms, nil
	case "any":
		return DurableAny, nil
	}
	return 0, fmt.Errorf("%w: %q", ErrBadDurableScope, s)
}

// ErrBadDurableScope is ParseDurableScope's error for a name it does not know.
var ErrBadDurableScope = errors.New("builtin: unknown durable scope (want local, rooms or any)")

// String is the name ParseDurableScope reads.
func (sc DurableScope) String() string {
	switch sc {
	case DurableRooms:
		return "rooms"
	case DurableAny:
		return "any"
	}
	return "local"
}

// scopeTimeout bounds the store lookups of one scope check.
const scopeTimeout = 5 * time.Second

// check applies the scope to a durable request of s: it returns why the
// request reaches beyond it (empty: it does not; req may have been given
// the sender's rooms), or the store's error.
func (sc DurableScope) check(s *tcpchat.Socket, req *DurableRequest) (string, error) {
	if sc == DurableAny || (sc == DurableLocal && loopback(s.RemoteAddr())) {
		return "", nil
	}
	mine := chatRooms(s.Rooms())
	for _, r := range req.Rooms {
		if !slices.Contains(mine, r) {
			return "join room " + strconv.Quote(r) + " first: a durable emit reaches only the rooms you are in", nil
		}
	}
	if len(req.To) == 0 {
		if len(req.Rooms) == 0 {
			if len(mine) == 0 {
				return "join a room first: a durable emit reaches only the rooms you are in and their client ids", nil
			}
			req.Rooms = mine
		}
		return "", nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), scopeTimeout)
	defer cancel()
	left := slices.Clone(req.To)
	for _, r := range mine {
		members, err := s.Namespace().DurableMembers(ctx, r)
		if err != nil {
			return "", err
		}
		left = slices.DeleteFunc(left, func(id string) bool { _, in := slices.BinarySearch(members, id); return in })
		if len(left) == 0 {
			return "", nil
		}
	}
	return "client id " + strconv.Quote(left[0]) + " is in none of your rooms: a durable emit reaches only client ids that share a room with you", nil
}

// loopback says whether a remote address ("IP:port") is on this machine's
// loopback interface.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// durableRefusal answers a "durable" event that was not queued at all.
type durableRefusal struct {
	Error string `json:"error"`
	Code  string `json:"code,omitempty"` // AckStoreUnreachable
}

// ChatMessage is what the built-in handlers relay for a "message" event.
type ChatMessage struct {
	From string          `json:"from"`
	Room string          `json:"room,omitempty"`
	Text string          `json:"text,omitempty"`
	Data json.RawMessage `json:"data,omitempty"` // the argument when it was not a string
}

// Install gives a namespace the handlers that let the command-line
// tools work without Go code:
//
//   - "join" / "leave" with a room name: the server adds or removes the
//     sender (rooms are server-side); the ack says the room's size. Members
//     that asked for presence (Presence) hear a "joined" / "left" notice,
//     and "left" also when a member disconnects.
//   - "message" with a text, or {"room": R, "text": T} for one room: relayed as a ChatMessage (sender's name from
//     the auth payload's "name", else the socket id) to each of the
//     sender's rooms, or to the whole namespace when it is in none, never
//     back to the sender; the ack says how many sockets it was queued for.
//   - "echo": acked with its own arguments, or emitted back without an ack.
//   - "durable" with a DurableRequest: a durable emit
//     (tcpchat.Socket.EmitDurableAsync) to whom the DurableScope lets
//     the sender reach; the ack gives its message id and recipient count,
//     or the error, once the store holds it. The
//     connection is read on meanwhile, so a client may keep many durable
//     emits in flight; they are queued, and acknowledged, in order, and
//     paced by the store rather than by the packet rate limits.
//   - any other event: relayed unchanged like "message" (to the sender's
//     rooms, or the namespace), acked with {"delivered": n}.
//
// A "durable" event reaches whom DurableLocal allows (Installer chooses
// another DurableScope).
//
// It has the signature of tcpchat.Options.NewNamespace, so that namespaces
// created on a client's first connect get the handlers too.
func Install(ns *tcpchat.Namespace) { install(ns, DurableLocal) }

// Installer returns Install with the "durable" event scoped to scope.
func Installer(scope DurableScope) func(*tcpchat.Namespace) {
	return func(ns *tcpchat.Namespace) { install(ns, scope) }
}

func install(ns *tcpchat.Namespace, scope DurableScope) {
	ns.OnConnection(func(s *tcpchat.Socket) {
		var auth struct {
			Name     string `json:"name"`
			Presence bool   `json:"presence"`
		}
		if len(s.Auth()) > 0 {
			json.Unmarshal(s.Auth(), &auth)
		}
		if auth.Name != "" || auth.Presence {
			s.Set(memberKey, &member{name: auth.Name, listens: auth.Presence})
		}
	})
	// One handler for the namespace, not a closure per socket: a parked
	// connection holds 56 bytes less.
	ns.OnDisconnect(func(s *tcpchat.Socket, _ error) {
		v, had := s.LoadOrStore(memberKey, goneMember)
		m, _ := v.(*member)
		if !had || m == nil {
			return
		}
		m.mu.Lock()
		rooms := slices.Collect(maps.Keys(m.rooms))
		m.rooms, m.gone = nil, true
		m.mu.Unlock()
		if len(rooms) == 0 {
			return
		}
		name := Name(s)
		for _, r := range rooms {
			ns.Volatile().To(presencePrefix+r).Emit(EventLeft, Presence{Name: name, Room: r, Members: ns.Adapter().Size(r)})
		}
	})
	roomOp := func(e *tcpchat.Event, join bool) {
		var room string
		if err := e.Bind(&room); err != nil || !validName(room) {
			e.Ack(map[string]string{"error": "give a room name: [\"room\"]"})
			return
		}
		chat := !strings.HasPrefix(room, presencePrefix)
		var m *member
		if join && chat {
			m = joiningMember(e.Socket)
		} else {
			m = memberOf(e.Socket)
		}
		listens := m != nil && m.listens && chat
		if join {
			rooms := []string{room}
			if listens {
				rooms = append(rooms, presencePrefix+room)
			}
			var limit *tcpchat.RoomLimitError
			if err := e.Socket.Join(rooms...); errors.As(err, &limit) {
				e.Ack(map[string]string{"error": roomLimitMessage(limit)})
				return
			}
		} else {
			e.Socket.Leave(room)
			e.Socket.Leave(presencePrefix + room)
		}
		members := ns.Adapter().Size(room)
		// The notice goes out before the ack, so that a member that has
		// its ack knows its listeners' notice is queued before anything
		// it does next (a notice after the ack could follow the next
		// member's, whom the ack let in first).
		defer e.Ack(map[string]any{"room": room, "members": members})
		if m != nil && chat && m.set(room, join) {
			notice := EventLeft
			if join {
				notice = EventJoined
			}
			// Listeners may be on other nodes: the adapter forwards it.
			e.Socket.To(presencePrefix+room).Volatile().Emit(notice, Presence{Name: Name(e.Socket), Room: room, Members: members})
		}
	}
	ns.On(EventJoin, func(e *tcpchat.Event) { roomOp(e, true) })
	ns.On(EventLeave, func(e *tcpchat.Event) { roomOp(e, false) })
	ns.On(EventMessage, func(e *tcpchat.Event) {
		s := e.Socket
		msg := ChatMessage{From: Name(s)}
		rooms := chatRooms(s.Rooms())
		if arg := e.Arg(0); len(arg) > 0 {
			var obj struct {
				Room *string `json:"room"`
				Text *string `json:"text"`
			}
			switch {
			case json.Unmarshal(arg, &msg.Text) == nil:
			case json.Unmarshal(arg, &obj) == nil && obj.Text != nil:
				msg.Text = *obj.Text
				if obj.Room != nil {
					if !slices.Contains(rooms, *obj.Room) {
						e.Ack(map[string]string{"error": "join room " + *obj.Room + " first"})
						return
					}
					rooms = []string{*obj.Room}
				}
			default:
				msg.Data = append(json.RawMessage(nil), arg...)
			}
		}
		n := 0
		if len(rooms) == 0 {
			n, _ = s.Broadcast().Emit(EventMessage, msg)
		}
		for _, r := range rooms {
			msg.Room = r
			k, _ := s.To(r).Emit(EventMessage, msg)
			n += k
		}
		ackDelivered(e, n)
	})
	ns.On(EventEcho, func(e *tcpchat.Event) {
		if e.WantsAck() {
			e.AckRaw(e.Args)
			return
		}
		e.Socket.EmitRaw(e.Name, e.Args)
	})
	ns.On(EventDurable, func(e *tcpchat.Event) {
		var req DurableRequest
		if err := bindDurable(e.Args, &req, e.Bind); err != nil || !validName(req.Event) {
			e.Ack(map[string]string{"error": `give {"event":NAME,"args":[...],"to":[CLIENT...],"rooms":[ROOM...]}`})
			return
		}
		if len(req.Args) > 0 && (req.Args[0] != '[' || !wire.ValidJSON(req.Args)) {
			e.Ack(map[string]string{"error": "args must be a JSON array"})
			return
		}
		if msg, err := scope.check(e.Socket, &req); msg != "" || err != nil {
			if err != nil {
				refusal := durableRefusal{Error: err.Error()}
				if errors.Is(err, store.ErrUnreachable) {
					refusal.Code = AckStoreUnreachable
				}
				e.Ack(refusal)
				return
			}
			e.Ack(durableRefusal{Error: msg, Code: AckOutOfScope})
			return
		}
		// Not waiting for the store here lets the connection's next
		// durable emits join the same store write (pipelining): the ack
		// goes out when this one's write is done, in the order of the emits.
		ack := e.AckFunc()
		e.Socket.EmitDurableAsync(tcpchat.DurableTarget{Clients: req.To, Rooms: req.Rooms}, req.Event, req.Args, func(res tcpchat.DurableResult, err error) {
			switch {
			case ack == nil:
			case errors.Is(err, store.ErrQueueFull):
				ack(durableAck{ID: res.ID, Recipients: res.Recipients, Error: err.Error(), Code: AckQueueFull})
			case errors.Is(err, store.ErrUnreachable):
				ack(durableRefusal{Error: err.Error(), Code: AckStoreUnreachable})
			case err != nil:
				ack(durableRefusal{Error: err.Error()})
			default:
				ack(durableAckJSON(res))
			}
		})
	})
	ns.OnAny(func(e *tcpchat.Event) {
		switch e.Name {
		case EventJoin, EventLeave, EventMessage, EventEcho, EventDurable, EventJoined, EventLeft:
			return
		}
		n, _ := e.Socket.To(chatRooms(e.SenderRooms())...).EmitRaw(e.Name, e.Args)
		ackDelivered(e, n)
	})
}

// ackDelivered answers [{"delivered": n}] when the sender asked for an
// answer, without building a map for every relayed event: the relay is the
// server's per-event path.
func ackDelivered(e *tcpchat.Event, n int) {
	if !e.WantsAck() {
		return
	}
	var buf [32]byte
	b := append(buf[:0], `[{"delivered":`...)
	b = strconv.AppendInt(b, int64(n), 10)
	_ = e.AckRaw(append(b, "}]"...))
}
