package hostile_test

import (
	"context"
	"sync"
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

// sioDial opens a Socket.IO session, closed when the test ends.
func sioDial(t *testing.T, url string) *client.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), chattest.Timeout)
	defer cancel()
	c, err := client.Dial(ctx, url, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
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
	c := sioDial(t, "socketio://"+addr+"/chat")
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

// A polling Socket.IO client that posts durable emits faster than the
// store writes them: the chat server stops reading its session at 1024
// waiting (durable_conn_waits_total), the session's inbox fills, and the
// POST waits with it (wiredojo_chat_socketio_inbox_waits_total) instead
// of the inbox growing; once the store writes, the POST is answered.
func TestSocketIOInboxWaitsAreCounted(t *testing.T) {
	t.Parallel()
	st := &stalledStore{Store: store.NewMemory(store.Options{}), release: make(chan struct{})}
	t.Cleanup(func() { st.Close() })
	srv, addr := sioChatServer(t, tcpchat.Options{Store: st}, engine.Options{})
	var once sync.Once
	release := func() { once.Do(func() { close(st.release) }) }
	t.Cleanup(release) // before the servers close: the chat's writer waits on the store
	c := sioDial(t, "socketio://"+addr+"/chat?transport=polling")
	sioConnect(t, c, "/chat", `{}`)
	const n = 1024 + engine.DefaultInbox + 10
	ms := make([]client.Message, n)
	for i := range ms {
		ms[i].Packet = socketio.Packet{Type: socketio.Event, Namespace: "/chat", ID: uint64(i + 1), HasID: true,
			Data: []byte(`["durable",{"to":["victim"],"event":"junk"}]`)}
	}
	posted := make(chan error, 1)
	go func() { posted <- c.Write(ms...) }()
	var waits float64
	chattest.Eventually(t, "the chat server to stop reading the session and a message to wait for room in its inbox (or the POST answered)", func() bool {
		waits = metric(t, addr, "wiredojo_chat_socketio_inbox_waits_total")
		return waits >= 1 && srv.DurableStats().ConnWaits >= 1 || len(posted) > 0
	})
	if waits < 1 || len(posted) > 0 {
		t.Fatalf("%d durable emits posted to a stalled store: wiredojo_chat_socketio_inbox_waits_total %v, POST answered %v; want at least 1 and the POST waiting", n, waits, len(posted) > 0)
	}
	if ds := srv.DurableStats(); ds.Waiting != 1024 || ds.ConnWaits != 1 {
		t.Fatalf("%d waiting for the store, %d conn waits; want 1024 and 1", ds.Waiting, ds.ConnWaits)
	}
	release()
	if err := <-posted; err != nil {
		t.Fatalf("the POST once the store wrote: %v", err)
	}
}
