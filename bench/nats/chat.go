package natsbench

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/wiredojo/wiredojo/tcpchat"
)

const (
	chatNamespace = "/bench"
	chatRoom      = "fanout"
	chatPubEvent  = "pub" // publisher -> server
	chatEvent     = "ev"  // server -> room
)

// chatSystem is a tcpchat server on loopback with N subscribing clients in
// one room and one publishing client whose events the server broadcasts to
// the room.
type chatSystem struct {
	srv     *tcpchat.Server
	served  chan error
	clients []*tcpchat.Client
	pub     *tcpchat.ClientSocket
	once    sync.Once
}

// chatServerOptions are the server's defaults except the per-connection
// rate limit, which is off: the publisher sends far more than the default
// 1000 packets/s, and NATS has no such limit. The send queue (1024
// packets) and the write timeout keep their defaults.
func chatServerOptions() tcpchat.Options {
	return tcpchat.Options{RateLimit: -1}
}

func startChat(ctx context.Context, subs []*subscriber) (_ fanoutSystem, err error) {
	srv := tcpchat.NewServer(chatServerOptions())
	ns := srv.Of(chatNamespace)
	ns.OnConnection(func(s *tcpchat.Socket) {
		var auth struct{ Role string }
		if json.Unmarshal(s.Auth(), &auth) == nil && auth.Role == "sub" {
			s.Join(chatRoom)
		}
	})
	room := ns.To(chatRoom)
	ns.On(chatPubEvent, func(e *tcpchat.Event) {
		room.EmitRaw(chatEvent, e.Args)
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("natsbench: chat: %w", err)
	}
	c := &chatSystem{srv: srv, served: make(chan error, 1)}
	go func() { c.served <- srv.Serve(l) }()
	defer func() {
		if err != nil {
			c.close()
		}
	}()
	addr := l.Addr().String()
	dial := func(sub *subscriber) (*tcpchat.ClientSocket, error) {
		opts := tcpchat.ClientOptions{NoReconnect: true}
		if sub != nil {
			opts.OnState = func(connected bool, err error) {
				if !connected {
					sub.gone()
				}
			}
		}
		cl, err := tcpchat.Dial(ctx, addr, opts)
		if err != nil {
			return nil, fmt.Errorf("natsbench: chat: dial: %w", err)
		}
		c.clients = append(c.clients, cl)
		sock := cl.Socket(chatNamespace)
		role := "pub"
		if sub != nil {
			role = "sub"
			sock.On(chatEvent, func(e *tcpchat.Event) { sub.receive(e.Args) })
		}
		if _, err := cl.Connect(ctx, chatNamespace, map[string]string{"role": role}); err != nil {
			return nil, fmt.Errorf("natsbench: chat: connect: %w", err)
		}
		return sock, nil
	}
	for _, sub := range subs {
		if _, err := dial(sub); err != nil {
			return nil, err
		}
	}
	if c.pub, err = dial(nil); err != nil {
		return nil, err
	}
	// Joins happen on the server's reading goroutines: wait for all.
	for ns.Adapter().Size(chatRoom) < len(subs) {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("natsbench: chat: waiting for subscribers: %w", ctx.Err())
		case <-time.After(time.Millisecond):
		}
	}
	return c, nil
}

func (c *chatSystem) publish(p []byte) error { return c.pub.EmitRaw(chatPubEvent, p) }

func (c *chatSystem) flush() error { return nil } // each emit is written at once

func (c *chatSystem) counters() (int64, int64) {
	return c.srv.Stats().SlowConsumerCuts, 0
}

func (c *chatSystem) close() {
	c.once.Do(func() {
		for _, cl := range c.clients {
			cl.Close()
		}
		c.srv.Close()
		<-c.served
	})
}
