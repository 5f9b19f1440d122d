package render

import (
	"strconv"

	"github.com/wiredojo/wiredojo/capture"
)

// AppendLine appends pkt as one line in the manner of tcpdump -nn (UTC time,
// relative TCP sequence numbers), coloured per layer, newline included.
func (p *Palette) AppendLine(b []byte, pkt *capture.Packet) []byte {
	b = append(b, p.time.on...)
	b = appendClock(b, pkt)
	b = append(b, p.time.off...)
	b = append(b, ' ')
	ls := pkt.Layers
	var ip *capture.Layer
	i := 0
	// Link layers are not shown (like tcpdump), except ARP and what has
	// nothing above it.
	for i < len(ls) && capture.Place(ls[i].Proto).TCPIP == capture.TCPIPLink && ls[i].Proto != capture.ProtoARP {
		i++
	}
	if i == len(ls) {
		if len(ls) > 0 {
			l := &ls[len(ls)-1]
			st := p.of(l.Proto)
			b = append(b, st.on...)
			b = append(b, l.Proto.String()...)
			b = append(b, st.off...)
		}
		b = append(b, ", length "...)
		b = strconv.AppendInt(b, int64(pkt.WireLen), 10)
		return p.tail(b, pkt)
	}
	for ; i < len(ls); i++ {
		l := &ls[i]
		st := p.of(l.Proto)
		b = append(b, st.on...)
		switch l.Proto {
		case capture.ProtoARP:
			b = appendARP(b, l)
		case capture.ProtoIPv4, capture.ProtoIPv6:
			ip = l
			if l.Proto == capture.ProtoIPv4 {
				b = append(b, "IP "...)
			} else {
				b = append(b, "IP6 "...)
			}
			if i+1 == len(ls) || !isTransport(ls[i+1].Proto) {
				b = l.SrcIP.AppendTo(b)
				b = append(b, " > "...)
				b = l.DstIP.AppendTo(b)
				b = append(b, ": "...)
				if l.MoreFrags || l.FragOffset != 0 {
					b = append(b, "ip-proto-"...)
					b = strconv.AppendUint(b, uint64(l.NextHeader), 10)
					b = append(b, " frag (id "...)
					b = strconv.AppendUint(b, uint64(l.ID), 10)
					b = append(b, ", offset "...)
					b = strconv.AppendUint(b, uint64(l.FragOffset), 10)
					if l.MoreFrags {
						b = append(b, ", more"...)
					}
					b = append(b, ')')
				} else {
					b = append(b, "proto "...)
					b = strconv.AppendUint(b, uint64(l.NextHeader), 10)
				}
			}
		case capture.ProtoTCP, capture.ProtoUDP:
			b = appendEndpoints(b, ip, l)
			b = appendTransport(b, l)
		case capture.ProtoICMPv4, capture.ProtoICMPv6:
			if ip != nil && !ip.MoreFrags {
				b = appendEndpoints(b, ip, nil)
			}
			b = appendICMP(b, l)
		default:
			b = append(b, " | "...)
			b = AppendSummary(b, l)
		}
		b = append(b, st.off...)
	}
	return p.tail(b, pkt)
}

func (p *Palette) tail(b []byte, pkt *capture.Packet) []byte {
	for _, n := range pkt.Notes {
		b = append(b, ' ')
		b = append(b, p.note.on...)
		b = append(b, '[')
		b = append(b, n.String()...)
		b = append(b, ']')
		b = append(b, p.note.off...)
	}
	if pkt.Err != "" {
		b = append(b, ' ')
		b = append(b, p.note.on...)
		b = append(b, "[malformed: "...)
		b = append(b, pkt.Err...)
		b = append(b, ']')
		b = append(b, p.note.off...)
	}
	return append(b, '\n')
}

func isTransport(p capture.Proto) bool {
	return p == capture.ProtoTCP || p == capture.ProtoUDP || p == capture.ProtoICMPv4 || p == capture.ProtoICMPv6
}

func appendClock(b []byte, pkt *capture.Packet) []byte {
	t := pkt.Timestamp.UTC()
	h, m, s := t.Clock()
	b = appendPad(b, h, 2)
	b = append(b, ':')
	b = appendPad(b, m, 2)
	b = append(b, ':')
	b = appendPad(b, s, 2)
	b = append(b, '.')
	return appendPad(b, t.Nanosecond()/1000, 6)
}

