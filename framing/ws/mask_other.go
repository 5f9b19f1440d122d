//go:build !amd64

package ws

// maskBlocks XORs key, repeated, into b 64 bytes at a time and returns the
// number of bytes done: len(b) rounded down to a multiple of 64.
func maskBlocks(b []byte, key uint64) int { return maskBlocksGo(b, key) }
