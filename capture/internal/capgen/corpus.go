package main

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/dns/dnsmessage"

	"github.com/wiredojo/wiredojo/framing/ws"
	"github.com/wiredojo/wiredojo/tcpchat/wire"
	"github.com/wiredojo/wiredojo/udpcast"
)

// corpus writes the fidelity captures into DIR: each one built packet by
// packet (deterministic bytes and timestamps), for the classes that real
// traffic on this machine cannot produce on demand: a small snapshot
// length, fragmented IPv6, every TCP option, DNS over UDP and TCP,
// permessage-deflate WebSocket, ICMP and ICMPv6 errors.
func corpus(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: capgen corpus DIR")
	}
	for _, c := range []struct {
		name    string
		snaplen int
		build   func(*builder)
	}{
		{"truncated.pcap", 96, buildTruncated},
		{"frag6.pcap", 65535, buildFrag6},
		{"tcp-options.pcap", 65535, buildTCPOptions},
		{"dns.pcap", 65535, buildDNS},
		{"ws-deflate.pcap", 65535, buildWSDeflate},
		{"icmp-errors.pcap", 65535, buildICMPErrors},
	} {
		if err := writeCorpus(filepath.Join(args[0], c.name), c.snaplen, c.build); err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
	}
	return nil
}

func writeCorpus(name string, snaplen int, build func(*builder)) error {
	b := &builder{ts: time.Date(2026, 11, 25, 21, 0, 0, 0, time.UTC), snaplen: snaplen}
	build(b)
	if b.err != nil {
		return b.err
	}
	w, err := createPcap(name, uint32(snaplen), false)
	if err != nil {
		return err
	}
	defer w.close()
	for _, p := range b.pkts {
		if err := w.write(p.ci, p.data); err != nil {
			return err
		}
	}
	return w.close()
}

type builtPacket struct {
	ci   gopacket.CaptureInfo
	data []byte
}

// builder collects Ethernet frames with their capture info.
type builder struct {
	ts      time.Time
	snaplen int
	pkts    []builtPacket
	err     error
	ipID    uint16
}

var (
	macA = net.HardwareAddr{2, 0, 0, 0, 0, 1}
	macB = net.HardwareAddr{2, 0, 0, 0, 0, 2}
	v4A  = net.IPv4(10, 0, 0, 1).To4()
	v4B  = net.IPv4(10, 0, 0, 2).To4()
	v4R  = net.IPv4(10, 0, 0, 254).To4()
	v6A  = net.ParseIP("2001:db8::1")
	v6B  = net.ParseIP("2001:db8::2")
	v6R  = net.ParseIP("2001:db8::fe")
)

// frame serializes ls behind an Ethernet header (its type from the first
// layer) and files it, cut to the snapshot length.
func (b *builder) frame(ls ...gopacket.SerializableLayer) []byte {
	if b.err != nil {
		return nil
	}
	src, dst := macA, macB
	et := layers.EthernetTypeIPv4
	switch l := ls[0].(type) {
	case *layers.IPv4:
		if l.SrcIP.Equal(v4B) || l.SrcIP.Equal(v4R) {
			src, dst = macB, macA
		}
	case *layers.IPv6:
		et = layers.EthernetTypeIPv6
		if l.SrcIP.Equal(v6B) || l.SrcIP.Equal(v6R) {
			src, dst = macB, macA
		}
	}
	eth := &layers.Ethernet{SrcMAC: src, DstMAC: dst, EthernetType: et}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, serializeOpts, append([]gopacket.SerializableLayer{eth}, ls...)...); err != nil {
		b.err = err
		return nil
	}
	data := append([]byte(nil), buf.Bytes()...)
	b.raw(data)
	return data
}

// raw files an Ethernet frame as it is.
func (b *builder) raw(data []byte) {
	b.ts = b.ts.Add(time.Millisecond)
	capd := data
	if len(capd) > b.snaplen {
		capd = capd[:b.snaplen]
	}
	b.pkts = append(b.pkts, builtPacket{gopacket.CaptureInfo{Timestamp: b.ts, CaptureLength: len(capd), Length: len(data)}, capd})
}

func (b *builder) ip4(src, dst net.IP, proto layers.IPProtocol) *layers.IPv4 {
	b.ipID++
	return &layers.IPv4{Version: 4, TTL: 64, Protocol: proto, SrcIP: src, DstIP: dst, Id: b.ipID, Flags: layers.IPv4DontFragment}
}

