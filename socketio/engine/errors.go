package engine

import "errors"

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
	// send queue overflowed.
	ErrQueueFull = errors.New("engine: send queue full")
	// ErrTransport: the transport failed (the WebSocket broke, a bad
	// request body, a second outstanding poll).
	ErrTransport = errors.New("engine: transport error")
	// ErrParse: the client sent a malformed packet.
	ErrParse = errors.New("engine: malformed packet from the client")
)
