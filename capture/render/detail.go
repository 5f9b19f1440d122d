package render

import (
	"strconv"

	"github.com/wiredojo/wiredojo/capture"
)

// Model chooses how the detail view groups layers.
type Model uint8

// The two models.
const (
	ModelOSI Model = iota
	ModelTCPIP
)

// AppendDetail appends the layered detail view of pkt: a header line, then
// one line per layer labelled with its OSI number and TCP/IP layer, grouped
// by the chosen model (with ModelTCPIP, layers of one TCP/IP layer share a
// heading). Disputed placements are explained under the layer.
func (p *Palette) AppendDetail(b []byte, pkt *capture.Packet, m Model) []byte {
	b = append(b, p.time.on...)
	b = append(b, '#')
	b = appendInt(b, int64(pkt.No))
	b = append(b, ' ')
	b = appendRFC3339(b, pkt.Timestamp)
	b = append(b, p.time.off...)
	b = append(b, ' ')
	b = appendInt(b, int64(pkt.WireLen))
	b = append(b, " bytes on wire, "...)
	b = appendInt(b, int64(pkt.CapLen))
	b = append(b, " captured"...)
	b = p.tail(b, pkt)
	var ip *capture.Layer
	lastGroup := -1
	for i := range pkt.Layers {
		l := &pkt.Layers[i]
		pl := capture.Place(l.Proto)
		st := p.layer[pl.TCPIP]
		b = append(b, "  "...)
		b = append(b, st.on...)
		var label []byte
		if m == ModelTCPIP {
			if int(pl.TCPIP) != lastGroup {
				label = append(label, pl.TCPIP.String()...)
				lastGroup = int(pl.TCPIP)
			}
			label = pad(label, 13)
			label = append(label, "(OSI "...)
			label = appendInt(label, int64(pl.OSI))
			label = append(label, ')')
		} else {
			label = append(label, 'L')
			label = appendInt(label, int64(pl.OSI))
			label = append(label, ' ')
			label = append(label, capture.OSIName(pl.OSI)...)
			label = pad(label, 16)
			label = append(label, "(TCP/IP "...)
			label = append(label, pl.TCPIP.String()...)
			label = append(label, ')')
		}
		b = append(b, pad(label, 37)...)
		b = append(b, st.off...)
		b = append(b, ' ')
		b = appendDetailLayer(b, l, ip)
		if l.Proto == capture.ProtoIPv4 || l.Proto == capture.ProtoIPv6 {
			ip = l
		}
		b = append(b, '\n')
		if pl.Disputed != "" {
			b = append(b, "      "...)
			b = append(b, p.dim.on...)
			b = append(b, "placement: "...)
			b = append(b, pl.Disputed...)
			b = append(b, p.dim.off...)
			b = append(b, '\n')
		}
	}
	return b
}

func pad(b []byte, n int) []byte {
	for len(b) < n {
		b = append(b, ' ')
	}
	return b
}

