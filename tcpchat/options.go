package tcpchat

import (
	"crypto/tls"
	"time"

	"github.com/wiredojo/wiredojo/framing"
	"github.com/wiredojo/wiredojo/tcpchat/store"
)

// Defaults of Options.
const (
	DefaultHandshakeTimeout = 10 * time.Second
	DefaultPingInterval     = 25 * time.Second
	DefaultPingTimeout      = 20 * time.Second
	DefaultWriteTimeout     = 10 * time.Second
	DefaultSendQueue        = 1024
	DefaultSlowConsumerWait = 2 * time.Second
	// DefaultSendQueueBytes is Options.SendQueueBytes's default: 8 MiB.
	// Chat traffic (packets of a few hundred bytes) meets the packet bound
	// (DefaultSendQueue) long before it, 1024 packets averaging 8 KiB; it
	// still holds 8 packets of the largest frame (1 MiB) queued for a
	// reader that is catching up. It caps what one reader that does not
	// read keeps alive at about 1/128 of the 1 GiB that 1024 packets of
	// 1 MiB are (docs/SECURITY.md, "a reader too slow for what it is
	// sent").
	DefaultSendQueueBytes = 8 << 20
	// MaxSendQueueBytes is the largest Options.SendQueueBytes: 1 GiB.
	MaxSendQueueBytes     = 1 << 30
	DefaultRateLimit      = 1000 // packets per second
	DefaultRateBurst      = 2000
	DefaultExpireInterval = 5 * time.Second
	DefaultFDHeadroom     = 64
	DefaultMaxNamespaces  = 1000
	// DefaultMaxRoomsPerConn is Options.MaxRoomsPerConn's default: a
	// classroom's client is in a few rooms of a namespace or two (the
	// built-in join with presence takes two per room), one that joins a
	// thousand is walking through names. With chat serve's 256
	// connections per address (--max-conns-per-addr), one address holds
	// 256000 memberships at most: 15 MB
	// with short room names, 92 MB with 255-byte ones (docs/SECURITY.md).
	DefaultMaxRoomsPerConn = 1000
	// DefaultMaxNamespacesPerConn is Options.MaxNamespacesPerConn's
	// default: a client uses one namespace or a few.
	DefaultMaxNamespacesPerConn = 64
)

