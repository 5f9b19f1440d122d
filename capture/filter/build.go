package filter

import (
	"fmt"
	"net"

	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/bpf"
)

// linkKind is how a link type frames the network layer.
type linkKind int

const (
	lkEther linkKind = iota // Ethernet II: EtherType at 12, network layer at 14
	lkSLL                   // Linux cooked v1: protocol at 14, network layer at 16
	lkSLL2                  // Linux cooked v2: protocol at 0, network layer at 20
	lkNull                  // BSD loopback: 4-byte address family in host (little-endian) order
	lkLoop                  // OpenBSD loopback: 4-byte address family in network order
	lkRaw                   // raw IP, version in the first nibble
	lkIPv4                  // raw IPv4 only
	lkIPv6                  // raw IPv6 only
)

// EtherTypes, IP protocol numbers and IPv4 fragment bits used by the primitives.
const (
	etIPv4 = 0x0800
	etARP  = 0x0806
	etRARP = 0x8035
	etIPv6 = 0x86dd

	protoICMP   = 1
	protoIGMP   = 2
	protoTCP    = 6
	protoUDP    = 17
	protoFrag6  = 44
	protoICMPv6 = 58
	protoSCTP   = 132
)

// builder knows the link type and builds the tree of each primitive.
type builder struct {
	kind  linkKind
	nl    uint32 // offset of the network-layer header
	etOff uint32 // offset of the EtherType (Ethernet, SLL, SLL2)
}

func newBuilder(link layers.LinkType) (*builder, error) {
	switch link {
	case layers.LinkTypeEthernet:
		return &builder{kind: lkEther, nl: 14, etOff: 12}, nil
	case layers.LinkTypeLinuxSLL:
		return &builder{kind: lkSLL, nl: 16, etOff: 14}, nil
	case layers.LinkTypeLinuxSLL2:
		return &builder{kind: lkSLL2, nl: 20, etOff: 0}, nil
	case layers.LinkTypeNull:
		return &builder{kind: lkNull, nl: 4}, nil
	case layers.LinkTypeLoop:
		return &builder{kind: lkLoop, nl: 4}, nil
	case layers.LinkTypeRaw, 12, 14: // LINKTYPE_RAW and the DLT_RAW values some systems use
		return &builder{kind: lkRaw, nl: 0}, nil
	case layers.LinkTypeIPv4:
		return &builder{kind: lkIPv4, nl: 0}, nil
	case layers.LinkTypeIPv6:
		return &builder{kind: lkIPv6, nl: 0}, nil
	}
	return nil, fmt.Errorf("%w: %d (%s)", ErrLinkType, int(link), link)
}

// linkProto tests that the link layer carries the given EtherType.
func (b *builder) linkProto(et uint32) bnode {
	switch b.kind {
	case lkEther, lkSLL:
		if et <= 1500 { // an 802.2 LLC SAP, not an EtherType
			var isLLC bnode
			if b.kind == lkEther {
				isLLC = not(cmpK(ld(b.etOff, 2), bpf.JumpGreaterThan, 1500))
			} else {
				isLLC = eqK(ld(b.etOff, 2), 4) // LINUX_SLL_P_802_2
			}
			switch et {
			case 0x06, 0xf0, 0xfe: // IP, NetBEUI, ISO: DSAP and SSAP
				return and(isLLC, eqK(ld(b.nl, 2), et<<8|et))
			}
			return and(isLLC, eqK(ld(b.nl, 1), et))
		}
		return eqK(ld(b.etOff, 2), et)
	case lkSLL2:
		return eqK(ld(b.etOff, 2), et)
	case lkNull, lkLoop:
		fam := func(v uint32) bnode {
			if b.kind == lkNull { // host order of a little-endian writer, read big-endian
				v = v<<24 | (v<<8)&0xff0000 | (v>>8)&0xff00 | v>>24
			}
			return eqK(ld(0, 4), v)
		}
		switch et {
		case etIPv4:
			return fam(2)
		case etIPv6: // AF_INET6 is 30 on Darwin, 24 on NetBSD/OpenBSD, 28 on FreeBSD
			return or(fam(30), fam(24), fam(28))
		}
		return bFalse{}
	case lkRaw:
		switch et {
		case etIPv4:
			return eqK(maskK(ld(0, 1), 0xf0), 0x40)
		case etIPv6:
			return eqK(maskK(ld(0, 1), 0xf0), 0x60)
		}
		return bFalse{}
	case lkIPv4:
		if et == etIPv4 {
			return bTrue{}
		}
		return bFalse{}
	case lkIPv6:
		if et == etIPv6 {
			return bTrue{}
		}
		return bFalse{}
	}
	return bFalse{}
}

