package redisadapter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/wiredojo/wiredojo/tcpchat"
	"github.com/wiredojo/wiredojo/tcpchat/store/redisbus"
)

// wakeChannel is the namespace name whose channel carries wake notices.
const wakeChannel = "\x01wake"

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

// Cluster connects one server (node) to the others through a Bus. Use
// Factory as tcpchat.Options.Adapter and OnDurable as
// tcpchat.Options.OnDurable, then call Start with the server.
type Cluster struct {
	bus  *redisbus.Bus
	node string
	logf func(format string, args ...any)

	mu   sync.Mutex
	srv  *tcpchat.Server        // guarded by mu
	wake *redisbus.Subscription // guarded by mu
}

// New returns a Cluster for this node on bus; node must be unique among
// the nodes (a random id is fine). logf (may be nil) receives errors.
func New(bus *redisbus.Bus, node string, logf func(format string, args ...any)) *Cluster {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	return &Cluster{bus: bus, node: node, logf: logf}
}

func opCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 10*time.Second)
}

// Start subscribes to the wake notices of other nodes for srv.
func (c *Cluster) Start(srv *tcpchat.Server) error {
	ctx, cancel := opCtx()
	defer cancel()
	sub, err := c.bus.Subscribe(ctx, func(_ string, payload []byte) {
		var e envelope
		if json.Unmarshal(payload, &e) != nil || e.Node == c.node || e.Kind != 'w' {
			return
		}
		srv.WakeClients(e.Clients)
	}, c.bus.NamespaceChannel(wakeChannel))
	if err != nil {
		return fmt.Errorf("redisadapter: subscribe to wake notices: %w", err)
	}
	c.mu.Lock()
	c.srv, c.wake = srv, sub
	c.mu.Unlock()
	return nil
}

// OnDurable tells the other nodes that clients have new queued messages.
func (c *Cluster) OnDurable(clients []string) {
	c.publish(c.bus.NamespaceChannel(wakeChannel), envelope{Kind: 'w', Clients: clients})
}

// Close ends the wake subscription (each namespace adapter is closed by
// the server).
func (c *Cluster) Close() error {
	c.mu.Lock()
	sub := c.wake
	c.wake = nil
	c.mu.Unlock()
	if sub != nil {
		return sub.Close()
	}
	return nil
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

// Factory makes the adapter of namespace ns (tcpchat.Options.Adapter).
func (c *Cluster) Factory(ns string, notify func(tcpchat.RoomEvent)) tcpchat.Adapter {
	a := &Adapter{c: c, ns: ns, channel: c.bus.NamespaceChannel(ns), notify: notify}
	a.MemoryAdapter = tcpchat.NewMemoryAdapter(ns, a.localRoomEvent)
	ctx, cancel := opCtx()
	defer cancel()
	sub, err := c.bus.Subscribe(ctx, a.receive, a.channel)
	if err != nil {
		c.logf("redisadapter: namespace %s stays local: subscribe: %v", ns, err)
	}
	a.sub = sub
	return a
}

// Adapter is one namespace's adapter: local rooms in the embedded
// MemoryAdapter, broadcasts and room events forwarded to the other nodes.
type Adapter struct {
	*tcpchat.MemoryAdapter
	c       *Cluster
	ns      string
	channel string
	notify  func(tcpchat.RoomEvent)
	sub     *redisbus.Subscription
}

func (a *Adapter) localRoomEvent(e tcpchat.RoomEvent) {
	if a.notify != nil {
		a.notify(e)
	}
	a.c.publish(a.channel, envelope{Kind: 'r', Room: &e})
}

// Broadcast delivers m to the local members and publishes it for the other
// nodes; it returns the local count.
func (a *Adapter) Broadcast(m *tcpchat.Message, opts tcpchat.BroadcastOptions) int {
	n := a.MemoryAdapter.Broadcast(m, opts)
	a.c.publish(a.channel, envelope{Kind: 'b', Rooms: opts.Rooms, Except: opts.Except, Volatile: opts.Volatile, Payload: m.Payload()})
	return n
}

// receive handles a message of another node.
func (a *Adapter) receive(_ string, payload []byte) {
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
		if e.Room != nil && a.notify != nil {
			a.notify(*e.Room)
		}
	}
}

// Close ends the namespace's subscription.
func (a *Adapter) Close() error {
	var err error
	if a.sub != nil {
		err = a.sub.Close()
	}
	return errors.Join(err, a.MemoryAdapter.Close())
}
