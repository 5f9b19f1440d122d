package source

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// pcapng block types.
const (
	ngSectionHeader    = 0x0A0D0D0A
	ngInterface        = 0x00000001
	ngPacketObsolete   = 0x00000002
	ngSimplePacket     = 0x00000003
	ngEnhancedPacket   = 0x00000006
	ngMaxBlock         = MaxRecord // larger blocks are called corrupt
	ngOptTSResol       = 9
	ngOptTSOffset      = 14
	ngOptEnd           = 0
	ngByteOrderMagicLE = 0x1A2B3C4D
)

type ngInterfaceInfo struct {
	link    layers.LinkType
	snaplen int
	// timestamp units: ts * mul / div nanoseconds (div > 0)
	mul, div uint64
	offset   int64 // seconds
}

// ngReader reads pcapng: sections, interface descriptions, enhanced,
// simple and obsolete packet blocks; other blocks are skipped.
type ngReader struct {
	r      *bufio.Reader
	name   string
	order  binary.ByteOrder
	off    int64
	ifaces []ngInterfaceInfo
	buf    []byte
	snap   int
}

func newNgReader(br *bufio.Reader, name string) (*ngReader, error) {
	n := &ngReader{r: br, name: name, buf: make([]byte, 0, 4096)}
	// Read up to the first packet's interface so LinkType(0) is known.
	for len(n.ifaces) == 0 {
		typ, body, at, err := n.block()
		if err == io.EOF {
			break // a file with no interface and no packet: empty, not an error
		}
		if err != nil {
			return nil, err
		}
		if err := n.meta(typ, body, at); err != nil {
			return nil, err
		}
	}
	return n, nil
}

func (n *ngReader) fail(at int64, format string, a ...any) error {
	return &FileError{File: n.name, Offset: at, Err: fmt.Errorf(format, a...)}
}

// block reads the next block, returning its type, its body (without type,
// length and trailing length) and its offset.
func (n *ngReader) block() (uint32, []byte, int64, error) {
	at := n.off
	head, err := n.r.Peek(12)
	if len(head) == 0 && err != nil {
		return 0, nil, at, io.EOF
	}
	if len(head) < 12 {
		return 0, nil, at, n.fail(at, "block header: %w", ErrTruncated)
	}
	typ := binary.LittleEndian.Uint32(head[0:4])
	if typ == ngSectionHeader {
		switch binary.LittleEndian.Uint32(head[8:12]) {
		case ngByteOrderMagicLE:
			n.order = binary.LittleEndian
		case 0x4D3C2B1A:
			n.order = binary.BigEndian
		default:
			return 0, nil, at, n.fail(at+8, "%w: section header byte-order magic %#x", ErrCorrupt, binary.LittleEndian.Uint32(head[8:12]))
		}
	}
	if n.order == nil {
		return 0, nil, at, n.fail(at, "%w: no section header block before block type %#x", ErrCorrupt, typ)
	}
	typ = n.order.Uint32(head[0:4])
	total := n.order.Uint32(head[4:8])
	if total < 12 || total%4 != 0 {
		return 0, nil, at, n.fail(at+4, "%w: block length %d is not a multiple of 4 of at least 12", ErrCorrupt, total)
	}
	if total > ngMaxBlock {
		return 0, nil, at, n.fail(at+4, "%w: block length %d, limit %d", ErrRecordTooLarge, total, ngMaxBlock)
	}
	b, got, err := readInto(n.r, n.buf, int(total))
	n.buf = b[:0]
	if err != nil {
		return 0, nil, at, n.fail(at, "block of %d bytes has only %d: %w", total, got, ErrTruncated)
	}
	if trail := n.order.Uint32(b[total-4:]); trail != total {
		return 0, nil, at, n.fail(at+int64(total)-4, "%w: trailing block length %d differs from leading %d", ErrCorrupt, trail, total)
	}
	n.off += int64(total)
	return typ, b[8 : total-4], at, nil
}

// meta handles a non-packet block.
func (n *ngReader) meta(typ uint32, body []byte, at int64) error {
	switch typ {
	case ngSectionHeader:
		if len(body) < 16 {
			return n.fail(at, "%w: section header of %d bytes", ErrCorrupt, len(body))
		}
		n.ifaces = n.ifaces[:0] // interface ids restart in each section
	case ngInterface:
		if len(body) < 8 {
			return n.fail(at, "%w: interface description of %d bytes", ErrCorrupt, len(body))
		}
		lt := uint32(n.order.Uint16(body[0:2]))
		if !Supported(layers.LinkType(lt)) {
			return n.fail(at+8, "interface %d: %w", len(n.ifaces), linkErr(lt))
		}
		ifc := ngInterfaceInfo{link: layers.LinkType(lt), snaplen: int(n.order.Uint32(body[4:8])), mul: 1000, div: 1}
		if err := n.options(body[8:], at+16, &ifc); err != nil {
			return err
		}
		if ifc.snaplen > n.snap {
			n.snap = ifc.snaplen
		}
		n.ifaces = append(n.ifaces, ifc)
	}
	return nil
}

