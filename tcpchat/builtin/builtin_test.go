package builtin_test

import (
	"context"
	"testing"

	"github.com/wiredojo/wiredojo/tcpchat"
	"github.com/wiredojo/wiredojo/tcpchat/builtin"
	"github.com/wiredojo/wiredojo/tcpchat/chattest"
)

// TestRelayAcksDelivered: an event of the application's own and a chat
// message are relayed to the sender's rooms, and the sender's ack says to
// how many others, as [{"delivered": n}].
func TestRelayAcksDelivered(t *testing.T) {
	srv := tcpchat.NewServer(tcpchat.Options{})
	builtin.Install(srv.Of("/chat"))
	addr := chattest.NewServer(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), chattest.Timeout)
	defer cancel()

	var socks []*tcpchat.ClientSocket
	for range 3 {
		s := chattest.Connect(t, chattest.Dial(t, addr, tcpchat.ClientOptions{}), "/chat", nil, nil)
		if _, err := s.EmitWithAck(ctx, builtin.EventJoin, "lobby"); err != nil {
			t.Fatalf("join lobby: %v", err)
		}
		socks = append(socks, s)
	}
	got := chattest.Record(socks[1])
	for _, c := range []struct {
		event string
		arg   any
	}{
		{"score", map[string]int{"points": 3}},
		{builtin.EventMessage, "hi"},
	} {
		ack, err := socks[0].EmitWithAck(ctx, c.event, c.arg)
		if err != nil {
			t.Fatalf("%s: %v", c.event, err)
		}
		if string(ack) != `[{"delivered":2}]` {
			t.Errorf("%s acked %s, want [{\"delivered\":2}]", c.event, ack)
		}
		if r := chattest.Next(t, got); r.Name != c.event {
			t.Errorf("the other member got %q, want %q", r.Name, c.event)
		}
	}
	// Without an ack asked for, the relay still delivers and answers nothing.
	if err := socks[0].Emit("score", 4); err != nil {
		t.Fatal(err)
	}
	if r := chattest.Next(t, got); r.Name != "score" {
		t.Errorf("the other member got %q, want score", r.Name)
	}
}
