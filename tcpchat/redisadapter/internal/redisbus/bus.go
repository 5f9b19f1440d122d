package redisbus

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wiredojo/wiredojo/tcpchat/store"
)

// ErrClosed is returned after Close.
var ErrClosed = errors.New("redisbus: closed")

// Mode selects the pub/sub commands.
type Mode int

// Modes.
const (
	Auto    Mode = iota // sharded when the server is Redis 7 or later
	Sharded             // SPUBLISH / SSUBSCRIBE
	Plain               // PUBLISH / SUBSCRIBE
)

// String returns auto, sharded or plain.
func (m Mode) String() string {
	switch m {
	case Sharded:
		return "sharded"
	case Plain:
		return "plain"
	}
	return "auto"
}

// Options configure a Bus.
type Options struct {
	Prefix string // starts every channel name; default "wiredojo"
	Mode   Mode
}

// Bus publishes and subscribes. It is safe for concurrent use.
type Bus struct {
	rdb     redis.UniversalClient
	own     bool
	prefix  string
	sharded bool

	mu     sync.Mutex
	closed bool
	subs   map[*Subscription]struct{}
}

// Open connects to the Redis server at url and returns a Bus that closes the
// connection on Close.
func Open(ctx context.Context, url string, opts Options) (*Bus, error) {
	o, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redisbus: bad Redis URL %q (want redis://host:port/db): %w", url, err)
	}
	rdb := redis.NewClient(o)
	b, err := New(ctx, rdb, opts)
	if err != nil {
		_ = rdb.Close()
		return nil, err
	}
	b.own = true
	return b, nil
}

// New returns a Bus on an existing client; in Auto mode it asks the server
// its version.
func New(ctx context.Context, rdb redis.UniversalClient, opts Options) (*Bus, error) {
	if opts.Prefix == "" {
		opts.Prefix = "wiredojo"
	}
	b := &Bus{rdb: rdb, prefix: opts.Prefix, subs: make(map[*Subscription]struct{})}
	switch opts.Mode {
	case Sharded:
		b.sharded = true
	case Plain:
	default:
		info, err := rdb.Info(ctx, "server").Result()
		if err != nil {
			return nil, fmt.Errorf("%w: Redis bus: %w", store.ErrUnreachable, err)
		}
		b.sharded = majorVersion(info) >= 7
	}
	return b, nil
}

// majorVersion reads redis_version from INFO server output (0 if absent).
func majorVersion(info string) int {
	for line := range strings.SplitSeq(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:"); ok {
			major, _, _ := strings.Cut(v, ".")
			n, _ := strconv.Atoi(major)
			return n
		}
	}
	return 0
}

// Sharded reports whether the bus uses SPUBLISH/SSUBSCRIBE.
func (b *Bus) Sharded() bool { return b.sharded }

// RoomChannel names the channel of a room: prefix:{room:NS:ROOM}.
func (b *Bus) RoomChannel(ns, room string) string {
	return b.prefix + ":{room:" + ns + ":" + room + "}"
}

// NamespaceChannel names the channel of a namespace (broadcasts to every
// socket of it, room lifecycle events): prefix:{ns:NS}:events.
func (b *Bus) NamespaceChannel(ns string) string {
	return b.prefix + ":{ns:" + ns + "}:events"
}

// Publish sends payload on channel and returns how many subscribers (of the
// shard, in sharded mode) received it.
func (b *Bus) Publish(ctx context.Context, channel string, payload []byte) (int64, error) {
	b.mu.Lock()
	closed := b.closed
	b.mu.Unlock()
	if closed {
		return 0, ErrClosed
	}
	var cmd *redis.IntCmd
	if b.sharded {
		cmd = b.rdb.SPublish(ctx, channel, payload)
	} else {
		cmd = b.rdb.Publish(ctx, channel, payload)
	}
	n, err := cmd.Result()
	if err != nil {
		return 0, fmt.Errorf("redisbus: publish on %s: %w", channel, err)
	}
	return n, nil
}

// Handler receives each message of a subscription, one at a time, in order.
// payload is only valid during the call.
type Handler func(channel string, payload []byte)

// Subscription is a set of subscribed channels and the goroutine that hands
// their messages to the handler. Its methods are safe for concurrent use.
type Subscription struct {
	bus     *Bus
	ps      *redis.PubSub
	handler Handler
	done    chan struct{}

	mu       sync.Mutex
	waiting  map[string][]chan struct{} // "+channel" / "-channel" -> callers waiting for the server's confirmation
	channels map[string]bool            // subscribed channels
}

// confirmTimeout bounds the wait for Redis to confirm a subscription when the
// caller's context has no deadline.
const confirmTimeout = 10 * time.Second

func withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, confirmTimeout)
}