func (n *ngReader) options(b []byte, at int64, ifc *ngInterfaceInfo) error {
	for len(b) >= 4 {
		code, l := n.order.Uint16(b[0:2]), int(n.order.Uint16(b[2:4]))
		if code == ngOptEnd {
			return nil
		}
		padded := (l + 3) &^ 3
		if 4+padded > len(b) {
			return n.fail(at, "%w: option %d of %d bytes overruns its block", ErrCorrupt, code, l)
		}
		v := b[4 : 4+l]
		switch {
		case code == ngOptTSResol && l == 1:
			r := v[0]
			if r&0x80 == 0 {
				if r > 18 {
					return n.fail(at, "%w: timestamp resolution 10^-%d", ErrCorrupt, r)
				}
				p := uint64(1)
				for i := 0; i < int(r); i++ {
					p *= 10
				}
				// ns = ts * 1e9 / 10^r
				if r <= 9 {
					ifc.mul, ifc.div = 1e9/p, 1
				} else {
					ifc.mul, ifc.div = 1, p/1e9
				}
			} else {
				e := r & 0x7f
				if e > 63 {
					return n.fail(at, "%w: timestamp resolution 2^-%d", ErrCorrupt, e)
				}
				ifc.mul, ifc.div = 1e9, 1<<e
			}
		case code == ngOptTSOffset && l == 8:
			ifc.offset = int64(n.order.Uint64(v))
		}
		b = b[4+padded:]
		at += int64(4 + padded)
	}
	return nil
}

func (n *ngReader) ts(ifc *ngInterfaceInfo, t uint64) time.Time {
	var ns uint64
	if ifc.div == 1 {
		if ifc.mul != 0 && t > math.MaxUint64/ifc.mul {
			ns = math.MaxInt64
		} else {
			ns = t * ifc.mul
		}
	} else {
		// split to avoid overflow: whole units and remainder
		ns = t/ifc.div*ifc.mul + t%ifc.div*ifc.mul/ifc.div
	}
	if ns > math.MaxInt64 {
		ns = math.MaxInt64
	}
	return time.Unix(ifc.offset, int64(ns)).UTC()
}

func (n *ngReader) LinkType(i int) layers.LinkType {
	if i >= 0 && i < len(n.ifaces) {
		return n.ifaces[i].link
	}
	return layers.LinkTypeEthernet
}

func (n *ngReader) Snaplen() int { return n.snap }
func (n *ngReader) Close() error { return nil }

func (n *ngReader) Next() ([]byte, Info, error) {
	for {
		typ, body, at, err := n.block()
		if err != nil {
			return nil, Info{}, err
		}
		var (
			ifid     int
			tsRaw    uint64
			caplen   uint32
			wire     uint32
			data     []byte
			hasTS    = true
			fixedLen int
		)
		switch typ {
		case ngEnhancedPacket, ngPacketObsolete:
			if len(body) < 20 {
				return nil, Info{}, n.fail(at, "%w: packet block of %d bytes", ErrCorrupt, len(body))
			}
			if typ == ngEnhancedPacket {
				ifid = int(n.order.Uint32(body[0:4]))
			} else {
				ifid = int(n.order.Uint16(body[0:2]))
			}
			tsRaw = uint64(n.order.Uint32(body[4:8]))<<32 | uint64(n.order.Uint32(body[8:12]))
			caplen = n.order.Uint32(body[12:16])
			wire = n.order.Uint32(body[16:20])
			fixedLen = 20
		case ngSimplePacket:
			if len(body) < 4 {
				return nil, Info{}, n.fail(at, "%w: simple packet block of %d bytes", ErrCorrupt, len(body))
			}
			wire = n.order.Uint32(body[0:4])
			caplen = uint32(len(body) - 4)
			if caplen > wire {
				caplen = wire
			}
			if len(n.ifaces) > 0 && n.ifaces[0].snaplen > 0 && caplen > uint32(n.ifaces[0].snaplen) {
				caplen = uint32(n.ifaces[0].snaplen)
			}
			hasTS = false
			fixedLen = 4
		default:
			if err := n.meta(typ, body, at); err != nil {
				return nil, Info{}, err
			}
			continue
		}
		if ifid >= len(n.ifaces) {
			return nil, Info{}, n.fail(at+8, "%w: interface %d of %d", ErrNoInterface, ifid, len(n.ifaces))
		}
		if uint64(caplen) > uint64(len(body)-fixedLen) {
			return nil, Info{}, n.fail(at+20, "%w: %d bytes captured in a block that holds %d", ErrRecordTooLarge, caplen, len(body)-fixedLen)
		}
		data = body[fixedLen : fixedLen+int(caplen)]
		if wire < caplen {
			wire = caplen
		}
		info := Info{CapLen: int(caplen), WireLen: int(wire), IfIndex: ifid, Offset: at}
		if hasTS {
			info.Timestamp = n.ts(&n.ifaces[ifid], tsRaw)
		}
		return data, info, nil
	}
}
