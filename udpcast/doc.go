// Package udpcast owns the wiredojo-udp datagram header: a stateless codec
// that the UDP sender, the receiver and the capture viewer share.
//
// Every wiredojo-udp datagram starts with a 32-byte header (see
// docs/PROTOCOL.md, "UDP datagram header"):
//
//	offset size field
//	0      4    magic "WDUP"
//	4      1    version (1)
//	5      1    flags (FlagEnd)
//	6      2    header length in bytes (32 for version 1), big-endian
//	8      8    run id, big-endian
//	16     8    sequence number, big-endian (0, 1, 2, ... per run)
//	24     8    send time, Unix nanoseconds, big-endian
//	32     ...  payload
//
// The package imports only the standard library, starts no goroutines and
// never panics on input, so decoders of untrusted bytes (capture) can import
// it. It does not send, receive, impair or count datagrams; its
// sub-packages do, each with one job:
//
//   - udpcast/impair: the seeded impairment pipeline (wiredojo's own netem);
//   - udpcast/stats: delivery statistics of a stream (loss, duplicates,
//     reordering, RFC 3550 jitter, latency, throughput);
//   - udpcast/udpio: the sender and receiver (unicast, broadcast, multicast,
//     batch I/O, GSO/GRO, pacing);
//   - udpcast/link: two network namespaces joined by TUN devices through the
//     pipeline, for real kernel TCP and UDP;
//   - udpcast/compare: the TCP-versus-UDP comparison;
//   - udpcast/report: its terminal and HTML rendering.
//
// Example:
//
//	b := udpcast.Header{RunID: run, Seq: 7, SentNS: time.Now().UnixNano()}.AppendTo(buf[:0])
//	b = append(b, payload...)
//	...
//	h, payload, err := udpcast.DecodeHeader(datagram)
package udpcast
