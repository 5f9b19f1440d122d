package ws

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"unicode/utf8"
)

func TestHeaderRoundTrip(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	lengths := []int64{0, 1, 125, 126, 127, 0xFFFF, 0x10000, 1 << 40, 1<<63 - 1}
	for i := 0; i < 5000; i++ {
		h := Header{
			Fin: rng.IntN(2) == 0, Rsv1: rng.IntN(2) == 0, Rsv2: rng.IntN(2) == 0, Rsv3: rng.IntN(2) == 0,
			OpCode: OpCode(rng.IntN(16)), Masked: rng.IntN(2) == 0,
		}
		if i < len(lengths) {
			h.Length = lengths[i]
		} else {
			h.Length = rng.Int64N(1 << uint(rng.IntN(62)+1))
		}
		if h.Masked {
			fill(rng, h.Mask[:])
		}
		b := AppendHeader(nil, h)
		if len(b) != h.Len() {
			t.Fatalf("%+v: Len %d, wrote %d", h, h.Len(), len(b))
		}
		if !minimalLength(b) {
			t.Fatalf("%+v: not minimal: % x", h, b)
		}
		got, n, err := ParseHeader(b)
		if err != nil || n != len(b) || got != h {
			t.Fatalf("round trip %+v: got %+v n=%d err=%v", h, got, n, err)
		}
		for k := 0; k < len(b); k++ {
			if _, _, err := ParseHeader(b[:k]); err != ErrShortHeader {
				t.Fatalf("%d of %d bytes: err %v, want ErrShortHeader", k, len(b), err)
			}
		}
	}
}

func TestParseHeaderRejects(t *testing.T) {
	t.Parallel()
	b := []byte{0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0}
	if _, _, err := ParseHeader(b); err != ErrLengthOverflow {
		t.Fatalf("top bit set: %v", err)
	}
	if minimalLength([]byte{0x82, 126, 0, 125}) || minimalLength([]byte{0x82, 127, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF}) {
		t.Fatal("non-minimal lengths reported minimal")
	}
}

func TestOpCode(t *testing.T) {
	t.Parallel()
	for o := OpCode(0); o < 16; o++ {
		reserved := o.String()[:3] == "res"
		if reserved != o.IsReserved() {
			t.Errorf("%d: String %q, IsReserved %v", o, o, o.IsReserved())
		}
		if o.IsControl() != (o >= 8) {
			t.Errorf("%d: IsControl %v", o, o.IsControl())
		}
	}
}

func maskSlow(key [4]byte, pos int, b []byte) {
	for i := range b {
		b[i] ^= key[(pos+i)&3]
	}
}

func TestMask(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	lengths := []int{511, 512, 513, 1023, 1024, 1031, 4099, 65536 + 77}
	for n := range 300 {
		lengths = append(lengths, n)
	}
	for _, n := range lengths {
		for pos := 0; pos < 5; pos++ {
			var key [4]byte
			fill(rng, key[:])
			b := make([]byte, n+pos)[pos:] // unaligned starts too
			fill(rng, b)
			want := bytes.Clone(b)
			maskSlow(key, pos, want)
			// in two pieces
			cut := 0
			if n > 0 {
				cut = rng.IntN(n + 1)
			}
			p := Mask(key, pos, b[:cut])
			if p2 := Mask(key, p, b[cut:]); p2 != (pos+n)&3 {
				t.Fatalf("pos after: %d", p2)
			}
			if !bytes.Equal(b, want) {
				t.Fatalf("n=%d pos=%d cut=%d: mismatch", n, pos, cut)
			}
		}
	}
}

// TestMaskBlocks: the 64-byte block kernel (SSE2 on amd64) agrees with
// its Go version.
func TestMaskBlocks(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{0, 63, 64, 65, 127, 128, 200, 1024, 4096 + 9} {
		for off := range 3 {
			b := make([]byte, n+off)[off:]
			fill(rng, b)
			want := bytes.Clone(b)
			k := rng.Uint64()
			if got, done := maskBlocks(b, k), maskBlocksGo(want, k); got != done || got != n&^63 || !bytes.Equal(b, want) {
				t.Fatalf("n=%d off=%d: did %d and %d bytes, equal %v", n, off, got, done, bytes.Equal(b, want))
			}
		}
	}
}

