package ws

import (
	"encoding/binary"
	"math/bits"
)

// Mask applies the WebSocket masking key to b in place (masking and
// unmasking are the same XOR). pos is the offset in the payload of b[0]
// (only pos mod 4 matters); Mask returns the offset after b, so a payload
// can be unmasked in pieces as it arrives:
//
//	pos := 0
//	pos = ws.Mask(key, pos, chunk1)
//	pos = ws.Mask(key, pos, chunk2)
//
// From 256 bytes on it works 64 bytes at a time (AVX2 or SSE2 on amd64,
// eight 8-byte words elsewhere); what is left (under 256 bytes) in blocks
// of 128, 64 and 32 bytes of unrolled 8-byte words, then eight bytes at a
// time.
func Mask(key [4]byte, pos int, b []byte) int {
	pos &= 3
	end := (pos + len(b)) & 3
	// k32's low byte is the key byte that applies to b[0].
	k32 := bits.RotateLeft32(binary.LittleEndian.Uint32(key[:]), -8*pos)
	if len(b) < 8 {
		for i := range b {
			b[i] ^= byte(k32)
			k32 = bits.RotateLeft32(k32, -8)
		}
		return end
	}
	k := uint64(k32)<<32 | uint64(k32)
	if len(b) >= 256 {
		// Below 256 bytes the call costs more than the wide loop saves.
		b = b[maskBlocks(b, k):] // 64 is a multiple of 4: k still applies
	}
	if len(b) >= 128 {
		v := b[:128]
		binary.LittleEndian.PutUint64(v[0:], binary.LittleEndian.Uint64(v[0:])^k)
		binary.LittleEndian.PutUint64(v[8:], binary.LittleEndian.Uint64(v[8:])^k)
		binary.LittleEndian.PutUint64(v[16:], binary.LittleEndian.Uint64(v[16:])^k)
		binary.LittleEndian.PutUint64(v[24:], binary.LittleEndian.Uint64(v[24:])^k)
		binary.LittleEndian.PutUint64(v[32:], binary.LittleEndian.Uint64(v[32:])^k)
		binary.LittleEndian.PutUint64(v[40:], binary.LittleEndian.Uint64(v[40:])^k)
		binary.LittleEndian.PutUint64(v[48:], binary.LittleEndian.Uint64(v[48:])^k)
		binary.LittleEndian.PutUint64(v[56:], binary.LittleEndian.Uint64(v[56:])^k)
		binary.LittleEndian.PutUint64(v[64:], binary.LittleEndian.Uint64(v[64:])^k)
		binary.LittleEndian.PutUint64(v[72:], binary.LittleEndian.Uint64(v[72:])^k)
		binary.LittleEndian.PutUint64(v[80:], binary.LittleEndian.Uint64(v[80:])^k)
		binary.LittleEndian.PutUint64(v[88:], binary.LittleEndian.Uint64(v[88:])^k)
		binary.LittleEndian.PutUint64(v[96:], binary.LittleEndian.Uint64(v[96:])^k)
		binary.LittleEndian.PutUint64(v[104:], binary.LittleEndian.Uint64(v[104:])^k)
		binary.LittleEndian.PutUint64(v[112:], binary.LittleEndian.Uint64(v[112:])^k)
		binary.LittleEndian.PutUint64(v[120:], binary.LittleEndian.Uint64(v[120:])^k)
		b = b[128:]
	}
	if len(b) >= 64 {
		v := b[:64]
		binary.LittleEndian.PutUint64(v[0:], binary.LittleEndian.Uint64(v[0:])^k)
		binary.LittleEndian.PutUint64(v[8:], binary.LittleEndian.Uint64(v[8:])^k)
		binary.LittleEndian.PutUint64(v[16:], binary.LittleEndian.Uint64(v[16:])^k)
		binary.LittleEndian.PutUint64(v[24:], binary.LittleEndian.Uint64(v[24:])^k)
		binary.LittleEndian.PutUint64(v[32:], binary.LittleEndian.Uint64(v[32:])^k)
		binary.LittleEndian.PutUint64(v[40:], binary.LittleEndian.Uint64(v[40:])^k)
		binary.LittleEndian.PutUint64(v[48:], binary.LittleEndian.Uint64(v[48:])^k)
		binary.LittleEndian.PutUint64(v[56:], binary.LittleEndian.Uint64(v[56:])^k)
		b = b[64:]
	}
	if len(b) >= 32 {
		v := b[:32]
		binary.LittleEndian.PutUint64(v[0:], binary.LittleEndian.Uint64(v[0:])^k)
		binary.LittleEndian.PutUint64(v[8:], binary.LittleEndian.Uint64(v[8:])^k)
		binary.LittleEndian.PutUint64(v[16:], binary.LittleEndian.Uint64(v[16:])^k)
		binary.LittleEndian.PutUint64(v[24:], binary.LittleEndian.Uint64(v[24:])^k)
		b = b[32:]
	}
	for len(b) >= 8 {
		binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^k)
		b = b[8:]
	}
	for i := range b {
		b[i] ^= byte(k)
		k >>= 8
	}
	return end
}

// maskBlocksGo is maskBlocks in Go: eight 8-byte words per loop turn.
func maskBlocksGo(b []byte, k uint64) int {
	n := len(b) &^ 63
	for v := b[:n]; len(v) >= 64; v = v[64:] {
		w := v[:64]
		binary.LittleEndian.PutUint64(w[0:], binary.LittleEndian.Uint64(w[0:])^k)
		binary.LittleEndian.PutUint64(w[8:], binary.LittleEndian.Uint64(w[8:])^k)
		binary.LittleEndian.PutUint64(w[16:], binary.LittleEndian.Uint64(w[16:])^k)
		binary.LittleEndian.PutUint64(w[24:], binary.LittleEndian.Uint64(w[24:])^k)
		binary.LittleEndian.PutUint64(w[32:], binary.LittleEndian.Uint64(w[32:])^k)
		binary.LittleEndian.PutUint64(w[40:], binary.LittleEndian.Uint64(w[40:])^k)
		binary.LittleEndian.PutUint64(w[48:], binary.LittleEndian.Uint64(w[48:])^k)
		binary.LittleEndian.PutUint64(w[56:], binary.LittleEndian.Uint64(w[56:])^k)
	}
	return n
}
