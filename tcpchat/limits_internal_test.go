package tcpchat

import (
	"net"
	"net/netip"
	"runtime"
	"testing"
	"time"
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

// Over the bound on addresses without sockets (16 here), the entries whose
// attempt buckets are full again are forgotten before the depleted ones:
// eight addresses that used their one attempt (one per 100 s, bursts of 1)
// stay known, and refused, while 64 new addresses whose buckets refill
// before the next come and go; the full entries are forgotten instead.
func TestForgetBlankAddrsFirst(t *testing.T) {
	l := NewServer(Options{ConnRatePerAddr: 0.01, ConnBurstPerAddr: 1}).lim
	l.maxIdle = 16
	addr := func(a, b byte) net.Addr { return &net.TCPAddr{IP: net.IPv4(10, 0, a, b), Port: 1} }
	// connect admits a connection from a and closes it; it returns the
	// address's state, nil when the connection was refused.
	connect := func(a net.Addr) *addrState {
		l.mu.Lock()
		adm, st, _ := l.admitLocked(a, true)
		l.mu.Unlock()
		if adm != admitted {
			return nil
		}
		l.closed(&trackedConn{l: l, st: st})
		return st
	}
	// refill makes st's attempt bucket full again, as after the 200 s
	// the test does not wait.
	refill := func(st *addrState) {
		l.mu.Lock()
		st.attempts.last -= int64(200 * time.Second)
		l.mu.Unlock()
	}
	const depleted = 8
	for i := range depleted {
		if connect(addr(0, byte(i))) == nil {
			t.Fatalf("the first connection from %v was refused", addr(0, byte(i)))
		}
	}
	for i := range l.maxIdle - depleted {
		refill(connect(addr(1, byte(i))))
	}
	for i := range 64 {
		st := connect(addr(2, byte(i)))
		if st == nil {
			t.Fatalf("the first connection from %v was refused", addr(2, byte(i)))
		}
		refill(st)
	}
	if n := l.addrsForgotten.Load(); n < 64 {
		t.Fatalf("%d addresses forgotten, want at least the 64 over the bound", n)
	}
	for i := range depleted {
		a := addr(0, byte(i))
		if st := connect(a); st != nil {
			t.Errorf("a second connection from %v within 100 s was admitted: its depleted attempt bucket was forgotten", a)
		}
	}
}
