package tcpchat_test

import (
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/framing"
	"github.com/wiredojo/wiredojo/tcpchat"
	"github.com/wiredojo/wiredojo/tcpchat/chattest"
	"github.com/wiredojo/wiredojo/tcpchat/wire"
)

// Events that one read brings in are relayed to a recipient in one write:
// the recipient's writer starts when the sender's read batch is handled,
// not at the first broadcast (then it would race the handler and write the
// batch a packet or two at a time; the handler here takes a millisecond
// per event to leave it that chance).
func TestReadBatchIsOneWritePerRecipient(t *testing.T) {
	t.Parallel()
	srv := tcpchat.NewServer(tcpchat.Options{RateLimit: -1})
	ns := srv.Of("/")
	ns.On("join", func(e *tcpchat.Event) { e.Socket.Join("r"); e.Ack() })
	ns.On("ev", func(e *tcpchat.Event) {
		e.Socket.To("r").EmitRaw("ev", e.Args)
		time.Sleep(time.Millisecond)
	})
	addr := chattest.NewServer(t, srv)

	sub := chattest.DialRaw(t, addr, true)
	sub.Handshake(t, "")
	sub.Join(t, "/")
	sub.Send(t, wire.Packet{Type: wire.TypeEvent, Namespace: "/", Event: "join", HasAck: true, AckID: 1})
	sub.Expect(t, wire.TypeAck)
	pub := chattest.DialRaw(t, addr, true)
	pub.Handshake(t, "")
	pub.Join(t, "/")

	const events = 20
	ev := wire.Packet{Type: wire.TypeEvent, Namespace: "/", Event: "ev", Args: []byte(`[1]`)}
	var burst []byte
	for i := 0; i < events; i++ {
		burst = framing.AppendFrame(burst, ev.AppendTo(nil))
	}
	before := srv.Stats().Writes
	pub.Conn.SetWriteDeadline(time.Now().Add(chattest.Timeout))
	if _, err := pub.Conn.Write(burst); err != nil { // one write, one read on the server
		t.Fatal(err)
	}
	for i := 0; i < events; i++ {
		p := sub.Expect(t, wire.TypeEvent)
		if p.Event != "ev" {
			t.Fatalf("event %d: got %q, want ev", i, p.Event)
		}
	}
	// The counter moves after the write returns: wait for the last one.
	chattest.Eventually(t, "the server to count the last packet out",
		func() bool { return srv.Stats().PacketsOut >= 4+1+events })
	// One write for the burst; one more if the server's read split it, or
	// for the join's ack, whose count may land after "before" was read.
	if w := srv.Stats().Writes - before; w > 3 {
		t.Fatalf("%d events from one read took %d writes to their recipient, want at most 3", events, w)
	}
}
