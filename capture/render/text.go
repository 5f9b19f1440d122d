package render

import (
	"github.com/wiredojo/wiredojo/capture"
	"github.com/wiredojo/wiredojo/capture/app"
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
		b = appendInt(b, int64(pkt.WireLen))
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
				b = appendAddr(b, l.SrcIP)
				b = append(b, " > "...)
				b = appendAddr(b, l.DstIP)
				b = append(b, ": "...)
				if l.Proto == capture.ProtoIPv6 && l.NextHeader == 44 {
					b = appendFrag6(b, l)
				} else if l.MoreFrags || l.FragOffset != 0 {
					b = append(b, "ip-proto-"...)
					b = appendUint(b, uint64(l.NextHeader))
					b = append(b, " frag (id "...)
					b = appendUint(b, uint64(l.ID))
					b = append(b, ", offset "...)
					b = appendUint(b, uint64(l.FragOffset))
					if l.MoreFrags {
						b = append(b, ", more"...)
					}
					b = append(b, ')')
				} else {
					b = append(b, "proto "...)
					b = appendUint(b, uint64(l.NextHeader))
				}
			}
		case capture.ProtoTCP, capture.ProtoUDP:
			b = appendEndpoints(b, ip, l)
			b = p.appendTransport(b, l)
		case capture.ProtoICMPv4, capture.ProtoICMPv6:
			b = appendEndpoints(b, ip, nil)
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
	if pkt.Truncated {
		b = append(b, ' ')
		b = append(b, p.note.on...)
		b = append(b, "[packet size limited during capture]"...)
		b = append(b, p.note.off...)
	}
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
	// The time of day in UTC from the Unix time: no calendar needed.
	sec := pkt.Timestamp.Unix() % 86400
	if sec < 0 {
		sec += 86400
	}
	h, m, s := uint(sec/3600), uint(sec/60%60), uint(sec%60)
	b = append(b, pairs[2*h], pairs[2*h+1], ':', pairs[2*m], pairs[2*m+1], ':', pairs[2*s], pairs[2*s+1], '.')
	return appendDigits(b, uint64(pkt.Timestamp.Nanosecond()/1000), 6)
}

