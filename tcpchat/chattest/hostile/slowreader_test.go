package hostile_test

import (
	"bytes"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/tcpchat"
	"github.com/wiredojo/wiredojo/tcpchat/chattest/hostile"
	"github.com/wiredojo/wiredojo/tcpchat/wire"
)

// A client that joins a room and never reads, while another floods that
// room with large events (32 MiB, far fewer packets than the send queue's
// 1024): what the server keeps queued for it is bounded by the queue's
// byte bound (Options.SendQueueBytes, here 2 MiB), not by 1024 packets of
// up to a frame each. The flood waits for room (backpressure), the reader
// is cut as a slow consumer (wiredojo_chat_slow_consumer_cuts_total), the
// server's heap grows by a few times the bound at most, and an observer in
// another room is not slowed. Without the byte bound the whole 32 MiB
// stays queued (the write timeout, here a minute, would cut it much
// later). Not parallel: it measures the process's heap.
func TestSlowReaderIsBoundedByBytes(t *testing.T) {
	const (
		events = 128
		size   = 256 << 10 // 32 MiB in all
		bound  = 2 << 20
	)
	_, addr := hostile.ChatServer(t, tcpchat.Options{SendQueueBytes: bound, WriteTimeout: time.Minute})
	obs := hostile.NewObserver(t, addr, "/chat", "quiet")
	before := heapInUse()
	obs.Watch(t)

	stuck := hostile.Dial(t, addr, "")
	stuck.Conn.(*net.TCPConn).SetReadBuffer(4096)
	stuck.Join(t, "/chat")
	joinRoom(t, stuck, "/chat", "big")
	a := hostile.Dial(t, addr, "")
	a.Join(t, "/chat")
	joinRoom(t, a, "/chat", "big")
	args := []byte(`["` + strings.Repeat("x", size) + `"]`)
	cut := -1
	for i := range events {
		a.Event(t, "/chat", "blob", uint32(i+2), args)
		p := a.Expect(t, wire.TypeAck)
		if cut < 0 && bytes.Contains(p.Args, []byte(`"delivered":0`)) {
			cut = i // the stuck reader is gone: it was cut
		}
	}
	grew := int64(heapInUse()) - int64(before)
	obs.Check(t)
	t.Logf("sent %d MiB; the stuck reader was cut at event %d; heap grew %.1f MiB", events*size>>20, cut, float64(grew)/(1<<20))
	if limit := int64(4 * bound); grew > limit {
		t.Fatalf("the heap grew by %d MiB after %d MiB of broadcasts to a reader that does not read, over %d MiB", grew>>20, events*size>>20, limit>>20)
	}
	if cut < 0 {
		t.Fatalf("the stuck reader got all %d events queued", events)
	}
	if n := metric(t, addr, "wiredojo_chat_slow_consumer_cuts_total"); n != 1 {
		t.Fatalf("wiredojo_chat_slow_consumer_cuts_total %v, want 1", n)
	}
}
