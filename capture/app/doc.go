// Package app owns the application-layer decoders of the capture viewer. They
// read reassembled TCP byte streams, one direction at a time and in order,
// never a segment on its own: HTTP/1.x heads (and the WebSocket upgrade),
// WebSocket frames (several per segment or split across segments, masked or
// not, shown unmasked with their masking key; close codes and reasons;
// fragmented messages joined; permessage-deflate messages inflated, with or
// without context takeover per direction as the 101 response agreed), TLS
// records with their handshake type, wiredojo's framed event protocol, DNS
// over TCP (behind its 2-byte length) and, for UDP payloads, DNS messages
// and wiredojo-udp datagrams. Engine.IO and Socket.IO packets are decoded
// in WebSocket messages and long-polling bodies; a Socket.IO packet's binary
// attachments are joined to it within a WebSocket, and over long-polling
// across the requests and connections of one session (Sessions).
//
// Our own protocols are decoded with their own stateless codecs: framing.Split,
// framing/ws (ParseHTTPHead, Split, Mask), tcpchat/wire (Preamble, Parse) and
// udpcast (DecodeHeader); this package re-implements none of them. It does
// not reassemble TCP (capture/decode does and calls Dir.Feed).
//
// A PDU is reported on the packet in which its last byte arrives: Feed
// appends a layer for every PDU that completes in the bytes it is given.
package app
