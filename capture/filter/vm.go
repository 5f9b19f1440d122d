package filter

import "golang.org/x/net/bpf"

// Classic BPF opcode fields (the encoding RawInstruction uses).
const (
	clsMask  = 0x07
	clsLD    = 0x00
	clsLDX   = 0x01
	clsST    = 0x02
	clsSTX   = 0x03
	clsALU   = 0x04
	clsJMP   = 0x05
	clsRET   = 0x06
	clsMISC  = 0x07
	sizeMask = 0x18
	sizeW    = 0x00
	sizeH    = 0x08
	sizeB    = 0x10
	modeMask = 0xe0
	modeIMM  = 0x00
	modeABS  = 0x20
	modeIND  = 0x40
	modeMEM  = 0x60
	modeLEN  = 0x80
	modeMSH  = 0xa0
	srcX     = 0x08
	retA     = 0x10
	retX     = 0x08
)

// runWire runs raw, a program checked by bpf.NewVM and assembled, on pkt
// the way libpcap's bpf_filter does: loads are bounded by the captured
// bytes, but the packet length (tcpdump's "len") is wireLen, the length on
// the wire. It returns the program's result (0: no match).
func runWire(raw []bpf.RawInstruction, pkt []byte, wireLen uint32) uint32 {
	var a, x uint32
	var mem [16]uint32
	load := func(off uint32, size int) (uint32, bool) {
		if uint64(off)+uint64(size) > uint64(len(pkt)) {
			return 0, false
		}
		switch size {
		case 4:
			return uint32(pkt[off])<<24 | uint32(pkt[off+1])<<16 | uint32(pkt[off+2])<<8 | uint32(pkt[off+3]), true
		case 2:
			return uint32(pkt[off])<<8 | uint32(pkt[off+1]), true
		}
		return uint32(pkt[off]), true
	}
	width := func(op uint16) int {
		switch op & sizeMask {
		case sizeH:
			return 2
		case sizeB:
			return 1
		}
		return 4
	}
	for pc := 0; pc < len(raw); pc++ {
		ins := raw[pc]
		op := ins.Op
		switch op & clsMask {
		case clsLD:
			switch op & modeMask {
			case modeIMM:
				a = ins.K
			case modeABS:
				v, ok := load(ins.K, width(op))
				if !ok {
					return 0
				}
				a = v
			case modeIND:
				v, ok := load(x+ins.K, width(op))
				if !ok {
					return 0
				}
				a = v
			case modeMEM:
				a = mem[ins.K&15]
			case modeLEN:
				a = wireLen
			default:
				return 0
			}
		case clsLDX:
			switch op & modeMask {
			case modeIMM:
				x = ins.K
			case modeMEM:
				x = mem[ins.K&15]
			case modeLEN:
				x = wireLen
			case modeMSH:
				v, ok := load(ins.K, 1)
				if !ok {
					return 0
				}
				x = (v & 0xf) << 2
			default:
				return 0
			}
		case clsST:
			mem[ins.K&15] = a
		case clsSTX:
			mem[ins.K&15] = x
		case clsALU:
			v := ins.K
			if op&srcX != 0 {
				v = x
			}
			switch op & 0xf0 {
			case 0x00:
				a += v
			case 0x10:
				a -= v
			case 0x20:
				a *= v
			case 0x30:
				if v == 0 {
					return 0
				}
				a /= v
			case 0x40:
				a |= v
			case 0x50:
				a &= v
			case 0x60:
				a <<= v
			case 0x70:
				a >>= v
			case 0x80:
				a = -a
			case 0x90:
				if v == 0 {
					return 0
				}
				a %= v
			case 0xa0:
				a ^= v
			default:
				return 0
			}
		case clsJMP:
			v := ins.K
			if op&srcX != 0 {
				v = x
			}
			var cond bool
			switch op & 0xf0 {
			case 0x00:
				pc += int(ins.K)
				continue
			case 0x10:
				cond = a == v
			case 0x20:
				cond = a > v
			case 0x30:
				cond = a >= v
			case 0x40:
				cond = a&v != 0
			default:
				return 0
			}
			if cond {
				pc += int(ins.Jt)
			} else {
				pc += int(ins.Jf)
			}
		case clsRET:
			switch op & sizeMask {
			case retA:
				return a
			case retX:
				return x
			}
			return ins.K
		case clsMISC:
			if op&0xf8 == 0 {
				x = a
			} else {
				a = x
			}
		}
	}
	return 0
}
