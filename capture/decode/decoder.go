package decode

import (
	"encoding/binary"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/wiredojo/wiredojo/capture"
	"github.com/wiredojo/wiredojo/capture/app"
)

// Options configure a Decoder.
type Options struct {
	// NoReassembly turns off TCP reassembly and the application decoders
	// (link to transport only, plus UDP applications).
	NoReassembly bool
	// OnStream, when set, receives every in-order byte run of every TCP
	// stream (stream index, direction 0 = the side that spoke first); the
	// slice is valid only during the call. capture/analysis uses it to follow
	// a stream.
	OnStream func(stream, dir int, b []byte)
	// MaxConns bounds the tracked TCP connections (default 65536) and
	// MaxFragments the IPv4 and IPv6 datagrams being reassembled (default
	// 1024).
	MaxConns     int
	MaxFragments int
}

// Decoder decodes packets into the layer model. Use one per capture.
type Decoder struct {
	opt Options

	eth   layers.Ethernet
	sll   layers.LinuxSLL
	sll2  layers.LinuxSLL2
	lo    layers.Loopback
	arp   layers.ARP
	ip4   layers.IPv4
	ip6   layers.IPv6
	icmp4 layers.ICMPv4
	icmp6 layers.ICMPv6
	tcp   layers.TCP
	udp   layers.UDP

	parsers [numFirst]*gopacket.DecodingLayerParser
	decoded []gopacket.LayerType

	frags *defrag
	conns *tracker
}

// New returns a Decoder.
func New(opt Options) *Decoder {
	if opt.MaxConns <= 0 {
		opt.MaxConns = 1 << 16
	}
	if opt.MaxFragments <= 0 {
		opt.MaxFragments = 1024
	}
	d := &Decoder{opt: opt}
	for i, first := range firstTypes {
		p := gopacket.NewDecodingLayerParser(first)
		// Layer types index a slice: cheaper than the default map.
		p.SetDecodingLayerContainer(gopacket.DecodingLayerSparse(nil))
		for _, l := range []gopacket.DecodingLayer{&d.eth, &d.sll, &d.sll2, &d.lo, &d.arp,
			&d.ip4, &d.ip6, &d.icmp4, &d.icmp6, &d.tcp, &d.udp} {
			p.AddDecodingLayer(l)
		}
		p.IgnoreUnsupported = true
		d.parsers[i] = p
	}
	d.decoded = make([]gopacket.LayerType, 0, 8)
	d.frags = newDefrag(opt.MaxFragments)
	d.conns = newTracker(opt)
	return d
}

// The layers a parser can start at, indexed by the first* constants.
const (
	firstEthernet = iota
	firstSLL
	firstSLL2
	firstLoopback
	firstIPv4
	firstIPv6
	firstTCP
	firstUDP
	firstICMPv4
	firstICMPv6
	numFirst
)

var firstTypes = [numFirst]gopacket.LayerType{
	layers.LayerTypeEthernet, layers.LayerTypeLinuxSLL, layers.LayerTypeLinuxSLL2,
	layers.LayerTypeLoopback, layers.LayerTypeIPv4, layers.LayerTypeIPv6,
	layers.LayerTypeTCP, layers.LayerTypeUDP, layers.LayerTypeICMPv4, layers.LayerTypeICMPv6,
}

// first returns the parser index for a link type.
func first(lt layers.LinkType, data []byte) int {
	switch lt {
	case layers.LinkTypeEthernet:
		return firstEthernet
	case layers.LinkTypeLinuxSLL:
		return firstSLL
	case layers.LinkTypeLinuxSLL2:
		return firstSLL2
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		return firstLoopback
	case layers.LinkTypeIPv4:
		return firstIPv4
	case layers.LinkTypeIPv6:
		return firstIPv6
	default: // raw IP: the version nibble says which
		if len(data) > 0 && data[0]>>4 == 6 {
			return firstIPv6
		}
		return firstIPv4
	}
}

// offset returns where sub starts in data (both slices of one array, sub
// reaching to data's end of capacity as gopacket's sub-slices do).
func offset(data, sub []byte) int {
	o := cap(data) - cap(sub)
	if o < 0 || o > len(data) {
		return len(data)
	}
	return o
}

func span(data []byte, contents, payload []byte) (int, int) {
	s := offset(data, contents)
	e := s + len(contents) + len(payload)
	if e > len(data) {
		e = len(data)
	}
	return s, e
}

