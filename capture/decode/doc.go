// Package decode owns turning captured bytes into capture.Packet layers: link
// to transport with gopacket's DecodingLayerParser (Ethernet, Linux SLL and
// SLL2, loopback, raw IP, ARP, IPv4, IPv6, ICMPv4, ICMPv6 with what an
// error quotes, TCP with its options, UDP, and DNS on UDP), IPv4 and IPv6
// fragment reassembly, TCP stream tracking and reassembly (in order,
// retransmissions, out-of-order segments) with tcpdump's relative sequence
// numbers, the window scaled once both SYNs agreed on a shift, stream
// indexes and expert notes (retransmission, duplicate ACK, out-of-order,
// zero window, reset), and handing reassembled bytes to the application
// decoders of capture/app. A packet the snapshot length cut keeps the
// lengths its headers give (TCP payload from the IP length) and is marked
// Truncated; a cut TCP segment is decoded on its own, as tshark does.
//
// A Decoder is stateful (streams, fragments) and used by one goroutine; it
// allocates nothing per packet in steady state. It does not read sources,
// filter or print.
//
//	dec := decode.New(decode.Options{})
//	var pkt capture.Packet
//	dec.Decode(data, layers.LinkTypeEthernet, &pkt)
package decode
