package tcpchat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/wiredojo/wiredojo/tcpchat/wire"
)

// Handler handles one event on the server. It runs on the connection's
// reading goroutine: events of one connection are handled in order, one at
// a time, so a handler must not block waiting for the same connection (call
// EmitWithAck from a new goroutine).
type Handler func(e *Event)

// ClientHandler handles one event on a client. It runs on the client's
// reading goroutine, in order, like a Handler on the server.
type ClientHandler func(e *ClientEvent)

// Event is one event a server received. It and its Args are valid only
// while the handler runs: copy Args to keep them, and use AckFunc to answer
// later.
type Event struct {
	Namespace string
	Name      string
	// Args is the JSON array of arguments (possibly empty).
	Args json.RawMessage
	// Socket is the sending socket.
	Socket *Socket

	reply reply
	rooms *[]string // the reading goroutine's buffer for SenderRooms (nil: none)
}

// SenderRooms returns the rooms the sending socket is in (its own room
// among them), as Socket.AppendRooms(nil) would, in a buffer of the
// reading goroutine's that is valid only until the handler returns: a
// relay's handler (tcpchat/builtin) gets its sender's rooms without an
// allocation or a pool per event. The caller may reorder or shorten the
// slice.
func (e *Event) SenderRooms() []string {
	if e.rooms == nil {
		return e.Socket.AppendRooms(nil)
	}
	*e.rooms = e.Socket.AppendRooms((*e.rooms)[:0])
	return *e.rooms
}

// WantsAck reports whether the sender waits for an answer.
func (e *Event) WantsAck() bool { return e.reply.wanted }

// Ack answers the event with args (each marshalled to JSON; a
// json.RawMessage is sent as is). It does nothing when the sender asked for
// no answer or the event was already answered.
func (e *Event) Ack(args ...any) error { return e.reply.ack(args) }

// AckRaw is Ack with arguments that are already a JSON array (unchecked):
// it saves marshalling them, for example to answer with an event's own Args.
func (e *Event) AckRaw(args json.RawMessage) error { return e.reply.ackRaw(args) }

// AckFunc returns a function that answers the event later, from any
// goroutine; nil when no answer is wanted. The event counts as answered.
func (e *Event) AckFunc() func(args ...any) error { return e.reply.ackFunc() }

// Bind unmarshals the arguments, in order, into the pointers in v. Missing
// arguments leave their targets unchanged; extra arguments are ignored.
func (e *Event) Bind(v ...any) error { return bindArgs(e.Args, v) }

// Arg returns argument i as raw JSON, or nil when there is none.
func (e *Event) Arg(i int) json.RawMessage { return argAt(e.Args, i) }

// ClientEvent is one event a client received. Like an Event it is valid
// only while the handler runs.
type ClientEvent struct {
	Namespace string
	Name      string
	// Args is the JSON array of arguments (possibly empty).
	Args json.RawMessage
	// Socket is the receiving namespace socket.
	Socket *ClientSocket
	// MessageID and Offset are set for a durable (queued) event: its id
	// (32 hex digits) and its offset in the client id's queue. The client
	// acknowledges it after the handlers return.
	MessageID string
	Offset    uint64
	// Redelivered marks a durable event the server had sent to this client
	// id before without getting its acknowledgement.
	Redelivered bool

	reply reply
}

// WantsAck reports whether the server waits for an answer.
func (e *ClientEvent) WantsAck() bool { return e.reply.wanted }

// Ack answers the event with args, like Event.Ack.
func (e *ClientEvent) Ack(args ...any) error { return e.reply.ack(args) }

// AckRaw is Ack with arguments that are already a JSON array (unchecked),
// like Event.AckRaw.
func (e *ClientEvent) AckRaw(args json.RawMessage) error { return e.reply.ackRaw(args) }

// AckFunc returns a function that answers the event later, like
// Event.AckFunc.
func (e *ClientEvent) AckFunc() func(args ...any) error { return e.reply.ackFunc() }

// Bind unmarshals the arguments into the pointers in v, like Event.Bind.
func (e *ClientEvent) Bind(v ...any) error { return bindArgs(e.Args, v) }

// Arg returns argument i as raw JSON, or nil when there is none.
func (e *ClientEvent) Arg(i int) json.RawMessage { return argAt(e.Args, i) }

// acker sends the answer to an event that asked for one.
type acker interface {
	sendAck(ns string, id uint32, args []byte) error
}

// reply is how an event is answered: the ack id the sender waits on and
// the connection to send the answer on.
type reply struct {
	wanted bool
	ns     string
	id     uint32
	to     acker
}

