// Package wire owns the packet codec of wiredojo's event protocol: how a
// handshake, a namespace connect, an event, an acknowledgement, a heartbeat,
// an error or a durable-queue operation is laid out inside one frame payload.
//
// It is stateless and starts no goroutines. It does not own the framing (the
// 4-byte length prefix is package framing's job, and over WebSocket a packet
// is one message), connections, timeouts or the meaning of JSON arguments:
// those belong to package tcpchat. The capture viewer imports Decode to show
// chat traffic.
//
// A framed client opens a connection by sending Preamble (not framed), then
// frames, one packet per frame. docs/PROTOCOL.md describes every packet byte
// by byte with a hex dump.
//
// Example:
//
//	p := wire.Packet{Type: wire.TypeEvent, Namespace: "/chat", Event: "message",
//		Args: json.RawMessage(`["hi"]`)}
//	payload := p.AppendTo(nil)
//	q, err := wire.Decode(payload) // q equals p
package wire
