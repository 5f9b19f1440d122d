package ws

import (
	"errors"
	"fmt"
)

// ErrShortHeader is returned by ParseHeader when b does not yet hold the whole
// frame header: more bytes are needed.
var ErrShortHeader = errors.New("ws: short frame header")

// ErrLengthOverflow is returned by ParseHeader when a 64-bit payload length
// has its most significant bit set, which RFC 6455 forbids.
var ErrLengthOverflow = errors.New("ws: 64-bit payload length has its top bit set")

// ErrShortHTTP is returned by ParseHTTPHead when b does not yet hold the
// blank line that ends an HTTP head: more bytes are needed.
var ErrShortHTTP = errors.New("ws: incomplete HTTP head")

// ErrNotHTTP is returned by ParseHTTPHead when the bytes are not an HTTP/1.x
// request or response head.
var ErrNotHTTP = errors.New("ws: not an HTTP/1.x head")

// errHeadTooLarge: the HTTP head does not fit the handshake buffer.
var errHeadTooLarge = errors.New("ws: HTTP head too large")

// ErrClosed is returned by operations on a connection after it was closed
// by this side (Close or CloseNow).
var ErrClosed = errors.New("ws: use of closed connection")

// ErrReadIdle is matched (errors.Is), with os.ErrDeadlineExceeded, by the
// error of a read whose deadline passed before any byte of the next
// message arrived. Unlike every other read error it is not final: the
// connection is untouched, and a read with a later deadline goes on.
var ErrReadIdle = errors.New("ws: no message before the read deadline")

// ErrBadHandshake is matched (errors.Is) by every *HandshakeError.
var ErrBadHandshake = errors.New("ws: bad handshake")

// ErrProtocol is matched (errors.Is) by every *ProtocolError.
var ErrProtocol = errors.New("ws: protocol violation")

// HandshakeError reports a refused opening handshake. On the server side
// Status and Reason were sent to the client as the HTTP response; on the
// client side Status is what the server answered (0 when the response was
// unreadable).
type HandshakeError struct {
	Status int    // HTTP status
	Reason string // what was wrong, for a person
}

func (e *HandshakeError) Error() string {
	if e.Status == 0 {
		return "ws: handshake failed: " + e.Reason
	}
	return fmt.Sprintf("ws: handshake failed (HTTP %d): %s", e.Status, e.Reason)
}

// Is reports whether target is ErrBadHandshake.
func (e *HandshakeError) Is(target error) bool { return target == ErrBadHandshake }

// ProtocolError reports a violation of RFC 6455 (or RFC 7692) by the peer.
// Code is the close status sent to the peer because of it.
type ProtocolError struct {
	Code   StatusCode
	Reason string
}

func (e *ProtocolError) Error() string {
	return fmt.Sprintf("ws: protocol violation by the peer (closed with %d): %s", int(e.Code), e.Reason)
}

// Is reports whether target is ErrProtocol.
func (e *ProtocolError) Is(target error) bool { return target == ErrProtocol }

// CloseError is returned by reads once the peer has sent a close frame. Code
// is StatusNoStatus (1005) when the close frame carried no code. Use
// errors.As to read it.
type CloseError struct {
	Code   StatusCode
	Reason string
}

func (e *CloseError) Error() string {
	if e.Reason == "" {
		return fmt.Sprintf("ws: closed by the peer with status %d (%s)", int(e.Code), e.Code)
	}
	return fmt.Sprintf("ws: closed by the peer with status %d (%s): %q", int(e.Code), e.Code, e.Reason)
}

// MessageTooBigError is returned by reads when a message exceeds the limit;
// the connection was closed with StatusMessageTooBig (1009).
type MessageTooBigError struct {
	Size int64 // bytes announced or read so far
	Max  int64
}

func (e *MessageTooBigError) Error() string {
	return fmt.Sprintf("ws: message of at least %d bytes exceeds the limit of %d bytes (raise MaxMessageSize)", e.Size, e.Max)
}