// Subscribe subscribes to channels (at least one) and returns once the
// server confirmed every one: messages published after that reach handler.
// On a cluster in sharded mode the subscription's connection goes to the node
// owning the first channel's slot.
func (b *Bus) Subscribe(ctx context.Context, handler Handler, channels ...string) (*Subscription, error) {
	if len(channels) == 0 {
		return nil, errors.New("redisbus: Subscribe needs at least one channel")
	}
	b.mu.Lock()
	closed := b.closed
	b.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	var ps *redis.PubSub
	if b.sharded {
		ps = b.rdb.SSubscribe(ctx, channels...)
	} else {
		ps = b.rdb.Subscribe(ctx, channels...)
	}
	// Wait for the confirmations before anything else reads the connection;
	// messages that arrive in between are handed over in order.
	wctx, cancel := withTimeout(ctx)
	defer cancel()
	want := make(map[string]bool, len(channels))
	for _, c := range channels {
		want[c] = true
	}
	var early []*redis.Message
	for len(want) > 0 {
		v, err := ps.Receive(wctx)
		if err != nil {
			_ = ps.Close()
			return nil, fmt.Errorf("redisbus: subscribe to %s: %w", strings.Join(channels, ", "), err)
		}
		switch m := v.(type) {
		case *redis.Subscription:
			delete(want, m.Channel)
		case *redis.Message:
			early = append(early, m)
		}
	}
	s := &Subscription{bus: b, ps: ps, handler: handler, done: make(chan struct{}),
		waiting: make(map[string][]chan struct{}), channels: make(map[string]bool)}
	for _, c := range channels {
		s.channels[c] = true
	}
	ch := ps.ChannelWithSubscriptions(redis.WithChannelSize(1024))
	go s.loop(ch, early)
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		_ = ps.Close()
		<-s.done
		return nil, ErrClosed
	}
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	return s, nil
}

// loop ends when the PubSub is closed (its channel closes).
func (s *Subscription) loop(ch <-chan any, early []*redis.Message) {
	defer close(s.done)
	for _, m := range early {
		s.handler(m.Channel, []byte(m.Payload))
	}
	for v := range ch {
		switch m := v.(type) {
		case *redis.Message:
			s.handler(m.Channel, []byte(m.Payload))
		case *redis.Subscription:
			key := "+" + m.Channel
			if m.Kind == "unsubscribe" || m.Kind == "sunsubscribe" {
				key = "-" + m.Channel
			}
			s.mu.Lock()
			ws := s.waiting[key]
			delete(s.waiting, key)
			s.mu.Unlock()
			for _, w := range ws {
				close(w)
			}
		}
	}
}

// Add subscribes to more channels and waits for the server's confirmation
// (at most 10 s when ctx has no deadline). On a cluster in sharded mode they
// must share the slot of the subscription's first channel.
func (s *Subscription) Add(ctx context.Context, channels ...string) error {
	err := s.change(ctx, "+", channels, func(ctx context.Context) error {
		if s.bus.sharded {
			return s.ps.SSubscribe(ctx, channels...)
		}
		return s.ps.Subscribe(ctx, channels...)
	})
	if err != nil {
		return fmt.Errorf("redisbus: subscribe to %s: %w", strings.Join(channels, ", "), err)
	}
	s.mu.Lock()
	for _, c := range channels {
		s.channels[c] = true
	}
	s.mu.Unlock()
	return nil
}

// Remove unsubscribes from channels and waits for the server's confirmation
// (at most 10 s when ctx has no deadline): once it returns, messages on them
// no longer reach this subscription.
func (s *Subscription) Remove(ctx context.Context, channels ...string) error {
	s.mu.Lock()
	for _, c := range channels {
		delete(s.channels, c)
	}
	s.mu.Unlock()
	err := s.change(ctx, "-", channels, func(ctx context.Context) error {
		if s.bus.sharded {
			return s.ps.SUnsubscribe(ctx, channels...)
		}
		return s.ps.Unsubscribe(ctx, channels...)
	})
	if err != nil {
		return fmt.Errorf("redisbus: unsubscribe from %s: %w", strings.Join(channels, ", "), err)
	}
	return nil
}

// change sends a (un)subscribe command and waits for one confirmation per
// channel.
func (s *Subscription) change(ctx context.Context, sign string, channels []string, send func(context.Context) error) error {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	ws := make([]chan struct{}, len(channels))
	s.mu.Lock()
	for i, c := range channels {
		ws[i] = make(chan struct{})
		s.waiting[sign+c] = append(s.waiting[sign+c], ws[i])
	}
	s.mu.Unlock()
	err := send(ctx)
	for _, w := range ws {
		if err != nil {
			break
		}
		select {
		case <-w:
		case <-s.done:
			err = ErrClosed
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	if err != nil {
		s.mu.Lock()
		for _, c := range channels {
			delete(s.waiting, sign+c)
		}
		s.mu.Unlock()
	}
	return err
}

// Close unsubscribes from everything (waiting up to a few seconds for Redis
// to confirm, so that a publish after Close no longer counts this
// subscriber), closes the connection and waits for the handler goroutine to
// end (do not call it from the handler).
func (s *Subscription) Close() error {
	s.mu.Lock()
	var chans []string
	for c := range s.channels {
		chans = append(chans, c)
	}
	s.mu.Unlock()
	if len(chans) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = s.Remove(ctx, chans...) // best effort: closing the connection unsubscribes too
		cancel()
	}
	err := s.ps.Close()
	<-s.done
	s.bus.mu.Lock()
	delete(s.bus.subs, s)
	s.bus.mu.Unlock()
	if err != nil && !errors.Is(err, redis.ErrClosed) {
		return fmt.Errorf("redisbus: close subscription: %w", err)
	}
	return nil
}

// Close closes every subscription and, when Open made it, the client.
func (b *Bus) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	subs := make([]*Subscription, 0, len(b.subs))
	for s := range b.subs {
		subs = append(subs, s)
	}
	b.mu.Unlock()
	for _, s := range subs {
		_ = s.Close()
	}
	if b.own {
		return b.rdb.Close()
	}
	return nil
}