// nlLoad loads size bytes at off in the network-layer header.
func (b *builder) nlLoad(off uint32, size int) arith { return ld(b.nl+off, size) }

// notFrag holds for an IPv4 packet that is not a second or later fragment.
func (b *builder) notFrag() bnode {
	return not(cmpK(b.nlLoad(6, 2), bpf.JumpBitsSet, 0x1fff))
}

// ipProto is "ip proto p".
func (b *builder) ipProto(p uint32) bnode {
	return and(b.linkProto(etIPv4), eqK(b.nlLoad(9, 1), p))
}

// ip6Proto is "ip6 proto p": the next header, or the one after a fragment header.
func (b *builder) ip6Proto(p uint32) bnode {
	nxt := b.nlLoad(6, 1)
	return and(b.linkProto(etIPv6), or(eqK(nxt, p), and(eqK(nxt, protoFrag6), eqK(b.nlLoad(40, 1), p))))
}

// protoAbbrev is a protocol name used alone: ip, tcp, icmp6, ...
func (b *builder) protoAbbrev(name string) (bnode, error) {
	switch name {
	case "ip":
		return b.linkProto(etIPv4), nil
	case "ip6":
		return b.linkProto(etIPv6), nil
	case "arp":
		return b.linkProto(etARP), nil
	case "rarp":
		return b.linkProto(etRARP), nil
	case "tcp", "udp", "sctp":
		p := ipProtoNames[name]
		return or(b.ipProto(p), b.ip6Proto(p)), nil
	case "icmp":
		return b.ipProto(protoICMP), nil
	case "igmp":
		return b.ipProto(protoIGMP), nil
	case "icmp6":
		return b.ip6Proto(protoICMPv6), nil
	case "ether", "link":
		return bTrue{}, nil
	}
	return nil, errf("%q is not supported by this compiler", name)
}

// dirOp combines the source and destination tests of a direction qualifier.
func dirOp(dir string, src, dst func() bnode) (bnode, error) {
	switch dir {
	case "src":
		return src(), nil
	case "dst":
		return dst(), nil
	case "", "src or dst":
		return or(src(), dst()), nil
	case "src and dst":
		return and(src(), dst()), nil
	}
	return nil, errf("direction %q is not supported", dir)
}

// host4 is the IPv4 host/net test for (proto, dir) with a masked address.
func (b *builder) host4(addr, mask uint32, proto, dir, what string) (bnode, error) {
	op := func(et, srcOff, dstOff uint32) (bnode, error) {
		t, err := dirOp(dir,
			func() bnode { return eqK(maskK(b.nlLoad(srcOff, 4), mask), addr) },
			func() bnode { return eqK(maskK(b.nlLoad(dstOff, 4), mask), addr) })
		if err != nil {
			return nil, err
		}
		return and(b.linkProto(et), t), nil
	}
	switch proto {
	case "":
		ip, err := op(etIPv4, 12, 16)
		if err != nil {
			return nil, err
		}
		arp, _ := op(etARP, 14, 24)
		rarp, _ := op(etRARP, 14, 24)
		return or(ip, arp, rarp), nil
	case "ip":
		return op(etIPv4, 12, 16)
	case "arp":
		return op(etARP, 14, 24)
	case "rarp":
		return op(etRARP, 14, 24)
	case "ip6":
		return nil, errf("'ip6' modifier applied to an IPv4 %s", what)
	case "ether", "link":
		return nil, errf("link-layer modifier applied to %s; use an Ethernet address (ether host 01:02:03:04:05:06)", what)
	}
	return nil, errf("'%s' modifier applied to %s", proto, what)
}

