package pipeline

import (
	"context"
	"errors"
	"io"

	"github.com/gopacket/gopacket/layers"

	"github.com/wiredojo/wiredojo/capture"
	"github.com/wiredojo/wiredojo/capture/decode"
	"github.com/wiredojo/wiredojo/capture/source"
)

// Filter decides whether a packet of link type lt, wireLen bytes long on
// the wire (pkt may be cut shorter), is kept (a compiled filter); an error
// stops the run.
type Filter func(pkt []byte, wireLen int, lt layers.LinkType) (bool, error)

// Options configure Run.
type Options struct {
	// Filter keeps only the packets it matches; nil keeps all. (Live
	// captures usually filter in the kernel instead.)
	Filter Filter
	// Count stops after this many kept packets; 0 means no limit.
	Count int
	// Write, when set, receives every kept packet before decoding.
	Write *source.Writer
	// Decode configures the decoder.
	Decode decode.Options
	// NoDecode skips decoding (count and write only).
	NoDecode bool
	// Handle is called with each decoded packet; the packet is reused
	// afterwards (Clone what you keep). An error stops the run.
	Handle func(*capture.Packet) error
}

// Run reads src until io.EOF, the count, an error or ctx's end, and returns
// the number of packets kept. Packets handled before an error stay handled:
// the error (a *source.FileError for damaged files) is returned after them.
func Run(ctx context.Context, src source.Source, opt Options) (int, error) {
	dec := decode.New(opt.Decode)
	var pkt capture.Packet
	kept, no := 0, 0
	for {
		if no&1023 == 0 && ctx.Err() != nil {
			return kept, nil
		}
		data, info, err := src.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return kept, nil
			}
			return kept, err
		}
		no++
		lt := src.LinkType(info.IfIndex)
		if opt.Filter != nil {
			ok, err := opt.Filter(data, info.WireLen, lt)
			if err != nil {
				return kept, err
			}
			if !ok {
				continue
			}
		}
		kept++
		if opt.Write != nil {
			if err := opt.Write.WritePacket(data, info, lt); err != nil {
				return kept, err
			}
		}
		if !opt.NoDecode {
			pkt.Timestamp = info.Timestamp // TCP analysis reads it
			dec.Decode(data, lt, &pkt)
			pkt.No = no
			pkt.WireLen = info.WireLen
			pkt.CapLen = info.CapLen
			pkt.IfIndex = info.IfIndex
			if opt.Handle != nil {
				if err := opt.Handle(&pkt); err != nil {
					return kept, err
				}
			}
		}
		if opt.Count > 0 && kept >= opt.Count {
			return kept, nil
		}
	}
}
