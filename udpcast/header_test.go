package udpcast_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/wiredojo/wiredojo/udpcast"
)

func TestHeaderRoundTrip(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 5000; i++ {
		h := udpcast.Header{RunID: r.Uint64(), Seq: r.Uint64(), SentNS: int64(r.Uint64()), Flags: uint8(r.IntN(2))}
		payload := make([]byte, r.IntN(64))
		for j := range payload {
			payload[j] = byte(r.Uint32())
		}
		b := append(h.AppendTo(nil), payload...)
		if len(b) != udpcast.HeaderLen+len(payload) {
			t.Fatalf("encoded length %d", len(b))
		}
		var put [udpcast.HeaderLen]byte
		h.Put(put[:])
		if !bytes.Equal(put[:], b[:udpcast.HeaderLen]) {
			t.Fatalf("Put and AppendTo disagree: %x vs %x", put, b[:udpcast.HeaderLen])
		}
		got, p, err := udpcast.DecodeHeader(b)
		if err != nil || got != h || !bytes.Equal(p, payload) {
			t.Fatalf("round trip: got %+v %x %v, want %+v %x", got, p, err, h, payload)
		}
	}
}

func TestDecodeHeaderErrors(t *testing.T) {
	t.Parallel()
	good := udpcast.Header{RunID: 1, Seq: 2, SentNS: 3}.AppendTo(nil)
	longer := append([]byte(nil), good...)
	longer[7] = 40 // a 40-byte header from a later minor version
	longer = append(longer, make([]byte, 8)...)
	longer = append(longer, 'x')
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, udpcast.ErrShort},
		{"magic prefix", []byte("WD"), udpcast.ErrShort},
		{"other short", []byte("GET"), udpcast.ErrBadMagic},
		{"truncated", good[:20], udpcast.ErrShort},
		{"one byte short", good[:udpcast.HeaderLen-1], udpcast.ErrShort},
		{"bad magic", append([]byte("XXXX"), good[4:]...), udpcast.ErrBadMagic},
		{"bad version", append(append([]byte(nil), good[:4]...), append([]byte{9}, good[5:]...)...), udpcast.ErrVersion},
		{"header len too small", append(append([]byte(nil), good[:6]...), append([]byte{0, 8}, good[8:]...)...), udpcast.ErrHeaderLen},
		{"announced longer than datagram", longer[:udpcast.HeaderLen+4], udpcast.ErrShort},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := udpcast.DecodeHeader(tt.in)
			if !errors.Is(err, tt.want) {
				t.Fatalf("DecodeHeader(%x) = %v, want %v", tt.in, err, tt.want)
			}
		})
	}
	h, p, err := udpcast.DecodeHeader(longer)
	if err != nil || h.Seq != 2 || string(p) != "x" {
		t.Fatalf("longer header: %+v %q %v", h, p, err)
	}
}

func TestEndFlag(t *testing.T) {
	t.Parallel()
	h, _, err := udpcast.DecodeHeader(udpcast.Header{Seq: 10, Flags: udpcast.FlagEnd}.AppendTo(nil))
	if err != nil || !h.End() || h.Seq != 10 {
		t.Fatalf("end marker: %+v %v", h, err)
	}
}

func TestCodecAllocs(t *testing.T) {
	buf := make([]byte, 0, 64)
	h := udpcast.Header{RunID: 9, Seq: 1}
	n := testing.AllocsPerRun(100, func() {
		b := h.AppendTo(buf[:0])
		if _, _, err := udpcast.DecodeHeader(b); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Fatalf("%v allocations per encode+decode, want 0", n)
	}
}

func BenchmarkDecodeHeader(b *testing.B) {
	d := udpcast.Header{RunID: 9, Seq: 1}.AppendTo(make([]byte, 0, 1400))
	d = d[:1400]
	b.ReportAllocs()
	b.SetBytes(int64(len(d)))
	for b.Loop() {
		if _, _, err := udpcast.DecodeHeader(d); err != nil {
			b.Fatal(err)
		}
	}
}

func ExampleDecodeHeader() {
	d := udpcast.Header{RunID: 42, Seq: 7}.AppendTo(nil)
	d = append(d, "hello"...)
	h, payload, err := udpcast.DecodeHeader(d)
	fmt.Println(h.RunID, h.Seq, string(payload), err)
	// Output: 42 7 hello <nil>
}

// TestGoldenDump checks the codec against the hex dumps of docs/PROTOCOL.md
// ("UDP datagram header").
func TestGoldenDump(t *testing.T) {
	t.Parallel()
	data := []byte{
		0x57, 0x44, 0x55, 0x50, 0x01, 0x00, 0x00, 0x20, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0x18, 0x7b, 0x65, 0x6d, 0x86, 0x39, 0xcd, 0x15,
		'h', 'e', 'l', 'l', 'o',
	}
	end := []byte{
		0x57, 0x44, 0x55, 0x50, 0x01, 0x01, 0x00, 0x20, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xe8, 0x18, 0x7b, 0x65, 0x6d, 0xba, 0x78, 0xca, 0x00,
	}
	h := udpcast.Header{RunID: 0x0123456789abcdef, Seq: 7, SentNS: 1764115200123456789}
	if got := append(h.AppendTo(nil), "hello"...); !bytes.Equal(got, data) {
		t.Fatalf("data datagram:\n got %x\nwant %x", got, data)
	}
	e := udpcast.Header{RunID: 0x0123456789abcdef, Seq: 1000, SentNS: 1764115201000000000, Flags: udpcast.FlagEnd}
	if got := e.AppendTo(nil); !bytes.Equal(got, end) {
		t.Fatalf("end marker:\n got %x\nwant %x", got, end)
	}
	if d, p, err := udpcast.DecodeHeader(end); err != nil || d != e || len(p) != 0 {
		t.Fatalf("decode end marker: %+v %q %v", d, p, err)
	}
}