// host6 is the IPv6 host/net test.
func (b *builder) host6(addr net.IP, mask net.IPMask, proto, dir, what string) (bnode, error) {
	switch proto {
	case "", "ip6":
	case "ip":
		return nil, errf("'ip' modifier applied to an IPv6 %s", what)
	default:
		return nil, errf("'%s' modifier applied to an IPv6 %s", proto, what)
	}
	words := func(off uint32) bnode {
		var n bnode = bTrue{}
		for i := 0; i < 4; i++ {
			m := uint32(mask[4*i])<<24 | uint32(mask[4*i+1])<<16 | uint32(mask[4*i+2])<<8 | uint32(mask[4*i+3])
			a := uint32(addr[4*i])<<24 | uint32(addr[4*i+1])<<16 | uint32(addr[4*i+2])<<8 | uint32(addr[4*i+3])
			if m == 0 {
				continue
			}
			n = and(n, eqK(maskK(b.nlLoad(off+uint32(4*i), 4), m), a&m))
		}
		return n
	}
	t, err := dirOp(dir, func() bnode { return words(8) }, func() bnode { return words(24) })
	if err != nil {
		return nil, err
	}
	return and(b.linkProto(etIPv6), t), nil
}

// etherHost is "ether [src|dst] host MAC".
func (b *builder) etherHost(mac net.HardwareAddr, dir string) (bnode, error) {
	if b.kind != lkEther {
		return nil, errf("Ethernet addresses are supported only on Ethernet captures")
	}
	at := func(off uint32) bnode {
		lo := uint32(mac[2])<<24 | uint32(mac[3])<<16 | uint32(mac[4])<<8 | uint32(mac[5])
		hi := uint32(mac[0])<<8 | uint32(mac[1])
		return and(eqK(ld(off+2, 4), lo), eqK(ld(off, 2), hi))
	}
	return dirOp(dir, func() bnode { return at(6) }, func() bnode { return at(0) })
}

// transport protocols a port qualifier can name.
func portProtos(proto string) ([]uint32, error) {
	switch proto {
	case "":
		return []uint32{protoTCP, protoUDP, protoSCTP}, nil
	case "tcp":
		return []uint32{protoTCP}, nil
	case "udp":
		return []uint32{protoUDP}, nil
	case "sctp":
		return []uint32{protoSCTP}, nil
	}
	return nil, errf("illegal qualifier of 'port': %q (use tcp, udp or sctp, or none)", proto)
}

// ports is the port/portrange test: lo <= port <= hi.
func (b *builder) ports(lo, hi uint32, proto, dir string) (bnode, error) {
	protos, err := portProtos(proto)
	if err != nil {
		return nil, err
	}
	if lo > hi {
		lo, hi = hi, lo
	}
	inRange := func(a arith) bnode {
		if lo == hi {
			return eqK(a, lo)
		}
		return and(cmpK(a, bpf.JumpGreaterOrEqual, lo), not(cmpK(a, bpf.JumpGreaterThan, hi)))
	}
	protoIs := func(nxt arith) bnode {
		var n bnode = bFalse{}
		for _, p := range protos {
			n = or(n, eqK(nxt, p))
		}
		return n
	}
	// IPv6 without extension headers
	t6, err := dirOp(dir,
		func() bnode { return inRange(b.nlLoad(40, 2)) },
		func() bnode { return inRange(b.nlLoad(42, 2)) })
	if err != nil {
		return nil, err
	}
	v6 := and(b.linkProto(etIPv6), protoIs(b.nlLoad(6, 1)), t6)
	// IPv4: first fragments only, header length from IHL
	tl := func(off uint32) arith { return &aLoad{off: b.nl + off, size: 2, msh: true, mshOff: b.nl} }
	t4, _ := dirOp(dir, func() bnode { return inRange(tl(0)) }, func() bnode { return inRange(tl(2)) })
	v4 := and(b.linkProto(etIPv4), protoIs(b.nlLoad(9, 1)), b.notFrag(), t4)
	return or(v6, v4), nil
}

