package hostile_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/wiredojo/wiredojo/framing"
	"github.com/wiredojo/wiredojo/tcpchat"
	"github.com/wiredojo/wiredojo/tcpchat/builtin"
	"github.com/wiredojo/wiredojo/tcpchat/chattest"
	"github.com/wiredojo/wiredojo/tcpchat/chattest/hostile"
	"github.com/wiredojo/wiredojo/tcpchat/store"
	"github.com/wiredojo/wiredojo/tcpchat/wire"
)

// stalledStore holds every AppendBatch until release is closed (or its
// context ends): a store that cannot keep up.
type stalledStore struct {
	store.Store
	release chan struct{}
}

func (s *stalledStore) AppendBatch(ctx context.Context, batch []store.Appending) {
	select {
	case <-s.release:
	case <-ctx.Done():
	}
	s.Store.AppendBatch(ctx, batch)
}

// pipelineDurable sends n built-in durable emits to client id victim in
// ns, with ack ids from 1, in one write, without reading their acks.
func pipelineDurable(t *testing.T, a *hostile.Attacker, ns string, n int) {
	t.Helper()
	var buf []byte
	for i := range n {
		p := wire.Packet{Type: wire.TypeEvent, Namespace: ns, Event: builtin.EventDurable, HasAck: true, AckID: uint32(i + 1),
			Args: fmt.Appendf(nil, `[{"to":["victim"],"event":"junk","args":[%d]}]`, i)}
		buf = framing.AppendFrame(buf, p.AppendTo(nil))
	}
	if _, err := a.Conn.Write(buf); err != nil {
		t.Fatal(err)
	}
}

// expectAcks reads n acks, ack ids 1 to n in any order, and fails on a cut
// or a refusal.
func expectAcks(t *testing.T, a *hostile.Attacker, who string, n int) {
	t.Helper()
	for got := 0; got < n; got++ {
		p := a.Expect(t, wire.TypeAck)
		if p.AckID < 1 || int(p.AckID) > n {
			t.Fatalf("%s: ack id %d, want 1 to %d", who, p.AckID, n)
		}
	}
}

// Durable emits are paced by the store, not by the packet rate limits
// (docs/SECURITY.md): what bounds a client that pipelines them faster than
// the store writes is 1024 waiting per connection (its reads pause) and
// 4096 waiting in the server (the readers that send more pause). With a
// store that writes nothing until released, one connection pipelining
// 1100 emits gets 1024 waiting and no more (the 1025th waits: counted in
// wiredojo_chat_durable_conn_waits_total); four more connections bring
// the server to 4096 and no more (wiredojo_chat_durable_backlog_waits_total).
// An observer's events go on meanwhile, and once the store writes, every
// emit is answered: nobody is cut.
func TestDurableEmitsWaitingAreBounded(t *testing.T) {
	t.Parallel()
	st := &stalledStore{Store: store.NewMemory(store.Options{}), release: make(chan struct{})}
	t.Cleanup(func() { st.Close() })
	srv, addr := hostile.ChatServer(t, tcpchat.Options{Store: st})
	released := false
	release := func() {
		if !released {
			released = true
			close(st.release)
		}
	}
	t.Cleanup(release) // before the server closes: its writer waits on the store
	obs := hostile.NewObserver(t, addr, "/chat", "r")
	obs.Watch(t)

	const perConn, backlog = 1024, 4096 // the bounds (durable.go)
	a := hostile.Dial(t, addr, "")
	a.Join(t, "/chat")
	pipelineDurable(t, a, "/chat", perConn+76)
	chattest.Eventually(t, "1024 of the connection's durable emits waiting and the next waiting for a place (or all 1100 read)", func() bool {
		ds := srv.DurableStats()
		return ds.Waiting == perConn+76 || ds.Waiting == perConn && ds.ConnWaits >= 1
	})
	if ds := srv.DurableStats(); ds.Waiting != perConn || ds.ConnWaits != 1 {
		t.Fatalf("one connection pipelining 1100 durable emits: %d waiting for the store, %d conn waits; want 1024 and 1 (its reads paused)", ds.Waiting, ds.ConnWaits)
	}
	if n := metric(t, addr, "wiredojo_chat_durable_conn_waits_total"); n != 1 {
		t.Fatalf("wiredojo_chat_durable_conn_waits_total %v, want 1", n)
	}

	// Three more connections of 1024 fill the server's 4096; a fifth's
	// ten emits wait for room.
	more := []int{perConn, perConn, perConn, 10}
	others := make([]*hostile.Attacker, len(more))
	for i, n := range more {
		others[i] = hostile.Dial(t, addr, "")
		others[i].Join(t, "/chat")
		pipelineDurable(t, others[i], "/chat", n)
	}
	chattest.Eventually(t, "4096 durable emits waiting in the server and one more waiting for room (or all 4106 read)", func() bool {
		ds := srv.DurableStats()
		return ds.Waiting == backlog+10 || ds.Waiting == backlog && ds.BacklogWaits >= 1
	})
	if ds := srv.DurableStats(); ds.Waiting != backlog || ds.BacklogWaits < 1 {
		t.Fatalf("4106 durable emits pipelined over five connections: %d waiting for the store, %d backlog waits; want 4096 and at least 1", ds.Waiting, ds.BacklogWaits)
	}
	if n := metric(t, addr, "wiredojo_chat_durable_backlog_waits_total"); n < 1 {
		t.Fatalf("wiredojo_chat_durable_backlog_waits_total %v, want at least 1", n)
	}
	if n := metric(t, addr, "wiredojo_chat_durable_waiting"); n != backlog {
		t.Fatalf("wiredojo_chat_durable_waiting %v, want %d", n, backlog)
	}
	obs.Check(t)

	release()
	expectAcks(t, a, "the first connection", perConn+76)
	for i, n := range more {
		expectAcks(t, others[i], fmt.Sprintf("connection %d", i+2), n)
	}
	chattest.Eventually(t, "no durable emit waiting", func() bool { return srv.DurableStats().Waiting == 0 })
}
