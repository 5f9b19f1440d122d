package link

import (
	"testing"

	"github.com/wiredojo/wiredojo/udpcast"
)

func TestPacketKey(t *testing.T) {
	ip := func(proto byte, payload []byte) []byte {
		b := make([]byte, 28, 28+len(payload))
		b[0], b[9] = 0x45, proto
		return append(b, payload...)
	}
	data := udpcast.Header{RunID: 9, Seq: 42, SentNS: 1}.AppendTo(nil)
	if k, ok := packetKey(ip(17, data)); !ok || k != 42 {
		t.Errorf("data datagram: key %d %v, want 42", k, ok)
	}
	end := udpcast.Header{RunID: 9, Seq: 42, Flags: udpcast.FlagEnd}.AppendTo(nil)
	for name, pkt := range map[string][]byte{
		"end marker": ip(17, end), "tcp": ip(6, data), "other udp": ip(17, []byte("hello, world, not ours")),
		"short": {0x45, 0, 0}, "ipv6": append([]byte{0x60}, make([]byte, 60)...),
	} {
		if _, ok := packetKey(pkt); ok {
			t.Errorf("%s got a key", name)
		}
	}
}