// Decode decodes data, a packet of link type lt, into pkt (its metadata —
// No, Timestamp, lengths — is the caller's). It never panics on bad bytes:
// what could not be decoded is described in pkt.Err.
func (d *Decoder) Decode(data []byte, lt layers.LinkType, pkt *capture.Packet) {
	pkt.Reset()
	pkt.Data = data
	p := d.parsers[first(lt, data)]
	err := p.DecodeLayers(data, &d.decoded)
	d.record(data, pkt, d.decoded, false, -1)
	if err != nil {
		pkt.Err = err.Error()
	}
}

// record turns the decoded gopacket layers into capture layers and runs the
// stateful steps (fragments, TCP, applications).
func (d *Decoder) record(data []byte, pkt *capture.Packet, decoded []gopacket.LayerType, reassembled bool, ip int) {
	ipPayload := -1 // what the IP header says it carries; -1 unknown
	if reassembled {
		ipPayload = len(data)
	}
	for _, t := range decoded {
		switch t {
		case layers.LayerTypeEthernet:
			l := pkt.AddLayer(capture.ProtoEthernet)
			l.Start, l.End = span(data, d.eth.Contents, d.eth.Payload)
			l.HWLen = 6
			if len(d.eth.SrcMAC) == 6 && len(d.eth.DstMAC) == 6 {
				// Fixed-size copies: no memmove call per address.
				*(*[6]byte)(l.SrcHW[:]) = [6]byte(d.eth.SrcMAC)
				*(*[6]byte)(l.DstHW[:]) = [6]byte(d.eth.DstMAC)
			}
			l.Protocol = uint16(d.eth.EthernetType)
		case layers.LayerTypeLinuxSLL:
			l := pkt.AddLayer(capture.ProtoSLL)
			l.Start, l.End = span(data, d.sll.Contents, d.sll.Payload)
			l.PktType = uint16(d.sll.PacketType)
			l.Protocol = uint16(d.sll.EthernetType)
			l.HWLen = uint8(copy(l.SrcHW[:], d.sll.Addr))
		case layers.LayerTypeLinuxSLL2:
			l := pkt.AddLayer(capture.ProtoSLL)
			l.Start, l.End = span(data, d.sll2.Contents, d.sll2.Payload)
			l.SLLv2 = true
			l.PktType = uint16(d.sll2.PacketType)
			l.Protocol = uint16(d.sll2.ProtocolType)
			l.IfIndex = int32(d.sll2.InterfaceIndex)
			l.HWLen = uint8(copy(l.SrcHW[:], d.sll2.Addr))
		case layers.LayerTypeLoopback:
			l := pkt.AddLayer(capture.ProtoLoopback)
			l.Start, l.End = span(data, d.lo.Contents, d.lo.Payload)
			l.Family = uint32(d.lo.Family)
		case layers.LayerTypeARP:
			l := pkt.AddLayer(capture.ProtoARP)
			l.Start, l.End = span(data, d.arp.Contents, d.arp.Payload)
			l.Op = d.arp.Operation
			l.SrcIP = capture.AddrFrom(d.arp.SourceProtAddress)
			l.DstIP = capture.AddrFrom(d.arp.DstProtAddress)
			l.HWLen = uint8(copy(l.SrcHW[:], d.arp.SourceHwAddress))
			copy(l.DstHW[:], d.arp.DstHwAddress)
		case layers.LayerTypeIPv4:
			l := pkt.AddLayer(capture.ProtoIPv4)
			l.Start, l.End = span(data, d.ip4.Contents, d.ip4.Payload)
			l.SrcIP = capture.AddrFrom(d.ip4.SrcIP)
			l.DstIP = capture.AddrFrom(d.ip4.DstIP)
			l.TTL = d.ip4.TTL
			l.ID = d.ip4.Id
			l.NextHeader = uint8(d.ip4.Protocol)
			l.FragOffset = d.ip4.FragOffset * 8
			l.MoreFrags = d.ip4.Flags&layers.IPv4MoreFragments != 0
			l.DontFrag = d.ip4.Flags&layers.IPv4DontFragment != 0
			l.Len = int(d.ip4.Length)
			ip = len(pkt.Layers) - 1
			ipPayload = int(d.ip4.Length) - len(d.ip4.Contents)
			if !reassembled && l.Start+int(d.ip4.Length) > len(data) {
				pkt.Truncated = true
			}
			if (l.MoreFrags || l.FragOffset != 0) && !reassembled {
				var k fragKey
				copy(k.src[:], d.ip4.SrcIP.To4())
				copy(k.dst[:], d.ip4.DstIP.To4())
				k.id, k.proto = uint32(d.ip4.Id), uint8(d.ip4.Protocol)
				d.fragment(pkt, k, int(l.FragOffset), l.MoreFrags, d.ip4.Payload, len(d.ip4.Contents))
				return
			}
		case layers.LayerTypeIPv6:
			l := pkt.AddLayer(capture.ProtoIPv6)
			l.Start, l.End = span(data, d.ip6.Contents, d.ip6.Payload)
			l.SrcIP = capture.AddrFrom(d.ip6.SrcIP)
			l.DstIP = capture.AddrFrom(d.ip6.DstIP)
			l.TTL = d.ip6.HopLimit
			l.NextHeader = uint8(d.ip6.NextHeader)
			l.Len = int(d.ip6.Length)
			ip = len(pkt.Layers) - 1
			ipPayload = int(d.ip6.Length)
			if !reassembled && l.Start+40+int(d.ip6.Length) > len(data) {
				pkt.Truncated = true
			}
			if d.ip6.NextHeader == layers.IPProtocolIPv6Fragment && !reassembled {
				d.fragment6(pkt, l, data)
				return
			}
		case layers.LayerTypeICMPv4:
			l := pkt.AddLayer(capture.ProtoICMPv4)
			l.Start, l.End = span(data, d.icmp4.Contents, d.icmp4.Payload)
			l.Type, l.Code = d.icmp4.TypeCode.Type(), d.icmp4.TypeCode.Code()
			l.ID = d.icmp4.Id
			l.Number = uint64(d.icmp4.Seq)
			l.Len = ipPayload
			icmp4Quote(l, d.icmp4.Payload)
		case layers.LayerTypeICMPv6:
			l := pkt.AddLayer(capture.ProtoICMPv6)
			l.Start, l.End = span(data, d.icmp6.Contents, d.icmp6.Payload)
			l.Type, l.Code = d.icmp6.TypeCode.Type(), d.icmp6.TypeCode.Code()
			l.Len = ipPayload
			icmp6Body(l, d.icmp6.Payload)
		case layers.LayerTypeUDP:
			l := pkt.AddLayer(capture.ProtoUDP)
			l.Start, l.End = span(data, d.udp.Contents, d.udp.Payload)
			if reassembled {
				l.Start, l.End = pkt.Layers[len(pkt.Layers)-2].Start, pkt.Layers[len(pkt.Layers)-2].End
			}
			l.SrcPort, l.DstPort = uint16(d.udp.SrcPort), uint16(d.udp.DstPort)
			l.Len = int(d.udp.Length)
			l.PayloadLen = len(d.udp.Payload)
			if n := int(d.udp.Length) - 8; n > l.PayloadLen {
				l.PayloadLen = n // cut by the snapshot length
			}
			d.udpApp(pkt, data, reassembled)
		case layers.LayerTypeTCP:
			l := pkt.AddLayer(capture.ProtoTCP)
			l.Start, l.End = span(data, d.tcp.Contents, d.tcp.Payload)
			l.SrcPort, l.DstPort = uint16(d.tcp.SrcPort), uint16(d.tcp.DstPort)
			l.Seq, l.Ack = d.tcp.Seq, d.tcp.Ack
			l.Window = d.tcp.Window
			l.Flags = tcpFlags(&d.tcp)
			l.WindowSize = uint32(d.tcp.Window)
			if len(d.tcp.Contents) > 20 {
				l.Opts = d.tcp.Contents[20:]
			}
			l.PayloadLen = len(d.tcp.Payload)
			if n := ipPayload - len(d.tcp.Contents); n > l.PayloadLen && !reassembled {
				l.PayloadLen = n // cut by the snapshot length: the IP length says how much was sent
			}
			if ip >= 0 && !d.opt.NoReassembly {
				d.conns.segment(pkt, ip, len(pkt.Layers)-1, d.tcp.Payload, l.PayloadLen, offset(data, d.tcp.Payload), reassembled)
			}
		}
	}
}

