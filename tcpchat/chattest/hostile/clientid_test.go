package hostile_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/tcpchat"
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
	deadline := time.Now().Add(chattest.Timeout)
	for { // the owner's ack empties its queue
		qs, err := st.Queues(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(qs) == 1 && qs[0].Client == "ann" && qs[0].Depth == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("queues %+v, want ann's alone and empty", qs)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
