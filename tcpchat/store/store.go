package store

import (
	"context"
	"strings"
	"time"
)

// MaxNameLen bounds client ids, namespaces, rooms and session ids.
const MaxNameLen = 255

// MaxPayload bounds one message's payload (16 MiB, the largest WebSocket
// message the server accepts).
const MaxPayload = 16 << 20

// Message is one stored event: opaque payload bytes (the encoded event
// packet) plus the metadata the server needs to route and expire it.
//
// Messages returned by a store may share their slices with other callers:
// treat them as read-only.
type Message struct {
	ID        ID        // set by the store on Append / AppendReplay
	Offset    uint64    // per-queue (or per-namespace log) offset, set by the store
	Namespace string    // e.g. "/chat"
	Event     string    // event name
	Rooms     []string  // target rooms of a broadcast (empty: whole namespace or direct)
	Except    []string  // rooms excluded from a broadcast
	Created   time.Time // set by the store (its clock) when zero
	Payload   []byte    // the encoded event packet, opaque to the store
}

// QueueInfo describes one client queue (`chat queue ls`).
type QueueInfo struct {
	Client     string
	Depth      int       // pending messages
	Oldest     time.Time // creation time of the oldest pending message; zero when empty
	NextOffset uint64    // offset the next appended message will get
	LastSeen   time.Time // creation or last Touch, Pending or AckBatch
}

// Sub is one durable room subscription.
type Sub struct {
	Namespace string
	Room      string
}

// Session is the state kept for connection state recovery of one namespace
// connection: who it was, which rooms it was in and the last replay-log offset
// it received.
type Session struct {
	ID        string
	Client    string
	Namespace string
	Rooms     []string
	Offset    uint64    // last replay-log offset of Namespace delivered to it
	Expires   time.Time // set by SaveSession (now + Limits.SessionWindow)
}

// Stats are counters since the store was opened (per process; they are not
// persisted).
type Stats struct {
	Appended        uint64 // messages added to queues (one per recipient)
	Acked           uint64 // successful acks
	AckNotPending   uint64 // acks answered with ErrNotPending
	RefusedFull     uint64 // appends refused because the recipient's queue held MaxMessages
	DroppedAge      uint64 // messages removed because they were older than MaxAge
	Purged          uint64 // messages removed by Purge
	ExpiredQueues   uint64 // idle queues removed by Expire
	ReplayAppended  uint64 // entries added to replay logs
	ReplayTrimmed   uint64 // replay entries removed by ReplayMax, ReplayWindow or the byte bounds
	ReplayBytes     uint64 // bytes the replay logs hold now (a gauge; memory and bolt: this store's; Redis: the total of every node, as of this node's last write or sweep)
	SessionsSaved   uint64
	SessionsTaken   uint64
	SessionsExpired uint64 // sessions found or swept past their window
	SessionsDropped uint64 // sessions removed, oldest first, to keep SessionTotalBytes (by this process)
	SessionBytes    uint64 // bytes the saved sessions hold now (a gauge, as ReplayBytes)
	Commits         uint64 // write transactions (bolt group commits; 0 elsewhere)
}

