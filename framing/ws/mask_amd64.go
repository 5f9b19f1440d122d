package ws

// useAVX2 is true when the CPU and the OS support AVX2 (checked once with
// CPUID and XGETBV; the module does not depend on golang.org/x/sys/cpu for
// this one bit).
var useAVX2 = hasAVX2()

func hasAVX2() bool {
	maxLeaf, _, _, _ := cpuid(0, 0)
	if maxLeaf < 7 {
		return false
	}
	_, _, c, _ := cpuid(1, 0)
	const osxsave, avx = 1 << 27, 1 << 28
	if c&osxsave == 0 || c&avx == 0 || xgetbv0()&6 != 6 { // XMM and YMM state enabled
		return false
	}
	_, b, _, _ := cpuid(7, 0)
	return b&(1<<5) != 0
}

// maskBlocks XORs key, repeated, into b 64 bytes at a time (AVX2 or SSE2,
// in mask_amd64.s) and returns the number of bytes done: len(b) rounded
// down to a multiple of 64.
func maskBlocks(b []byte, key uint64) int {
	if useAVX2 {
		return maskBlocksAVX2(b, key)
	}
	return maskBlocksSSE2(b, key)
}

//go:noescape
func maskBlocksSSE2(b []byte, key uint64) int

//go:noescape
func maskBlocksAVX2(b []byte, key uint64) int

func cpuid(leaf, sub uint32) (a, b, c, d uint32)

func xgetbv0() uint32
