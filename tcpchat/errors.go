package tcpchat

import (
	"errors"
	"fmt"

	"github.com/wiredojo/wiredojo/tcpchat/wire"
)

// Sentinel errors.
var (
	// ErrServerClosed is returned by Serve and ListenAndServe after Shutdown
	// or Close, like net/http.
	ErrServerClosed = errors.New("tcpchat: server closed")
	// ErrClosed is returned by a Client or Socket that has been closed.
	ErrClosed = errors.New("tcpchat: connection closed")
	// ErrNotConnected is returned by client emits while the client is
	// reconnecting or the namespace is not joined: plain emits are
	// at-most-once and are not buffered.
	ErrNotConnected = errors.New("tcpchat: not connected (reconnecting or namespace not joined)")
	// ErrSlowConsumer is the reason recorded when a connection's send queue
	// overflows and the server cuts it.
	ErrSlowConsumer = errors.New("tcpchat: slow consumer: send queue full")
	// ErrRateLimited is the reason recorded when a connection sends faster
	// than the per-connection rate limit.
	ErrRateLimited = errors.New("tcpchat: rate limit exceeded")
	// ErrHeartbeat is the reason recorded when a peer sends nothing within
	// the heartbeat interval plus timeout.
	ErrHeartbeat = errors.New("tcpchat: heartbeat timeout")
	// ErrHandshake is matched by handshake failures.
	ErrHandshake = errors.New("tcpchat: handshake failed")
	// ErrBadName is returned for a namespace, event or room name that is
	// empty or longer than 255 bytes.
	ErrBadName = errors.New("tcpchat: name must be 1 to 255 bytes")
	// ErrClientIDTaken is matched by the refusal of a handshake whose
	// client id belongs to another client (it did not carry the id's
	// resume token, ClientOptions.ResumeToken): the server's reason for
	// the connection, and the client's error (a ServerError with code
	// wire.CodeClientIDTaken), with which the client ends.
	ErrClientIDTaken = errors.New("tcpchat: resume token refused")
	// ErrNoAck is returned by EmitWithAck when the connection ends before
	// the answer arrives.
	ErrNoAck = errors.New("tcpchat: connection ended before the ack arrived")
	// ErrTooManyClientIDs is matched by the server's reason for a
	// handshake it refused because it named a client id the store does
	// not know while the store held the most client ids it keeps
	// (store.Limits.MaxClients): the client gets an error packet with code
	// wire.CodeTooManyConnections.
	ErrTooManyClientIDs = errors.New("tcpchat: too many client ids")
	// ErrTooManyRooms is matched by Socket.Join's refusal of rooms that
	// would put the socket's connection in more rooms than
	// Options.MaxRoomsPerConn (a *RoomLimitError, which says the limit).
	ErrTooManyRooms = errors.New("tcpchat: too many rooms")
	// ErrBadPacket is matched by the read error of a Transport whose peer
	// sent what the transport's own protocol refuses (a malformed packet,
	// a message or request body over its size limit: a Socket.IO
	// session's, tcpchat/sio): the server counts it in
	// wiredojo_chat_bad_packets_total as it counts a malformed or
	// oversized packet of the event protocol.
	ErrBadPacket = errors.New("tcpchat: malformed or oversized packet")
)

// RoomLimitError is Socket.Join's refusal: the socket's connection is in
// ConnRooms rooms over all its namespaces, and joining would put it in
// more than Limit (Options.MaxRoomsPerConn). It joined none of the rooms
// asked for. It matches ErrTooManyRooms.
type RoomLimitError struct {
	Limit, ConnRooms int
}

// Error says the connection's rooms and the limit.
func (e *RoomLimitError) Error() string {
	return fmt.Sprintf("%v: the connection is in %d rooms over its namespaces, and may be in %d at most", ErrTooManyRooms, e.ConnRooms, e.Limit)
}

// Is makes a RoomLimitError match ErrTooManyRooms.
func (e *RoomLimitError) Is(target error) bool { return target == ErrTooManyRooms }

// ConnectError is a namespace connect refused by the server (unknown
// namespace, or a middleware's error such as a rejected auth payload).
type ConnectError struct {
	Namespace string
	Reason    string
}

func (e *ConnectError) Error() string {
	return fmt.Sprintf("tcpchat: connect to namespace %q refused: %s", e.Namespace, e.Reason)
}

// ServerError is an error packet received from the peer before it closed
// the connection.
type ServerError struct {
	Code   uint16
	Reason string
}

func (e *ServerError) Error() string {
	return fmt.Sprintf("tcpchat: peer closed the connection: %s (code %d)", e.Reason, e.Code)
}

// Is makes a refusal of the client id (code wire.CodeClientIDTaken) match
// ErrClientIDTaken.
func (e *ServerError) Is(target error) bool {
	return target == ErrClientIDTaken && e.Code == wire.CodeClientIDTaken
}

// DialError is returned (wrapped) when the client cannot open a connection
// to a server address; Err is the transport's error.
type DialError struct {
	Addr string
	Err  error
}

// Error says which address could not be dialled, and why.
func (e *DialError) Error() string { return "tcpchat: dial " + e.Addr + ": " + e.Err.Error() }

// Unwrap returns the transport's error.
func (e *DialError) Unwrap() error { return e.Err }
