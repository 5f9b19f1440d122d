// Package engineio owns the packet codec of Engine.IO version 4, the
// transport layer under Socket.IO: how an open, close, ping, pong, message,
// upgrade or noop packet is written as text, how a binary message travels
// (a WebSocket binary message as is, or a "b"-prefixed base64 record in a
// long-polling body), and how a long-polling body joins packets with the
// record separator 0x1e.
//
// It is stateless and starts no goroutines. It does not own sessions,
// timers, HTTP or WebSocket (package socketio/engine does), nor what a
// message means (package socketio decodes the Socket.IO packet inside
// it). The capture viewer imports it to show Engine.IO traffic.
//
// Example, a polling body with a text message and a binary one:
//
//	body := engineio.AppendPayload(nil,
//		engineio.Packet{Type: engineio.Message, Data: []byte("hello")},
//		engineio.Packet{Type: engineio.Message, Binary: true, Data: []byte{1, 2, 3, 4}})
//	// body is "4hello\x1ebAQIDBA=="
//	for rest := body; len(rest) > 0; {
//		var p engineio.Packet
//		p, rest, err = engineio.NextPacket(rest)
//		...
//	}
package engineio
