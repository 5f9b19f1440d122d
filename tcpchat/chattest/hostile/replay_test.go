package hostile_test

import (
	"bytes"
	"runtime"
	"strings"
	"testing"

	"github.com/wiredojo/wiredojo/tcpchat"
	"github.com/wiredojo/wiredojo/tcpchat/chattest/hostile"
	"github.com/wiredojo/wiredojo/tcpchat/store"
	"github.com/wiredojo/wiredojo/tcpchat/wire"
)

// heapInUse is the process's live heap after a collection.
func heapInUse() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// checkBytesBound fails the test unless what holds at most max bytes
// (held), something was dropped to keep it so (dropped), and the /metrics
// of the server at addr show each of metrics.
func checkBytesBound(t *testing.T, addr, what string, held, max, dropped uint64, metrics ...string) {
	t.Helper()
	if held > max {
		t.Fatalf("%s holds %d bytes, over its bound of %d", what, held, max)
	}
	if dropped == 0 {
		t.Fatalf("nothing was dropped from %s", what)
	}
	_, body := hostile.HTTP(t, addr, "GET", "/metrics", addr, nil)
	for _, m := range metrics {
		if !strings.Contains(body, "\n"+m+" ") {
			t.Fatalf("/metrics does not show %s", m)
		}
	}
}

// Issue 13 point 1: one client alone in a room sending large events fills
// the replay log of connection state recovery only up to its byte bound
// (here 1 MiB per namespace); the server's heap
// stays bounded and an observer's delivery goes on. Not parallel: it
// measures the process's heap.
func TestReplayLogIsBoundedByBytes(t *testing.T) {
	const (
		events   = 64
		size     = 256 << 10 // 16 MiB in all
		maxBytes = 1 << 20
	)
	rec := store.NewMemory(store.Options{Limits: store.Limits{ReplayMaxBytes: maxBytes, ReplayTotalBytes: 2 * maxBytes}})
	t.Cleanup(func() { rec.Close() })
	_, addr := hostile.ChatServer(t, tcpchat.Options{RecoveryStore: rec})
	obs := hostile.NewObserver(t, addr, "/chat", "quiet")
	before := heapInUse()
	obs.Watch(t)

	floodSoloRoom(t, addr, events, size)
	obs.Check(t)
	st := rec.Stats()
	checkBytesBound(t, addr, "the replay log", st.ReplayBytes, maxBytes, st.ReplayTrimmed, "wiredojo_chat_replay_bytes", "wiredojo_chat_replay_trimmed_total")
	grew := int64(heapInUse()) - int64(before)
	t.Logf("sent %d MiB; replay log %.1f MiB, %d entries trimmed; heap grew %.1f MiB", events*size>>20, float64(st.ReplayBytes)/(1<<20), st.ReplayTrimmed, float64(grew)/(1<<20))
	if limit := int64(8 * maxBytes); grew > limit {
		t.Fatalf("the heap grew by %d MiB after %d MiB of broadcasts, over %d MiB", grew>>20, events*size>>20, limit>>20)
	}
}

// floodSoloRoom is the attack on the replay log: a client alone in room
// "solo" of /chat sends events of size bytes, each recorded in the log
// and delivered to no one. It returns the attacker, in its room.
func floodSoloRoom(t *testing.T, addr string, events, size int) *hostile.Attacker {
	t.Helper()
	a := hostile.Dial(t, addr, "")
	a.Join(t, "/chat")
	joinRoom(t, a, "/chat", "solo")
	args := []byte(`["` + strings.Repeat("x", size) + `"]`)
	for i := range events {
		a.Event(t, "/chat", "blob", uint32(i+2), args)
		if p := a.Expect(t, wire.TypeAck); !bytes.Contains(p.Args, []byte(`"delivered":0`)) {
			t.Fatalf("blob %d: ack %s", i, p.Args)
		}
	}
	return a
}
