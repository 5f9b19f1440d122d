package source

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// Info is the capture metadata of one packet.
type Info struct {
	Timestamp time.Time
	CapLen    int   // bytes captured (len of the data)
	WireLen   int   // bytes on the wire
	IfIndex   int   // interface: pcapng interface id, 0 for pcap, ifindex live
	Offset    int64 // byte offset of the record in the file (files only)
}

// Source yields packets. Next returns io.EOF after the last packet; the data
// it returns is valid until the next call. A Source is used by one goroutine.
type Source interface {
	Next() ([]byte, Info, error)
	// LinkType is the link type of packets from interface ifIndex.
	LinkType(ifIndex int) layers.LinkType
	// Snaplen is the largest capture length announced by the source.
	Snaplen() int
	Close() error
}

// MaxSnaplen is the largest record a reader accepts without calling the file
// corrupt: libpcap's maximum snapshot length, 256 KiB.
const MaxSnaplen = 262144

// Supported reports whether the decoder handles link type lt.
func Supported(lt layers.LinkType) bool {
	switch lt {
	case layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL, layers.LinkTypeLinuxSLL2,
		layers.LinkTypeNull, layers.LinkTypeLoop, layers.LinkTypeRaw,
		layers.LinkTypeIPv4, layers.LinkTypeIPv6, 12: // 12: raw IP on OpenBSD
		return true
	}
	return false
}

func linkErr(lt uint32) error {
	return fmt.Errorf("%w %d: wiredojo reads Ethernet (1), Linux SLL (113), SLL2 (276), loopback/null (0, 108) and raw IP (101, 228, 229)", ErrUnknownLinkType, lt)
}

// OpenFile opens a pcap or pcapng file, telling them apart by their magic
// number. Errors are *FileError.
func OpenFile(name string) (Source, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("capture: %w", err)
	}
	s, err := NewReader(f, name)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &fileSource{Source: s, f: f}, nil
}

type fileSource struct {
	Source
	f *os.File
}

func (s *fileSource) Close() error { return s.f.Close() }

// NewReader reads a pcap or pcapng stream from r; name is used in errors.
// Close on the result does nothing to r.
func NewReader(r io.Reader, name string) (Source, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	magic, err := br.Peek(4)
	if err != nil {
		if len(magic) == 0 {
			return nil, &FileError{File: name, Offset: 0, Err: fmt.Errorf("empty file: %w", ErrNotCapture)}
		}
		return nil, &FileError{File: name, Offset: 0, Err: ErrTruncated}
	}
	switch binary.LittleEndian.Uint32(magic) {
	case 0x0A0D0D0A:
		return newNgReader(br, name)
	case 0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1:
		return newPcapReader(br, name)
	}
	return nil, &FileError{File: name, Offset: 0, Err: ErrNotCapture}
}

// MaxRecord is the largest record any reader accepts, whatever the file's
// header claims: 16 MiB.
const MaxRecord = 16 << 20

// readInto reads exactly n bytes from r into buf (reusing its capacity) and
// returns them. It grows the buffer as bytes actually arrive, so a corrupt
// length on a short file cannot make it allocate more than the file holds
// (plus 1 MiB). got is how many bytes were read when err is not nil.
func readInto(r io.Reader, buf []byte, n int) (b []byte, got int, err error) {
	if n <= cap(buf) {
		b = buf[:n]
		got, err = io.ReadFull(r, b)
		return b, got, err
	}
	b = buf[:0]
	for len(b) < n {
		step := n - len(b)
		if step > 1<<20 {
			step = 1 << 20
		}
		b = append(b, make([]byte, step)...)
		m, err := io.ReadFull(r, b[len(b)-step:])
		if err != nil {
			return b, len(b) - step + m, err
		}
	}
	return b, n, nil
}