// Options configure a Server. The zero value is usable: every zero field
// takes its default.
type Options struct {
	// MaxFrame is the largest frame payload accepted (default 1 MiB).
	MaxFrame int
	// HandshakeTimeout bounds the time from accept to the end of the
	// handshake (default 10 s).
	HandshakeTimeout time.Duration
	// PingInterval and PingTimeout drive the heartbeat (defaults 25 s and
	// 20 s): the server pings every interval and drops a connection that
	// sent nothing for interval + timeout.
	PingInterval, PingTimeout time.Duration
	// WriteTimeout bounds one batch write (default 10 s); a peer that does
	// not read within it is cut as a slow consumer.
	WriteTimeout time.Duration
	// SendQueue bounds the packets queued per connection (default 1024).
	SendQueue int
	// SendQueueBytes bounds the bytes queued per connection (default
	// DefaultSendQueueBytes, 8 MiB; at most MaxSendQueueBytes, larger
	// values count as that; negative: no byte bound): the payloads (and
	// their shared Socket.IO translations) of the packets queued and of
	// the batch being written. A broadcast queued on many connections
	// counts fully in each. A queue over it is full as one at SendQueue
	// packets is (SlowConsumerWait, then the slow-consumer cut), but a
	// connection with nothing queued or being written always takes one
	// packet, however large, so a packet of up to MaxFrame bytes is never
	// refused for good.
	SendQueueBytes int
	// SlowConsumerWait is how long a send waits for room in a full send
	// queue before the connection is cut as a slow consumer
	// (ErrSlowConsumer); default 2 s, negative cuts at once. While a
	// broadcast waits, the connection it came from is not read, so the
	// publisher is slowed to the pace of its slowest recipient (TCP
	// backpressure) instead of a burst costing a recipient its connection.
	// The wait happens outside every lock; other recipients of that
	// broadcast already have it queued.
	SlowConsumerWait time.Duration
	// RateLimit is the packets per second a connection may send, with
	// RateBurst packets of burst (defaults 1000/s and 2000). A negative
	// RateLimit turns the limit off.
	RateLimit float64
	RateBurst int
	// MaxConnections caps the sockets open at once, of every kind (framed,
	// WebSocket, HTTP, not yet identified); 0: no cap but the descriptor
	// limit. The cap is also the process's descriptor limit (RLIMIT_NOFILE)
	// less FDHeadroom (default 64; negative: not derived from the limit).
	// At the cap a new socket may only ask for /healthz or /metrics (at
	// most FDHeadroom/2 such at once, within 2 s); a framed client gets an
	// error packet (code 10) and the server logs once that it is full.
	MaxConnections, FDHeadroom int
	// MaxConnsPerAddr caps the sockets open from one remote address (an
	// IPv4 address, an IPv6 /64); ConnRatePerAddr its connection attempts
	// per second (bursts of ConnBurstPerAddr, default twice the rate).
	// Refused sockets get an error packet (code 10) and are closed. 0 (the
	// default): no limit.
	MaxConnsPerAddr  int
	ConnRatePerAddr  float64
	ConnBurstPerAddr int
	// EventRatePerAddr bounds the packets per second one remote address
	// sends over all its connections (bursts of EventBurstPerAddr, default
	// twice the rate): over it the server stops reading that address's
	// connections until the rate allows (TCP slows the sender; nobody is
	// cut). 0 (the default): no limit. RateLimit still bounds each
	// connection.
	EventRatePerAddr  float64
	EventBurstPerAddr int
	// Token, when set, must be given by every client in its handshake.
	Token string
	// MetricsToken, when set, must be given to read GET /metrics, as
	// "Authorization: Bearer TOKEN" (default Token: a server that wants a
	// token from its clients does not show its counters to anyone else).
	// Without either, GET /metrics answers requests whose Host is an IP
	// address, localhost or a name of Hosts (403 to others: DNS rebinding).
	MetricsToken string
	// Adapter makes the adapter of each namespace (default
	// NewMemoryAdapter); redisadapter.Cluster.Adapter spreads rooms and
	// broadcasts over many servers.
	Adapter func(host AdapterHost) Adapter
	// NewNamespace, when set, lets clients connect to namespaces that do not
	// exist yet: each is created on first use and passed to NewNamespace to
	// be set up (the CLI installs the built-in handlers this way).
	NewNamespace func(ns *Namespace)
	// NamespacePattern, with NewNamespace, limits the namespaces clients may
	// create to the names it matches (path.Match: "/*" is any one-level
	// name such as "/chat"); empty: any name. MaxNamespaces caps how many
	// such namespaces exist at once (default DefaultMaxNamespaces;
	// negative: no cap); over it a connect is refused. A namespace a
	// client created is freed when its last socket leaves (with the memory
	// adapter; a multi-node adapter's namespaces stay, within the cap);
	// those made with Server.Of are the program's and stay.
	NamespacePattern string
	MaxNamespaces    int
	// MaxRoomsPerConn caps the room memberships of one connection (a
	// framed or WebSocket connection, or one Socket.IO session), all its
	// sockets together, over every namespace it is in (default
	// DefaultMaxRoomsPerConn; negative: no cap): a Socket.Join that would
	// pass it joins none of its rooms and returns a *RoomLimitError
	// (ErrTooManyRooms). A room a socket leaves, and a namespace the
	// connection leaves, free their places. The rooms a socket is given
	// back when it connects (its client id's durable rooms in the
	// namespace, a recovered session's rooms) count, and are all given
	// back even beyond the cap (a client id's connections may have
	// joined more at once, or the cap was lowered since): the
	// connection's joins are then refused until it leaves enough of
	// them. The count is kept as memberships are added and removed; it
	// can only err by letting through joins of one connection made at
	// the same moment from several goroutines (sockets of several
	// namespaces, or any socket with an adapter that is not a
	// MemoryAdapter nor embeds one), never by refusing a join that fits
	// once the leaves and disconnects before it have returned.
	MaxRoomsPerConn int
	// MaxNamespacesPerConn caps the namespaces one connection is in at
	// once (default DefaultMaxNamespacesPerConn; negative: no cap): a
	// connect beyond it is refused with a connect-error, as one beyond
	// MaxNamespaces is, over every transport.
	MaxNamespacesPerConn int
	// OnRoomEvent observes room lifecycle events of every namespace.
	OnRoomEvent func(RoomEvent)
	// OnClose observes every connection that ends, with its recorded reason.
	OnClose func(CloseInfo)
	// Logf, when set, receives one line per notable event.
	Logf func(format string, args ...any)
	// TLSConfig, when set (with a certificate), lets clients open TLS on
	// the chat's port: the server terminates it and sniffs again, so
	// wss:// and TLS-framed clients share the port.
	TLSConfig *tls.Config
	// Plaintext, with TLSConfig, also accepts plaintext connections on
	// the port (framed TCP, http://, ws://). Without it a server with TLS
	// refuses them: a framed client gets an error packet (code 5), an HTTP
	// client a 403, both saying to use TLS.
	Plaintext bool
	// Origins is the allow-list of GET /ws for browsers' Origin header:
	// origins ("https://example.com") or host glob patterns ("*.example.com",
	// "127.0.0.1:*"), "*" for any. A page of the server's own host and a
	// client sending no Origin are always allowed.
	Origins []string
	// Hosts names the server by DNS name for browsers: host glob patterns
	// ("chat.example.com", "*.lab.example", a port may follow). A browser
	// page accepted as same-origin (no Origins entry matched it) is upgraded
	// only when its Host header is an IP address, localhost, or one of
	// these, so that a page of an attacker's name rebound to the server's
	// address (DNS rebinding) is refused. Requests without Origin (not from a
	// browser) are not checked.
	Hosts []string
	// Store, when set, enables durable queues (EmitDurable, getAll,
	// received) for clients that give a client id in their handshake. The
	// caller opens and closes it; the server applies its age limits every
	// ExpireInterval (default 5 s).
	Store          store.Store
	ExpireInterval time.Duration
	// RecoveryStore holds the sessions and replay logs of connection state
	// recovery (default Store; nil Store and RecoveryStore, or NoRecovery:
	// no recovery).
	// A single node can keep them in a store.Memory (recovery state lives
	// minutes and need not survive a crash) so that broadcasts do not wait
	// for a disk; nodes behind a load balancer share a Redis store. The
	// server applies its age limits too; the caller closes it.
	RecoveryStore store.Store
	// NoRecovery turns connection state recovery off although Store is
	// set (as socket.io has it by default): no session is kept for a
	// connection that ends, no broadcast is recorded for replay, and a
	// handshake that names a session starts a new one.
	NoRecovery bool
	// MaxWebSocketMessage is the largest WebSocket message accepted
	// (default MaxFrame); a larger one closes with status 1009.
	MaxWebSocketMessage int
}

