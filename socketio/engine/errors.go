package engine

import (
	"errors"
	"fmt"
)

// The reasons a session ends, returned by Session.Read and Session.Err.
var (
	// ErrClosed: the session was closed by the server (Session.Close or
	// Server.Close).
	ErrClosed = errors.New("engine: session closed")
	// ErrPeerClosed: the client sent a close packet.
	ErrPeerClosed = errors.New("engine: closed by the client")
	// ErrPingTimeout: no pong arrived within the ping timeout.
	ErrPingTimeout = errors.New("engine: ping timeout")
	// ErrQueueFull: the client did not take its packets fast enough and the
	// send queue overflowed (the reason is a *QueueFullError, which names
	// the bound).
	ErrQueueFull = errors.New("engine: send queue full")
	// ErrTransport: the transport failed (the WebSocket broke, a bad
	// request body, a second outstanding poll).
	ErrTransport = errors.New("engine: transport error")
	// ErrParse: the client sent a malformed packet.
	ErrParse = errors.New("engine: malformed packet from the client")
)

// QueueFullError is why a session ended at a bound of its send queue:
// Session.Send refused packets that would have put the queue over
// Options.SendQueue packets or Options.SendQueueBytes bytes. It matches
// ErrQueueFull.
type QueueFullError struct {
	Bytes  bool // the byte bound (Options.SendQueueBytes) was met, not the packet bound (Options.SendQueue)
	Limit  int  // the bound: packets, or bytes
	Queued int  // the packets, or bytes, queued when the Send came
	Sent   int  // the packets, or bytes, of the Send refused
}

// Error says which bound the queue met.
func (e *QueueFullError) Error() string {
	if e.Bytes {
		return fmt.Sprintf("%v: %d bytes queued and %d more sent, over the bound of %d bytes (Options.SendQueueBytes)", ErrQueueFull, e.Queued, e.Sent, e.Limit)
	}
	return fmt.Sprintf("%v: %d packets queued and %d more sent, over the bound of %d packets (Options.SendQueue)", ErrQueueFull, e.Queued, e.Sent, e.Limit)
}

// Is makes a QueueFullError match ErrQueueFull.
func (e *QueueFullError) Is(target error) bool { return target == ErrQueueFull }
