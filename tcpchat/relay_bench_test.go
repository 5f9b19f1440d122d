package tcpchat_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/framing"
	"github.com/wiredojo/wiredojo/tcpchat"
	"github.com/wiredojo/wiredojo/tcpchat/builtin"
	"github.com/wiredojo/wiredojo/tcpchat/chattest"
	"github.com/wiredojo/wiredojo/tcpchat/store"
	"github.com/wiredojo/wiredojo/tcpchat/wire"
)

// BenchmarkBuiltinRelay is the path of one publisher's events through a
// server set up as `chat serve` sets it up (the built-in handlers, the
// in-memory replay log for connection state recovery): a raw publisher
// writes bursts of 32 events of 128 bytes in one write each, the built-in
// relay sends them to the sender's room, where one raw subscriber reads
// and discards them. An op is one event; allocs/op counts the whole
// process (the raw clients allocate nothing per event), so in steady
// state it must be 0.
func BenchmarkBuiltinRelay(b *testing.B) {
	rec := store.NewMemory(store.Options{})
	defer rec.Close()
	srv := tcpchat.NewServer(tcpchat.Options{RateLimit: -1, RecoveryStore: rec, NewNamespace: builtin.Install})
	addr := chattest.NewServer(b, srv)
	join := func() *chattest.Raw {
		r := chattest.DialRaw(b, addr, true)
		r.Handshake(b, "")
		r.Join(b, "/chat")
		r.Send(b, wire.Packet{Type: wire.TypeEvent, Namespace: "/chat", Event: builtin.EventJoin, HasAck: true, AckID: 1, Args: []byte(`["r"]`)})
		r.Expect(b, wire.TypeAck)
		return r
	}
	sub, pub := join(), join()
	var got atomic.Int64
	var wg sync.WaitGroup
	countFrames(sub, &got, &wg)
	const burst = 32
	ev := wire.Packet{Type: wire.TypeEvent, Namespace: "/chat", Event: "ev", Args: payload128(nil, 0)}
	var frames []byte
	for range burst {
		frames = framing.AppendFrame(frames, ev.AppendTo(nil))
	}
	sent := int64(0)
	send := func(events int64) {
		for sent < events {
			for sent-got.Load() >= 1024 {
				time.Sleep(20 * time.Microsecond)
			}
			pub.Conn.SetWriteDeadline(time.Now().Add(chattest.Timeout))
			if _, err := pub.Conn.Write(frames); err != nil {
				b.Fatal(err)
			}
			sent += burst
		}
		for got.Load() < sent {
			time.Sleep(20 * time.Microsecond)
		}
	}
	send(20000) // warm up: pools, the replay log at its bound
	b.ReportAllocs()
	b.ResetTimer()
	send(sent + int64(b.N))
	b.StopTimer()
	srv.Close()
	sub.Conn.Close()
	wg.Wait()
}
