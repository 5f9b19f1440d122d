package sio

import (
	"testing"

	"github.com/wiredojo/wiredojo/socketio/engineio"
	"github.com/wiredojo/wiredojo/tcpchat/wire"
)

// eventIn is a client's event as it arrives (Engine.IO message, Socket.IO
// EVENT in /chat with an ack id) and eventOut the chat's event for a
// Socket.IO client.
var (
	eventIn  = []byte(`2/chat,7["ev","0000000000000001:1733330000000:xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",{"n":1}]`)
	eventOut = (&wire.Packet{Type: wire.TypeEvent, Namespace: "/chat", Event: "ev", Args: []byte(`["0000000000000001:1733330000000:xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"]`)}).AppendTo(nil)
)

// translateIn runs one client event through the reader's translation, as
// ReadPacket does, and returns the chat packet.
func translateIn(t *transport, msg, scratch []byte) ([]byte, error) {
	if t.rs == nil {
		t.rs = new(readScratch)
	}
	rs := t.rs
	m := engineio.Packet{Type: engineio.Message, Data: append(scratch[:0], msg...)}
	if err := t.receive(m); err != nil {
		return nil, err
	}
	rs.buf = rs.pending[t.next].AppendTo(rs.buf[:0])
	clear(rs.pending)
	rs.pending, t.next = rs.pending[:0], 0
	return rs.buf, nil
}

// translateOut runs one chat event through the writer's translation, as
// WritePackets does before it hands the packets to the session.
func translateOut(t *transport, payload []byte) error {
	if t.w == nil {
		t.w = new(writeScratch)
	}
	t.w.out, t.w.text, t.w.spans = t.w.out[:0], t.w.text[:0], t.w.spans[:0]
	var v wire.View
	if err := wire.Parse(payload, &v); err != nil {
		return err
	}
	if err := t.write(&v); err != nil {
		return err
	}
	t.place()
	return nil
}

func TestTranslateEvent(t *testing.T) {
	tr := &transport{handshaken: true}
	p, err := translateIn(tr, eventIn, nil)
	if err != nil {
		t.Fatal(err)
	}
	var v wire.View
	if err := wire.Parse(p, &v); err != nil {
		t.Fatal(err)
	}
	if v.Type != wire.TypeEvent || string(v.Namespace) != "/chat" || string(v.Event) != "ev" || !v.HasAck || v.AckID != 7 ||
		string(v.Args) != `["0000000000000001:1733330000000:xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",{"n":1}]` {
		t.Fatalf("in: %s %q %q ack %v %d args %s", v.Type, v.Namespace, v.Event, v.HasAck, v.AckID, v.Args)
	}
	if err := translateOut(tr, eventOut); err != nil {
		t.Fatal(err)
	}
	var out wire.View
	wire.Parse(eventOut, &out)
	if want := `42/chat,["ev",` + string(out.Args[1:]); len(tr.w.out) != 1 || !tr.w.out[0].Encoded || string(tr.w.out[0].Data) != want {
		t.Fatalf("out: %d packets, %q", len(tr.w.out), tr.w.out[0].Data)
	}
}

// TestTranslateEventAllocations pins the translation's allocations per
// event in steady state: none in, none out.
func TestTranslateEventAllocations(t *testing.T) {
	tr := &transport{handshaken: true}
	scratch := make([]byte, 0, 512)
	in := testing.AllocsPerRun(200, func() {
		if _, err := translateIn(tr, eventIn, scratch); err != nil {
			t.Fatal(err)
		}
	})
	out := testing.AllocsPerRun(200, func() {
		if err := translateOut(tr, eventOut); err != nil {
			t.Fatal(err)
		}
	})
	if in != 0 || out != 0 {
		t.Errorf("allocations per event: %.1f in, %.1f out (want 0)", in, out)
	}
}

func BenchmarkTranslateEventIn(b *testing.B) {
	tr := &transport{handshaken: true}
	scratch := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := translateIn(tr, eventIn, scratch); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTranslateEventOut(b *testing.B) {
	tr := &transport{handshaken: true}
	b.ReportAllocs()
	for b.Loop() {
		if err := translateOut(tr, eventOut); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSharedTranslation checks that the translation made once per
// broadcast (AppendShared) is what the connection's own translation
// writes, that WritePackets tells it from a payload, and that packets
// whose translation depends on the connection, or that make attachments,
// have none.
func TestSharedTranslation(t *testing.T) {
	if wire.Type(sharedLead).Known() {
		t.Fatalf("%q is an event-protocol packet type: shared translations cannot be told from payloads", sharedLead)
	}
	tr := &transport{}
	for _, p := range []wire.Packet{
		{Type: wire.TypeEvent, Namespace: "/chat", Event: "ev", Args: []byte(`["a",{"n":1}]`)},
		{Type: wire.TypeEvent, Namespace: "/", Event: `q"uote`, Args: []byte(`[]`)},
		{Type: wire.TypeEvent, Namespace: "/x", Event: "ask", Args: []byte(`[1]`), HasAck: true, AckID: 42},
	} {
		payload := p.AppendTo(nil)
		if isShared(payload) {
			t.Fatalf("payload %q taken for a shared translation", payload)
		}
		got, ok := tr.AppendShared([]byte("junk"), payload)
		if !ok {
			t.Fatalf("%+v: no shared translation", p)
		}
		if err := translateOut(tr, payload); err != nil {
			t.Fatal(err)
		}
		if len(tr.w.out) != 1 || string(got[4:]) != string(tr.w.out[0].Data) || !isShared(got[4:]) {
			t.Fatalf("%+v: shared %q, the connection's %q", p, got[4:], tr.w.out[0].Data)
		}
	}
	for _, p := range []wire.Packet{
		{Type: wire.TypeEvent, Namespace: "/chat", Event: "file", Args: []byte(`[{"$binary":"AAEC"}]`)},
		{Type: wire.TypeQueued, Namespace: "/chat", Event: "ev", Args: []byte(`[1]`), MessageID: "m1", Offset: 3},
		{Type: wire.TypeAck, Namespace: "/chat", AckID: 1, Args: []byte(`[1]`)},
		{Type: wire.TypeConnect, Namespace: "/chat", SocketID: "s1"},
		{Type: wire.TypePing},
	} {
		if got, ok := tr.AppendShared(nil, p.AppendTo(nil)); ok {
			t.Errorf("%s %s: shared translation %q, want none", p.Type, p.Args, got)
		}
	}
}
