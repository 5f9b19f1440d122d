package source

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Writer saves packets to a pcap or pcapng file. Close flushes and closes
// the file; call it on every path (Ctrl-C included) or the tail is lost.
type Writer struct {
	name    string
	f       *os.File
	bw      *bufio.Writer
	pcap    *pcapgo.Writer
	ng      *pcapgo.NgWriter
	link    layers.LinkType // pcap: the file's one link type
	ifaces  map[int]int     // pcapng: source interface -> file interface id
	snaplen int
}

// Create makes a capture file: pcapng when name ends in ".pcapng", pcap
// otherwise. Packets keep nanosecond timestamps.
func Create(name string, snaplen int) (*Writer, error) {
	f, err := os.Create(name)
	if err != nil {
		return nil, fmt.Errorf("capture: %w", err)
	}
	if snaplen <= 0 {
		snaplen = MaxSnaplen
	}
	w := &Writer{name: name, f: f, bw: bufio.NewWriterSize(f, 1<<16), snaplen: snaplen}
	if strings.HasSuffix(strings.ToLower(name), ".pcapng") {
		w.ifaces = make(map[int]int)
	}
	return w, nil
}

// WritePacket appends one packet whose link type is lt.
func (w *Writer) WritePacket(data []byte, info Info, lt layers.LinkType) error {
	ci := gopacket.CaptureInfo{Timestamp: info.Timestamp, CaptureLength: len(data), Length: info.WireLen}
	if ci.Length < ci.CaptureLength {
		ci.Length = ci.CaptureLength
	}
	if w.ifaces == nil {
		if w.pcap == nil {
			w.pcap = pcapgo.NewWriterNanos(w.bw)
			if err := w.pcap.WriteFileHeader(uint32(w.snaplen), lt); err != nil {
				return fmt.Errorf("capture: writing %s: %w", w.name, err)
			}
			w.link = lt
		} else if lt != w.link {
			return fmt.Errorf("capture: %s: a pcap file holds one link type (%v), this packet is %v: write a .pcapng file instead", w.name, w.link, lt)
		}
		if err := w.pcap.WritePacket(ci, data); err != nil {
			return fmt.Errorf("capture: writing %s: %w", w.name, err)
		}
		return nil
	}
	id, ok := w.ifaces[info.IfIndex]
	if !ok {
		intf := pcapgo.NgInterface{LinkType: lt, SnapLength: uint32(w.snaplen), TimestampResolution: 9, OS: "linux"}
		var err error
		if w.ng == nil {
			w.ng, err = pcapgo.NewNgWriterInterface(w.bw, intf, pcapgo.NgWriterOptions{SectionInfo: pcapgo.NgSectionInfo{Application: "wiredojo"}})
			id = 0
		} else {
			id, err = w.ng.AddInterface(intf)
		}
		if err != nil {
			return fmt.Errorf("capture: writing %s: %w", w.name, err)
		}
		w.ifaces[info.IfIndex] = id
	}
	ci.InterfaceIndex = id
	if err := w.ng.WritePacket(ci, data); err != nil {
		return fmt.Errorf("capture: writing %s: %w", w.name, err)
	}
	return nil
}

// Close flushes buffered packets and closes the file. A file that received
// no packet still gets a valid header (Ethernet for pcap).
func (w *Writer) Close() error {
	if w.pcap == nil && w.ng == nil {
		if w.ifaces == nil {
			w.pcap = pcapgo.NewWriterNanos(w.bw)
			_ = w.pcap.WriteFileHeader(uint32(w.snaplen), layers.LinkTypeEthernet)
		} else {
			w.ng, _ = pcapgo.NewNgWriterInterface(w.bw, pcapgo.NgInterface{LinkType: layers.LinkTypeEthernet, SnapLength: uint32(w.snaplen), TimestampResolution: 9}, pcapgo.NgWriterOptions{})
		}
	}
	if w.ng != nil {
		if err := w.ng.Flush(); err != nil {
			w.f.Close()
			return fmt.Errorf("capture: writing %s: %w", w.name, err)
		}
	}
	if err := w.bw.Flush(); err != nil {
		w.f.Close()
		return fmt.Errorf("capture: writing %s: %w", w.name, err)
	}
	if err := w.f.Close(); err != nil {
		return fmt.Errorf("capture: closing %s: %w", w.name, err)
	}
	return nil
}