func ip6(src, dst net.IP, next layers.IPProtocol) *layers.IPv6 {
	return &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: next, SrcIP: src, DstIP: dst}
}

// tcpConn is one TCP connection being built: sequence numbers of both
// sides, and whether it runs over IPv6.
type tcpConn struct {
	b            *builder
	cport, sport uint16
	cseq, sseq   uint32
	cli, srv     net.IP
	v6           bool
	cwin, swin   uint16
	tsC, tsS     uint32
	timestamps   bool
}

func (c *tcpConn) seg(fromClient bool, flags string, opts []layers.TCPOption, payload []byte) {
	tcp := &layers.TCP{SrcPort: layers.TCPPort(c.cport), DstPort: layers.TCPPort(c.sport), Seq: c.cseq, Ack: c.sseq, Window: c.cwin, Options: opts}
	src, dst := c.cli, c.srv
	if !fromClient {
		src, dst = c.srv, c.cli
		tcp.SrcPort, tcp.DstPort = tcp.DstPort, tcp.SrcPort
		tcp.Seq, tcp.Ack = c.sseq, c.cseq
		tcp.Window = c.swin
	}
	setFlags(tcp, flags)
	if !tcp.ACK {
		tcp.Ack = 0
	}
	if opts == nil && c.timestamps {
		tcp.Options = c.ts(fromClient)
	}
	var ip gopacket.NetworkLayer
	if c.v6 {
		ip = ip6(src, dst, layers.IPProtocolTCP)
	} else {
		ip = c.b.ip4(src, dst, layers.IPProtocolTCP)
	}
	tcp.SetNetworkLayerForChecksum(ip)
	c.b.frame(ip.(gopacket.SerializableLayer), tcp, gopacket.Payload(payload))
	adv := uint32(len(payload))
	if tcp.SYN {
		adv++
	}
	if tcp.FIN {
		adv++
	}
	if fromClient {
		c.cseq += adv
	} else {
		c.sseq += adv
	}
}

// ts returns the nop,nop,TS options of the next segment of one side.
func (c *tcpConn) ts(fromClient bool) []layers.TCPOption {
	val, ecr := &c.tsC, c.tsS
	if !fromClient {
		val, ecr = &c.tsS, c.tsC
	}
	*val++
	return []layers.TCPOption{nop, nop, tsOpt(*val, ecr)}
}

var nop = layers.TCPOption{OptionType: layers.TCPOptionKindNop, OptionLength: 1}

func mssOpt(v uint16) layers.TCPOption {
	return layers.TCPOption{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: binary.BigEndian.AppendUint16(nil, v)}
}

func wsOpt(shift byte) layers.TCPOption {
	return layers.TCPOption{OptionType: layers.TCPOptionKindWindowScale, OptionLength: 3, OptionData: []byte{shift}}
}

var sackOK = layers.TCPOption{OptionType: layers.TCPOptionKindSACKPermitted, OptionLength: 2}

func tsOpt(val, ecr uint32) layers.TCPOption {
	d := binary.BigEndian.AppendUint32(nil, val)
	return layers.TCPOption{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: binary.BigEndian.AppendUint32(d, ecr)}
}

func sackOpt(blocks ...uint32) layers.TCPOption {
	var d []byte
	for _, v := range blocks {
		d = binary.BigEndian.AppendUint32(d, v)
	}
	return layers.TCPOption{OptionType: layers.TCPOptionKindSACK, OptionLength: uint8(2 + len(d)), OptionData: d}
}

func tfoOpt(cookie []byte) layers.TCPOption {
	return layers.TCPOption{OptionType: 34, OptionLength: uint8(2 + len(cookie)), OptionData: cookie}
}

// handshake opens c the way Linux does: MSS, SACK permitted, timestamps
// and window scale on both SYNs, then the client's ACK.
func (c *tcpConn) handshake(cscale, sscale byte) {
	c.timestamps = true
	c.tsC++
	c.seg(true, "S", []layers.TCPOption{mssOpt(1460), sackOK, tsOpt(c.tsC, 0), nop, wsOpt(cscale)}, nil)
	c.tsS++
	c.seg(false, "SA", []layers.TCPOption{mssOpt(1400), sackOK, tsOpt(c.tsS, c.tsC), nop, wsOpt(sscale)}, nil)
	c.cwin, c.swin = 502, 509
	c.seg(true, "A", nil, nil)
}

func (c *tcpConn) close() {
	c.seg(true, "FA", nil, nil)
	c.seg(false, "FA", nil, nil)
	c.seg(true, "A", nil, nil)
}

