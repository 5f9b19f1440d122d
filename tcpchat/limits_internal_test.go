package tcpchat

import (
	"net/netip"
	"runtime"
	"testing"
)

// TestAddrStateBytes measures what one address's state costs the server
// while it has no socket (maxIdleAddrs's comment): maxIdleAddrs entries
// of addresses that connected once and closed, over the heap before them.
func TestAddrStateBytes(t *testing.T) {
	l := NewServer(Options{}).lim
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	before := ms.HeapAlloc
	l.mu.Lock()
	for i := range maxIdleAddrs {
		// IPv6 /64s, as an attacker with a /48 has them.
		b := [16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 0, byte(i >> 8), byte(i)}
		l.newStateLocked(netip.AddrFrom16(b))
	}
	l.mu.Unlock()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	per := float64(ms.HeapAlloc-before) / maxIdleAddrs
	runtime.KeepAlive(l)
	t.Logf("%d addresses without sockets: %.0f bytes each, %.1f MiB", maxIdleAddrs, per, per*maxIdleAddrs/(1<<20))
	if len(l.addrs) != maxIdleAddrs || l.addrsForgotten.Load() != 0 {
		t.Fatalf("%d entries kept, %d forgotten; want %d and 0", len(l.addrs), l.addrsForgotten.Load(), maxIdleAddrs)
	}
	if per > 256 {
		t.Fatalf("an address's state costs %.0f bytes, more than the 256 maxIdleAddrs's comment allows for", per)
	}
}
