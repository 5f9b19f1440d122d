// Package stats owns the delivery statistics of a wiredojo-udp stream:
// received, lost, duplicates, reordered, RFC 3550 interarrival jitter,
// one-way latency percentiles and throughput, computed from the datagram
// headers and arrival times a receiver feeds it.
//
// It does no I/O and starts no goroutines; udpcast/udpio's receiver keeps
// one Stream per sender, and udpcast/compare uses the same Stream for both
// sides of the comparison. A Stream keeps bounded memory however long the
// run: a sliding window of sequence numbers for duplicate detection and a
// log-linear latency histogram (about 1.5% resolution).
//
// Example:
//
//	var s stats.Stream
//	for each datagram {
//		h, _, err := udpcast.DecodeHeader(b)
//		...
//		s.Add(h, len(b), arrivalNS)
//	}
//	sum := s.Summary()
package stats