func newConn(b *builder, cport, sport uint16, cseq, sseq uint32) *tcpConn {
	return &tcpConn{b: b, cport: cport, sport: sport, cseq: cseq, sseq: sseq, cli: v4A, srv: v4B, cwin: 64240, swin: 65160, tsS: 900000}
}

// buildTruncated: a snapshot length of 96 bytes: TCP handshake whole, HTTP
// requests and responses cut after their start line, a wiredojo-udp
// datagram and an ICMP echo cut in their payload.
func buildTruncated(b *builder) {
	c := newConn(b, 41000, 80, 3000000000, 12345)
	c.handshake(7, 7)
	req := "GET /index.html HTTP/1.1\r\nHost: wiredojo.test\r\nUser-Agent: capgen/1.0\r\nAccept: text/html,application/xhtml+xml\r\nAccept-Language: en\r\n\r\n"
	c.seg(true, "PA", nil, []byte(req))
	body := strings.Repeat("<p>wiredojo page line</p>\n", 20)
	resp := fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	c.seg(false, "PA", nil, []byte(resp))
	c.seg(true, "A", nil, nil)
	req2 := "GET /missing HTTP/1.1\r\nHost: wiredojo.test\r\nUser-Agent: capgen/1.0\r\n\r\n"
	c.seg(true, "PA", nil, []byte(req2))
	body2 := "not here, sorry: this page does not exist on the server\n"
	resp2 := fmt.Sprintf("HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s", len(body2), body2)
	c.seg(false, "PA", nil, []byte(resp2))
	c.close()
	// wiredojo-udp, cut.
	ip := b.ip4(v4A, v4B, layers.IPProtocolUDP)
	u := &layers.UDP{SrcPort: 50000, DstPort: 9999}
	u.SetNetworkLayerForChecksum(ip)
	d := udpcast.Header{RunID: 7, Seq: 1, SentNS: b.ts.UnixNano()}.AppendTo(nil)
	b.frame(ip, u, gopacket.Payload(append(d, bytes.Repeat([]byte("u"), 600)...)))
	// ICMP echo with a big payload, cut.
	for i, t := range []layers.ICMPv4TypeCode{layers.CreateICMPv4TypeCode(8, 0), layers.CreateICMPv4TypeCode(0, 0)} {
		src, dst := v4A, v4B
		if i == 1 {
			src, dst = v4B, v4A
		}
		b.frame(b.ip4(src, dst, layers.IPProtocolICMPv4), &layers.ICMPv4{TypeCode: t, Id: 1, Seq: 2}, gopacket.Payload(bytes.Repeat([]byte("p"), 400)))
	}
}

// fragment6 files the upper-layer packet up (next header next) from src to
// dst in IPv6 fragments of at most size bytes, in the given order of
// fragment indexes (nil: in order).
func (b *builder) fragment6(src, dst net.IP, next layers.IPProtocol, up []byte, size int, id uint32, order []int) {
	var frags [][]byte
	for off := 0; off < len(up); off += size {
		end := off + size
		more := true
		if end >= len(up) {
			end, more = len(up), false
		}
		fh := make([]byte, 8)
		fh[0] = byte(next)
		fo := uint16(off/8) << 3
		if more {
			fo |= 1
		}
		binary.BigEndian.PutUint16(fh[2:], fo)
		binary.BigEndian.PutUint32(fh[4:], id)
		frags = append(frags, append(fh, up[off:end]...))
	}
	if order == nil {
		for i := range frags {
			order = append(order, i)
		}
	}
	for _, i := range order {
		b.frame(ip6(src, dst, layers.IPProtocolIPv6Fragment), gopacket.Payload(frags[i]))
	}
}

// upper serializes an upper-layer packet (with its checksum over the IPv6
// pseudo-header) and returns its bytes.
func upper(src, dst net.IP, next layers.IPProtocol, ls ...gopacket.SerializableLayer) []byte {
	ip := ip6(src, dst, next)
	for _, l := range ls {
		switch x := l.(type) {
		case *layers.ICMPv6:
			x.SetNetworkLayerForChecksum(ip)
		case *layers.UDP:
			x.SetNetworkLayerForChecksum(ip)
		}
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, serializeOpts, append([]gopacket.SerializableLayer{ip}, ls...)...); err != nil {
		panic(err) // built from constants
	}
	return append([]byte(nil), buf.Bytes()[40:]...)
}