func appendEndpoints(b []byte, ip, l *capture.Layer) []byte {
	if ip == nil {
		return b
	}
	b = appendAddr(b, ip.SrcIP)
	if l != nil {
		b = append(b, '.')
		b = appendUint(b, uint64(l.SrcPort))
	}
	b = append(b, " > "...)
	b = appendAddr(b, ip.DstIP)
	if l != nil {
		b = append(b, '.')
		b = appendUint(b, uint64(l.DstPort))
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

func (p *Palette) appendTransport(b []byte, l *capture.Layer) []byte {
	if l.Proto == capture.ProtoUDP {
		b = append(b, "UDP, length "...)
		return appendInt(b, int64(l.PayloadLen))
	}
	b = append(b, "Flags "...)
	b = appendFlags(b, l.Flags)
	seq, ack := l.Seq, l.Ack
	if l.HasRel && !p.AbsoluteSeq {
		seq, ack = l.RelSeq, l.RelAck
	}
	if l.PayloadLen > 0 || l.Flags&(capture.FlagSYN|capture.FlagFIN|capture.FlagRST) != 0 {
		b = append(b, ", seq "...)
		b = appendUint(b, uint64(seq))
		if l.PayloadLen > 0 {
			b = append(b, ':')
			b = appendUint(b, uint64(seq+uint32(l.PayloadLen)))
		}
	}
	if l.Flags&capture.FlagACK != 0 {
		b = append(b, ", ack "...)
		b = appendUint(b, uint64(ack))
	}
	b = append(b, ", win "...)
	b = appendUint(b, uint64(l.Window))
	if len(l.Opts) > 0 {
		b = append(b, ", options ["...)
		b = appendTCPOptions(b, l.Opts, l.Ack-ack)
		b = append(b, ']')
	}
	b = append(b, ", length "...)
	return appendInt(b, int64(l.PayloadLen))
}

// appendTCPOptions writes TCP options in tcpdump's notation
// ("mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7"); SACK edges have
// sackBase subtracted (the base of the acknowledgement numbers).
func appendTCPOptions(b []byte, opts []byte, sackBase uint32) []byte {
	for i := 0; len(opts) > 0; i++ {
		kind, data, rest, ok := capture.NextTCPOption(opts)
		if i > 0 {
			b = append(b, ',')
		}
		if !ok {
			return append(b, "bad opt"...)
		}
		opts = rest
		switch {
		case kind == capture.TCPOptEOL:
			return append(b, "eol"...)
		case kind == capture.TCPOptNOP:
			b = append(b, "nop"...)
		case kind == capture.TCPOptMSS && len(data) == 2:
			b = append(b, "mss "...)
			b = appendUint(b, uint64(data[0])<<8|uint64(data[1]))
		case kind == capture.TCPOptWScale && len(data) == 1:
			b = append(b, "wscale "...)
			b = appendUint(b, uint64(data[0]))
		case kind == capture.TCPOptSACKPerm:
			b = append(b, "sackOK"...)
		case kind == capture.TCPOptSACK && len(data)%8 == 0:
			b = append(b, "sack "...)
			b = appendInt(b, int64(len(data)/8))
			b = append(b, ' ')
			for j := 0; j < len(data); j += 8 {
				b = append(b, '{')
				b = appendUint(b, uint64(be32(data[j:])-sackBase))
				b = append(b, ':')
				b = appendUint(b, uint64(be32(data[j+4:])-sackBase))
				b = append(b, '}')
			}
		case kind == capture.TCPOptTimestamp && len(data) == 8:
			b = append(b, "TS val "...)
			b = appendUint(b, uint64(be32(data)))
			b = append(b, " ecr "...)
			b = appendUint(b, uint64(be32(data[4:])))
		case kind == capture.TCPOptFastOpen:
			if len(data) == 0 {
				b = append(b, "tfo  cookiereq"...)
			} else {
				b = append(b, "tfo  cookie "...)
				b = appendHex(b, data)
			}
		default:
			if n, ok := tcpOptNames[kind]; ok {
				b = append(b, n...)
			} else {
				b = append(b, "unknown-"...)
				b = appendUint(b, uint64(kind))
			}
			if len(data) > 0 {
				b = append(b, " 0x"...)
				b = appendHex(b, data)
			}
		}
	}
	return b
}

var tcpOptNames = map[uint8]string{capture.TCPOptMSS: "mss", capture.TCPOptWScale: "wscale", capture.TCPOptSACK: "sack",
	capture.TCPOptTimestamp: "TS", capture.TCPOptMD5: "md5", capture.TCPOptUserTO: "uto", capture.TCPOptAO: "tcp-ao",
	capture.TCPOptMPTCP: "mptcp", capture.TCPOptFastOpen: "tfo"}

func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func appendHex(b []byte, p []byte) []byte {
	for _, c := range p {
		b = append(b, hexDigits[c>>4], hexDigits[c&15])
	}
	return b
}

// appendFrag6 writes an IPv6 fragment as tcpdump does:
// "frag (0xIDENT:OFFSET|LENGTH)".
func appendFrag6(b []byte, l *capture.Layer) []byte {
	b = append(b, "frag (0x"...)
	id := uint32(l.Number)
	for sh := 28; sh >= 0; sh -= 4 {
		b = append(b, hexDigits[id>>uint(sh)&15])
	}
	b = append(b, ':')
	b = appendUint(b, uint64(l.FragOffset))
	b = append(b, '|')
	b = appendInt(b, int64(l.Len-8))
	return append(b, ')')
}

func appendARP(b []byte, l *capture.Layer) []byte {
	switch l.Op {
	case 1:
		b = append(b, "ARP, Request who-has "...)
		b = appendAddr(b, l.DstIP)
		b = append(b, " tell "...)
		b = appendAddr(b, l.SrcIP)
	case 2:
		b = append(b, "ARP, Reply "...)
		b = appendAddr(b, l.SrcIP)
		b = append(b, " is-at "...)
		b = appendMAC(b, l.SrcHW[:l.HWLen])
	default:
		b = append(b, "ARP, op "...)
		b = appendUint(b, uint64(l.Op))
	}
	return b
}

// appendICMP writes an ICMP or ICMPv6 message the way tcpdump names it
// ("echo request, id 1, seq 2", "10.0.0.2 udp port 9999 unreachable",
// "router solicitation"), with its length.
func appendICMP(b []byte, l *capture.Layer) []byte {
	if l.Proto == capture.ProtoICMPv4 {
		b = append(b, "ICMP "...)
		b = appendICMP4(b, l)
	} else {
		b = append(b, "ICMP6, "...)
		b = appendICMP6(b, l)
	}
	if l.Len >= 0 {
		b = append(b, ", length "...)
		b = appendInt(b, int64(l.Len))
	}
	return b
}

func appendQuotedPort(b []byte, l *capture.Layer) []byte {
	b = appendAddr(b, l.DstIP)
	switch l.NextHeader {
	case 6:
		b = append(b, " tcp port "...)
	case 17:
		b = append(b, " udp port "...)
	default:
		b = append(b, " protocol "...)
		b = appendUint(b, uint64(l.NextHeader))
		b = append(b, " port"...)
	}
	return appendUint(b, uint64(l.DstPort))
}

var icmp4Unreach = [16]string{0: "net %s unreachable", 1: "host %s unreachable", 2: "%s protocol %p unreachable",
	3: "%q unreachable", 4: "%s unreachable - need to frag (mtu %m)", 5: "%s unreachable - source route failed",
	6: "net %s unreachable - unknown", 7: "host %s unreachable - unknown", 8: "%s unreachable - source host isolated",
	9: "net %s unreachable - admin prohibited", 10: "host %s unreachable - admin prohibited",
	11: "net %s unreachable - tos prohibited", 12: "host %s unreachable - tos prohibited",
	13: "host %s unreachable - admin prohibited filter", 14: "host %s unreachable - host precedence violation",
	15: "host %s unreachable - precedence cutoff"}

func appendICMP4(b []byte, l *capture.Layer) []byte {
	switch {
	case l.Type == 0 || l.Type == 8:
		if l.Type == 0 {
			b = append(b, "echo reply"...)
		} else {
			b = append(b, "echo request"...)
		}
		b = append(b, ", id "...)
		b = appendUint(b, uint64(l.ID))
		b = append(b, ", seq "...)
		return appendUint(b, l.Number)
	case l.Type == 3 && l.HasQuote && l.Code < 16:
		f := icmp4Unreach[l.Code]
		for i := 0; i < len(f); i++ {
			if f[i] != '%' {
				b = append(b, f[i])
				continue
			}
			i++
			switch f[i] {
			case 's':
				b = appendAddr(b, l.DstIP)
			case 'p':
				b = appendUint(b, uint64(l.NextHeader))
			case 'q':
				b = appendQuotedPort(b, l)
			case 'm':
				b = appendUint(b, l.Number&0xffff)
			}
		}
		return b
	case l.Type == 3:
		return append(b, "unreachable"...)
	case l.Type == 11:
		if l.Code == 1 {
			return append(b, "ip reassembly time exceeded"...)
		}
		return append(b, "time exceeded in-transit"...)
	case l.Type == 12:
		b = append(b, "parameter problem - octet "...)
		return appendUint(b, l.Number)
	case l.Type == 5:
		return append(b, "redirect"...)
	case l.Type == 4:
		return append(b, "source quench"...)
	case l.Type == 13:
		return append(b, "time stamp query"...)
	case l.Type == 14:
		return append(b, "time stamp reply"...)
	}
	b = append(b, "type #"...)
	return appendUint(b, uint64(l.Type))
}

var icmp6Types = map[uint8]string{1: "destination unreachable", 2: "packet too big", 3: "time exceeded", 4: "parameter problem",
	128: "echo request", 129: "echo reply", 130: "multicast listener query", 131: "multicast listener report",
	132: "multicast listener done", 133: "router solicitation", 134: "router advertisement",
	135: "neighbor solicitation", 136: "neighbor advertisement", 137: "redirect", 143: "multicast listener report v2"}

var icmp6Unreach = [8]string{0: "unreachable route", 1: "unreachable prohibited", 2: "beyond scope", 3: "unreachable address",
	4: "unreachable port", 5: "source address failed ingress/egress policy", 6: "reject route to destination"}

func appendICMP6(b []byte, l *capture.Layer) []byte {
	if n, ok := icmp6Types[l.Type]; ok {
		b = append(b, n...)
	} else {
		b = append(b, "unknown icmp6 type ("...)
		b = appendUint(b, uint64(l.Type))
		b = append(b, ')')
	}
	switch l.Type {
	case 128, 129:
		b = append(b, ", id "...)
		b = appendUint(b, uint64(l.ID))
		b = append(b, ", seq "...)
		b = appendUint(b, l.Number)
	case 1:
		b = append(b, ", "...)
		if l.Code < 8 && icmp6Unreach[l.Code] != "" {
			b = append(b, icmp6Unreach[l.Code]...)
		} else {
			b = append(b, "unknown unreach code ("...)
			b = appendUint(b, uint64(l.Code))
			b = append(b, ')')
		}
		if l.HasQuote {
			if l.Code == 4 {
				b = append(b, ", "...)
				b = appendQuotedPort(b, l)
			} else {
				b = append(b, ' ')
				b = appendAddr(b, l.DstIP)
			}
		}
	case 2:
		b = append(b, ", mtu "...)
		b = appendUint(b, l.Number)
	case 3:
		if l.Code == 1 {
			b = append(b, " reassembly"...)
		} else {
			b = append(b, " in-transit"...)
		}
		if l.HasQuote {
			b = append(b, " for "...)
			b = appendAddr(b, l.DstIP)
		}
	case 4:
		b = append(b, ", "...)
		switch l.Code {
		case 0:
			b = append(b, "erroneous - octet "...)
		case 1:
			b = append(b, "next header - octet "...)
		default:
			b = append(b, "option - octet "...)
		}
		b = appendUint(b, l.Number)
	}
	return b
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
			b = appendInt(b, int64(l.Status))
			b = append(b, ' ')
			b = append(b, l.Reason...)
		}
	case capture.ProtoWebSocket:
		b = append(b, ' ')
		b = append(b, opcodeName(l.Opcode)...)
		if l.Opcode == 8 && len(l.Payload) >= 2 {
			b = append(b, ' ')
			b = appendInt(b, int64(l.Status))
			if l.Reason != "" {
				b = append(b, ' ')
				b = appendQuoted(b, []byte(l.Reason), 60)
			}
		}
		if l.Fin {
			b = append(b, " fin"...)
		}
		if l.Masked {
			b = append(b, " masked"...)
		}
		if l.Compressed {
			b = append(b, " compressed"...)
		}
		b = append(b, " len "...)
		b = appendInt(b, int64(l.PayloadLen))
		switch {
		case len(l.Message) > 0:
			b = append(b, " message "...)
			b = appendQuoted(b, l.Message, 60)
		case (l.Opcode == 1 || l.Opcode == 0) && len(l.Payload) > 0 && !l.Compressed:
			b = append(b, ' ')
			b = appendQuoted(b, l.Payload, 60)
		}
	case capture.ProtoTLS:
		b = append(b, ' ')
		if n, ok := tlsTypes[l.ContentType]; ok {
			b = append(b, n...)
		} else {
			b = appendUint(b, uint64(l.ContentType))
		}
		if l.HandshakeType >= 0 {
			b = append(b, ' ')
			if n, ok := tlsHandshakes[l.HandshakeType]; ok {
				b = append(b, n...)
			} else {
				b = appendInt(b, int64(l.HandshakeType))
			}
		}
		b = append(b, " len "...)
		b = appendInt(b, int64(l.PayloadLen))
	case capture.ProtoDNS:
		b = appendDNS(b, l)
	case capture.ProtoFrame:
		b = append(b, " len "...)
		b = appendInt(b, int64(l.Len))
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
		b = appendArgsAck(b, l)
		if l.Reason != "" {
			b = append(b, ' ')
			b = appendQuoted(b, []byte(l.Reason), 60)
		}
	case capture.ProtoEngineIO:
		b = append(b, ' ')
		b = append(b, l.Kind...)
		switch {
		case l.Binary:
			b = append(b, " binary len "...)
			b = appendInt(b, int64(l.PayloadLen))
		case len(l.Payload) > 0 && l.Kind != "MESSAGE":
			b = append(b, ' ')
			b = appendArgs(b, l.Payload, 80)
		}
	case capture.ProtoSocketIO:
		b = append(b, ' ')
		b = append(b, l.Kind...)
		b = append(b, ' ')
		b = append(b, l.Namespace...)
		b = appendArgsAck(b, l)
		if l.Attachments > 0 {
			b = append(b, " attachments "...)
			b = appendInt(b, int64(l.Attachments))
			if l.Joined {
				b = append(b, " joined"...)
			}
		}
	case capture.ProtoUDPCast:
		b = append(b, " seq "...)
		b = appendUint(b, l.Number)
		if l.Response {
			b = append(b, " end"...)
		}
		b = append(b, " payload "...)
		b = appendInt(b, int64(l.PayloadLen))
	}
	return b
}

