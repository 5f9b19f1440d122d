package filter

import (
	"bytes"
	"encoding/binary"
	"flag"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

var update = flag.Bool("update", false, "rewrite the test captures under testdata/")

// netPkt is one network-layer packet of the test captures.
type netPkt struct {
	et       layers.EthernetType
	data     []byte
	src, dst net.HardwareAddr
}

var (
	macA     = net.HardwareAddr{0x02, 0x00, 0x00, 0x00, 0x00, 0x0a}
	macB     = net.HardwareAddr{0x02, 0x00, 0x00, 0x00, 0x00, 0x0b}
	macC     = net.HardwareAddr{0x00, 0x1b, 0x21, 0x3c, 0x4d, 0x5e}
	macBcast = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	macMcast = net.HardwareAddr{0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb}
	macMc6   = net.HardwareAddr{0x33, 0x33, 0x00, 0x00, 0x00, 0x01}
)

func serialize(t testing.TB, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatalf("serialize: %v", err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

func ip4(src, dst string, proto layers.IPProtocol) *layers.IPv4 {
	return &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Id: 0x1234, Protocol: proto,
		SrcIP: net.ParseIP(src).To4(), DstIP: net.ParseIP(dst).To4()}
}

func ip6(src, dst string, next layers.IPProtocol) *layers.IPv6 {
	return &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: next, SrcIP: net.ParseIP(src), DstIP: net.ParseIP(dst)}
}

func payload(n int) gopacket.Payload {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte('a' + i%26)
	}
	return p
}

func tcp4(t testing.TB, src, dst string, sport, dport int, flags uint8, n int) netPkt {
	ip := ip4(src, dst, layers.IPProtocolTCP)
	tc := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport), Seq: 1000, Ack: 2000, Window: 65535,
		FIN: flags&0x01 != 0, SYN: flags&0x02 != 0, RST: flags&0x04 != 0, PSH: flags&0x08 != 0,
		ACK: flags&0x10 != 0, URG: flags&0x20 != 0, ECE: flags&0x40 != 0, CWR: flags&0x80 != 0}
	_ = tc.SetNetworkLayerForChecksum(ip)
	return netPkt{et: layers.EthernetTypeIPv4, data: serialize(t, ip, tc, payload(n)), src: macA, dst: macB}
}

func udp4(t testing.TB, src, dst string, sport, dport int, n int) netPkt {
	ip := ip4(src, dst, layers.IPProtocolUDP)
	u := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
	_ = u.SetNetworkLayerForChecksum(ip)
	return netPkt{et: layers.EthernetTypeIPv4, data: serialize(t, ip, u, payload(n)), src: macB, dst: macA}
}

func tcp6(t testing.TB, src, dst string, sport, dport int, flags uint8, n int) netPkt {
	ip := ip6(src, dst, layers.IPProtocolTCP)
	tc := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport), Seq: 5, Window: 1000,
		SYN: flags&0x02 != 0, ACK: flags&0x10 != 0, FIN: flags&0x01 != 0, PSH: flags&0x08 != 0, RST: flags&0x04 != 0}
	_ = tc.SetNetworkLayerForChecksum(ip)
	return netPkt{et: layers.EthernetTypeIPv6, data: serialize(t, ip, tc, payload(n)), src: macA, dst: macC}
}

func udp6(t testing.TB, src, dst string, sport, dport int, n int) netPkt {
	ip := ip6(src, dst, layers.IPProtocolUDP)
	u := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
	_ = u.SetNetworkLayerForChecksum(ip)
	return netPkt{et: layers.EthernetTypeIPv6, data: serialize(t, ip, u, payload(n)), src: macC, dst: macA}
}

func icmp4(t testing.TB, src, dst string, typ, code uint8) netPkt {
	ip := ip4(src, dst, layers.IPProtocolICMPv4)
	ic := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(typ, code), Id: 7, Seq: 1}
	return netPkt{et: layers.EthernetTypeIPv4, data: serialize(t, ip, ic, payload(32)), src: macA, dst: macB}
}