// buildFrag6: ICMPv6 echoes and UDP datagrams too big for one IPv6 packet,
// in fragments (one datagram's fragments out of order), and small ones
// around them.
func buildFrag6(b *builder) {
	data := bytes.Repeat([]byte("wiredojo fragment "), 170) // 3060 bytes
	req := upper(v6A, v6B, layers.IPProtocolICMPv6, &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(128, 0)}, &layers.ICMPv6Echo{Identifier: 1, SeqNumber: 1}, gopacket.Payload(data))
	b.fragment6(v6A, v6B, layers.IPProtocolICMPv6, req, 1232, 0x100, nil)
	rep := upper(v6B, v6A, layers.IPProtocolICMPv6, &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(129, 0)}, &layers.ICMPv6Echo{Identifier: 1, SeqNumber: 1}, gopacket.Payload(data))
	b.fragment6(v6B, v6A, layers.IPProtocolICMPv6, rep, 1232, 0x200, []int{2, 0, 1})
	// A small echo, unfragmented.
	b.frame(ip6(v6A, v6B, layers.IPProtocolICMPv6), withCk6(v6A, v6B, &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(128, 0)}), &layers.ICMPv6Echo{Identifier: 1, SeqNumber: 2}, gopacket.Payload("small"))
	// UDP datagrams.
	u := upper(v6A, v6B, layers.IPProtocolUDP, &layers.UDP{SrcPort: 50000, DstPort: 9000}, gopacket.Payload(data[:2600]))
	b.fragment6(v6A, v6B, layers.IPProtocolUDP, u, 1232, 0x300, nil)
	u = upper(v6B, v6A, layers.IPProtocolUDP, &layers.UDP{SrcPort: 9000, DstPort: 50000}, gopacket.Payload(data[:1500]))
	b.fragment6(v6B, v6A, layers.IPProtocolUDP, u, 1232, 0x301, []int{1, 0})
	u6 := &layers.UDP{SrcPort: 50001, DstPort: 9000}
	ip := ip6(v6A, v6B, layers.IPProtocolUDP)
	u6.SetNetworkLayerForChecksum(ip)
	b.frame(ip, u6, gopacket.Payload("not fragmented"))
}

func withCk6(src, dst net.IP, l *layers.ICMPv6) *layers.ICMPv6 {
	l.SetNetworkLayerForChecksum(ip6(src, dst, layers.IPProtocolICMPv6))
	return l
}

// buildTCPOptions: every TCP option tcpdump and tshark name: MSS, window
// scale, SACK permitted, SACK blocks, timestamps, a TCP Fast Open cookie
// request, a cookie, and data on a SYN with its cookie; the window scaled
// after the handshake.
func buildTCPOptions(b *builder) {
	c := newConn(b, 42000, 7070, 1000, 5000)
	c.timestamps = true
	c.tsC, c.tsS = 100, 7000
	c.seg(true, "S", []layers.TCPOption{mssOpt(1460), sackOK, tsOpt(c.tsC, 0), nop, wsOpt(7), tfoOpt(nil)}, nil)
	cookie := []byte{0xc0, 0x0c, 0x1e, 0x5a, 0x11, 0x22, 0x33, 0x44}
	c.seg(false, "SA", []layers.TCPOption{mssOpt(1400), sackOK, tsOpt(c.tsS, c.tsC), nop, wsOpt(6), tfoOpt(cookie)}, nil)
	c.cwin, c.swin = 502, 1018
	c.seg(true, "A", nil, nil)
	msg := bytes.Repeat([]byte("0123456789"), 100)
	c.seg(true, "PA", nil, msg)
	c.seg(false, "A", nil, nil)
	// Three segments; the first is lost: the receiver SACKs the others.
	base := c.cseq
	c.cseq += 100
	c.seg(true, "PA", nil, msg[:100])
	c.tsS++
	c.seg(false, "A", []layers.TCPOption{nop, nop, tsOpt(c.tsS, c.tsC), nop, nop, sackOpt(base+100, base+200)}, nil)
	c.seg(true, "PA", nil, msg[:100])
	c.tsS++
	c.seg(false, "A", []layers.TCPOption{nop, nop, tsOpt(c.tsS, c.tsC), nop, nop, sackOpt(base+100, base+300)}, nil)
	c.cseq += 100
	c.seg(true, "PA", nil, msg[:50])
	c.tsS++
	c.seg(false, "A", []layers.TCPOption{nop, nop, tsOpt(c.tsS, c.tsC), nop, nop, sackOpt(base+100, base+300, base+400, base+450)}, nil)
	// The retransmission fills the hole.
	end := c.cseq
	c.cseq = base
	c.seg(true, "PA", nil, msg[:100])
	c.cseq = end
	c.seg(false, "A", nil, nil)
	c.close()
	// A second connection opens with data on its SYN and the cookie.
	d := newConn(b, 42001, 7070, 77000, 99000)
	d.tsC, d.tsS = 500, 8000
	d.timestamps = true
	d.seg(true, "S", []layers.TCPOption{mssOpt(1460), sackOK, tsOpt(d.tsC, 0), nop, wsOpt(7), tfoOpt(cookie)}, []byte("hello on the SYN"))
	d.seg(false, "SA", []layers.TCPOption{mssOpt(1400), sackOK, tsOpt(d.tsS, d.tsC), nop, wsOpt(6)}, nil)
	d.cwin, d.swin = 502, 1018
	d.seg(true, "A", nil, nil)
	// No options at all, and an end-of-list.
	d.seg(true, "PA", []layers.TCPOption{mssOpt(1200), {OptionType: layers.TCPOptionKindEndList, OptionLength: 1}}, []byte("odd"))
	d.seg(false, "RA", []layers.TCPOption{}, nil)
}

