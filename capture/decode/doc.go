// Package decode owns turning captured bytes into capture.Packet layers: link
// to transport with gopacket's DecodingLayerParser (Ethernet, Linux SLL and
// SLL2, loopback, raw IP, ARP, IPv4, IPv6, ICMPv4, ICMPv6, TCP, UDP, and DNS
// on UDP), IPv4 fragment reassembly, TCP stream tracking and reassembly (in
// order, retransmissions, out-of-order segments) with relative sequence
// numbers, stream indexes and expert notes (retransmission, duplicate ACK,
// out-of-order, zero window, reset), and handing reassembled bytes to the
// application decoders of capture/app.
//
// A Decoder is stateful (streams, fragments) and used by one goroutine; it
// allocates nothing per packet in steady state. It does not read sources,
// filter or print.
//
//	dec := decode.New(decode.Options{})
//	var pkt capture.Packet
//	dec.Decode(data, layers.LinkTypeEthernet, &pkt)
package decode