func icmp6(t testing.TB, src, dst string, typ, code uint8, dstMAC net.HardwareAddr) netPkt {
	ip := ip6(src, dst, layers.IPProtocolICMPv6)
	ic := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(typ, code)}
	_ = ic.SetNetworkLayerForChecksum(ip)
	return netPkt{et: layers.EthernetTypeIPv6, data: serialize(t, ip, ic, payload(24)), src: macA, dst: dstMAC}
}

func arpPkt(t testing.TB, op uint16, et layers.EthernetType, sender, target string, dstMAC net.HardwareAddr) netPkt {
	a := &layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
		Operation: op, SourceHwAddress: macA, SourceProtAddress: net.ParseIP(sender).To4(),
		DstHwAddress: make([]byte, 6), DstProtAddress: net.ParseIP(target).To4()}
	return netPkt{et: et, data: serialize(t, a), src: macA, dst: dstMAC}
}

// frag4 is an IPv4 fragment: offset in 8-byte units, more fragments flag, a raw payload.
func frag4(t testing.TB, src, dst string, proto layers.IPProtocol, offset uint16, more bool, body []byte) netPkt {
	ip := ip4(src, dst, proto)
	ip.FragOffset = offset
	if more {
		ip.Flags = layers.IPv4MoreFragments
	}
	return netPkt{et: layers.EthernetTypeIPv4, data: serialize(t, ip, gopacket.Payload(body)), src: macA, dst: macB}
}

// udpHeader is a raw UDP header (checksum 0) followed by n payload bytes.
func udpHeader(sport, dport uint16, n int) []byte {
	b := make([]byte, 8, 8+n)
	binary.BigEndian.PutUint16(b[0:], sport)
	binary.BigEndian.PutUint16(b[2:], dport)
	binary.BigEndian.PutUint16(b[4:], uint16(8+n))
	return append(b, payload(n)...)
}

