package store

import "errors"

// ErrNotPending is returned by Ack when the message id is not pending in that
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

// ErrClaimed is returned by Claim when the client id's queue has a resume
// token and the caller gave another one (or none).
var ErrClaimed = errors.New("store: client id belongs to another client (resume token refused)")