func tcpFlags(t *layers.TCP) uint8 {
	var f uint8
	if t.FIN {
		f |= capture.FlagFIN
	}
	if t.SYN {
		f |= capture.FlagSYN
	}
	if t.RST {
		f |= capture.FlagRST
	}
	if t.PSH {
		f |= capture.FlagPSH
	}
	if t.ACK {
		f |= capture.FlagACK
	}
	if t.URG {
		f |= capture.FlagURG
	}
	if t.ECE {
		f |= capture.FlagECE
	}
	if t.CWR {
		f |= capture.FlagCWR
	}
	return f
}

// udpApp decodes what a UDP datagram carries: DNS or wiredojo-udp.
func (d *Decoder) udpApp(pkt *capture.Packet, data []byte, reassembled bool) {
	payload := d.udp.Payload
	start := offset(data, payload)
	if reassembled {
		start = len(data)
	}
	if app.UDP(payload, pkt, start) {
		return
	}
	sp, dp := d.udp.SrcPort, d.udp.DstPort
	if sp == 53 || dp == 53 || sp == 5353 || dp == 5353 {
		end := start + len(payload)
		if reassembled {
			end = start
		}
		app.DNS(payload, pkt, start, end)
	}
}

// fragment files an IP fragment (payload at byte offset off of datagram
// k; hdr is the length of the IP header before it) and, when it completes
// a datagram, decodes the datagram's transport layer on this packet.
func (d *Decoder) fragment(pkt *capture.Packet, k fragKey, off int, more bool, payload []byte, hdr int) {
	datagram, ok := d.frags.add(k, off, more, payload)
	if !ok {
		return
	}
	var firstT int
	switch layers.IPProtocol(k.proto) {
	case layers.IPProtocolUDP:
		firstT = firstUDP
	case layers.IPProtocolTCP:
		firstT = firstTCP
	case layers.IPProtocolICMPv4:
		firstT = firstICMPv4
	case layers.IPProtocolICMPv6:
		firstT = firstICMPv6
	default:
		return
	}
	decoded := d.decoded[len(d.decoded):] // keep d.decoded's contents; reuse its spare room
	p := d.parsers[firstT]
	err := p.DecodeLayers(datagram, &decoded)
	// Layers decoded from the reassembled datagram have no bytes of their
	// own in this packet except this fragment's: record them against the
	// datagram, then point their spans at this fragment's payload.
	n := len(pkt.Layers)
	d.record(datagram, pkt, decoded, true, n-1)
	ipl := &pkt.Layers[n-1]
	for i := n; i < len(pkt.Layers); i++ {
		pkt.Layers[i].Start, pkt.Layers[i].End = ipl.Start+hdr, ipl.End
	}
	if err != nil {
		pkt.Err = err.Error()
	}
}

