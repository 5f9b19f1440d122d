package udpcast_test

import (
	"bytes"
	"testing"

	"github.com/wiredojo/wiredojo/udpcast"
)

// FuzzDecodeHeader checks that DecodeHeader never panics, that a decoded
// header re-encodes to the same bytes (for version 1 lengths) and that the
// payload is the tail of the input.
func FuzzDecodeHeader(f *testing.F) {
	f.Add(udpcast.Header{RunID: 1, Seq: 2, SentNS: 3}.AppendTo(nil))
	f.Add(append(udpcast.Header{Seq: 5, Flags: udpcast.FlagEnd}.AppendTo(nil), "payload"...))
	f.Add([]byte("WDUP"))
	f.Add([]byte("WDUP\x01\x00\xff\xff"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, p, err := udpcast.DecodeHeader(b)
		if err != nil {
			if p != nil {
				t.Fatalf("payload %x with error %v", p, err)
			}
			return
		}
		if len(p) > len(b)-udpcast.HeaderLen || !bytes.Equal(p, b[len(b)-len(p):]) {
			t.Fatalf("payload is not the tail of the datagram")
		}
		if int(b[6])<<8|int(b[7]) == udpcast.HeaderLen {
			if re := h.AppendTo(nil); !bytes.Equal(re, b[:udpcast.HeaderLen]) {
				t.Fatalf("re-encoding %x gave %x", b[:udpcast.HeaderLen], re)
			}
		}
	})
}