func (r *reply) ack(args []any) error {
	if !r.wanted {
		return nil
	}
	r.wanted = false
	buf, err := appendArgs(make([]byte, 0, 64), args)
	if err != nil {
		return err
	}
	return r.to.sendAck(r.ns, r.id, buf)
}

func (r *reply) ackRaw(args json.RawMessage) error {
	if !r.wanted {
		return nil
	}
	r.wanted = false
	return r.to.sendAck(r.ns, r.id, args)
}

func (r *reply) ackFunc() func(args ...any) error {
	if !r.wanted {
		return nil
	}
	r.wanted = false
	ns, id, a := r.ns, r.id, r.to
	return func(args ...any) error {
		buf, err := appendArgs(make([]byte, 0, 64), args)
		if err != nil {
			return err
		}
		return a.sendAck(ns, id, buf)
	}
}

// replyTo is the reply of the event in v, answered through a.
func replyTo(v *wire.View, ns string, a acker) reply {
	return reply{wanted: v.HasAck, ns: ns, id: v.AckID, to: a}
}

func argAt(args json.RawMessage, i int) json.RawMessage {
	var raw []json.RawMessage
	if json.Unmarshal(args, &raw) != nil || i < 0 || i >= len(raw) {
		return nil
	}
	return raw[i]
}

