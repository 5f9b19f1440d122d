package ws

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestMaskBlocksAMD64: both assembly kernels agree with the Go version
// (AVX2 only where the CPU has it; the test says which ran).
func TestMaskBlocksAMD64(t *testing.T) {
	t.Parallel()
	kernels := map[string]func([]byte, uint64) int{"SSE2": maskBlocksSSE2}
	if useAVX2 {
		kernels["AVX2"] = maskBlocksAVX2
	} else {
		t.Log("this CPU has no AVX2: only the SSE2 kernel is tested")
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for name, f := range kernels {
		for _, n := range []int{0, 1, 63, 64, 65, 127, 128, 129, 191, 192, 255, 256, 1000, 4096 + 9} {
			for off := range 3 {
				b := make([]byte, n+off)[off:]
				fill(rng, b)
				want := bytes.Clone(b)
				k := rng.Uint64()
				if got, done := f(b, k), maskBlocksGo(want, k); got != done || !bytes.Equal(b, want) {
					t.Fatalf("%s n=%d off=%d: did %d and %d bytes, equal %v", name, n, off, got, done, bytes.Equal(b, want))
				}
			}
		}
	}
}
