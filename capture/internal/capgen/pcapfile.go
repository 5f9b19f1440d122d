package main

import (
	"bufio"
	"os"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// pcapFile is a capture file of Ethernet frames being written: synth,
// expert and corpus each write theirs through one.
type pcapFile struct {
	f   *os.File
	bw  *bufio.Writer
	w   *pcapgo.Writer
	buf gopacket.SerializeBuffer
}

// serializeOpts computes the lengths and checksums of every built packet.
var serializeOpts = gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}

// createPcap creates the file name and writes its header: snapshot length
// snaplen, timestamps in microseconds or, with nanos, nanoseconds.
func createPcap(name string, snaplen uint32, nanos bool) (*pcapFile, error) {
	f, err := os.Create(name)
	if err != nil {
		return nil, err
	}
	p := &pcapFile{f: f, bw: bufio.NewWriterSize(f, 1<<20), buf: gopacket.NewSerializeBuffer()}
	if nanos {
		p.w = pcapgo.NewWriterNanos(p.bw)
	} else {
		p.w = pcapgo.NewWriter(p.bw)
	}
	if err := p.w.WriteFileHeader(snaplen, layers.LinkTypeEthernet); err != nil {
		f.Close()
		return nil, err
	}
	return p, nil
}

// frame serializes ls (an Ethernet frame, whole) and writes it stamped ts.
func (p *pcapFile) frame(ts time.Time, ls ...gopacket.SerializableLayer) error {
	if err := gopacket.SerializeLayers(p.buf, serializeOpts, ls...); err != nil {
		return err
	}
	b := p.buf.Bytes()
	return p.w.WritePacket(gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(b), Length: len(b)}, b)
}

// write writes one packet as captured: ci says its lengths and time.
func (p *pcapFile) write(ci gopacket.CaptureInfo, data []byte) error {
	return p.w.WritePacket(ci, data)
}

// close flushes the file and closes it.
func (p *pcapFile) close() error {
	err := p.bw.Flush()
	if cerr := p.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// setFlags sets the TCP flags named by letters in flags: S(YN), A(CK),
// P(SH), R(ST), F(IN).
func setFlags(tcp *layers.TCP, flags string) {
	for _, x := range flags {
		switch x {
		case 'S':
			tcp.SYN = true
		case 'A':
			tcp.ACK = true
		case 'P':
			tcp.PSH = true
		case 'R':
			tcp.RST = true
		case 'F':
			tcp.FIN = true
		}
	}
}
