package decode

import "github.com/gopacket/gopacket/layers"

// IPv4 fragment reassembly (RFC 791): fragments are filed by (source,
// destination, protocol, identification); the fragment that completes the
// datagram gets its transport layer. Bounded: at most max datagrams pending,
// the oldest is dropped first; a datagram is at most 65535 bytes.

type fragKey struct {
	src, dst [4]byte
	id       uint16
	proto    uint8
}

type fragBuf struct {
	key   fragKey
	data  [65535 + 8]byte
	bits  [65536 / 8 / 64]uint64 // one bit per 8-byte unit
	units int                    // units covered
	total int                    // datagram payload length, -1 until the last fragment
	seq   int                    // arrival order, for eviction
}

type defrag struct {
	max     int
	pending map[fragKey]*fragBuf
	free    []*fragBuf
	seq     int
}

func newDefrag(max int) *defrag {
	return &defrag{max: max, pending: make(map[fragKey]*fragBuf)}
}

// add files one fragment. It returns the datagram's payload (valid until the
// next add) when this fragment completes it.
func (f *defrag) add(ip *layers.IPv4, _ int) ([]byte, bool) {
	var k fragKey
	copy(k.src[:], ip.SrcIP.To4())
	copy(k.dst[:], ip.DstIP.To4())
	k.id, k.proto = ip.Id, uint8(ip.Protocol)
	off := int(ip.FragOffset) * 8
	payload := ip.Payload
	end := off + len(payload)
	more := ip.Flags&layers.IPv4MoreFragments != 0
	if end > 65535 || (more && len(payload)%8 != 0) {
		return nil, false // malformed: ignore
	}
	b := f.pending[k]
	if b == nil {
		if len(f.pending) >= f.max {
			f.evict()
		}
		if n := len(f.free); n > 0 {
			b, f.free = f.free[n-1], f.free[:n-1]
			b.bits = [len(b.bits)]uint64{}
		} else {
			b = new(fragBuf)
		}
		b.key, b.units, b.total = k, 0, -1
		f.seq++
		b.seq = f.seq
		f.pending[k] = b
	}
	copy(b.data[off:end], payload)
	for u := off / 8; u < (end+7)/8; u++ {
		if b.bits[u/64]&(1<<(u%64)) == 0 {
			b.bits[u/64] |= 1 << (u % 64)
			b.units++
		}
	}
	if !more {
		b.total = end
	}
	if b.total < 0 || b.units < (b.total+7)/8 {
		return nil, false
	}
	delete(f.pending, k)
	f.free = append(f.free, b)
	return b.data[:b.total], true
}

func (f *defrag) evict() {
	var oldest *fragBuf
	for _, b := range f.pending {
		if oldest == nil || b.seq < oldest.seq {
			oldest = b
		}
	}
	if oldest != nil {
		delete(f.pending, oldest.key)
		f.free = append(f.free, oldest)
	}
}