// protoNum is "[ip|ip6|ether] proto N".
func (b *builder) protoNum(v uint32, proto string) (bnode, error) {
	switch proto {
	case "":
		return or(b.ipProto(v), b.ip6Proto(v)), nil
	case "ip":
		return b.ipProto(v), nil
	case "ip6":
		return b.ip6Proto(v), nil
	case "ether", "link":
		switch v {
		case 0xe0, 0x809b, 0x80f3: // IPX, AppleTalk, AARP: libpcap looks into SNAP headers
			if b.kind == lkEther || b.kind == lkSLL {
				return nil, errf("ether proto 0x%x (IPX/AppleTalk) is not supported", v)
			}
		}
		return b.linkProto(v), nil
	}
	return nil, errf("'%s proto' is not supported (use ip, ip6 or ether proto)", proto)
}

// broadcast is "[ether|ip] broadcast".
func (b *builder) broadcast(proto string) (bnode, error) {
	switch proto {
	case "", "ether", "link":
		if b.kind != lkEther {
			return nil, errf("link-layer broadcast filters are supported only on Ethernet captures")
		}
		return and(eqK(ld(2, 4), 0xffffffff), eqK(ld(0, 2), 0xffff)), nil
	case "ip":
		// like tcpdump reading a file (netmask 0): all-zeros or all-ones destination
		dst := b.nlLoad(16, 4)
		return and(b.linkProto(etIPv4), or(eqK(dst, 0), eqK(dst, 0xffffffff))), nil
	}
	return nil, errf("'%s broadcast' is not supported (use ether or ip broadcast)", proto)
}

// multicast is "[ether|ip|ip6] multicast".
func (b *builder) multicast(proto string) (bnode, error) {
	switch proto {
	case "", "ether", "link":
		if b.kind != lkEther {
			return nil, errf("link-layer multicast filters are supported only on Ethernet captures")
		}
		return cmpK(ld(0, 1), bpf.JumpBitsSet, 1), nil
	case "ip":
		return and(b.linkProto(etIPv4), cmpK(b.nlLoad(16, 1), bpf.JumpGreaterOrEqual, 224)), nil
	case "ip6":
		return and(b.linkProto(etIPv6), eqK(b.nlLoad(24, 1), 0xff)), nil
	}
	return nil, errf("'%s multicast' is not supported (use ether, ip or ip6 multicast)", proto)
}

// direction is "outbound" (out true) or "inbound": the packet type of a
// Linux cooked capture (PACKET_OUTGOING is 4).
func (b *builder) direction(out bool) (bnode, error) {
	var n bnode
	switch b.kind {
	case lkSLL:
		n = eqK(ld(0, 2), 4)
	case lkSLL2:
		n = eqK(ld(10, 1), 4)
	default:
		return nil, errf("inbound/outbound need a Linux cooked capture (SLL or SLL2); this link type does not record the direction")
	}
	if !out {
		n = not(n)
	}
	return n, nil
}

// vlan is "vlan [id]": an 802.1Q/802.1ad tag (with that VLAN id). Like
// libpcap, everything after it in the expression looks 4 bytes further into
// the packet, past the tag.
func (b *builder) vlan(id int) (bnode, error) {
	if b.kind != lkEther {
		return nil, errf("vlan is supported only on Ethernet captures")
	}
	if id > 4095 {
		return nil, errf("VLAN tag %d greater than maximum 4095", id)
	}
	et := ld(b.etOff, 2)
	n := or(eqK(et, 0x8100), eqK(et, 0x88a8), eqK(et, 0x9100))
	if id >= 0 {
		n = and(n, eqK(maskK(ld(b.etOff+2, 2), 0xfff), uint32(id)))
	}
	b.etOff += 4
	b.nl += 4
	return n, nil
}