func appendDetailLayer(b []byte, l *capture.Layer, ip *capture.Layer) []byte {
	b = append(b, l.Proto.String()...)
	b = append(b, "  "...)
	switch l.Proto {
	case capture.ProtoEthernet:
		b = appendMAC(b, l.SrcHW[:6])
		b = append(b, " -> "...)
		b = appendMAC(b, l.DstHW[:6])
		b = append(b, " type 0x"...)
		b = strconv.AppendUint(b, uint64(l.Protocol), 16)
	case capture.ProtoSLL:
		if l.SLLv2 {
			b = append(b, "v2 ifindex "...)
			b = appendInt(b, int64(l.IfIndex))
			b = append(b, ' ')
		}
		b = append(b, "pkttype "...)
		b = appendUint(b, uint64(l.PktType))
		b = append(b, " protocol 0x"...)
		b = strconv.AppendUint(b, uint64(l.Protocol), 16)
		if l.HWLen > 0 {
			b = append(b, " src "...)
			b = appendMAC(b, l.SrcHW[:l.HWLen])
		}
	case capture.ProtoLoopback:
		b = append(b, "family "...)
		b = appendUint(b, uint64(l.Family))
	case capture.ProtoARP:
		b = appendARP(b, l)
	case capture.ProtoIPv4:
		b = appendAddr(b, l.SrcIP)
		b = append(b, " -> "...)
		b = appendAddr(b, l.DstIP)
		b = append(b, "  ttl "...)
		b = appendUint(b, uint64(l.TTL))
		b = append(b, "  id "...)
		b = appendUint(b, uint64(l.ID))
		b = append(b, "  proto "...)
		b = appendUint(b, uint64(l.NextHeader))
		b = append(b, "  len "...)
		b = appendInt(b, int64(l.Len))
		if l.DontFrag {
			b = append(b, "  DF"...)
		}
		if l.MoreFrags || l.FragOffset != 0 {
			b = append(b, "  fragment offset "...)
			b = appendUint(b, uint64(l.FragOffset))
			if l.MoreFrags {
				b = append(b, " MF"...)
			}
		}
	case capture.ProtoIPv6:
		b = appendAddr(b, l.SrcIP)
		b = append(b, " -> "...)
		b = appendAddr(b, l.DstIP)
		b = append(b, "  hop limit "...)
		b = appendUint(b, uint64(l.TTL))
		b = append(b, "  next header "...)
		b = appendUint(b, uint64(l.NextHeader))
		b = append(b, "  payload "...)
		b = appendInt(b, int64(l.Len))
		if l.NextHeader == 44 {
			b = append(b, "  "...)
			b = appendFrag6(b, l)
			if l.MoreFrags {
				b = append(b, " MF"...)
			}
		}
	case capture.ProtoWebSocket:
		b = AppendSummary(b[:len(b)-2-len(l.Proto.String())], l)
		if l.Masked {
			b = append(b, "  mask "...)
			b = appendHex(b, l.MaskKey[:])
		}
	case capture.ProtoICMPv4, capture.ProtoICMPv6:
		b = appendICMP(b[:len(b)-2-len(l.Proto.String())], l)
	case capture.ProtoTCP:
		b = appendUint(b, uint64(l.SrcPort))
		b = append(b, " -> "...)
		b = appendUint(b, uint64(l.DstPort))
		b = append(b, "  stream "...)
		b = appendInt(b, int64(l.Stream))
		b = append(b, "  seq "...)
		if l.HasRel {
			b = appendUint(b, uint64(l.RelSeq))
			b = append(b, " (raw "...)
		}
		b = appendUint(b, uint64(l.Seq))
		if l.HasRel {
			b = append(b, ')')
		}
		b = append(b, "  ack "...)
		if l.HasRel {
			b = appendUint(b, uint64(l.RelAck))
			b = append(b, " (raw "...)
		}
		b = appendUint(b, uint64(l.Ack))
		if l.HasRel {
			b = append(b, ')')
		}
		b = append(b, "  "...)
		b = appendFlags(b, l.Flags)
		b = append(b, "  win "...)
		b = appendUint(b, uint64(l.Window))
		if l.WinScale >= 0 {
			b = append(b, " (x"...)
			b = appendUint(b, 1<<uint(l.WinScale))
			b = append(b, " = "...)
			b = appendUint(b, uint64(l.WindowSize))
			b = append(b, " bytes)"...)
		}
		b = append(b, "  len "...)
		b = appendInt(b, int64(l.PayloadLen))
		if len(l.Opts) > 0 {
			b = append(b, "  options ["...)
			var base uint32
			if l.HasRel {
				base = l.Ack - l.RelAck
			}
			b = appendTCPOptions(b, l.Opts, base)
			b = append(b, ']')
		}
	case capture.ProtoUDP:
		b = appendUint(b, uint64(l.SrcPort))
		b = append(b, " -> "...)
		b = appendUint(b, uint64(l.DstPort))
		b = append(b, "  len "...)
		b = appendInt(b, int64(l.Len))
		b = append(b, "  payload "...)
		b = appendInt(b, int64(l.PayloadLen))
	default:
		b = AppendSummary(b[:len(b)-2-len(l.Proto.String())], l)
	}
	return b
}