// Limits are the retention limits. Zero fields take the defaults; a negative
// MaxMessages, MaxClients, MaxAge, QueueTTL, ReplayMax, ReplayMaxBytes,
// ReplayTotalBytes or SessionTotalBytes means no limit.
type Limits struct {
	MaxMessages int // per queue; default DefaultMaxMessages
	// MaxClients bounds the client ids (queues) the store holds for Claim
	// (default DefaultMaxClients): a Claim of an id the store does not know
	// when it holds that many is refused (ErrTooManyClients); known ids
	// are still claimed, and Append still makes the queues of recipients
	// it does not know (they count). Idle queues expire (QueueTTL) and
	// free places. Redis counts and claims in two steps, so claims of new
	// ids at the same moment may pass the bound by one each.
	MaxClients    int
	MaxAge        time.Duration // per message; default DefaultMaxAge
	QueueTTL      time.Duration // idle queue lifetime; default DefaultQueueTTL
	ReplayMax     int           // entries per namespace log; default DefaultReplayMax
	ReplayWindow  time.Duration // age of replay entries; default DefaultWindow
	SessionWindow time.Duration // session lifetime; default DefaultWindow
	// ReplayMaxBytes bounds the bytes of one namespace's replay log and
	// ReplayTotalBytes those of every log together (defaults
	// DefaultReplayMaxBytes and DefaultReplayTotalBytes); an entry counts
	// its payload and room names plus ReplayEntryOverhead. Over a bound
	// the oldest entries go first: of the namespace's own log for
	// ReplayMaxBytes, of any log for ReplayTotalBytes. The memory and
	// Redis stores apply them (Redis: ReplayMaxBytes in the script that
	// appends; ReplayTotalBytes in a second script after it, so that the
	// total may pass the bound for a moment by the entries being
	// appended on every node then, and by up to 64 KiB per namespace and
	// node not reported yet: see package redisstore), and so does
	// bolt (in the transaction that appends).
	ReplayMaxBytes, ReplayTotalBytes int64
	// SessionTotalBytes bounds the bytes of the sessions the store keeps
	// for connection state recovery (default DefaultSessionTotalBytes); a
	// session counts its id, client id, namespace and room names plus
	// SessionOverhead, and each room 16 bytes more. Over the bound the
	// oldest saved sessions go first (every session has the same window,
	// so they are also the first to expire), counted in
	// Stats.SessionsDropped: a client whose session was dropped resumes
	// nothing, as one whose window ended. The memory and Redis stores
	// apply it (Redis as it applies ReplayTotalBytes, with the same
	// moment's overshoot), and so does bolt (in the transaction that
	// saves).
	SessionTotalBytes int64
}

// Defaults for Limits.
const (
	DefaultMaxMessages = 10000
	DefaultMaxClients  = 10000
	DefaultMaxAge      = 24 * time.Hour
	DefaultQueueTTL    = 7 * 24 * time.Hour
	DefaultReplayMax   = 10000
	DefaultWindow      = 2 * time.Minute

	DefaultReplayMaxBytes   = 8 << 20
	DefaultReplayTotalBytes = 64 << 20
	// DefaultSessionTotalBytes is 32 MiB: the sessions of about 60,000
	// connections that ended within the window, each in a namespace and
	// a room (its two sessions count about 530 bytes), or of 120 in 1000
	// rooms of 255-byte names (272 KB each). Measured in the heap of the
	// memory store: 248 bytes a session without rooms, 280 with one
	// 8-byte room, 272,600 with 1000 rooms of 255 bytes.
	DefaultSessionTotalBytes = 32 << 20
	// SessionOverhead is what a session counts besides its names (the
	// Session, its map entry and its place in the saving order).
	SessionOverhead = 224
	// ReplayEntryOverhead is what a replay entry counts besides its
	// payload and room names (its id, offsets, times and slice headers).
	ReplayEntryOverhead = 160
)

// WithDefaults returns l with zero fields replaced by the defaults.
func (l Limits) WithDefaults() Limits {
	if l.MaxMessages == 0 {
		l.MaxMessages = DefaultMaxMessages
	}
	if l.MaxClients == 0 {
		l.MaxClients = DefaultMaxClients
	}
	if l.MaxAge == 0 {
		l.MaxAge = DefaultMaxAge
	}
	if l.QueueTTL == 0 {
		l.QueueTTL = DefaultQueueTTL
	}
	if l.ReplayMax == 0 {
		l.ReplayMax = DefaultReplayMax
	}
	if l.ReplayMaxBytes == 0 {
		l.ReplayMaxBytes = DefaultReplayMaxBytes
	}
	if l.ReplayTotalBytes == 0 {
		l.ReplayTotalBytes = DefaultReplayTotalBytes
	}
	if l.SessionTotalBytes == 0 {
		l.SessionTotalBytes = DefaultSessionTotalBytes
	}
	if l.ReplayWindow <= 0 {
		l.ReplayWindow = DefaultWindow
	}
	if l.SessionWindow <= 0 {
		l.SessionWindow = DefaultWindow
	}
	return l
}

