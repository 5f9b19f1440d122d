package netpoll

import (
	"testing"
	"unsafe"
)

// TestDescSize: every parked connection holds a Desc; it stays within the
// 48-byte size class.
func TestDescSize(t *testing.T) {
	if n := unsafe.Sizeof(Desc{}); n > 48 {
		t.Errorf("a Desc is %d bytes, more than the 48 of its size class", n)
	}
}