// CloseInfo describes a connection that ended.
type CloseInfo struct {
	Remote    string
	SessionID string
	Reason    error // io.EOF for a clean close by the peer
}

func (o *Options) setDefaults() {
	if o.MaxFrame <= 0 {
		o.MaxFrame = framing.DefaultMaxFrame
	}
	if o.MaxWebSocketMessage <= 0 {
		o.MaxWebSocketMessage = o.MaxFrame
	}
	if o.HandshakeTimeout <= 0 {
		o.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if o.PingInterval <= 0 {
		o.PingInterval = DefaultPingInterval
	}
	if o.PingTimeout <= 0 {
		o.PingTimeout = DefaultPingTimeout
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = DefaultWriteTimeout
	}
	if o.SendQueue <= 0 {
		o.SendQueue = DefaultSendQueue
	}
	if o.SendQueueBytes == 0 {
		o.SendQueueBytes = DefaultSendQueueBytes
	}
	o.SendQueueBytes = min(o.SendQueueBytes, MaxSendQueueBytes)
	if o.SlowConsumerWait == 0 {
		o.SlowConsumerWait = DefaultSlowConsumerWait
	}
	if o.RateLimit == 0 {
		o.RateLimit = DefaultRateLimit
	}
	if o.RateBurst <= 0 {
		o.RateBurst = DefaultRateBurst
		if o.RateLimit > 0 && float64(o.RateBurst) < o.RateLimit {
			o.RateBurst = int(o.RateLimit)
		}
	}
	if o.MaxNamespaces == 0 {
		o.MaxNamespaces = DefaultMaxNamespaces
	}
	if o.MaxRoomsPerConn == 0 {
		o.MaxRoomsPerConn = DefaultMaxRoomsPerConn
	}
	if o.MaxNamespacesPerConn == 0 {
		o.MaxNamespacesPerConn = DefaultMaxNamespacesPerConn
	}
	if o.FDHeadroom == 0 {
		o.FDHeadroom = DefaultFDHeadroom
	}
	if o.ConnBurstPerAddr <= 0 {
		o.ConnBurstPerAddr = int(2 * max(o.ConnRatePerAddr, 1))
	}
	if o.EventBurstPerAddr <= 0 {
		o.EventBurstPerAddr = int(2 * max(o.EventRatePerAddr, 1))
	}
	if o.MetricsToken == "" {
		o.MetricsToken = o.Token
	}
	switch {
	case o.NoRecovery:
		o.RecoveryStore = nil
	case o.RecoveryStore == nil:
		o.RecoveryStore = o.Store
	}
	if o.ExpireInterval <= 0 {
		o.ExpireInterval = DefaultExpireInterval
	}
	if o.Adapter == nil {
		o.Adapter = func(h AdapterHost) Adapter { return NewMemoryAdapter(h) }
	}
}

// bucket is a token bucket; only the connection's reader touches it.
type bucket struct {
	tokens float64
	last   int64 // monoNow of the last refill; 0 before the first packet
}

// refund gives back a token that allow took, up to burst.
func (b *bucket) refund(burst int) {
	b.tokens = min(b.tokens+1, float64(burst))
}

// allow takes one token, refilling at rate per second up to burst.
func (b *bucket) allow(now int64, rate float64, burst int) bool {
	if rate < 0 {
		return true
	}
	if b.last == 0 {
		b.tokens, b.last = float64(burst), now
	}
	b.tokens += float64(now-b.last) * rate / 1e9
	b.last = now
	if b.tokens > float64(burst) {
		b.tokens = float64(burst)
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