// testPackets is the network-layer traffic of every test capture; full adds
// every combination of TCP flags (Ethernet only, to keep the files small).
func testPackets(t testing.TB, full bool) []netPkt {
	var ps []netPkt
	add := func(p ...netPkt) { ps = append(ps, p...) }
	// TCP handshake and data, several hosts and ports
	add(tcp4(t, "10.0.0.1", "10.0.0.2", 40000, 7070, 0x02, 0),
		tcp4(t, "10.0.0.2", "10.0.0.1", 7070, 40000, 0x12, 0),
		tcp4(t, "10.0.0.1", "10.0.0.2", 40000, 7070, 0x10, 0),
		tcp4(t, "10.0.0.1", "10.0.0.2", 40000, 7070, 0x18, 120),
		tcp4(t, "10.0.0.2", "10.0.0.1", 7070, 40000, 0x11, 0),
		tcp4(t, "10.0.0.1", "10.0.0.2", 40000, 7070, 0x04, 0),
		tcp4(t, "192.168.1.10", "93.184.216.34", 51000, 80, 0x18, 400),
		tcp4(t, "93.184.216.34", "192.168.1.10", 80, 51000, 0x18, 1200),
		tcp4(t, "192.168.1.10", "172.16.5.4", 51001, 443, 0x02, 0),
		tcp4(t, "172.16.5.4", "192.168.1.10", 22, 52000, 0xc2, 10),
		tcp4(t, "10.1.2.3", "10.200.0.9", 8080, 8090, 0x29, 3))
	// IPv4 with options: a 24-byte header
	{
		ip := ip4("10.0.0.5", "10.0.0.6", layers.IPProtocolTCP)
		ip.Options = []layers.IPv4Option{{OptionType: 0x94, OptionLength: 4, OptionData: []byte{0, 0}}} // router alert
		tc := &layers.TCP{SrcPort: 1234, DstPort: 80, SYN: true, Window: 100}
		_ = tc.SetNetworkLayerForChecksum(ip)
		add(netPkt{et: layers.EthernetTypeIPv4, data: serialize(t, ip, tc), src: macA, dst: macB})
	}
	// UDP
	add(udp4(t, "10.0.0.1", "10.0.0.53", 33333, 53, 30),
		udp4(t, "10.0.0.53", "10.0.0.1", 53, 33333, 90),
		udp4(t, "10.0.0.7", "10.0.0.255", 9999, 9999, 16),
		udp4(t, "192.168.1.10", "224.0.0.251", 5353, 5353, 40),
		udp4(t, "172.16.5.4", "10.0.0.1", 123, 123, 48),
		udp4(t, "10.0.0.1", "255.255.255.255", 68, 67, 250))
	ps[len(ps)-3].dst = macMcast
	ps[len(ps)-1].dst = macBcast
	// ICMP
	add(icmp4(t, "10.0.0.1", "10.0.0.2", 8, 0),
		icmp4(t, "10.0.0.2", "10.0.0.1", 0, 0),
		icmp4(t, "192.168.1.1", "192.168.1.10", 3, 3),
		icmp4(t, "172.16.5.4", "10.0.0.1", 11, 0))
	// IPv4 fragments: a UDP datagram to port 80 cut in two, a later fragment
	// whose first bytes look like ports 80/80, and a TCP first fragment
	add(frag4(t, "10.0.0.9", "10.0.0.10", layers.IPProtocolUDP, 0, true, udpHeader(5000, 80, 32)),
		frag4(t, "10.0.0.9", "10.0.0.10", layers.IPProtocolUDP, 5, false, []byte{0, 80, 0, 80, 1, 2, 3, 4, 5, 6, 7, 8}),
		frag4(t, "10.0.0.9", "10.0.0.10", layers.IPProtocolTCP, 100, false, []byte{0x1f, 0x90, 0, 80, 0, 0, 0, 0, 0, 0, 0, 0, 0x50, 0x02, 0, 0}))
	// SCTP and IGMP, raw
	{
		sctp := make([]byte, 12)
		binary.BigEndian.PutUint16(sctp[0:], 36412)
		binary.BigEndian.PutUint16(sctp[2:], 80)
		add(netPkt{et: layers.EthernetTypeIPv4, data: serialize(t, ip4("10.0.0.1", "10.0.0.2", layers.IPProtocolSCTP), gopacket.Payload(sctp)), src: macA, dst: macB})
		igmp := []byte{0x16, 0, 0xfa, 0x04, 224, 0, 0, 251}
		add(netPkt{et: layers.EthernetTypeIPv4, data: serialize(t, ip4("192.168.1.10", "224.0.0.251", layers.IPProtocolIGMP), gopacket.Payload(igmp)), src: macA, dst: macMcast})
	}
	// IPv6
	add(tcp6(t, "2001:db8::1", "2001:db8::2", 40001, 7070, 0x02, 0),
		tcp6(t, "2001:db8::2", "2001:db8::1", 7070, 40001, 0x12, 0),
		tcp6(t, "2001:db8::1", "2001:db8::2", 40001, 7070, 0x18, 64),
		tcp6(t, "2001:db8:1::5", "2001:db8::1", 443, 40002, 0x11, 0),
		tcp6(t, "::1", "::1", 50000, 80, 0x18, 10),
		udp6(t, "2001:db8::1", "2001:db8::53", 33334, 53, 30),
		udp6(t, "fe80::1", "ff02::fb", 5353, 5353, 40),
		icmp6(t, "2001:db8::1", "2001:db8::2", 128, 0, macC),
		icmp6(t, "2001:db8::2", "2001:db8::1", 129, 0, macA),
		icmp6(t, "fe80::1", "ff02::1:ff00:2", 135, 0, macMc6))
	ps[len(ps)-4].dst = macMc6
	// IPv6 fragment header carrying UDP, and one carrying ICMPv6
	{
		fh := []byte{byte(layers.IPProtocolUDP), 0, 0, 1, 0, 0, 0, 42}
		add(netPkt{et: layers.EthernetTypeIPv6, data: serialize(t, ip6("2001:db8::7", "2001:db8::8", layers.IPProtocolIPv6Fragment),
			gopacket.Payload(append(fh, udpHeader(6000, 53, 20)...))), src: macA, dst: macB})
		fh6 := []byte{byte(layers.IPProtocolICMPv6), 0, 0, 0, 0, 0, 0, 43, 128, 0, 0, 0, 0, 1, 0, 1}
		add(netPkt{et: layers.EthernetTypeIPv6, data: serialize(t, ip6("2001:db8::7", "2001:db8::8", layers.IPProtocolIPv6Fragment),
			gopacket.Payload(fh6)), src: macA, dst: macB})
	}
	// ARP and RARP
	add(arpPkt(t, 1, layers.EthernetTypeARP, "10.0.0.1", "10.0.0.2", macBcast),
		arpPkt(t, 2, layers.EthernetTypeARP, "10.0.0.2", "10.0.0.1", macA),
		arpPkt(t, 3, layers.EthernetType(0x8035), "192.168.1.10", "192.168.1.1", macBcast))
	// 802.3 frames with 802.2 LLC: spanning tree (SAP 0x42) and ISO (0xfe)
	add(netPkt{et: llcType, data: append([]byte{0x42, 0x42, 0x03}, make([]byte, 35)...), src: macA, dst: net.HardwareAddr{0x01, 0x80, 0xc2, 0, 0, 0}},
		netPkt{et: llcType, data: append([]byte{0xfe, 0xfe, 0x03, 0x83}, make([]byte, 30)...), src: macB, dst: macMcast})
	if full {
		// 802.1Q and 802.1ad tagged frames (Ethernet only)
		tagged := func(p netPkt, tags ...uint32) netPkt {
			for i := len(tags) - 1; i >= 0; i-- {
				h := make([]byte, 4, 4+len(p.data))
				binary.BigEndian.PutUint16(h, uint16(tags[i]))
				binary.BigEndian.PutUint16(h[2:], uint16(p.et))
				p.data = append(h, p.data...)
				p.et = layers.EthernetType(tags[i] >> 16)
			}
			return p
		}
		add(tagged(tcp4(t, "10.0.0.1", "10.0.0.2", 40000, 80, 0x02, 0), 0x8100<<16|100),
			tagged(udp4(t, "10.0.0.1", "10.0.0.53", 33333, 53, 10), 0x8100<<16|200),
			tagged(tcp6(t, "2001:db8::1", "2001:db8::2", 40001, 80, 0x18, 5), 0x8100<<16|100),
			tagged(tcp4(t, "10.0.0.2", "10.0.0.1", 80, 40000, 0x12, 0), 0x88a8<<16|10, 0x8100<<16|3),
			tagged(arpPkt(t, 1, layers.EthernetTypeARP, "10.0.0.1", "10.0.0.2", macBcast), 0x8100<<16|100))
		for f := 0; f < 256; f++ {
			add(tcp4(t, "10.9.8.7", "10.9.8.6", 30000+f, 7070+f%3, uint8(f), f%5))
		}
	}
	return ps
}

