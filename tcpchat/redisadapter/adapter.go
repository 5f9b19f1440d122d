package redisadapter

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wiredojo/wiredojo/tcpchat"
	"github.com/wiredojo/wiredojo/tcpchat/redisadapter/internal/redisbus"
	"github.com/wiredojo/wiredojo/tcpchat/store/storeopen"
)

// envelope is one message between nodes.
type envelope struct {
	Node     string             `json:"n"`
	Kind     byte               `json:"k"` // 'b' broadcast, 'r' room event, 'w' wake
	Rooms    []string           `json:"r,omitempty"`
	Except   []string           `json:"x,omitempty"`
	Volatile bool               `json:"v,omitempty"`
	Payload  []byte             `json:"p,omitempty"` // encoded packet (broadcast)
	Room     *tcpchat.RoomEvent `json:"e,omitempty"`
	Clients  []string           `json:"c,omitempty"` // wake
}

// Options configure a Cluster; the zero value is usable.
type Options struct {
	// Node names this server among the nodes; default a random id. Two
	// servers on one Redis must not share it.
	Node string
	// Logf, when set, receives the errors of publishing and subscribing
	// (the adapter keeps working locally meanwhile).
	Logf func(format string, args ...any)
}

// Cluster connects one server (node) to the others through Redis pub/sub.
// It owns its Redis connection: give Cluster.Adapter to the server as
// tcpchat.Options.Adapter, and Close the Cluster after the server.
type Cluster struct {
	rdb  redis.UniversalClient
	bus  *redisbus.Bus
	node string
	logf func(format string, args ...any)
}

// Open connects to Redis at url (redis://HOST:PORT/DB, rediss:// for TLS,
// or redis-cluster://HOST:PORT,HOST:PORT,... for a Redis Cluster) and
// returns the Cluster of this node; ctx bounds the connection.
func Open(ctx context.Context, url string, opts Options) (*Cluster, error) {
	rdb, err := storeopen.RedisClient(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("redisadapter: %w", err)
	}
	bus, err := redisbus.New(ctx, rdb, redisbus.Options{})
	if err != nil {
		rdb.Close()
		return nil, fmt.Errorf("redisadapter: %w", err)
	}
	if opts.Node == "" {
		var b [8]byte
		rand.Read(b[:])
		opts.Node = hex.EncodeToString(b[:])
	}
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	return &Cluster{rdb: rdb, bus: bus, node: opts.Node, logf: opts.Logf}, nil
}

// Node returns the name of this node (Options.Node, or the random id
// Open chose): the other nodes' room events for this node's rooms carry
// it as tcpchat.RoomEvent.Node.
func (c *Cluster) Node() string { return c.node }

// Close ends the subscriptions and the Redis connection. Call it after the
// server closed (the server closes each namespace's adapter first).
func (c *Cluster) Close() error {
	return errors.Join(c.bus.Close(), c.rdb.Close())
}

func opCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 10*time.Second)
}

func (c *Cluster) publish(channel string, e envelope) {
	e.Node = c.node
	b, err := json.Marshal(e)
	if err != nil {
		return
	}
	ctx, cancel := opCtx()
	defer cancel()
	if _, err := c.bus.Publish(ctx, channel, b); err != nil {
		c.logf("redisadapter: publish on %s: %v", channel, err)
	}
}

// Adapter makes the adapter of one namespace; it has the signature of
// tcpchat.Options.Adapter. The namespace's local sockets and rooms live in
// a tcpchat.MemoryAdapter; broadcasts, room events and durable wake
// notices also go to the other nodes on the namespace's channel. When the
// subscription fails (Redis down), the namespace stays local and the error
// goes to Options.Logf.
func (c *Cluster) Adapter(host tcpchat.AdapterHost) tcpchat.Adapter {
	a := &nsAdapter{c: c, host: host, channel: c.bus.NamespaceChannel(host.Namespace())}
	a.MemoryAdapter = tcpchat.NewMemoryAdapter(localHost{AdapterHost: host, a: a})
	ctx, cancel := opCtx()
	defer cancel()
	sub, err := c.bus.Subscribe(ctx, a.receive, a.channel)
	if err != nil {
		c.logf("redisadapter: namespace %s stays local: subscribe: %v", host.Namespace(), err)
	}
	a.sub = sub
	return a
}

// nsAdapter is one namespace's adapter: local rooms in the embedded
// MemoryAdapter, broadcasts and room events forwarded to the other nodes.
type nsAdapter struct {
	*tcpchat.MemoryAdapter
	c       *Cluster
	host    tcpchat.AdapterHost
	channel string
	sub     *redisbus.Subscription
}

// localHost is the host of the embedded MemoryAdapter: its room events go
// to the server and to the other nodes.
type localHost struct {
	tcpchat.AdapterHost
	a *nsAdapter
}

func (h localHost) RoomEvent(e tcpchat.RoomEvent) {
	h.AdapterHost.RoomEvent(e)
	h.a.c.publish(h.a.channel, envelope{Kind: 'r', Room: &e})
}

// Broadcast delivers m to the local members and publishes it for the other
// nodes; it returns the local count.
func (a *nsAdapter) Broadcast(m *tcpchat.Message, opts tcpchat.BroadcastOptions) int {
	n := a.MemoryAdapter.Broadcast(m, opts)
	a.c.publish(a.channel, envelope{Kind: 'b', Rooms: opts.Rooms, Except: opts.Except, Volatile: opts.Volatile, Payload: m.Payload()})
	return n
}

// WakeClients tells the other nodes that clients have new queued events.
func (a *nsAdapter) WakeClients(clients []string) {
	a.c.publish(a.channel, envelope{Kind: 'w', Clients: clients})
}

// receive handles a message of another node.
func (a *nsAdapter) receive(_ string, payload []byte) {
	var e envelope
	if err := json.Unmarshal(payload, &e); err != nil || e.Node == a.c.node {
		return
	}
	switch e.Kind {
	case 'b':
		m := tcpchat.NewMessage(e.Payload)
		a.MemoryAdapter.Broadcast(m, tcpchat.BroadcastOptions{Rooms: e.Rooms, Except: e.Except, Volatile: e.Volatile})
		m.Release()
	case 'r':
		if e.Room != nil {
			ev := *e.Room
			ev.Node = e.Node // the other node's room, not one of ours
			a.host.RoomEvent(ev)
		}
	case 'w':
		a.host.WakeClients(e.Clients)
	}
}

// Close ends the namespace's subscription.
func (a *nsAdapter) Close() error {
	var err error
	if a.sub != nil {
		err = a.sub.Close()
	}
	return errors.Join(err, a.MemoryAdapter.Close())
}
