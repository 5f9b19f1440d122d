package decode

// IP fragment reassembly (IPv4, RFC 791; IPv6 fragment headers, RFC
// 8200): fragments are filed by (source, destination, protocol,
// identification); the fragment that completes the datagram gets its
// transport layer. Bounded: at most max datagrams pending, the oldest is
// dropped first; a datagram is at most 65535 bytes.

type fragKey struct {
	src, dst [16]byte
	id       uint32
	proto    uint8
	v6       bool
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

// add files one fragment: payload at byte offset off of the datagram k,
// more when fragments follow. It returns the datagram's payload (valid
// until the next add) when this fragment completes it.
func (f *defrag) add(k fragKey, off int, more bool, payload []byte) ([]byte, bool) {
	end := off + len(payload)
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