// outgoing picks about half of the packets as sent by us (cooked captures).
func outgoing(p netPkt) bool {
	sum := 0
	for _, b := range p.data {
		sum += int(b)
	}
	return sum%2 == 1
}

// llcType marks an 802.3 frame whose payload starts with an 802.2 LLC header.
const llcType = layers.EthernetType(4)

// frame puts p behind the link-layer header of link.
func frame(t testing.TB, link layers.LinkType, p netPkt) []byte {
	switch link {
	case layers.LinkTypeEthernet:
		if p.et == llcType { // a length instead of an EtherType
			h := append(append(append([]byte(nil), p.dst...), p.src...), byte(len(p.data)>>8), byte(len(p.data)))
			return append(h, p.data...)
		}
		return serialize(t, &layers.Ethernet{SrcMAC: p.src, DstMAC: p.dst, EthernetType: p.et}, gopacket.Payload(p.data))
	case layers.LinkTypeLinuxSLL:
		h := make([]byte, 16)
		if outgoing(p) {
			binary.BigEndian.PutUint16(h[0:], 4) // PACKET_OUTGOING
		}
		binary.BigEndian.PutUint16(h[2:], 1) // ARPHRD_ETHER
		binary.BigEndian.PutUint16(h[4:], 6)
		copy(h[6:], p.src)
		binary.BigEndian.PutUint16(h[14:], uint16(p.et))
		return append(h, p.data...)
	case layers.LinkTypeLinuxSLL2:
		h := make([]byte, 20)
		binary.BigEndian.PutUint16(h[0:], uint16(p.et))
		binary.BigEndian.PutUint32(h[4:], 2) // ifindex
		binary.BigEndian.PutUint16(h[8:], 1) // ARPHRD_ETHER
		if !outgoing(p) {
			h[10] = 4 // PACKET_OUTGOING
		}
		h[11] = 6
		copy(h[12:], p.src)
		return append(h, p.data...)
	case layers.LinkTypeNull:
		h := make([]byte, 4)
		fam := uint32(2)
		if p.et == layers.EthernetTypeIPv6 {
			fam = 30 // Darwin's AF_INET6
			if p.data[7]%2 == 0 {
				fam = 24 // vary: NetBSD/OpenBSD
			}
		}
		binary.LittleEndian.PutUint32(h, fam)
		return append(h, p.data...)
	}
	return append([]byte(nil), p.data...) // raw IP
}