// fragment6 reads the IPv6 fragment header that follows the fixed header
// of l (the packet's IPv6 layer) and files the fragment.
func (d *Decoder) fragment6(pkt *capture.Packet, l *capture.Layer, data []byte) {
	p := d.ip6.Payload
	if len(p) < 8 {
		pkt.Err = "IPv6 fragment header cut short"
		return
	}
	fo := binary.BigEndian.Uint16(p[2:])
	l.FragOffset = fo &^ 7
	l.MoreFrags = fo&1 != 0
	l.Number = uint64(binary.BigEndian.Uint32(p[4:]))
	k := fragKey{id: uint32(l.Number), proto: p[0], v6: true}
	copy(k.src[:], d.ip6.SrcIP.To16())
	copy(k.dst[:], d.ip6.DstIP.To16())
	d.fragment(pkt, k, int(l.FragOffset), l.MoreFrags, p[8:], 48)
}

// icmp4Quote reads what an ICMPv4 error quotes: the destination, protocol
// and (UDP, TCP) destination port of the datagram that caused it.
func icmp4Quote(l *capture.Layer, p []byte) {
	switch l.Type {
	case 3, 4, 5, 11, 12:
	default:
		return
	}
	if len(p) < 20 || p[0]>>4 != 4 {
		return
	}
	ihl := int(p[0]&15) * 4
	l.HasQuote = true
	l.DstIP = capture.AddrFrom(p[16:20])
	l.NextHeader = p[9]
	if (p[9] == 6 || p[9] == 17) && len(p) >= ihl+4 {
		l.DstPort = binary.BigEndian.Uint16(p[ihl+2:])
	}
	if l.Type == 12 {
		l.Number = uint64(l.ID >> 8) // the pointer
	}
}

// icmp6Body reads the fields of an ICMPv6 message after its first 4 bytes:
// echo id and sequence, the MTU or pointer of errors and the datagram they
// quote, the target of neighbour discovery.
func icmp6Body(l *capture.Layer, p []byte) {
	if len(p) < 4 {
		return
	}
	rest := binary.BigEndian.Uint32(p)
	switch l.Type {
	case 128, 129:
		l.ID = uint16(rest >> 16)
		l.Number = uint64(rest & 0xffff)
	case 1, 2, 3, 4:
		l.Number = uint64(rest)
		q := p[4:]
		if len(q) < 40 || q[0]>>4 != 6 {
			return
		}
		l.HasQuote = true
		l.DstIP = capture.AddrFrom(q[24:40])
		l.NextHeader = q[6]
		if (q[6] == 6 || q[6] == 17) && len(q) >= 44 {
			l.DstPort = binary.BigEndian.Uint16(q[42:])
		}
	case 135, 136, 137:
		if len(p) >= 20 {
			l.DstIP = capture.AddrFrom(p[4:20])
		}
	}
}
