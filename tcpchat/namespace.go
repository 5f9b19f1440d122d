package tcpchat

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/wiredojo/wiredojo/tcpchat/store"
	"github.com/wiredojo/wiredojo/tcpchat/wire"
)

// Middleware runs when a client connects to a namespace, before the
// connection handlers, with the client's auth payload (raw JSON, possibly
// empty). Returning an error refuses the connect: the client receives a
// connect-error whose reason is the error's text.
type Middleware func(s *Socket, auth json.RawMessage) error

// Namespace is a named channel of a Server ("/", "/chat") with its own
// middleware, handlers, rooms and adapter. Its methods are safe for
// concurrent use.
type Namespace struct {
	name    string
	srv     *Server
	adapter Adapter
	sockets atomic.Int64
	dynamic bool // created for a client (Options.NewNamespace): freed when empty
	pins    int  // guarded by srv.mu; connects under way
	// ready is closed once Options.NewNamespace has set up a namespace a
	// client created; connects wait for it. Nil for declared namespaces.
	ready chan struct{}

	mu           sync.RWMutex
	middleware   []Middleware           // guarded by mu
	onConnection []func(*Socket)        // guarded by mu
	onDisconnect []func(*Socket, error) // guarded by mu
	handlers     handlerTable[Event]    // guarded by mu
}

// Name returns the namespace's name.
func (ns *Namespace) Name() string { return ns.name }

// Adapter returns the namespace's adapter.
func (ns *Namespace) Adapter() Adapter { return ns.adapter }

// Sockets returns the number of sockets connected to the namespace.
func (ns *Namespace) Sockets() int { return int(ns.sockets.Load()) }

// DurableMembers returns the client ids that are durable members of room
// (sorted; offline ones included), as a durable emit to the room would
// reach them. It needs a store (ErrNoStore otherwise).
func (ns *Namespace) DurableMembers(ctx context.Context, room string) ([]string, error) {
	st := ns.srv.opts.Store
	if st == nil {
		return nil, ErrNoStore
	}
	m, err := st.Members(ctx, store.Sub{Namespace: ns.name, Room: room})
	if err != nil {
		return nil, fmt.Errorf("tcpchat: durable members of room %q: %w", room, err)
	}
	return m, nil
}

// Use adds middleware, run in order for each connecting client.
func (ns *Namespace) Use(mw ...Middleware) *Namespace {
	ns.mu.Lock()
	ns.middleware = append(ns.middleware, mw...)
	ns.mu.Unlock()
	return ns
}

// OnConnection adds a handler run for each socket that joins the namespace
// (after the middleware accepted it), on the socket's reading goroutine.
func (ns *Namespace) OnConnection(fn func(s *Socket)) {
	ns.mu.Lock()
	ns.onConnection = append(ns.onConnection, fn)
	ns.mu.Unlock()
}

// OnDisconnect adds a handler run when a socket leaves the namespace, with
// the reason.
func (ns *Namespace) OnDisconnect(fn func(s *Socket, reason error)) {
	ns.mu.Lock()
	ns.onDisconnect = append(ns.onDisconnect, fn)
	ns.mu.Unlock()
}

// On sets the handler of event for every socket of the namespace. A
// handler set on the socket itself takes precedence.
func (ns *Namespace) On(event string, h Handler) {
	ns.mu.Lock()
	ns.handlers.set(event, h)
	ns.mu.Unlock()
}

// OnAny adds a handler run for every event of every socket of the
// namespace, after the event's own handler.
func (ns *Namespace) OnAny(h Handler) {
	ns.mu.Lock()
	ns.handlers.addAny(h)
	ns.mu.Unlock()
}

// To selects the members of rooms as recipients.
func (ns *Namespace) To(rooms ...string) BroadcastOperator {
	return BroadcastOperator{ns: ns}.To(rooms...)
}

// Except selects every socket but the members of rooms.
func (ns *Namespace) Except(rooms ...string) BroadcastOperator {
	return BroadcastOperator{ns: ns}.Except(rooms...)
}

