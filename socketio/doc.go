// Package socketio owns the packet codec of Socket.IO version 5, the layer
// above Engine.IO: how a CONNECT (with its auth payload), DISCONNECT,
// EVENT, ACK, CONNECT_ERROR, BINARY_EVENT or BINARY_ACK packet is written
// in the text of one Engine.IO message — type digit, attachment count,
// namespace, ack id, JSON — and how binary attachments stand in the JSON
// as placeholders ({"_placeholder":true,"num":N}) and follow as Engine.IO
// binary messages.
//
// It is stateless and starts no goroutines. It does not own Engine.IO
// (package socketio/engineio), sessions or what an event means: the chat
// server maps Socket.IO onto its own model in package tcpchat. The capture
// viewer imports it to show Socket.IO traffic.
//
// Decoding follows the reference parser: an unknown type, a bad attachment
// count (more than MaxAttachments), a bad ack id or a payload of the wrong
// shape for the type (an EVENT that is not a non-empty array starting with
// an event name, a CONNECT that is not an object, ...) is an error
// matching ErrMalformed, never a panic.
//
// Example:
//
//	p := socketio.Packet{Type: socketio.Event, Namespace: "/chat", ID: 3, HasID: true,
//		Data: []byte(`["message",{"text":"hi"}]`)}
//	text := p.AppendTo(nil) // 2/chat,3["message",{"text":"hi"}]
//	q, err := socketio.Decode(text) // q equals p
package socketio
