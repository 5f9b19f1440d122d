package stats_test

import (
	"encoding/binary"
	"testing"

	"github.com/wiredojo/wiredojo/udpcast"
	"github.com/wiredojo/wiredojo/udpcast/stats"
)

// FuzzStream feeds a Stream arbitrary sequence numbers, flags and times
// (9 bytes per datagram: 8 of sequence number, 1 of flags/time) and checks
// that it never panics and that its summary stays consistent.
func FuzzStream(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3})
	f.Add([]byte{0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 0x81})
	f.Fuzz(func(t *testing.T, data []byte) {
		var s stats.Stream
		var fed uint64
		for i := 0; len(data) >= 9; i++ {
			fed++
			seq := binary.BigEndian.Uint64(data)
			var flags uint8
			if data[8]&0x80 != 0 {
				flags = udpcast.FlagEnd
			}
			at := int64(i)*1000 + int64(data[8]&0x7f)*100
			s.Add(udpcast.Header{Seq: seq, Flags: flags, SentNS: int64(i) * 1000}, 64, at)
			data = data[9:]
		}
		sum := s.Summary()
		// (A rebase replays kept datagrams, so outcomes seen here are not
		// the whole story; the totals are.)
		if sum.Received+sum.Duplicates+sum.Wild+sum.Stale > fed {
			t.Fatalf("summary %+v counts more than the %d datagrams fed", sum, fed)
		}
		if sum.Lost > sum.Sent || (sum.Sent >= sum.Received && sum.Lost != sum.Sent-sum.Received) {
			t.Fatalf("inconsistent loss: %+v", sum)
		}
		if sum.JitterMS < 0 || sum.LatencyMS.P50 > sum.LatencyMS.Max {
			t.Fatalf("bad jitter or latency: %+v", sum)
		}
	})
}
