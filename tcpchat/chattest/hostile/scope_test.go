package hostile_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"testing"

	"github.com/wiredojo/wiredojo/framing"
	"github.com/wiredojo/wiredojo/tcpchat"
	"github.com/wiredojo/wiredojo/tcpchat/builtin"
	"github.com/wiredojo/wiredojo/tcpchat/chattest"
	"github.com/wiredojo/wiredojo/tcpchat/chattest/hostile"
	"github.com/wiredojo/wiredojo/tcpchat/store"
	"github.com/wiredojo/wiredojo/tcpchat/wire"
)

// durableAnswer is the ack of a built-in "durable" event.
type durableAnswer struct {
	Error      string `json:"error"`
	Code       string `json:"code"`
	Recipients int    `json:"recipients"`
}

// emitDurable sends a built-in "durable" event with request req (a JSON
// object) and ack id id, and returns its ack.
func emitDurable(t *testing.T, a *hostile.Attacker, ns string, id uint32, req string) durableAnswer {
	t.Helper()
	a.Event(t, ns, builtin.EventDurable, id, []byte("["+req+"]"))
	p := a.Expect(t, wire.TypeAck)
	if p.AckID != id {
		t.Fatalf("ack id %d, want %d", p.AckID, id)
	}
	var res []durableAnswer
	if err := json.Unmarshal(p.Args, &res); err != nil || len(res) != 1 {
		t.Fatalf("ack %s: %v", p.Args, err)
	}
	return res[0]
}

// queueEvents lists the events queued for client, oldest first.
func queueEvents(t *testing.T, st store.Store, client string) []string {
	t.Helper()
	msgs, err := st.Peek(context.Background(), client, 0, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	events := make([]string, len(msgs))
	for i, m := range msgs {
		events[i] = m.Event
	}
	return events
}

// scopeVictims connects two durable clients to /chat and disconnects
// them: ann a durable member of room news, bob of no room.
func scopeVictims(t *testing.T, addr string) {
	t.Helper()
	ann := chattest.Dial(t, addr, tcpchat.ClientOptions{ClientID: "ann"})
	if _, err := chattest.Connect(t, ann, "/chat", nil, nil).EmitWithAck(context.Background(), builtin.EventJoin, "news"); err != nil {
		t.Fatal(err)
	}
	ann.Close()
	bob := chattest.Dial(t, addr, tcpchat.ClientOptions{ClientID: "bob"})
	chattest.Connect(t, bob, "/chat", nil, nil)
	bob.Close()
}

// Issue 13 point 3: the built-in durable relay (builtin.DurableRooms, what
// `chat serve` does for every sender that is not on its machine) reaches
// only the rooms the sender is in and the client ids that are durable
// members of them. A stranger can neither write into ann's or bob's queue
// by naming them nor by naming ann's room; once in ann's room it reaches
// ann, and still not bob. Refusals say why (code out_of_scope) and queue
// nothing.
func TestDurableRelayScope(t *testing.T) {
	t.Parallel()
	st := store.NewMemory(store.Options{})
	t.Cleanup(func() { st.Close() })
	_, addr := hostile.ChatServer(t, tcpchat.Options{Store: st, NewNamespace: builtin.Installer(builtin.DurableRooms)})
	scopeVictims(t, addr)

	a := hostile.Dial(t, addr, "")
	a.Join(t, "/chat")
	id := uint32(10)
	expect := func(req string, recipients int) {
		t.Helper()
		id++
		res := emitDurable(t, a, "/chat", id, req)
		switch {
		case recipients == 0 && (res.Code != builtin.AckOutOfScope || res.Error == ""):
			t.Errorf("durable %s answered %+v, want a refusal with code %q", req, res, builtin.AckOutOfScope)
		case recipients > 0 && (res.Error != "" || res.Recipients != recipients):
			t.Errorf("durable %s answered %+v, want %d recipients", req, res, recipients)
		}
	}
	// In no room: nobody.
	expect(`{"to":["ann"],"event":"junk"}`, 0)
	expect(`{"to":["bob"],"event":"junk"}`, 0)
	expect(`{"rooms":["news"],"event":"junk"}`, 0)
	expect(`{"event":"junk"}`, 0) // the whole namespace
	// In ann's room: ann (by id, by room, by the sender's rooms), not bob.
	joinRoom(t, a, "/chat", "news")
	expect(`{"to":["ann"],"event":"to-ann"}`, 1)
	expect(`{"rooms":["news"],"event":"to-news"}`, 1)
	expect(`{"event":"to-my-rooms"}`, 1)
	expect(`{"to":["ann","bob"],"event":"junk"}`, 0)
	expect(`{"rooms":["news","other"],"event":"junk"}`, 0)

	if got := queueEvents(t, st, "ann"); len(got) != 3 || got[0] != "to-ann" || got[1] != "to-news" || got[2] != "to-my-rooms" {
		t.Errorf("ann's queue holds %q, want the three emits made from her room", got)
	}
	if got := queueEvents(t, st, "bob"); len(got) != 0 {
		t.Errorf("bob's queue holds %q, want nothing: he shares no room with the sender", got)
	}
}

// remoteListener makes every connection it accepts look as if it came
// from addr.
type remoteListener struct {
	net.Listener
	addr net.Addr
}

func (l remoteListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return remoteConn{Conn: c, addr: l.addr}, nil
}

type remoteConn struct {
	net.Conn
	addr net.Addr
}

func (c remoteConn) RemoteAddr() net.Addr { return c.addr }

// Issue 13 point 3: by default (builtin.Install, `chat serve` without
// --durable-scope) a sender on another machine is held to its rooms, while
// one on the server's machine (loopback: the operator's `chat emit
// --durable --to ID`) reaches any client id.
func TestDurableRelayLocalScope(t *testing.T) {
	t.Parallel()
	st := store.NewMemory(store.Options{})
	t.Cleanup(func() { st.Close() })
	srv := tcpchat.NewServer(tcpchat.Options{Store: st, NewNamespace: builtin.Install})
	builtin.Install(srv.Of("/"))
	addr := chattest.NewServer(t, srv) // loopback
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		done <- srv.Serve(remoteListener{Listener: l, addr: &net.TCPAddr{IP: net.IPv4(192, 0, 2, 7), Port: 40000}})
	}()
	t.Cleanup(func() { srv.Close(); <-done })
	scopeVictims(t, addr)

	far := hostile.Dial(t, l.Addr().String(), "")
	far.Join(t, "/chat")
	if res := emitDurable(t, far, "/chat", 1, `{"to":["bob"],"event":"junk"}`); res.Code != builtin.AckOutOfScope {
		t.Errorf("a sender at 192.0.2.7 naming bob: answered %+v, want code %q", res, builtin.AckOutOfScope)
	}
	near := hostile.Dial(t, addr, "")
	near.Join(t, "/chat")
	if res := emitDurable(t, near, "/chat", 1, `{"to":["bob"],"event":"mail"}`); res.Error != "" || res.Recipients != 1 {
		t.Errorf("a sender on loopback naming bob: answered %+v, want 1 recipient", res)
	}
	if got := queueEvents(t, st, "bob"); len(got) != 1 || got[0] != "mail" {
		t.Errorf("bob's queue holds %q, want the loopback sender's mail only", got)
	}
}

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
