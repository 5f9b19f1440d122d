// Package capture owns wiredojo's layer model of a captured packet: a Packet
// with its capture metadata and the ordered Layers decoded from it, each layer
// placed on the OSI model (1–7) and on the TCP/IP model (link, internet,
// transport, application), with a note where textbooks disagree (ARP, TLS).
//
// It does not read files or sockets (capture/source), decode bytes
// (capture/decode, capture/app), compile filters (capture/filter), print
// (capture/render) or compute statistics (capture/analysis). A Packet and its
// Layers are plain values, reused from one packet to the next by the decoder
// so that decoding allocates nothing in steady state; copy what you keep.
//
//	pkt := new(capture.Packet)
//	dec.Decode(data, info, pkt) // fills pkt.Layers
//	for _, l := range pkt.Layers {
//		p := capture.Place(l.Proto)
//		fmt.Println(p.OSI, p.TCPIP, l.Proto)
//	}
package capture
