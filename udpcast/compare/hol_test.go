package compare

import (
	"encoding/binary"
	"math"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/udpcast/link"
)

// tcpPacket builds an IPv4 packet of a TCP segment to port 5000 carrying n
// bytes at sequence number seq.
func tcpPacket(seq uint32, flags byte, n int) []byte {
	b := make([]byte, 40+n)
	b[0], b[9] = 0x45, 6
	binary.BigEndian.PutUint16(b[2:4], uint16(len(b)))
	binary.BigEndian.PutUint16(b[22:24], 5000)
	binary.BigEndian.PutUint32(b[24:28], seq)
	b[32], b[33] = 5<<4, flags
	return b
}

// TestHOLWaits: a message waits only while an earlier byte is missing, from
// the moment its own bytes are all in; nothing waits without a hole.
func TestHOLWaits(t *testing.T) {
	const size = 96                     // + 4 framing bytes = 100 per message
	isn := uint32(math.MaxUint32 - 150) // the stream wraps the 32-bit space
	ms := func(v int) time.Duration { return time.Duration(v) * time.Millisecond }
	run := func(segs []struct {
		lo, n, at int
	}) []float64 {
		h := &holTracker{}
		h.port.Store(5000)
		h.observe(link.SideB, 0, tcpPacket(isn-1, 0x02, 0))
		for _, s := range segs {
			h.observe(link.SideB, ms(s.at), tcpPacket(isn+uint32(s.lo), 0x10, s.n))
		}
		h.observe(link.SideA, ms(99), tcpPacket(isn, 0x10, 100)) // the other way: ignored
		return h.waits(4, size)
	}
	// In order: nothing waits.
	clean := run([]struct{ lo, n, at int }{{0, 150, 1}, {150, 150, 2}, {300, 100, 3}})
	for i, w := range clean {
		if w != 0 {
			t.Errorf("in order: message %d waited %v ms", i, w)
		}
	}
	// Bytes 100-199 (message 1) lost, resent at 50 ms: messages 2 and 3
	// were in at 3 and 4 ms and waited; message 1 itself did not wait
	// behind anything.
	lossy := run([]struct{ lo, n, at int }{{0, 100, 1}, {200, 100, 3}, {300, 100, 4}, {100, 100, 50}})
	want := []float64{0, 0, 47, 46}
	for i := range want {
		if lossy[i] != want[i] {
			t.Errorf("message %d waited %v ms, want %v", i, lossy[i], want[i])
		}
	}
	// A message that never arrived is unknown.
	part := run([]struct{ lo, n, at int }{{0, 100, 1}})
	if part[0] != 0 || !math.IsNaN(part[1]) {
		t.Errorf("partial stream: %v", part)
	}
}
