package tcpchat

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/wiredojo/wiredojo/tcpchat/wire"
)

// Handler handles one event. It runs on the connection's reading goroutine:
// events of one connection are handled in order, one at a time, so a
// handler must not block waiting for the same connection (call
// EmitWithAck from a new goroutine).
type Handler func(e *Event)

// Event is one received event. It and its Args are valid only while the
// handler runs: copy Args to keep them, and use AckFunc to answer later.
type Event struct {
	Namespace string
	Name      string
	// Args is the JSON array of arguments (possibly empty).
	Args json.RawMessage
	// Socket is the sending socket on a server, nil on a client.
	Socket *Socket
	// Client is the receiving namespace socket on a client, nil on a server.
	Client *ClientSocket
	// MessageID and Offset are set for a durable (queued) event on a
	// client: its id (32 hex digits) and its offset in the client id's
	// queue. The client acknowledges it after the handlers return.
	MessageID string
	Offset    uint64
	// Redelivered marks a durable event the server had sent to this client
	// id before without getting its acknowledgement.
	Redelivered bool

	hasAck bool
	ackID  uint32
	acker  acker
}

// acker sends the answer to an event that asked for one.
type acker interface {
	sendAck(ns string, id uint32, args []byte) error
}

// WantsAck reports whether the sender waits for an answer.
func (e *Event) WantsAck() bool { return e.hasAck }

// Ack answers the event with args (each marshalled to JSON; a
// json.RawMessage is sent as is). It does nothing when the sender asked for
// no answer or the event was already answered.
func (e *Event) Ack(args ...any) error {
	if !e.hasAck {
		return nil
	}
	e.hasAck = false
	buf, err := appendArgs(make([]byte, 0, 64), args)
	if err != nil {
		return err
	}
	return e.acker.sendAck(e.Namespace, e.ackID, buf)
}

// AckRaw answers the event with args, already a JSON array (unchecked).
func (e *Event) AckRaw(args json.RawMessage) error {
	if !e.hasAck {
		return nil
	}
	e.hasAck = false
	return e.acker.sendAck(e.Namespace, e.ackID, args)
}

// AckFunc returns a function that answers the event later, from any
// goroutine; nil when no answer is wanted. The event counts as answered.
func (e *Event) AckFunc() func(args ...any) error {
	if !e.hasAck {
		return nil
	}
	e.hasAck = false
	ns, id, a := e.Namespace, e.ackID, e.acker
	return func(args ...any) error {
		buf, err := appendArgs(make([]byte, 0, 64), args)
		if err != nil {
			return err
		}
		return a.sendAck(ns, id, buf)
	}
}

// Bind unmarshals the arguments, in order, into the pointers in v. Missing
// arguments leave their targets unchanged; extra arguments are ignored.
func (e *Event) Bind(v ...any) error { return bindArgs(e.Args, v) }

// Arg returns argument i as raw JSON, or nil when there is none.
func (e *Event) Arg(i int) json.RawMessage {
	var raw []json.RawMessage
	if json.Unmarshal(e.Args, &raw) != nil || i < 0 || i >= len(raw) {
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
type handlerEntry struct {
	name string
	fn   Handler
}

// handlerTable holds the event handlers and catch-all handlers of a
// namespace, a server socket or a client socket. It has no lock of its own:
// its owner's mutex guards it.
type handlerTable struct {
	byName map[string]*handlerEntry
	any    []Handler
}

// set makes h the handler of event.
func (t *handlerTable) set(event string, h Handler) {
	if t.byName == nil {
		t.byName = make(map[string]*handlerEntry)
	}
	t.byName[event] = &handlerEntry{name: event, fn: h}
}

// addAny adds a handler run for every event.
func (t *handlerTable) addAny(h Handler) { t.any = append(t.any, h) }

// lookup returns the handler of the event named by name (nil if none) and
// the catch-all handlers. It does not allocate.
func (t *handlerTable) lookup(name []byte) (*handlerEntry, []Handler) {
	return t.byName[string(name)], t.any
}