// buildDNS: queries and answers of every common type over UDP, response
// codes, then DNS over TCP with its 2-byte length prefix (two messages in
// one segment, one split over two).
func buildDNS(b *builder) {
	type rr struct {
		typ  dnsmessage.Type
		body dnsmessage.ResourceBody
	}
	name := func(s string) dnsmessage.Name { return dnsmessage.MustNewName(s) }
	msg := func(id uint16, q string, qt dnsmessage.Type, resp bool, rcode dnsmessage.RCode, ans []rr, auth []rr) []byte {
		bl := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: id, Response: resp, RecursionDesired: true, RecursionAvailable: resp, RCode: rcode})
		bl.EnableCompression()
		bl.StartQuestions()
		bl.Question(dnsmessage.Question{Name: name(q), Type: qt, Class: dnsmessage.ClassINET})
		add := func(list []rr) {
			for _, r := range list {
				h := dnsmessage.ResourceHeader{Name: name(q), Class: dnsmessage.ClassINET, TTL: 300}
				var err error
				switch x := r.body.(type) {
				case *dnsmessage.AResource:
					err = bl.AResource(h, *x)
				case *dnsmessage.AAAAResource:
					err = bl.AAAAResource(h, *x)
				case *dnsmessage.CNAMEResource:
					err = bl.CNAMEResource(h, *x)
				case *dnsmessage.NSResource:
					err = bl.NSResource(h, *x)
				case *dnsmessage.MXResource:
					err = bl.MXResource(h, *x)
				case *dnsmessage.TXTResource:
					err = bl.TXTResource(h, *x)
				case *dnsmessage.PTRResource:
					err = bl.PTRResource(h, *x)
				case *dnsmessage.SOAResource:
					err = bl.SOAResource(h, *x)
				}
				if err != nil {
					panic(err)
				}
			}
		}
		bl.StartAnswers()
		add(ans)
		bl.StartAuthorities()
		add(auth)
		out, err := bl.Finish()
		if err != nil {
			panic(err)
		}
		return out
	}
	soa := &dnsmessage.SOAResource{NS: name("ns1.wiredojo.test."), MBox: name("admin.wiredojo.test."), Serial: 2026112501, Refresh: 7200, Retry: 900, Expire: 1209600, MinTTL: 300}
	exchanges := []struct {
		q    string
		qt   dnsmessage.Type
		rc   dnsmessage.RCode
		ans  []rr
		auth []rr
	}{
		{"chat.wiredojo.test.", dnsmessage.TypeA, 0, []rr{{dnsmessage.TypeA, &dnsmessage.AResource{A: [4]byte{10, 0, 0, 7}}}, {dnsmessage.TypeA, &dnsmessage.AResource{A: [4]byte{10, 0, 0, 8}}}}, nil},
		{"chat.wiredojo.test.", dnsmessage.TypeAAAA, 0, []rr{{dnsmessage.TypeAAAA, &dnsmessage.AAAAResource{AAAA: [16]byte{0x20, 0x01, 0x0d, 0xb8, 15: 7}}}}, nil},
		{"www.wiredojo.test.", dnsmessage.TypeCNAME, 0, []rr{{dnsmessage.TypeCNAME, &dnsmessage.CNAMEResource{CNAME: name("chat.wiredojo.test.")}}}, nil},
		{"wiredojo.test.", dnsmessage.TypeNS, 0, []rr{{dnsmessage.TypeNS, &dnsmessage.NSResource{NS: name("ns1.wiredojo.test.")}}, {dnsmessage.TypeNS, &dnsmessage.NSResource{NS: name("ns2.wiredojo.test.")}}}, nil},
		{"wiredojo.test.", dnsmessage.TypeMX, 0, []rr{{dnsmessage.TypeMX, &dnsmessage.MXResource{Pref: 10, MX: name("mail.wiredojo.test.")}}}, nil},
		{"wiredojo.test.", dnsmessage.TypeTXT, 0, []rr{{dnsmessage.TypeTXT, &dnsmessage.TXTResource{TXT: []string{"v=spf1 -all", "hello dojo"}}}}, nil},
		{"7.0.0.10.in-addr.arpa.", dnsmessage.TypePTR, 0, []rr{{dnsmessage.TypePTR, &dnsmessage.PTRResource{PTR: name("chat.wiredojo.test.")}}}, nil},
		{"wiredojo.test.", dnsmessage.TypeSOA, 0, []rr{{dnsmessage.TypeSOA, soa}}, nil},
		{"nope.wiredojo.test.", dnsmessage.TypeA, dnsmessage.RCodeNameError, nil, []rr{{dnsmessage.TypeSOA, soa}}},
		{"broken.wiredojo.test.", dnsmessage.TypeA, dnsmessage.RCodeServerFailure, nil, nil},
	}
	udp := func(src, dst net.IP, sp, dp uint16, payload []byte) {
		ip := b.ip4(src, dst, layers.IPProtocolUDP)
		u := &layers.UDP{SrcPort: layers.UDPPort(sp), DstPort: layers.UDPPort(dp)}
		u.SetNetworkLayerForChecksum(ip)
		b.frame(ip, u, gopacket.Payload(payload))
	}
	for i, e := range exchanges {
		id := uint16(0x1000 + i)
		udp(v4A, v4B, uint16(53000+i), 53, msg(id, e.q, e.qt, false, 0, nil, nil))
		udp(v4B, v4A, 53, uint16(53000+i), msg(id, e.q, e.qt, true, e.rc, e.ans, e.auth))
	}
	// DNS over TCP.
	c := newConn(b, 43000, 53, 20000, 30000)
	c.handshake(7, 7)
	prefix := func(m []byte) []byte { return append(binary.BigEndian.AppendUint16(nil, uint16(len(m))), m...) }
	e := exchanges[0]
	c.seg(true, "PA", nil, prefix(msg(0x2000, e.q, e.qt, false, 0, nil, nil)))
	c.seg(false, "PA", nil, prefix(msg(0x2000, e.q, e.qt, true, e.rc, e.ans, e.auth)))
	// Two queries in one segment.
	e2, e3 := exchanges[4], exchanges[5]
	c.seg(true, "PA", nil, append(prefix(msg(0x2001, e2.q, e2.qt, false, 0, nil, nil)), prefix(msg(0x2002, e3.q, e3.qt, false, 0, nil, nil))...))
	c.seg(false, "PA", nil, prefix(msg(0x2001, e2.q, e2.qt, true, 0, e2.ans, nil)))
	// One answer split over two segments.
	long := prefix(msg(0x2002, e3.q, e3.qt, true, 0, e3.ans, nil))
	c.seg(false, "PA", nil, long[:20])
	c.seg(true, "A", nil, nil)
	c.seg(false, "PA", nil, long[20:])
	c.close()
}