func bindArgs(args json.RawMessage, v []any) error {
	if len(args) == 0 {
		return nil
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(args, &raw); err != nil {
		return fmt.Errorf("tcpchat: arguments are not a JSON array: %w", err)
	}
	for i := 0; i < len(v) && i < len(raw); i++ {
		if err := json.Unmarshal(raw[i], v[i]); err != nil {
			return fmt.Errorf("tcpchat: argument %d: %w", i, err)
		}
	}
	return nil
}

var errEmptyJSON = errors.New("tcpchat: an argument marshalled to nothing")

// appendArgs appends args as a JSON array. json.RawMessage arguments are
// copied as they are (they must be valid JSON).
func appendArgs(dst []byte, args []any) ([]byte, error) {
	dst = append(dst, '[')
	for i, a := range args {
		if i > 0 {
			dst = append(dst, ',')
		}
		switch v := a.(type) {
		case json.RawMessage:
			if !wire.ValidJSON(v) {
				return nil, fmt.Errorf("tcpchat: argument %d is not valid JSON", i)
			}
			dst = append(dst, v...)
		default:
			b, err := json.Marshal(v)
			if err != nil {
				return nil, fmt.Errorf("tcpchat: argument %d: %w", i, err)
			}
			if len(b) == 0 {
				return nil, errEmptyJSON
			}
			dst = append(dst, b...)
		}
	}
	return append(dst, ']'), nil
}

// checkName validates a namespace, event or room name.
func checkName(s string) error {
	if len(s) == 0 || len(s) > 255 {
		return fmt.Errorf("%w: got %d bytes", ErrBadName, len(s))
	}
	return nil
}

// handlerEntry keeps the registered event name so that dispatch can hand it
// to the handler without converting bytes to a new string.
type handlerEntry[E any] struct {
	name string
	fn   func(*E)
}

// handlerTable holds the event handlers and catch-all handlers of a
// namespace, a server socket (E is Event) or a client socket (E is
// ClientEvent). It has no lock of its own: its owner's mutex guards it.
type handlerTable[E any] struct {
	byName map[string]*handlerEntry[E]
	any    []func(*E)
	sets   uint64 // calls of set so far: a reader's note that a name had no handler holds while this stays
}

// set makes h the handler of event.
func (t *handlerTable[E]) set(event string, h func(*E)) {
	if t.byName == nil {
		t.byName = make(map[string]*handlerEntry[E])
	}
	t.byName[event] = &handlerEntry[E]{name: event, fn: h}
	t.sets++
}

// addAny adds a handler run for every event.
func (t *handlerTable[E]) addAny(h func(*E)) { t.any = append(t.any, h) }

// match adds what t holds for the event named name to m: its handler, when
// m has none yet (an earlier table takes precedence), and its catch-all
// handlers. The caller holds the lock of t's owner. It does not allocate.
func (t *handlerTable[E]) match(name []byte, m *matched[E]) {
	if m.h == nil {
		m.h = t.byName[string(name)]
	}
	t.matchAny(m)
}

// matchAny is match for an event known to have no handler in t.
func (t *handlerTable[E]) matchAny(m *matched[E]) {
	if len(t.any) > 0 {
		m.anys[m.n] = t.any
		m.n++
	}
}

// matched is what one event runs, collected from up to two handler tables
// (a server socket's, then its namespace's).
type matched[E any] struct {
	h    *handlerEntry[E]
	anys [2][]func(*E)
	n    int
}

// none reports whether nothing handles the event.
func (m *matched[E]) none() bool { return m.h == nil && m.n == 0 }

// name is the event's name: the registered string when a handler matched
// (no allocation), else *last when it holds the same name, else a copy of
// raw, which it keeps in *last (when last is not nil) for the next event:
// a relay's catch-all handler sees the same few names over and over.
func (m *matched[E]) name(raw []byte, last *string) string {
	switch {
	case m.h != nil:
		return m.h.name
	case last == nil:
		return string(raw)
	case *last != string(raw):
		*last = string(raw)
	}
	return *last
}

// run runs the event's handler, then the catch-all handlers in table
// order, and then clears e: it is valid only while the handlers run.
func (m *matched[E]) run(e *E) {
	if m.h != nil {
		m.h.fn(e)
	}
	for _, anys := range m.anys[:m.n] {
		for _, fn := range anys {
			fn(e)
		}
	}
	var zero E
	*e = zero
}

// ackTable holds the emits of one socket that wait for an ack. It has no
// lock of its own: its owner's mutex guards it, so that registering can be
// atomic with the owner's check that the socket is still connected.
type ackTable struct {
	next    uint32
	waiting map[uint32]chan json.RawMessage         // the server's (Socket.EmitWithAck)
	funcs   map[uint32]func(json.RawMessage, error) // the client's emits (ClientSocket.EmitWithAckFunc)
}

// registerFunc returns a new ack id whose answer goes to fn.
func (t *ackTable) registerFunc(fn func(json.RawMessage, error)) uint32 {
	if t.funcs == nil {
		t.funcs = make(map[uint32]func(json.RawMessage, error))
	}
	t.next++
	t.funcs[t.next] = fn
	return t.next
}

// takeFunc removes and returns the function waiting for id (nil: none).
func (t *ackTable) takeFunc(id uint32) func(json.RawMessage, error) {
	fn := t.funcs[id]
	delete(t.funcs, id)
	return fn
}

// register returns a new ack id and the channel its answer arrives on.
func (t *ackTable) register() (uint32, chan json.RawMessage) {
	if t.waiting == nil {
		t.waiting = make(map[uint32]chan json.RawMessage)
	}
	t.next++
	ch := make(chan json.RawMessage, 1)
	t.waiting[t.next] = ch
	return t.next, ch
}

// forget drops a registered id (its emit gave up).
func (t *ackTable) forget(id uint32) { delete(t.waiting, id) }

// take removes and returns the channel waiting for id (nil: nobody waits).
// The caller hands the answer over with deliverAck after unlocking.
func (t *ackTable) take(id uint32) chan json.RawMessage {
	ch := t.waiting[id]
	delete(t.waiting, id)
	return ch
}

// failAll ends every wait with ErrNoAck (the connection or namespace is
// gone). It returns the functions waiting, for the caller to run with
// ErrNoAck after unlocking, in the order of their emits.
func (t *ackTable) failAll() []func(json.RawMessage, error) {
	for id, ch := range t.waiting {
		close(ch)
		delete(t.waiting, id)
	}
	if len(t.funcs) == 0 {
		return nil
	}
	ids := slices.Sorted(maps.Keys(t.funcs))
	fns := make([]func(json.RawMessage, error), len(ids))
	for i, id := range ids {
		fns[i] = t.funcs[id]
	}
	clear(t.funcs)
	return fns
}

// deliverAck hands a copy of an ack's arguments to the emit waiting on ch.
func deliverAck(ch chan json.RawMessage, args []byte) {
	if ch != nil {
		ch <- append(json.RawMessage(nil), args...)
	}
}

// waitAck waits for the answer on ch until ctx ends; event and socket (the
// server socket's id, empty on a client) name the emit in the timeout
// error.
func waitAck(ctx context.Context, ch chan json.RawMessage, event, socket string) (json.RawMessage, error) {
	select {
	case res, ok := <-ch:
		if !ok {
			return nil, ErrNoAck
		}
		return res, nil
	case <-ctx.Done():
		if socket != "" {
			return nil, fmt.Errorf("tcpchat: no ack for %q from socket %s: %w", event, socket, ctx.Err())
		}
		return nil, fmt.Errorf("tcpchat: no ack for %q: %w", event, ctx.Err())
	}
}
