package capture

import "net/netip"

// Addr is an IP address; the zero value means none. It is netip.Addr, which
// is a value (no allocation) for IPv4 and IPv6.
type Addr = netip.Addr

// AddrFrom returns the address in b (4 or 16 bytes), or the zero Addr.
func AddrFrom(b []byte) Addr {
	switch len(b) {
	case 4:
		return netip.AddrFrom4([4]byte(b))
	case 16:
		return netip.AddrFrom16([16]byte(b))
	}
	return Addr{}
}
