package hostile_test

import (
	"context"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/socketio"
	"github.com/wiredojo/wiredojo/socketio/client"
	"github.com/wiredojo/wiredojo/socketio/engine"
	"github.com/wiredojo/wiredojo/tcpchat"
	"github.com/wiredojo/wiredojo/tcpchat/chattest"
	"github.com/wiredojo/wiredojo/tcpchat/store"
)

// sioDurableEvents reads the session's packets until it has n events in
// ns and returns how many of them came with an ack id.
func sioDurableEvents(t *testing.T, c *client.Conn, ns string, n int) (withID int) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(chattest.Timeout))
	for got := 0; got < n; {
		m, err := c.Read()
		if err != nil {
			t.Fatalf("waiting for event %d of %d in %s: %v", got+1, n, ns, err)
		}
		if m.Packet.Namespace != ns || m.Packet.Type != socketio.Event {
			continue
		}
		got++
		if m.Packet.HasID {
			withID++
		}
	}
	return withID
}

// sioConnect sends a Socket.IO CONNECT to ns with auth and reads until its
// answer, which must be a CONNECT.
func sioConnect(t *testing.T, c *client.Conn, ns, auth string) {
	t.Helper()
	if err := c.Write(client.Message{Packet: socketio.Packet{Type: socketio.Connect, Namespace: ns, Data: []byte(auth)}}); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(chattest.Timeout))
	for {
		m, err := c.Read()
		if err != nil {
			t.Fatalf("connect to %s: %v", ns, err)
		}
		if m.Packet.Namespace == ns && m.Packet.Type == socketio.ConnectError {
			t.Fatalf("connect to %s refused: %s", ns, m.Packet.Data)
		}
		if m.Packet.Namespace == ns && m.Packet.Type == socketio.Connect {
			return
		}
	}
}

// A durable Socket.IO client that never acknowledges its queued events
// and connects its namespace again and again: each connect is a getAll,
// and the chat server sends its in-flight window (256) again, to which
// the transport gives new ack ids while the old ones still wait. The
// transport keeps at most 1024 such ids per session: beyond them the
// events come without an ack id (the client cannot acknowledge them; they
// stay queued), counted in wiredojo_chat_durable_sent_without_ack_id_total.
func TestSocketIODurableAckIDsAreBounded(t *testing.T) {
	t.Parallel()
	st := store.NewMemory(store.Options{})
	t.Cleanup(func() { st.Close() })
	srv, addr := sioChatServer(t, tcpchat.Options{Store: st}, engine.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), chattest.Timeout)
	defer cancel()
	c, err := client.Dial(ctx, "socketio://"+addr+"/chat", client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	sioConnect(t, c, "/chat", `{"clientId":"ann"}`)
	const window, bound, queued = 256, 1024, 300 // the chat's in-flight window, the transport's bound
	for i := range queued {
		if _, err := srv.Of("/chat").EmitDurable(ctx, tcpchat.DurableTarget{Clients: []string{"ann"}}, "note", i); err != nil {
			t.Fatal(err)
		}
	}
	withID := sioDurableEvents(t, c, "/chat", window)
	for round := 2; round <= bound/window+2; round++ {
		if err := c.Write(client.Message{Packet: socketio.Packet{Type: socketio.Disconnect, Namespace: "/chat"}}); err != nil {
			t.Fatal(err)
		}
		sioConnect(t, c, "/chat", `{}`)
		withID += sioDurableEvents(t, c, "/chat", window)
	}
	sent := window * (bound/window + 2)
	if withID != bound {
		t.Fatalf("%d queued events sent over %d namespace connects, %d with an ack id; want %d (the transport's bound)", sent, bound/window+2, withID, bound)
	}
	if n := metric(t, addr, "wiredojo_chat_durable_sent_without_ack_id_total"); n != float64(sent-bound) {
		t.Fatalf("wiredojo_chat_durable_sent_without_ack_id_total %v, want %d", n, sent-bound)
	}
	if got := queueEvents(t, st, "ann"); len(got) != queued {
		t.Fatalf("ann's queue holds %d events, want all %d: nothing was acknowledged", len(got), queued)
	}
}
