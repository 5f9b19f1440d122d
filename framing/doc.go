// Package framing owns wiredojo's length-prefixed frame codec: every frame on
// the wire is a 4-byte big-endian payload length followed by that many bytes.
//
// The package is a stateless codec plus two small stateful helpers. It starts
// no goroutines and knows nothing of what the payload means: the event
// protocol lives in tcpchat/wire, WebSocket in framing/ws.
//
//   - AppendFrame, ParseHeader and Split encode and decode frames in byte
//     slices; the capture viewer uses Split on reassembled TCP streams.
//   - Reader reads frames from an io.Reader, checks each length against a
//     limit before it allocates, reuses its buffer and copes with partial
//     reads (one byte at a time is fine).
//   - Writer queues frames and sends them in one write (writev through
//     net.Buffers on a net.Conn).
//
// Example:
//
//	w := framing.NewWriter(conn)
//	w.Queue([]byte("hello"))
//	w.Queue([]byte("world"))
//	err := w.Flush() // one writev for both frames
//
//	r := framing.NewReader(conn, framing.DefaultMaxFrame)
//	for {
//		p, err := r.ReadFrame() // p is valid until the next ReadFrame
//		...
//	}
package framing
