package tcpchat_test

import (
	"context"
	"net"
	"testing"

	"github.com/wiredojo/wiredojo/framing/ws"
	"github.com/wiredojo/wiredojo/tcpchat"
	"github.com/wiredojo/wiredojo/tcpchat/chattest"
	"github.com/wiredojo/wiredojo/tcpchat/wire"
)

// wsPair returns the client and server Transports of one WebSocket
// connection on loopback, closed when the test ends.
func wsPair(tb testing.TB) (client, server tcpchat.Transport) {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	type result struct {
		c   *ws.Conn
		err error
	}
	done := make(chan result, 1)
	go func() {
		nc, err := l.Accept()
		if err != nil {
			done <- result{nil, err}
			return
		}
		c, err := (&ws.Upgrader{}).Upgrade(nc, nil)
		if err != nil {
			nc.Close()
		}
		done <- result{c, err}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), chattest.Timeout)
	defer cancel()
	cc, err := ws.Dial(ctx, "ws://"+l.Addr().String()+"/ws", nil)
	if err != nil {
		tb.Fatal(err)
	}
	r := chattest.Recv(tb, "the server to accept the WebSocket", done)
	if r.err != nil {
		cc.CloseNow()
		tb.Fatal(r.err)
	}
	client, server = tcpchat.NewWebSocketTransport(cc), tcpchat.NewWebSocketTransport(r.c)
	tb.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// BenchmarkWebSocketTransport sends one event packet from a client
// Transport and reads it on the server's, over loopback.
func BenchmarkWebSocketTransport(b *testing.B) {
	client, server := wsPair(b)
	p := wire.Packet{Type: wire.TypeEvent, Namespace: "/chat", Event: "message", Args: []byte(`["hello, room"]`)}
	batch := [][]byte{p.AppendTo(nil)}
	b.SetBytes(int64(len(batch[0])))
	b.ReportAllocs()
	for b.Loop() {
		if err := client.WritePackets(batch); err != nil {
			b.Fatal(err)
		}
		if _, err := server.ReadPacket(); err != nil {
			b.Fatal(err)
		}
	}
}

// TestWebSocketTransportAllocs: in steady state a packet written by one
// Transport and read by the other allocates nothing, both ways.
//
// Under -race sync.Pool drops some buffers on purpose (the read buffer a
// WebSocket borrows while bytes wait, the transport's message buffer), so
// there up to one allocation per packet is tolerated; without -race the
// count must be exactly 0.
func TestWebSocketTransportAllocs(t *testing.T) {
	limit := 0.0
	if raceEnabled {
		limit = 1
	}
	client, server := wsPair(t)
	p := wire.Packet{Type: wire.TypeEvent, Namespace: "/chat", Event: "message", Args: []byte(`["hello, room"]`)}
	batch := [][]byte{p.AppendTo(nil)}
	for _, dir := range []struct {
		name string
		w, r tcpchat.Transport
	}{{"client to server", client, server}, {"server to client", server, client}} {
		if n := testing.AllocsPerRun(200, func() {
			if err := dir.w.WritePackets(batch); err != nil {
				t.Fatal(err)
			}
			if _, err := dir.r.ReadPacket(); err != nil {
				t.Fatal(err)
			}
		}); n > limit {
			t.Errorf("%s: %.1f allocations per packet, want at most %.0f", dir.name, n, limit)
		}
	}
}

// framedPair returns the two framed Transports of one loopback TCP
// connection, closed when the benchmark ends.
func framedPair(tb testing.TB) (client, server tcpchat.Transport) {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		nc, _ := l.Accept()
		accepted <- nc
	}()
	cc, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		tb.Fatal(err)
	}
	sc := chattest.Recv(tb, "the server to accept the connection", accepted)
	if sc == nil {
		cc.Close()
		tb.Fatal("accept failed")
	}
	client, server = tcpchat.NewFramedTransport(cc, 1<<20), tcpchat.NewFramedTransport(sc, 1<<20)
	tb.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// BenchmarkTransportBatch writes batches of 64 event packets from the
// server's side (as a broadcast drains a send queue) and reads them on the
// client's: framed TCP writes a batch with one writev, WebSocket with one
// write (ws.Conn.WriteMessages) where the frames fit its 16 KiB buffer.
func BenchmarkTransportBatch(b *testing.B) {
	p := wire.Packet{Type: wire.TypeEvent, Namespace: "/chat", Event: "message", Args: []byte(`[{"from":"ann","room":"lobby","text":"hello, room"}]`)}
	batch := make([][]byte, 64)
	for i := range batch {
		batch[i] = p.AppendTo(nil)
	}
	for _, tc := range []struct {
		name string
		pair func(testing.TB) (tcpchat.Transport, tcpchat.Transport)
	}{{"framed", framedPair}, {"websocket", wsPair}} {
		b.Run(tc.name, func(b *testing.B) {
			client, server := tc.pair(b)
			b.SetBytes(int64(len(batch) * len(batch[0])))
			b.ReportAllocs()
			for b.Loop() {
				if err := server.WritePackets(batch); err != nil {
					b.Fatal(err)
				}
				for range batch {
					if _, err := client.ReadPacket(); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "packets/s")
		})
	}
}