// Options configure every store implementation.
type Options struct {
	Limits Limits
	// Now is the store's clock (tests pass a fake one); default time.Now.
	Now func() time.Time
	// Node distinguishes message ids made by different processes; zero picks
	// a random one.
	Node uint32
}

// Appending is one entry of Store.AppendBatch: a message and its
// recipients, as Append takes them, and what the store did with them, as
// Append returns it.
type Appending struct {
	Message Message
	To      []string
	ID      ID       // the message id; set on success
	Offsets []uint64 // each recipient's offset in the order of To (repeats removed); set on success
	Err     error    // why this entry was not appended; nil when it was
}

// Store is the durable state of the chat server. Implementations are safe for
// concurrent use by many goroutines. Every method that writes returns only
// after the write is durable for that implementation (memory: never durable;
// bolt: fsynced; Redis: as durable as the server's persistence settings).
type Store interface {
	// Append appends m to the queue of every client id in to (duplicates in
	// to are appended once) and returns the message id and, appended to
	// offsets, each recipient's offset in the order of to (repeats removed,
	// first occurrence kept). An empty to
	// returns a fresh id and appends nothing. A recipient whose queue
	// holds Limits.MaxMessages is refused (offset 0): the others get m,
	// and the error is a *QueueFullError naming the refused.
	Append(ctx context.Context, m Message, to []string, offsets []uint64) (ID, []uint64, error)
	// AppendBatch appends the message of each entry of batch to its
	// recipients as Append does, in the order of batch (a recipient's
	// offsets follow it), and sets each entry's ID, Offsets and Err. An
	// entry that fails does not stop the others. Where the store can, the
	// whole batch is one durable write (bolt: one transaction, one fsync).
	AppendBatch(ctx context.Context, batch []Appending)
	// Pending appends to dst up to limit (<= 0: all) pending messages of
	// client with an offset above after, in offset order, skipping messages
	// older than MaxAge. It marks the client as seen.
	Pending(ctx context.Context, client string, after uint64, limit int, dst []Message) ([]Message, error)
	// Peek is Pending for operators (`chat queue peek`): it does not mark
	// the client as seen, so peeking never keeps an idle queue alive.
	Peek(ctx context.Context, client string, after uint64, limit int, dst []Message) ([]Message, error)
	// AckBatch removes each of ids (messages delivered and acknowledged)
	// from client's queue and returns how many of them were pending
	// (removed); the others (unknown, already acknowledged, repeated, or of
	// an unknown client) count in Stats.AckNotPending and are no error.
	// Where the store can, it is one write (bolt: one transaction; Redis:
	// one round trip). An error means none of them was removed. It marks
	// the client as seen. AckOne acknowledges a single id.
	AckBatch(ctx context.Context, client string, ids []ID) (int, error)
	// Touch marks client as seen now (on connect), creating its queue.
	Touch(ctx context.Context, client string) error
	// Claim is Touch for a connection that names client: it creates the
	// queue if absent and marks it seen. A queue without a resume token
	// takes token (a fresh random one when token is empty) and Claim
	// returns it; a queue with one returns it when token matches (compared
	// in constant time) and ErrClaimed otherwise. The token lives as long
	// as the queue: Purge keeps it, the expiry of an idle queue removes it.
	// A client id the store does not know is refused when it holds
	// Limits.MaxClients already (ErrTooManyClients).
	Claim(ctx context.Context, client, token string) (string, error)
	// Queues lists every known queue, sorted by client id.
	Queues(ctx context.Context) ([]QueueInfo, error)
	// Purge removes every pending message of client and returns how many.
	// The queue, its offsets and its subscriptions stay.
	Purge(ctx context.Context, client string) (int, error)

	// Subscribe records that client is a durable member of room in ns.
	Subscribe(ctx context.Context, client string, s Sub) error
	// Unsubscribe removes that membership (no error if absent).
	Unsubscribe(ctx context.Context, client string, s Sub) error
	// Members lists the client ids subscribed to room s, sorted.
	Members(ctx context.Context, s Sub) ([]string, error)
	// Subscriptions lists the rooms of client, sorted.
	Subscriptions(ctx context.Context, client string) ([]Sub, error)

	// AppendReplay appends a non-volatile broadcast to the replay log of
	// m.Namespace and returns its id and offset.
	AppendReplay(ctx context.Context, m Message) (ID, uint64, error)
	// Replay appends to dst the entries of namespace ns after offset, in
	// order, up to limit (<= 0: all). If entries after offset were trimmed it
	// returns ErrReplayGap. after == 0 with an empty log returns nothing.
	Replay(ctx context.Context, ns string, after uint64, limit int, dst []Message) ([]Message, error)
	// ReplayHead returns the offset of the newest entry of ns (0 if none).
	ReplayHead(ctx context.Context, ns string) (uint64, error)

	// SaveSession stores s until now + SessionWindow (it sets s.Expires).
	SaveSession(ctx context.Context, s Session) error
	// TakeSession returns and deletes session id; ErrSessionNotFound if it
	// does not exist or expired. A session can be taken once.
	TakeSession(ctx context.Context, id string) (Session, error)

	// Expire applies the age-based limits now: old messages, idle queues
	// (with their subscriptions), old replay entries and expired sessions.
	// A server calls it periodically (e.g. every few seconds).
	Expire(ctx context.Context) error
	// Stats returns the counters.
	Stats() Stats
	// Close releases the store; later calls return ErrClosed.
	Close() error
}

