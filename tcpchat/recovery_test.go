package tcpchat_test

import (
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/tcpchat"
	"github.com/wiredojo/wiredojo/tcpchat/builtin"
	"github.com/wiredojo/wiredojo/tcpchat/chattest"
	"github.com/wiredojo/wiredojo/tcpchat/store"
	"github.com/wiredojo/wiredojo/tcpchat/wire"
)

// A connection that comes back with its session id gets it back (RESUMED),
// with its rooms and the non-volatile room broadcasts it missed, in order.
func TestConnectionStateRecovery(t *testing.T) {
	t.Parallel()
	srv, _, addr := durableServer(t)
	if !srv.Recovers() {
		t.Fatal("a server with a store does not recover sessions")
	}
	r := chattest.DialRaw(t, addr, true)
	w := r.Handshake(t, "")
	if w.Resumed {
		t.Fatal("a fresh connection resumed")
	}
	r.Join(t, "/chat")
	r.Send(t, wire.Packet{Type: wire.TypeEvent, Namespace: "/chat", Event: builtin.EventJoin, HasAck: true, AckID: 1, Args: []byte(`["r"]`)})
	r.Expect(t, wire.TypeAck)
	r.Conn.Close()
	chattest.Eventually(t, "the server to drop the closed connection", func() bool { return srv.Connections() == 0 })
	ns := srv.Of("/chat")
	ns.To("r").Emit("missed", 1)
	ns.To("other").Emit("not-mine", 0)
	ns.To("r").Volatile().Emit("volatile", 0)
	ns.Emit("missed", 2)

	r2 := chattest.DialRaw(t, addr, true)
	r2.Send(t, wire.Packet{Type: wire.TypeHandshake, Version: wire.Version, SessionID: w.SessionID})
	w2 := r2.Expect(t, wire.TypeWelcome)
	if !w2.Resumed || w2.SessionID != w.SessionID {
		t.Fatalf("welcome %+v, want session %s resumed", w2, w.SessionID)
	}
	r2.Join(t, "/chat")
	for i := 1; i <= 2; i++ {
		if p := r2.Expect(t, wire.TypeEvent); p.Event != "missed" || string(p.Args) != "["+string(rune('0'+i))+"]" {
			t.Fatalf("replay %d: %+v", i, p)
		}
	}
	ns.To("r").Emit("live", 3) // the room came back
	if p := r2.Expect(t, wire.TypeEvent); p.Event != "live" {
		t.Fatalf("live %+v", p)
	}

	// A session is taken once: a third connection with it starts afresh.
	r3 := chattest.DialRaw(t, addr, true)
	r3.Send(t, wire.Packet{Type: wire.TypeHandshake, Version: wire.Version, SessionID: w.SessionID})
	if w3 := r3.Expect(t, wire.TypeWelcome); w3.Resumed || w3.SessionID == w.SessionID {
		t.Fatalf("second resume %+v", w3)
	}
}

// The Go client resumes its session by itself after the server cut it: the
// welcome says so and its room is back without joining again.
func TestGoClientResumes(t *testing.T) {
	t.Parallel()
	srv, _, addr := durableServer(t)
	ctx := ctxT(t)
	socks := make(chan *tcpchat.Socket, 4)
	srv.Of("/").OnConnection(func(s *tcpchat.Socket) { socks <- s })
	c := chattest.Dial(t, addr, tcpchat.ClientOptions{BackoffMin: 10 * time.Millisecond, BackoffMax: 50 * time.Millisecond})
	connected := make(chan struct{}, 4)
	var rec <-chan chattest.Received
	s := chattest.Connect(t, c, "/", nil, func(s *tcpchat.ClientSocket) {
		rec = chattest.Record(s)
		s.OnConnect(func(*tcpchat.ClientSocket) { connected <- struct{}{} })
	})
	chattest.Recv(t, "the socket to connect", connected)
	if _, err := s.EmitWithAck(ctx, builtin.EventJoin, "r"); err != nil {
		t.Fatal(err)
	}
	session := c.SessionID()
	if c.Resumed() {
		t.Fatal("resumed on the first connection")
	}
	chattest.Recv(t, "the server's socket of the client", socks).Disconnect(true) // the server cuts the connection
	select {
	case <-connected:
	case <-ctx.Done():
		t.Fatal("the client did not reconnect")
	}
	if !c.Resumed() || c.SessionID() != session {
		t.Fatalf("resumed %v, session %s (was %s)", c.Resumed(), c.SessionID(), session)
	}
	s2 := chattest.Recv(t, "the recovered socket", socks)
	chattest.Eventually(t, "the resumed socket's room to come back", func() bool { return len(s2.Rooms()) > 0 })
	srv.Of("/").To("r").Emit("back", 1)
	if r := chattest.Next(t, rec); r.Name != "back" {
		t.Fatalf("got %+v", r)
	}
}

// With NoRecovery a server that has a store keeps no session and records
// no broadcast: a connection that comes back with its session id starts a
// new one, without its rooms or what it missed.
func TestNoRecovery(t *testing.T) {
	t.Parallel()
	st := store.NewMemory(store.Options{})
	t.Cleanup(func() { st.Close() })
	srv := tcpchat.NewServer(tcpchat.Options{Store: st, NoRecovery: true, NewNamespace: builtin.Install})
	if srv.Recovers() {
		t.Fatal("Recovers with NoRecovery")
	}
	builtin.Install(srv.Of("/"))
	addr := chattest.NewServer(t, srv)
	r := chattest.DialRaw(t, addr, true)
	w := r.Handshake(t, "")
	r.Join(t, "/chat")
	r.Send(t, wire.Packet{Type: wire.TypeEvent, Namespace: "/chat", Event: builtin.EventJoin, HasAck: true, AckID: 1, Args: []byte(`["r"]`)})
	r.Expect(t, wire.TypeAck)
	r.Conn.Close()
	chattest.Eventually(t, "the server to drop the closed connection", func() bool { return srv.Connections() == 0 })
	srv.Of("/chat").To("r").Emit("missed", 1)
	if s := st.Stats(); s.ReplayAppended != 0 {
		t.Fatalf("%d broadcasts recorded for replay, want none", s.ReplayAppended)
	}

	r2 := chattest.DialRaw(t, addr, true)
	r2.Send(t, wire.Packet{Type: wire.TypeHandshake, Version: wire.Version, SessionID: w.SessionID})
	if w2 := r2.Expect(t, wire.TypeWelcome); w2.Resumed || w2.SessionID == w.SessionID {
		t.Fatalf("welcome %+v: resumed session %s, want a new one", w2, w.SessionID)
	}
	r2.Join(t, "/chat")
	srv.Of("/chat").Emit("live", 2) // the first event it gets: nothing replayed before it
	if p := r2.Expect(t, wire.TypeEvent); p.Event != "live" {
		t.Fatalf("first event %+v, want the live one", p)
	}
}
