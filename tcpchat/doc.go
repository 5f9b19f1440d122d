// Package tcpchat owns wiredojo's event chat: the server and the Go client
// of the event protocol, in the model socket.io made familiar —
// bidirectional named events with JSON arguments, acknowledgements (with a
// timeout, both ways), namespaces with middleware and an auth payload,
// rooms that only the server joins and leaves, broadcasts to rooms with
// Except, volatile emits and broadcasts that exclude the sender, OnAny, room
// lifecycle events from the adapter, and heartbeats.
//
// With Options.Store it also delivers durable emits (Namespace.EmitDurable:
// appended to each recipient client id's queue before sending, redelivered
// until the client acknowledges them; the Go client fetches its queue,
// acknowledges after its handlers and drops duplicates) and recovers
// connection state (a client that comes back within the window gets its
// session, rooms and missed broadcasts); docs/PROTOCOL.md states the
// guarantees. Options.Adapter with tcpchat/redisadapter spreads rooms and
// broadcasts over many servers.
//
// One way to emit: Emit(event, args...) marshals the arguments, EmitWithAck
// also waits for the answer, and EmitRaw takes arguments that are already a
// JSON array (it saves marshalling them, for relays). A broadcast's Emit
// returns how many local sockets it was queued for. Server handlers get an
// Event (with the sending Socket), client handlers a ClientEvent (with the
// ClientSocket and, for durable events, the message id). Adapter,
// AdapterHost, MemoryAdapter and Message are for adapter authors only.
//
// It does not own the packet encoding (package tcpchat/wire), the frame
// codec (package framing), the WebSocket protocol (package framing/ws; the
// transport over it, one packet per binary message, is here), the stores
// of durable queues (tcpchat/store and its sub-packages), or the chat
// protocol of the command-line clients (tcpchat/builtin).
//
// One TCP port serves everything: the server reads the first bytes of each
// connection and dispatches the framed protocol (wire.Preamble), HTTP
// (/healthz, /metrics, GET /ws upgraded to WebSocket, the browser chat page
// at GET / embedded from web/, and handlers added with HandleHTTP) and, with
// Options.TLSConfig, TLS: it terminates TLS and dispatches the decrypted
// bytes the same way. One handshake timeout from the accept
// (Options.HandshakeTimeout) bounds all of a connection's handshakes: its
// first bytes, TLS, a WebSocket upgrade, the first HTTP request's header
// and the handshake packet. Dial takes HOST:PORT (framed TCP, over TLS
// with ClientOptions.TLSConfig), a ws:// or wss:// URL, or a socketio://,
// http:// or https:// URL (a Socket.IO server, through socketio/client);
// ClientOptions.Addrs names more nodes of one service, tried in turn when
// a connection is lost.
//
// Performance design: a broadcast is encoded once into a reference-counted
// Message queued on every recipient; a connection has a reading goroutine
// only while bytes arrive (on Linux an idle connection's socket waits in the
// server's epoll and a reader starts when it becomes readable; TLS
// connections and other systems keep one reading goroutine each) and a
// writer goroutine only while it has packets queued; read and write buffers
// are pooled, so an idle connection holds neither. The
// broadcasts a socket makes while its connection handles the packets of one
// read start their recipients' writers when the last of those packets is
// handled, so each recipient gets them in one write. The send
// queue is bounded by packets (Options.SendQueue) and by the bytes they
// keep alive (Options.SendQueueBytes): a send to a full queue waits up to
// Options.SlowConsumerWait for room, outside every lock (the sender's
// connection is not read meanwhile, so TCP slows a fast publisher to its
// slowest recipient), and then cuts that connection (ErrSlowConsumer).
//
// The package's Example shows a server and a client in one round trip.
package tcpchat