func appendEndpoints(b []byte, ip, l *capture.Layer) []byte {
	if ip == nil {
		return b
	}
	b = ip.SrcIP.AppendTo(b)
	if l != nil {
		b = append(b, '.')
		b = strconv.AppendUint(b, uint64(l.SrcPort), 10)
	}
	b = append(b, " > "...)
	b = ip.DstIP.AppendTo(b)
	if l != nil {
		b = append(b, '.')
		b = strconv.AppendUint(b, uint64(l.DstPort), 10)
	}
	return append(b, ": "...)
}

// tcpdump's flag letters, in its order.
func appendFlags(b []byte, f uint8) []byte {
	b = append(b, '[')
	if f&capture.FlagSYN != 0 {
		b = append(b, 'S')
	}
	if f&capture.FlagFIN != 0 {
		b = append(b, 'F')
	}
	if f&capture.FlagPSH != 0 {
		b = append(b, 'P')
	}
	if f&capture.FlagRST != 0 {
		b = append(b, 'R')
	}
	if f&capture.FlagURG != 0 {
		b = append(b, 'U')
	}
	if f&capture.FlagECE != 0 {
		b = append(b, 'E')
	}
	if f&capture.FlagCWR != 0 {
		b = append(b, 'W')
	}
	if f&capture.FlagACK != 0 {
		b = append(b, '.')
	}
	return append(b, ']')
}

func appendTransport(b []byte, l *capture.Layer) []byte {
	if l.Proto == capture.ProtoUDP {
		b = append(b, "UDP, length "...)
		return strconv.AppendInt(b, int64(l.PayloadLen), 10)
	}
	b = append(b, "Flags "...)
	b = appendFlags(b, l.Flags)
	seq, ack := l.Seq, l.Ack
	if l.HasRel {
		seq, ack = l.RelSeq, l.RelAck
	}
	if l.PayloadLen > 0 || l.Flags&(capture.FlagSYN|capture.FlagFIN|capture.FlagRST) != 0 {
		b = append(b, ", seq "...)
		b = strconv.AppendUint(b, uint64(seq), 10)
		if l.PayloadLen > 0 {
			b = append(b, ':')
			b = strconv.AppendUint(b, uint64(seq)+uint64(l.PayloadLen), 10)
		}
	}
	if l.Flags&capture.FlagACK != 0 {
		b = append(b, ", ack "...)
		b = strconv.AppendUint(b, uint64(ack), 10)
	}
	b = append(b, ", win "...)
	b = strconv.AppendUint(b, uint64(l.Window), 10)
	b = append(b, ", length "...)
	return strconv.AppendInt(b, int64(l.PayloadLen), 10)
}

func appendARP(b []byte, l *capture.Layer) []byte {
	switch l.Op {
	case 1:
		b = append(b, "ARP, Request who-has "...)
		b = l.DstIP.AppendTo(b)
		b = append(b, " tell "...)
		b = l.SrcIP.AppendTo(b)
	case 2:
		b = append(b, "ARP, Reply "...)
		b = l.SrcIP.AppendTo(b)
		b = append(b, " is-at "...)
		b = appendMAC(b, l.SrcHW[:l.HWLen])
	default:
		b = append(b, "ARP, op "...)
		b = strconv.AppendUint(b, uint64(l.Op), 10)
	}
	return b
}

func appendICMP(b []byte, l *capture.Layer) []byte {
	if l.Proto == capture.ProtoICMPv4 {
		b = append(b, "ICMP "...)
		switch l.Type {
		case 0:
			b = append(b, "echo reply"...)
		case 8:
			b = append(b, "echo request"...)
		case 3:
			b = append(b, "unreachable"...)
		case 11:
			b = append(b, "time exceeded"...)
		default:
			b = append(b, "type "...)
			b = strconv.AppendUint(b, uint64(l.Type), 10)
		}
		if l.Type == 0 || l.Type == 8 {
			b = append(b, ", id "...)
			b = strconv.AppendUint(b, uint64(l.ID), 10)
			b = append(b, ", seq "...)
			b = strconv.AppendUint(b, l.Number, 10)
		}
	} else {
		b = append(b, "ICMP6, type "...)
		b = strconv.AppendUint(b, uint64(l.Type), 10)
	}
	b = append(b, ", code "...)
	return strconv.AppendUint(b, uint64(l.Code), 10)
}