// appendDNS writes a DNS message like tcpdump's summary: the id, the
// question, the response code when not NoError, the records.
func appendDNS(b []byte, l *capture.Layer) []byte {
	if l.Response {
		b = append(b, " response "...)
	} else {
		b = append(b, " query "...)
	}
	b = appendUint(b, uint64(l.ID))
	if l.Name != "" {
		b = append(b, ' ')
		b = append(b, l.Kind...)
		b = append(b, "? "...)
		b = append(b, l.Name...)
	}
	if !l.Response {
		return b
	}
	if l.Code != 0 {
		b = append(b, ' ')
		b = append(b, app.DNSRcodeName(l.Code)...)
	}
	b = append(b, ' ')
	b = appendInt(b, int64(l.Answers))
	b = append(b, " answers"...)
	for i, r := range app.DNSRecords(l.Payload) {
		if i == 0 {
			b = append(b, ':')
		} else {
			b = append(b, ',')
		}
		b = append(b, ' ')
		if r.Section != "answer" {
			b = append(b, r.Section...)
			b = append(b, ' ')
		}
		b = append(b, r.Type...)
		b = append(b, ' ')
		b = append(b, r.Data...)
	}
	return b
}

// appendArgsAck appends an event's or ack's JSON arguments and its ack id
// (wiredojo-event, socket.io).
func appendArgsAck(b []byte, l *capture.Layer) []byte {
	if len(l.Payload) > 0 {
		b = append(b, ' ')
		b = appendArgs(b, l.Payload, 80)
	}
	if l.Response {
		b = append(b, " ack "...)
		b = appendUint(b, l.Number)
	}
	return b
}

// appendArgs appends event arguments, JSON text, as they are (up to max
// bytes, control bytes as dots).
func appendArgs(b []byte, p []byte, max int) []byte {
	return appendCleaned(b, p, max, 0xff)
}

// appendQuoted appends up to max bytes of p, printable ASCII kept and the
// rest as dots, between quotes.
func appendQuoted(b []byte, p []byte, max int) []byte {
	b = append(b, '"')
	b = appendCleaned(b, p, max, 0x7e)
	return append(b, '"')
}

// appendCleaned appends up to max bytes of p followed by "..." when p is
// longer, with bytes below 0x20, 0x7f and those above top as dots (top
// 0xff keeps UTF-8, 0x7e keeps printable ASCII only). The
// bytes are copied at once and the few to replace fixed in place.
func appendCleaned(b []byte, p []byte, max int, top byte) []byte {
	cut := len(p) > max
	if cut {
		p = p[:max]
	}
	n := len(b)
	b = append(b, p...)
	for i, c := range b[n:] {
		if c < 0x20 || c == 0x7f || c > top {
			b[n+i] = '.'
		}
	}
	if cut {
		b = append(b, "..."...)
	}
	return b
}
