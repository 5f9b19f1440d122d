// Package filter compiles tcpdump's capture-filter language to classic BPF
// with a pure-Go compiler, and runs the result on packets in a BPF virtual
// machine (golang.org/x/net/bpf). The same program can be attached to a
// socket in the kernel (RawInstructions, for SO_ATTACH_FILTER).
//
// It owns the lexer, the parser, the code generator (short-circuit jumps,
// then a small data-flow optimizer that drops repeated loads and tests whose
// outcome is known, so "tcp port 80" is the 20 instructions tcpdump emits),
// the matcher and a dumper in the format of `tcpdump -d`. Programs select
// the packets tcpdump's do; they are not always instruction for instruction
// the same. It does not open captures, decode
// packets or resolve names: host and network names are rejected (use
// addresses), and service names come from a small built-in table.
//
// # Grammar
//
//	expr      = term { ("and" | "&&" | "or" | "||") (term | id) }   // and/or: same precedence, left to right
//	term      = ("not" | "!") term | "(" expr ")" | primitive | relation
//	primitive = [proto] [dir] [type] id                           // at least one qualifier
//	          | proto                                              // ip ip6 arp rarp tcp udp icmp icmp6 sctp igmp
//	          | [ether | ip | ip6] ("broadcast" | "multicast")
//	          | "less" NUM | "greater" NUM
//	          | "vlan" [NUM]                                       // Ethernet only
//	          | "inbound" | "outbound"                             // SLL and SLL2 only
//	proto     = ether | link | ip | ip6 | arp | rarp | tcp | udp | icmp | icmp6 | sctp | igmp
//	dir       = src | dst | src or dst | src and dst
//	type      = host | net | port | portrange | proto
//	id        = IPv4 [ "/" len | mask IPv4 ] | IPv6 [ "/" len ] | MAC | NUM | name | "\"name
//	          | ("not" | "!") id | "(" id { (and | or) id } ")"
//	relation  = arith ( ">" | ">=" | "=" | "==" | "!=" | "<" | "<=" ) arith
//	arith     = NUM | len | constant | proto "[" arith [ ":" (1|2|4) ] "]" | "(" arith ")" | "-" arith
//	          | arith ( "+" | "-" | "*" | "/" | "%" | "&" | "|" | "^" | "<<" | ">>" ) arith
//
// Numbers are decimal, 0x hex or 0-prefixed octal. Operator precedence, low
// to high: | & (<< >>) (+ -) (* /), unary minus; "^" and "%", as in
// libpcap's grammar where they have no precedence, take everything to their
// right ("a * b % c + d" is "a * (b % (c + d))"). As in libpcap, a shift
// whose right operand starts with a number above 31, or a division whose
// right operand starts with 0, is an error ("x >> tcp[40]" included); so
// is a divisor that folds to 0 (tcpdump sometimes compiles those to a
// run-time rejection instead). Shifting by 32 or more gives 0, as in
// libpcap's interpreter. Constants: tcpflags, tcp-fin,
// tcp-syn, tcp-rst, tcp-push, tcp-ack, tcp-urg, tcp-ece, tcp-cwr, icmptype,
// icmpcode, icmp-echo, icmp-echoreply, icmp-unreach, ... icmp6type,
// icmp6code, icmp6-echo, icmp6-echoreply, icmp6-neighborsolicit, ...
//
// A bare id after and/or takes the qualifiers of the primitive before it,
// as in tcpdump: "host a or b" is "host a or host b", "port 80 or 443" is
// "port 80 or port 443", "host a and not b" is "host a and not host b".
//
// # Semantics (those of tcpdump 4.99 / libpcap 1.10)
//
//   - host/net with an IPv4 address test IPv4, ARP and RARP addresses; a
//     short address ("net 10.1", "host 10.1") is a prefix; ip6 hosts and
//     networks test IPv6 only.
//   - port/portrange test TCP, UDP and SCTP (or the one named), on IPv4 only
//     in first fragments with the header length from IHL, and on IPv6 only
//     directly after the fixed header. Service names restrict the protocol
//     as /etc/services does ("port http" is TCP only).
//   - tcp, udp, sctp and icmp6 also find the protocol after an IPv6
//     fragment header; tcp[...], udp[...], icmp[...] are IPv4 only (first
//     fragments), icmp6[...] is relative to a fixed 40-byte IPv6 header.
//   - In "a OP b" inside an arithmetic expression only the protocol test of
//     a is kept, as in libpcap ("ip[0] + tcp[0] = 1" does not test for TCP).
//   - "ether proto N" with N <= 1500 is an 802.2 LLC SAP on Ethernet and SLL
//     (0x06, 0xf0 and 0xfe test DSAP and SSAP), as in libpcap; IPX and
//     AppleTalk are not supported.
//   - A packet too short for a load fails the whole filter, as in any BPF
//     program. tcpdump's optimizer sometimes drops loads that cannot change
//     the result ("0 << tcp[0:2]"); this compiler keeps them, so such a
//     packet can match there and not here.
//   - "len" (and less, greater) is the packet's length on the wire with
//     MatchWire, as in tcpdump; Match, which has only the captured bytes,
//     uses their length (they differ only for truncated packets).
//
// Link types: Ethernet, Linux cooked SLL and SLL2, BSD loopback (Null,
// address family in little-endian host order) and OpenBSD loopback (Loop),
// raw IP (Raw, IPv4, IPv6). Ethernet addresses, ether broadcast and ether
// multicast need Ethernet. "vlan [id]" matches an 802.1Q/802.1ad/0x9100
// tag (with that id) and, like libpcap, moves everything after it in the
// expression 4 bytes further into the packet ("vlan and vlan 3" is QinQ).
// "inbound"/"outbound" test the packet type of a Linux cooked capture.
// Gateway, protochain, mpls and the other tcpdump primitives are not
// supported and say so.
//
// In the kernel (RawInstructions attached to an AF_PACKET socket) the
// program sees what the socket delivers: compile for Ethernet on a raw
// socket (lo included). Linux strips VLAN tags into packet metadata, so
// "vlan" only matches in files and user space; and a cooked (SOCK_DGRAM)
// socket carries no SLL header, so filter cooked captures with Match.
// In the kernel "len" is the length on the wire, as with MatchWire: it
// runs the program on the whole packet and only then cuts it to the
// program's result, the snapshot length (capture/source's
// TestLiveKernelLenIsWireLength).
//
// Example:
//
//	prog, err := filter.Compile("tcp port 7070 and tcp[tcpflags] & tcp-syn != 0", layers.LinkTypeEthernet, 262144)
//	if err != nil {
//		return err // a *filter.SyntaxError points at the column
//	}
//	if prog.Match(packetBytes) { ... }
package filter