var tlsTypes = map[uint8]string{20: "change-cipher-spec", 21: "alert", 22: "handshake", 23: "application-data", 24: "heartbeat"}
var tlsHandshakes = map[int16]string{0: "hello-request", 1: "client-hello", 2: "server-hello", 4: "new-session-ticket",
	8: "encrypted-extensions", 11: "certificate", 12: "server-key-exchange", 13: "certificate-request",
	14: "server-hello-done", 15: "certificate-verify", 16: "client-key-exchange", 20: "finished"}

// AppendSummary appends a short description of an application layer.
func AppendSummary(b []byte, l *capture.Layer) []byte {
	b = append(b, l.Proto.String()...)
	switch l.Proto {
	case capture.ProtoHTTP:
		b = append(b, ' ')
		if l.Method != "" {
			b = append(b, l.Method...)
			b = append(b, ' ')
			b = append(b, l.URI...)
		} else {
			b = strconv.AppendInt(b, int64(l.Status), 10)
			b = append(b, ' ')
			b = append(b, l.Reason...)
		}
	case capture.ProtoWebSocket:
		b = append(b, ' ')
		b = append(b, opcodeName(l.Opcode)...)
		if l.Fin {
			b = append(b, " fin"...)
		}
		if l.Masked {
			b = append(b, " masked"...)
		}
		if l.Kind != "" {
			b = append(b, ' ')
			b = append(b, l.Kind...)
		}
		b = append(b, " len "...)
		b = strconv.AppendInt(b, int64(l.PayloadLen), 10)
		if (l.Opcode == 1 || l.Opcode == 8) && len(l.Payload) > 0 {
			b = append(b, ' ')
			b = appendQuoted(b, l.Payload, 60)
		}
	case capture.ProtoTLS:
		b = append(b, ' ')
		if n, ok := tlsTypes[l.ContentType]; ok {
			b = append(b, n...)
		} else {
			b = strconv.AppendUint(b, uint64(l.ContentType), 10)
		}
		if l.HandshakeType >= 0 {
			b = append(b, ' ')
			if n, ok := tlsHandshakes[l.HandshakeType]; ok {
				b = append(b, n...)
			} else {
				b = strconv.AppendInt(b, int64(l.HandshakeType), 10)
			}
		}
		b = append(b, " len "...)
		b = strconv.AppendInt(b, int64(l.PayloadLen), 10)
	case capture.ProtoDNS:
		if l.Response {
			b = append(b, " response "...)
		} else {
			b = append(b, " query "...)
		}
		b = strconv.AppendUint(b, uint64(l.ID), 10)
		if l.Name != "" {
			b = append(b, ' ')
			b = append(b, l.Kind...)
			b = append(b, "? "...)
			b = append(b, l.Name...)
		}
		if l.Response {
			b = append(b, ' ')
			b = strconv.AppendInt(b, int64(l.Answers), 10)
			b = append(b, " answers"...)
		}
	case capture.ProtoFrame:
		b = append(b, " len "...)
		b = strconv.AppendInt(b, int64(l.Len), 10)
	case capture.ProtoEvent:
		b = append(b, ' ')
		b = append(b, l.Kind...)
		if l.Namespace != "" {
			b = append(b, ' ')
			b = append(b, l.Namespace...)
		}
		if l.Name != "" {
			b = append(b, ' ')
			b = append(b, l.Name...)
		}
		if len(l.Payload) > 0 {
			b = append(b, ' ')
			b = appendQuoted(b, l.Payload, 80)
		}
		if l.Response {
			b = append(b, " ack "...)
			b = strconv.AppendUint(b, l.Number, 10)
		}
		if l.Reason != "" {
			b = append(b, ' ')
			b = appendQuoted(b, []byte(l.Reason), 60)
		}
	case capture.ProtoUDPCast:
		b = append(b, " seq "...)
		b = strconv.AppendUint(b, l.Number, 10)
		if l.Response {
			b = append(b, " end"...)
		}
		b = append(b, " payload "...)
		b = strconv.AppendInt(b, int64(l.PayloadLen), 10)
	}
	return b
}

// appendQuoted appends up to max bytes of p, printable ASCII kept and the
// rest as dots, between quotes.
func appendQuoted(b []byte, p []byte, max int) []byte {
	b = append(b, '"')
	for i, c := range p {
		if i == max {
			b = append(b, "..."...)
			break
		}
		if c < 0x20 || c > 0x7e {
			c = '.'
		}
		b = append(b, c)
	}
	return append(b, '"')
}
