package client

import (
	"errors"
	"fmt"
)

var (
	// ErrNoWebSocket is returned by Dial when the server's open packet
	// offers no WebSocket upgrade: this client carries packets over
	// WebSocket only.
	ErrNoWebSocket = errors.New("socketio/client: the server offers no WebSocket upgrade")
	// ErrUpgrade is matched by failures of the upgrade from polling to
	// WebSocket (the probe not answered with "3probe").
	ErrUpgrade = errors.New("socketio/client: upgrade to WebSocket failed")
	// ErrPingTimeout ends a session whose server sent nothing (not even a
	// ping) for longer than pingInterval + pingTimeout.
	ErrPingTimeout = errors.New("socketio/client: ping timeout: the server went silent")
	// ErrServerClosed ends a session the server closed (an Engine.IO close
	// packet, or the WebSocket's close).
	ErrServerClosed = errors.New("socketio/client: the server closed the session")
	// ErrTooLarge is returned by Write for a message longer than the
	// server's maxPayload; nothing of the batch from that message on was
	// sent.
	ErrTooLarge = errors.New("socketio/client: message longer than the server's maxPayload")
	// ErrProtocol is matched by every error about what the server sent: a
	// malformed Engine.IO or Socket.IO packet, an attachment nobody
	// announced, a bad open packet.
	ErrProtocol = errors.New("socketio/client: protocol error")
)

// URLError says why a URL is not one Dial takes.
type URLError struct {
	URL    string
	Reason string
}

func (e *URLError) Error() string {
	return fmt.Sprintf("socketio/client: URL %q: %s", e.URL, e.Reason)
}

// HTTPError is the answer of a server that refused the polling handshake.
type HTTPError struct {
	Status int    // HTTP status
	Body   string // the start of the body (the reference server says why as JSON)
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("socketio/client: handshake refused: HTTP %d %s", e.Status, e.Body)
}