func TestUTF8Validator(t *testing.T) {
	t.Parallel()
	cases := []string{
		"", "hello", "κόσμε", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited",
		"\xf4\x90\x80\x80", "\xed\x9f\xbf", "\xef\xbf\xbf", "\xc0\xaf", "\xe0\x80\xaf", "\xf0\x8f\xbf\xbf",
		"\xf4\x8f\xbf\xbf", "\xf5", "\xff", "\x80", "abcdefgh\xc2", "abcdefghij\xc2\xa9xyz",
		"\xe2\x82", "\xed\xa0\x80",
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 2000; i++ {
		b := make([]byte, rng.IntN(12))
		for j := range b {
			b[j] = byte(rng.IntN(256))
			if rng.IntN(3) == 0 {
				b[j] = 0x80 | byte(rng.IntN(64))
			}
		}
		cases = append(cases, string(b))
	}
	for _, s := range cases {
		b := []byte(s)
		if got, want := validUTF8(b), utf8.Valid(b); got != want {
			t.Fatalf("%q: got %v want %v", s, got, want)
		}
		// byte at a time: must fail at the first byte where no valid
		// continuation exists.
		var v utf8Validator
		failAt := -1
		for k := range b {
			if !v.write(b[k : k+1]) {
				failAt = k
				break
			}
		}
		if failAt >= 0 {
			// the prefix before failAt must still be completable
			prefixOK := false
			for _, tail := range []string{"", "\x80", "\x80\x80", "\x80\x80\x80", "\x90\x80\x80", "\xa0\x80", "\xbf\xbf\xbf"} {
				if utf8.Valid(append(bytes.Clone(b[:failAt]), tail...)) {
					prefixOK = true
				}
			}
			if !prefixOK {
				t.Fatalf("%q: failed at %d, but failure was due earlier", s, failAt)
			}
			if utf8.Valid(append(bytes.Clone(b[:failAt+1]), "\x80\x80\x80"...)) || utf8.Valid(append(bytes.Clone(b[:failAt+1]), "\xbf\xbf"...)) {
				t.Fatalf("%q: failed at %d, but a completion exists", s, failAt)
			}
		}
	}
}

func TestCloseCodes(t *testing.T) {
	t.Parallel()
	valid := map[StatusCode]bool{1000: true, 1001: true, 1002: true, 1003: true, 1007: true, 1008: true, 1009: true, 1010: true, 1011: true, 3000: true, 3999: true, 4000: true, 4999: true}
	for _, c := range []StatusCode{0, 999, 1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 1015, 1016, 1100, 2000, 2999, 3000, 3999, 4000, 4999, 5000, 65535} {
		if ValidCloseCode(c) != valid[c] {
			t.Errorf("ValidCloseCode(%d) = %v", c, !valid[c])
		}
	}
	if _, _, ok := ParseClosePayload([]byte{3}); ok {
		t.Error("1-byte close payload accepted")
	}
	if _, _, ok := ParseClosePayload([]byte{3, 0xe8, 0xff}); ok {
		t.Error("invalid UTF-8 reason accepted")
	}
	p := AppendClosePayload(nil, 1000, string(bytes.Repeat([]byte("é"), 100)))
	if len(p) > MaxControlPayload {
		t.Fatalf("close payload %d bytes", len(p))
	}
	code, reason, ok := ParseClosePayload(p)
	if !ok || code != 1000 || !utf8.Valid(reason) {
		t.Fatalf("round trip: %d %q %v", code, reason, ok)
	}
	if len(AppendClosePayload(nil, 1005, "x")) != 0 {
		t.Fatal("1005 must never be sent")
	}
}

func TestSplit(t *testing.T) {
	t.Parallel()
	key := [4]byte{1, 2, 3, 4}
	b := AppendFrame(nil, Header{Fin: true, OpCode: OpText, Masked: true, Mask: key}, []byte("hello"))
	b = AppendFrame(b, Header{Fin: true, OpCode: OpPing}, nil)
	h, p, rest, ok, err := Split(b)
	if !ok || err != nil || h.OpCode != OpText {
		t.Fatalf("split: %+v %v %v", h, ok, err)
	}
	p = bytes.Clone(p)
	Mask(h.Mask, 0, p)
	if string(p) != "hello" {
		t.Fatalf("payload %q", p)
	}
	h, _, rest, ok, _ = Split(rest)
	if !ok || h.OpCode != OpPing || len(rest) != 0 {
		t.Fatalf("second frame %+v %v", h, ok)
	}
	if _, _, _, ok, _ := Split(b[:8]); ok {
		t.Fatal("partial frame reported whole")
	}
}

func TestParseHTTPHead(t *testing.T) {
	t.Parallel()
	req := "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: a\r\nSec-WebSocket-Protocol: b\r\n\r\n\x81\x05"
	h, n, err := ParseHTTPHead([]byte(req))
	if err != nil || !h.WebSocket || !h.Request || h.Target != "/ws" || h.Protocol != "a, b" || n != len(req)-2 {
		t.Fatalf("%+v n=%d err=%v", h, n, err)
	}
	for k := 1; k < n; k++ {
		if _, _, err := ParseHTTPHead([]byte(req[:k])); err != ErrShortHTTP {
			t.Fatalf("prefix %d: %v", k, err)
		}
	}
	resp := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
	h, _, err = ParseHTTPHead([]byte(resp))
	if err != nil || !h.WebSocket || h.Request || h.Status != 101 || h.Accept != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("%+v err=%v", h, err)
	}
	if _, _, err := ParseHTTPHead([]byte("\x16\x03\x01\x02\x00")); err != ErrNotHTTP {
		t.Fatalf("TLS bytes: %v", err)
	}
	if _, _, err := ParseHTTPHead([]byte("\x00\x00\x00\x05hello")); err != ErrNotHTTP {
		t.Fatalf("framed bytes: %v", err)
	}
}

func fill(rng *rand.Rand, b []byte) {
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
}

// TestAppendServerFrame checks the broadcast's frame encoding against
// AppendFrame at each length encoding's bounds.
func TestAppendServerFrame(t *testing.T) {
	for _, n := range []int{0, 1, 125, 126, 127, 0xFFFF, 0x10000, 0x10001} {
		p := bytes.Repeat([]byte{'x'}, n)
		for _, op := range []OpCode{OpText, OpBinary} {
			want := AppendFrame([]byte("pre"), Header{Fin: true, OpCode: op}, p)
			if got := appendServerFrame([]byte("pre"), op, p); !bytes.Equal(got, want) {
				t.Errorf("%s of %d bytes: header % x, want % x", op, n, got[3:min(len(got), 13)], want[3:min(len(want), 13)])
			}
		}
	}
}
