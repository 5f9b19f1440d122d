package render

import (
	"github.com/wiredojo/wiredojo/capture"
)

// AppendHex appends a hex and ASCII dump of pkt.Data, 16 bytes a line (as
// tcpdump -X), each byte coloured by the innermost layer whose span covers
// it. It prints no legend of the colours: see AppendHexLegend.
func (p *Palette) AppendHex(b []byte, pkt *capture.Packet) []byte {
	data := pkt.Data
	owner := make([]capture.TCPIPLayer, len(data))
	for i := range pkt.Layers {
		l := &pkt.Layers[i]
		t := capture.Place(l.Proto).TCPIP
		s, e := l.Start, l.End
		if s < 0 {
			s = 0
		}
		if e > len(data) {
			e = len(data)
		}
		for j := s; j < e; j++ {
			owner[j] = t
		}
	}
	for off := 0; off < len(data); off += 16 {
		end := off + 16
		if end > len(data) {
			end = len(data)
		}
		b = append(b, "  "...)
		b = append(b, p.dim.on...)
		b = append(b, hexDigits[off>>12&15], hexDigits[off>>8&15], hexDigits[off>>4&15], hexDigits[off&15])
		b = append(b, p.dim.off...)
		b = append(b, "  "...)
		for i := off; i < off+16; i++ {
			if i == off+8 {
				b = append(b, ' ')
			}
			if i >= end {
				b = append(b, "   "...)
				continue
			}
			st := p.layer[owner[i]]
			b = append(b, st.on...)
			b = append(b, hexDigits[data[i]>>4], hexDigits[data[i]&15])
			b = append(b, st.off...)
			b = append(b, ' ')
		}
		b = append(b, ' ')
		for i := off; i < end; i++ {
			c := data[i]
			if c < 0x20 || c > 0x7e {
				c = '.'
			}
			st := p.layer[owner[i]]
			b = append(b, st.on...)
			b = append(b, c)
			b = append(b, st.off...)
		}
		b = append(b, '\n')
	}
	return b
}

// AppendHexLegend appends the line naming each layer's colour in AppendHex's
// dumps, and an empty line, on its first call; later calls, and all calls
// when colour is off (the squares would name no colour), append nothing.
// Call it before each packet of a hex view: the legend heads the output
// once, before the first packet, whether it is a file or a live capture.
func (p *Palette) AppendHexLegend(b []byte) []byte {
	if p.hexLegendDone || !p.colored {
		return b
	}
	p.hexLegendDone = true
	b = append(b, "  "...)
	for t := capture.TCPIPLink; t <= capture.TCPIPApplication; t++ {
		if t > capture.TCPIPLink {
			b = append(b, "  "...)
		}
		st := p.layer[t]
		b = append(b, st.on...)
		b = append(b, "■ "...)
		b = append(b, t.String()...)
		b = append(b, st.off...)
	}
	return append(b, '\n', '\n')
}