// Volatile returns an operator whose emits may be dropped for busy
// recipients.
func (ns *Namespace) Volatile() BroadcastOperator { return BroadcastOperator{ns: ns, volatile: true} }

// Emit sends an event to every socket of the namespace, like
// BroadcastOperator.Emit.
func (ns *Namespace) Emit(event string, args ...any) (int, error) {
	return BroadcastOperator{ns: ns}.Emit(event, args...)
}

// BroadcastOperator selects the recipients of a broadcast. It is a value:
// each method returns a modified copy.
type BroadcastOperator struct {
	ns       *Namespace
	rooms    []string
	except   []string
	exclude  *Socket
	volatile bool
}

// To adds rooms to the recipients (union). The first To of an operator
// keeps the slice it is given instead of copying it (a relay emits to its
// sender's rooms on every event): do not change the slice while the
// operator is in use.
func (b BroadcastOperator) To(rooms ...string) BroadcastOperator {
	if len(b.rooms) == 0 {
		b.rooms = rooms[:len(rooms):len(rooms)]
		return b
	}
	b.rooms = append(b.rooms[:len(b.rooms):len(b.rooms)], rooms...)
	return b
}

// Except removes the members of rooms from the recipients.
func (b BroadcastOperator) Except(rooms ...string) BroadcastOperator {
	b.except = append(b.except[:len(b.except):len(b.except)], rooms...)
	return b
}

// Volatile lets the event be dropped for recipients that have packets
// waiting to be written, instead of queueing it.
func (b BroadcastOperator) Volatile() BroadcastOperator {
	b.volatile = true
	return b
}

// Emit marshals args to a JSON array and queues the event, encoded once,
// on every selected socket; it returns the number of sockets of this node
// it was queued for (an adapter also forwards it to the other nodes). A
// recipient whose send queue is full is waited for, up to
// Options.SlowConsumerWait, and then cut as a slow consumer; a volatile
// emit is dropped for it instead.
func (b BroadcastOperator) Emit(event string, args ...any) (int, error) {
	if err := checkName(event); err != nil {
		return 0, err
	}
	m := newMessage()
	defer m.Release()
	var err error
	m.buf, _ = appendEventHeader(m.buf, b.ns.name, event, false, 0)
	if m.buf, err = appendArgs(m.buf, args); err != nil {
		return 0, err
	}
	return b.send(m), nil
}

// EmitRaw is Emit with arguments that are already a JSON array
// (unchecked): it saves marshalling them, for example to relay an event's
// Args, and allocates nothing in steady state.
func (b BroadcastOperator) EmitRaw(event string, args json.RawMessage) (int, error) {
	if err := checkName(event); err != nil {
		return 0, err
	}
	m := newMessage()
	m.buf = appendEventRaw(m.buf, b.ns.name, event, args)
	n := b.send(m)
	m.Release()
	return n, nil
}

func (b BroadcastOperator) send(m *Message) int {
	var at int64 // when the packet that caused this broadcast was read (0: not known)
	if b.exclude != nil {
		m.batch = b.exclude.c // a socket's broadcast: maybe inside its read batch
		at = b.exclude.c.handling.Load()
	}
	if b.ns.srv.opts.RecoveryStore != nil && !b.volatile {
		b.ns.srv.appendReplay(b.ns.name, m.buf, b.rooms, b.except, at) // recovery.go
	}
	return b.ns.adapter.Broadcast(m, BroadcastOptions{Rooms: b.rooms, Except: b.except, Exclude: b.exclude, Volatile: b.volatile})
}

func appendEventHeader(dst []byte, ns, event string, hasAck bool, id uint32) ([]byte, error) {
	p := wire.Packet{Type: wire.TypeEvent, Namespace: ns, Event: event, HasAck: hasAck, AckID: id}
	return p.AppendTo(dst), nil
}

func appendEventRaw(dst []byte, ns, event string, args json.RawMessage) []byte {
	p := wire.Packet{Type: wire.TypeEvent, Namespace: ns, Event: event, Args: args}
	return p.AppendTo(dst)
}