// deflater compresses WebSocket messages the way permessage-deflate does
// (RFC 7692): a raw DEFLATE stream flushed per message, its trailing
// 00 00 ff ff cut; with context takeover one stream for every message.
type deflater struct {
	takeover bool
	buf      bytes.Buffer
	w        *flate.Writer
}

func (d *deflater) compress(msg []byte) []byte {
	if d.w == nil || !d.takeover {
		d.buf.Reset()
		d.w, _ = flate.NewWriter(&d.buf, flate.BestCompression)
	}
	start := d.buf.Len()
	d.w.Write(msg)
	d.w.Flush()
	out := append([]byte(nil), d.buf.Bytes()[start:]...)
	return bytes.TrimSuffix(out, []byte{0, 0, 0xff, 0xff})
}

// buildWSDeflate: two WebSocket connections with permessage-deflate, one
// keeping the compression context between messages (both directions) and
// one resetting it; compressed and plain fragmented messages, an event
// inside a compressed message, pings, a close with a code and reason.
func buildWSDeflate(b *builder) {
	for i, takeover := range []bool{true, false} {
		c := newConn(b, uint16(44000+i), 7070, uint32(10000*(i+1)), uint32(70000*(i+1)))
		c.handshake(7, 7)
		ext := "permessage-deflate; client_max_window_bits"
		acc := "permessage-deflate"
		if !takeover {
			ext = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
			acc = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
		}
		c.seg(true, "PA", nil, []byte("GET /ws HTTP/1.1\r\nHost: 10.0.0.2:7070\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
			"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: "+ext+"\r\n\r\n"))
		c.seg(false, "PA", nil, []byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
			"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Extensions: "+acc+"\r\n\r\n"))
		cd, sd := &deflater{takeover: takeover}, &deflater{takeover: takeover}
		key := [4]byte{0x12, 0x34, 0x56, byte(0x78 + i)}
		cframe := func(fin, rsv1 bool, op ws.OpCode, p []byte) []byte {
			f := ws.AppendFrame(nil, ws.Header{Fin: fin, OpCode: op, Masked: true, Mask: key}, p)
			if rsv1 {
				f[0] |= 0x40
			}
			return f
		}
		sframe := func(fin, rsv1 bool, op ws.OpCode, p []byte) []byte {
			f := ws.AppendFrame(nil, ws.Header{Fin: fin, OpCode: op}, p)
			if rsv1 {
				f[0] |= 0x40
			}
			return f
		}
		hello := []byte("hello hello hello, compressed websocket")
		for n := 0; n < 2; n++ {
			c.seg(true, "PA", nil, cframe(true, true, ws.OpText, cd.compress(hello)))
			c.seg(false, "PA", nil, sframe(true, true, ws.OpText, sd.compress(hello)))
		}
		// A compressed event.
		ev := wire.Packet{Type: wire.TypeEvent, Namespace: "/chat", Event: "echo", Args: json.RawMessage(`["ping"]`), HasAck: true, AckID: 1}
		c.seg(true, "PA", nil, cframe(true, true, ws.OpBinary, cd.compress(ev.AppendTo(nil))))
		ack := wire.Packet{Type: wire.TypeAck, Namespace: "/chat", AckID: 1, Args: json.RawMessage(`["pong",{"n":1}]`)}
		c.seg(false, "PA", nil, sframe(true, true, ws.OpBinary, sd.compress(ack.AppendTo(nil))))
		// A compressed message in two fragments (RSV1 on the first only).
		z := cd.compress([]byte("a fragmented and compressed message, fragmented and compressed"))
		c.seg(true, "PA", nil, cframe(false, true, ws.OpText, z[:len(z)/2]))
		c.seg(true, "PA", nil, cframe(true, false, ws.OpContinuation, z[len(z)/2:]))
		// A plain message in three fragments, a ping between them.
		c.seg(true, "PA", nil, append(cframe(false, false, ws.OpText, []byte("plain ")), cframe(false, false, ws.OpContinuation, []byte("in three "))...))
		c.seg(true, "PA", nil, append(cframe(true, false, ws.OpPing, []byte("p")), cframe(true, false, ws.OpContinuation, []byte("fragments"))...))
		c.seg(false, "PA", nil, sframe(true, false, ws.OpPong, []byte("p")))
		// Close: the client says why, the server echoes the code.
		c.seg(true, "PA", nil, cframe(true, false, ws.OpClose, append([]byte{0x03, 0xeb}, "text only, please"...)))
		c.seg(false, "PA", nil, sframe(true, false, ws.OpClose, []byte{0x03, 0xeb}))
		c.close()
	}
}

