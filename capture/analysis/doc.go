// Package analysis owns what is computed over a whole capture: statistics
// (conversations, endpoints, protocol hierarchy) and following one TCP
// stream, either as its reassembled bytes or, for chat and WebSocket
// traffic, as its messages and events. It consumes decoded packets
// (capture.Packet) and reassembled stream bytes (decode.Options.OnStream);
// it does not decode or read captures itself.
package analysis
