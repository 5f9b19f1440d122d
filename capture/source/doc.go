// Package source owns where packets come from and where they are saved: it
// reads pcap and pcapng files (several interfaces; link types Ethernet, Linux
// cooked SLL and SLL2, loopback/null and raw IP), writes pcap and pcapng, and
// captures live from an interface through an AF_PACKET socket without cgo
// (gopacket/pcapgo), dropping the outgoing copy of each packet on loopback;
// on the "any" pseudo-interface (AnyInterface) through a cooked socket on
// every interface, each packet with a Linux SLL2 header (interface index,
// packet type, link address), as libpcap does.
//
// Readers are written here rather than taken from pcapgo so that every error
// on a damaged file names the file and the byte offset of the bad record, and
// so that reading allocates nothing per packet. It does not decode packets
// (capture/decode) or filter them (capture/filter).
//
//	src, err := source.OpenFile("chat.pcapng")
//	if err != nil { ... }
//	defer src.Close()
//	for {
//		data, info, err := src.Next()
//		if err == io.EOF { break }
//		if err != nil { ... } // a *FileError: file, offset, what
//		_ = src.LinkType(info.IfIndex)
//	}
package source