// buildICMPErrors: ICMP and ICMPv6 errors quoting what caused them, and the
// ICMPv6 messages tcpdump names (echo, router and neighbour discovery).
func buildICMPErrors(b *builder) {
	// The datagram that bounces, and the ICMPv4 errors about it.
	ipq := &layers.IPv4{Version: 4, TTL: 1, Protocol: layers.IPProtocolUDP, SrcIP: v4A, DstIP: v4B, Id: 0x4242}
	uq := &layers.UDP{SrcPort: 50000, DstPort: 9999}
	uq.SetNetworkLayerForChecksum(ipq)
	quoted := b.frame(ipq, uq, gopacket.Payload("knock knock"))[14:]
	tq := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: v4A, DstIP: v4B, Id: 0x4243}
	tcpq := &layers.TCP{SrcPort: 41001, DstPort: 8080, Seq: 1, SYN: true, Window: 64240}
	tcpq.SetNetworkLayerForChecksum(tq)
	quotedTCP := b.frame(tq, tcpq)[14:]
	for _, e := range []struct {
		typ, code uint8
		src       net.IP
		q         []byte
		rest      uint32
	}{
		{3, 3, v4B, quoted, 0},         // port unreachable
		{3, 3, v4B, quotedTCP, 0},      // tcp port unreachable (a firewall's)
		{3, 1, v4R, quoted, 0},         // host unreachable
		{3, 0, v4R, quoted, 0},         // net unreachable
		{3, 4, v4R, quoted, 1400},      // need to frag, mtu 1400
		{3, 13, v4R, quotedTCP, 0},     // administratively prohibited
		{11, 0, v4R, quoted, 0},        // ttl exceeded in transit
		{11, 1, v4B, quoted, 0},        // fragment reassembly time exceeded
		{12, 0, v4R, quoted, 0},        // parameter problem
		{3, 2, v4B, quotedTCP[:28], 0}, // protocol unreachable, quoting only 8 bytes
	} {
		icmp := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(e.typ, e.code)}
		icmp.Id, icmp.Seq = uint16(e.rest>>16), uint16(e.rest)
		b.frame(b.ip4(e.src, v4A, layers.IPProtocolICMPv4), icmp, gopacket.Payload(e.q))
	}
	// ICMPv6.
	i6 := func(src, dst net.IP, t, c uint8, body ...gopacket.SerializableLayer) {
		ls := append([]gopacket.SerializableLayer{ip6(src, dst, layers.IPProtocolICMPv6), withCk6(src, dst, &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(t, c)})}, body...)
		ls[0].(*layers.IPv6).HopLimit = 255
		b.frame(ls...)
	}
	i6(v6A, v6B, 128, 0, &layers.ICMPv6Echo{Identifier: 1, SeqNumber: 2}, gopacket.Payload("ping6"))
	i6(v6B, v6A, 129, 0, &layers.ICMPv6Echo{Identifier: 1, SeqNumber: 2}, gopacket.Payload("ping6"))
	u6 := upper(v6A, v6B, layers.IPProtocolUDP, &layers.UDP{SrcPort: 50000, DstPort: 9999}, gopacket.Payload("knock6"))
	q6 := append(ip6Header(v6A, v6B, layers.IPProtocolUDP, len(u6)), u6...)
	b.frame(ip6(v6A, v6B, layers.IPProtocolUDP), gopacket.Payload(u6))
	i6(v6B, v6A, 1, 4, gopacket.Payload(append(make([]byte, 4), q6...))) // port unreachable
	i6(v6R, v6A, 1, 0, gopacket.Payload(append(make([]byte, 4), q6...))) // no route
	i6(v6R, v6A, 1, 3, gopacket.Payload(append(make([]byte, 4), q6...))) // address unreachable
	i6(v6R, v6A, 2, 0, gopacket.Payload(append(binary.BigEndian.AppendUint32(nil, 1280), q6...)))
	i6(v6R, v6A, 3, 0, gopacket.Payload(append(make([]byte, 4), q6...)))
	i6(v6R, v6A, 4, 0, gopacket.Payload(append(binary.BigEndian.AppendUint32(nil, 6), q6...)))
	all := net.ParseIP("ff02::2")
	llA := net.ParseIP("fe80::1")
	llR := net.ParseIP("fe80::fe")
	i6(llA, all, 133, 0, &layers.ICMPv6RouterSolicitation{})
	i6(llR, net.ParseIP("ff02::1"), 134, 0, &layers.ICMPv6RouterAdvertisement{HopLimit: 64, RouterLifetime: 1800})
	i6(llA, net.ParseIP("ff02::1:ff00:2"), 135, 0, &layers.ICMPv6NeighborSolicitation{TargetAddress: v6B})
	i6(v6B, v6A, 136, 0, &layers.ICMPv6NeighborAdvertisement{TargetAddress: v6B, Flags: 0x60})
}

// ip6Header returns a bare IPv6 header.
func ip6Header(src, dst net.IP, next layers.IPProtocol, plen int) []byte {
	h := make([]byte, 40)
	h[0] = 0x60
	binary.BigEndian.PutUint16(h[4:], uint16(plen))
	h[6] = byte(next)
	h[7] = 64
	copy(h[8:], src.To16())
	copy(h[24:], dst.To16())
	return h
}
