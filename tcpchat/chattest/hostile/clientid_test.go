package hostile_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/wiredojo/wiredojo/tcpchat"
	"github.com/wiredojo/wiredojo/tcpchat/builtin"
	"github.com/wiredojo/wiredojo/tcpchat/chattest"
	"github.com/wiredojo/wiredojo/tcpchat/chattest/hostile"
	"github.com/wiredojo/wiredojo/tcpchat/store"
	"github.com/wiredojo/wiredojo/tcpchat/wire"
)

// durableChatServer is hostile.ChatServer with a memory store whose queues
// hold maxMessages each; the store is closed after the server.
func durableChatServer(t *testing.T, maxMessages int) (*tcpchat.Server, store.Store, string) {
	t.Helper()
	st := store.NewMemory(store.Options{Limits: store.Limits{MaxMessages: maxMessages}})
	t.Cleanup(func() { st.Close() })
	srv, addr := hostile.ChatServer(t, tcpchat.Options{Store: st})
	return srv, st, addr
}

// Issue 13 point 3: a client id belongs to the connection it was issued
// to. A second connection that claims it without its resume token is
// refused (code 11, saying what is missing) before it is welcomed, and the
// owner still receives its durable queue.
func TestClientIDNeedsItsResumeToken(t *testing.T) {
	t.Parallel()
	srv, st, addr := durableChatServer(t, 0)
	ctx := context.Background()

	owner := chattest.Dial(t, addr, tcpchat.ClientOptions{ClientID: "ann"})
	var rec <-chan chattest.Received
	chattest.Connect(t, owner, "/chat", nil, func(s *tcpchat.ClientSocket) { rec = chattest.Record(s) })

	thief := hostile.Attacker{Raw: chattest.DialRaw(t, addr, true)}
	thief.Send(t, wire.Packet{Type: wire.TypeHandshake, Version: wire.Version, ClientID: "ann"})
	if p := thief.Expect(t, wire.TypeError); p.Code != wire.CodeClientIDTaken || !strings.Contains(p.Reason, `client id "ann" belongs to another client: give its resume token`) {
		t.Fatalf("refusal %+v: want code %d saying the resume token is missing", p, wire.CodeClientIDTaken)
	}
	thief.ExpectClose(t)

	if _, err := srv.Of("/chat").EmitDurable(ctx, tcpchat.DurableTarget{Clients: []string{"ann"}}, "mail", "for ann"); err != nil {
		t.Fatal(err)
	}
	if r := chattest.Next(t, rec); r.Name != "mail" || r.Args != `["for ann"]` {
		t.Fatalf("the owner received %+v, want mail [\"for ann\"]", r)
	}
	chattest.Eventually(t, "the owner's ack to empty its queue, ann's alone", func() bool {
		qs, err := st.Queues(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return len(qs) == 1 && qs[0].Client == "ann" && qs[0].Depth == 0
	})
}

// Issue 13 point 3: the built-in "durable" event cannot push a real
// message out of another client's queue. Junk emits, addressed by client
// id and through a room both are in, either go in while the queue has room
// or are refused with an error in their ack; the real message stays.
func TestJunkDurableCannotEvict(t *testing.T) {
	t.Parallel()
	const max = 5
	srv, st, addr := durableChatServer(t, max)
	ctx := context.Background()

	victim := chattest.Dial(t, addr, tcpchat.ClientOptions{ClientID: "ann"})
	sock := chattest.Connect(t, victim, "/chat", nil, nil)
	if _, err := sock.EmitWithAck(ctx, builtin.EventJoin, "news"); err != nil {
		t.Fatal(err)
	}
	// The attacker is in /chat before ann leaves: /chat, made for a
	// client, is freed with its last socket, and Of would then make a
	// new /chat without the built-in handlers, where the attacker's join
	// would go unanswered.
	obs := hostile.NewObserver(t, addr, "/chat", "r")
	obs.Watch(t)
	a := hostile.Dial(t, addr, "")
	a.Join(t, "/chat")
	joinRoom(t, a, "/chat", "news")
	victim.Close()
	if _, err := srv.Of("/chat").EmitDurable(ctx, tcpchat.DurableTarget{Clients: []string{"ann"}}, "real", 1); err != nil {
		t.Fatal(err)
	}

	accepted, refused := 0, 0
	for i := range 4 * max {
		req := `{"to":["ann"],"event":"junk","args":[0]}`
		if i%2 == 1 {
			req = `{"rooms":["news"],"event":"junk","args":[1]}`
		}
		switch res := emitDurable(t, a, "/chat", uint32(100+i), req); {
		case res.Error != "":
			if res.Code != builtin.AckQueueFull {
				t.Fatalf("refusal %+v: want code %q", res, builtin.AckQueueFull)
			}
			refused++
		case res.Recipients > 0:
			accepted++
		}
	}
	obs.Check(t)
	if refused == 0 {
		t.Errorf("%d junk emits into a queue of %d: none was refused", 4*max, max)
	}
	if accepted > max-1 {
		t.Errorf("%d junk emits accepted into a queue of %d that held a real message", accepted, max)
	}
	if events := queueEvents(t, st, "ann"); len(events) == 0 || events[0] != "real" {
		t.Fatalf("ann's queue holds %q: the real message is gone", events)
	}
}

// A client walks through room names with the built-in "join", as a
// durable client (each join was also a store write that outlives it),
// in two namespaces of one connection at once, so that each namespace
// alone stays within the bound: past MaxRoomsPerConn over both every
// join is refused with an ack saying the bound, the server holds no more
// rooms and the store no more durable rooms than the bound, and the
// observer's room goes on.
func TestRoomsPerConnectionAreBounded(t *testing.T) {
	t.Parallel()
	const limit, joins = 100, 1000 // within the packet burst: the bound, not the rate limit, stops it
	st := store.NewMemory(store.Options{})
	t.Cleanup(func() { st.Close() })
	_, addr := hostile.ChatServer(t, tcpchat.Options{Store: st, MaxRoomsPerConn: limit})
	obs := hostile.NewObserver(t, addr, "/chat", "r")
	obs.Watch(t)

	a := hostile.Attacker{Raw: chattest.DialRaw(t, addr, true)}
	a.Send(t, wire.Packet{Type: wire.TypeHandshake, Version: wire.Version, ClientID: "mallory"})
	a.Expect(t, wire.TypeWelcome)
	namespaces := []string{"/chat", "/walk"}
	for _, ns := range namespaces {
		a.Join(t, ns)
	}
	for i := range joins {
		a.Event(t, namespaces[i%2], builtin.EventJoin, uint32(i+1), fmt.Appendf(nil, `["flood-%d"]`, i))
	}
	refused := 0
	for i := range joins {
		p := a.Expect(t, wire.TypeAck)
		switch args := string(p.Args); {
		case strings.Contains(args, "error"):
			if !strings.Contains(args, fmt.Sprintf("your connection is in %d rooms over all its namespaces, and this server lets one connection be in %d", limit, limit)) || !strings.Contains(args, "--max-rooms-per-conn") {
				t.Fatalf("join %d refused with %s: want the bound and its flag", i+1, args)
			}
			refused++
		case refused > 0:
			t.Fatalf("join %d accepted after a refusal: %s", i+1, args)
		}
	}
	obs.Check(t)
	if refused != joins-limit {
		t.Fatalf("%d of %d joins refused, want %d", refused, joins, joins-limit)
	}
	if n := metric(t, addr, "wiredojo_chat_refused_rooms_total"); n != joins-limit {
		t.Fatalf("refused_rooms_total %v, want %d", n, joins-limit)
	}
	if n := metric(t, addr, "wiredojo_chat_rooms"); n != limit+1 {
		t.Fatalf("the server holds %v rooms, want %d (the attacker's in both namespaces and the observer's)", n, limit+1)
	}
	subs, err := st.Subscriptions(context.Background(), "mallory")
	if err != nil {
		t.Fatal(err)
	}
	if len(subs) != limit+len(namespaces) {
		t.Fatalf("the store holds %d durable rooms of the attacker's client id, want %d (its rooms and its namespaces')", len(subs), limit+len(namespaces))
	}
}

// A client connects again and again, naming a fresh client id each time
// (each one was a queue with a resume token, kept for --queue-ttl): past
// the store's MaxClients every handshake with a new id is refused (code
// 10, saying why), the store holds no more queues than the bound, an id
// it knows still connects, and the observer goes on.
func TestClientIDsInTheStoreAreBounded(t *testing.T) {
	t.Parallel()
	const limit, tries = 20, 60
	st := store.NewMemory(store.Options{Limits: store.Limits{MaxClients: limit}})
	t.Cleanup(func() { st.Close() })
	_, addr := hostile.ChatServer(t, tcpchat.Options{Store: st})
	obs := hostile.NewObserver(t, addr, "/chat", "r")
	obs.Watch(t)

	handshake := func(id, token string) (welcome wire.Packet, refusal string) {
		a := hostile.Attacker{Raw: chattest.DialRaw(t, addr, true)}
		defer a.Conn.Close()
		a.Send(t, wire.Packet{Type: wire.TypeHandshake, Version: wire.Version, ClientID: id, ResumeToken: token})
		p, err := a.Read()
		switch {
		case err != nil:
			t.Fatalf("handshake of %s: %v", id, err)
		case p.Type == wire.TypeWelcome:
			return p, ""
		case p.Type != wire.TypeError || p.Code != wire.CodeTooManyConnections:
			t.Fatalf("handshake of %s answered %+v", id, p)
		}
		return wire.Packet{}, p.Reason
	}
	var first wire.Packet
	for i := range tries {
		id := fmt.Sprintf("junk-%d", i)
		w, refusal := handshake(id, "")
		switch {
		case i == 0:
			first = w
		case i < limit && refusal != "":
			t.Fatalf("handshake %d of a bound of %d refused: %s", i+1, limit, refusal)
		case i >= limit && !strings.Contains(refusal, fmt.Sprintf(`client id %q: the server keeps at most %d client ids, and this one is new`, id, limit)):
			t.Fatalf("handshake %d of a bound of %d: welcome %+v, refusal %q", i+1, limit, w, refusal)
		}
	}
	if _, refusal := handshake("junk-0", first.ResumeToken); refusal != "" {
		t.Fatalf("a known client id with its token refused at the bound: %s", refusal)
	}
	obs.Check(t)
	qs, err := st.Queues(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) != limit {
		t.Fatalf("the store holds %d queues, want %d", len(qs), limit)
	}
	if n := metric(t, addr, "wiredojo_chat_refused_new_client_id_total"); n != tries-limit {
		t.Fatalf("refused_new_client_id_total %v, want %d", n, tries-limit)
	}
}