// captureFiles are the committed test captures, by link type.
var captureFiles = []struct {
	name string
	link layers.LinkType
}{
	{"ether.pcap", layers.LinkTypeEthernet},
	{"sll.pcap", layers.LinkTypeLinuxSLL},
	{"sll2.pcap", layers.LinkTypeLinuxSLL2},
	{"null.pcap", layers.LinkTypeNull},
	{"raw.pcap", layers.LinkTypeRaw},
}

// buildCapture returns the pcap bytes of one test capture.
func buildCapture(t testing.TB, link layers.LinkType) []byte {
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if err := w.WriteFileHeader(262144, link); err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i, p := range testPackets(t, link == layers.LinkTypeEthernet) {
		if (link == layers.LinkTypeNull || link == layers.LinkTypeRaw) && p.et != layers.EthernetTypeIPv4 && p.et != layers.EthernetTypeIPv6 {
			continue // no ARP on loopback or raw IP
		}
		data := frame(t, link, p)
		ci := gopacket.CaptureInfo{Timestamp: base.Add(time.Duration(i) * time.Millisecond), CaptureLength: len(data), Length: len(data)}
		if err := w.WritePacket(ci, data); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// TestCaptures checks the committed captures are what the generator makes
// (run with -update to rewrite them).
func TestCaptures(t *testing.T) {
	for _, cf := range captureFiles {
		path := filepath.Join("testdata", cf.name)
		want := buildCapture(t, cf.link)
		if *update {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test -run TestCaptures -update to create it)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the generator's output (%d vs %d bytes); run go test -run TestCaptures -update", path, len(got), len(want))
		}
	}
}

// readCapture returns the packets of a test capture and its link type.
func readCapture(t testing.TB, path string) ([][]byte, []time.Time, layers.LinkType) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return readPcap(t, f, path)
}

// readPcap reads a whole pcap stream: packets, timestamps, link type.
func readPcap(t testing.TB, r io.Reader, what string) ([][]byte, []time.Time, layers.LinkType) {
	t.Helper()
	pr, err := pcapgo.NewReader(r)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	var pkts [][]byte
	var ts []time.Time
	for {
		data, ci, err := pr.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		pkts = append(pkts, append([]byte(nil), data...))
		ts = append(ts, ci.Timestamp)
	}
	return pkts, ts, pr.LinkType()
}
