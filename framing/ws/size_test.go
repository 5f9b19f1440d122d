package ws

import (
	"testing"
	"unsafe"
)

// TestConnSize: every idle WebSocket connection of a server holds a Conn;
// it stays within the 128-byte size class.
func TestConnSize(t *testing.T) {
	if n := unsafe.Sizeof(Conn{}); n > 128 {
		t.Errorf("a Conn is %d bytes, more than the 128 of its size class", n)
	}
}
