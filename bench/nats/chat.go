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
		role := "pub"
		if sub != nil {
			role = "sub"
		}
		cl, sock, err := dialChatSocket(ctx, addr, chatNamespace, map[string]string{"role": role}, sub, chatEvent)
		if cl != nil {
			c.clients = append(c.clients, cl)
		}
		return sock, err
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

// dialChatSocket connects a tcpchat client without reconnection to
// namespace ns at addr with auth. With sub, the socket's events named event
// go to sub and the connection's end marks sub gone. The client is
// returned whenever it was dialed, for the caller to close.
func dialChatSocket(ctx context.Context, addr, ns string, auth any, sub *subscriber, event string) (*tcpchat.Client, *tcpchat.ClientSocket, error) {
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
		return nil, nil, fmt.Errorf("natsbench: chat: dial: %w", err)
	}
	sock := cl.Socket(ns)
	if sub != nil {
		sock.On(event, func(e *tcpchat.ClientEvent) { sub.receive(e.Args) })
	}
	if _, err := cl.Connect(ctx, ns, auth); err != nil {
		return cl, nil, fmt.Errorf("natsbench: chat: connect: %w", err)
	}
	return cl, sock, nil
}