// accessor returns the precondition and the load for proto[idx:size].
func (b *builder) accessor(proto string, idx arith, size int) (bnode, arith, error) {
	if size != 1 && size != 2 && size != 4 {
		return nil, nil, errf("data size must be 1, 2, or 4, not %d", size)
	}
	mk := func(base uint32, msh bool) arith {
		l := &aLoad{off: base, size: size, msh: msh, mshOff: b.nl}
		if k, ok := idx.(aConst); ok {
			l.off += uint32(k)
		} else {
			l.idx = idx
		}
		return l
	}
	switch proto {
	case "ether", "link":
		return bTrue{}, mk(0, false), nil
	case "ip":
		return b.linkProto(etIPv4), mk(b.nl, false), nil
	case "ip6":
		return b.linkProto(etIPv6), mk(b.nl, false), nil
	case "arp":
		return b.linkProto(etARP), mk(b.nl, false), nil
	case "rarp":
		return b.linkProto(etRARP), mk(b.nl, false), nil
	case "tcp", "udp", "icmp", "sctp", "igmp":
		return and(b.ipProto(ipProtoNames[proto]), b.notFrag()), mk(b.nl, true), nil
	case "icmp6":
		return and(b.linkProto(etIPv6), eqK(b.nlLoad(6, 1), protoICMPv6)), mk(b.nl+40, false), nil
	}
	return nil, nil, errf("'%s[...]' is not supported", proto)
}

// ipProtoNames maps names usable after "proto \" (and protocol keywords) to IP protocol numbers.
var ipProtoNames = map[string]uint32{
	"icmp": protoICMP, "igmp": protoIGMP, "ipip": 4, "tcp": protoTCP, "egp": 8, "udp": protoUDP,
	"ipv6": 41, "ip6": 41, "rsvp": 46, "gre": 47, "esp": 50, "ah": 51, "icmp6": protoICMPv6, "ipv6-icmp": protoICMPv6,
	"ospf": 89, "pim": 103, "vrrp": 112, "sctp": protoSCTP,
}

// etherProtoNames maps names usable after "ether proto \" to EtherTypes.
var etherProtoNames = map[string]uint32{
	"ip": etIPv4, "ip6": etIPv6, "arp": etARP, "rarp": etRARP,
}

// servicePort is a service name's port and the one transport protocol it
// is defined for in Debian's /etc/services ("" for both TCP and UDP).
type servicePort struct {
	port  uint32
	proto string
}

// portNames are the service names port and portrange accept (a fixed table,
// no /etc/services lookup), restricted to a protocol where tcpdump would be.
var portNames = map[string]servicePort{
	"echo": {7, ""}, "discard": {9, ""}, "daytime": {13, ""}, "ftp-data": {20, "tcp"}, "ftp": {21, "tcp"},
	"ssh": {22, "tcp"}, "telnet": {23, "tcp"}, "smtp": {25, "tcp"}, "time": {37, ""}, "domain": {53, ""},
	"bootps": {67, "udp"}, "bootpc": {68, "udp"}, "tftp": {69, "udp"}, "gopher": {70, "tcp"}, "finger": {79, "tcp"},
	"http": {80, "tcp"}, "www": {80, "tcp"}, "kerberos": {88, ""}, "pop3": {110, "tcp"}, "sunrpc": {111, ""},
	"auth": {113, "tcp"}, "nntp": {119, "tcp"}, "ntp": {123, "udp"}, "netbios-ns": {137, "udp"},
	"netbios-dgm": {138, "udp"}, "netbios-ssn": {139, "tcp"}, "imap2": {143, "tcp"}, "imap": {143, "tcp"},
	"snmp": {161, ""}, "snmp-trap": {162, ""}, "bgp": {179, "tcp"}, "ldap": {389, ""}, "https": {443, ""},
	"microsoft-ds": {445, "tcp"}, "syslog": {514, "udp"}, "submission": {587, "tcp"}, "ldaps": {636, ""},
	"imaps": {993, "tcp"}, "pop3s": {995, "tcp"}, "openvpn": {1194, ""}, "mysql": {3306, "tcp"},
	"postgresql": {5432, "tcp"}, "redis": {6379, "tcp"}, "http-alt": {8080, "tcp"},
}
