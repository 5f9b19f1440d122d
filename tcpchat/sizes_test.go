package tcpchat

import (
	"testing"
	"unsafe"
)

// TestIdleObjectSizes: the objects every idle connection holds stay within
// their size classes (docs/SCALING.md, "Connections per node"): a field
// added past a class boundary costs every connection the next class.
func TestIdleObjectSizes(t *testing.T) {
	for _, c := range []struct {
		name     string
		size, at uintptr
	}{
		{"conn", unsafe.Sizeof(conn{}), 288},
		{"Socket", unsafe.Sizeof(Socket{}), 96},
		{"framedTransport", unsafe.Sizeof(framedTransport{}), 48},
		{"prefixConn", unsafe.Sizeof(prefixConn{}), 32},
	} {
		if c.size > c.at {
			t.Errorf("a %s is %d bytes, more than the %d of its size class", c.name, c.size, c.at)
		}
	}
}
