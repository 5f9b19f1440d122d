package store

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNotPending is returned by AckOne when the message id is not pending in that
// client's queue: it was never queued for that client, it was already
// acknowledged (a duplicate ack), or it was purged, dropped by retention or
// expired. Nothing is changed; a server may ignore it.
var ErrNotPending = errors.New("store: message is not pending for this client (unknown id or already acknowledged)")

// ErrInvalidName is returned for an empty client id, namespace, room or
// session id, one longer than MaxNameLen, or one containing a NUL byte.
var ErrInvalidName = errors.New("store: invalid name (must be 1..255 bytes without NUL)")

// ErrBadID is returned by ParseID for text that is not a message id.
var ErrBadID = errors.New("store: malformed message id (want 32 hex digits)")

// ErrSessionNotFound is returned by TakeSession when no session with that id
// exists: it never existed, was already taken, or its window expired.
var ErrSessionNotFound = errors.New("store: session not found or expired")

// ErrReplayGap is returned by Replay when the log no longer holds every entry
// after the requested offset (they were trimmed by retention): recovery from
// that offset is impossible and the client must start afresh.
var ErrReplayGap = errors.New("store: replay log no longer holds entries after this offset")

// ErrCorrupt is matched (errors.Is) by errors for stored records or files that
// cannot be decoded.
var ErrCorrupt = errors.New("store: corrupted data")

// ErrDiskFull is matched (errors.Is) by write errors caused by a full disk.
// The write was rolled back as a whole: no queue is left half-written.
var ErrDiskFull = errors.New("store: disk full")

// ErrUnreachable is wrapped when a store (or the Redis bus beside it)
// cannot reach its server.
var ErrUnreachable = errors.New("store: cannot reach the server")

// ErrClosed is returned by every method after Close.
var ErrClosed = errors.New("store: closed")

// ErrPayloadTooLarge is returned by Append and AppendReplay for a payload
// above MaxPayload.
var ErrPayloadTooLarge = errors.New("store: payload too large")

// ErrQueueFull is matched by a QueueFullError.
var ErrQueueFull = errors.New("store: queue full")

// QueueFullError is returned by Append (and set on an AppendBatch entry)
// when the queues of some recipients already held Limits.MaxMessages: a
// full queue refuses new messages, it never drops pending ones. The
// message was appended to the other recipients (the returned id and their
// offsets are valid; a refused recipient's offset is 0).
type QueueFullError struct {
	Clients []string // the recipients refused, in the order given
	Max     int      // Limits.MaxMessages
}

// Error names the refused recipients (the first few).
func (e *QueueFullError) Error() string {
	names := e.Clients
	more := ""
	if len(names) > 5 {
		names, more = names[:5], fmt.Sprintf(" and %d more", len(e.Clients)-5)
	}
	return fmt.Sprintf("store: queue full (%d messages): not queued for %s%s", e.Max, strings.Join(names, ", "), more)
}

// Is makes a QueueFullError match ErrQueueFull.
func (e *QueueFullError) Is(target error) bool { return target == ErrQueueFull }

// ErrClaimed is returned by Claim when the client id's queue has a resume
// token and the caller gave another one (or none).
var ErrClaimed = errors.New("store: client id belongs to another client (resume token refused)")

// ErrTooManyClients is matched by Claim's refusal of a client id the store
// does not know when it holds Limits.MaxClients client ids already (a
// known one is still claimed): a *ClientLimitError.
var ErrTooManyClients = errors.New("store: too many client ids")

// ClientLimitError is Claim's refusal of a new client id while the store
// holds Max client ids (Limits.MaxClients). It matches ErrTooManyClients.
// A store may wrap it with its own context (a file's path): what a client
// is told comes from Max, not from the wrapped text.
type ClientLimitError struct {
	Max int
}

// Error says the bound.
func (e *ClientLimitError) Error() string {
	return fmt.Sprintf("%v: the store holds %d, the most it keeps, and this one is new", ErrTooManyClients, e.Max)
}

// Is makes a ClientLimitError match ErrTooManyClients.
func (e *ClientLimitError) Is(target error) bool { return target == ErrTooManyClients }
