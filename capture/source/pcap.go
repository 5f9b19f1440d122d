package source

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// pcapReader reads the classic libpcap format.
type pcapReader struct {
	r       *bufio.Reader
	name    string
	big     bool // the file's numbers are big-endian
	nanos   bool
	link    layers.LinkType
	snaplen int
	off     int64
	buf     []byte
}

func newPcapReader(br *bufio.Reader, name string) (*pcapReader, error) {
	var h [24]byte
	if n, err := io.ReadFull(br, h[:]); err != nil {
		return nil, &FileError{File: name, Offset: int64(n), Err: fmt.Errorf("pcap file header: %w", ErrTruncated)}
	}
	p := &pcapReader{r: br, name: name, off: 24}
	switch binary.LittleEndian.Uint32(h[:4]) {
	case 0xd4c3b2a1:
		p.big = true
	case 0xa1b23c4d:
		p.nanos = true
	case 0x4d3cb2a1:
		p.big, p.nanos = true, true
	}
	p.snaplen = int(p.u32(h[16:20]))
	lt := p.u32(h[20:24]) & 0x0FFFFFFF // upper bits: FCS length
	if !Supported(layers.LinkType(lt)) {
		return nil, &FileError{File: name, Offset: 20, Err: linkErr(lt)}
	}
	p.link = layers.LinkType(lt)
	p.buf = make([]byte, 0, 2048)
	return p, nil
}

func (p *pcapReader) LinkType(int) layers.LinkType { return p.link }
func (p *pcapReader) Snaplen() int                 { return p.snaplen }
func (p *pcapReader) Close() error                 { return nil }

// limit is the largest record length the file may hold: its snaplen (at
// least libpcap's 256 KiB), never more than MaxRecord.
func (p *pcapReader) limit() int {
	switch {
	case p.snaplen > MaxRecord:
		return MaxRecord
	case p.snaplen > MaxSnaplen:
		return p.snaplen
	}
	return MaxSnaplen
}

// u32 reads a number in the file's byte order (a direct call, where a
// binary.ByteOrder would be an interface call per field).
func (p *pcapReader) u32(b []byte) uint32 {
	if p.big {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

func (p *pcapReader) Next() ([]byte, Info, error) {
	at := p.off
	// The header and (when it fits) the packet are read in place in the
	// bufio.Reader's buffer, not copied out: they stay valid until the
	// next call, as the contract of Next says.
	hdr, err := p.r.Peek(16)
	if err != nil {
		if len(hdr) == 0 && err == io.EOF {
			return nil, Info{}, io.EOF
		}
		return nil, Info{}, &FileError{File: p.name, Offset: at, Err: fmt.Errorf("record header: %w", ErrTruncated)}
	}
	sec := p.u32(hdr[0:4])
	frac := p.u32(hdr[4:8])
	caplen := p.u32(hdr[8:12])
	wire := p.u32(hdr[12:16])
	if uint64(caplen) > uint64(p.limit()) {
		return nil, Info{}, &FileError{File: p.name, Offset: at, Err: fmt.Errorf("%w: %d bytes captured, more than the largest snapshot length %d", ErrRecordTooLarge, caplen, p.limit())}
	}
	if !p.nanos {
		if frac >= 1e6 {
			return nil, Info{}, &FileError{File: p.name, Offset: at, Err: fmt.Errorf("%w: microseconds %d out of range", ErrCorrupt, frac)}
		}
		frac *= 1000
	} else if frac >= 1e9 {
		return nil, Info{}, &FileError{File: p.name, Offset: at, Err: fmt.Errorf("%w: nanoseconds %d out of range", ErrCorrupt, frac)}
	}
	p.r.Discard(16)
	var data []byte
	var n int
	if int(caplen) <= p.r.Size() {
		data, err = p.r.Peek(int(caplen))
		n, _ = p.r.Discard(len(data))
	} else {
		data, n, err = readInto(p.r, p.buf, int(caplen))
		p.buf = data[:0]
	}
	if err != nil {
		return nil, Info{}, &FileError{File: p.name, Offset: at, Err: fmt.Errorf("record of %d bytes has only %d: %w", caplen, n, ErrTruncated)}
	}
	p.off += 16 + int64(caplen)
	if wire < caplen {
		wire = caplen
	}
	return data, Info{Timestamp: time.Unix(int64(sec), int64(frac)).UTC(), CapLen: int(caplen), WireLen: int(wire), Offset: at}, nil
}
