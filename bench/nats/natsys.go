package natsbench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

const natsSubject = "bench.fanout"

// startNATSServer starts an embedded nats-server on a free loopback port
// with its defaults (no logging, no signal handlers).
func startNATSServer() (*server.Server, error) {
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	if err != nil {
		return nil, fmt.Errorf("natsbench: nats-server: %w", err)
	}
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		ns.WaitForShutdown()
		return nil, errors.New("natsbench: nats-server did not start within 10 s")
	}
	return ns, nil
}

// natsSystem is an embedded nats-server with N nats.go subscribers on one
// subject and one nats.go publisher, all with the library's defaults
// except reconnection, which is off so that a cut stays visible.
type natsSystem struct {
	srv   *server.Server
	conns []*nats.Conn
	subs  []*nats.Subscription
	pub   *nats.Conn
	once  sync.Once
}

func startNATS(ctx context.Context, subs []*subscriber) (_ fanoutSystem, err error) {
	srv, err := startNATSServer()
	if err != nil {
		return nil, err
	}
	n := &natsSystem{srv: srv}
	if err := n.connect(ctx, srv.ClientURL(), subs); err != nil {
		n.close()
		return nil, err
	}
	return n, nil
}

// connect opens the subscribers' connections and the publisher's to the
// server at url.
func (n *natsSystem) connect(ctx context.Context, url string, subs []*subscriber) (err error) {
	dial := func(sub *subscriber) (*nats.Conn, error) {
		// The default error handler logs; Subscription.Dropped counts
		// what a slow subscriber lost instead.
		opts := []nats.Option{nats.NoReconnect(), nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {})}
		if sub != nil {
			opts = append(opts, nats.ClosedHandler(func(*nats.Conn) { sub.gone() }))
		}
		if d, ok := ctx.Deadline(); ok {
			opts = append(opts, nats.Timeout(time.Until(d)))
		}
		nc, err := nats.Connect(url, opts...)
		if err != nil {
			return nil, fmt.Errorf("natsbench: nats: connect: %w", err)
		}
		n.conns = append(n.conns, nc)
		return nc, nil
	}
	for _, sub := range subs {
		nc, err := dial(sub)
		if err != nil {
			return err
		}
		s, err := nc.Subscribe(natsSubject, func(m *nats.Msg) { sub.receive(m.Data) })
		if err != nil {
			return fmt.Errorf("natsbench: nats: subscribe: %w", err)
		}
		n.subs = append(n.subs, s)
		if err := nc.Flush(); err != nil { // the server has the subscription
			return fmt.Errorf("natsbench: nats: flush: %w", err)
		}
	}
	n.pub, err = dial(nil)
	return err
}

func (n *natsSystem) publish(p []byte) error { return n.pub.Publish(natsSubject, p) }

func (n *natsSystem) flush() error { return n.pub.Flush() }

func (n *natsSystem) counters() (int64, int64) {
	var dropped int64
	for _, s := range n.subs {
		if d, err := s.Dropped(); err == nil {
			dropped += int64(d)
		}
	}
	if n.srv == nil { // a server in another process: its cuts show as disconnects
		return 0, dropped
	}
	return int64(n.srv.NumSlowConsumers()), dropped
}

func (n *natsSystem) close() {
	n.once.Do(func() {
		for _, nc := range n.conns {
			nc.Close()
		}
		if n.srv != nil {
			n.srv.Shutdown()
			n.srv.WaitForShutdown()
		}
	})
}