// ValidName checks a client id, namespace, room or session id.
func ValidName(s string) error {
	if len(s) == 0 || len(s) > MaxNameLen || strings.IndexByte(s, 0) >= 0 {
		return ErrInvalidName
	}
	return nil
}

// ValidMessage checks the names and payload size of m.
func ValidMessage(m *Message) error {
	if err := ValidName(m.Namespace); err != nil {
		return err
	}
	if len(m.Event) > MaxNameLen || len(m.Rooms)+len(m.Except) > 1<<16 {
		return ErrInvalidName
	}
	for _, r := range m.Rooms {
		if err := ValidName(r); err != nil {
			return err
		}
	}
	for _, r := range m.Except {
		if err := ValidName(r); err != nil {
			return err
		}
	}
	if len(m.Payload) > MaxPayload {
		return ErrPayloadTooLarge
	}
	return nil
}

// Dedupe returns to without repeated client ids (the first occurrence
// stays), validating each; it reuses to's array when there are no repeats.
func Dedupe(to []string) ([]string, error) {
	for _, c := range to {
		if err := ValidName(c); err != nil {
			return nil, err
		}
	}
	if len(to) < 2 {
		return to, nil
	}
	if len(to) <= 16 {
		dup := false
		for i := 1; i < len(to) && !dup; i++ {
			for j := 0; j < i; j++ {
				if to[i] == to[j] {
					dup = true
					break
				}
			}
		}
		if !dup {
			return to, nil
		}
	}
	seen := make(map[string]struct{}, len(to))
	out := make([]string, 0, len(to))
	for _, c := range to {
		if _, ok := seen[c]; ok {
			continue
		}
		seen[c] = struct{}{}
		out = append(out, c)
	}
	return out, nil
}

// AckOne acknowledges one message: it is s.AckBatch of id alone, and
// returns ErrNotPending when id was not pending for client.
func AckOne(ctx context.Context, s Store, client string, id ID) error {
	n, err := s.AckBatch(ctx, client, []ID{id})
	if err == nil && n == 0 {
		return ErrNotPending
	}
	return err
}
